"""Internal notes (SPEC §6.1): a message of kind ``note`` in the conversation, for the
team only. Whoever may see the ticket may write one, in any status; it is never sent to
the channel (the outbox only takes ``queued`` messages, a note is born ``sent``) and it
does not move the ticket's preview or unread count: the customer's last words stay."""
from __future__ import annotations

from ..extensions import db
from ..models import Message, User, utcnow
from ..schema import Schema, Text
from ..serializers import ticket_json
from . import state
from .outgoing import MAX_TEXT_LENGTH
from .visibility import get_visible_ticket


class NoteInput(Schema):
    text: Text(MAX_TEXT_LENGTH, required=True, description="Seen by the team only, never sent.")


def add_note(actor: User, ticket_id, data) -> Message:
    ticket = get_visible_ticket(actor, ticket_id)  # an invisible ticket is 404 before any validation
    values = NoteInput.read(data)
    note = Message(ticket_id=ticket.id, connection_id=ticket.connection_id, direction="out", author_id=actor.id,
                   kind="note", body=values["text"], status="sent", created_at=utcnow())
    db.session.add(note)
    db.session.commit()
    state.announce_message_created(note, ticket_json(ticket))
    return note
