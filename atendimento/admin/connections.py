"""The admin rules for connections (channels): the kind's own settings, secrets that
are masked once saved and can be rotated, and the webhook URL a provider is given.
"""
from __future__ import annotations

import secrets

from flask import has_request_context, request
from flask_babel import gettext as _, ngettext
from pydantic import Field, create_model
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select

from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..ids import parse_id as as_int
from ..models import CONNECTION_KINDS, FLOWS, Chatbot, Connection, Message, Sector, Ticket, User
from ..schema import Boolean, Choice, Integer, RowId, Rows, Schema, Text, clean_text, clean_url, invalid, refuse
from ..serializers import iso
from ..channels.registry import SPECS
from .connection_kinds import is_mask_of, mask
from .base import require_admin

SETTING_MAX_LENGTH = 500  # each value a kind keeps in ``Connection.settings``
# The signing secret, the webhook URL's token, and what a kind generates for its provider.
ROTATABLE = ("secret", "token", *sorted({s.key for spec in SPECS.values() for s in spec.generated_settings}))


class Rotate(Schema):
    field: Choice(ROTATABLE, description="A generated setting only where the kind generates it: " + "; ".join(
        f"{s.key} ({kind})" for kind, spec in SPECS.items() for s in spec.generated_settings) + ".")


def list_connections(actor: User | None = None) -> list[Connection]:
    return list(db.session.scalars(select(Connection).order_by(Connection.name, Connection.id)))


def get_connection(actor: User, connection_id) -> Connection:
    require_admin(actor)
    connection = db.session.get(Connection, as_int(connection_id)) if as_int(connection_id) else None
    if connection is None:
        raise NotFound(_("Connection not found."))
    return connection


def webhook_url(connection: Connection) -> str:
    """Where the provider POSTs (SPEC §8); absolute when there is a request to take the host from."""
    path = f"/webhooks/{connection.kind}/{connection.token}"
    return request.url_root.rstrip("/") + path if has_request_context() else path


# The document's view of ``settings``: every kind's keys, each saying which kinds read it.
ConnectionSettings = create_model("ConnectionSettings", __base__=Schema, **{
    key: (Text(SETTING_MAX_LENGTH), Field("", description="Read by: " + ", ".join(
        kind for kind, spec in SPECS.items() if any(s.key == key for s in spec.settings))))
    for key in sorted({s.key for spec in SPECS.values() for s in spec.settings})})


class ConnectionCreate(Schema):
    name: Text(Connection.name, required=True)
    kind: Choice(CONNECTION_KINDS, description="Fixed once created.")
    flow: Choice(FLOWS) = "human"
    greeting: Text(2000) = ""
    farewell: Text(2000) = ""
    sector_ids: Rows(Sector, lambda: _("Unknown sector."), description="Sectors offered by the menu.") = []
    rerun_bot_on_new_ticket: Boolean = True
    enabled: Boolean = True
    secret: Text(Connection.secret, description="Signing secret (WhatsApp: the Meta app secret). Generated when omitted.") = ""
    settings: ConnectionSettings | None = Field(None, description=(
        "The kind's own keys. Secrets come back masked, except on create and rotate."))
    chatbot_id: RowId(Chatbot, lambda: _("Unknown chatbot."),
                      description="The chatbot that answers new conversations; required when flow is chatbot.") = None
    bot_max_invalid: Integer(1, 10, description="Menu and chatbot: invalid answers before the attendants "
                                                "take over.") = 3
    bot_timeout_minutes: Integer(0, 1440, description="Menu and chatbot: minutes without an answer before the "
                                                      "attendants take over; 0 = never.") = 30


def _read(data, *, partial: bool, current: Connection | None) -> dict:
    data = data if isinstance(data, dict) else {}
    raw_settings = data.get("settings")
    values, errors = ConnectionCreate.try_read({k: v for k, v in data.items() if k != "settings"}, partial=partial)
    values.pop("settings", None)  # read below, against the kind's own declarations
    kind = current.kind if current is not None else values.get("kind")
    if current is not None and values.get("kind", kind) != kind:
        errors.setdefault("kind", _("The kind of a connection cannot change; create a new connection."))
    if current is not None and is_mask_of(values.get("secret"), current.secret):
        values.pop("secret")
    if current is not None and values.get("secret") == "":
        values.pop("secret")  # blank on edit keeps the saved secret
    spec = SPECS.get(kind)
    if spec is not None and spec.secret_from_provider and current is None and not values.get("secret") and "secret" not in errors:
        errors.setdefault("secret", _("Required: the app secret from Meta's app settings."))
    _check_bot(values, errors, current)
    if spec is not None:
        _read_settings(values, errors, kind, raw_settings, current.settings if current is not None else None,
                       partial=partial)
    if errors:
        raise invalid(errors)
    return values


def _check_bot(values: dict, errors: dict, current: Connection | None) -> None:
    """The chatbot flow needs a chatbot to run."""
    flow = values.get("flow", current.flow if current is not None else None)
    chatbot = values["chatbot_id"] if "chatbot_id" in values else (current.chatbot if current is not None else None)
    if flow == "chatbot" and chatbot is None and "chatbot_id" not in errors:
        errors["chatbot_id"] = _("Choose the chatbot that answers new conversations.")


