"""The time-zone choice of the profile and user forms: Brazil's zones first, under
names people know, then every other zone by region, each with its offset now.

Only the labels are ours: the value stays the IANA name, checked by
``fields.timezones()`` as before.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask_babel import gettext as _, lazy_gettext as _l

from ..schema import timezones

# East to west after Brasília; the states say which one a city belongs to.
BRAZIL = (
    ("America/Sao_Paulo", _l("Brasília (São Paulo, Rio, BH, South…)")),
    ("America/Noronha", "Fernando de Noronha"),
    ("America/Bahia", "Salvador (Bahia)"),
    ("America/Fortaleza", "Fortaleza (Ceará, Maranhão, Piauí, RN, Paraíba)"),
    ("America/Recife", "Recife (Pernambuco)"),
    ("America/Maceio", "Maceió (Alagoas, Sergipe)"),
    ("America/Belem", "Belém (Pará, Amapá)"),
    ("America/Araguaina", "Araguaína (Tocantins)"),
    ("America/Santarem", _l("Santarém (western Pará)")),
    ("America/Campo_Grande", "Campo Grande (Mato Grosso do Sul)"),
    ("America/Cuiaba", "Cuiabá (Mato Grosso)"),
    ("America/Manaus", "Manaus (Amazonas)"),
    ("America/Porto_Velho", "Porto Velho (Rondônia)"),
    ("America/Boa_Vista", "Boa Vista (Roraima)"),
    ("America/Eirunepe", _l("Eirunepé (western Amazonas)")),
    ("America/Rio_Branco", "Rio Branco (Acre)"),
)
QUARTER_S = 15 * 60
REGIONS = (
    ("America", _l("Americas")), ("Europe", _l("Europe")), ("Africa", _l("Africa")), ("Asia", _l("Asia")),
    ("Atlantic", _l("Atlantic")), ("Indian", _l("Indian Ocean")), ("Australia", _l("Australia")),
    ("Pacific", _l("Pacific")), ("Antarctica", _l("Antarctica")), ("Arctic", _l("Arctic")),
)


def utc_offset(zone: str, now: datetime | None = None) -> str:
    """``UTC−03:00``: the zone's offset at ``now`` (so it follows daylight saving time)."""
    offset = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    sign = "−" if minutes < 0 else "+"  # a real minus sign, as in print
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


@lru_cache(maxsize=2)
def _offsets(quarter: int) -> dict[str, str]:
    """Every zone's offset in one quarter of an hour (no zone changes offset within one):
    loading ~600 zone files costs more than rendering the page."""
    at = datetime.fromtimestamp(quarter * QUARTER_S, timezone.utc)
    return {zone: utc_offset(zone, at) for zone in timezones()}


def timezone_groups(now: datetime | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(group label, [(IANA name, label), ...]), ...]``: Brazil, then each region, then the rest."""
    offset = _offsets(int((now or datetime.now(timezone.utc)).timestamp() // QUARTER_S))
    known = set(timezones())
    brazil = [(zone, f"{label} — {offset[zone]}") for zone, label in BRAZIL if zone in known]
    listed = {zone for zone, _label in brazil}
    by_region: dict[str, list[tuple[str, str]]] = {region: [] for region, _label in REGIONS}
    others = []
    for zone in timezones():
        if zone in listed:
            continue
        region, _sep, place = zone.partition("/")
        if place and region in by_region:
            by_region[region].append((zone, f"{place.replace('_', ' ').replace('/', ' / ')} — {offset[zone]}"))
        else:  # UTC, Etc/GMT+3, old aliases such as Brazil/East
            others.append((zone, f"{zone.replace('_', ' ')} — {offset[zone]}"))
    groups = [(_("Brazil"), brazil)]
    groups += [(str(label), by_region[region]) for region, label in REGIONS if by_region[region]]
    groups.append((_("Other"), others))
    return groups
