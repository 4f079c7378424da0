from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from . import bp
from .forms import LoginForm
from .limits import forget_account_failures, login_limited
from .service import authenticate, log_out


@bp.route("/login", methods=["GET", "POST"])
@login_limited
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tickets.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except DomainError as error:
            flash(str(error.message), "error")
            status = error.status
        else:
            login_user(user)
            forget_account_failures()
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(error: RateLimitExceeded):
    """The login page again, saying why, with the e-mail kept (Retry-After comes from the limiter)."""
    flash(error.description, "error")
    return render_template("auth/login.html", form=LoginForm()), 429


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    log_out(current_user)  # a copy of this session's cookie stops working too
    logout_user()
    flash(_("You have left. See you soon!"), "info")
    return redirect(url_for("auth.login"))


def _safe_next(target):
    """Only local paths: never redirect a fresh login to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("tickets.index")
