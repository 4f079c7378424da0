"""/profile: the user's own settings and personal quick replies (thin: the rules
are in ``service.py`` here and in ``admin.service`` for quick replies)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, refresh
from flask_login import current_user, login_required

from ..admin import forms
from ..admin import service as admin_service
from ..admin.fields import LANGUAGE_OPTIONS
from ..admin.timezones import timezone_groups
from ..errors import Conflict, InvalidInput, NotFound
from . import bp, service


@bp.before_request
@login_required
def signed_in_only():
    return None


def _page(values=None, error=None, password_error=None):
    user = current_user
    zone = current_app.config["DEFAULT_TIMEZONE"]
    context = dict(
        section="profile", languages=LANGUAGE_OPTIONS,
        default_zone=_("Default (%(zone)s)", zone=zone), zone_groups=timezone_groups(),
        values=values or {"language": user.language or "pt_BR", "timezone": user.timezone or ""},
        errors=error.fields if error else {}, form_message=error.message if error else None,
        password_errors=password_error.fields if password_error else {},
        password_message=password_error.message if password_error else None,
    )
    status = (error or password_error).status if (error or password_error) else 200
    return render_template("profile/index.html", **context), status


@bp.route("/", methods=["GET", "POST"])
def index():
    if request.method == "GET":
        return _page()
    data = {"language": request.form.get("language", ""), "timezone": request.form.get("timezone") or None}
    try:
        service.update_preferences(current_user, data)
    except InvalidInput as error:
        return _page(values=forms.form_values(request.form), error=error)
    refresh()  # the confirmation already speaks the chosen language
    flash(_("Preferences saved."), "success")
    return redirect(url_for(".index"))


@bp.route("/password", methods=["POST"])
def password():
    form = request.form
    try:
        service.change_password(current_user, form.get("current_password", ""), form.get("new_password", ""),
                                form.get("confirm_password", ""))
    except InvalidInput as error:
        return _page(password_error=error)
    flash(_("Password changed."), "success")
    return redirect(url_for(".index"))


# -- personal quick replies --------------------------------------------------

def _reply_form(reply, values, error=None):
    return forms.render_form("profile/quick_reply_form.html", error=error, section="quick_replies", reply=reply,
                             values=values, allow_global=False, cancel_url=url_for(".quick_replies"))


def _mine(reply_id):
    """Only the user's own replies here, admins included: global ones live in /admin."""
    reply = admin_service.get_quick_reply(current_user, reply_id)
    if reply.user_id != current_user.id:
        raise NotFound()
    return reply


@bp.route("/quick-replies")
def quick_replies():
    replies = [r for r in admin_service.list_quick_replies(current_user) if r.user_id == current_user.id]
    return render_template("profile/quick_replies.html", section="quick_replies", replies=replies)


@bp.route("/quick-replies/new", methods=["GET", "POST"])
def new_quick_reply():
    if request.method == "GET":
        return _reply_form(None, forms.quick_reply_values(None))
    data = {**forms.quick_reply_data(request.form), "global": False}
    try:
        reply = admin_service.create_quick_reply(current_user, data)
    except (InvalidInput, Conflict) as error:
        return _reply_form(None, forms.form_values(request.form), error)
    flash(_("Quick reply %(shortcut)s created.", shortcut=reply.shortcut), "success")
    return redirect(url_for(".quick_replies"))


@bp.route("/quick-replies/<int:reply_id>", methods=["GET", "POST"])
def edit_quick_reply(reply_id):
    reply = _mine(reply_id)
    if request.method == "GET":
        return _reply_form(reply, forms.quick_reply_values(reply))
    data = {**forms.quick_reply_data(request.form), "global": False}
    try:
        admin_service.update_quick_reply(current_user, reply.id, data)
    except (InvalidInput, Conflict) as error:
        return _reply_form(reply, forms.form_values(request.form), error)
    flash(_("Quick reply %(shortcut)s saved.", shortcut=reply.shortcut), "success")
    return redirect(url_for(".quick_replies"))


@bp.route("/quick-replies/<int:reply_id>/delete", methods=["POST"])
def delete_quick_reply(reply_id):
    reply = _mine(reply_id)
    shortcut = reply.shortcut
    admin_service.delete_quick_reply(current_user, reply.id)
    flash(_("Quick reply %(shortcut)s deleted.", shortcut=shortcut), "success")
    return redirect(url_for(".quick_replies"))
