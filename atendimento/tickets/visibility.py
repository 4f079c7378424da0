"""SPEC §4 as one query filter: who may see which ticket.

Every read (pages, API, media files, the stream) goes through ``visible_tickets`` or
``ticket_visible_clause``; nothing else decides visibility.
"""
from sqlalchemy import ColumnElement, false, or_, select, true

from ..errors import NotFound
from ..extensions import db
from ..models import Contact, Message, Ticket, User, user_sectors

MAX_ID = 2**31 - 1  # what an INTEGER primary key holds on PostgreSQL (and a sane bound on SQLite)


def as_id(value) -> int:
    """An id from a URL, form or JSON body; ValueError unless it could name a row,
    so a huge number is "not found" instead of a database error."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number


def ticket_visible_clause(user: User, sector_ids=None) -> ColumnElement[bool]:
    """The WHERE clause on ``Ticket`` for what ``user`` may see.

    ``sector_ids``, when given, are the user's sectors loaded beforehand: the stream
    evaluates this very clause in Python on each event (``realtime.audience``) instead
    of asking the database, so this stays the only definition of SPEC §4."""
    if user is None or not user.is_active:
        return false()
    if user.is_admin:
        return true()
    if sector_ids is not None:
        my_sectors = list(sector_ids)
    else:
        my_sectors = select(user_sectors.c.sector_id).where(user_sectors.c.user_id == user.id)
    return or_(Ticket.sector_id.in_(my_sectors), Ticket.user_id == user.id)


def visible_tickets(user: User):
    """A ``select(Ticket)`` limited to what ``user`` may see."""
    return select(Ticket).where(ticket_visible_clause(user))


def get_visible_ticket(user: User, ticket_id, *, for_update: bool = False) -> Ticket:
    """The ticket, or ``NotFound`` whether it is missing or simply not the user's to see."""
    try:
        ticket_id = as_id(ticket_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    query = visible_tickets(user).where(Ticket.id == ticket_id)
    if for_update:
        query = query.with_for_update()
    ticket = db.session.scalar(query)
    if ticket is None:
        raise NotFound()
    return ticket


def visible_messages(user: User):
    return select(Message).join(Ticket, Message.ticket_id == Ticket.id).where(ticket_visible_clause(user))


def get_visible_message(user: User, message_id) -> Message:
    try:
        message_id = as_id(message_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    message = db.session.scalar(visible_messages(user).where(Message.id == message_id))
    if message is None:
        raise NotFound()
    return message


def get_visible_contact(user: User, contact_id) -> Contact:
    """A contact is visible when at least one of its tickets is."""
    try:
        contact_id = as_id(contact_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    query = select(Contact).where(Contact.id == contact_id)
    if not user.is_admin:
        query = query.where(
            select(Ticket.id).where(Ticket.contact_id == Contact.id, ticket_visible_clause(user)).exists()
        )
    contact = db.session.scalar(query)
    if contact is None:
        raise NotFound()
    return contact
