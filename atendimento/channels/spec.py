"""What the rest of the app knows about a channel kind, declared once beside its adapter.

Each adapter class (``channels/<kind>.py``) carries a ``ChannelSpec`` as ``spec``: the
label and description the admin pages show, the keys the kind keeps in
``Connection.settings`` (the admin service validates them, the form draws them, the
OpenAPI document lists them), what ``Connection.secret`` means to it, and the
capabilities other code asks about. ``registry.SPECS`` collects them; code outside
``channels/`` asks a spec (``Connection.spec``) and never compares a kind's name.

The adapters, their base and this module import nothing of the app's models, services
or blueprints, so ``models`` takes its kinds (and ``Connection.spec``) from the registry
without a cycle; tests/channels/test_specs.py keeps it so.

Adding a kind = one adapter module with its spec, listed in ``registry``, plus one
migration that alters the ``ck_connections_kind`` CHECK (migrations are history: the
initial one keeps the first four kinds). Alembic does not compare CHECKs, so
tests/test_migrations.py inserts every registered kind into the migrated schema.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

MB = 1024 * 1024
MEDIA_KINDS = ("image", "audio", "video", "document")


@dataclass(frozen=True)
class MediaRules:
    """What the provider takes in one outgoing file: the largest size per kind (``"*"`` for
    any kind without its own), and the kinds on which a caption travels with the file. The
    composer checks both before uploading; the outbox never sees a file the channel refuses."""

    max_mb: dict = field(default_factory=dict)
    caption_kinds: tuple[str, ...] = MEDIA_KINDS
    # The MIME types the provider takes per kind; a kind not named takes any.
    types: dict = field(default_factory=dict)

    def max_bytes(self, kind: str) -> int | None:
        """The provider's limit for ``kind`` (stickers count as images), or None."""
        kind = "image" if kind == "sticker" else kind if kind in MEDIA_KINDS else "document"
        limit = self.max_mb.get(kind, self.max_mb.get("*"))
        return int(limit * MB) if limit else None

    def takes_caption(self, kind: str) -> bool:
        return ("image" if kind == "sticker" else kind) in self.caption_kinds

    def accepted_types(self, kind: str) -> tuple[str, ...]:
        """The types of ``kind`` the provider takes; empty: any."""
        return tuple(self.types.get("image" if kind == "sticker" else kind, ()))


# WhatsApp's own limits, the same through Meta's API or a gateway (Evolution).
WHATSAPP_MEDIA = MediaRules(max_mb={"image": 5, "audio": 16, "video": 16, "document": 100},
                            caption_kinds=("image", "video", "document"))
# Meta's Cloud API also takes only these types ("Supported media types" of its reference);
# a gateway such as Evolution sends any file as a document, as the WhatsApp app does.
WHATSAPP_CLOUD_MEDIA = MediaRules(
    max_mb=WHATSAPP_MEDIA.max_mb, caption_kinds=WHATSAPP_MEDIA.caption_kinds,
    types={"image": ("image/jpeg", "image/png"),
           "audio": ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"),
           "video": ("video/mp4", "video/3gpp"),
           "document": ("text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
                        "application/vnd.ms-powerpoint",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        "application/vnd.openxmlformats-officedocument.presentationml.presentation")})


@dataclass(frozen=True)
class Setting:
    """One key of ``Connection.settings``. Labels and help are lazy strings."""

    key: str
    label: object
    required: bool = False
    url: bool = False
    secret: bool = False  # masked once saved; blank on edit keeps the old value
    generated: bool = False  # made by us when left blank, shown for the provider and rotatable
    placeholder: str = ""
    help: object = ""
    # A closed list of (value, label): the form shows a select, the first is the default.
    choices: tuple = ()


@dataclass(frozen=True)
class ChannelSpec:
    kind: str  # the URL's and the database's name of the kind
    label: object
    description: object  # on the page that picks a kind: what it is, what it needs
    # Where a contact is reached: one identity per channel, so connections of kinds on the
    # same channel (two WhatsApp gateways) reach the same contact and can take over its ticket.
    channel: str
    settings: tuple[Setting, ...]
    secret_label: object  # what ``Connection.secret`` is to this kind
    secret_help: object
    # The signing secret comes from the provider: required on create, never made by us.
    secret_from_provider: bool = False
    # How long after the contact's last message the provider still takes free-form messages
    # (WhatsApp's customer-service window), and what the attendant is told once it closed.
    reply_window: timedelta | None = None
    reply_window_notice: object = ""
    # A retry of an attempt whose outcome we never saw cannot send twice (the provider
    # deduplicates on our id). Otherwise such an attempt is reconciled, never blindly resent.
    idempotent: bool = False
    # The provider reports our own sends back by webhook (a status with our reference, an
    # echo), so an attempt in doubt can be settled by waiting for it.
    reconciles_by_webhook: bool = False
    # Webhooks may carry whole files inline (base64), so they get a larger body limit.
    inline_media: bool = False
    # Outgoing files are handed over as a signed public link the gateway downloads.
    media_by_link: bool = False
    # The gateway may append the event's name to the webhook URL (``…/<token>/messages-upsert``).
    webhook_by_events: bool = False
    # The provider carries voice calls answered and placed in the page (WhatsApp Cloud API Calling).
    voice_calls: bool = False
    # Sizes and captions of outgoing files (WhatsApp: images 5 MB, audio and video 16 MB…).
    media: MediaRules = MediaRules()

    @property
    def generated_settings(self) -> tuple[Setting, ...]:
        """What we make for the provider to be told (WhatsApp's verify token): shown on the
        connection's page, and rotatable like the secret and the webhook URL."""
        return tuple(s for s in self.settings if s.generated)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The settings masked once saved."""
        return tuple(s.key for s in self.settings if s.secret)
