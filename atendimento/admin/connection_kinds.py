"""What each connection kind keeps in ``Connection.settings`` (SPEC §6).

Declared once: the service validates against it, the page draws its form from it,
and the OpenAPI document lists the same keys.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Setting:
    key: str
    label: object
    required: bool = False
    url: bool = False
    secret: bool = False  # masked once saved; blank on edit keeps the old value
    generated: bool = False  # made by us when left blank (the provider is told it)
    placeholder: str = ""
    help: object = ""


KIND_LABELS = {
    "whatsapp_cloud": _l("WhatsApp Cloud API"),
    "evolution": _l("Evolution API (WhatsApp)"),
    "telegram": _l("Telegram"),
    "generic": _l("Generic webhook"),
}

SETTINGS = {
    "whatsapp_cloud": (
        Setting("phone_number_id", _l("Phone number ID"), required=True,
                help=_l("The number's ID in Meta's WhatsApp Manager (not the phone number).")),
        Setting("access_token", _l("Access token"), required=True, secret=True),
        Setting("verify_token", _l("Verify token"), generated=True,
                help=_l("Paste it in Meta's webhook settings with the webhook URL. Left blank, one is made.")),
        Setting("base_url", _l("API base URL"), url=True, placeholder="https://graph.facebook.com/v21.0",
                help=_l("Leave blank for the default.")),
    ),
    "evolution": (
        Setting("base_url", _l("API base URL"), required=True, url=True, placeholder="https://evolution.example.com"),
        Setting("instance", _l("Instance name"), required=True),
        Setting("apikey", _l("API key"), required=True, secret=True),
    ),
    "telegram": (
        Setting("bot_token", _l("Bot token"), required=True, secret=True, help=_l("As given by @BotFather.")),
        Setting("base_url", _l("API base URL"), url=True, placeholder="https://api.telegram.org",
                help=_l("Leave blank for the default.")),
    ),
    "generic": (
        Setting("outbound_url", _l("Outbound URL"), required=True, url=True,
                placeholder="https://gateway.example.com/send",
                help=_l("Replies are POSTed here, signed with the signing secret.")),
    ),
}

# What ``Connection.secret`` means to each kind, for the form's label and help.
SECRET_LABELS = {
    "whatsapp_cloud": (_l("App secret"), _l("From Meta's app settings; it checks X-Hub-Signature-256.")),
    "evolution": (_l("Signing secret"), _l("Not used by Evolution API, which is checked with the API key.")),
    "telegram": (_l("Secret token"), _l("Sent by Telegram in X-Telegram-Bot-Api-Secret-Token.")),
    "generic": (_l("Signing secret"), _l("HMAC-SHA256 key of X-Signature-256, both ways.")),
}

# Kinds whose signing secret comes from the provider, so we cannot invent it.
SECRET_FROM_PROVIDER = {"whatsapp_cloud"}

SECRET_SETTING_KEYS = {s.key for settings in SETTINGS.values() for s in settings if s.secret}
ALL_SETTING_KEYS = sorted({s.key for settings in SETTINGS.values() for s in settings})


def mask(value: str | None) -> str:
    """What a saved secret looks like afterwards: enough to recognise it, not to use it."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) >= 12 else "••••"


def is_mask_of(candidate, value: str | None) -> bool:
    """A client that sends back the masked value it read means "unchanged"."""
    return isinstance(candidate, str) and bool(value) and candidate == mask(value)
