"""``/api/v1/calls`` (SPEC §6.1): the record of calls, over ``calls.service``; the SIP
password never goes out here."""
from flask import request

from ..calls import service
from . import bp, shapes
from .openapi import documented
from .routes import json_body, token_required


@bp.get("/calls")
@token_required
@documented("Calls the caller may see, newest first", "Calls", answer=shapes.page_of(shapes.Call),
            query=service.CallQuery)
def calls(user):
    items, next_cursor = service.list_calls(user, contact_id=request.args.get("contact_id"),
                                            ticket_id=request.args.get("ticket_id"), before=request.args.get("page"))
    return {"items": [service.call_json(c) for c in items], "next": next_cursor}


@bp.post("/calls")
@token_required
@documented("Record a call placed or taken (call_started on its ticket)", "Calls", ok=201, answer=shapes.Call,
            body=service.CallStart)
def start_call(user):
    return service.call_json(service.start_call(user, json_body())), 201


@bp.patch("/calls/<call_id>")
@token_required
@documented("A call's step: answered (409 already_answered for the loser), ended, rejected, failed, missed",
            "Calls", answer=shapes.Call, body=service.CallStep)
def step_call(user, call_id):
    return service.call_json(service.step_call(user, call_id, json_body()))
