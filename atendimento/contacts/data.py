"""A contact's own data (issue 13, part 2): name, e-mail and the custom fields admins
defined, each value checked by its field's type. Phone and channel identities come from
the channels and are not edited here. Also the contact lists of the API: search by
name, phone or e-mail, and a contact's tickets."""
from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Any

from flask_babel import gettext as _
from pydantic import Field, WithJsonSchema
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..errors import InvalidInput
from ..extensions import db
from ..models import Contact, CustomField, Ticket, User
from ..schema import Schema, Text, clean_text, normalize_email
from ..tickets.visibility import as_id, get_visible_contact, ticket_visible_clause, visible_tickets
from .tags import editable_contact

TEXT_VALUE_LENGTH = 500
NUMBER = re.compile(r"\s*-?\d{1,15}([.,]\d{1,6})?\s*")
CONTACT_PAGE = 50


def defined_fields() -> list[CustomField]:
    return list(db.session.scalars(select(CustomField).order_by(CustomField.position, CustomField.name)))


def clean_value(field: CustomField, raw):
    """The stored form of ``raw`` for ``field``, None to clear it; ValueError says why not."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if field.kind == "text":
        if not isinstance(raw, str):
            raise ValueError(_("Must be text."))
        value = raw.strip()
        if "\x00" in value or len(value) > TEXT_VALUE_LENGTH:
            raise ValueError(_("At most %(n)s characters.", n=TEXT_VALUE_LENGTH))
        return value
    if field.kind == "number":
        if isinstance(raw, str) and NUMBER.fullmatch(raw):  # what a form posts; a comma is a decimal point
            raw = float(raw.strip().replace(",", ".")) if re.search(r"[.,]", raw) else int(raw)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or abs(raw) >= 1e15:
            raise ValueError(_("Must be a number."))
        return int(raw) if isinstance(raw, float) and raw.is_integer() else raw
    if field.kind == "date":
        try:
            if not isinstance(raw, str):
                raise ValueError
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            raise ValueError(_("Must be a date as YYYY-MM-DD.")) from None
    if raw not in (field.choices or []):  # choice
        raise ValueError(_("Choose one of: %(options)s.", options=", ".join(field.choices or [])))
    return raw


def clean_custom_fields(raw, fields: list[CustomField]) -> tuple[dict, dict]:
    """``{key: value or None}`` for the keys given, and ``{"custom_fields.key": message}``."""
    if not isinstance(raw, dict):
        return {}, {"custom_fields": _("Must be an object of field keys and values.")}
    by_key = {f.key: f for f in fields}
    values, errors = {}, {}
    for key, value in raw.items():
        field = by_key.get(key)
        if field is None:
            errors[f"custom_fields.{key}"] = _("Unknown field.")
            continue
        try:
            values[key] = clean_value(field, value)
        except ValueError as error:
            errors[f"custom_fields.{key}"] = str(error)
    return values, errors


def update_contact(actor: User, contact_id, data) -> Contact:
    """Change the fields given; any bad one refuses all, with a message per field, and
    nothing stored changes."""
    contact = editable_contact(actor, contact_id)
    if not isinstance(data, dict):
        raise InvalidInput(_("The body must be a JSON object."))
    changes, errors = {}, {}
    if "name" in data:
        try:
            changes["name"] = clean_text(data["name"], Contact.name.property.columns[0].type.length)
        except ValueError as error:
            errors["name"] = _message(error)
    if "email" in data:
        if data["email"] is None or (isinstance(data["email"], str) and not data["email"].strip()):
            changes["email"] = None
        else:
            try:
                changes["email"] = normalize_email(data["email"])
            except ValueError as error:
                errors["email"] = _message(error)
    if "custom_fields" in data:
        values, field_errors = clean_custom_fields(data["custom_fields"], defined_fields())
        errors.update(field_errors)
        merged = {**(contact.custom_fields or {}), **values}
        changes["custom_fields"] = {k: v for k, v in merged.items() if v is not None}
    if errors:
        raise InvalidInput(_("Please correct the highlighted fields."), fields=errors)
    for key, value in changes.items():
        setattr(contact, key, value)
    db.session.commit()
    return contact


def _message(error: ValueError) -> str:
    """The text of a schema refusal (``schema.refuse``: a pydantic custom error) or a ValueError."""
    return error.message() if isinstance(error, PydanticCustomError) else str(error)


# -- reading -------------------------------------------------------------------------------

def visible_contacts(user: User):
    query = select(Contact)
    if not user.is_admin:
        query = query.where(select(Ticket.id).where(Ticket.contact_id == Contact.id, ticket_visible_clause(user))
                            .exists())
    return query


def search_contacts(user: User, q=None, *, before=None, limit=CONTACT_PAGE) -> tuple[list[Contact], str | None]:
    """Visible contacts whose name, phone or e-mail contains ``q``, newest first; keyset on id."""
    query = visible_contacts(user).options(selectinload(Contact.tags), selectinload(Contact.identities))
    text = (q or "").strip()[:100]
    if text:  # the lists' contact search, answered by its index (pg_trgm / FTS5 trigram)
        from ..tickets.search import contact_filter

        query = query.where(contact_filter(text, Contact.id))
    if before not in (None, ""):
        query = query.where(Contact.id < _cursor(before))
    rows = list(db.session.scalars(query.order_by(Contact.id.desc()).limit(limit + 1)))
    return rows[:limit], (str(rows[limit - 1].id) if len(rows) > limit else None)


def contact_tickets(user: User, contact_id, *, before=None, limit=CONTACT_PAGE) -> tuple[list[Ticket], str | None]:
    """The contact's tickets ``user`` may see, newest first (404 for a hidden contact)."""
    contact = get_visible_contact(user, contact_id)
    query = visible_tickets(user).where(Ticket.contact_id == contact.id).options(
        joinedload(Ticket.contact), joinedload(Ticket.sector), joinedload(Ticket.user))
    if before not in (None, ""):
        query = query.where(Ticket.id < _cursor(before))
    rows = list(db.session.scalars(query.order_by(Ticket.id.desc()).limit(limit + 1)).unique())
    return rows[:limit], (str(rows[limit - 1].id) if len(rows) > limit else None)


def _cursor(value) -> int:
    try:
        return as_id(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("Invalid cursor."), fields={"page": _("Invalid cursor.")}) from None


# -- what the API reads, for its document (the rules above check it) ------------------------

class ContactPatch(Schema):
    name: Text(Contact.name) = None
    email: Annotated[Any, WithJsonSchema({"type": ["string", "null"], "format": "email"})] = None
    custom_fields: Annotated[Any, WithJsonSchema({
        "type": "object", "description": "By field key; null clears one. Numbers, dates as YYYY-MM-DD, "
                                         "a choice field's values, texts."})] = None


class ContactQuery(Schema):
    q: Annotated[Any, WithJsonSchema({"type": "string", "maxLength": 100})] = Field(
        None, description="Name, phone or e-mail contains.")
    page: Annotated[Any, WithJsonSchema({"type": "string"})] = Field(
        None, description="The `next` cursor of the previous page.")


class PageQuery(Schema):
    page: Annotated[Any, WithJsonSchema({"type": "string"})] = Field(
        None, description="The `next` cursor of the previous page.")
