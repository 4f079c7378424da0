"""The webhook endpoint (SPEC §8): find the connection, check the sender, hand over.

Rejections store nothing: unknown or disabled connection 404, missing credentials
401, wrong ones 403, malformed JSON 400, a body over the limit 413 (read no further).
A redelivery answers 200 and stores nothing new, so the provider stops retrying.
"""
import json

from flask import abort, current_app, request, send_file
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from ..channels.base import WebhookRejected
from ..channels.ingest import handle
from ..channels.registry import ADAPTERS, adapter_for
from ..extensions import db
from ..media import absolute, message_id_from_link
from ..models import Connection, Message
from . import bp


@bp.route("/<kind>/<token>", methods=["GET", "POST"])
def receive(kind, token):
    connection = _connection(kind, token)
    adapter = adapter_for(connection)
    if request.method == "GET":
        return adapter.challenge(request.args), 200, {"Content-Type": "text/plain; charset=utf-8"}
    request.max_content_length = _body_limit(adapter)
    raw = request.get_data(cache=False)  # 413 beyond the limit, before anything is read into memory
    adapter.authenticate(request.headers, raw)
    try:
        payload = json.loads(raw)
    except ValueError:
        raise WebhookRejected(400, "malformed JSON") from None
    counts = handle(connection, adapter, payload)
    return {"ok": True, **counts}


def _connection(kind: str, token: str) -> Connection:
    if kind not in ADAPTERS:
        abort(404)
    connection = db.session.scalar(select(Connection).where(Connection.token == token, Connection.kind == kind))
    if connection is None or not connection.enabled:
        abort(404)
    return connection


def _body_limit(adapter) -> int:
    config = current_app.config
    if adapter.inline_media:  # whole files in base64: a third bigger than the file
        return config["MAX_UPLOAD_MB"] * 1024 * 1024 * 4 // 3 + config["WEBHOOK_MAX_BYTES"]
    return config["WEBHOOK_MAX_BYTES"]


@bp.get("/media/<token>")
def media_link(token):
    """A message's file for the gateway that sends it (generic outbound ``media.url``):
    a signed, expiring link instead of a session."""
    message_id = message_id_from_link(token)
    message = db.session.get(Message, message_id) if message_id else None
    path = absolute(message.media_path) if message is not None and message.media_path else None
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=message.media_mime or "application/octet-stream", as_attachment=True,
                         download_name=message.media_name or path.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.errorhandler(WebhookRejected)
def rejected(error: WebhookRejected):
    return {"error": {"code": "rejected", "message": error.reason}}, error.status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    return {"error": {"code": error.name.lower().replace(" ", "_"), "message": error.description}}, error.code
