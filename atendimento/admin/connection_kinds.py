"""How a saved secret of a connection is shown (masked) and recognised when a client
sends the mask back. What each kind keeps in ``Connection.settings`` is its spec's
(``channels.registry.SPECS``, declared beside each adapter)."""
from __future__ import annotations


def mask(value: str | None) -> str:
    """What a saved secret looks like afterwards: enough to recognise it, not to use it."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) >= 12 else "••••"


def is_mask_of(candidate, value: str | None) -> bool:
    """A client that sends back the masked value it read means "unchanged"."""
    return isinstance(candidate, str) and bool(value) and candidate == mask(value)
