"""Users: attendants and admins, their sectors, language and time zone (SPEC §2).

The declaration (``UserCreate``), the rules, the admin pages and the API routes; the
command line's ``create-admin`` goes through ``create_admin_account`` here too."""
from __future__ import annotations

from functools import partial

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from pydantic import Field
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select

from ..api import shapes
from ..api.crud import Resource, register
from ..auth.service import credentials_changed, keep_this_session, revoke_tokens
from ..errors import Conflict
from ..extensions import db
from ..models import PROFILES, Sector, Ticket, User
from ..schema import form_rules
from ..schema import (LANGUAGE_OPTIONS, LANGUAGES, Boolean, Choice, Email, Password, Rows, Schema, Text, TimeZone,
                      check_password, invalid, personal_words)
from ..serializers import iso
from . import bp
from .base import (admin_required, commit_or_conflict, delete_page, form_page, form_values, get_row, render_form,
                   require_admin, value_taken)
from .sectors import list_sectors
from .timezones import timezone_groups


def list_users(actor: User | None = None) -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.name, User.id)))


def get_user(actor: User, user_id) -> User:
    require_admin(actor)
    return get_row(User, user_id, _("User not found."))


class UserCreate(Schema):
    name: Text(User.name, required=True)
    email: Email
    password: Password = Field(description="On PATCH: the admin's password reset, which ends the user's sessions "
                                           "and API tokens. Refused when easy to guess (zxcvbn) or made of the "
                                           "user's name or e-mail.")
    profile: Choice(PROFILES) = "user"
    sector_ids: Rows(Sector, lambda: _("Unknown sector.")) = []
    active: Boolean = True
    language: Choice(LANGUAGES, required=False) = None
    timezone: TimeZone = None


def _read_user(data, partial: bool, user: User | None = None) -> dict:
    if partial and isinstance(data, dict) and data.get("password") in (None, ""):
        data = {k: v for k, v in data.items() if k != "password"}  # a blank reset field keeps the password
    values, errors = UserCreate.try_read(data, partial=partial)
    if user is not None and isinstance(data, dict) and data.get("password"):
        try:  # a reset: judged against the stored name and e-mail too, unless the request changes them
            check_password(data["password"], personal_words(values.get("name", user.name),
                                                            values.get("email", user.email)))
        except PydanticCustomError as refusal:
            errors["password"] = str(refusal)
    if errors:
        raise invalid(errors)
    return values


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
    commit_or_conflict(lambda: _email_taken(values["email"]))
    return user


def update_user(actor: User, user_id, data) -> User:
    """Also the admin's password reset: a ``password`` in ``data`` replaces the old one."""
    user = get_user(actor, user_id)
    values = _read_user(data, partial=True, user=user)
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
        if "password" in values:  # a reset ends the user's sessions and tokens (SPEC §9)
            credentials_changed(user)
        elif values.get("active") is False:
            revoke_tokens(user)
    commit_or_conflict(lambda: Conflict(_("This e-mail is already in use.")))
    if "password" in values:
        keep_this_session(user)  # an admin changing their own password here stays signed in
    return user


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


def user_json(user: User) -> dict:
    return {"id": user.id, "name": user.name, "email": user.email, "profile": user.profile,
            "sector_ids": [s.id for s in user.sectors], "active": bool(user.active),
            "language": user.language, "timezone": user.timezone, "created_at": iso(user.created_at)}


register(Resource(
    "user", "users", "Users", UserCreate, shapes.User, guard=admin_required, list=list_users, get=get_user,
    create=create_user, update=update_user, delete=delete_user, to_json=user_json))


# -- pages -------------------------------------------------------------------

def profile_label(profile: str) -> str:
    return {"admin": _("Admin"), "user": _("Attendant")}.get(profile, profile)


def _posted() -> dict:
    form = request.form
    return {"name": form.get("name", ""), "email": form.get("email", ""), "profile": form.get("profile", ""),
            "sector_ids": form.getlist("sector_ids"), "active": "active" in form,
            "password": form.get("password", ""), "language": form.get("language") or None,
            "timezone": form.get("timezone") or None}


