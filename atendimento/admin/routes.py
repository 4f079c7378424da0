"""Admin pages for sectors, users, tags and quick replies: parse the form, call the
service, render. A refused form comes back with the service's messages beside
each field; a success flashes and goes back to the list."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import Conflict, DomainError, InvalidInput
from ..models import PROFILES
from . import bp, forms, service
from .fields import LANGUAGE_OPTIONS
from .timezones import timezone_groups


def profile_label(profile: str) -> str:
    return {"admin": _("Admin"), "user": _("Attendant")}.get(profile, profile)


@bp.route("/")
def index():
    return render_template("admin/index.html", section="index", counts=service.counts())


# -- sectors -----------------------------------------------------------------

@bp.route("/sectors")
def sectors():
    rows = service.list_sectors()
    return render_template("admin/sectors.html", section="sectors", sectors=rows,
                           ticket_counts={s.id: service.sector_ticket_count(s) for s in rows})


def _sector_form(sector, values, error=None):
    ticket_count = service.sector_ticket_count(sector) if sector is not None else 0
    return forms.render_form(
        "admin/sector_form.html", error=error, section="sectors", sector=sector, values=values,
        users=service.list_users(), others=[s for s in service.list_sectors() if sector is None or s.id != sector.id],
        ticket_count=ticket_count)


@bp.route("/sectors/new", methods=["GET", "POST"])
def new_sector():
    if request.method == "GET":
        return _sector_form(None, forms.sector_values(None))
    try:
        sector = service.create_sector(current_user, forms.sector_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _sector_form(None, forms.form_values(request.form, lists=("user_ids",)), error)
    flash(_("Sector %(name)s created.", name=sector.name), "success")
    return redirect(url_for(".sectors"))


@bp.route("/sectors/<int:sector_id>", methods=["GET", "POST"])
def edit_sector(sector_id):
    sector = service.get_sector(current_user, sector_id)
    if request.method == "GET":
        return _sector_form(sector, forms.sector_values(sector))
    try:
        service.update_sector(current_user, sector.id, forms.sector_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _sector_form(sector, forms.form_values(request.form, lists=("user_ids",)), error)
    flash(_("Sector %(name)s saved.", name=sector.name), "success")
    return redirect(url_for(".sectors"))


@bp.route("/sectors/<int:sector_id>/delete", methods=["POST"])
def delete_sector(sector_id):
    sector = service.get_sector(current_user, sector_id)
    name = sector.name
    try:
        service.delete_sector(current_user, sector.id, move_to=request.form.get("move_to"))
    except (InvalidInput, Conflict) as error:
        flash(str(error.message), "error")
        return redirect(url_for(".edit_sector", sector_id=sector_id, _anchor="delete"))
    flash(_("Sector %(name)s deleted.", name=name), "success")
    return redirect(url_for(".sectors"))


# -- users -------------------------------------------------------------------

def _user_form(user, values, error=None):
    return forms.render_form(
        "admin/user_form.html", error=error, section="users", user=user, values=values,
        sectors=service.list_sectors(), profiles=[(p, profile_label(p)) for p in PROFILES],
        languages=[("", _("Default (Português)"))] + list(LANGUAGE_OPTIONS),
        default_zone=_("Default (%(zone)s)", zone=_default_zone()), zone_groups=timezone_groups())


def _default_zone() -> str:
    return current_app.config["DEFAULT_TIMEZONE"]


def _posted_user_values():
    values = forms.form_values(request.form, lists=("sector_ids",))
    values["active"] = "active" in request.form
    values.pop("password", None)
    return values


@bp.route("/users")
def users():
    return render_template("admin/users.html", section="users", users=service.list_users(),
                           profile_label=profile_label)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    if request.method == "GET":
        return _user_form(None, forms.user_values(None))
    try:
        user = service.create_user(current_user, forms.user_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _user_form(None, _posted_user_values(), error)
    flash(_("User %(name)s created. They can sign in with %(email)s.", name=user.name, email=user.email), "success")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id):
    user = service.get_user(current_user, user_id)
    if request.method == "GET":
        return _user_form(user, forms.user_values(user))
    data = forms.user_data(request.form)
    try:
        service.update_user(current_user, user.id, data)
    except (InvalidInput, Conflict) as error:
        return _user_form(user, _posted_user_values(), error)
    message = _("User %(name)s saved.", name=user.name)
    if data.get("password"):
        message += " " + _("The new password works from now on.")
    flash(message, "success")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/delete", methods=["POST"])
def delete_user(user_id):
    user = service.get_user(current_user, user_id)
    name = user.name
    try:
        service.delete_user(current_user, user.id)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for(".edit_user", user_id=user_id))
    flash(_("User %(name)s deleted.", name=name), "success")
    return redirect(url_for(".users"))


# -- tags --------------------------------------------------------------------

def _tag_form(tag, values, error=None):
    return forms.render_form("admin/tag_form.html", error=error, section="tags", tag=tag, values=values)


@bp.route("/tags")
def tags():
    return render_template("admin/tags.html", section="tags", tags=service.list_tags())


@bp.route("/tags/new", methods=["GET", "POST"])
def new_tag():
    if request.method == "GET":
        return _tag_form(None, {"name": "", "color": "#7f8c8d"})
    try:
        tag = service.create_tag(current_user, forms.tag_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _tag_form(None, forms.form_values(request.form), error)
    flash(_("Tag %(name)s created.", name=tag.name), "success")
    return redirect(url_for(".tags"))


@bp.route("/tags/<int:tag_id>", methods=["GET", "POST"])
def edit_tag(tag_id):
    tag = service.get_tag(current_user, tag_id)
    if request.method == "GET":
        return _tag_form(tag, {"name": tag.name, "color": tag.color})
    try:
        service.update_tag(current_user, tag.id, forms.tag_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _tag_form(tag, forms.form_values(request.form), error)
    flash(_("Tag %(name)s saved.", name=tag.name), "success")
    return redirect(url_for(".tags"))


@bp.route("/tags/<int:tag_id>/delete", methods=["POST"])
def delete_tag(tag_id):
    tag = service.get_tag(current_user, tag_id)
    name = tag.name
    service.delete_tag(current_user, tag.id)
    flash(_("Tag %(name)s deleted.", name=name), "success")
    return redirect(url_for(".tags"))


# -- quick replies -----------------------------------------------------------
# Admins manage the global ones here, and their own personal ones; every user
# (admins too) also has /profile/quick-replies for their personal ones.

def _quick_reply_form(reply, values, error=None):
    return forms.render_form("admin/quick_reply_form.html", error=error, section="quick_replies", reply=reply,
                             values=values, allow_global=True, cancel_url=url_for(".quick_replies"))


@bp.route("/quick-replies")
def quick_replies():
    return render_template("admin/quick_replies.html", section="quick_replies",
                           replies=service.list_quick_replies(current_user))


@bp.route("/quick-replies/new", methods=["GET", "POST"])
def new_quick_reply():
    if request.method == "GET":
        return _quick_reply_form(None, forms.quick_reply_values(None, default_scope="global"))
    try:
        reply = service.create_quick_reply(current_user, forms.quick_reply_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _quick_reply_form(None, forms.form_values(request.form), error)
    flash(_("Quick reply %(shortcut)s created.", shortcut=reply.shortcut), "success")
    return redirect(url_for(".quick_replies"))


@bp.route("/quick-replies/<int:reply_id>", methods=["GET", "POST"])
def edit_quick_reply(reply_id):
    reply = service.get_quick_reply(current_user, reply_id)
    if request.method == "GET":
        return _quick_reply_form(reply, forms.quick_reply_values(reply))
    try:
        service.update_quick_reply(current_user, reply.id, forms.quick_reply_data(request.form))
    except (InvalidInput, Conflict) as error:
        return _quick_reply_form(reply, forms.form_values(request.form), error)
    flash(_("Quick reply %(shortcut)s saved.", shortcut=reply.shortcut), "success")
    return redirect(url_for(".quick_replies"))


@bp.route("/quick-replies/<int:reply_id>/delete", methods=["POST"])
def delete_quick_reply(reply_id):
    reply = service.get_quick_reply(current_user, reply_id)
    shortcut = reply.shortcut
    service.delete_quick_reply(current_user, reply.id)
    flash(_("Quick reply %(shortcut)s deleted.", shortcut=shortcut), "success")
    return redirect(url_for(".quick_replies"))
