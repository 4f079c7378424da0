"""Every message we send: an attendant's text or file, the bot's words, a resend.

One path for all of them: check who may write, store the message ``queued``, move the
ticket's preview in the same transaction, commit, announce. The outbox (woken by the
announcement) delivers it to the channel. The bot's messages are written inside the
flow's own conditional update (``compose`` + ``preview_values``), and announced by it.
"""
from __future__ import annotations

import time

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..audio import OGG_MIME, VOICE_NAME, to_voice_note
from ..errors import InvalidInput, InvalidTransition
from ..extensions import db
from ..ids import parse_id
from ..media import MediaUnavailable, discard, read_upload, save_upload, store
from ..models import Message, Ticket, User, utcnow
from ..serializers import ticket_json
from . import state
from .statuses import publish_message_updated
from .visibility import get_visible_message, get_visible_ticket

MAX_TEXT_LENGTH = 4096


def compose(ticket: Ticket, *, author: User | None = None, from_bot: bool = False, kind: str = "text",
            body: str = "", media: dict | None = None, meta: dict | None = None, now=None,
            quoted_id: int | None = None) -> Message:
    """A new outgoing message on ``ticket``, queued for the outbox and added to the
    session; the caller commits (and moves the preview with ``state.preview_values``)."""
    now = now or utcnow()
    media = media or {}
    message = Message(
        ticket_id=ticket.id, connection_id=ticket.connection_id, direction="out",
        author_id=author.id if author is not None else None, from_bot=from_bot, kind=kind, body=body,
        status="queued", created_at=now, next_attempt_at=now, attempts=0, meta=meta,
        media_path=media.get("path"), media_mime=media.get("mime"), media_name=media.get("name"),
        media_size=media.get("size"), duration=media.get("duration"), voice=bool(media.get("voice")),
        quoted_id=quoted_id,
    )
    db.session.add(message)
    return message


def send_text(actor: User, ticket_id, text, *, quoted_id=None) -> Message:
    """An attendant's text."""
    return send(actor, ticket_id, text=text, quoted_id=quoted_id)


def send_media(actor: User, ticket_id, upload, caption: str | None = "", *, voice: bool = False,
               quoted_id=None) -> Message:
    """An attendant's file (image, audio, video or document), with an optional caption;
    ``voice``: a recording, sent as a voice note."""
    if upload is None or not getattr(upload, "filename", None):
        get_visible_ticket(actor, ticket_id)  # an invisible ticket is 404 before any validation
        raise InvalidInput(_("Choose a file to send."), fields={"file": _("Choose a file to send.")})
    return send(actor, ticket_id, text=caption, upload=upload, voice=voice, quoted_id=quoted_id)


def send(actor: User, ticket_id, *, text=None, upload=None, voice: bool = False, quoted_id=None) -> Message:
    """What an attendant sends: a text, or a file with ``text`` as its caption. A ``voice``
    upload is converted to OGG/Opus mono, the one format every channel plays as a voice note;
    any other file goes as it came. ``quoted_id``: the message of this ticket it answers
    (Responder); the channel then shows it as a reply."""
    ticket = get_visible_ticket(actor, ticket_id)
    body = _clean_text(text, required=upload is None)
    state.require_answerable(ticket, actor)
    quoted = _quoted(ticket, quoted_id)
    media, kind = None, "text"
    if upload is not None:
        media = _store_voice_note(upload) if voice else _store_upload(upload)
        kind = media["kind"] if media["kind"] != "sticker" else "image"
    # Signed as the author was when it was written, whatever their setting at delivery.
    meta = {"signature": actor.name} if actor.signature and body else None
    message = compose(ticket, author=actor, kind=kind, body=body, media=media, quoted_id=quoted, meta=meta)
    return _commit_new(ticket, message, media)


def _quoted(ticket: Ticket, quoted_id) -> int | None:
    """The id of the quoted message, which must be one of this ticket's (not a note's)."""
    if quoted_id in (None, ""):
        return None
    ident = parse_id(quoted_id) if not isinstance(quoted_id, bool) else None
    found = db.session.scalar(select(Message.id).where(Message.id == ident, Message.ticket_id == ticket.id,
                                                       Message.kind != "system")) if ident else None
    if found is None:
        message = _("Quote a message of this conversation.")
        raise InvalidInput(message, fields={"quoted_id": message})
    return found


def _clean_text(text, *, required: bool) -> str:
    body = text.strip() if isinstance(text, str) else ""
    if required and not body:
        raise InvalidInput(_("The message is empty."), fields={"text": _("Write something to send.")})
    if len(body) > MAX_TEXT_LENGTH:
        raise InvalidInput(_("The message is too long (at most %(n)s characters).", n=MAX_TEXT_LENGTH),
                           fields={"text": _("Too long.")})
    return body


def _store_upload(upload) -> dict:
    try:
        return save_upload(upload)
    except MediaUnavailable as error:
        raise InvalidInput(_("This file cannot be sent: %(reason)s", reason=str(error)),
                           fields={"file": str(error)}) from None


def _store_voice_note(upload) -> dict:
    """The recording as a voice note; ``NotAudio`` (422) when it is no audio."""
    try:
        recorded = read_upload(upload)
        started = time.perf_counter()
        ogg, seconds = to_voice_note(recorded)
        current_app.logger.info("voice note: %.1f s of audio converted in %.0f ms", seconds,
                                (time.perf_counter() - started) * 1000)
        media = store(ogg, declared_mime=OGG_MIME, filename=VOICE_NAME, kind_hint="audio")
    except MediaUnavailable as error:
        raise InvalidInput(_("This file cannot be sent: %(reason)s", reason=str(error)),
                           fields={"file": str(error)}) from None
    return {**media, "duration": seconds, "voice": True}


def _commit_new(ticket: Ticket, message: Message, media: dict | None) -> Message:
    """The ticket's preview moves with the message, in one transaction; then both are announced."""
    now = message.created_at
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id)
                       .values(updated_at=now, **state.preview_values(message, now))
                       .execution_options(synchronize_session=False))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        discard(media and media["path"])  # nothing refers to the file any more
        raise
    db.session.expire(ticket)
    ticket_data = ticket_json(ticket)
    state.announce_message_created(message, ticket_data)
    state.announce_ticket_updated(ticket, state.snapshot(ticket), changed=("last_message", "last_message_at"),
                                  data=ticket_data)
    return message


def resend_message(actor: User, message_id, ticket_id=None) -> Message:
    """Reenviar: a failed outgoing message goes back to the outbox, with fresh tries."""
    message = get_visible_message(actor, message_id)
    if ticket_id is not None and str(message.ticket_id) != str(ticket_id):
        raise InvalidInput(_("This message is not in this ticket."))
    if message.direction != "out" or message.status != "failed":
        raise InvalidTransition(_("Only a message that failed can be resent."))
    state.require_answerable(db.session.get(Ticket, message.ticket_id), actor)
    now = utcnow()
    result = db.session.execute(
        update(Message).where(Message.id == message.id, Message.status == "failed")
        .values(status="queued", attempts=0, error=None, sending_at=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        raise InvalidTransition(_("Only a message that failed can be resent."))
    return publish_message_updated(message.id)  # a queued message.updated wakes the outbox
