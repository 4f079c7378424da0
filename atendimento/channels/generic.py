"""Generic webhooks (SPEC §8): any gateway that can POST JSON.

In: ``{"id", "from", "name", "text", "timestamp", "media": {"url", "mime_type",
"filename"}}`` or ``{"type": "status", "id", "status"}`` (one object or a list),
signed ``X-Signature-256: sha256=<hex HMAC of the body>`` with the connection secret.
Out: ``{"id", "to", "text", "media"}`` (``media.voice``: a voice note, OGG/Opus) POSTed, signed the same way, to the
connection's ``outbound_url``; the answer's ``id`` becomes the external id. Our
``id`` (also sent as ``Idempotency-Key``) lets the gateway drop a repeated attempt,
so retrying an attempt whose answer was lost cannot send twice.
"""
from __future__ import annotations

import mimetypes
from urllib.parse import urlsplit

from flask_babel import gettext as _, lazy_gettext as _l
from pydantic import Field

from ..media import download, kind_for
from . import http
from .base import (ChannelAdapter, DeliveryError, Fetched, Inbound, Incoming, MediaRef, Outbound,
                   StatusUpdate, WebhookRejected, check_hmac_signature, sign)
from .parsing import ProviderModel, Str, Unreadable, as_text, parse_timestamp, read_item, unsupported
from .spec import ChannelSpec, Setting

STATUS_MAP = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


class GenericMedia(ProviderModel):
    url: Str = ""
    mime_type: Str = ""
    filename: Str = ""
    voice: bool | None = None


class GenericItem(ProviderModel):
    """One message or status of a generic webhook (SPEC §8), declared."""

    type: Str = ""
    id: Str = ""
    from_: Str = Field("", alias="from")
    name: Str = ""
    text: Str = ""
    timestamp: Str = ""
    quoted_id: Str = ""  # the id the gateway gave the message this one replies to
    media: GenericMedia | None = None
    status: Str = ""
    error: Str = ""


class GenericAdapter(ChannelAdapter):
    spec = ChannelSpec(
        kind="generic",
        label=_l("Generic webhook"),
        description=_l("Any gateway that can POST JSON to a URL and receive our replies, signed with HMAC-SHA256."),
        channel="generic",
        settings=(
            Setting("outbound_url", _l("Outbound URL"), required=True, url=True,
                    placeholder="https://gateway.example.com/send",
                    help=_l("Replies are POSTed here, signed with the signing secret.")),
        ),
        secret_label=_l("Signing secret"),
        secret_help=_l("HMAC-SHA256 key of X-Signature-256, both ways."),
        idempotent=True,
        media_by_link=True,
    )

    def authenticate(self, headers, raw: bytes) -> None:
        check_hmac_signature(headers.get("X-Signature-256"), self.secret, raw)

    def parse(self, payload) -> list:
        items = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(item, dict) for item in items):
            raise WebhookRejected(400, "expected a JSON object or a list of objects")
        return [read_item(self._parse_one, item) for item in items if item]

    def _parse_one(self, raw: dict) -> Incoming | StatusUpdate | Unreadable:
        item = GenericItem.model_validate(raw)
        kind = item.type or "message"
        if kind == "status":
            status = STATUS_MAP.get(item.status.lower())
            if not item.id or status is None:
                return Unreadable("a status needs an id and one of sent/delivered/read/failed")
            return StatusUpdate(external_id=item.id, status=status, error=item.error)
        if not item.from_:
            return Unreadable("a message needs 'from'")
        sender = item.from_
        inbound = Inbound(sender_id=sender, name=item.name or None,
                          phone=sender if sender.lstrip("+").isdigit() else None,
                          external_id=item.id or None, timestamp=parse_timestamp(item.timestamp), body=item.text,
                          quoted_external_id=item.quoted_id or None)
        if kind != "message":
            inbound.kind, inbound.body = "system", unsupported(kind)
            return Incoming(inbound)
        if item.media is not None and item.media.url:
            inbound.voice = item.media.voice is True
            # The declared type (else the name's or the link's extension) decides the kind even
            # when the file cannot be fetched (it then waits for its retries as an image, not as
            # a text); once fetched, the bytes have the last word (media.kind_for).
            declared = (item.media.mime_type.split(";")[0].strip().lower()
                        or mimetypes.guess_type(item.media.filename)[0]
                        or mimetypes.guess_type(urlsplit(item.media.url).path)[0] or "")
            inbound.kind = kind_for(declared)
            return Incoming(inbound, MediaRef({"url": item.media.url}, item.media.mime_type or None,
                                              item.media.filename or None))
        if not inbound.body:
            return Unreadable("a message needs 'text' or 'media'")
        return Incoming(inbound)

    def fetch_media(self, media: MediaRef) -> Fetched:
        data, content_type = download(media.ref["url"], untrusted=True, trusted_hosts=self.configured_hosts())
        return Fetched(data, media.mime or content_type, media.filename)

    def send(self, outbound: Outbound) -> str | None:
        url = self.settings.get("outbound_url")
        if not url:
            raise DeliveryError(_("The connection has no outbound URL."), permanent=True)
        body = {"id": str(outbound.message_id), "to": outbound.to, "text": outbound.text}
        if outbound.quoted_external_id:  # Responder: the id the gateway gave the quoted message
            body["quoted_id"] = outbound.quoted_external_id
        if outbound.media_url:
            body["media"] = {"url": outbound.media_url, "mime_type": outbound.media_mime,
                             "filename": outbound.media_name}
            if outbound.voice:
                body["media"]["voice"] = True  # an OGG/Opus recording, to play as a voice note
        raw = http.json_bytes(body)
        headers = {"Content-Type": "application/json", "X-Signature-256": sign(self.secret, raw),
                   "Idempotency-Key": f"atendimento-{outbound.message_id}"}
        try:
            response = http.request("POST", url, data=raw, headers=headers)
        except http.TransportError as error:
            raise DeliveryError(str(error)) from None
        if not response.ok:
            answer = response.json()
            reason = answer.get("error") if isinstance(answer, dict) else None
            message = f"HTTP {response.status}: {as_text(reason) or response.text(300)}"
            raise DeliveryError(message, permanent=http.is_permanent(response.status))
        answer = response.json()
        return as_text(answer.get("id")) or None if isinstance(answer, dict) else None
