"""The one small interface every channel kind implements.

A webhook request becomes a list of ``Incoming`` messages and ``StatusUpdate``s
(``parse``); the ingest layer hands them to the services. An outgoing message goes
out through ``send``, which answers the provider's message id. Adapters never touch
the database: they translate between a provider's wire format and ours.

A leaf: it imports nothing of the app, so the registry (and each kind's spec) can be
read by the admin, the API document and the models' users without an import cycle.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from .spec import ChannelSpec


class WebhookRejected(Exception):
    """A webhook request we refuse; nothing is stored."""

    def __init__(self, status: int, reason: str):
        self.status = status
        self.reason = reason
        super().__init__(reason)


class DeliveryError(Exception):
    """Sending failed. ``permanent`` failures (a bad recipient, a refused token) are not
    retried; the others (network, 5xx, rate limits) are, with backoff."""

    def __init__(self, message: str, *, permanent: bool = False):
        self.permanent = permanent
        super().__init__(message)


@dataclass
class Inbound:
    """A customer's message as a channel adapter hands it over."""

    sender_id: str
    body: str = ""
    kind: str = "text"
    name: str | None = None
    phone: str | None = None
    external_id: str | None = None
    timestamp: datetime | None = None
    media: dict = field(default_factory=dict)  # path, mime, name, size, duration once stored
    voice: bool = False  # the provider says the audio was recorded as a voice note
    choice: str | None = None  # the option id of a native menu reply (WhatsApp list/buttons)
    reaction: dict | None = None  # {"emoji", "target": external id}; ingest writes its line ("" emoji: removed)
    quoted_external_id: str | None = None  # the message this one replies to, by its id at the provider
    # Other identities of the same person on this channel (an Evolution ``@lid`` sent
    # together with the phone): linked to the contact, merging one already split.
    aliases: list[str] = field(default_factory=list)


@dataclass
class MediaRef:
    """Where a provider keeps an inbound file. ``ref`` is small and JSON-serialisable (it
    is stored for the retries); ``data`` is the content when the webhook carried it inline."""

    ref: dict
    mime: str | None = None
    filename: str | None = None
    data: bytes | None = None
    inline: str | memoryview | None = None  # or the webhook's base64 text (or a view of it), decoded as stored


@dataclass
class Incoming:
    """One message from a webhook. ``from_me`` marks a message the business sent from
    outside the app (Evolution's phone): it is stored as outgoing, never as the customer's."""

    inbound: Inbound
    media: MediaRef | None = None
    from_me: bool = False


@dataclass
class Correction:
    """A customer's edit (the new ``body``) or deletion (``deleted``) of a message they
    sent before, named by its external id (``target``)."""

    sender_id: str
    target: str
    body: str = ""
    deleted: bool = False
    at: datetime | None = None


@dataclass
class StatusUpdate:
    """A delivery status of one of our messages, already mapped onto ours."""

    external_id: str
    status: str  # sent / delivered / read / failed
    error: str | None = None
    reference: int | None = None  # our Message.id when the provider echoes it back


@dataclass
class Fetched:
    data: bytes
    mime: str | None = None
    filename: str | None = None


@dataclass
class Outbound:
    """What an adapter needs to send one message."""

    message_id: int
    to: str  # the contact's identity on this channel (phone, chat id, sender id)
    kind: str
    text: str
    media_path: str | None = None  # absolute path of the stored file
    media_mime: str | None = None
    media_name: str | None = None
    media_url: str | None = None  # a signed public link, for gateways that fetch the file
    voice: bool = False  # an OGG/Opus recording to send as a voice note, not as an audio file
    # The message this one answers (Responder): its id at the provider and its text, for
    # the channel's reply reference. None when it never reached the provider.
    quoted_external_id: str | None = None
    quoted_text: str = ""
    extra: dict = field(default_factory=dict)


class ChannelAdapter:
    # The kind's label, settings, secret and capabilities: everything the rest of the app
    # asks about it (channels/spec.py). The adapter's code is the wire format.
    spec: ChannelSpec
    default_base_url = ""

    def __init__(self, connection):
        # Plain copies: an adapter must not lazy-load from the database mid-request to a provider
        # (that would reopen a transaction, and on SQLite the write lock, across the network call).
        self.connection_id = connection.id
        self.secret = connection.secret
        self.settings = dict(connection.settings or {})

    @property
    def base_url(self) -> str:
        return (self.settings.get("base_url") or self.default_base_url).rstrip("/")

    def configured_hosts(self) -> set[str]:
        """Hosts an admin configured for this connection (its base and outbound URLs): a
        media URL in a webhook may point there even when it is on the local network."""
        urls = [self.base_url, *(v for v in self.settings.values() if isinstance(v, str) and "://" in v)]
        return {urlsplit(url).hostname for url in urls if urlsplit(url).hostname}

    # -- inbound -------------------------------------------------------------

    def challenge(self, args) -> str:
        """Answer a provider's GET verification; most kinds have none."""
        raise WebhookRejected(405, "this channel takes POST only")

    def authenticate(self, headers, raw: bytes) -> None:
        """Raise ``WebhookRejected`` (401 missing, 403 wrong) unless the request is genuine."""
        raise NotImplementedError

    def parse(self, payload) -> list:
        """``Incoming``, ``StatusUpdate``, ``Correction`` and ``parsing.Unreadable`` items."""
        raise NotImplementedError

    def fetch_media(self, media: MediaRef) -> Fetched:
        """Download an inbound file; raise ``MediaUnavailable``."""
        raise NotImplementedError

    # -- outbound ------------------------------------------------------------

    def send(self, outbound: Outbound) -> str | None:
        """Deliver one message; answer the provider's id or raise ``DeliveryError``."""
        raise NotImplementedError


def check_hmac_signature(header_value: str | None, secret: str, raw: bytes) -> None:
    """``sha256=<hex>`` of the raw body, compared in constant time."""
    if not header_value:
        raise WebhookRejected(401, "signature missing")
    expected = "sha256=" + hmac.new((secret or "").encode(), raw, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(header_value.strip().lower().encode(), expected.encode()):
        raise WebhookRejected(403, "signature does not match")


def check_shared_secret(given: str | None, expected: str | None) -> None:
    if not given:
        raise WebhookRejected(401, "secret missing")
    if not expected or not hmac.compare_digest(str(given).encode(), str(expected).encode()):
        raise WebhookRejected(403, "secret does not match")


def sign(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new((secret or "").encode(), raw, hashlib.sha256).hexdigest()


def backoff_delay(attempts: int, base_seconds: float, cap_seconds: float = 3600) -> float:
    """Exponential backoff: base, 2×base, 4×base… after the 1st, 2nd, 3rd failure, capped."""
    return min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1))
