"""A contact's past (issue 13, part 3): its messages across the tickets a user may see, in
one scroll with a separator per ticket, or one past ticket alone; pages go back in time
by message id (keyset), so an old conversation costs what a new one does."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import Contact, Message, Ticket, User
from ..tickets.visibility import as_id, get_visible_contact, ticket_visible_clause

HISTORY_PAGE = 100


def contact_messages(user: User, contact_id, *, ticket_id=None, before=None,
                     limit=None) -> tuple[Contact, list[Message], bool]:
    """The contact, the latest ``limit`` messages before ``before`` (oldest first) of its
    visible tickets (only ``ticket_id`` when given), and whether older ones exist. A hidden
    contact, or a ticket that is hidden or not the contact's, is 404. Three queries, however
    many tickets and messages: the contact, the page (with tickets, sectors and authors), the
    quoted messages."""
    limit = limit or HISTORY_PAGE
    contact = get_visible_contact(user, contact_id)
    tickets = select(Ticket.id).where(Ticket.contact_id == contact.id, ticket_visible_clause(user))
    if ticket_id not in (None, ""):
        ident = _id(ticket_id, NotFound)
        if db.session.scalar(tickets.where(Ticket.id == ident)) is None:
            raise NotFound()
        tickets = tickets.where(Ticket.id == ident)
    query = select(Message).where(Message.ticket_id.in_(tickets)).options(
        joinedload(Message.author), joinedload(Message.quoted),
        joinedload(Message.ticket).joinedload(Ticket.sector), joinedload(Message.ticket).joinedload(Ticket.user))
    if before not in (None, ""):
        query = query.where(Message.id < _id(before, InvalidInput))
    rows = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    return contact, rows, more


def _id(value, error):
    try:
        return as_id(value)
    except (TypeError, ValueError):
        if error is NotFound:
            raise NotFound() from None
        raise InvalidInput("Invalid cursor.", fields={"before": "Must be a message id."}) from None
