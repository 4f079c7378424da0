"""Reading admin input (a JSON body or a page's form, already turned into a dict).

One reader for both doors, so a page and the API refuse the same things with the
same per-field messages. With ``partial=True`` (a PATCH) a missing key means
"leave as is"; otherwise a missing key takes its default or is required.
"""
from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from ..errors import InvalidInput
from ..extensions import db
from ..ids import parse_id as as_int  # noqa: F401  (the name the admin modules use)

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LANGUAGES = ("pt_BR", "en")
# Each language named in itself, so anyone finds theirs whatever the page speaks.
LANGUAGE_OPTIONS = (("pt_BR", "Português (Brasil)"), ("en", "English"))
MIN_PASSWORD = 8
MAX_PASSWORD = 200
_MISSING = object()


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


class Fields:
    """Collects clean values in ``values`` and messages in ``errors``; ``check()`` raises."""

    def __init__(self, data, *, partial: bool = False):
        self.data = data if isinstance(data, dict) else {}
        self.partial = partial
        self.values: dict = {}
        self.errors: dict = {}

    def _raw(self, key, default):
        if key in self.data:
            return self.data[key]
        return _MISSING if self.partial else default

    def _fail(self, key, message) -> None:
        self.errors.setdefault(key, message)

    def text(self, key, *, max_length: int, required: bool = False, default: str = "") -> None:
        raw = self._raw(key, default)
        if raw is _MISSING:
            return
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            return self._fail(key, _("Must be text."))
        value = raw.strip()
        if required and not value:
            return self._fail(key, _("Required."))
        if "\x00" in value:  # PostgreSQL refuses NUL in text; say so instead of failing later
            return self._fail(key, _("Contains characters that are not allowed."))
        if len(value) > max_length:
            return self._fail(key, _("At most %(n)s characters.", n=max_length))
        self.values[key] = value

    def color(self, key, *, default: str) -> None:
        raw = self._raw(key, default)
        if raw is _MISSING:
            return
        if not isinstance(raw, str) or not COLOR.match(raw.strip()):
            return self._fail(key, _("Use a colour like #2f80ed."))
        self.values[key] = raw.strip().lower()

    def integer(self, key, *, minimum: int, maximum: int, default=None) -> None:
        raw = self._raw(key, default)
        if raw is _MISSING or raw is None:
            return
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", raw):
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            return self._fail(key, _("Must be a whole number."))
        if not minimum <= raw <= maximum:
            return self._fail(key, _("Must be between %(min)s and %(max)s.", min=minimum, max=maximum))
        self.values[key] = raw

    def boolean(self, key, *, default: bool) -> None:
        raw = self._raw(key, default)
        if raw is _MISSING:
            return
        if not isinstance(raw, bool):
            return self._fail(key, _("Must be true or false."))
        self.values[key] = raw

    def choice(self, key, options, *, default=None, required: bool = True) -> None:
        raw = self._raw(key, default)
        if raw is _MISSING:
            return
        if raw in (None, "") and not required:
            self.values[key] = None
            return
        if raw not in options:
            return self._fail(key, _("Choose one of: %(options)s.", options=", ".join(options)))
        self.values[key] = raw

    def email(self, key) -> None:
        raw = self._raw(key, None)
        if raw is _MISSING:
            return
        if not isinstance(raw, str) or not raw.strip():
            return self._fail(key, _("Required."))
        try:
            value = validate_email(raw.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            return self._fail(key, _("Not a valid e-mail address."))
        if len(value) > 254:
            return self._fail(key, _("At most %(n)s characters.", n=254))
        self.values[key] = value.lower()

    def password(self, key, *, required: bool) -> None:
        raw = self._raw(key, None)
        if raw is _MISSING or (raw in (None, "") and not required):
            return
        if not isinstance(raw, str) or not raw:
            return self._fail(key, _("Required."))
        if len(raw) < MIN_PASSWORD:
            return self._fail(key, _("Use at least %(n)s characters.", n=MIN_PASSWORD))
        if len(raw) > MAX_PASSWORD:
            return self._fail(key, _("At most %(n)s characters.", n=MAX_PASSWORD))
        self.values[key] = raw

    def timezone(self, key) -> None:
        raw = self._raw(key, None)
        if raw is _MISSING:
            return
        if raw in (None, ""):
            self.values[key] = None
        elif not isinstance(raw, str) or raw not in timezones():
            self._fail(key, _("Unknown time zone."))
        else:
            self.values[key] = raw

    def url(self, key, *, required: bool) -> None:
        raw = self._raw(key, "")
        if raw is _MISSING:
            return
        raw = "" if raw is None else raw
        if not isinstance(raw, str):
            return self._fail(key, _("Must be text."))
        value = raw.strip()
        if "\x00" in value:
            return self._fail(key, _("Contains characters that are not allowed."))
        if not value:
            if required:
                return self._fail(key, _("Required."))
            self.values[key] = ""
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500:
            return self._fail(key, _("Use a full address starting with http:// or https://."))
        self.values[key] = value.rstrip("/")

    def ids(self, key, model, *, unknown_message: str) -> None:
        """A list of ids of existing ``model`` rows, kept as the rows themselves."""
        raw = self._raw(key, [])
        if raw is _MISSING:
            return
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            return self._fail(key, _("Must be a list of ids."))
        wanted = set()
        for item in raw:
            if isinstance(item, str) and item.strip().isdigit():
                item = int(item)
            if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**31:
                return self._fail(key, _("Must be a list of ids."))
            wanted.add(item)
        rows = list(db.session.scalars(select(model).where(model.id.in_(wanted)))) if wanted else []
        if len(rows) != len(wanted):
            return self._fail(key, unknown_message)
        self.values[key] = rows

    def row(self, key, model, *, unknown_message: str, where=None) -> None:
        """One id of an existing ``model`` row (optionally narrowed by ``where``), kept as the
        row; blank or null is None (whether that is allowed is the caller's rule)."""
        raw = self._raw(key, None)
        if raw is _MISSING:
            return
        if raw in (None, ""):
            self.values[key] = None
            return
        ident = as_int(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else None
        if ident is None:
            return self._fail(key, _("Must be an id."))
        query = select(model).where(model.id == ident)
        if where is not None:
            query = query.where(where)
        found = db.session.scalar(query)
        if found is None:
            return self._fail(key, unknown_message)
        self.values[key] = found

    def check(self) -> dict:
        if self.errors:
            raise InvalidInput(_("Please correct the highlighted fields."), fields=self.errors)
        return self.values
