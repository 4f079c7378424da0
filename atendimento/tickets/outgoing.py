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
from sqlalchemy.exc import IntegrityError

from ..audio import OGG_MIME, VOICE_NAME, to_voice_note
from ..errors import InvalidInput, InvalidTransition, TooLarge
from ..extensions import db
from ..ids import parse_id
from ..media import (EXTENSIONS, MediaTooLarge, MediaUnavailable, discard, max_bytes, read_upload, save_upload, store,
                     with_request_base)
from ..models import Message, Ticket, User, utcnow
from ..serializers import ticket_json
from . import idempotency, state
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
        status="queued", created_at=now, next_attempt_at=now, attempts=0,
        meta=with_request_base(meta, media),
        media_path=media.get("path"), media_mime=media.get("mime"), media_name=media.get("name"),
        media_size=media.get("size"), duration=media.get("duration"), voice=bool(media.get("voice")),
        quoted_id=quoted_id,
    )
    db.session.add(message)
    return message


def send_text(actor: User, ticket_id, text, *, quoted_id=None, idempotency_key=None) -> Message:
    """An attendant's text."""
    return send(actor, ticket_id, text=text, quoted_id=quoted_id, idempotency_key=idempotency_key)


def send_media(actor: User, ticket_id, upload, caption: str | None = "", *, voice: bool = False,
               quoted_id=None, idempotency_key=None) -> Message:
    """An attendant's file (image, audio, video or document), with an optional caption;
    ``voice``: a recording, sent as a voice note."""
    if upload is None or not getattr(upload, "filename", None):
        get_visible_ticket(actor, ticket_id)  # an invisible ticket is 404 before any validation
        raise InvalidInput(_("Choose a file to send."), fields={"file": _("Choose a file to send.")})
    return send(actor, ticket_id, text=caption, upload=upload, voice=voice, quoted_id=quoted_id,
                idempotency_key=idempotency_key)


def send(actor: User, ticket_id, *, text=None, upload=None, voice: bool = False, quoted_id=None,
         stored: dict | None = None, idempotency_key=None) -> Message:
    """What an attendant sends: a text, or a file with ``text`` as its caption. A ``voice``
    upload is converted to OGG/Opus mono, the one format every channel plays as a voice note;
    any other file goes as it came (``stored``: one already in the media folder, a quick
    reply's copy). ``quoted_id``: the message of this ticket it answers (Responder); the
    channel then shows it as a reply. The same ``idempotency_key`` within 24 h answers the
    first message again, sending nothing (``idempotency.was_replayed``)."""
    ticket = get_visible_ticket(actor, ticket_id)
    key = idempotency.read_key(idempotency_key)
    earlier = idempotency.replayed(actor, key)
    if earlier is not None:
        if earlier.ticket_id != ticket.id:
            message = _("This Idempotency-Key was used for a message of another ticket.")
            raise InvalidInput(message, fields={"Idempotency-Key": message})
        return earlier
    media = stored
    body = _clean_text(text, required=upload is None and media is None)
    state.require_answerable(ticket, actor)
    quoted = _quoted(ticket, quoted_id)
    kind = "text"
    if upload is not None:
        media = _store_voice_note(upload) if voice else _store_upload(upload)
    if media is not None:
        kind = media["kind"] if media["kind"] != "sticker" else "image"
        _check_channel_takes(ticket.connection.spec, kind, media)
    # Signed as the author was when it was written, whatever their setting at delivery.
    meta = {"signature": actor.name} if actor.signature and body else None
    if media is not None and body and not ticket.connection.spec.media.takes_caption(kind):
        # WhatsApp plays an audio without words: the caption follows it as its own message.
        first = compose(ticket, author=actor, kind=kind, media=media, quoted_id=quoted)
        messages = [first, compose(ticket, author=actor, body=body, meta=meta)]
    else:
        messages = [compose(ticket, author=actor, kind=kind, body=body, media=media, quoted_id=quoted, meta=meta)]
    try:
        return _commit_new(ticket, messages, media, claim=lambda: idempotency.claim(actor, key, messages[0]))
    except IntegrityError:
        earlier = idempotency.replayed(actor, key)  # the same key won a race a moment ago
        if earlier is None:
            raise
        return earlier