def _read_settings(values: dict, errors: dict, kind: str, raw, saved: dict | None, *, partial: bool) -> None:
    """The kind's own keys; on edit a blank or masked secret keeps what was saved."""
    if raw is None and (saved is not None or partial):
        return
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.setdefault("settings", _("Must be an object."))
        return
    known = {s.key: s for s in SPECS[kind].settings}
    for key in raw:
        if key not in known:
            errors.setdefault(f"settings.{key}", _("Not a setting of this kind of connection."))
    saved = dict(saved or {})
    result = {k: v for k, v in saved.items() if k in known}
    for key, setting in known.items():
        if partial and key not in raw:
            continue
        error_key = f"settings.{key}"
        try:
            value = _setting_value(setting, raw.get(key), saved.get(key))
        except PydanticCustomError as refusal:
            errors.setdefault(error_key, str(refusal))
            continue
        if value is _KEEP:
            continue
        if value:
            result[key] = value
        else:
            result.pop(key, None)
    values["settings"] = result


_KEEP = object()


def _setting_value(setting, raw, saved):
    """One setting's clean value, ``_KEEP`` for "leave the saved one", "" for none."""
    value = clean_text(raw, SETTING_MAX_LENGTH)
    if (setting.secret or setting.generated) and saved and (value == "" or is_mask_of(value, saved)):
        return _KEEP
    if not value and setting.generated:
        return secrets.token_urlsafe(24)
    if setting.choices and value and value not in {choice for choice, _label in setting.choices}:
        raise refuse(_("Choose one of the options."))
    if not value:
        if setting.required:
            raise refuse(_("Required."))
        return ""
    return clean_url(value, required=setting.required) if setting.url else value


def _apply(connection: Connection, values: dict) -> None:
    for key in ("name", "kind", "flow", "greeting", "farewell", "rerun_bot_on_new_ticket", "enabled",
                "secret", "settings"):
        if key in values and values[key] is not None:
            setattr(connection, key, values[key])
    for key in ("bot_max_invalid", "bot_timeout_minutes"):
        if values.get(key) is not None:
            setattr(connection, key, values[key])
    if "chatbot_id" in values:
        connection.chatbot = values["chatbot_id"]
    if "sector_ids" in values:
        connection.sectors = values["sector_ids"]


def create_connection(actor: User, data) -> Connection:
    require_admin(actor)
    values = _read(data, partial=False, current=None)
    if not values.get("secret"):
        values["secret"] = secrets.token_urlsafe(32)
    connection = Connection()
    _apply(connection, values)
    db.session.add(connection)
    db.session.commit()
    return connection


def update_connection(actor: User, connection_id, data) -> Connection:
    connection = get_connection(actor, connection_id)
    values = _read(data, partial=True, current=connection)
    _apply(connection, values)
    db.session.commit()
    return connection


def rotate(actor: User, connection_id, field: str) -> Connection:
    """A new signing secret, URL token or verify token; the old one stops working at once."""
    connection = get_connection(actor, connection_id)
    generated = {s.key for s in connection.spec.generated_settings}
    if field not in ("secret", "token", *generated):
        message = _("Choose one of: %(options)s.", options=", ".join(("secret", "token", *sorted(generated))))
        raise InvalidInput(message, fields={"field": message})
    if field == "secret" and connection.spec.secret_from_provider:
        message = _("This secret comes from Meta: paste the new one in the form instead.")
        raise InvalidInput(message, fields={"field": message})
    if field == "secret":
        connection.secret = secrets.token_urlsafe(32)
    elif field == "token":
        connection.token = secrets.token_urlsafe(24)
    else:
        connection.settings = {**(connection.settings or {}), field: secrets.token_urlsafe(24)}
    db.session.commit()
    return connection


def reveal_secrets(actor: User, connection_id, password) -> dict:
    """The saved secrets in full, for the admin who types their own password again (a
    session left open on a shared screen does not show them)."""
    connection = get_connection(actor, connection_id)
    if not isinstance(password, str) or not password or not actor.check_password(password):
        message = _("Wrong password: nothing was revealed.")
        raise InvalidInput(message, fields={"password": message})
    stored = connection.settings or {}
    values = {"secret": connection.secret, **{key: stored.get(key, "") for key in connection.spec.secret_keys}}
    return {key: value for key, value in values.items() if value}


def delete_connection(actor: User, connection_id) -> None:
    """Only a connection that never carried a conversation; otherwise disable it."""
    connection = get_connection(actor, connection_id)
    tickets = db.session.scalar(select(func.count()).select_from(Ticket)
                                .where(Ticket.connection_id == connection.id))
    if not tickets and db.session.scalar(
            select(func.count()).select_from(Message).where(Message.connection_id == connection.id)):
        tickets = 1  # its messages belong to tickets moved to another connection
    if tickets:
        raise Conflict(ngettext(
            "%(name)s has %(num)d ticket in its history. Disable it instead of deleting it.",
            "%(name)s has %(num)d tickets in its history. Disable it instead of deleting it.",
            tickets, name=connection.name,
        ), tickets=tickets)
    db.session.delete(connection)
    db.session.commit()


def connection_json(connection: Connection, *, reveal: bool = False) -> dict:
    """Secrets come out in full only right after they were made (create, rotate)."""
    hide = (lambda value: value or "") if reveal else mask
    stored = connection.settings or {}
    settings = {s.key: (hide(stored.get(s.key)) if s.secret else stored.get(s.key) or "")
                for s in connection.spec.settings}
    return {
        "id": connection.id, "name": connection.name, "kind": connection.kind, "flow": connection.flow,
        "greeting": connection.greeting or "", "farewell": connection.farewell or "",
        "sector_ids": [s.id for s in connection.sectors],
        "rerun_bot_on_new_ticket": bool(connection.rerun_bot_on_new_ticket), "enabled": bool(connection.enabled),
        "chatbot_id": connection.chatbot_id, "bot_max_invalid": connection.bot_max_invalid,
        "bot_timeout_minutes": connection.bot_timeout_minutes,
        "secret": hide(connection.secret), "settings": settings, "token": connection.token,
        "webhook_url": webhook_url(connection), "created_at": iso(connection.created_at),
    }
