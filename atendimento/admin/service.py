"""The admin rules for sectors, users, tags and quick replies, used by the pages
and by the JSON API alike. Connections live in ``connections.py`` beside this.

Every function takes the acting user and a plain dict (a JSON body, or a form the
page turned into one), validates it against the resource's declaration (``schema.py``
types) and raises domain errors:
``InvalidInput`` (422, per-field messages), ``Conflict`` (409, duplicates and
refusals) and ``NotFound`` (404, also what a non-admin gets).
"""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from pydantic import Field, model_validator
from sqlalchemy import func, literal, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..ids import parse_id as as_int
from ..models import PROFILES, QuickReply, Sector, Tag, Ticket, User
from ..schema import (LANGUAGES, Boolean, Choice, Color, Email, Integer, Password, Rows, Schema, Text, TimeZone,
                      invalid)
from ..tickets.service import move_sector_tickets


def require_admin(actor: User | None) -> User:
    """The one admin check: everyone else is told the thing does not exist."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active or not actor.is_admin:
        raise NotFound()
    return actor


def _get(model, ident, message=None):
    row = db.session.get(model, as_int(ident)) if as_int(ident) else None
    if row is None:
        raise NotFound(message)
    return row


def _commit_or_conflict(conflict) -> None:
    """Unique indexes settle races that the checks before the commit could not see;
    ``conflict()`` then says which, asked only after the rollback."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise (conflict() or Conflict()) from None


def _same_text(column, value: str):
    """Case-insensitive equality decided by the database on both sides: SQLite's
    lower() folds ASCII only, and Python's would then disagree with it."""
    return (column == value) | (func.lower(column) == func.lower(literal(value)))


def value_taken(column, value: str, own_id, message: str, field: str = "name") -> Conflict | None:
    """The Conflict to raise when another row already has ``value`` in ``column`` (any case)."""
    model = column.class_
    query = select(model.id).where(_same_text(column, value))
    if own_id is not None:
        query = query.where(model.id != own_id)
    if db.session.scalar(query) is None:
        return None
    return Conflict(message, fields={field: message})


# -- sectors -----------------------------------------------------------------

def list_sectors() -> list[Sector]:
    return list(db.session.scalars(select(Sector).order_by(Sector.position, Sector.name)))


def get_sector(actor: User, sector_id) -> Sector:
    require_admin(actor)
    return _get(Sector, sector_id, _("Sector not found."))


class SectorCreate(Schema):
    name: Text(80, required=True)
    color: Color = "#2f80ed"
    greeting: Text(2000) = ""
    position: Integer(0, 999, description="Its number in the menu.") = None
    user_ids: Rows(User, lambda: _("Unknown user."), description="Members.") = []


def _read_sector(data, partial: bool) -> dict:
    return SectorCreate.read(data, partial=partial)


def _sector_name_taken(name: str, sector_id=None) -> Conflict | None:
    return value_taken(Sector.name, name, sector_id, _("A sector named %(name)s already exists.", name=name))


def _apply_sector(sector: Sector, values: dict) -> None:
    for key in ("name", "color", "greeting", "position"):
        if key in values:
            setattr(sector, key, values[key])
    if "user_ids" in values:
        sector.users = values["user_ids"]


def create_sector(actor: User, data) -> Sector:
    require_admin(actor)
    values = _read_sector(data, partial=False)
    if conflict := _sector_name_taken(values["name"]):
        raise conflict
    if values.get("position") is None:  # next number in the menu
        values["position"] = (db.session.scalar(select(func.max(Sector.position))) or 0) + 1
    sector = Sector()
    _apply_sector(sector, values)
    db.session.add(sector)
    _commit_or_conflict(lambda: _sector_name_taken(values["name"]))
    return sector


def update_sector(actor: User, sector_id, data) -> Sector:
    sector = get_sector(actor, sector_id)
    values = _read_sector(data, partial=True)
    if "name" in values and (conflict := _sector_name_taken(values["name"], sector.id)):
        raise conflict
    with db.session.no_autoflush:  # a duplicate surfaces at the commit, where it is caught
        _apply_sector(sector, values)
    _commit_or_conflict(lambda: Conflict(_("A sector with this name already exists.")))
    return sector


def sector_ticket_count(sector: Sector) -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.sector_id == sector.id))


def delete_sector(actor: User, sector_id, move_to=None) -> None:
    """Refused while tickets are in it, unless they are moved to ``move_to`` first."""
    sector = get_sector(actor, sector_id)
    target = None
    if move_to not in (None, ""):
        target = db.session.get(Sector, as_int(move_to)) if as_int(move_to) else None
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


# -- users -------------------------------------------------------------------

def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.name, User.id)))


def get_user(actor: User, user_id) -> User:
    require_admin(actor)
    return _get(User, user_id, _("User not found."))


