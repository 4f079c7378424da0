"""The ticket lifecycle of SPEC §3: the only place a ticket changes state.

Each move is one conditional UPDATE (the database decides races), writes a
TicketEvent, commits, and then announces the change as a domain event.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InvalidInput, InvalidTransition, NotFound
from ..extensions import db
from ..models import Connection, Sector, Ticket, TicketEvent, User, utcnow
from . import flow, state
from .visibility import as_id, get_visible_ticket


# -- helpers -----------------------------------------------------------------

def _finish_move(ticket: Ticket, actor: User | None, kind: str, before: dict, **data) -> Ticket:
    """Record the TicketEvent, commit, announce. ``ticket`` is reloaded to its new state."""
    db.session.expire(ticket)
    db.session.add(TicketEvent(
        ticket_id=ticket.id, actor_id=actor.id if actor else None, kind=kind,
        from_status=before["status"], to_status=ticket.status, data=data,
    ))
    db.session.commit()
    state.announce_ticket_updated(ticket, before)
    return ticket


def _refuse_stale(ticket_id: int, actor: User) -> None:
    """A conditional update lost: say why, from the state that beat us."""
    db.session.rollback()
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound()
    if ticket.status == "open":
        raise Conflict(_("Ticket #%(id)s is already being handled by %(name)s.", id=ticket.id,
                         name=state.holder_name(ticket)), holder_id=ticket.user_id)
    raise InvalidTransition(_("Ticket #%(id)s is %(status)s; this action is not possible now.",
                              id=ticket.id, status=status_label(ticket.status)))


def status_label(status: str) -> str:
    return {"pending": _("waiting"), "open": _("being handled"), "closed": _("closed")}.get(status, status)


# -- the moves ---------------------------------------------------------------

def accept_ticket(actor: User, ticket_id) -> Ticket:
    """Atender: pending → open, assigned to ``actor``. Of concurrent accepts one wins."""
    ticket = get_visible_ticket(actor, ticket_id)
    before = state.snapshot(ticket)
    if not state.conditional_update(ticket.id, ("pending",), actor, status="open", user_id=actor.id, **flow.STOP):
        _refuse_stale(ticket.id, actor)
    return _finish_move(ticket, actor, "accepted", before)


def close_ticket(actor: User, ticket_id) -> Ticket:
    """Fechar: from Esperando or Em atendimento to Finalizados."""
    ticket = get_visible_ticket(actor, ticket_id)
    if ticket.status == "closed":
        raise InvalidTransition(_("Ticket #%(id)s is already closed.", id=ticket.id))
    state.require_handler(ticket, actor)
    before = state.snapshot(ticket)
    if not state.conditional_update(ticket.id, (before["status"],), actor, status="closed", closed_at=utcnow(),
                               unread=0, **flow.STOP):
        _refuse_stale(ticket.id, actor)
    farewell = flow.farewell(ticket) if before["status"] == "open" else None
    ticket = _finish_move(ticket, actor, "closed", before)
    if farewell is not None:
        state.announce_message_created(farewell)
    return ticket


def reopen_ticket(actor: User, ticket_id) -> Ticket:
    """Reabrir: closed → open, assigned to whoever reopened it, unless the contact
    already has another active ticket on that connection."""
    ticket = get_visible_ticket(actor, ticket_id)
    if ticket.status != "closed":
        raise InvalidTransition(_("Only a closed ticket can be reopened."))
    _refuse_if_active_elsewhere(ticket.contact_id, ticket.connection_id)
    before = state.snapshot(ticket)
    try:
        won = state.conditional_update(ticket.id, ("closed",), actor, status="open", user_id=actor.id, closed_at=None)
    except IntegrityError:  # another ticket became active meanwhile: the unique index said no
        db.session.rollback()
        _refuse_if_active_elsewhere(ticket.contact_id, ticket.connection_id)
        raise Conflict() from None
    if not won:
        _refuse_stale(ticket.id, actor)
    return _finish_move(ticket, actor, "reopened", before)


def _refuse_if_active_elsewhere(contact_id: int, connection_id: int) -> None:
    other = db.session.scalar(
        select(Ticket).where(Ticket.contact_id == contact_id, Ticket.connection_id == connection_id,
                             Ticket.status != "closed")
    )
    if other is not None:
        raise Conflict(_("This contact already has an active ticket on that connection: #%(id)s.", id=other.id),
                       ticket_id=other.id)


def transfer_to_sector(actor: User, ticket_id, sector_id) -> Ticket:
    """To a sector: back to Esperando in that sector, with no assignee."""
    ticket = get_visible_ticket(actor, ticket_id)
    _require_movable(ticket, actor)
    sector = _get_or_invalid(Sector, sector_id, "sector_id", _("Unknown sector."))
    if ticket.status == "pending" and ticket.sector_id == sector.id:
        raise InvalidInput(_("The ticket is already waiting in %(sector)s.", sector=sector.name),
                           fields={"sector_id": _("Already in this sector.")})
    before = state.snapshot(ticket)
    if not state.conditional_update(ticket.id, ("pending", "open"), actor, status="pending", sector_id=sector.id,
                               user_id=None, **flow.STOP):
        _refuse_stale(ticket.id, actor)
    return _finish_move(ticket, actor, "transferred", before, to_sector_id=sector.id, to_sector=sector.name)


def transfer_to_user(actor: User, ticket_id, user_id) -> Ticket:
    """To an attendant: open, assigned to them, in a sector they belong to."""
    ticket = get_visible_ticket(actor, ticket_id)
    _require_movable(ticket, actor)
    target = _get_or_invalid(User, user_id, "user_id", _("Unknown attendant."))
    if not target.active:
        raise InvalidInput(_("%(name)s is inactive.", name=target.name), fields={"user_id": _("Inactive user.")})
    target_sector_ids = [s.id for s in target.sectors]
    if ticket.sector_id in target_sector_ids:
        sector_id = ticket.sector_id
    elif target_sector_ids:
        sector_id = target_sector_ids[0]
    elif target.is_admin:
        sector_id = ticket.sector_id
    else:
        raise InvalidInput(_("%(name)s belongs to no sector and could not see this ticket.", name=target.name),
                           fields={"user_id": _("User without access.")})
    if ticket.status == "open" and ticket.user_id == target.id:
        raise InvalidInput(_("%(name)s is already handling this ticket.", name=target.name),
                           fields={"user_id": _("Already assigned.")})
    before = state.snapshot(ticket)
    if not state.conditional_update(ticket.id, ("pending", "open"), actor, status="open", user_id=target.id,
                               sector_id=sector_id, **flow.STOP):
        _refuse_stale(ticket.id, actor)
    return _finish_move(ticket, actor, "transferred", before, to_user_id=target.id, to_user=target.name,
                        to_sector_id=sector_id)


def transfer_to_connection(actor: User, ticket_id, connection_id) -> Ticket:
    """To another connection of the same channel: replies go out through it."""
    ticket = get_visible_ticket(actor, ticket_id)
    _require_movable(ticket, actor)
    target = _get_or_invalid(Connection, connection_id, "connection_id", _("Unknown connection."))
    if target.id == ticket.connection_id:
        raise InvalidInput(_("The ticket is already on this connection."),
                           fields={"connection_id": _("Same connection.")})
    if not target.enabled or target.channel != ticket.connection.channel:
        raise InvalidInput(_("%(name)s does not reach this contact's channel.", name=target.name),
                           fields={"connection_id": _("Another channel.")})
    _refuse_if_active_elsewhere(ticket.contact_id, target.id)
    before = state.snapshot(ticket)
    try:
        won = state.conditional_update(ticket.id, ("pending", "open"), actor, connection_id=target.id)
    except IntegrityError:
        db.session.rollback()
        _refuse_if_active_elsewhere(ticket.contact_id, target.id)
        raise Conflict() from None
    if not won:
        _refuse_stale(ticket.id, actor)
    return _finish_move(ticket, actor, "transferred", before, to_connection_id=target.id,
                        to_connection=target.name)


def transfer_ticket(actor: User, ticket_id, *, sector_id=None, user_id=None, connection_id=None) -> Ticket:
    """One entry for the forms and the API: exactly one target."""
    get_visible_ticket(actor, ticket_id)  # an invisible ticket is 404 before any validation
    targets = [t for t in (sector_id, user_id, connection_id) if t not in (None, "")]
    if len(targets) != 1:
        raise InvalidInput(_("Choose exactly one destination: a sector, an attendant or a connection."),
                           fields={"sector_id": _("Choose one destination.")})
    if sector_id not in (None, ""):
        return transfer_to_sector(actor, ticket_id, sector_id)
    if user_id not in (None, ""):
        return transfer_to_user(actor, ticket_id, user_id)
    return transfer_to_connection(actor, ticket_id, connection_id)


def _require_movable(ticket: Ticket, actor: User) -> None:
    if ticket.status == "closed":
        raise InvalidTransition(_("A closed ticket cannot be transferred; reopen it first."))
    state.require_handler(ticket, actor)


def _get_or_invalid(model, ident, field: str, message: str):
    try:
        obj = db.session.get(model, as_id(ident))
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        raise InvalidInput(message, fields={field: message})
    return obj


# -- reading a conversation and answering ------------------------------------

def open_conversation(actor: User, ticket_id, *, peek: bool = False) -> Ticket:
    """Show a ticket. Its assignee opening it resets the unread count; a peek never does."""
    ticket = get_visible_ticket(actor, ticket_id)
    if not peek and ticket.status == "open" and ticket.user_id == actor.id and ticket.unread:
        db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(unread=0)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        db.session.expire(ticket)
        state.announce_ticket_updated(ticket, state.snapshot(ticket), changed=("unread",))
    return ticket


def move_sector_tickets(actor: User, from_sector_id: int, to_sector_id: int) -> int:
    """Before a sector is deleted its tickets move to another one, status and assignee
    kept. Closed tickets move silently; active ones get a TicketEvent and an event."""
    target = db.session.get(Sector, to_sector_id)
    tickets = list(db.session.scalars(select(Ticket).where(Ticket.sector_id == from_sector_id)))
    before = {t.id: state.snapshot(t) for t in tickets}
    result = db.session.execute(
        update(Ticket).where(Ticket.sector_id == from_sector_id)
        .values(sector_id=target.id, updated_at=utcnow()).execution_options(synchronize_session=False))
    active = [t for t in tickets if t.status != "closed"]
    for ticket in active:
        db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=actor.id, kind="transferred",
                                   from_status=ticket.status, to_status=ticket.status,
                                   data={"to_sector_id": target.id, "to_sector": target.name}))
    db.session.commit()
    for ticket in active:
        db.session.expire(ticket)
        state.announce_ticket_updated(ticket, before[ticket.id])
    return result.rowcount


def close_merged_ticket(ticket: Ticket, into: Ticket, before: dict, contact_id: int) -> None:
    """A contact merge joined ``ticket`` into ``into`` (tickets/identities.py): it closes,
    recorded as ``merged``, under the merged ``contact_id``. Unlike the moves above it runs
    in the caller's transaction and does not announce: the merge holds both rows locked,
    and commits and announces everything it changed together."""
    db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id)
        .values(status="closed", closed_at=utcnow(), unread=0, contact_id=contact_id, updated_at=utcnow(),
                **flow.STOP)
        .execution_options(synchronize_session=False))
    db.session.add(TicketEvent(ticket_id=ticket.id, kind="merged", from_status=before["status"],
                               to_status="closed", data={"into": into.id}))
