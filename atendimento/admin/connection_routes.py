"""Admin pages for connections: pick a kind, fill that kind's settings, then copy
the webhook URL (and what the kind's spec generates, WhatsApp's verify token) into the
provider. Each kind's page is drawn from its spec (``channels.registry.SPECS``)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..channels.registry import SPECS
from ..errors import Conflict, DomainError, InvalidInput
from . import bp, forms, service
from . import chatbots as chatbot_service
from . import connections as connection_service
from .connection_kinds import mask


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


def _connection_form(connection, kind, values, error=None, revealed=None, status=None):
    body, code = forms.render_form(
        "admin/connection_form.html", error=error, section="connections", connection=connection, kind=kind,
        spec=SPECS[kind], values=values, flows=flow_options(), sectors=service.list_sectors(),
        webhook_url=connection_service.webhook_url(connection) if connection else None, revealed=revealed or {},
        masked=_masked(connection),
        chatbots=[(str(c.id), c.name) for c in chatbot_service.list_chatbots()])
    return body, status or code


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
        return _connection_form(None, kind, forms.connection_values(None, kind))
    try:
        connection = connection_service.create_connection(current_user, forms.connection_data(request.form, kind))
    except (InvalidInput, Conflict) as error:
        return _connection_form(None, kind, forms.connection_form_values(request.form), error)
    # Shown in full this once: generated secrets must reach the provider's settings.
    flash(_("Connection %(name)s created. Copy what the provider needs now: secrets are masked from now on.",
            name=connection.name), "success")
    return _connection_form(connection, kind, forms.connection_values(connection, kind),
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
        return _connection_form(connection, kind, forms.connection_values(connection, kind))
    try:
        connection_service.update_connection(current_user, connection.id, forms.connection_data(request.form, kind))
    except (InvalidInput, Conflict) as error:
        return _connection_form(connection, kind, forms.connection_form_values(request.form), error)
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
    return _connection_form(connection, kind, forms.connection_values(connection, kind),
                            revealed=_revealed(connection, only="secret") if field == "secret" else {})


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