class UserCreate(Schema):
    name: Text(120, required=True)
    email: Email
    password: Password = Field(description="On PATCH: the admin's password reset.")
    profile: Choice(PROFILES) = "user"
    sector_ids: Rows(Sector, lambda: _("Unknown sector.")) = []
    active: Boolean = True
    language: Choice(LANGUAGES, required=False) = None
    timezone: TimeZone = None


def _read_user(data, partial: bool) -> dict:
    if partial and isinstance(data, dict) and data.get("password") in (None, ""):
        data = {k: v for k, v in data.items() if k != "password"}  # a blank reset field keeps the password
    return UserCreate.read(data, partial=partial)


def _email_taken(email: str, user_id=None) -> Conflict | None:
    return value_taken(User.email, email, user_id, _("The e-mail %(email)s is already in use.", email=email),
                        field="email")


def _other_active_admins(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.profile == "admin", User.active.is_(True), User.id != user.id))


def _apply_user(user: User, values: dict) -> None:
    for key in ("name", "email", "profile", "active", "language", "timezone"):
        if key in values:
            setattr(user, key, values[key])
    if "sector_ids" in values:
        user.sectors = values["sector_ids"]
    if values.get("password"):
        user.set_password(values["password"])


def create_user(actor: User, data) -> User:
    require_admin(actor)
    return _create_user(_read_user(data, partial=False))


def create_admin_account(data) -> User:
    """``flask create-admin``: whoever runs commands on the server may make an admin."""
    data = data if isinstance(data, dict) else {}
    return _create_user(_read_user({**data, "profile": "admin"}, partial=False))


def _create_user(values: dict) -> User:
    if conflict := _email_taken(values["email"]):
        raise conflict
    user = User()
    _apply_user(user, values)
    db.session.add(user)
    _commit_or_conflict(lambda: _email_taken(values["email"]))
    return user


def update_user(actor: User, user_id, data) -> User:
    """Also the admin's password reset: a ``password`` in ``data`` replaces the old one."""
    user = get_user(actor, user_id)
    values = _read_user(data, partial=True)
    if "email" in values and (conflict := _email_taken(values["email"], user.id)):
        raise conflict
    losing_admin = user.is_admin and user.active and (
        values.get("profile", "admin") != "admin" or values.get("active", True) is False)
    if losing_admin and (user.id == actor.id or not _other_active_admins(user)):
        message = (_("You cannot remove your own admin access.") if user.id == actor.id
                   else _("At least one active admin must remain."))
        raise Conflict(message, fields={"profile" if "profile" in values else "active": message})
    with db.session.no_autoflush:  # a duplicate surfaces at the commit, where it is caught
        _apply_user(user, values)
        if user.id != actor.id and (values.get("active") is False or "password" in values):
            _revoke_tokens(user)
    _commit_or_conflict(lambda: Conflict(_("This e-mail is already in use.")))
    return user


def _revoke_tokens(user: User) -> None:
    """A deactivated user or a reset password ends the old API access too."""
    from ..models import utcnow

    for token in user.tokens:
        if token.revoked_at is None:
            token.revoked_at = utcnow()


def delete_user(actor: User, user_id) -> None:
    user = get_user(actor, user_id)
    if user.id == actor.id:
        raise Conflict(_("You cannot delete yourself."))
    if user.is_admin and user.active and not _other_active_admins(user):
        raise Conflict(_("At least one active admin must remain."))
    handling = db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.user_id == user.id, Ticket.status == "open"))
    if handling:
        raise Conflict(ngettext(
            "%(name)s is handling %(num)d ticket. Transfer it first, or deactivate the user instead.",
            "%(name)s is handling %(num)d tickets. Transfer them first, or deactivate the user instead.",
            handling, name=user.name,
        ), tickets=handling)
    db.session.delete(user)
    db.session.commit()


# -- tags --------------------------------------------------------------------

def list_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


def get_tag(actor: User, tag_id) -> Tag:
    require_admin(actor)
    return _get(Tag, tag_id, _("Tag not found."))


def _tag_name_taken(name: str, tag_id=None) -> Conflict | None:
    return value_taken(Tag.name, name, tag_id, _("A tag named %(name)s already exists.", name=name))


class TagCreate(Schema):
    name: Text(60, required=True)
    color: Color = "#7f8c8d"


def _read_tag(data, partial: bool) -> dict:
    return TagCreate.read(data, partial=partial)


def create_tag(actor: User, data) -> Tag:
    require_admin(actor)
    values = _read_tag(data, partial=False)
    if conflict := _tag_name_taken(values["name"]):
        raise conflict
    tag = Tag(**values)
    db.session.add(tag)
    _commit_or_conflict(lambda: _tag_name_taken(values["name"]))
    return tag


