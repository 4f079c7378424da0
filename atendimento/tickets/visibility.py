"""SPEC §4 as one query filter: who may see which ticket.

Every read (pages, API, media files, the stream) goes through ``visible_tickets`` or
``ticket_visible_clause``; nothing else decides visibility.
"""
from sqlalchemy import ColumnElement, false, or_, select, true

from ..errors import NotFound
from ..extensions import db
from ..ids import as_id, parse_id  # noqa: F401  (as_id is imported from here too)
from ..models import Contact, Message, Ticket, User, user_sectors

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


def _id_or_404(value) -> int:
    ident = parse_id(value)
    if ident is None:
        raise NotFound()
    return ident


def _one_or_404(query):
    row = db.session.scalar(query)
    if row is None:
        raise NotFound()
    return row


def get_visible_ticket(user: User, ticket_id) -> Ticket:
    """The ticket, or ``NotFound`` whether it is missing or simply not the user's to see."""
    return _one_or_404(visible_tickets(user).where(Ticket.id == _id_or_404(ticket_id)))


def visible_messages(user: User):
    return select(Message).join(Ticket, Message.ticket_id == Ticket.id).where(ticket_visible_clause(user))


def get_visible_message(user: User, message_id) -> Message:
    return _one_or_404(visible_messages(user).where(Message.id == _id_or_404(message_id)))


def get_visible_contact(user: User, contact_id) -> Contact:
    """A contact is visible when at least one of its tickets is."""
    query = select(Contact).where(Contact.id == _id_or_404(contact_id))
    if not user.is_admin:
        query = query.where(
            select(Ticket.id).where(Ticket.contact_id == Contact.id, ticket_visible_clause(user)).exists()
        )
    return _one_or_404(query)


def users_who_may_see(ticket: Ticket):
    """A ``select(User)`` of the active users who may see ``ticket``: SPEC §4 read the other
    way round (admins, the ticket's sector, its assignee), for @mentions. Kept beside
    ``ticket_visible_clause``; tests/test_mentions.py checks both agree for every user."""
    who = [User.profile == "admin", User.id == ticket.user_id]
    if ticket.sector_id is not None:
        who.append(User.id.in_(select(user_sectors.c.user_id).where(user_sectors.c.sector_id == ticket.sector_id)))
    return select(User).where(User.active.is_(True), or_(*who))
