"""Small helpers the adapters share to turn provider payloads into our messages."""
from __future__ import annotations

from datetime import datetime, timezone

from flask_babel import gettext as _


def as_text(value) -> str:
    """A provider field as a string: numbers become text, anything else becomes ''."""
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()


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


def contact_body(name: str, phones: list[str]) -> str:
    phones = [p for p in phones if p]
    return "👤 " + " · ".join([as_text(name) or "?", *phones])