def file_rules(ticket: Ticket) -> dict:
    """What the composer checks before uploading a file to this ticket: the largest size per
    kind (the channel's limit or ours, whichever is smaller) and the kinds a caption goes with."""
    media, ours = ticket.connection.spec.media, max_bytes()
    limits = {kind: min(media.max_bytes(kind) or ours, ours) for kind in ("image", "audio", "video", "document")}
    return {**limits, "captions": [k for k in limits if media.takes_caption(k)],
            "types": {k: list(media.accepted_types(k)) for k in limits if media.accepted_types(k)},
            "channel": str(ticket.connection.spec.label)}


def _check_channel_takes(spec, kind: str, media: dict) -> None:
    """The provider's size limit for this kind of file (WhatsApp: images 5 MB…), before the
    file is queued: a file it would refuse is refused here, with the limit named."""
    from ..web import file_size  # the page's way of writing sizes

    accepted = spec.media.accepted_types(kind)
    if accepted and media["mime"] not in accepted:
        discard(media["path"])
        names = ", ".join(sorted({EXTENSIONS.get(t, t).lstrip(".").upper() for t in accepted}))
        reason = _("%(channel)s does not take %(kind)s of this type (%(type)s); it takes %(accepted)s.",
                   channel=spec.label, kind=KIND_WORDS.get(kind, KIND_WORDS["document"])(), type=media["mime"],
                   accepted=names)
        raise InvalidInput(_("This file cannot be sent: %(reason)s", reason=reason), fields={"file": reason})
    limit = spec.media.max_bytes(kind)
    if limit is None or media["size"] <= limit:
        return
    discard(media["path"])
    reason = _("%(channel)s takes %(kind)s of up to %(limit)s; this file has %(size)s.",
               channel=spec.label, kind=KIND_WORDS.get(kind, KIND_WORDS["document"])(),
               limit=file_size(limit), size=file_size(media["size"]))
    raise TooLarge(_("This file cannot be sent: %(reason)s", reason=reason), fields={"file": reason})


def _too_large() -> TooLarge:
    from ..web import file_size

    reason = _("Files of up to %(limit)s are accepted.", limit=file_size(max_bytes()))
    return TooLarge(_("This file cannot be sent: %(reason)s", reason=reason), fields={"file": reason})


KIND_WORDS = {"image": lambda: _("images"), "audio": lambda: _("audio files"), "video": lambda: _("videos"),
              "document": lambda: _("documents")}


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
    except MediaTooLarge:
        raise _too_large() from None
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
    except MediaTooLarge:
        raise _too_large() from None
    except MediaUnavailable as error:
        raise InvalidInput(_("This file cannot be sent: %(reason)s", reason=str(error)),
                           fields={"file": str(error)}) from None
    return {**media, "duration": seconds, "voice": True}


def _commit_new(ticket: Ticket, messages: list[Message], media: dict | None, claim=None) -> Message:
    """The ticket's preview moves with the messages, in one transaction (``claim`` adds to
    it); then all are announced. Answers the first message."""
    now, last = messages[0].created_at, messages[-1]
    try:
        if claim is not None:
            claim()
        db.session.execute(update(Ticket).where(Ticket.id == ticket.id)
                           .values(updated_at=now, **state.preview_values(last, now))
                           .execution_options(synchronize_session=False))
        db.session.commit()
    except Exception:
        db.session.rollback()
        discard(media and media["path"])  # nothing refers to the file any more
        raise
    db.session.expire(ticket)
    ticket_data = ticket_json(ticket)
    for message in messages:
        state.announce_message_created(message, ticket_data)
    state.announce_ticket_updated(ticket, state.snapshot(ticket), changed=("last_message", "last_message_at"),
                                  data=ticket_data)
    return messages[0]


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
