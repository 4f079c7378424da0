"""Telegram Bot API.

In: ``Update`` objects; the ``X-Telegram-Bot-Api-Secret-Token`` header must equal the
connection's secret (given to Telegram as ``secret_token`` in ``setWebhook``). Only
private chats are a customer's conversation; groups and channels are acknowledged and
ignored. Files come as ``file_id``: ``getFile`` gives a ``file_path`` fetched from
``{base}/file/bot<token>/<file_path>``.

Out: ``sendMessage``, ``sendPhoto``, ``sendDocument``, ``sendVoice`` (a voice note, OGG/Opus),
``sendAudio`` (an audio file) and ``sendVideo``, files uploaded as multipart. Telegram
has no idempotency key and no webhook for our own sends, so an attempt whose answer
was lost is marked failed for the attendant to check, never resent on its own. A bot's
menu goes out as a reply keyboard, one option a row; a tap sends the button's text
("2 - Suporte"), which the flow reads like a typed answer. The bot's next message
takes the keyboard away.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from flask_babel import gettext as _, lazy_gettext as _l

from ..media import MediaUnavailable, download
from . import http
from . import telegram_payload as payload_model
from .base import (ChannelAdapter, Correction, DeliveryError, Fetched, Inbound, Incoming, MediaRef, Outbound,
                   WebhookRejected, check_shared_secret)
from .parsing import as_text, contact_body, location_body, parse_timestamp, poll_body, read_item, unsupported
from .spec import ChannelSpec, MediaRules, Setting

DEFAULT_BASE_URL = "https://api.telegram.org"

# Message fields that describe the message rather than being its content.
META_FIELDS = {
    "message_id", "message_thread_id", "from", "sender_chat", "sender_boost_count", "sender_business_bot",
    "date", "business_connection_id", "chat", "forward_origin", "forward_from", "forward_from_chat",
    "forward_from_message_id", "forward_signature", "forward_sender_name", "forward_date", "is_topic_message",
    "is_automatic_forward", "reply_to_message", "external_reply", "quote", "reply_to_story", "via_bot",
    "edit_date", "has_protected_content", "is_from_offline", "media_group_id", "author_signature",
    "entities", "caption", "caption_entities", "link_preview_options", "effect_id", "show_caption_above_media",
    "has_media_spoiler", "reply_markup", "paid_star_count",
}
# Checked in this order: an animation also carries a ``document``.
MEDIA_FIELDS = (("animation", "video"), ("photo", "image"), ("voice", "audio"), ("audio", "audio"),
                ("video", "video"), ("video_note", "video"), ("sticker", "sticker"), ("document", "document"))
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB


class TelegramAdapter(ChannelAdapter):
    spec = ChannelSpec(
        kind="telegram",
        label=_l("Telegram"),
        description=_l("A Telegram bot. You need the token @BotFather gave you."),
        channel="telegram",
        settings=(
            Setting("bot_token", _l("Bot token"), required=True, secret=True, help=_l("As given by @BotFather.")),
            Setting("base_url", _l("API base URL"), url=True, placeholder=DEFAULT_BASE_URL,
                    help=_l("Leave blank for the default.")),
        ),
        secret_label=_l("Secret token"),
        secret_help=_l("Sent by Telegram in X-Telegram-Bot-Api-Secret-Token."),
        media=MediaRules(max_mb={"image": 10, "*": 50}),  # what a bot may upload
    )
    default_base_url = DEFAULT_BASE_URL

    def authenticate(self, headers, raw: bytes) -> None:
        check_shared_secret(headers.get("X-Telegram-Bot-Api-Secret-Token"), self.secret)

    def parse(self, payload) -> list:
        if not isinstance(payload, dict) or "update_id" not in payload:
            raise WebhookRejected(400, "not a Telegram Update")
        item = read_item(self._update, payload)
        return [] if item is None else [item]

    def _update(self, raw: dict):
        update = payload_model.Update.model_validate(raw)
        edited = update.edited_message or update.edited_business_message
        message = update.message or update.business_message or edited
        if message is None or message.chat is None:
            return None  # callbacks, membership changes: nothing to show
        if message.chat.type != "private" or not message.chat.id:
            return None
        if edited is not None and message is edited:
            body = message.text if message.text is not None else message.caption
            if not body:
                return None  # a file replaced without text: the first one stays
            return Correction(message.chat.id, f"{message.chat.id}:{message.message_id}", body=body,
                              at=parse_timestamp(message.edit_date))
        extra = raw.get("message") or raw.get("business_message")
        return self._message(message, extra if isinstance(extra, dict) else {})

    def _message(self, message: payload_model.Message, raw: dict) -> Incoming:
        chat, sender = message.chat, message.from_ or payload_model.User()
        chat_id = chat.id
        name = " ".join(p for p in (sender.first_name or chat.first_name, sender.last_name or chat.last_name) if p)
        replied = message.reply_to_message
        inbound = Inbound(sender_id=chat_id, name=name or sender.username or None,
                          external_id=f"{chat_id}:{message.message_id}",
                          timestamp=parse_timestamp(message.date),
                          body=message.text or message.caption,
                          quoted_external_id=f"{chat_id}:{replied.message_id}" if replied and replied.message_id
                          else None)
        if message.text is not None:
            return Incoming(inbound)
        for field, kind in MEDIA_FIELDS:
            content = getattr(message, field)
            if field == "photo":
                content = max(content, key=lambda size: (size.file_size or 0, (size.width or 0) * (size.height or 0)),
                              default=None)
            if content is not None and content.file_id:
                inbound.kind, inbound.voice = kind, field == "voice"
                mime = content.mime_type or ("audio/ogg" if field == "voice" else None)
                return Incoming(inbound, MediaRef({"file_id": content.file_id}, mime, content.file_name or None))
        if message.location is not None:
            place = message.venue or payload_model.Venue()
            inbound.kind = "location"
            inbound.body = location_body(message.location.latitude, message.location.longitude,
                                         place.title, place.address)
        elif message.contact is not None:
            contact = message.contact
            full_name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
            inbound.body = contact_body(full_name, [contact.phone_number])
        elif message.poll is not None:
            inbound.body = poll_body(message.poll.question, [option.text for option in message.poll.options])
        else:
            kind = next((key for key in raw if key not in META_FIELDS), "?")
            if message.caption:  # a file we cannot show (paid media, …): its words still reach the attendant
                inbound.body = f"{message.caption}\n({unsupported(kind)})"
            else:
                inbound.kind, inbound.body = "system", unsupported(kind)
        return Incoming(inbound)

    def _method_url(self, method: str) -> str:
        token = self.settings.get("bot_token")
        if not token:
            raise DeliveryError(_("The connection has no bot token."), permanent=True)
        return f"{self.base_url}/bot{token}/{method}"

    def fetch_media(self, media: MediaRef) -> Fetched:
        try:
            response = http.request("GET", self._method_url("getFile") + "?file_id=" + quote(media.ref["file_id"]))
        except (http.TransportError, DeliveryError) as error:
            raise MediaUnavailable(str(error)) from None
        answer = response.json()
        result = answer.get("result") if isinstance(answer, dict) and answer.get("ok") else None
        if not isinstance(result, dict) or not result.get("file_path"):
            description = answer.get("description") if isinstance(answer, dict) else response.text(200)
            # "file is too big" will not change with time
            raise MediaUnavailable(f"getFile: {description}", permanent="too big" in str(description))
        if (result.get("file_size") or 0) > DOWNLOAD_LIMIT:
            raise MediaUnavailable("file too big for the Bot API", permanent=True)
        token = self.settings.get("bot_token", "")
        data, content_type = download(f"{self.base_url}/file/bot{token}/{result['file_path']}")
        filename = media.filename or as_text(result["file_path"]).rsplit("/", 1)[-1]
        return Fetched(data, media.mime or content_type, filename)

    def send(self, outbound: Outbound) -> str | None:
        chat_id = outbound.to
        markup = reply_markup(outbound.extra)
        text = _shown_text(outbound, markup)
        reply = reply_parameters(outbound.quoted_external_id)
        if outbound.kind == "text" or not outbound.media_path:
            payload = {"chat_id": chat_id, "text": text}
            if markup is not None:
                payload["reply_markup"] = markup
            if reply is not None:
                payload["reply_parameters"] = reply
            answer = self._call("sendMessage", json_body=payload)
        else:
            method, field = self._method_for(outbound)
            content = Path(outbound.media_path).read_bytes()
            fields = {"chat_id": chat_id, "caption": text or None,
                      "reply_markup": json.dumps(markup) if markup is not None else None,
                      "reply_parameters": json.dumps(reply) if reply is not None else None}
            answer = self._call(method, fields=fields,
                                files={field: (outbound.media_name, outbound.media_mime, content)})
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, dict) or result.get("message_id") is None:
            raise DeliveryError(_("Telegram answered without a message id."))
        return f"{chat_id}:{result['message_id']}"

    @staticmethod
    def _method_for(outbound: Outbound) -> tuple[str, str]:
        if outbound.kind == "image":
            return "sendPhoto", "photo"
        if outbound.kind == "video":
            return "sendVideo", "video"
        if outbound.kind == "audio":
            return ("sendVoice", "voice") if outbound.voice else ("sendAudio", "audio")
        return "sendDocument", "document"

    def _call(self, method: str, *, json_body=None, fields=None, files=None):
        url = self._method_url(method)
        try:
            if files:
                response = http.post_multipart(url, fields, files, timeout=120)
            else:
                response = http.request("POST", url, json_body=json_body)
        except http.TransportError as error:
            raise DeliveryError(str(error)) from None
        answer = response.json()
        if response.ok and isinstance(answer, dict) and answer.get("ok"):
            return answer
        description = answer.get("description") if isinstance(answer, dict) else response.text(300)
        status = answer.get("error_code", response.status) if isinstance(answer, dict) else response.status
        raise DeliveryError(f"{description} ({status})", permanent=http.is_permanent(int(status or 0)))


def reply_parameters(quoted_external_id: str | None) -> dict | None:
    """Responder: our external ids read ``<chat id>:<message id>``; Telegram wants the latter.
    Sent even if the quoted message was deleted meanwhile (then without the quote)."""
    message_id = (quoted_external_id or "").rpartition(":")[2]
    if not message_id.lstrip("-").isdigit():
        return None
    return {"message_id": int(message_id), "allow_sending_without_reply": True}


def reply_markup(extra: dict) -> dict | None:
    """A bot's menu as a reply keyboard, one option a row labelled "<number> - <title>" (the
    flow reads the leading number); ``remove_keyboard`` after a menu; None otherwise."""
    menu = extra.get("menu")
    options = [o for o in (menu.get("options") or []) if isinstance(o, dict)] if isinstance(menu, dict) else []
    if options:
        rows = [[{"text": f"{as_text(o.get('id'))} - {as_text(o.get('title'))}"}] for o in options]
        return {"keyboard": rows, "one_time_keyboard": True, "resize_keyboard": True}
    if extra.get("remove_keyboard"):
        return {"remove_keyboard": True}
    return None


def _shown_text(outbound: Outbound, markup: dict | None) -> str:
    """With a keyboard the options are on its buttons, so the prompt alone; without a
    prompt (Telegram refuses an empty text) the numbered text."""
    if markup is not None and "keyboard" in markup:
        return as_text(outbound.extra["menu"].get("text")).strip() or outbound.text
    return outbound.text
