"""What every page shares: template filters and globals, error pages."""
import logging
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from babel.dates import format_timedelta
from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, format_decimal, get_locale, gettext as _, to_user_timezone
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import security
from .api.errors import http_error as api_http_error, wants_json
from .errors import DomainError
from .extensions import db

log = logging.getLogger(__name__)

_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def register_web(app):
    app.add_template_filter(time_since, "since")
    app.add_template_filter(local_time, "localtime")
    app.add_template_filter(clock, "clock")
    app.add_template_filter(day_label, "day")
    app.add_template_filter(local_day, "local_day")
    app.add_template_filter(short_date, "short_date")
    app.add_template_filter(minutes_since, "minutes_since")
    app.add_template_filter(css_color, "css_color")
    app.add_template_filter(initials, "initials")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(file_size, "filesize")
    app.add_template_filter(preview_label, "preview")
    app.add_template_filter(duration, "duration")
    from .calls.sip_account import has_softphone

    app.jinja_env.globals.update(get_locale=get_locale, has_endpoint=has_endpoint, static_exists=static_exists,
                                 has_softphone=has_softphone, ticket_href=ticket_href,
                                 row_labels=row_labels)

    register_errors(app)
    security.init_app(app)  # CSP and the other browser-safety headers, HSTS and Secure cookies


# -- errors: the one place that decides what a page shows when something fails --------------

ERROR_TEXTS = {  # status -> (title, what happened and what to do), in the reader's language
    404: (lambda: _("Not found"), lambda: _("This page does not exist, or you are not allowed to see it.")),
    405: (lambda: _("Not allowed"), lambda: _("This address does not accept this kind of request.")),
    413: (lambda: _("Upload too large"),
          lambda: _("The upload is too large (at most %(mb)s MB).", mb=current_app.config["MAX_UPLOAD_MB"])),
    500: (lambda: _("Something went wrong"),
          lambda: _("The server could not finish this request. Try again in a moment.")),
}


def register_errors(app) -> None:
    """Pages answer with ``errors/error.html`` for a status and with a flash and a redirect
    for what a service refuses; the API and the webhooks keep their own JSON handlers."""
    app.register_error_handler(DomainError, page_refused)
    app.register_error_handler(CSRFError, csrf_refused)
    for status in ERROR_TEXTS:
        app.register_error_handler(status, http_error_page)


def error_page(status: int, message=None, title=None):
    """The one error page; title and message default to the status's own."""
    default_title, default_message = ERROR_TEXTS.get(status, ERROR_TEXTS[500])
    return render_template("errors/error.html", status=status, title=title or default_title(),
                           message=message or default_message()), status


def json_handler():
    """The JSON handler of the blueprint serving this request (API, webhooks), if any.

    Flask prefers an app handler registered for a status code to a blueprint's handler
    for ``HTTPException``, so the page handlers hand over explicitly. An /api/ URL that
    matched no route belongs to no blueprint: the API's handler answers it too, and so does
    the handler of the blueprint whose ``url_prefix`` holds the path (/webhooks/…)."""
    for name in request.blueprints or _blueprints_by_prefix():
        handler = current_app.error_handler_spec[name][None].get(HTTPException)
        if handler is not None:
            return handler
    return api_http_error if wants_json() else None


def _blueprints_by_prefix() -> list[str]:
    path = request.path.rstrip("/") + "/"
    return [name for name, blueprint in current_app.blueprints.items()
            if blueprint.url_prefix and path.startswith(blueprint.url_prefix.rstrip("/") + "/")]


# What a JSON client reads instead of werkzeug's generic English description.
JSON_MESSAGES = {404: lambda: _("Not found."), 413: ERROR_TEXTS[413][1]}


def http_error_page(error: HTTPException):
    handler = json_handler()
    if handler is not None:
        if error.code in JSON_MESSAGES and error.description == type(error).description:
            error.description = JSON_MESSAGES[error.code]()
        return handler(error)
    if error.code == 500:
        return server_error_page(error)
    return error_page(error.code)


def server_error_page(error):
    """A failed request may leave the session's transaction broken: roll it back so the
    page (which reads the signed-in user) can still render. If even that fails, the plain
    response stands in."""
    try:
        db.session.rollback()
        return error_page(500)
    except Exception:  # noqa: BLE001 - the error page must not hide the original failure
        log.exception("the error page itself failed")
        return error


def page_refused(error: DomainError):
    """What a service refused on a page: 404 stays 404, anything else is flashed on the
    index of the area the page belongs to (Atendimento when the area has none)."""
    if json_handler() is not None:
        raise error  # a JSON blueprint without its own DomainError handler answers it as a 500
    if error.status == 404:
        return error_page(404)
    flash(str(error.message), "error")
    index = next((f"{name}.index" for name in request.blueprints if has_endpoint(f"{name}.index")),
                 "tickets.index")
    return redirect(url_for(index)), 303


def csrf_refused(error: CSRFError):
    # A page left open past a restart or a forged form: refuse, and say how to recover.
    return error_page(400, title=_("Form refused"), message=_(
        "This form has expired or did not come from this site. Reload the page and try again."))


def user_timezone() -> str:
    """The reader's zone, for what the page's script formats itself (pushed message times)."""
    from flask_babel import get_timezone

    return str(get_timezone())