def update_tag(actor: User, tag_id, data) -> Tag:
    tag = get_tag(actor, tag_id)
    values = _read_tag(data, partial=True)
    if "name" in values and (conflict := _tag_name_taken(values["name"], tag.id)):
        raise conflict
    for key, value in values.items():
        setattr(tag, key, value)
    _commit_or_conflict(lambda: Conflict(_("A tag with this name already exists.")))
    return tag


def delete_tag(actor: User, tag_id) -> None:
    """Contacts simply lose the tag."""
    db.session.delete(get_tag(actor, tag_id))
    db.session.commit()


# -- quick replies -----------------------------------------------------------

class QuickReplyCreate(Schema):
    shortcut: Text(40, required=True, examples=["/ola"])
    text: Text(4096, required=True)
    global_: Boolean = Field(False, alias="global",
                             description="Global (every attendant) or personal (the caller's).")

# Global ones are the admins'; a personal one belongs to its author alone, so
# these functions take any active user and scope what they may touch.

def list_quick_replies(actor: User) -> list[QuickReply]:
    """What ``actor`` manages and uses: the global replies and their own."""
    owner = QuickReply.user_id == actor.id
    query = select(QuickReply).where(owner | QuickReply.user_id.is_(None) if actor.is_admin else owner)
    return list(db.session.scalars(query.order_by(QuickReply.shortcut, QuickReply.id)))


def get_quick_reply(actor: User, reply_id) -> QuickReply:
    reply = db.session.get(QuickReply, as_int(reply_id)) if as_int(reply_id) else None
    if reply is None or not (reply.user_id == actor.id or (reply.user_id is None and actor.is_admin)):
        raise NotFound(_("Quick reply not found."))
    return reply


def _read_quick_reply(actor: User, data, partial: bool) -> dict:
    values, errors = QuickReplyCreate.try_read(data, partial=partial)
    if "shortcut" in values:
        shortcut = "/" + values["shortcut"].lstrip("/").lower()
        if len(shortcut) < 2 or not all(c.isalnum() or c in "-_" for c in shortcut[1:]):
            errors.setdefault("shortcut", _("Use / followed by letters, digits, - or _, like /ola."))
        values["shortcut"] = shortcut
    if values.get("global") and not actor.is_admin:
        errors.setdefault("global", _("Only admins create global quick replies."))
    if errors:
        raise invalid(errors)
    return values


def _shortcut_taken(shortcut: str, owner_id, reply_id=None) -> Conflict | None:
    query = select(QuickReply.id).where(
        QuickReply.shortcut == shortcut,
        QuickReply.user_id.is_(None) if owner_id is None else QuickReply.user_id == owner_id)
    if reply_id is not None:
        query = query.where(QuickReply.id != reply_id)
    if db.session.scalar(query) is None:
        return None
    message = _("The shortcut %(shortcut)s is already in use.", shortcut=shortcut)
    return Conflict(message, fields={"shortcut": message})


def create_quick_reply(actor: User, data) -> QuickReply:
    values = _read_quick_reply(actor, data, partial=False)
    owner_id = None if values["global"] else actor.id
    if conflict := _shortcut_taken(values["shortcut"], owner_id):
        raise conflict
    reply = QuickReply(shortcut=values["shortcut"], text=values["text"], user_id=owner_id)
    db.session.add(reply)
    _commit_or_conflict(lambda: _shortcut_taken(values["shortcut"], owner_id))
    return reply


def update_quick_reply(actor: User, reply_id, data) -> QuickReply:
    reply = get_quick_reply(actor, reply_id)
    values = _read_quick_reply(actor, data, partial=True)
    owner_id = reply.user_id
    if "global" in values:
        owner_id = None if values["global"] else (reply.user_id or actor.id)
    shortcut = values.get("shortcut", reply.shortcut)
    if conflict := _shortcut_taken(shortcut, owner_id, reply.id):
        raise conflict
    reply.shortcut, reply.user_id = shortcut, owner_id
    if "text" in values:
        reply.text = values["text"]
    _commit_or_conflict(lambda: Conflict(_("This shortcut is already in use.")))
    return reply


def delete_quick_reply(actor: User, reply_id) -> None:
    db.session.delete(get_quick_reply(actor, reply_id))
    db.session.commit()


def counts() -> dict:
    """How many of each, for the admin landing page."""
    from ..models import Chatbot, Connection

    return {name: db.session.scalar(select(func.count()).select_from(model))
            for name, model in (("sectors", Sector), ("users", User), ("connections", Connection),
                                ("chatbots", Chatbot), ("tags", Tag))} | {
        "quick_replies": db.session.scalar(
            select(func.count()).select_from(QuickReply).where(QuickReply.user_id.is_(None)))}
