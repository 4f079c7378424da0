"""Between HTML forms and the service: a posted form becomes the dict the API would
send (checkboxes absent mean False, blanks mean "default" or "keep"), and a saved
row becomes the values a form shows. No rule is decided here."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..errors import Conflict, InvalidInput
from .connection_kinds import SETTINGS


def posted() -> MultiDict:
    return request.form


def render_form(template: str, *, error: InvalidInput | Conflict | None = None, **context):
    """The page with the service's per-field messages; 422/409 when it refused the form."""
    context.setdefault("errors", error.fields if error else {})
    context.setdefault("form_message", error.message if error else None)
    return render_template(template, **context), (error.status if error else 200)


# -- sectors -----------------------------------------------------------------

def sector_data(form: MultiDict) -> dict:
    return {"name": form.get("name", ""), "color": form.get("color", ""), "greeting": form.get("greeting", ""),
            "position": form.get("position") or None, "user_ids": form.getlist("user_ids")}


def sector_values(sector) -> dict:
    if sector is None:
        return {"name": "", "color": "#2f80ed", "greeting": "", "position": "", "user_ids": []}
    return {"name": sector.name, "color": sector.color, "greeting": sector.greeting or "",
            "position": sector.position, "user_ids": [str(u.id) for u in sector.users]}


# -- users -------------------------------------------------------------------

def user_data(form: MultiDict) -> dict:
    return {"name": form.get("name", ""), "email": form.get("email", ""), "profile": form.get("profile", ""),
            "sector_ids": form.getlist("sector_ids"), "active": "active" in form,
            "password": form.get("password", ""), "language": form.get("language") or None,
            "timezone": form.get("timezone") or None}


def user_values(user) -> dict:
    if user is None:
        return {"name": "", "email": "", "profile": "user", "sector_ids": [], "active": True, "language": "",
                "timezone": ""}
    return {"name": user.name, "email": user.email, "profile": user.profile,
            "sector_ids": [str(s.id) for s in user.sectors], "active": user.active,
            "language": user.language or "", "timezone": user.timezone or ""}


def form_values(form: MultiDict, lists=()) -> dict:
    """What the admin typed, to show it again next to the messages."""
    values = {key: form.get(key) for key in form}
    for key in lists:
        values[key] = form.getlist(key)
    return values


# -- connections -------------------------------------------------------------

CONNECTION_FLAGS = ("rerun_bot_on_new_ticket", "enabled")


def connection_data(form: MultiDict, kind: str) -> dict:
    data = {key: form.get(key, "") for key in ("name", "flow", "greeting", "farewell", "secret")}
    data.update({key: form.get(key) or None for key in ("chatbot_id", "bot_max_invalid", "bot_timeout_minutes")})
    data.update({flag: flag in form for flag in CONNECTION_FLAGS})
    data["kind"] = kind
    data["sector_ids"] = form.getlist("sector_ids")
    data["settings"] = {s.key: form.get(f"settings.{s.key}", "") for s in SETTINGS.get(kind, ())}
    return data


def connection_values(connection, kind: str) -> dict:
    """Secrets are never put back in a form: blank means "keep"."""
    if connection is None:
        values = {"name": "", "flow": "human", "greeting": "", "farewell": "", "secret": "",
                  "rerun_bot_on_new_ticket": True, "enabled": True, "sector_ids": [], "chatbot_id": "",
                  "bot_max_invalid": 3, "bot_timeout_minutes": 30}
        values.update({f"settings.{s.key}": "" for s in SETTINGS.get(kind, ())})
        return values
    stored = connection.settings or {}
    values = {"name": connection.name, "flow": connection.flow, "greeting": connection.greeting or "",
              "farewell": connection.farewell or "", "secret": "",
              "rerun_bot_on_new_ticket": connection.rerun_bot_on_new_ticket, "enabled": connection.enabled,
              "sector_ids": [str(s.id) for s in connection.sectors], "chatbot_id": connection.chatbot_id or "",
              "bot_max_invalid": connection.bot_max_invalid, "bot_timeout_minutes": connection.bot_timeout_minutes}
    values.update({f"settings.{s.key}": "" if s.secret else stored.get(s.key, "")
                   for s in SETTINGS.get(kind, ())})
    return values


def connection_form_values(form: MultiDict) -> dict:
    values = form_values(form, lists=("sector_ids",))
    values.update({flag: flag in form for flag in CONNECTION_FLAGS})
    values["secret"] = ""  # a typed secret is not echoed back into the page
    for key in list(values):
        if key.startswith("settings.") and key.split(".", 1)[1] in _SECRET_KEYS:
            values[key] = ""
    return values


_SECRET_KEYS = {s.key for settings in SETTINGS.values() for s in settings if s.secret}


# -- tags and quick replies --------------------------------------------------

def tag_data(form: MultiDict) -> dict:
    return {"name": form.get("name", ""), "color": form.get("color", "")}


def quick_reply_data(form: MultiDict) -> dict:
    return {"shortcut": form.get("shortcut", ""), "text": form.get("text", ""),
            "global": form.get("scope") == "global"}


def quick_reply_values(reply, default_scope="personal") -> dict:
    if reply is None:
        return {"shortcut": "", "text": "", "scope": default_scope}
    return {"shortcut": reply.shortcut, "text": reply.text, "scope": "global" if reply.user_id is None else "personal"}


# -- chatbots ----------------------------------------------------------------

def node_data(form: MultiDict) -> dict:
    return {"name": form.get("name", ""), "message": form.get("message", "")}


def node_values(node) -> dict:
    if node is None:
        return {"name": "", "message": ""}
    return {"name": node.name, "message": node.message or ""}


def option_data(form: MultiDict) -> dict:
    """The page's one "leads to" select (``node:12``, ``sector:3``, ``human``, ``close``)
    becomes the API's action and target ids."""
    action, _sep, ident = form.get("destination", "").partition(":")
    return {"title": form.get("title", ""), "keyword": form.get("keyword", ""), "reply": form.get("reply", ""),
            "action": action, "target_node_id": ident if action == "node" else None,
            "target_sector_id": ident if action == "sector" else None}


def option_values(option, form: MultiDict | None = None) -> dict:
    if form is not None:
        return {key: form.get(key, "") for key in ("title", "keyword", "reply", "destination")}
    if option is None:
        return {"title": "", "keyword": "", "reply": "", "destination": ""}
    target = {"node": option.target_node_id, "sector": option.target_sector_id}.get(option.action)
    if option.action in ("node", "sector"):  # a deleted target leads to the attendants
        destination = f"{option.action}:{target}" if target else "human"
    else:
        destination = option.action
    return {"title": option.title, "keyword": option.keyword or "", "reply": option.reply or "",
            "destination": destination}


def option_errors(error: InvalidInput | Conflict | None) -> dict:
    """The service's messages about the action and its target belong beside the one select."""
    errors = dict(error.fields) if error else {}
    if "action" in errors:
        errors["destination"] = _("Choose where this option leads.")
    for key in ("target_node_id", "target_sector_id"):
        if key in errors:
            errors.setdefault("destination", errors[key])
    return errors
