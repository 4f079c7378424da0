"""WhatsApp Business calls (issue 16, part 3): the ``calls`` webhook of a whatsapp_cloud
connection. A customer's ``connect`` (USER_INITIATED, with its SDP offer) records the Call
on the contact's active ticket (a new pending one otherwise) and rings, through the
ticket's visibility, everyone who may see it (``call.ringing``); a repeated webhook finds
the same call (unique connection + Meta's call id). ``terminate`` ends it through the
calls service (missed when nobody answered) and publishes ``call.ended``. A
BUSINESS_INITIATED ``connect`` carries the customer's SDP answer: kept for the caller.
"""
from __future__ import annotations

from sqlalchemy import select, update

from ..events import publish
from ..extensions import db
from ..models import Call, Connection, Ticket, TicketEvent
from ..tickets import inbound
from . import service

RINGING, ANSWERED, ENDED = "call.ringing", "call.answered", "call.ended"


def _find(connection: Connection, call_id: str) -> Call | None:
    return db.session.scalar(select(Call).where(Call.connection_id == connection.id, Call.external_id == call_id))


def _audience(ticket: Ticket | None) -> dict | None:
    return {"sector_id": ticket.sector_id, "user_id": ticket.user_id} if ticket is not None else None


def call_event_data(call: Call) -> dict:
    contact = call.contact
    return {"call_id": call.id, "ticket_id": call.ticket_id,
            "contact": {"id": contact.id, "name": contact.display_name} if contact else None,
            "number": call.number, "channel": "whatsapp"}


def announce(name: str, call: Call, **extra) -> None:
    publish(name, ticket_id=call.ticket_id, data={**call_event_data(call), **extra}, ticket=_audience(call.ticket))


def receive(connection: Connection, event) -> int:
    """One ``calls`` item; 1 when it changed something, 0 for a repeat."""
    if event.event == "connect" and event.direction == "BUSINESS_INITIATED":
        return _answered_by_customer(connection, event)
    if event.event == "connect":
        return _ring(connection, event)
    return _terminate(connection, event)


def _ring(connection: Connection, event) -> int:
    if _find(connection, event.call_id) is not None:
        return 0
    contact = inbound.find_or_create_contact(connection.channel, event.number, event.name, event.number)
    ticket_id, created = inbound.active_ticket(contact, connection)
    if created:
        db.session.add(TicketEvent(ticket_id=ticket_id, kind="created", to_status="pending",
                                   data={"contact_id": contact.id}))
    db.session.commit()
    ticket = db.session.get(Ticket, ticket_id)
    try:
        call = service.create_call("whatsapp", "in", event.number, contact=contact, ticket=ticket,
                                   connection_id=connection.id, external_id=event.call_id,
                                   data={"offer": {"sdp_type": event.sdp_type or "offer", "sdp": event.sdp}})
    except Exception:  # noqa: BLE001 - a concurrent delivery stored it first (unique index)
        db.session.rollback()
        if _find(connection, event.call_id) is not None:
            return 0
        raise
    announce(RINGING, call)
    return 1


def _answered_by_customer(connection: Connection, event) -> int:
    call = _find(connection, event.call_id)
    if call is None or call.data.get("answer"):
        return 0
    data = {**call.data, "answer": {"sdp_type": event.sdp_type or "answer", "sdp": event.sdp}}
    db.session.execute(update(Call).where(Call.id == call.id).values(data=data)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.expire(call)
    return 1


def _terminate(connection: Connection, event) -> int:
    call = _find(connection, event.call_id)
    if call is None or call.ended_at is not None:
        return 0
    outcome = "failed" if event.status.upper() == "FAILED" else None
    try:
        call = service.end_call(None, call=call, outcome=outcome)
    except service.CallEnded:
        return 0
    announce(ENDED, call, outcome=call.outcome, duration=call.duration)
    return 1
