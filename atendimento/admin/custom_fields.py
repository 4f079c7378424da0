"""Custom fields of contacts (issue 13, part 2): admins define them (name, type, the
choices of a choice field); the side panel and ``PATCH /contacts/<id>`` fill them in,
checked by type in ``contacts/data.py``.

The declaration (``CustomFieldCreate``), the rules, the admin pages and the API routes."""
from __future__ import annotations

import re
import unicodedata
from functools import partial
from typing import Annotated, Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BeforeValidator, WithJsonSchema
from sqlalchemy import func, select

from ..api import shapes
from ..api.crud import Resource, register
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..models import CUSTOM_FIELD_KINDS, CustomField, User
from ..schema import Choice, Integer, Schema, Text, clean_text, refuse
from . import bp
from .base import (admin_required, commit_or_conflict, delete_page, form_page, get_row, render_form, require_admin,
                   value_taken)

MAX_CHOICES = 50
CHOICE_LENGTH = 60


def _choices(raw) -> list[str]:
    """A list of texts, or (a form's textarea) one per line; blanks dropped, no repeats."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.splitlines()
    if not isinstance(raw, list):
        raise refuse(_("Must be a list of texts."))
    seen: list[str] = []
    for item in raw:
        value = clean_text(item, CHOICE_LENGTH)
        if value and value not in seen:
            seen.append(value)
    if len(seen) > MAX_CHOICES:
        raise refuse(_("At most %(n)s choices.", n=MAX_CHOICES))
    return seen


Choices = Annotated[Any, WithJsonSchema({"type": "array", "maxItems": MAX_CHOICES,
                                         "items": {"type": "string", "maxLength": CHOICE_LENGTH}}),
                    BeforeValidator(_choices)]


class CustomFieldCreate(Schema):
    name: Text(CustomField.name, required=True)
    kind: Choice(CUSTOM_FIELD_KINDS, description="Fixed once created.") = "text"
    choices: Choices = []
    position: Integer(0, 999, description="Its place in the side panel.") = None


# -- rules -------------------------------------------------------------------

def list_custom_fields(actor: User | None = None) -> list[CustomField]:
    return list(db.session.scalars(select(CustomField).order_by(CustomField.position, CustomField.name)))


def get_custom_field(actor: User, field_id) -> CustomField:
    require_admin(actor)
    return get_row(CustomField, field_id, _("Custom field not found."))


def _name_taken(name: str, field_id=None) -> Conflict | None:
    return value_taken(CustomField.name, name, field_id, _("A field named %(name)s already exists.", name=name))


def key_for(name: str) -> str:
    """``Data de nascimento`` → ``data_de_nascimento``: what the API's ``custom_fields`` say."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:36] or "campo"
    taken = set(db.session.scalars(select(CustomField.key).where(CustomField.key.like(base + "%"))))
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _check_choices(kind: str, choices: list) -> None:
    if kind == "choice" and not choices:
        message = _("A choice field needs at least one choice.")
        raise InvalidInput(message, fields={"choices": message})


def create_custom_field(actor: User, data) -> CustomField:
    require_admin(actor)
    values = CustomFieldCreate.read(data)
    if conflict := _name_taken(values["name"]):
        raise conflict
    _check_choices(values["kind"], values["choices"])
    if values.get("position") is None:
        values["position"] = (db.session.scalar(select(func.max(CustomField.position))) or 0) + 1
    field = CustomField(key=key_for(values["name"]), name=values["name"], kind=values["kind"],
                        choices=values["choices"] if values["kind"] == "choice" else [], position=values["position"])
    db.session.add(field)
    commit_or_conflict(lambda: _name_taken(values["name"]))
    return field


def update_custom_field(actor: User, field_id, data) -> CustomField:
    """Name, choices and place change; the type does not (stored values were checked against it)."""
    field = get_custom_field(actor, field_id)
    values = CustomFieldCreate.read(data, partial=True)
    if values.get("kind") not in (None, field.kind):
        message = _("The type of a field cannot change; create another field.")
        raise InvalidInput(message, fields={"kind": message})
    if values.get("name") and (conflict := _name_taken(values["name"], field.id)):
        raise conflict
    if "choices" in values and field.kind == "choice":
        _check_choices(field.kind, values["choices"] or [])
        field.choices = values["choices"]
    for key in ("name", "position"):
        if values.get(key) is not None:
            setattr(field, key, values[key])
    commit_or_conflict(lambda: _name_taken(field.name, field.id))
    return field


def delete_custom_field(actor: User, field_id) -> None:
    """The field goes; what contacts had in it stays stored, no longer shown nor editable."""
    db.session.delete(get_custom_field(actor, field_id))
    db.session.commit()


def custom_field_json(field: CustomField) -> dict:
    return {"id": field.id, "key": field.key, "name": field.name, "kind": field.kind,
            "choices": list(field.choices or []), "position": field.position}


register(Resource(
    "custom field", "custom-fields", "Custom fields", CustomFieldCreate, shapes.CustomField, guard=admin_required,
    list=list_custom_fields, get=get_custom_field, create=create_custom_field, update=update_custom_field,
    delete=delete_custom_field, to_json=custom_field_json))


# -- pages -------------------------------------------------------------------

def _posted() -> dict:
    return {key: request.form.get(key, "") for key in ("name", "kind", "choices", "position")}


def _form(field, values=None, error=None):
    if values is None:
        values = {"name": field.name, "kind": field.kind, "choices": "\n".join(field.choices or []),
                  "position": field.position} if field else {"name": "", "kind": "text", "choices": "", "position": ""}
    kinds = [(kind, kind_label(kind)) for kind in CUSTOM_FIELD_KINDS]
    return render_form("admin/custom_field_form.html", error=error, schema=CustomFieldCreate, section="custom_fields",
                       field=field, values=values, kinds=kinds)


def kind_label(kind: str) -> str:
    return {"text": _("Text"), "number": _("Number"), "date": _("Date"), "choice": _("Choice")}.get(kind, kind)


@bp.route("/custom-fields")
def custom_fields():
    return render_template("admin/custom_fields.html", section="custom_fields", fields=list_custom_fields(),
                           kind_label=kind_label)


@bp.route("/custom-fields/new", methods=["GET", "POST"])
def new_custom_field():
    return form_page(partial(_form, None), lambda: create_custom_field(current_user, _posted()),
                     lambda field: _("Field %(name)s created.", name=field.name), url_for(".custom_fields"))


@bp.route("/custom-fields/<int:field_id>", methods=["GET", "POST"])
def edit_custom_field(field_id):
    field = get_custom_field(current_user, field_id)
    return form_page(partial(_form, field), lambda: update_custom_field(current_user, field.id, _posted()),
                     lambda field: _("Field %(name)s saved.", name=field.name), url_for(".custom_fields"))


@bp.route("/custom-fields/<int:field_id>/delete", methods=["POST"], endpoint="delete_custom_field")
def delete_custom_field_page(field_id):
    field = get_custom_field(current_user, field_id)
    return delete_page(lambda: delete_custom_field(current_user, field.id),
                       _("Field %(name)s deleted.", name=field.name), url_for(".custom_fields"),
                       url_for(".edit_custom_field", field_id=field.id))
