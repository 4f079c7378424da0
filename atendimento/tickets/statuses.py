"""Delivery statuses of outgoing messages: ``sent → delivered → read``; ``failed`` wins.

Providers deliver statuses late and out of order (a "delivered" after the "read"),
so each change is one conditional UPDATE that only moves a message forward: the
database, not the order of arrival, decides. ``failed`` overrides any status and
keeps the provider's reason. Each change is a ``message.updated`` event.
"""
from __future__ import annotations

from sqlalchemy import select, update

from .. import events
from ..extensions import db
from ..models import Message
from ..serializers import message_json

RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
STATUSES = (*RANK, "failed")


def apply_status(connection_id: int, external_id: str, status: str, *, error: str | None = None,
                 reference: int | None = None) -> Message | None:
    """Move our message ``external_id`` on ``connection_id`` to ``status`` if that is
    forward; answer the message when it changed. ``reference`` (our id, echoed back by
    the provider) binds the external id to a message whose send outcome we never saw."""
    if status not in STATUSES or status == "queued":
        return None
    message_id = _find(connection_id, external_id, reference)
    if message_id is None:
        return None
    if status == "failed":
        allowed = tuple(RANK)
        values = {"status": "failed", "error": error[:2000] if error else None, "sending_at": None}
    else:
        allowed = tuple(s for s, rank in RANK.items() if rank < RANK[status])
        values = {"status": status, "sending_at": None}
    result = db.session.execute(
        update(Message).where(Message.id == message_id, Message.status.in_(allowed))
        .values(**values).execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return publish_message_updated(message_id)


def _find(connection_id: int, external_id: str, reference: int | None) -> int | None:
    message_id = db.session.scalar(
        select(Message.id).where(Message.connection_id == connection_id, Message.external_id == external_id,
                                 Message.direction == "out")
    )
    if message_id is not None or reference is None:
        return message_id
    bound = db.session.execute(
        update(Message).where(Message.id == reference, Message.connection_id == connection_id,
                              Message.direction == "out", Message.external_id.is_(None))
        .values(external_id=external_id).execution_options(synchronize_session=False)
    )
    return reference if bound.rowcount == 1 else None


def publish_message_updated(message_id: int) -> Message | None:
    message = db.session.get(Message, message_id)
    if message is None:
        return None
    db.session.refresh(message)
    events.publish("message.updated", ticket_id=message.ticket_id, data=message_json(message))
    return message
