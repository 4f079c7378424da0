"""Calls (SPEC §2 Call, §6.1 ``/calls``): the one place a call changes.

A call is recorded by the browser that placed or took it (a softphone over SIP) or by
the server (a WhatsApp call's webhook, ``create_call``). Each step is one conditional
UPDATE, so the database decides races: of two attendants answering at once exactly one
wins, the other is told it was already answered. Each step adds a TicketEvent when the
call's ticket is known (``call_started``, ``call_answered``, ``call_ended``,
``call_missed``); a missed incoming call also becomes a line of the contact's
conversation (``tickets.inbound.add_activity_line``), so the ticket comes back to the top
of its list, unread, until somebody calls back.

Outcomes. Answered and then ended: ``answered``, with the seconds from answer to end.
Never answered: an incoming call is ``missed`` (unless it was ``rejected``); an outgoing
one the contact did not pick up is ``missed`` too (the contact missed our call, nothing
broke), and only an explicit ``failed`` (the PBX or Meta refused it) or ``rejected``
(the contact declined) says otherwise. ``rejected``, ``failed`` and ``missed`` end the
call; only an incoming ``missed`` is a ``call_missed`` step and a line in Esperando.

Who sees a call: whoever may see its ticket (SPEC §4); a call with no ticket, only its
user and the admins, or, on a team line, the users of that connection's sectors. Anything else answers 404 like an invisible ticket."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import and_, false, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..ids import parse_id
from ..models import CALL_CHANNELS, CALL_OUTCOMES, DIRECTIONS, Call, Contact, Ticket, TicketEvent, User, utcnow
from ..schema import Boolean, Choice, RowId, Schema, Text
from ..serializers import iso
from ..tickets import inbound, state
from ..tickets.visibility import get_visible_contact, get_visible_ticket, ticket_visible_clause
from .numbers import contact_for_number, display
from .sip_account import connections_of, line_for

ENDING_OUTCOMES = ("rejected", "failed", "missed")
PAGE = 50


class AlreadyAnswered(Conflict):
    code = "already_answered"


class CallEnded(Conflict):
    code = "call_ended"


# -- what the browser sends ------------------------------------------------------

class CallStart(Schema):
    channel: Choice(CALL_CHANNELS)
    direction: Choice(DIRECTIONS)
    number: Text(Call.number, required=True, description="The other side: a phone, an extension or a SIP URI.")
    ticket_id: RowId(Ticket, lambda: _("Unknown ticket."), description="The conversation it belongs to.") = None
    contact_id: RowId(Contact, lambda: _("Unknown contact."),
                      description="Else found by the number (phone matched to contacts).") = None
    sip_call_id: Text(200, description="The SIP Call-ID. On a team line every softphone that rings reports "
                                       "the same call, and all of them get the one record.") = ""


class CallStep(Schema):
    outcome: Choice(CALL_OUTCOMES, required=False,
                    description="answered stamps the answer; rejected, failed or missed end the call.") = None
    ended: Boolean = False


class CallQuery(Schema):
    contact_id: RowId(Contact, lambda: _("Unknown contact.")) = None
    ticket_id: RowId(Ticket, lambda: _("Unknown ticket.")) = None
    page: Text(20, description="The `next` of the previous page.") = ""


# -- reading ---------------------------------------------------------------------

def call_visible_clause(user: User):
    """SPEC §4 for calls: a call of a ticket follows the ticket; one without, its user."""
    if user is None or not user.is_active:
        return false()
    # A call on a team line (a connection's) is its team's, like a ticket of their sector.
    own = true() if user.is_admin else or_(Call.user_id == user.id, Call.connection_id.in_(connections_of(user)))
    return or_(and_(Call.ticket_id.is_(None), own),
               Call.ticket_id.in_(select(Ticket.id).where(ticket_visible_clause(user))))


def visible_calls(user: User):
    return select(Call).where(call_visible_clause(user))


def get_visible_call(user: User, call_id) -> Call:
    ident = parse_id(call_id)
    call = db.session.scalar(visible_calls(user).where(Call.id == ident)) if ident else None
    if call is None:
        raise NotFound()
    return call


def list_calls(user: User, *, contact_id=None, ticket_id=None, before=None, limit: int = PAGE):
    """Newest first, keyset on id; (calls, next cursor)."""
    query = visible_calls(user)
    if ticket_id not in (None, ""):
        query = query.where(Call.ticket_id == get_visible_ticket(user, ticket_id).id)
    if contact_id not in (None, ""):
        ident = parse_id(contact_id)
        if ident is None:
            raise InvalidInput(_("Unknown contact."), fields={"contact_id": _("Must be an id.")})
        query = query.where(Call.contact_id == ident)
    if before not in (None, ""):
        cursor = parse_id(before)
        if cursor is None:
            raise InvalidInput(_("Invalid page."), fields={"page": _("Must be an id.")})
        query = query.where(Call.id < cursor)
    rows = list(db.session.scalars(query.order_by(Call.id.desc()).limit(limit + 1)))
    return rows[:limit], (str(rows[limit - 1].id) if len(rows) > limit else None)


def call_json(call: Call) -> dict:
    return {"id": call.id, "channel": call.channel, "direction": call.direction, "number": call.number,
            "ticket_id": call.ticket_id, "contact_id": call.contact_id, "user_id": call.user_id,
            "outcome": call.outcome, "started_at": iso(call.started_at), "answered_at": iso(call.answered_at),
            "ended_at": iso(call.ended_at), "duration": call.duration}


def ticket_for_contact(user: User | None, contact: Contact) -> Ticket | None:
    """The contact's ticket a call belongs to: the active one ``user`` may see, else the
    newest they may see (``None``: the server, which sees all)."""
    query = select(Ticket).where(Ticket.contact_id == contact.id)
    if user is not None:
        query = query.where(ticket_visible_clause(user))
    return db.session.scalar(query.order_by((Ticket.status == "closed").asc(), Ticket.id.desc()).limit(1))


def caller(user: User, number) -> dict:
    """For the incoming-call popup: the contact and ticket of a number, as far as ``user``
    may see them; an unknown number is both null."""
    contact = contact_for_number(user, number if isinstance(number, str) else "")
    ticket = ticket_for_contact(user, contact) if contact is not None else None
    from flask import url_for

    return {"contact": {"id": contact.id, "name": contact.display_name, "phone": contact.phone} if contact else None,
            "ticket": {"id": ticket.id, "status": ticket.status,
                       "url": url_for("tickets.show", ticket_id=ticket.id)} if ticket else None}


# -- the steps ---------------------------------------------------------------------

def start_call(actor: User, data) -> Call:
    """``POST /calls``: a call this user places or takes in the browser."""
    values = CallStart.read(data)
    ticket, contact = values["ticket_id"], values["contact_id"]
    if ticket is not None:
        ticket = get_visible_ticket(actor, ticket.id)
    if contact is not None:
        contact = get_visible_contact(actor, contact.id)
        if ticket is not None and ticket.contact_id != contact.id:
            message = _("This ticket belongs to another contact.")
            raise InvalidInput(message, fields={"contact_id": message})
    if contact is None:
        contact = ticket.contact if ticket is not None else contact_for_number(actor, values["number"])
    if ticket is None and contact is not None:
        ticket = ticket_for_contact(actor, contact)
    line = team_line_for_call(actor, values)
    if line is None:
        return create_call(values["channel"], values["direction"], values["number"], contact=contact, ticket=ticket,
                           user=actor)
    # A team line: one record for every softphone that rings, nobody's until one answers.
    external_id = "sip:" + values["sip_call_id"]
    found = find_call(line.id, external_id)
    if found is not None:
        return found
    try:
        return create_call("sip", values["direction"], values["number"], contact=contact, ticket=ticket,
                           user=actor if values["direction"] == "out" else None, connection_id=line.id,
                           external_id=external_id)
    except IntegrityError:  # a teammate's softphone reported it first (uq_calls_connection_external)
        db.session.rollback()
        found = find_call(line.id, external_id)
        if found is None:
            raise
        return found


def team_line_for_call(actor: User, values: dict):
    """The connection of the team line a SIP call came through (the actor's softphone has no
    account of its own), else None."""
    if values["channel"] != "sip" or not values.get("sip_call_id"):
        return None
    line = line_for(actor)
    return line.connection if line is not None and line.is_team else None


def find_call(connection_id: int, external_id: str) -> Call | None:
    """The call a provider or PBX names (uq_calls_connection_external): a WhatsApp call id, a
    team line's SIP Call-ID."""
    return db.session.scalar(select(Call).where(Call.connection_id == connection_id, Call.external_id == external_id))


