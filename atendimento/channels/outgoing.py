"""An attendant's files and the Reenviar (resend) action; both end in the outbox.

Same rules as ``service.send_text``: only on an open ticket, only its assignee or an
admin. The message is stored ``queued`` and the outbox delivers it.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update

from .. import events
from ..errors import InvalidInput, InvalidTransition
from ..extensions import db
from ..media import MediaUnavailable, discard, save_upload
from ..models import Message, Ticket, User, utcnow
from ..outbox import worker_of
from ..serializers import message_json, ticket_json
from ..tickets.service import MAX_TEXT_LENGTH, _require_handler, _snapshot, preview_of
from ..tickets.statuses import publish_message_updated
from ..tickets.visibility import get_visible_message, get_visible_ticket


def _require_answerable(actor: User, ticket: Ticket) -> None:
    if ticket.status != "open":
        raise InvalidTransition(_("Accept the ticket before answering."))
    _require_handler(ticket, actor)


def send_media(actor: User, ticket_id, upload, caption: str | None = "") -> Message:
    """Store an attendant's file (image, audio, video or document) as a queued message."""
    ticket = get_visible_ticket(actor, ticket_id)
    _require_answerable(actor, ticket)
    caption = (caption or "").strip()
    if len(caption) > MAX_TEXT_LENGTH:
        raise InvalidInput(_("The message is too long (at most %(n)s characters).", n=MAX_TEXT_LENGTH),
                           fields={"text": _("Too long.")})
    if upload is None or not getattr(upload, "filename", None):
        raise InvalidInput(_("Choose a file to send."), fields={"file": _("Choose a file to send.")})
    try:
        stored = save_upload(upload)
    except MediaUnavailable as error:
        raise InvalidInput(_("This file cannot be sent: %(reason)s", reason=str(error)),
                           fields={"file": str(error)}) from None
    kind = stored["kind"] if stored["kind"] != "sticker" else "image"
    now = utcnow()
    message = Message(ticket_id=ticket.id, connection_id=ticket.connection_id, direction="out", author_id=actor.id,
                      kind=kind, body=caption, status="queued", created_at=now, next_attempt_at=now,
                      media_path=stored["path"], media_mime=stored["mime"], media_name=stored["name"],
                      media_size=stored["size"])
    db.session.add(message)
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id)
                       .values(last_message=preview_of(kind, caption), last_message_at=now, updated_at=now)
                       .execution_options(synchronize_session=False))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        discard(stored["path"])
        raise
    db.session.expire(ticket)
    events.publish("message.created", ticket_id=ticket.id, data=message_json(message))
    events.publish("ticket.updated", ticket_id=ticket.id, data={**ticket_json(ticket), "previous": _snapshot(ticket)})
    return message


def resend_message(actor: User, message_id, ticket_id=None) -> Message:
    """Reenviar: a failed outgoing message goes back to the outbox, with fresh tries."""
    message = get_visible_message(actor, message_id)
    if ticket_id is not None and str(message.ticket_id) != str(ticket_id):
        raise InvalidInput(_("This message is not in this ticket."))
    if message.direction != "out" or message.status != "failed":
        raise InvalidTransition(_("Only a message that failed can be resent."))
    _require_answerable(actor, db.session.get(Ticket, message.ticket_id))
    now = utcnow()
    result = db.session.execute(
        update(Message).where(Message.id == message.id, Message.status == "failed")
        .values(status="queued", attempts=0, error=None, sending_at=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        raise InvalidTransition(_("Only a message that failed can be resent."))
    updated = publish_message_updated(message.id)
    worker_of(current_app._get_current_object()).wake()  # the worker sleeps until something is queued
    return updated
