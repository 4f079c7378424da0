"""Small helpers the adapters share to turn provider payloads into our messages.

Provider payloads are read through declared pydantic models (``ProviderModel`` and the
``Str`` / ``Number`` field types below), one item (a message, a status) at a time: a
field of the wrong type makes that item unreadable (``Unreadable``), never the request
a 500. The models allow undeclared keys (providers add fields every month) and take
numbers where text is expected (ids come as either), as providers really send them.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any

from flask_babel import gettext as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

# NUL (PostgreSQL's text refuses it) and UTF-16 surrogates, which in a Python string
# can only be lone halves (JSON's "\ud800"): neither can be stored nor encoded.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _to_text(value):
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("expected text or a number")
    return clean(str(value)).strip()


def _to_number(value):
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("expected a number")
    return float(value)


# Text of a provider payload: a string or a number (ids come as either), never an object.
Str = Annotated[str, BeforeValidator(_to_text)]
# A number, or a string holding one (coordinates, timestamps); None when absent.
Number = Annotated[float | None, BeforeValidator(_to_number)]


class ProviderModel(BaseModel):
    """A part of a provider payload, declared: unknown keys are kept, not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


@dataclass
class Unreadable:
    """One item of a webhook that could not be read: logged and counted, never stored."""

    reason: str


def read_item(read, raw) -> Any:
    """``read(raw)``, or ``Unreadable`` when a field of ``raw`` has a type we did not
    expect. A provider's one odd item must not fail the others of its batch."""
    try:
        return read(raw)
    except ValidationError as error:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return Unreadable(f"{where}: {first.get('msg', 'invalid')}")


def clean(text: str) -> str:
    """``text`` without the characters no column can hold (NUL, lone surrogates)."""
    return _UNSTORABLE.sub("", text) if isinstance(text, str) else text


def fit(text: str | None, limit: int) -> str | None:
    """Free text cut to a column of ``limit`` characters."""
    if text is None:
        return None
    text = clean(text)
    return text if len(text) <= limit else text[:limit].rstrip()


def fit_id(value: str | None, limit: int) -> str | None:
    """An identifier cut to a column of ``limit`` characters: a long one keeps its head
    and ends in a digest of the whole, so two ids that differ only past the limit stay
    two (they are what redeliveries and identities are matched on)."""
    if value is None:
        return None
    value = clean(value)
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{value[:limit - 17]}~{digest}"


def as_text(value) -> str:
    """A provider field as a string: numbers become text, anything else becomes ''."""
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return clean(str(value)).strip()


def parse_timestamp(value) -> datetime | None:
    """Unix seconds (number or string) or ISO 8601; never in the future."""
    now = datetime.now(timezone.utc)
    moment = None
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
            seconds = float(value)
            moment = datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, timezone.utc)
        elif isinstance(value, str) and value:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    if moment is None:
        return None
    return min(moment, now)


def unsupported(kind: str) -> str:
    """The visible system line for a message type we cannot show: never drop it silently."""
    return _("unsupported type: %(type)s", type=(kind or "?")[:60])


def location_body(latitude, longitude, name: str = "", address: str = "") -> str:
    lines = [line for line in (as_text(name), as_text(address)) if line]
    if latitude is not None and longitude is not None:
        lines.append(f"https://maps.google.com/?q={latitude},{longitude}")
    return "\n".join(lines)


def poll_body(question: str, options: list[str]) -> str:
    """A poll the customer sent, readable: its question and options (answering it is not ours)."""
    options = [as_text(o) for o in options if as_text(o)]
    line = "📊 " + _("Poll: %(question)s", question=as_text(question) or "?")
    return line + (" — " + " · ".join(options) if options else "")


def contact_body(name: str, phones: list[str]) -> str:
    phones = [p for p in phones if p]
    return "👤 " + " · ".join([as_text(name) or "?", *phones])
