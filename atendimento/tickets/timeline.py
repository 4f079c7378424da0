"""A ticket's timeline in JSON (SPEC §6.1 ``GET /tickets/<id>/events``) and the two times the
side panel shows: how long the contact waited until someone took the ticket, and how
long until an attendant first answered."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import Message, Ticket, TicketEvent
from .queries import ticket_events


@dataclass(frozen=True)
class ResponseTimes:
    waiting: timedelta | None  # created → first taken (accepted, or handed to someone)
    first_response: timedelta | None  # created → the first message an attendant sent

    def as_json(self) -> dict:
        return {"waiting_seconds": _seconds(self.waiting), "first_response_seconds": _seconds(self.first_response)}


def response_times(ticket: Ticket, events: list[TicketEvent] | None = None) -> ResponseTimes:
    """Measured from the ticket's creation. A ticket becomes someone's when an event first
    sets it ``open`` (an accept, a transfer to an attendant, a reopen); the first response
    is the first outgoing message with an author (not a bot's, not a note). One query for
    the message (the panel already has the events)."""
    if events is None:
        events = ticket_events(ticket)
    taken = next((e.created_at for e in events if e.to_status == "open"), None)
    answered = db.session.scalar(
        select(func.min(Message.created_at)).where(
            Message.ticket_id == ticket.id, Message.direction == "out", Message.author_id.is_not(None),
            Message.kind != "note", Message.from_bot.is_(False)))
    return ResponseTimes(_since(ticket.created_at, taken), _since(ticket.created_at, answered))


def _since(start, end) -> timedelta | None:
    if start is None or end is None:
        return None
    return max(end - start, timedelta(0))


def _seconds(value: timedelta | None):
    return None if value is None else int(value.total_seconds())


def event_json(event: TicketEvent) -> dict:
    return {"id": event.id, "kind": event.kind, "actor_id": event.actor_id, "data": event.data or {},
            "from_status": event.from_status, "to_status": event.to_status,
            "created_at": event.created_at.isoformat() if event.created_at else None}
