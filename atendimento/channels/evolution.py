"""Evolution API v2 (a self-hosted WhatsApp gateway on Baileys).

In: ``{"event", "instance", "data", "apikey", ...}``. ``messages.upsert`` carries a
message (``key``, ``pushName``, ``message``, ``messageType``, ``messageTimestamp``);
with ``webhook_base64`` on, files come inline as ``message.base64``, with S3 on as
``message.mediaUrl``, otherwise they are fetched with ``getBase64FromMediaMessage``.
``messages.update`` carries statuses (``SERVER_ACK``/``DELIVERY_ACK``/``READ``/``PLAYED``/
``ERROR``). A ``fromMe`` message (sent from the business phone, or ``send.message``
for our own API sends) is an outgoing echo, never the customer's. A ``reactionMessage``
(``key.id`` reacted to, ``text`` the emoji, empty once removed) is the customer's reaction,
whose line ingest writes; the business's own reactions are not stored. The request must
carry the instance's API key (``apikey`` in the body, or the ``apikey`` header).

Out: ``POST {base}/message/sendText/{instance}``, ``/message/sendMedia/{instance}``
(image, video, document, audio file; base64) and ``/message/sendWhatsAppAudio/{instance}``
(voice note). No idempotency key, but every send is echoed back (``send.message`` /
``messages.upsert`` with ``fromMe``), which settles an attempt whose answer was lost.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from urllib.parse import quote

from flask_babel import gettext as _, lazy_gettext as _l

from ..media import MediaUnavailable, download
from . import http
from .base import (ChannelAdapter, DeliveryError, Fetched, Inbound, Incoming, MediaRef, Outbound,
                   StatusUpdate, WebhookRejected, check_shared_secret)
from .parsing import as_text, contact_body, location_body, parse_timestamp, unsupported
from .spec import ChannelSpec, Setting

MEDIA_TYPES = {"imageMessage": "image", "videoMessage": "video", "audioMessage": "audio",
               "documentMessage": "document", "stickerMessage": "sticker", "ptvMessage": "video"}
WRAPPERS = ("ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension",
            "documentWithCaptionMessage", "editedMessage")
# Not content: signalling Baileys passes along (deletions, key exchange, context).
IGNORED_TYPES = {"protocolMessage", "senderKeyDistributionMessage", "messageContextInfo", "base64", "mediaUrl"}
STATUS_MAP = {"SERVER_ACK": "sent", "DELIVERY_ACK": "delivered", "READ": "read", "PLAYED": "read",
              "ERROR": "failed", 2: "sent", 3: "delivered", 4: "read", 5: "read", 0: "failed"}
_TEL = re.compile(r"^TEL[^:]*:(.+)$", re.MULTILINE)


class EvolutionAdapter(ChannelAdapter):
    spec = ChannelSpec(
        kind="evolution",
        label=_l("Evolution API (WhatsApp)"),
        description=_l("A self-hosted WhatsApp gateway. You need its address, the instance name and the API key."),
        channel="whatsapp",
        settings=(
            Setting("base_url", _l("API base URL"), required=True, url=True,
                    placeholder="https://evolution.example.com"),
            Setting("instance", _l("Instance name"), required=True),
            Setting("apikey", _l("API key"), required=True, secret=True),
        ),
        secret_label=_l("Signing secret"),
        secret_help=_l("Not used by Evolution API, which is checked with the API key."),
        reconciles_by_webhook=True,
        inline_media=True,
    )

    # -- inbound -------------------------------------------------------------

    def authenticate(self, headers, raw: bytes) -> None:
        given = headers.get("apikey")
        if not given:
            try:
                body = json.loads(raw)
            except ValueError:
                raise WebhookRejected(400, "malformed JSON") from None
            given = body.get("apikey") if isinstance(body, dict) else None
        check_shared_secret(given, self.settings.get("apikey"))

    def parse(self, payload) -> list[Incoming | StatusUpdate]:
        if not isinstance(payload, dict) or "event" not in payload:
            raise WebhookRejected(400, "not an Evolution API event")
        instance = self.settings.get("instance")
        if instance and payload.get("instance") not in (None, instance):
            return []  # a global webhook also reports the other instances
        event = as_text(payload.get("event")).lower().replace("_", ".")
        data = payload.get("data")
        records = [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]
        if event in ("messages.upsert", "send.message"):
            parsed = (self._message(r, echo=event == "send.message") for r in records)
        elif event == "messages.update":
            parsed = (self._status(r) for r in records)
        else:
            return []
        return [item for item in parsed if item is not None]

    def _message(self, record: dict, *, echo: bool) -> Incoming | None:
        key = record.get("key") or {}
        jid = as_text(key.get("remoteJid"))
        if not jid or not jid.endswith(("@s.whatsapp.net", "@lid", "@c.us")):
            return None  # groups, status broadcasts and channels are not conversations
        if jid.endswith("@lid"):  # a hidden number: prefer the phone JID when Evolution gives it
            jid = as_text(key.get("remoteJidAlt") or key.get("senderPn")) or jid
        user = jid.split("@", 1)[0]
        phone = user if jid.endswith(("@s.whatsapp.net", "@c.us")) else None
        from_me = bool(key.get("fromMe")) or echo
        message = record.get("message") if isinstance(record.get("message"), dict) else {}
        inline = message.get("base64")
        media_url = as_text(message.get("mediaUrl"))
        for _unused in range(3):  # ephemeral / view-once / captioned documents wrap the real message
            wrapper = next((w for w in WRAPPERS if isinstance(message.get(w), dict)), None)
            if wrapper is None:
                break
            message = message[wrapper].get("message") or {}
        kind = as_text(record.get("messageType"))
        if kind in WRAPPERS or kind not in message:
            kind = next((k for k in message if k not in IGNORED_TYPES), kind)
        if kind in IGNORED_TYPES or (not kind and not message):
            return None
        inbound = Inbound(sender_id=phone or jid, phone=phone,
                          name=None if from_me else (as_text(record.get("pushName")) or None),
                          external_id=as_text(key.get("id")) or None,
                          timestamp=parse_timestamp(record.get("messageTimestamp")))
        content = message.get(kind) if isinstance(message.get(kind), dict) else {}
        if kind == "conversation":
            inbound.body = as_text(message.get("conversation"))
        elif kind == "extendedTextMessage":
            inbound.body = as_text(content.get("text"))
        elif kind in MEDIA_TYPES:
            inbound.kind, inbound.body = MEDIA_TYPES[kind], as_text(content.get("caption"))
            inbound.voice = kind == "audioMessage" and content.get("ptt") is True
            ref = {"key": {"id": as_text(key.get("id")), "remoteJid": as_text(key.get("remoteJid")),
                           "fromMe": bool(key.get("fromMe"))}}
            if media_url:
                ref["url"] = media_url
            return Incoming(inbound, MediaRef(ref, as_text(content.get("mimetype")) or None,
                                              as_text(content.get("fileName")) or None, _decode(inline)),
                            from_me=from_me)
        elif kind in ("locationMessage", "liveLocationMessage"):
            inbound.kind = "location"
            inbound.body = location_body(content.get("degreesLatitude"), content.get("degreesLongitude"),
                                         content.get("name"), content.get("address"))
        elif kind == "contactMessage":
            inbound.body = _vcard_body(content)
        elif kind == "contactsArrayMessage":
            inbound.body = "\n".join(_vcard_body(c) for c in content.get("contacts") or [] if isinstance(c, dict))
        elif kind == "listResponseMessage":
            inbound.body = as_text(content.get("title")) or as_text(
                (content.get("singleSelectReply") or {}).get("selectedRowId"))
        elif kind in ("buttonsResponseMessage", "templateButtonReplyMessage"):
            inbound.body = as_text(content.get("selectedDisplayText")) or as_text(
                content.get("selectedButtonId") or content.get("selectedId"))
        elif kind == "reactionMessage":  # ingest writes the line: it names the message reacted to
            if from_me:
                return None  # the business reacting from its phone: not a line of the conversation
            target = content.get("key") if isinstance(content.get("key"), dict) else {}
            inbound.kind, inbound.reaction = "system", {"emoji": as_text(content.get("text")),
                                                        "target": as_text(target.get("id")) or None}
            return Incoming(inbound)
        if not inbound.body and inbound.kind == "text":
            inbound.kind, inbound.body = "system", unsupported(kind)
        return Incoming(inbound, from_me=from_me)

    def _status(self, record: dict) -> StatusUpdate | None:
        key = record.get("key") if isinstance(record.get("key"), dict) else {}
        external_id = as_text(record.get("keyId") or key.get("id") or record.get("id"))
        raw_status = record.get("status", (record.get("update") or {}).get("status"))
        status = STATUS_MAP.get(raw_status.upper() if isinstance(raw_status, str) else raw_status)
        from_me = record.get("fromMe", key.get("fromMe", True))
        if not external_id or status is None or not from_me:
            return None  # statuses of the customer's messages (our own reads) change nothing here
        error = _("WhatsApp reported an error delivering this message.") if status == "failed" else None
        return StatusUpdate(external_id=external_id, status=status, error=error)

    def fetch_media(self, media: MediaRef) -> Fetched:
        if media.ref.get("url"):
            data, content_type = download(media.ref["url"], untrusted=True,
                                          trusted_hosts=self.configured_hosts())
            return Fetched(data, media.mime or content_type, media.filename)
        try:
            answer = self._call("chat/getBase64FromMediaMessage",
                                {"message": {"key": media.ref["key"]}, "convertToMp4": False})
        except DeliveryError as error:
            raise MediaUnavailable(str(error)) from None
        data = _decode(answer.get("base64") if isinstance(answer, dict) else None)
        if not data:
            raise MediaUnavailable(_("Evolution API did not return the file."))
        return Fetched(data, media.mime or answer.get("mimetype"), media.filename or answer.get("fileName"))

    # -- outbound ------------------------------------------------------------

    def send(self, outbound: Outbound) -> str | None:
        # Responder: Evolution quotes a message given its key and its content.
        quoted = ({"quoted": {"key": {"id": outbound.quoted_external_id},
                              "message": {"conversation": outbound.quoted_text}}}
                  if outbound.quoted_external_id else {})
        if outbound.kind == "text" or not outbound.media_path:
            answer = self._call("message/sendText", {"number": outbound.to, "text": outbound.text, **quoted})
        else:
            encoded = base64.b64encode(Path(outbound.media_path).read_bytes()).decode()
            if outbound.kind == "audio" and outbound.voice:
                answer = self._call("message/sendWhatsAppAudio",
                                    {"number": outbound.to, "audio": encoded, **quoted})
            else:  # an audio file goes as one (mediatype audio), not as a recording
                mediatype = outbound.kind if outbound.kind in ("image", "video", "audio") else "document"
                answer = self._call("message/sendMedia", {
                    "number": outbound.to, "mediatype": mediatype, "mimetype": outbound.media_mime,
                    "caption": outbound.text or "", "media": encoded, "fileName": outbound.media_name, **quoted,
                })
        key = answer.get("key") if isinstance(answer, dict) else None
        if not isinstance(key, dict) or not key.get("id"):
            raise DeliveryError(_("Evolution API answered without a message id."))
        return as_text(key["id"])

    def _call(self, path: str, body: dict):
        base, instance, apikey = self.base_url, self.settings.get("instance"), self.settings.get("apikey")
        if not base or not instance or not apikey:
            raise DeliveryError(_("The connection needs the API base URL, instance and API key."), permanent=True)
        try:
            response = http.request("POST", f"{base}/{path}/{quote(instance, safe='')}", json_body=body,
                                    headers={"apikey": apikey}, timeout=120)
        except http.TransportError as error:
            raise DeliveryError(str(error)) from None
        answer = response.json()
        if response.ok:
            return answer
        reason = answer.get("response", {}).get("message") if isinstance(answer, dict) and isinstance(
            answer.get("response"), dict) else None
        text = json.dumps(reason, ensure_ascii=False)[:300] if reason else response.text(300)
        raise DeliveryError(f"HTTP {response.status}: {text}", permanent=http.is_permanent(response.status))


def _decode(value) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode(value, validate=False) or None
    except (binascii.Error, ValueError):
        return None


def _vcard_body(contact: dict) -> str:
    phones = [p.strip() for p in _TEL.findall(as_text(contact.get("vcard")))]
    return contact_body(as_text(contact.get("displayName")), phones)
