"""Quick replies: texts an attendant sends with ``/shortcut`` (SPEC §5, §6.1).

Not an admin-only thing: admins keep the global ones (every attendant's), and every
user keeps their own personal ones, so these rules take any active user and scope what
they may touch. The declaration, the rules and the JSON live here; ``routes.py`` has
the pages (in /admin for global ones, in /profile for personal ones) and the API."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema
from sqlalchemy import select

from ..admin.base import commit_or_conflict
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..ids import parse_id
from ..models import Message, QuickReply, Ticket, User, utcnow
from ..schema import Boolean, Schema, Text, invalid
from ..errors import TooLarge
from ..media import MediaTooLarge, MediaUnavailable, absolute, discard, max_bytes, read_upload, store
from ..web import file_size
from ..tickets import idempotency, outgoing
from ..tickets.visibility import get_visible_ticket


class QuickReplyCreate(Schema):
    shortcut: Text(QuickReply.shortcut, required=True, examples=["/ola"])
    text: Text(4096, required=True)
    global_: Boolean = Field(False, alias="global",
                             description="Global (every attendant) or personal (the caller's).")


class QuickReplyFile(QuickReplyCreate):
    """Multipart: the same fields, and a file sent with the text (a price list, a form)."""

    file: Annotated[Any, WithJsonSchema({"type": "string", "contentMediaType": "application/octet-stream",
                                         "description": "Sent with the text, as its caption."})] = None
    remove_file: Boolean = Field(False, description="`true`: the reply goes without its file from now on.")

def list_quick_replies(actor: User, q: str | None = None) -> list[QuickReply]:
    """What ``actor`` uses: the global replies and their own, those whose shortcut or text
    contains ``q`` (any case) when it is given. Only admins change the global ones."""
    query = select(QuickReply).where((QuickReply.user_id == actor.id) | QuickReply.user_id.is_(None))
    replies = list(db.session.scalars(query.order_by(QuickReply.shortcut, QuickReply.id)))
    needle = (q or "").strip().lstrip("/").casefold() if isinstance(q, str) else ""
    if not needle:
        return replies
    # The words of the text, not the names of its variables ({{primeiro_nome}} is no "p").
    return [r for r in replies
            if needle in r.shortcut.casefold() or needle in VARIABLE.sub(" ", r.text).casefold()]


def get_quick_reply(actor: User, reply_id) -> QuickReply:
    reply = db.session.get(QuickReply, parse_id(reply_id)) if parse_id(reply_id) else None
    if reply is None or not (reply.user_id == actor.id or (reply.user_id is None and actor.is_admin)):
        raise NotFound(_("Quick reply not found."))
    return reply


def _read_quick_reply(actor: User, data, partial: bool) -> dict:
    values, errors = QuickReplyCreate.try_read(data, partial=partial)
    if "shortcut" in values:
        shortcut = "/" + values["shortcut"].lstrip("/").lower()
        if len(shortcut) < 2 or not all(c.isalnum() or c in "-_" for c in shortcut[1:]):
            errors.setdefault("shortcut", _("Use / followed by letters, digits, - or _, like /ola."))
        values["shortcut"] = shortcut
    if values.get("global") and not actor.is_admin:
        errors.setdefault("global", _("Only admins create global quick replies."))
    if errors:
        raise invalid(errors)
    return values


def _shortcut_taken(shortcut: str, owner_id, reply_id=None) -> Conflict | None:
    query = select(QuickReply.id).where(
        QuickReply.shortcut == shortcut,
        QuickReply.user_id.is_(None) if owner_id is None else QuickReply.user_id == owner_id)
    if reply_id is not None:
        query = query.where(QuickReply.id != reply_id)
    if db.session.scalar(query) is None:
        return None
    message = _("The shortcut %(shortcut)s is already in use.", shortcut=shortcut)
    return Conflict(message, fields={"shortcut": message})


def create_quick_reply(actor: User, data) -> QuickReply:
    data = dict(data)
    upload = data.pop("file", None)
    data.pop("remove_file", None)
    values = _read_quick_reply(actor, data, partial=False)
    owner_id = None if values["global"] else actor.id
    if conflict := _shortcut_taken(values["shortcut"], owner_id):
        raise conflict
    reply = QuickReply(shortcut=values["shortcut"], text=values["text"], user_id=owner_id)
    db.session.add(reply)
    _save_with_file(reply, upload, False, lambda: _shortcut_taken(values["shortcut"], owner_id))
    return reply


def _save_with_file(reply: QuickReply, upload, remove: bool, conflict) -> None:
    """Commit ``reply`` with its new file (or without its file); the file it no longer uses
    is deleted after the commit, the new one if the commit fails."""
    old = reply.media_path
    new = None
    if upload is not None and getattr(upload, "filename", ""):
        try:
            new = store(read_upload(upload), declared_mime=upload.mimetype, filename=upload.filename)
        except MediaTooLarge:
            db.session.rollback()
            reason = _("Files of up to %(limit)s are accepted.", limit=file_size(max_bytes()))
            raise TooLarge(reason, fields={"file": reason}) from None
        except MediaUnavailable as error:
            db.session.rollback()
            reason = _("This file cannot be sent: %(reason)s", reason=str(error))
            raise InvalidInput(reason, fields={"file": reason}) from None
        reply.media_path, reply.media_mime = new["path"], new["mime"]
        reply.media_name, reply.media_size = new["name"], new["size"]
    elif remove:
        reply.media_path = reply.media_mime = reply.media_name = reply.media_size = None
    try:
        commit_or_conflict(conflict)
    except Exception:
        discard(new and new["path"])
        raise
    if old and old != reply.media_path:
        discard(old)


def update_quick_reply(actor: User, reply_id, data) -> QuickReply:
    reply = get_quick_reply(actor, reply_id)
    data = dict(data)
    upload = data.pop("file", None)
    remove = str(data.pop("remove_file", "")).strip().lower() in ("true", "1", "on")
    values = _read_quick_reply(actor, data, partial=True)
    owner_id = reply.user_id
    if "global" in values:
        owner_id = None if values["global"] else (reply.user_id or actor.id)
    shortcut = values.get("shortcut", reply.shortcut)
    if conflict := _shortcut_taken(shortcut, owner_id, reply.id):
        raise conflict
    reply.shortcut, reply.user_id = shortcut, owner_id
    if "text" in values:
        reply.text = values["text"]
    _save_with_file(reply, upload, remove, lambda: Conflict(_("This shortcut is already in use.")))
    return reply


def delete_quick_reply(actor: User, reply_id) -> None:
    reply = get_quick_reply(actor, reply_id)
    path = reply.media_path
    db.session.delete(reply)
    db.session.commit()
    discard(path)


def quick_reply_file(actor: User, reply_id):
    """The file of a reply ``actor`` may use (a global one or their own): (path, reply)."""
    ident = parse_id(reply_id)
    reply = db.session.get(QuickReply, ident) if ident else None
    path = absolute(reply.media_path) if reply is not None and reply.media_path else None
    if reply is None or reply.user_id not in (None, actor.id) or path is None or not path.is_file():
        raise NotFound(_("Quick reply not found."))
    return path, reply


def quick_reply_json(reply: QuickReply) -> dict:
    from flask import url_for

    media = ({"media_url": url_for("api.quick_reply_media", reply_id=reply.id, _external=True),
              "media_name": reply.media_name, "media_mime": reply.media_mime, "media_size": reply.media_size}
             if reply.media_path else {"media_url": None, "media_name": None, "media_mime": None, "media_size": None})
    return {"id": reply.id, "shortcut": reply.shortcut, "text": reply.text, "global": reply.user_id is None,
            "user_id": reply.user_id, **media}


# -- in a conversation ---------------------------------------------------------

VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def fill(text: str, ticket: Ticket, sender: User, now: datetime | None = None) -> str:
    """SPEC §6.1's variables, as the contact will read them; an unknown one stays as typed."""
    local = (now or utcnow()).astimezone(ZoneInfo(sender.timezone or current_app.config["DEFAULT_TIMEZONE"]))
    name = ticket.contact.display_name or ""
    values = {
        "nome": name,
        "primeiro_nome": name.split()[0] if name.split() else "",
        "atendente": sender.name,
        "setor": ticket.sector.name if ticket.sector else "",
        "protocolo": str(ticket.id),
        # The customer's language, whatever the attendant's page speaks.
        "saudacao": "Bom dia" if local.hour < 12 else "Boa tarde" if local.hour < 18 else "Boa noite",
    }
    return VARIABLE.sub(lambda m: values.get(m.group(1).lower(), m.group(0)), text)


