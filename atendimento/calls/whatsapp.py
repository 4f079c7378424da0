"""WhatsApp Business calls (issue 16, part 3): the ``calls`` webhook of a whatsapp_cloud
connection. A customer's ``connect`` (USER_INITIATED, with its SDP offer) records the Call
on the contact's active ticket (a new pending one otherwise) and rings, through the
ticket's visibility, everyone who may see it (``call.ringing``); a repeated webhook finds
the same call (unique connection + Meta's call id). ``terminate`` ends it through the
calls service (missed when nobody answered) and publishes ``call.ended``. A
BUSINESS_INITIATED ``connect`` carries the customer's SDP answer: kept for the caller.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import update

from ..channels.base import DeliveryError
from ..channels.registry import adapter_for
from ..errors import DomainError, InvalidInput
from ..events import publish
from ..extensions import db
from ..models import Call, Connection, Ticket, TicketEvent, User
from ..tickets import inbound
from ..tickets.visibility import get_visible_ticket
from . import service

RINGING, ANSWERED, ENDED = "call.ringing", "call.answered", "call.ended"


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
    if service.find_call(connection.id, event.call_id) is not None:
        return 0
    contact = inbound.find_or_create_contact(connection.channel, event.number, event.name, event.number)
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "pt_BR")):  # one text for the team
        opening = "📞 " + _("WhatsApp call")
    ticket_id, created = inbound.active_ticket(contact, connection, opening=opening)
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
        if service.find_call(connection.id, event.call_id) is not None:
            return 0
        raise
    if created:  # a new pending ticket appears in Esperando, live
        from ..serializers import ticket_json
        from ..tickets import state

        state.announce_ticket_created(ticket_json(db.session.get(Ticket, ticket_id)))
    announce(RINGING, call)
    return 1


def _answered_by_customer(connection: Connection, event) -> int:
    call = service.find_call(connection.id, event.call_id)
    if call is None or call.data.get("answer"):
        return 0
    data = {**call.data, "answer": {"sdp_type": event.sdp_type or "answer", "sdp": event.sdp}}
    db.session.execute(update(Call).where(Call.id == call.id).values(data=data)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.expire(call)
    if call.user is not None and call.answered_at is None and call.ended_at is None:
        call = service.answer_call(call.user, call.id)  # the customer picked up
    announce(ANSWERED, call, user_id=call.user_id, sdp=data["answer"]["sdp"])
    return 1


def _terminate(connection: Connection, event) -> int:
    call = service.find_call(connection.id, event.call_id)
    if call is None or call.ended_at is not None:
        return 0
    outcome = "failed" if event.status.upper() == "FAILED" else None
    try:
        call = service.end_call(None, call=call, outcome=outcome)
    except service.CallEnded:
        return 0
    announce(ENDED, call, outcome=call.outcome, duration=call.duration)
    return 1


# -- the browser's steps (routes.py): answer, reject, hang up, place -----------------

class ProviderFailed(DomainError):
    status = 502
    code = "provider_failed"
    default_message = _l("WhatsApp refused the call.")


def _adapter(call: Call):
    if call.channel != "whatsapp" or call.connection is None or not call.connection.spec.voice_calls:
        raise InvalidInput(_("This is not a WhatsApp call."))
    return adapter_for(call.connection)


def offer(actor: User, call_id) -> dict:
    """``GET /calls/<id>/offer``: the customer's SDP offer, for whoever may see the call."""
    call = service.get_visible_call(actor, call_id)
    _adapter(call)
    return {"call_id": call.id, **(call.data.get("offer") or {"sdp_type": "offer", "sdp": ""})}


def answer_sdp(actor: User, call_id) -> dict:
    """``GET /calls/<id>/answer-sdp``: the customer's answer to a call we placed, once it came."""
    call = service.get_visible_call(actor, call_id)
    return {"call_id": call.id, "answer": call.data.get("answer"), "outcome": call.outcome,
            "ended": call.ended_at is not None}


def _failed(call: Call, error: DeliveryError) -> None:
    """Meta refused a step: the call ends as failed (the service's rule: failed stays even
    after an answer, since no audio ever flowed through Meta)."""
    try:
        call = service.end_call(None, call=call, outcome="failed")
    except service.CallEnded:
        pass
    announce(ENDED, call, outcome="failed", duration=call.duration)
    raise ProviderFailed(_("WhatsApp refused the call: %(reason)s", reason=str(error)))


