"""/profile: the user's own settings (thin: the rules are in ``service.py``). Their
personal quick replies are pages of ``quick_replies.routes`` on this blueprint."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, refresh
from flask_login import current_user, login_required

from ..schema import LANGUAGE_OPTIONS
from ..admin.timezones import timezone_groups
from ..admin.base import form_values
from ..calls import sip_account
from ..errors import InvalidInput
from ..schema import form_rules
from . import bp, service


@bp.before_request
@login_required
def signed_in_only():
    return None


def _page(values=None, error=None, password_error=None, sip_values=None, sip_error=None):
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
        rules=form_rules(sip_account.SipAccount), has_sip=sip_account.has_own_account(user),
        sip_values=sip_values if sip_values is not None else sip_account.starting_values(user),
        team_line=None if sip_account.has_own_account(user) else sip_account.team_line_for(user),
        sip_errors=sip_error.fields if sip_error else {}, sip_message=sip_error.message if sip_error else None,
    )
    failed = error or password_error or sip_error
    status = failed.status if failed else 200
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


SIP_FIELDS = ("ws_url", "sip_uri", "authorization_user", "password", "display_name")


@bp.route("/sip", methods=["POST"])
def sip():
    """The softphone's account; a blank password keeps the stored one."""
    data = {key: request.form.get(key, "") for key in SIP_FIELDS}
    try:
        sip_account.save_sip_account(current_user, data)
    except InvalidInput as error:
        return _page(sip_values={k: v for k, v in data.items() if k != "password"}, sip_error=error)
    flash(_("SIP account saved."), "success")
    return redirect(url_for(".index", _anchor="sip-account"))


@bp.route("/sip/remove", methods=["POST"])
def remove_sip():
    sip_account.remove_sip_account(current_user)
    flash(_("SIP account removed."), "success")
    return redirect(url_for(".index", _anchor="sip-account"))
