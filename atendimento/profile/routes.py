"""/profile: the user's own settings (thin: the rules are in ``service.py``). Their
personal quick replies are pages of ``quick_replies.routes`` on this blueprint."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, refresh
from flask_login import current_user, login_required

from ..schema import LANGUAGE_OPTIONS
from ..admin.timezones import timezone_groups
from ..admin.base import form_values
from ..errors import InvalidInput
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
        values=values or {"language": user.language or "pt_BR", "timezone": user.timezone or "",
                          "signature": user.signature},
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
    data = {"language": request.form.get("language", ""), "timezone": request.form.get("timezone") or None,
            "signature": "signature" in request.form}
    try:
        service.update_preferences(current_user, data)
    except InvalidInput as error:
        return _page(values={**form_values(), "signature": data["signature"]}, error=error)
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
