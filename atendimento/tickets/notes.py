"""Internal notes (SPEC §6.1): a message of kind ``note`` in the conversation, for the
team only. Whoever may see the ticket may write one, in any status; it is never sent to
the channel (the outbox only takes ``queued`` messages, a note is born ``sent``) and it
does not move the ticket's preview or unread count: the customer's last words stay."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Message, User, utcnow
from ..schema import Schema, Text
from ..serializers import ticket_json
from . import idempotency, mentions, state
from .outgoing import MAX_TEXT_LENGTH
from .visibility import get_visible_ticket


class NoteInput(Schema):
    text: Text(MAX_TEXT_LENGTH, required=True, description="Seen by the team only, never sent.")


def add_note(actor: User, ticket_id, data, *, idempotency_key=None) -> Message:
    ticket = get_visible_ticket(actor, ticket_id)  # an invisible ticket is 404 before any validation
    key = idempotency.read_key(idempotency_key)
    earlier = idempotency.replayed(actor, key)
    if earlier is not None and earlier.ticket_id == ticket.id:
        return earlier
    values = NoteInput.read(data)
    note = Message(ticket_id=ticket.id, connection_id=ticket.connection_id, direction="out", author_id=actor.id,
                   kind="note", body=values["text"], status="sent", created_at=utcnow())
    db.session.add(note)
    try:
        idempotency.claim(actor, key, note)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        earlier = idempotency.replayed(actor, key)  # the same key won a race a moment ago
        if earlier is None:
            raise
        return earlier
    state.announce_message_created(note, ticket_json(ticket))
    mentions.notify(note, ticket, actor)
    return note
