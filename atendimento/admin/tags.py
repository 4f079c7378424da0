"""Tags: labels on contacts, which lists can be filtered by (SPEC §2).

The declaration (``TagCreate``), the rules, the admin pages and the API routes."""
from __future__ import annotations

from functools import partial

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..api import shapes
from ..api.crud import Resource, register
from ..errors import Conflict
from ..extensions import db
from ..models import Tag, User
from ..schema import Color, Schema, Text
from . import bp
from .base import (admin_required, commit_or_conflict, delete_page, form_page, get_row, render_form, require_admin,
                   value_taken)


class TagCreate(Schema):
    name: Text(Tag.name, required=True)
    color: Color = "#7f8c8d"


def list_tags(actor: User | None = None) -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


def get_tag(actor: User, tag_id) -> Tag:
    require_admin(actor)
    return get_row(Tag, tag_id, _("Tag not found."))


def _name_taken(name: str, tag_id=None) -> Conflict | None:
    return value_taken(Tag.name, name, tag_id, _("A tag named %(name)s already exists.", name=name))


def create_tag(actor: User, data) -> Tag:
    require_admin(actor)
    values = TagCreate.read(data)
    if conflict := _name_taken(values["name"]):
        raise conflict
    tag = Tag(**values)
    db.session.add(tag)
    commit_or_conflict(lambda: _name_taken(values["name"]))
    return tag


def update_tag(actor: User, tag_id, data) -> Tag:
    tag = get_tag(actor, tag_id)
    values = TagCreate.read(data, partial=True)
    if "name" in values and (conflict := _name_taken(values["name"], tag.id)):
        raise conflict
    for key, value in values.items():
        setattr(tag, key, value)
    commit_or_conflict(lambda: Conflict(_("A tag with this name already exists.")))
    return tag


def delete_tag(actor: User, tag_id) -> None:
    """Contacts simply lose the tag."""
    db.session.delete(get_tag(actor, tag_id))
    db.session.commit()


def tag_json(tag: Tag) -> dict:
    return {"id": tag.id, "name": tag.name, "color": tag.color}


register(Resource(
    "tag", "tags", "Tags", TagCreate, shapes.Tag, guard=admin_required, list=list_tags, get=get_tag,
    create=create_tag, update=update_tag, delete=delete_tag, to_json=tag_json))


# -- pages -------------------------------------------------------------------

def _posted() -> dict:
    return {"name": request.form.get("name", ""), "color": request.form.get("color", "")}


def _form(tag, values=None, error=None):
    values = values if values is not None else {"name": tag.name if tag else "", "color": tag.color if tag else "#7f8c8d"}
    return render_form("admin/tag_form.html", error=error, schema=TagCreate, section="tags", tag=tag, values=values)


@bp.route("/tags")
def tags():
    return render_template("admin/tags.html", section="tags", tags=list_tags())


@bp.route("/tags/new", methods=["GET", "POST"])
def new_tag():
    return form_page(partial(_form, None), lambda: create_tag(current_user, _posted()),
                     lambda tag: _("Tag %(name)s created.", name=tag.name), url_for(".tags"))


@bp.route("/tags/<int:tag_id>", methods=["GET", "POST"])
def edit_tag(tag_id):
    tag = get_tag(current_user, tag_id)
    return form_page(partial(_form, tag), lambda: update_tag(current_user, tag.id, _posted()),
                     lambda tag: _("Tag %(name)s saved.", name=tag.name), url_for(".tags"))


@bp.route("/tags/<int:tag_id>/delete", methods=["POST"], endpoint="delete_tag")
def delete_tag_page(tag_id):
    tag = get_tag(current_user, tag_id)
    return delete_page(lambda: delete_tag(current_user, tag.id), _("Tag %(name)s deleted.", name=tag.name),
                       url_for(".tags"), url_for(".edit_tag", tag_id=tag.id))
