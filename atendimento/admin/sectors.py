"""Sectors: who sees which tickets, and what the menu offers (SPEC §2, §4).

Everything about the resource in one place: its declaration (``SectorCreate``), its
rules, its admin pages and its API routes (``api/crud.py`` builds the five)."""
from __future__ import annotations

from functools import partial

from flask import render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import func, select

from ..api import shapes
from ..api.crud import Resource, register
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..ids import parse_id
from ..models import Sector, Ticket, User
from ..schema import Color, Integer, Rows, Schema, Text
from ..tickets.service import move_sector_tickets
from . import bp
from .base import (admin_required, commit_or_conflict, delete_page, form_page, form_values, get_row, render_form,
                   require_admin, value_taken)


class SectorCreate(Schema):
    name: Text(Sector.name, required=True)
    color: Color = "#2f80ed"
    greeting: Text(2000) = ""
    position: Integer(0, 999, description="Its number in the menu.") = None
    user_ids: Rows(User, lambda: _("Unknown user."), description="Members.") = []


class SectorDelete(Schema):
    move_to: Integer(1, 2**31 - 1, description="Move the sector's tickets here first.") = None


# -- rules -------------------------------------------------------------------

def list_sectors(actor: User | None = None) -> list[Sector]:
    return list(db.session.scalars(select(Sector).order_by(Sector.position, Sector.name)))


def get_sector(actor: User, sector_id) -> Sector:
    require_admin(actor)
    return get_row(Sector, sector_id, _("Sector not found."))


def _name_taken(name: str, sector_id=None) -> Conflict | None:
    return value_taken(Sector.name, name, sector_id, _("A sector named %(name)s already exists.", name=name))


def _apply(sector: Sector, values: dict) -> None:
    for key in ("name", "color", "greeting", "position"):
        if key in values:
            setattr(sector, key, values[key])
    if "user_ids" in values:
        sector.users = values["user_ids"]


def create_sector(actor: User, data) -> Sector:
    require_admin(actor)
    values = SectorCreate.read(data)
    if conflict := _name_taken(values["name"]):
        raise conflict
    if values.get("position") is None:  # next number in the menu
        values["position"] = (db.session.scalar(select(func.max(Sector.position))) or 0) + 1
    sector = Sector()
    _apply(sector, values)
    db.session.add(sector)
    commit_or_conflict(lambda: _name_taken(values["name"]))
    return sector


def update_sector(actor: User, sector_id, data) -> Sector:
    sector = get_sector(actor, sector_id)
    values = SectorCreate.read(data, partial=True)
    if "name" in values and (conflict := _name_taken(values["name"], sector.id)):
        raise conflict
    with db.session.no_autoflush:  # a duplicate surfaces at the commit, where it is caught
        _apply(sector, values)
    commit_or_conflict(lambda: Conflict(_("A sector with this name already exists.")))
    return sector


def sector_ticket_count(sector: Sector) -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.sector_id == sector.id))


def delete_sector(actor: User, sector_id, move_to=None) -> None:
    """Refused while tickets are in it, unless they are moved to ``move_to`` first."""
    sector = get_sector(actor, sector_id)
    target = None
    if move_to not in (None, ""):
        target = db.session.get(Sector, parse_id(move_to)) if parse_id(move_to) else None
        if target is None or target.id == sector.id:
            message = _("Choose another existing sector.")
            raise InvalidInput(message, fields={"move_to": message})
    count = sector_ticket_count(sector)
    if count and target is not None:
        move_sector_tickets(actor, sector.id, target.id)
        count = sector_ticket_count(sector)  # a ticket may have arrived meanwhile
    if count:
        raise Conflict(ngettext(
            "%(name)s still has %(num)d ticket. Choose a sector to move it to.",
            "%(name)s still has %(num)d tickets. Choose a sector to move them to.",
            count, name=sector.name,
        ), tickets=count)
    db.session.delete(sector)
    db.session.commit()


def sector_json(sector: Sector) -> dict:
    return {"id": sector.id, "name": sector.name, "color": sector.color, "greeting": sector.greeting or "",
            "position": sector.position, "user_ids": [u.id for u in sector.users]}


register(Resource(
    "sector", "sectors", "Sectors", SectorCreate, shapes.Sector, guard=admin_required, list=list_sectors,
    get=get_sector, create=create_sector, update=update_sector, delete=delete_sector, to_json=sector_json,
    delete_query=SectorDelete))


# -- pages -------------------------------------------------------------------

def _posted() -> dict:
    form = request.form
    return {"name": form.get("name", ""), "color": form.get("color", ""), "greeting": form.get("greeting", ""),
            "position": form.get("position") or None, "user_ids": form.getlist("user_ids")}


def _values(sector) -> dict:
    if sector is None:
        return {"name": "", "color": "#2f80ed", "greeting": "", "position": "", "user_ids": []}
    return {"name": sector.name, "color": sector.color, "greeting": sector.greeting or "",
            "position": sector.position, "user_ids": [str(u.id) for u in sector.users]}


@bp.route("/sectors")
def sectors():
    rows = list_sectors()
    return render_template("admin/sectors.html", section="sectors", sectors=rows,
                           ticket_counts={s.id: sector_ticket_count(s) for s in rows})


def _form(sector, values=None, error=None):
    from .users import list_users

    ticket_count = sector_ticket_count(sector) if sector is not None else 0
    return render_form(
        "admin/sector_form.html", error=error, schema=SectorCreate, section="sectors", sector=sector,
        values=values if values is not None else _values(sector), users=list_users(),
        others=[s for s in list_sectors() if sector is None or s.id != sector.id], ticket_count=ticket_count)


def _typed() -> dict:
    return form_values(lists=("user_ids",))


@bp.route("/sectors/new", methods=["GET", "POST"])
def new_sector():
    return form_page(partial(_form, None), lambda: create_sector(current_user, _posted()),
                     lambda sector: _("Sector %(name)s created.", name=sector.name), url_for(".sectors"), _typed)


@bp.route("/sectors/<int:sector_id>", methods=["GET", "POST"])
def edit_sector(sector_id):
    sector = get_sector(current_user, sector_id)
    return form_page(partial(_form, sector), lambda: update_sector(current_user, sector.id, _posted()),
                     lambda sector: _("Sector %(name)s saved.", name=sector.name), url_for(".sectors"), _typed)


@bp.route("/sectors/<int:sector_id>/delete", methods=["POST"], endpoint="delete_sector")
def delete_sector_page(sector_id):
    sector = get_sector(current_user, sector_id)
    return delete_page(lambda: delete_sector(current_user, sector.id, move_to=request.form.get("move_to")),
                       _("Sector %(name)s deleted.", name=sector.name), url_for(".sectors"),
                       url_for(".edit_sector", sector_id=sector.id, _anchor="delete"))
