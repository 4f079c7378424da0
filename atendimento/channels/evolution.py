"""Evolution API v2 and v1 (a self-hosted WhatsApp gateway on Baileys).

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
(voice note): v2 takes the content's fields at the top of the body, v1 (the connection's
``api_version`` setting) inside ``textMessage`` / ``mediaMessage`` / ``audioMessage`` with
the quote in ``options``. A contact known only by a ``@lid`` is sent to that JID; one
with a phone too, to the phone. No idempotency key, but every send is echoed back (``send.message`` /
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
from . import evolution_payload as payload_model
from .base import (ChannelAdapter, Correction, DeliveryError, Fetched, Inbound, Incoming, MediaRef, Outbound,
                   StatusUpdate, WebhookRejected, check_shared_secret)
from .parsing import (Unreadable, as_text, contact_body, location_body, parse_timestamp, poll_body, read_item,
                      unsupported)
from .spec import WHATSAPP_MEDIA, ChannelSpec, Setting

MEDIA_TYPES = {"imageMessage": "image", "videoMessage": "video", "audioMessage": "audio",
               "documentMessage": "document", "stickerMessage": "sticker", "ptvMessage": "video"}
WRAPPERS = ("ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension",
            "documentWithCaptionMessage", "editedMessage")
POLL_TYPES = ("pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3")
# Not content: signalling Baileys passes along (deletions, key exchange, context).
IGNORED_TYPES = {"protocolMessage", "senderKeyDistributionMessage", "messageContextInfo", "base64", "mediaUrl"}
STATUS_MAP = {"SERVER_ACK": "sent", "DELIVERY_ACK": "delivered", "READ": "read", "PLAYED": "read",
              "ERROR": "failed", "2": "sent", "3": "delivered", "4": "read", "5": "read", "0": "failed"}
# WhatsApp writes ``item1.TEL;waid=5511…:+55 11 …`` (a vCard group prefix); others plain ``TEL;…:``.
_TEL = re.compile(r"^(?:[\w-]+\.)?TEL[^:\n]*:(.+)$", re.MULTILINE | re.IGNORECASE)


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
            Setting("api_version", _l("Evolution API version"), choices=(("v2", "v2"), ("v1", "v1")),
                    help=_l("The version your Evolution server runs: v1 servers take other request bodies.")),
        ),
        secret_label=_l("Signing secret"),
        secret_help=_l("Not used by Evolution API, which is checked with the API key."),
        reconciles_by_webhook=True,
        inline_media=True,
        webhook_by_events=True,  # Evolution's "Webhook by events" option
        media=WHATSAPP_MEDIA,
    )

    # -- inbound -------------------------------------------------------------

    def authenticate(self, headers, raw: bytes) -> None:
        given = headers.get("apikey")
        if not given:
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError):
                raise WebhookRejected(400, "malformed JSON") from None
            given = body.get("apikey") if isinstance(body, dict) else None
        check_shared_secret(given, self.settings.get("apikey"))

    def parse(self, payload) -> list:
        if not isinstance(payload, dict) or "event" not in payload:
            raise WebhookRejected(400, "not an Evolution API event")
        instance = self.settings.get("instance")
        if instance and payload.get("instance") not in (None, instance):
            return []  # a global webhook also reports the other instances
        event = as_text(payload.get("event")).lower().replace("_", ".")
        data = payload.get("data")
        records = data if isinstance(data, list) else [data]
        if event in ("messages.upsert", "send.message", "messages.edited"):
            parsed = (read_item(lambda raw: self._message(raw, echo=event == "send.message",
                                                          edited=event == "messages.edited"), r) for r in records)
        elif event == "messages.update":
            parsed = (read_item(self._status, r) for r in records)
        elif event == "messages.delete":
            parsed = (read_item(self._deletion, r) for r in records)
        else:
            return []
        return [item for item in parsed if item is not None]

    def _message(self, raw, *, echo: bool, edited: bool = False) -> Incoming | Correction | None:
        if not isinstance(raw, dict):
            return Unreadable("a record is not an object")
        record = payload_model.Record.model_validate(raw)
        key = record.key
        address = _address(key)
        if address is None:
            return None  # groups, status broadcasts and channels are not conversations
        sender, phone, aliases = address
        from_me = bool(key.fromMe) or echo
        message = record.message
        # Taken out of the payload: the media reference holds the only copy of a file's text,
        # dropped once it is decoded into the media folder.
        inline = message.pop("base64", None)
        media_url = as_text(message.get("mediaUrl"))
        for _unused in range(3):  # ephemeral / view-once / captioned documents wrap the real message
            wrapper = next((w for w in WRAPPERS if isinstance(message.get(w), dict)), None)
            if wrapper is None:
                break
            message = message[wrapper].get("message") or {}
            if not isinstance(message, dict):
                return Unreadable(f"{wrapper}.message is not an object")
        kind = record.messageType
        if kind in WRAPPERS or kind not in message:
            kind = next((k for k in message if k not in IGNORED_TYPES), kind)
        if "protocolMessage" in message and kind in ("protocolMessage", "editedMessage", "messageContextInfo", ""):
            kind = "protocolMessage"
        if (kind in IGNORED_TYPES and kind != "protocolMessage") or (not kind and not message):
            return None
        timestamp = parse_timestamp(record.messageTimestamp)
        model = payload_model.CONTENT.get(kind)
        content = model.model_validate(message.get(kind) or {}) if model is not None else None
        if kind == "protocolMessage":
            return None if from_me else _correction(content, sender, timestamp)
        inbound = Inbound(sender_id=sender, phone=phone, aliases=aliases,
                          name=None if from_me else (record.pushName or None),
                          external_id=key.id or None, timestamp=timestamp)
        context = getattr(content, "contextInfo", None) or record.contextInfo
        inbound.quoted_external_id = (context.stanzaId or None) if context else None
        if edited:  # messages.edited: the record names the edited message and carries its new text
            body = _text_of(kind, message, content)
            return None if from_me or not body or not key.id else Correction(sender, key.id, body=body, at=timestamp)
        if kind in MEDIA_TYPES:
            inbound.kind, inbound.body = MEDIA_TYPES[kind], content.caption
            inbound.voice = kind == "audioMessage" and content.ptt is True
            ref = {"key": {"id": key.id, "remoteJid": key.remoteJid, "fromMe": bool(key.fromMe)}}
            if media_url:
                ref["url"] = media_url
            return Incoming(inbound, MediaRef(ref, content.mimetype or None, content.fileName or None,
                                              inline=inline if isinstance(inline, str) and inline else None),
                            from_me=from_me)
        if kind in ("locationMessage", "liveLocationMessage"):
            inbound.kind = "location"
            inbound.body = location_body(content.degreesLatitude, content.degreesLongitude,
                                         content.name, content.address)
        elif kind == "reactionMessage":  # ingest writes the line: it names the message reacted to
            if from_me:
                return None  # the business reacting from its phone: not a line of the conversation
            inbound.kind, inbound.reaction = "system", {"emoji": content.text,
                                                        "target": (content.key.id if content.key else "") or None}
            return Incoming(inbound)
        elif kind == "pollUpdateMessage":  # a vote, end-to-end encrypted: that it happened is all we can show
            inbound.kind, inbound.body = "system", "📊 " + _("Voted in a poll (WhatsApp keeps the vote encrypted).")
        else:
            inbound.body = _text_of(kind, message, content)
        if not inbound.body and inbound.kind == "text":
            inbound.kind, inbound.body = "system", unsupported(kind)
        return Incoming(inbound, from_me=from_me)

    def _status(self, raw) -> StatusUpdate | Correction | None:
        record = payload_model.StatusRecord.model_validate(raw)
        key = record.key or payload_model.Key()
        external_id = record.keyId or key.id or record.id
        raw_status = record.status or (record.update.status if record.update else "")
        status = STATUS_MAP.get(raw_status.upper())
        from_me = record.fromMe if record.fromMe is not None else (key.fromMe if key.fromMe is not None else True)
        if not external_id or status is None or not from_me:
            return None  # statuses of the customer's messages (our own reads) change nothing here
        error = _("WhatsApp reported an error delivering this message.") if status == "failed" else None
        return StatusUpdate(external_id=external_id, status=status, error=error)

    def _deletion(self, raw) -> Correction | None:
        """``messages.delete``: the customer deleted a message for everyone (its key)."""
        if not isinstance(raw, dict):
            return Unreadable("a record is not an object")
        record = payload_model.Record.model_validate(raw if "key" in raw else {"key": raw})
        address = _address(record.key)
        if address is None or record.key.fromMe or not record.key.id:
            return None
        return Correction(address[0], record.key.id, deleted=True)

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
        kind, fields = _content(outbound)
        shape = _v1_body if self.settings.get("api_version") == "v1" else _v2_body
        answer = self._call(SEND_PATHS[kind], shape(outbound, kind, fields))
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


def _content(outbound: Outbound) -> tuple[str, dict]:
    """("text" | "audio" | "media", the fields both versions share) of one message."""
    if outbound.kind == "text" or not outbound.media_path:
        return "text", {"text": outbound.text}
    encoded = base64.b64encode(Path(outbound.media_path).read_bytes()).decode()
    if outbound.kind == "audio" and outbound.voice:
        return "audio", {"audio": encoded}
    # an audio file goes as one (mediatype audio), not as a recording
    mediatype = outbound.kind if outbound.kind in ("image", "video", "audio") else "document"
    return "media", {"mediatype": mediatype, "mimetype": outbound.media_mime, "caption": outbound.text or "",
                     "media": encoded, "fileName": outbound.media_name}


def _quoted(outbound: Outbound) -> dict | None:
    """Responder: Evolution quotes a message given its key and its content."""
    if not outbound.quoted_external_id:
        return None
    return {"key": {"id": outbound.quoted_external_id}, "message": {"conversation": outbound.quoted_text}}


SEND_PATHS = {"text": "message/sendText", "audio": "message/sendWhatsAppAudio", "media": "message/sendMedia"}


def _v2_body(outbound: Outbound, _kind: str, fields: dict) -> dict:
    """v2: the content's fields at the top. ``number`` is the phone, or a ``…@lid`` JID as
    it came (v2.3 sends to a lid directly)."""
    quoted = _quoted(outbound)
    return {"number": outbound.to, **fields, **({"quoted": quoted} if quoted else {})}


V1_WRAPPERS = {"text": "textMessage", "audio": "audioMessage", "media": "mediaMessage"}


def _v1_body(outbound: Outbound, kind: str, fields: dict) -> dict:
    """v1: the content in ``textMessage`` / ``mediaMessage`` / ``audioMessage``, the quote in
    ``options``. A lid reaches v1 only as its whole JID (v1 makes a JID of bare digits)."""
    if kind == "media":
        fields.pop("mimetype")  # v1's mediaMessage has no mimetype: it reads the file
    options = {"delay": 0, "presence": "recording" if kind == "audio" else "composing"}
    if kind == "audio":
        options["encoding"] = True
    quoted = _quoted(outbound)
    if quoted:
        options["quoted"] = quoted
    return {"number": outbound.to, "options": options, V1_WRAPPERS[kind]: fields}


def _decode(value) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode(value, validate=False) or None
    except (binascii.Error, ValueError):
        return None


def _address(key) -> tuple[str, str | None, list[str]] | None:
    """(sender id, phone, other identities) of a conversation's key; None for groups,
    broadcasts and channels. A person may come as a hidden ``@lid`` and, beside it
    (``remoteJidAlt`` / ``senderPn``), their phone: the phone is the sender, the lid an
    alias linked to the same contact."""
    jids = [j for j in (key.remoteJid, key.remoteJidAlt, key.senderPn) if j]
    if not jids or not jids[0].endswith(("@s.whatsapp.net", "@lid", "@c.us")):
        return None
    phone_jid = next((j for j in jids if j.endswith(("@s.whatsapp.net", "@c.us"))), None)
    lid = next((j for j in jids if j.endswith("@lid")), None)
    if phone_jid is None:
        return lid, None, []
    phone = phone_jid.split("@", 1)[0]
    return phone, phone, [lid] if lid else []


def _correction(protocol, sender: str, timestamp) -> Correction | None:
    """A ``protocolMessage``: an edit (its new content) or a revoke of the message its key names."""
    target = protocol.key.id if protocol.key else ""
    if not target:
        return None
    if protocol.type.upper() in ("REVOKE", "0"):
        return Correction(sender, target, deleted=True, at=timestamp)
    if protocol.type.upper() in ("MESSAGE_EDIT", "14") and protocol.editedMessage:
        edited = protocol.editedMessage
        kind = next((k for k in edited if k not in IGNORED_TYPES), "")
        model = payload_model.CONTENT.get(kind)
        body = _text_of(kind, edited, model.model_validate(edited.get(kind) or {}) if model else None)
        if body:
            return Correction(sender, target, body=body, at=timestamp)
    return None


def _text_of(kind: str, message: dict, content) -> str:
    """The text of a message without a file (a caption for one with it)."""
    if kind == "conversation":
        return as_text(message.get("conversation"))
    if kind == "extendedTextMessage":
        return content.text
    if kind in MEDIA_TYPES:
        return content.caption
    if kind == "contactMessage":
        return _vcard_body(content)
    if kind == "contactsArrayMessage":
        return "\n".join(_vcard_body(card) for card in content.contacts)
    if kind == "listResponseMessage":
        return content.title or (content.singleSelectReply.selectedRowId if content.singleSelectReply else "")
    if kind in ("buttonsResponseMessage", "templateButtonReplyMessage"):
        return content.selectedDisplayText or content.selectedButtonId or content.selectedId
    if kind in POLL_TYPES:
        return poll_body(content.name, [option.optionName for option in content.options])
    return ""


def _vcard_body(contact) -> str:
    phones = [p.strip() for p in _TEL.findall(contact.vcard)]
    return contact_body(contact.displayName, phones)
