"""The browser's side of calls (session login, CSRF header on writes), JSON only: the
softphone's configuration, and the same call steps as the API, over the same service."""
from __future__ import annotations

from flask import request
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from ..api.errors import domain_error, http_error
from ..api.routes import json_body
from ..errors import DomainError
from ..serializers import ticket_json
from . import bp, service, sip_account, whatsapp


@bp.errorhandler(DomainError)
def refused(error):
    return domain_error(error)


@bp.errorhandler(HTTPException)
def failed(error):
    return http_error(error)


@bp.get("/softphone/config")
@login_required
def softphone_config():
    response = sip_account.softphone_config(current_user)
    return response, 200, {"Cache-Control": "no-store"}


@bp.get("/calls")
@login_required
def calls():
    items, next_cursor = service.list_calls(current_user, contact_id=request.args.get("contact_id"),
                                            ticket_id=request.args.get("ticket_id"), before=request.args.get("page"))
    return {"items": [service.call_json(c) for c in items], "next": next_cursor}


@bp.post("/calls")
@login_required
def start():
    return service.call_json(service.start_call(current_user, json_body())), 201


@bp.patch("/calls/<call_id>")
@login_required
def step(call_id):
    return service.call_json(service.step_call(current_user, call_id, json_body()))


@bp.get("/calls/caller")
@login_required
def caller():
    return service.caller(current_user, request.args.get("number", ""))


@bp.post("/calls/<call_id>/ticket")
@login_required
def ticket(call_id):
    found = service.open_call_ticket(current_user, call_id)
    return {"ticket": {**ticket_json(found), "url": _url(found)}}


def _url(ticket):
    from flask import url_for

    return url_for("tickets.show", ticket_id=ticket.id)


# -- WhatsApp Business calls (calls/whatsapp.py) -------------------------------------

@bp.get("/calls/<call_id>/offer")
@login_required
def whatsapp_offer(call_id):
    return whatsapp.offer(current_user, call_id), 200, {"Cache-Control": "no-store"}


@bp.get("/calls/<call_id>/answer-sdp")
@login_required
def whatsapp_answer_sdp(call_id):
    return whatsapp.answer_sdp(current_user, call_id), 200, {"Cache-Control": "no-store"}


@bp.post("/calls/<call_id>/answer")
@login_required
def whatsapp_answer(call_id):
    return service.call_json(whatsapp.answer(current_user, call_id, json_body().get("sdp")))


@bp.post("/calls/<call_id>/reject")
@login_required
def whatsapp_reject(call_id):
    return service.call_json(whatsapp.reject(current_user, call_id))


@bp.post("/calls/<call_id>/terminate")
@login_required
def whatsapp_terminate(call_id):
    return service.call_json(whatsapp.terminate(current_user, call_id))


@bp.post("/calls/whatsapp")
@login_required
def whatsapp_place():
    return service.call_json(whatsapp.place(current_user, json_body())), 201
