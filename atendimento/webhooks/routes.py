"""The webhook endpoint (SPEC §8): find the connection, check the sender, hand over.

Rejections store nothing: unknown or disabled connection 404, missing credentials
401, wrong ones 403, malformed JSON 400, a body over the limit 413 (read no further).
A redelivery answers 200 and stores nothing new, so the provider stops retrying.
"""
from flask import abort, current_app, request, send_file
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from ..api.errors import http_error as json_error

from ..channels import webhook_connections
from ..channels.base import WebhookRejected
from ..channels.ingest import receive_webhook
from ..channels.registry import ADAPTERS, adapter_for
from ..channels.webhook_connections import WebhookConnection
from ..extensions import db
from ..media import absolute, max_bytes, message_id_from_link
from ..models import Message
from . import bp


@bp.route("/<kind>/<token>", methods=["GET", "POST"])
@bp.route("/<kind>/<token>/<event>", methods=["POST"])
def receive(kind, token, event=None):
    """``event``: the suffix a gateway appends per event (Evolution's "webhook by events",
    ``…/messages-upsert``); the body names its event all the same, so it is only checked."""
    if event is not None and not _takes_event_suffix(kind, event):
        abort(404)
    # A POST may be served from the process's kept connections (checked before storing); a GET reads the row.
    connection = _connection(kind, token, keep=request.method == "POST")
    adapter = adapter_for(connection)
    if request.method == "GET":
        return adapter.challenge(request.args), 200, {"Content-Type": "text/plain; charset=utf-8"}
    limit = body_limit(adapter)
    request.max_content_length = limit
    try:
        raw = read_body()  # 413 beyond the limit, before anything is read into memory
    except RequestEntityTooLarge as error:
        error.description = _("The body is larger than this webhook takes (at most %(mb)s MB).",
                              mb=round(limit / 1024 / 1024, 1))
        raise
    counts = receive_webhook(connection, request.headers, raw)
    return {"ok": True, **counts}


def read_body() -> bytes | bytearray:
    """The body, read once. A large one (an inline file) goes straight into one buffer of
    its Content-Length: ``get_data`` reads in pieces and joins them, twice the body at its peak."""
    length = request.content_length
    if not length or length <= current_app.config["WEBHOOK_MAX_BYTES"]:
        return request.get_data(cache=False)
    stream, buffer, got = request.stream, bytearray(length), 0
    with memoryview(buffer) as view:
        while got < length:
            count = stream.readinto(view[got:])
            if not count:
                raise BadRequest("the body ended before its Content-Length")
            got += count
    return buffer


def _takes_event_suffix(kind: str, event: str) -> bool:
    adapter = ADAPTERS.get(kind)
    return (adapter is not None and adapter.spec.webhook_by_events
            and len(event) <= 60 and event.replace("-", "").replace("_", "").isalnum())


def _connection(kind: str, token: str, keep: bool) -> WebhookConnection:
    connection = webhook_connections.find(kind, token, keep=keep) if kind in ADAPTERS else None
    if connection is None:
        abort(404)
    return connection


# Base64 is 4/3 of the file; 1.37 leaves room for the line breaks some encoders add.
BASE64_GROWTH = 1.37


def body_limit(adapter) -> int:
    """A kind that inlines whole files (Evolution's base64) takes bodies as large as the
    channel's largest file (WhatsApp: a 100 MB document) in base64, plus the usual
    allowance; deploy/nginx/atendimento.conf's /webhooks/ client_max_body_size matches it."""
    allowance = current_app.config["WEBHOOK_MAX_BYTES"]
    if not adapter.spec.inline_media:
        return allowance
    largest = max((adapter.spec.media.max_bytes(kind) or 0) for kind in ("image", "audio", "video", "document"))
    return int((largest or max_bytes()) * BASE64_GROWTH) + allowance


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
    """SPEC §6's shape and codes, the API's own; the app's page handlers hand over here for
    any /webhooks/ URL, matched or not (web.json_handler)."""
    return json_error(error)