def ticket_href(ticket_id: int, tab=None, view=None, q=None, tag_ids=None, page=None) -> str:
    """``url_for('tickets.show', ticket_id=…, tab=…, …)`` for a list row, built once per page and
    filter (a list asked url_for 50 times for the same query string, a tenth of its rendering).
    The route ends in the id (``/tickets/<int:ticket_id>``), so the id goes where the 0 was."""
    key = (tab, view if tab == "open" else None, q or None, tuple(tag_ids or ()), page)
    cache = g.setdefault("ticket_hrefs", {})
    if key not in cache:
        path, _sep, query = url_for("tickets.show", ticket_id=0, tab=key[0], view=key[1], q=key[2],
                                    tag=list(key[3]) or None, page=page).partition("?")
        cache[key] = (path[:-1], f"?{query}" if query else "")
    prefix, query = cache[key]
    return f"{prefix}{ticket_id}{query}"


def row_labels() -> dict:
    """The words every list row repeats, translated once per page and language."""
    cache = g.setdefault("row_labels", {})
    locale = str(get_locale())
    if locale not in cache:
        cache[locale] = {"unread": _("Unread messages"), "no_sector": _("No sector"), "bot": _("Bot"),
                         "bot_title": _("The bot is talking to this contact"), "assignee": _("Assignee")}
    return cache[locale]


def has_endpoint(name: str) -> bool:
    """Links to areas other blueprints may or may not provide (e.g. ``admin.index``)."""
    return name in current_app.view_functions


def static_exists(filename: str) -> bool:
    """Include an optional asset (``js/live.js``) only once somebody has written it."""
    return (Path(current_app.static_folder) / filename).is_file()


def time_since(value: datetime) -> str:
    """'5 min', '2 h', '3 dias': how long ago, short enough for a list row.
    static/js/tickets.js refreshes these with Intl's matching 'short' unit format."""
    if value is None:
        return ""
    seconds = (datetime.now(timezone.utc) - value).total_seconds()
    if seconds < 60:
        return _("now")
    return _since_text(int(seconds // 60), str(get_locale()))


@lru_cache(maxsize=4096)
def _since_text(minutes: int, locale: str) -> str:
    """Babel's words for whole minutes: a list of 50 rows asked it 50 times per page (a third
    of a row's rendering), and the answer only changes with the minute. Babel itself:
    Flask-Babel's wrapper has no ``format`` argument."""
    return format_timedelta(timedelta(minutes=minutes), granularity="minute", threshold=1.0, format="short",
                            locale=locale)


def duration(value: timedelta | None) -> str:
    """'45 s', '12 min', '3 h': a response time, rounded to its largest unit; '—' when unknown."""
    if value is None:
        return "—"
    return format_timedelta(value, granularity="second", threshold=1.0, format="short", locale=get_locale())


def minutes_since(value: datetime) -> int:
    if value is None:
        return 0
    return max(0, int((datetime.now(timezone.utc) - value).total_seconds() // 60))


def local_time(value: datetime) -> str:
    """Hour and minute for today's messages, with the day for older ones."""
    if value is None:
        return ""
    # Digits and separators only: the same in every language, without Babel's pattern engine.
    local = to_user_timezone(value)
    if datetime.now(timezone.utc) - value < timedelta(hours=20):
        return local.strftime("%H:%M")
    return local.strftime("%d/%m %H:%M")


def clock(value: datetime) -> str:
    """HH:mm in the user's timezone: the conversation shows the day in separators."""
    return to_user_timezone(value).strftime("%H:%M") if value is not None else ""


def local_day(value: datetime):
    """The calendar day of ``value`` where the user is (for grouping messages by day)."""
    return to_user_timezone(value).date() if value is not None else None


def short_date(value: datetime) -> str:
    """The day in the user's zone and locale's short form ('12/11/2026' in pt-BR)."""
    return format_date(value, "short") if value else ""


def day_label(value: datetime) -> str:
    """'Hoje', 'Ontem' or the long date, for the separators between days."""
    if value is None:
        return ""
    day = local_day(value)
    today = to_user_timezone(datetime.now(timezone.utc)).date()
    if day == today:
        return _("Today")
    if day == today - timedelta(days=1):
        return _("Yesterday")
    return format_date(day, "full" if today - day < timedelta(days=7) else "long")


def iso(value: datetime) -> str:
    return value.isoformat() if value is not None else ""


def file_size(size) -> str:
    """'850 B', '12 KB', '1,4 MB': a file's size as people read it (never '0 KB')."""
    if not size or size < 0:
        return ""
    if size < 1000:
        return f"{size} B"
    for unit, factor in (("KB", 1024), ("MB", 1024 ** 2), ("GB", 1024 ** 3)):
        value = size / factor
        if value < 999.5 or unit == "GB":
            return f"{format_decimal(value, '#,##0' if value >= 10 else '#,##0.#')} {unit}"
    return ""


_PREVIEW_NAMES = {"📷": lambda: _("Photo"), "🎤": lambda: _("Audio"), "🎬": lambda: _("Video"),
                  "📄": lambda: _("Document"), "🏷️": lambda: _("Sticker"), "📍": lambda: _("Location")}


# Previews written before files were named in the reader's language: "📷 image".
_LEGACY_PREVIEWS = {"image", "audio", "video", "document", "sticker", "location"}


def preview_label(text: str | None) -> str:
    """A list preview in the reader's language: a file without caption is stored as its
    icon alone ("📷") and shown with its name ("📷 Foto")."""
    if not text:
        return ""
    icon, _space, rest = text.partition(" ")
    name = _PREVIEW_NAMES.get(icon)
    if name is not None and (not rest or rest in _LEGACY_PREVIEWS):
        return f"{icon} {name()}"
    return text


def css_color(value, default: str = "transparent") -> str:
    """Colours typed by admins end up in style attributes: only plain hex passes."""
    return value if isinstance(value, str) and _HEX_COLOR.match(value) else default


def initials(name: str) -> str:
    words = [w for w in re.split(r"\s+", name or "") if w and w[0].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()
