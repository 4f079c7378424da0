"""Connections' pages and API routes (their rules: ``connections.py``, the pair's other half).

On the pages: pick a kind, fill that kind's settings, then copy the webhook URL (and
what the kind's spec generates, WhatsApp's verify token) into the provider. Each kind's
page is drawn from its spec (``channels.registry.SPECS``)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from werkzeug.datastructures import MultiDict

from ..api import bp as api_bp
from ..api import shapes
from ..api.crud import Resource, register
from ..api.openapi import documented
from ..channels.registry import SPECS
from ..errors import Conflict, DomainError, InvalidInput, TooManyAttempts
from ..extensions import limiter
from ..schema import form_rules
from . import bp
from . import chatbots as chatbot_service
from . import connections as connection_service
from .base import admin_required, form_values, render_form
from .connection_kinds import mask
from .connections import ConnectionCreate, Rotate, connection_json
from .sectors import list_sectors

register(Resource(
    # The only time the generated secrets are shown in full, so a script can pass them on.
    "connection", "connections", "Connections", ConnectionCreate, shapes.Connection, guard=admin_required,
    list=connection_service.list_connections, get=connection_service.get_connection,
    create=connection_service.create_connection, update=connection_service.update_connection,
    delete=connection_service.delete_connection, to_json=connection_json,
    created_json=lambda row: connection_json(row, reveal=True)))


@api_bp.post("/connections/<connection_id>/rotate")
@admin_required
@documented("Make a new signing secret, URL token or verify token", "Connections", answer=shapes.Connection,
            body=Rotate)
def rotate_connection_api(user, connection_id):
    from ..api.routes import json_body

    field = json_body().get("field")
    return connection_json(connection_service.rotate(user, connection_id, field), reveal=True)


# -- pages -------------------------------------------------------------------


CONNECTION_FLAGS = ("rerun_bot_on_new_ticket", "enabled")


def connection_data(form: MultiDict, kind: str) -> dict:
    data = {key: form.get(key, "") for key in ("name", "flow", "greeting", "farewell", "secret")}
    data.update({key: form.get(key) or None for key in ("chatbot_id", "bot_max_invalid", "bot_timeout_minutes")})
    data.update({flag: flag in form for flag in CONNECTION_FLAGS})
    data["kind"] = kind
    data["sector_ids"] = form.getlist("sector_ids")
    data["settings"] = {s.key: form.get(f"settings.{s.key}", "") for s in SPECS[kind].settings}
    return data


def connection_values(connection, kind: str) -> dict:
    """Secrets are never put back in a form: blank means "keep"."""
    if connection is None:
        values = {"name": "", "flow": "human", "greeting": "", "farewell": "", "secret": "",
                  "rerun_bot_on_new_ticket": True, "enabled": True, "sector_ids": [], "chatbot_id": "",
                  "bot_max_invalid": 3, "bot_timeout_minutes": 30}
        values.update({f"settings.{s.key}": "" for s in SPECS[kind].settings})
        return values
    stored = connection.settings or {}
    values = {"name": connection.name, "flow": connection.flow, "greeting": connection.greeting or "",
              "farewell": connection.farewell or "", "secret": "",
              "rerun_bot_on_new_ticket": connection.rerun_bot_on_new_ticket, "enabled": connection.enabled,
              "sector_ids": [str(s.id) for s in connection.sectors], "chatbot_id": connection.chatbot_id or "",
              "bot_max_invalid": connection.bot_max_invalid, "bot_timeout_minutes": connection.bot_timeout_minutes}
    values.update({f"settings.{s.key}": "" if s.secret else stored.get(s.key, "")
                   for s in SPECS[kind].settings})
    return values


def connection_form_values(form: MultiDict, kind: str) -> dict:
    values = form_values(form, lists=("sector_ids",))
    values.update({flag: flag in form for flag in CONNECTION_FLAGS})
    values["secret"] = ""  # a typed secret is not echoed back into the page
    for key in list(values):
        if key.startswith("settings.") and key.split(".", 1)[1] in SPECS[kind].secret_keys:
            values[key] = ""
    return values


def flow_options():
    return [("human", _("Straight to attendants")), ("menu", _("Menu of sectors")),
            ("chatbot", _("Chatbot"))]


@bp.app_template_filter("kind_label")
def kind_label(kind: str) -> str:
    return str(SPECS[kind].label) if kind in SPECS else kind


@bp.route("/connections")
def connections():
    return render_template("admin/connections.html", section="connections",
                           connections=connection_service.list_connections(),
                           webhook_url=connection_service.webhook_url, flows=dict(flow_options()))


def _connection_form(connection, kind, values, error=None, revealed=None, status=None, sip_values=None,
                     sip_error=None, **tools):
    body, code = render_form(
        "admin/connection_form.html", error=error, schema=ConnectionCreate, section="connections", connection=connection, kind=kind,
        spec=SPECS[kind], values=values, flows=flow_options(), sectors=list_sectors(),
        webhook_url=connection_service.webhook_url(connection) if connection else None, revealed=revealed or {},
        masked=_masked(connection), reveal_error=tools.get("reveal_error"), test_error=tools.get("test_error"),
        test_delivery=tools.get("test_delivery"),
        chatbots=[(str(c.id), c.name) for c in chatbot_service.list_chatbots()],
        **_team_line_context(connection, sip_values, sip_error))
    return body, sip_error.status if sip_error else status or code


def _team_line_context(connection, sip_values, sip_error) -> dict:
    """The team line's form (calls/sip_account.py, the same fields as a user's SIP account)."""
    if connection is None:
        return {}
    from ..calls import sip_account

    return dict(has_sip=bool(connection.sip_line), sip_rules=form_rules(sip_account.SipAccount), sip_team=True,
                sip_values=sip_values if sip_values is not None else sip_account.form_values(connection),
                sip_errors=sip_error.fields if sip_error else {}, sip_message=sip_error.message if sip_error else None)


@bp.route("/connections/<int:connection_id>/sip-line", methods=["POST"], endpoint="connection_sip_line")
def connection_sip_line(connection_id):
    """The team's SIP line: the softphone of every user of this connection's sectors who has
    no SIP account of their own registers with it, and all of them ring."""
    from ..calls import sip_account

    connection = connection_service.get_connection(current_user, connection_id)
    if "remove" in request.form:
        sip_account.remove_team_line(connection)
        flash(_("Team SIP line removed."), "success")
        return redirect(url_for(".edit_connection", connection_id=connection.id, _anchor="sip-line"))
    data = {key: request.form.get(key, "") for key in (*sip_account.FIELDS, "password")}
    try:
        sip_account.save_team_line(connection, data)
    except InvalidInput as error:
        return _connection_form(connection, connection.kind, connection_values(connection, connection.kind),
                                sip_values={k: v for k, v in data.items() if k != "password"}, sip_error=error)
    flash(_("Team SIP line saved."), "success")
    return redirect(url_for(".edit_connection", connection_id=connection.id, _anchor="sip-line"))


def _masked(connection) -> dict:
    """What the page shows of each saved secret."""
    if connection is None:
        return {}
    stored = connection.settings or {}
    shown = {"secret": mask(connection.secret)}
    shown.update({key: mask(stored.get(key)) for key in connection.spec.secret_keys})
    return shown


@bp.route("/connections/new", methods=["GET", "POST"])
def new_connection():
    kind = request.values.get("kind")
    if kind not in SPECS:
        return render_template("admin/connection_kinds.html", section="connections", specs=SPECS.values())
    if request.method == "GET":
        return _connection_form(None, kind, connection_values(None, kind))
    try:
        connection = connection_service.create_connection(current_user, connection_data(request.form, kind))
    except (InvalidInput, Conflict) as error:
        return _connection_form(None, kind, connection_form_values(request.form, kind), error)
    # Shown in full this once: generated secrets must reach the provider's settings.
    flash(_("Connection %(name)s created. Copy what the provider needs now: secrets are masked from now on.",
            name=connection.name), "success")
    return _connection_form(connection, kind, connection_values(connection, kind),
                            revealed=_revealed(connection), status=201)


def _revealed(connection, only=None) -> dict:
    values = {"secret": connection.secret}
    values.update({key: (connection.settings or {}).get(key, "") for key in connection.spec.secret_keys})
    return {k: v for k, v in values.items() if v and (only is None or k == only)}


@bp.route("/connections/<int:connection_id>", methods=["GET", "POST"])
def edit_connection(connection_id):
    connection = connection_service.get_connection(current_user, connection_id)
    kind = connection.kind
    if request.method == "GET":
        return _connection_form(connection, kind, connection_values(connection, kind))
    try:
        connection_service.update_connection(current_user, connection.id, connection_data(request.form, kind))
    except (InvalidInput, Conflict) as error:
        return _connection_form(connection, kind, connection_form_values(request.form, kind), error)
    flash(_("Connection %(name)s saved.", name=connection.name), "success")
    return redirect(url_for(".edit_connection", connection_id=connection.id))


@bp.route("/connections/<int:connection_id>/rotate", methods=["POST"])
def rotate_connection(connection_id):
    field = request.form.get("field")
    try:
        connection = connection_service.rotate(current_user, connection_id, field)
    except InvalidInput as error:
        flash(str(error.message), "error")
        return redirect(url_for(".edit_connection", connection_id=connection_id))
    messages = {
        "secret": _("A new secret was made: the old one no longer works. Copy it now."),
        "token": _("A new webhook URL was made: the old one no longer works. Update it at the provider."),
        "verify_token": _("A new verify token was made. Paste it in Meta's webhook settings."),
    }
    flash(messages[field], "success")
    kind = connection.kind
    return _connection_form(connection, kind, connection_values(connection, kind),
                            revealed=_revealed(connection, only="secret") if field == "secret" else {})


def _revealing_admin() -> str:
    return f"reveal|{current_user.get_id()}"


@bp.route("/connections/<int:connection_id>/reveal", methods=["POST"])
# Wrong passwords count like failed logins of that admin (LOGIN_LIMIT_PER_ACCOUNT): a session
# left open cannot be used to guess the password here either.
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_revealing_admin,
               deduct_when=lambda response: response.status_code == 403,
               error_message=lambda: str(TooManyAttempts.default_message))
def reveal_connection(connection_id):
    """The saved secrets in full, after the admin typed their password again."""
    connection = connection_service.get_connection(current_user, connection_id)
    kind = connection.kind
    try:
        revealed = connection_service.reveal_secrets(current_user, connection.id, request.form.get("password"))
    except InvalidInput as error:
        return _connection_form(connection, kind, connection_values(connection, kind),
                                reveal_error=error.message, status=403)
    return _connection_form(connection, kind, connection_values(connection, kind), revealed=revealed)


@bp.route("/connections/<int:connection_id>/test-message", methods=["POST"])
def test_connection(connection_id):
    """Enviar mensagem de teste: through the real webhook route, then where the ticket is."""
    from .connection_probe import send_test_message

    connection = connection_service.get_connection(current_user, connection_id)
    kind = connection.kind
    try:
        delivery = send_test_message(current_user, connection.id)
    except InvalidInput as error:
        return _connection_form(connection, kind, connection_values(connection, kind),
                                test_error=error.message, status=error.status)
    connection = connection_service.get_connection(current_user, connection_id)
    return _connection_form(connection, kind, connection_values(connection, kind), test_delivery=delivery)


@bp.route("/connections/<int:connection_id>/delete", methods=["POST"])
def delete_connection(connection_id):
    connection = connection_service.get_connection(current_user, connection_id)
    name = connection.name
    try:
        connection_service.delete_connection(current_user, connection.id)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for(".edit_connection", connection_id=connection_id))
    flash(_("Connection %(name)s deleted.", name=name), "success")
    return redirect(url_for(".connections"))