def create_call(channel: str, direction: str, number: str, *, contact: Contact | None = None,
                ticket: Ticket | None = None, user: User | None = None, connection_id: int | None = None,
                external_id: str | None = None, data: dict | None = None) -> Call:
    """Record a call and its ``call_started`` step; commits. The server's entry too (a
    WhatsApp call ringing: no user until one answers)."""
    call = Call(channel=channel, direction=direction, number=(number or "")[:64], contact_id=contact.id if contact else None,
                ticket_id=ticket.id if ticket else None,
                connection_id=connection_id or (ticket.connection_id if ticket else None),
                user_id=user.id if user else None, external_id=external_id, data=data or {}, started_at=utcnow())
    db.session.add(call)
    db.session.flush()
    _step(call, "call_started", user, channel=channel, direction=direction, number=call.number)
    db.session.commit()
    return call


def answer_call(actor: User, call_id) -> Call:
    """Stamp the answer in one conditional UPDATE: of two answers exactly one wins."""
    call = get_visible_call(actor, call_id)
    now = utcnow()
    won = db.session.execute(
        update(Call).where(Call.id == call.id, Call.answered_at.is_(None), Call.ended_at.is_(None),
                           or_(Call.user_id.is_(None), Call.user_id == actor.id))
        .values(answered_at=now, outcome="answered", user_id=actor.id)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        _refuse(call.id, actor)
    db.session.expire(call)
    # Outgoing: the contact picked up (the actor placed the call); incoming: the actor answered.
    _step(call, "call_answered", actor, direction=call.direction)
    db.session.commit()
    return call


def end_call(actor: User | None, call_id=None, outcome: str | None = None, *, call: Call | None = None) -> Call:
    """Stamp the end and the duration; ``outcome`` (rejected, failed, missed) says why a
    call nobody answered ended. ``actor`` None: the server (a webhook's terminate)."""
    if call is None:
        call = get_visible_call(actor, call_id)
    _require_party(call, actor)
    for _attempt in range(3):  # an answer landing meanwhile changes the outcome: read again
        answered_at = call.answered_at
        if call.ended_at is not None:
            raise CallEnded(_("This call has already ended."))
        now = utcnow()
        final = final_outcome(call.direction, answered_at, outcome or call.outcome)
        duration = _seconds(answered_at, now) if answered_at is not None else None
        same_answer = Call.answered_at.is_(None) if answered_at is None else Call.answered_at == answered_at
        won = db.session.execute(
            update(Call).where(Call.id == call.id, Call.ended_at.is_(None), same_answer)
            .values(ended_at=now, outcome=final, duration=duration)
            .execution_options(synchronize_session=False)).rowcount == 1
        if won:
            break
        db.session.rollback()
        db.session.refresh(call)
    else:  # pragma: no cover - three answers and ends in a row
        raise Conflict()
    db.session.expire(call)
    missed = call.outcome == "missed" and call.direction == "in"
    kind = "call_missed" if missed else "call_ended"
    _step(call, kind, actor, outcome=call.outcome, duration=call.duration)
    db.session.commit()
    if missed:
        missed_call_line(call)
    return call


def step_call(actor: User, call_id, data) -> Call:
    """``PATCH /calls/<id>``: ``outcome: answered`` answers; ``ended`` (or an ending
    outcome) ends; both answer and then end."""
    values = CallStep.read(data, partial=True)
    call = get_visible_call(actor, call_id)
    outcome, ended = values.get("outcome"), bool(values.get("ended"))
    if outcome is None and not ended:
        message = _("Send an outcome or ended: true.")
        raise InvalidInput(message, fields={"outcome": message})
    if outcome == "answered":
        call = answer_call(actor, call.id)
    if ended or outcome in ENDING_OUTCOMES:
        call = end_call(actor, call=call, outcome=outcome if outcome in ENDING_OUTCOMES else None)
    return call


def final_outcome(direction: str, answered_at: datetime | None, asked: str | None) -> str:
    if asked == "failed":  # even after an answer: the media never came up (Meta refused the accept, say)
        return "failed"
    if answered_at is not None:
        return "answered"
    if asked in ("rejected", "failed"):
        return asked
    return "missed"


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def _require_party(call: Call, actor: User | None) -> None:
    """Only the call's user (or, while nobody has it, whoever may see it) or an admin moves it."""
    if actor is None or actor.is_admin or call.user_id in (None, actor.id):
        return
    raise Forbidden(_("This call is %(name)s's.", name=call.user.name if call.user else "—"))


def _refuse(call_id: int, actor: User) -> None:
    db.session.rollback()
    call = db.session.get(Call, call_id)
    db.session.refresh(call)
    if call.answered_at is not None:
        name = call.user.name if call.user else _("someone else")
        raise AlreadyAnswered(_("This call was already answered by %(name)s.", name=name), user_id=call.user_id)
    if call.ended_at is not None:
        raise CallEnded(_("This call has already ended."))
    _require_party(call, actor)
    raise Conflict()


def _step(call: Call, kind: str, actor: User | None, **data) -> None:
    """The step as a TicketEvent of the call's ticket, in the caller's transaction."""
    if call.ticket_id is None:
        return
    db.session.add(TicketEvent(ticket_id=call.ticket_id, actor_id=actor.id if actor else None, kind=kind,
                               data={"call_id": call.id, **{k: v for k, v in data.items() if v is not None}}))


# -- a missed call in Esperando ------------------------------------------------------

def missed_call_line(call: Call) -> None:
    """A missed call of a known contact is a line of their conversation: their ticket
    comes back to the top, unread (a new pending one when none is active)."""
    if call.contact_id is None:
        return
    contact = db.session.get(Contact, call.contact_id)
    connection = _connection_for(call, contact)
    if connection is None:
        return
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "pt_BR")):  # one text for the whole team
        body = _("Missed call from %(number)s", number=display(call.number) or contact.display_name)
    message = inbound.add_activity_line(contact, connection, body)
    if call.ticket_id is None:
        db.session.execute(update(Call).where(Call.id == call.id).values(ticket_id=message.ticket_id)
                           .execution_options(synchronize_session=False))
        db.session.add(TicketEvent(ticket_id=message.ticket_id, kind="call_missed",
                                   data={"call_id": call.id, "outcome": "missed"}))
        db.session.commit()
        db.session.expire(call)


