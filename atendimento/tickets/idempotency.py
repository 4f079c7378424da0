"""``Idempotency-Key`` (SPEC §6.1): a double click or a retry on a weak connection sends once.

The composer gives each send a key; the same key from the same user within 24 hours
answers the first message again and stores and sends nothing. The key's row is written in
the transaction that stores the message, so of two requests racing with one key the
unique index lets one commit; the other rolls back and answers the winner's message.
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..errors import InvalidInput
from ..extensions import db
from ..models import IdempotencyKey, Message, User, utcnow

WINDOW = timedelta(hours=24)
MAX_LENGTH = 255


def read_key(raw) -> str | None:
    """The header's value, or None without one; a key we cannot keep is refused (400)."""
    key = raw.strip() if isinstance(raw, str) else ""
    if not key:
        return None
    if len(key) > MAX_LENGTH or not key.isprintable():
        message = _("The Idempotency-Key header must be printable and at most %(n)s characters.", n=MAX_LENGTH)
        raise InvalidInput(message, fields={"Idempotency-Key": message})
    return key


def replayed(actor: User, key: str | None) -> Message | None:
    """The message this user already sent with ``key`` in the last 24 hours, marked replayed."""
    if key is None:
        return None
    message = db.session.scalar(
        select(Message).join(IdempotencyKey, IdempotencyKey.message_id == Message.id)
        .where(IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key,
               IdempotencyKey.created_at >= utcnow() - WINDOW))
    if message is not None:
        message.replayed = True
    return message


def claim(actor: User, key: str | None, message: Message) -> None:
    """Bind ``key`` to ``message`` in the caller's transaction (the message is flushed first).
    A key of more than 24 hours ago is free again."""
    if key is None:
        return
    db.session.flush()
    db.session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key,
        IdempotencyKey.created_at < utcnow() - WINDOW))
    db.session.add(IdempotencyKey(user_id=actor.id, key=key, message_id=message.id))


def was_replayed(message: Message) -> bool:
    return bool(getattr(message, "replayed", False))
