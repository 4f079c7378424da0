"""What every page shares: template filters, error pages."""
from datetime import datetime, timedelta, timezone

from flask import render_template, request
from flask_babel import format_datetime, format_timedelta, get_locale, gettext as _

from .api.errors import wants_json


def register_web(app):
    app.add_template_filter(time_since, "since")
    app.add_template_filter(local_time, "localtime")
    app.jinja_env.globals["get_locale"] = get_locale

    @app.errorhandler(404)
    def not_found(error):
        if wants_json():
            return {"error": {"code": "not_found", "message": _("Not found.")}}, 404
        return render_template("errors/404.html"), 404

    @app.errorhandler(413)
    def too_large(error):
        message = _("The upload is too large (at most %(mb)s MB).", mb=app.config["MAX_UPLOAD_MB"])
        if wants_json():
            return {"error": {"code": "too_large", "message": message}}, 413
        return render_template("errors/404.html", message=message), 413

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def time_since(value: datetime) -> str:
    """'5 min', '2 h', '3 dias': how long ago, short enough for a list row."""
    if value is None:
        return ""
    delta = datetime.now(timezone.utc) - value
    if delta.total_seconds() < 60:
        return _("now")
    return format_timedelta(delta, granularity="minute", threshold=1.0, format="narrow")


def local_time(value: datetime) -> str:
    """Hour and minute for today's messages, with the day for older ones."""
    if value is None:
        return ""
    if datetime.now(timezone.utc) - value < timedelta(hours=20):
        return format_datetime(value, "HH:mm")
    return format_datetime(value, "dd/MM HH:mm")