def _connection_for(call: Call, contact: Contact):
    """Where the line goes: the call's connection (WhatsApp), its ticket's, else the
    connection of the contact's latest ticket."""
    if call.connection is not None:
        return call.connection
    if call.ticket is not None:
        return call.ticket.connection
    latest = ticket_for_contact(None, contact)
    return latest.connection if latest is not None else None


# -- the ticket of a call -------------------------------------------------------------

def open_call_ticket(actor: User, call_id) -> Ticket:
    """``POST /calls/<id>/ticket``: the call's contact's ticket, created (pending) when
    they have none active, on the connection of their latest ticket."""
    call = get_visible_call(actor, call_id)
    contact = call.contact or contact_for_number(actor, call.number)
    if contact is None:
        raise InvalidInput(_("No contact has the number %(number)s.", number=display(call.number)),
                           fields={"number": _("Unknown number.")})
    active = db.session.scalar(select(Ticket).where(Ticket.contact_id == contact.id, Ticket.status != "closed",
                                                    ticket_visible_clause(actor)).order_by(Ticket.id.desc()).limit(1))
    if active is None:
        connection = _connection_for(call, contact)
        if connection is None:
            raise InvalidInput(_("%(name)s has no conversation on any connection yet, so there is no channel to "
                                 "open a ticket on.", name=contact.display_name),
                               fields={"connection_id": _("No connection to use.")})
        ticket_id, created = inbound.active_ticket(contact, connection, by_business=True)
        if created:
            db.session.add(TicketEvent(ticket_id=ticket_id, actor_id=actor.id, kind="created", to_status="pending",
                                       data={"contact_id": contact.id, "call_id": call.id}))
        db.session.commit()
        active = get_visible_ticket(actor, ticket_id)
        if created:
            from ..serializers import ticket_json

            state.announce_ticket_created(ticket_json(active))
    if call.ticket_id is None or call.contact_id is None:
        db.session.execute(update(Call).where(Call.id == call.id)
                           .values(ticket_id=call.ticket_id or active.id, contact_id=call.contact_id or contact.id)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    return active