def _values(user) -> dict:
    if user is None:
        return {"name": "", "email": "", "profile": "user", "sector_ids": [], "active": True, "language": "",
                "timezone": ""}
    return {"name": user.name, "email": user.email, "profile": user.profile,
            "sector_ids": [str(s.id) for s in user.sectors], "active": user.active,
            "language": user.language or "", "timezone": user.timezone or ""}


def _user_form(user, values=None, error=None, sip_values=None, sip_error=None):
    from ..calls import sip_account

    sip_context = {} if user is None else dict(
        has_sip=sip_account.has_own_account(user), sip_rules=form_rules(sip_account.SipAccount),
        sip_values=sip_values if sip_values is not None else sip_account.starting_values(user),
        team_line=None if sip_account.has_own_account(user) else sip_account.team_line_for(user),
        sip_errors=sip_error.fields if sip_error else {}, sip_message=sip_error.message if sip_error else None)
    if sip_error is not None:
        return render_form("admin/user_form.html", error=None, schema=UserCreate.partial(), section="users", user=user,
                           values=_values(user), **_form_choices(), **sip_context)[0], sip_error.status
    return render_form(
        "admin/user_form.html", error=error, schema=UserCreate if user is None else UserCreate.partial(),
        section="users", user=user, values=values if values is not None else _values(user),
        sectors=list_sectors(), profiles=[(p, profile_label(p)) for p in PROFILES],
        languages=[("", _("Default (Português)"))] + list(LANGUAGE_OPTIONS),
        default_zone=_("Default (%(zone)s)", zone=_default_zone()), zone_groups=timezone_groups(), **sip_context)


def _form_choices() -> dict:
    return dict(sectors=list_sectors(), profiles=[(p, profile_label(p)) for p in PROFILES],
                languages=[("", _("Default (Português)"))] + list(LANGUAGE_OPTIONS),
                default_zone=_("Default (%(zone)s)", zone=_default_zone()), zone_groups=timezone_groups())


def _default_zone() -> str:
    return current_app.config["DEFAULT_TIMEZONE"]


def _posted_user_values():
    values = form_values(lists=("sector_ids",))
    values["active"] = "active" in request.form
    values.pop("password", None)
    return values


@bp.route("/users")
def users():
    return render_template("admin/users.html", section="users", users=list_users(),
                           profile_label=profile_label)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    return form_page(partial(_user_form, None), lambda: create_user(current_user, _posted()),
                     lambda user: _("User %(name)s created. They can sign in with %(email)s.", name=user.name,
                                    email=user.email), url_for(".users"), _posted_user_values)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id):
    user = get_user(current_user, user_id)
    data = _posted() if request.method == "POST" else None

    def saved(user):
        message = _("User %(name)s saved.", name=user.name)
        return message + " " + _("The new password works from now on.") if data.get("password") else message

    return form_page(partial(_user_form, user), lambda: update_user(current_user, user.id, data), saved,
                     url_for(".users"), _posted_user_values)


@bp.route("/users/<int:user_id>/delete", methods=["POST"], endpoint="delete_user")
def delete_user_page(user_id):
    user = get_user(current_user, user_id)
    return delete_page(lambda: delete_user(current_user, user.id), _("User %(name)s deleted.", name=user.name),
                       url_for(".users"), url_for(".edit_user", user_id=user.id))


SIP_FIELDS = ("ws_url", "sip_uri", "authorization_user", "password", "display_name")


@bp.route("/users/<int:user_id>/sip", methods=["POST"], endpoint="user_sip")
def user_sip_page(user_id):
    """An admin sets any user's softphone account (never reading its password back)."""
    from flask import flash, redirect

    from ..calls import sip_account
    from ..errors import InvalidInput

    user = get_user(current_user, user_id)
    if "remove" in request.form:
        sip_account.remove_sip_account(user)
        flash(_("SIP account removed."), "success")
        return redirect(url_for(".edit_user", user_id=user.id, _anchor="sip-account"))
    data = {key: request.form.get(key, "") for key in SIP_FIELDS}
    try:
        sip_account.save_sip_account(user, data)
    except InvalidInput as error:
        return _user_form(user, sip_values={k: v for k, v in data.items() if k != "password"}, sip_error=error)
    flash(_("SIP account saved."), "success")
    return redirect(url_for(".edit_user", user_id=user.id, _anchor="sip-account"))
