"""The admin rules for connections (channels): the kind's own settings, secrets that
are masked once saved and can be rotated, and the webhook URL a provider is given.
"""
from __future__ import annotations

import secrets

from flask import has_request_context, request
from flask_babel import gettext as _, ngettext
from sqlalchemy import func, select

from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models import CONNECTION_KINDS, FLOWS, Chatbot, Connection, Message, Sector, Ticket, User
from .connection_kinds import SECRET_FROM_PROVIDER, SETTINGS, is_mask_of
from .fields import Fields, as_int
from .service import require_admin

ROTATABLE = ("secret", "token", "verify_token")


def list_connections() -> list[Connection]:
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


def _read(data, *, partial: bool, current: Connection | None) -> dict:
    fields = Fields(data, partial=partial)
    fields.text("name", max_length=80, required=True)
    fields.choice("kind", CONNECTION_KINDS)
    fields.choice("flow", FLOWS, default="human")
    fields.text("greeting", max_length=2000)
    fields.text("farewell", max_length=2000)
    fields.ids("sector_ids", Sector, unknown_message=_("Unknown sector."))
    fields.boolean("rerun_bot_on_new_ticket", default=True)
    fields.boolean("enabled", default=True)
    fields.text("secret", max_length=128)
    _read_bot(fields, current)
    values = fields.values
    kind = current.kind if current is not None else values.get("kind")
    if current is not None and values.get("kind", kind) != kind:
        fields.errors.setdefault("kind", _("The kind of a connection cannot change; create a new connection."))
    if current is not None and is_mask_of(values.get("secret"), current.secret):
        values.pop("secret")
    if current is not None and values.get("secret") == "":
        values.pop("secret")  # blank on edit keeps the saved secret
    if kind == "whatsapp_cloud" and current is None and not values.get("secret"):
        fields.errors.setdefault("secret", _("Required: the app secret from Meta's app settings."))
    if kind in SETTINGS:
        _read_settings(fields, kind, data.get("settings") if isinstance(data, dict) else None,
                       current.settings if current is not None else None)
    return fields.check()


def _read_bot(fields: Fields, current: Connection | None) -> None:
    """The menu's and chatbot's knobs; the chatbot flow needs a chatbot to run."""
    fields.row("chatbot_id", Chatbot, unknown_message=_("Unknown chatbot."))
    fields.integer("bot_max_invalid", minimum=1, maximum=10, default=3)
    fields.integer("bot_timeout_minutes", minimum=0, maximum=1440, default=30)
    values = fields.values
    flow = values.get("flow", current.flow if current is not None else None)
    chatbot = values["chatbot_id"] if "chatbot_id" in values else (current.chatbot if current is not None else None)
    if flow == "chatbot" and chatbot is None and "chatbot_id" not in fields.errors:
        fields.errors["chatbot_id"] = _("Choose the chatbot that answers new conversations.")


def _read_settings(fields: Fields, kind: str, raw, saved: dict | None) -> None:
    """The kind's own keys; on edit a blank or masked secret keeps what was saved."""
    if raw is None and (saved is not None or fields.partial):
        return
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        fields.errors.setdefault("settings", _("Must be an object."))
        return
    known = {s.key: s for s in SETTINGS[kind]}
    for key in raw:
        if key not in known:
            fields.errors.setdefault(f"settings.{key}", _("Not a setting of this kind of connection."))
    saved = dict(saved or {})
    result = {k: v for k, v in saved.items() if k in known}
    for key, setting in known.items():
        if fields.partial and key not in raw:
            continue
        value = raw.get(key)
        value = "" if value is None else value
        error_key = f"settings.{key}"
        if not isinstance(value, str):
            fields.errors.setdefault(error_key, _("Must be text."))
            continue
        value = value.strip()
        keep = saved.get(key) and (value == "" or is_mask_of(value, saved.get(key)))
        if (setting.secret or setting.generated) and keep:
            continue
        if not value and setting.generated:
            value = secrets.token_urlsafe(24)
        if not value:
            if setting.required:
                fields.errors.setdefault(error_key, _("Required."))
            result.pop(key, None)
            continue
        if len(value) > 500:
            fields.errors.setdefault(error_key, _("At most %(n)s characters.", n=500))
            continue
        if "\x00" in value:
            fields.errors.setdefault(error_key, _("Contains characters that are not allowed."))
            continue
        if setting.url:
            sub = Fields({key: value})
            sub.url(key, required=setting.required)
            if key in sub.errors:
                fields.errors.setdefault(error_key, sub.errors[key])
                continue
            value = sub.values[key]
        result[key] = value
    fields.values["settings"] = result


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
    if field not in ROTATABLE or (field == "verify_token" and connection.kind != "whatsapp_cloud"):
        message = _("Choose one of: %(options)s.", options=", ".join(ROTATABLE))
        raise InvalidInput(message, fields={"field": message})
    if field == "secret" and connection.kind in SECRET_FROM_PROVIDER:
        message = _("This secret comes from Meta: paste the new one in the form instead.")
        raise InvalidInput(message, fields={"field": message})
    if field == "secret":
        connection.secret = secrets.token_urlsafe(32)
    elif field == "token":
        connection.token = secrets.token_urlsafe(24)
    else:
        connection.settings = {**(connection.settings or {}), "verify_token": secrets.token_urlsafe(24)}
    db.session.commit()
    return connection


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