def for_ticket(actor: User, ticket_id, q: str | None = None) -> tuple[Ticket, list[tuple[QuickReply, str]]]:
    """What the composer offers on a visible ticket: each reply with its text filled."""
    ticket = get_visible_ticket(actor, ticket_id)
    return ticket, [(reply, fill(reply.text, ticket, actor)) for reply in list_quick_replies(actor, q)]


def send_to_ticket(actor: User, ticket_id, reply_id, quoted_id=None, *, idempotency_key=None) -> Message:
    """``{"quick_reply_id"}``: the reply's text, variables filled, sent as the attendant's,
    with its file (a copy: the reply may change or go, the message keeps what was sent)."""
    ticket = get_visible_ticket(actor, ticket_id)  # an invisible ticket is 404 before the reply is looked at
    ident = parse_id(reply_id)
    reply = db.session.get(QuickReply, ident) if ident else None
    if reply is None or reply.user_id not in (None, actor.id):  # the global ones and the sender's own
        message = _("Unknown quick reply.")
        raise InvalidInput(message, fields={"quick_reply_id": message})
    stored = _copy_of_file(reply)
    try:
        sent = outgoing.send(actor, ticket.id, text=fill(reply.text, ticket, actor), quoted_id=quoted_id,
                             stored=stored, idempotency_key=idempotency_key)
    except Exception:
        discard(stored and stored["path"])
        raise
    if idempotency.was_replayed(sent):  # sent before with this key: this copy is not needed
        discard(stored and stored["path"])
    return sent


def _copy_of_file(reply: QuickReply) -> dict | None:
    if not reply.media_path:
        return None
    path = absolute(reply.media_path)
    if path is None or not path.is_file():
        message = _("The file of this quick reply is missing; attach it again in the quick reply.")
        raise InvalidInput(message, fields={"quick_reply_id": message})
    return store(path.read_bytes(), declared_mime=reply.media_mime, filename=reply.media_name)