def answer(actor: User, call_id, sdp) -> Call:
    """``POST /calls/<id>/answer``: the first attendant wins (the service's one conditional
    UPDATE; the loser gets 409), then Meta gets ``pre_accept`` and ``accept`` with our answer."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise InvalidInput(_("The answer has no SDP."), fields={"sdp": _("Required.")})
    call = service.get_visible_call(actor, call_id)
    adapter = _adapter(call)
    call = service.answer_call(actor, call.id)
    announce(ANSWERED, call, user_id=actor.id, by_name=actor.name)
    try:
        for action in ("pre_accept", "accept"):
            adapter.call_action(action, call_id=call.external_id, sdp_type="answer", sdp=sdp)
    except DeliveryError as error:
        _failed(call, error)
    _take_ticket(actor, call)
    return call


def _take_ticket(actor: User, call: Call) -> None:
    """Whoever talks to the customer handles their conversation: a ticket still waiting is
    accepted by the attendant who answered (the tickets service's accept, so its own race
    rule and announcements hold); one a teammate took meanwhile stays theirs."""
    from ..errors import Conflict
    from ..tickets import service as tickets

    ticket = db.session.get(Ticket, call.ticket_id) if call.ticket_id else None
    if ticket is None or ticket.status != "pending":
        return
    try:
        tickets.accept_ticket(actor, ticket.id)
    except Conflict:
        db.session.rollback()


def reject(actor: User, call_id) -> Call:
    """``POST /calls/<id>/reject``: refuse a ringing call."""
    return _hang_up(actor, call_id, "reject", outcome="rejected")


def terminate(actor: User, call_id) -> Call:
    """``POST /calls/<id>/terminate``: hang up from the page."""
    return _hang_up(actor, call_id, "terminate")


def _hang_up(actor: User, call_id, action: str, outcome: str | None = None) -> Call:
    """End the call here (the service decides its outcome), tell the pages, then Meta."""
    call = service.get_visible_call(actor, call_id)
    adapter = _adapter(call)
    call = service.end_call(actor, call=call, outcome=outcome)
    announce(ENDED, call, outcome=call.outcome, duration=call.duration)
    try:
        adapter.call_action(action, call_id=call.external_id)
    except DeliveryError as error:
        raise ProviderFailed(_("WhatsApp refused the call: %(reason)s", reason=str(error))) from None
    return call


def place(actor: User, data) -> Call:
    """``POST /calls/whatsapp`` ``{"ticket_id", "sdp"}``: a business-initiated call with the
    browser's offer; Meta answers the call id, the customer's answer comes by webhook.
    A contact who has not granted call permission: Meta's refusal, in its words."""
    if not isinstance(data, dict):
        raise InvalidInput(_("The body must be a JSON object."))
    sdp = data.get("sdp")
    if not isinstance(sdp, str) or not sdp.strip():
        raise InvalidInput(_("The offer has no SDP."), fields={"sdp": _("Required.")})
    ticket = get_visible_ticket(actor, data.get("ticket_id"))
    connection = ticket.connection
    if connection is None or not connection.spec.voice_calls:
        raise InvalidInput(_("WhatsApp calls go through a WhatsApp Cloud API connection."),
                           fields={"ticket_id": _("Not a WhatsApp Cloud API ticket.")})
    contact = ticket.contact
    number = contact.phone or ""
    if not number:
        raise InvalidInput(_("%(name)s has no phone number.", name=contact.display_name))
    try:
        answer = adapter_for(connection).call_action("connect", to=number, sdp_type="offer", sdp=sdp)
    except DeliveryError as error:
        raise ProviderFailed(_("WhatsApp refused the call: %(reason)s", reason=str(error))) from None
    calls = answer.get("calls") if isinstance(answer.get("calls"), list) else []
    call_id = calls[0].get("id") if calls and isinstance(calls[0], dict) else None
    if not call_id:
        raise ProviderFailed(_("WhatsApp answered without a call id."))
    return service.create_call("whatsapp", "out", number, contact=contact, ticket=ticket, user=actor,
                               connection_id=connection.id, external_id=str(call_id)[:255],
                               data={"offer": {"sdp_type": "offer", "sdp": sdp}})
