"""Reading ticket lists: tabs, filters, search and keyset pagination.

Every list starts from ``visible_tickets`` and eager-loads what a row shows, so a
page of 50 costs the same few queries whatever the number of tickets.
"""
from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from ..errors import InvalidInput
from ..extensions import db
from ..models import Contact, Message, Sector, Ticket, TicketEvent, User, utcnow
from .visibility import as_id, ticket_visible_clause, visible_tickets

TABS = ("pending", "open", "closed")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(ticket: Ticket) -> str:
    raw = f"{ticket.last_message_at.isoformat()}|{ticket.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, ident = raw.rsplit("|", 1)
        return datetime.fromisoformat(at), as_id(ident)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("Invalid cursor.", fields={"page": "Invalid cursor."}) from None


def list_tickets(user: User, *, status=None, sector_id=None, tag_id=None, q=None, mine=False,
                 cursor=None, limit=DEFAULT_LIMIT, rows=True) -> tuple[list[Ticket], str | None]:
    """One page of visible tickets, newest activity first, and the cursor of the next.
    ``rows``: for the page's list rows, with the sector, the attendant and the contact's tags;
    the API's tickets name only the contact. The sector and attendant load just the columns
    a row shows; the contact whole, as the open conversation beside the list reads it too."""
    contact = joinedload(Ticket.contact)
    if rows:
        query = visible_tickets(user).options(
            contact.selectinload(Contact.tags), joinedload(Ticket.sector).load_only(Sector.name, Sector.color),
            joinedload(Ticket.user).load_only(User.name))
    else:
        query = visible_tickets(user).options(contact)
    from .search import contact_filter, filter_tickets  # search builds on these lists' tag filter

    query = filter_tickets(query, status=status, sector_id=sector_id, tag_id=tag_id)
    if mine:
        query = query.where(Ticket.user_id == user.id)
    if q and q.strip():  # name, phone or e-mail, through the contact search index
        query = query.where(contact_filter(q, Ticket.contact_id))
    if cursor:
        at, ident = decode_cursor(cursor)
        query = query.where(or_(Ticket.last_message_at < at,
                                and_(Ticket.last_message_at == at, Ticket.id < ident)))
    limit = max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))
    rows = list(db.session.scalars(
        query.order_by(Ticket.last_message_at.desc(), Ticket.id.desc()).limit(limit + 1)
    ).unique())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def tag_filter(value) -> list[int]:
    """The ``tag`` filter: one id or a list of them (``?tag=1&tag=2``), blanks ignored."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return sorted({_int(v, "tag") for v in values if v not in (None, "")})


CLOSED_COUNT_CAP = 999


def tab_counts(user: User) -> dict:
    """Counts per tab plus the user's own open tickets, at a cost that does not grow with the
    history. Waiting and in progress are counted exactly, reading only active tickets (the
    status index); Finalizados grows forever, so it is counted up to ``CLOSED_COUNT_CAP``
    (a bounded range of the same index) and shown as "999+" beyond. bench/scale.py measures it."""
    visible = ticket_visible_clause(user)
    mine = func.sum(func.cast(and_(Ticket.status == "open", Ticket.user_id == user.id), db.Integer))
    active = (select(Ticket.status, func.count(), mine).where(visible, Ticket.status.in_(("pending", "open")))
              .group_by(Ticket.status))
    closed = select(func.count()).select_from(
        select(Ticket.id).where(visible, Ticket.status == "closed").limit(CLOSED_COUNT_CAP + 1).subquery())
    # One round trip: every page and every live refresh of the tabs asks.
    rows = db.session.execute(union_all(
        active, select(literal("closed"), closed.scalar_subquery(), literal(0)))).all()
    counts = {tab: 0 for tab in TABS} | {"mine": 0}
    for status, count, own in rows:
        counts[status] = count
        counts["mine"] += int(own or 0)
    closed_count = counts["closed"]
    counts["closed"] = closed_count if closed_count <= CLOSED_COUNT_CAP else f"{CLOSED_COUNT_CAP}+"
    return counts


def ticket_messages(ticket: Ticket, *, before_id=None, limit=200) -> list[Message]:
    """The latest ``limit`` messages of a (visible) ticket, oldest first."""
    query = select(Message).where(Message.ticket_id == ticket.id).options(joinedload(Message.author))
    if before_id:
        query = query.where(Message.id < _int(before_id, "before"))
    rows = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit)))
    rows.reverse()
    return rows


def ticket_events(ticket: Ticket) -> list[TicketEvent]:
    return list(db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
        .options(joinedload(TicketEvent.actor)).order_by(TicketEvent.id)
    ))


def contact_history(user: User, ticket: Ticket, limit=10) -> list[Ticket]:
    """Other visible tickets of the same contact, for the side panel, with their sector and
    attendant (one query however many)."""
    return list(db.session.scalars(
        visible_tickets(user).where(Ticket.contact_id == ticket.contact_id, Ticket.id != ticket.id)
        .options(joinedload(Ticket.sector), joinedload(Ticket.user))
        .order_by(Ticket.id.desc()).limit(limit)
    ))


def transfer_attendants(online: set[int]) -> list[tuple[User, bool]]:
    """Whom a ticket may be handed to, each with whether they are ``online`` now: active
    users with their sectors (one query more, not one per user), online ones first."""
    users = db.session.scalars(select(User).where(User.active.is_(True)).options(selectinload(User.sectors))
                               .order_by(User.name)).all()
    return sorted(((user, user.id in online) for user in users), key=lambda pair: not pair[1])


def _int(value, field):
    try:
        return as_id(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"Invalid {field}.", fields={field: "Must be a number."}) from None


def reply_window_closed(ticket: Ticket, now=None) -> bool:
    """Whether the channel would refuse a free-form message now: a kind with a reply window
    (WhatsApp Cloud: 24 h) takes them only within it after the contact's last message on
    that number (any of their tickets). The attendant is told before writing rather than
    after the send fails."""
    window = ticket.connection.spec.reply_window
    if window is None:
        return False
    last_in = db.session.scalar(
        select(func.max(Message.created_at)).join(Ticket, Message.ticket_id == Ticket.id)
        .where(Ticket.contact_id == ticket.contact_id, Message.connection_id == ticket.connection_id,
               Message.direction == "in")
    )
    return last_in is None or last_in < (now or utcnow()) - window
