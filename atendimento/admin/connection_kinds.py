"""What each connection kind keeps in ``Connection.settings`` (SPEC §6), read from the
kinds' specs (``channels.registry.SPECS``, each declared beside its adapter), plus how a
saved secret is shown.

The tables here are views of the specs for the modules that look kinds up by name; new
code can ask ``SPECS[kind]`` (or ``connection.spec``) directly.
"""
from __future__ import annotations

from ..channels.registry import SPECS
from ..channels.spec import Setting  # noqa: F401 - the settings' type, for the modules that name it

KIND_LABELS = {kind: spec.label for kind, spec in SPECS.items()}
SETTINGS = {kind: spec.settings for kind, spec in SPECS.items()}
# What ``Connection.secret`` means to each kind, for the form's label and help.
SECRET_LABELS = {kind: (spec.secret_label, spec.secret_help) for kind, spec in SPECS.items()}
# Kinds whose signing secret comes from the provider, so we cannot invent it.
SECRET_FROM_PROVIDER = {kind for kind, spec in SPECS.items() if spec.secret_from_provider}

SECRET_SETTING_KEYS = {key for spec in SPECS.values() for key in spec.secret_keys}
ALL_SETTING_KEYS = sorted({s.key for spec in SPECS.values() for s in spec.settings})


def mask(value: str | None) -> str:
    """What a saved secret looks like afterwards: enough to recognise it, not to use it."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) >= 12 else "••••"


def is_mask_of(candidate, value: str | None) -> bool:
    """A client that sends back the masked value it read means "unchanged"."""
    return isinstance(candidate, str) and bool(value) and candidate == mask(value)
