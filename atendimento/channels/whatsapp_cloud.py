"""WhatsApp Cloud API (Meta).

In: the ``GET`` verification challenge (``hub.mode``, ``hub.verify_token``,
``hub.challenge``); ``POST`` of ``whatsapp_business_account`` objects checked with
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret, kept as the
connection's secret). ``entry[].changes[].value`` carries ``messages`` and ``statuses``.
Media come as ids: ``GET {base}/{media_id}`` (bearer token) gives a short-lived URL,
fetched with the same token. A ``reaction`` names the reacted-to ``message_id`` and its
``emoji`` (empty once removed); ingest writes its line.

Out: ``POST {base}/{phone_number_id}/messages``; files are uploaded first to
``{base}/{phone_number_id}/media``; a voice note is ``audio`` with ``voice: true``. Meta has no idempotency key, so every send
carries ``biz_opaque_callback_data`` with our message id: Meta echoes it in the
status webhooks, which settles an attempt whose answer we never saw. A bot's menu
goes out as an interactive message (reply buttons, or a list past three options) whose
``button_reply`` / ``list_reply`` comes back with the option's id.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask_babel import gettext as _, lazy_gettext as _l

from ..media import MediaUnavailable, download
from . import http
from . import whatsapp_payload as payload_model
from .base import (ChannelAdapter, Correction, DeliveryError, Fetched, Inbound, Incoming, MediaRef, Outbound,
                   StatusUpdate, WebhookRejected, check_hmac_signature, check_shared_secret)
from .parsing import Unreadable, as_text, contact_body, location_body, parse_timestamp, read_item, unsupported
from .spec import WHATSAPP_CLOUD_MEDIA, ChannelSpec, Setting

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
MEDIA_TYPES = {"image": "image", "audio": "audio", "video": "video", "document": "document", "sticker": "sticker"}
STATUS_MAP = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}
REFERENCE_PREFIX = "atendimento:"
# Meta error codes that mean "not now" rather than "never" (throttling, temporary faults).
RETRYABLE_CODES = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131048, 131056, 133004}
# Meta's limits on interactive messages, in characters.
MAX_BODY = 1024
MAX_BUTTONS, MAX_BUTTON_TITLE = 3, 20
MAX_ROWS, MAX_ROW_TITLE, MAX_ROW_DESCRIPTION = 10, 24, 72
MAX_LIST_BUTTON, MAX_SECTION_TITLE = 20, 24
HEADER_MEDIA = ("image", "video", "document")  # the files reply buttons can carry on top
ELLIPSIS = "…"


class WhatsAppCloudAdapter(ChannelAdapter):
    spec = ChannelSpec(
        kind="whatsapp_cloud",
        label=_l("WhatsApp Cloud API"),
        description=_l("Meta's official WhatsApp Business API. You need a Meta app, a phone number ID "
                       "and an access token."),
        channel="whatsapp",
        settings=(
            Setting("phone_number_id", _l("Phone number ID"), required=True,
                    help=_l("The number's ID in Meta's WhatsApp Manager (not the phone number).")),
            Setting("access_token", _l("Access token"), required=True, secret=True),
            Setting("verify_token", _l("Verify token"), generated=True,
                    help=_l("Paste it in Meta's webhook settings with the webhook URL. Left blank, one is made.")),
            Setting("base_url", _l("API base URL"), url=True, placeholder=DEFAULT_BASE_URL,
                    help=_l("Leave blank for the default.")),
        ),
        secret_label=_l("App secret"),
        secret_help=_l("From Meta's app settings; it checks X-Hub-Signature-256."),
        secret_from_provider=True,
        reply_window=timedelta(hours=24),  # after it, Meta accepts only approved templates
        reply_window_notice=_l("The contact has not written for more than 24 hours, so WhatsApp refuses "
                               "free-form messages until they write again (only approved templates go "
                               "through, which Atendimento cannot send yet)."),
        reconciles_by_webhook=True,
        voice_calls=True,  # the Calling API: the calls webhook field, POST /{phone_number_id}/calls
        media=WHATSAPP_CLOUD_MEDIA,
    )
    default_base_url = DEFAULT_BASE_URL

    # -- inbound -------------------------------------------------------------

    def challenge(self, args) -> str:
        if args.get("hub.mode") != "subscribe":
            raise WebhookRejected(400, "hub.mode must be subscribe")
        check_shared_secret(args.get("hub.verify_token"), self.settings.get("verify_token"))
        return args.get("hub.challenge", "")

    def authenticate(self, headers, raw: bytes) -> None:
        check_hmac_signature(headers.get("X-Hub-Signature-256"), self.secret, raw)

    def parse(self, payload) -> list:
        notification = read_item(payload_model.Notification.model_validate, payload)
        if not isinstance(payload, dict) or isinstance(notification, Unreadable):
            raise WebhookRejected(400, "not a WhatsApp Business Account notification")
        items = []
        for entry in notification.entry:
            entry = read_item(payload_model.Entry.model_validate, entry)
            if isinstance(entry, Unreadable):
                items.append(entry)
                continue
            for change in entry.changes:
                items += self._change(change)
        return items

    def _change(self, raw) -> list:
        """One ``change``: its messages, echoes and statuses, each read on its own. A
        change whose envelope (metadata, contacts) cannot be read is one unreadable item."""
        change = read_item(payload_model.Change.model_validate, raw)
        if isinstance(change, Unreadable):
            return [change]
        if change.field not in ("messages", "smb_message_echoes", "calls"):
            return []
        value = read_item(payload_model.Value.model_validate, change.value)
        if isinstance(value, Unreadable):
            return [value]
        own_number = as_text(self.settings.get("phone_number_id"))
        number = value.metadata.phone_number_id if value.metadata else ""
        if own_number and number and number != own_number:
            return []  # another number of the same Meta app: not this connection's
        names = {c.wa_id: c.profile.name if c.profile else "" for c in value.contacts}
        items = [read_item(lambda raw: self._message(raw, names), m) for m in value.messages]
        items += [read_item(lambda raw: self._message(raw, names, echo=True), m) for m in value.message_echoes]
        items += [read_item(self._status, s) for s in value.statuses]
        if change.field == "calls":
            items += [read_item(lambda raw: _call_event(raw, names), c) for c in value.calls]
        return [item for item in items if item is not None]

    def _message(self, raw, names: dict, *, echo: bool = False) -> Incoming | Correction | Unreadable:
        msg = payload_model.Message.model_validate(raw)
        # An echo (coexistence: the business wrote from its WhatsApp Business app) goes
        # from the business to ``to``, the customer.
        sender = msg.to if echo else msg.from_
        if not sender:
            return Unreadable("message without 'from'" if not echo else "echo without 'to'")
        timestamp = parse_timestamp(msg.timestamp)
        if msg.type in ("edit", "revoke") and echo:
            return None  # the business corrected its own message in the Business app: ours stays as sent
        if msg.type == "edit" and msg.edit is not None and msg.edit.original_message_id:
            body = _edited_text(msg.edit.message) if msg.edit.message is not None else ""
            if body:
                return Correction(sender, msg.edit.original_message_id, body=body, at=timestamp)
        if msg.type == "revoke" and msg.revoke is not None and msg.revoke.original_message_id:
            return Correction(sender, msg.revoke.original_message_id, deleted=True, at=timestamp)
        inbound = Inbound(sender_id=sender, phone=sender, name=None if echo else (names.get(sender) or None),
                          external_id=msg.id or None, timestamp=timestamp,
                          quoted_external_id=(msg.context.id or None) if msg.context else None)
        kind = msg.type
        if kind == "reaction" and msg.reaction is not None:  # ingest writes the line: it names the message
            inbound.kind, inbound.reaction = "system", {"emoji": msg.reaction.emoji,
                                                        "target": msg.reaction.message_id or None}
            return Incoming(inbound, from_me=echo)
        media = getattr(msg, kind, None) if kind in MEDIA_TYPES else None
        if media is not None and media.id:
            inbound.kind, inbound.body = MEDIA_TYPES[kind], media.caption
            inbound.voice = kind == "audio" and media.voice is True
            return Incoming(inbound, MediaRef({"id": media.id}, media.mime_type or None, media.filename or None),
                            from_me=echo)
        content = _content(msg)
        if content is None:
            detail = msg.interactive.type if kind == "interactive" and msg.interactive else None
            inbound.kind, inbound.body = "system", unsupported(f"{kind}/{detail}" if detail else kind)
        else:
            inbound.kind, inbound.body, inbound.choice = content
        if not inbound.body:
            inbound.kind, inbound.body = "system", unsupported(kind)
        return Incoming(inbound, from_me=echo)

    def _status(self, raw) -> StatusUpdate | None:
        status = payload_model.Status.model_validate(raw)
        mapped = STATUS_MAP.get(status.status)
        if mapped is None or not status.id:
            return None
        error = None
        if mapped == "failed":
            error = describe_error(status.errors[0]) if status.errors else _("Failed on WhatsApp.")
        reference = status.biz_opaque_callback_data
        ours = reference[len(REFERENCE_PREFIX):] if reference.startswith(REFERENCE_PREFIX) else ""
        return StatusUpdate(external_id=status.id, status=mapped, error=error,
                            reference=int(ours) if ours.isdigit() and len(ours) < 12 else None)

    def fetch_media(self, media: MediaRef) -> Fetched:
        auth = self._auth()
        try:
            response = http.request("GET", f"{self.base_url}/{media.ref['id']}", headers=auth)
        except http.TransportError as error:
            raise MediaUnavailable(str(error)) from None
        info = response.json() if response.ok else None
        if not isinstance(info, dict) or not info.get("url"):
            raise MediaUnavailable(f"media {media.ref['id']}: HTTP {response.status} {response.text(200)}")
        data, content_type = download(info["url"], headers=auth)
        return Fetched(data, info.get("mime_type") or media.mime or content_type, media.filename)

    # -- outbound ------------------------------------------------------------

    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.settings.get('access_token', '')}"}

    def _number_url(self, path: str) -> str:
        number = self.settings.get("phone_number_id")
        if not number or not self.settings.get("access_token"):
            raise DeliveryError(_("The connection has no phone number ID or access token."), permanent=True)
        return f"{self.base_url}/{number}/{path}"

    def send(self, outbound: Outbound) -> str | None:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": outbound.to,
                "biz_opaque_callback_data": f"{REFERENCE_PREFIX}{outbound.message_id}",
                **self._content(outbound)}
        if outbound.quoted_external_id:  # Responder: shown as a reply to that message
            body["context"] = {"message_id": outbound.quoted_external_id}
        answer = self._call("POST", self._number_url("messages"), json_body=body)
        messages = answer.get("messages") if isinstance(answer, dict) else None
        if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
            raise DeliveryError(_("WhatsApp answered without a message id."))
        return as_text(messages[0]["id"])

    def _content(self, outbound: Outbound) -> dict:
        """``type`` and its object: a bot's menu as native buttons or list when Meta can show
        it, otherwise the text or the file as is (its text already numbers the options)."""
        menu = interactive_menu(outbound.extra.get("menu"))
        if outbound.kind == "text" or not outbound.media_path:
            if menu is not None:
                return {"type": "interactive", "interactive": menu}
            return {"type": "text", "text": {"preview_url": False, "body": outbound.text}}
        wa_type = outbound.kind if outbound.kind in ("image", "audio", "video", "document") else "document"
        media = {"id": self._upload(outbound)}
        if wa_type == "document":
            media["filename"] = outbound.media_name
        if menu is not None and menu["type"] == "button" and wa_type in HEADER_MEDIA:
            return {"type": "interactive", "interactive": {"header": {"type": wa_type, wa_type: media}, **menu}}
        if outbound.text and wa_type != "audio":  # audio takes no caption
            media["caption"] = outbound.text
        if wa_type == "audio" and outbound.voice:
            media["voice"] = True  # OGG/Opus: shown as a voice message (play button, transcript)
        return {"type": wa_type, wa_type: media}

    def _upload(self, outbound: Outbound) -> str:
        content = Path(outbound.media_path).read_bytes()
        body, content_type = http.multipart(
            {"messaging_product": "whatsapp", "type": outbound.media_mime},
            {"file": (outbound.media_name, outbound.media_mime, content)},
        )
        answer = self._call("POST", self._number_url("media"), data=body, content_type=content_type)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise DeliveryError(_("WhatsApp did not accept the file."))
        return as_text(answer["id"])

    def call_action(self, action: str, *, call_id: str | None = None, to: str | None = None,
                    sdp_type: str | None = None, sdp: str | None = None) -> dict:
        """``POST {base}/{phone_number_id}/calls`` (Calling API): ``pre_accept``/``accept``
        (with our SDP answer), ``reject``, ``terminate`` name Meta's ``call_id``; ``connect``
        places a call ``to`` the customer with our SDP offer. DeliveryError when refused."""
        body = {"messaging_product": "whatsapp", "action": action}
        if call_id:
            body["call_id"] = call_id
        if to:
            body["to"] = to
        if sdp is not None:
            body["session"] = {"sdp_type": sdp_type, "sdp": sdp}
        answer = self._call("POST", self._number_url("calls"), json_body=body)
        return answer if isinstance(answer, dict) else {}

    def _call(self, method: str, url: str, *, json_body=None, data=None, content_type=None):
        headers = self._auth()
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = http.request(method, url, json_body=json_body, data=data, headers=headers)
        except http.TransportError as error:
            raise DeliveryError(str(error)) from None
        answer = response.json()
        if response.ok:
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(error, dict):
            code = error.get("code")
            permanent = http.is_permanent(response.status) and code not in RETRYABLE_CODES
            raise DeliveryError(describe_error(error), permanent=permanent)
        raise DeliveryError(f"HTTP {response.status}: {response.text(300)}",
                            permanent=http.is_permanent(response.status))


@dataclass
class CallEvent:
    """One ``calls`` webhook item, handed to calls/whatsapp.py by ingest."""

    call_id: str
    event: str  # connect / terminate
    direction: str  # USER_INITIATED / BUSINESS_INITIATED
    number: str  # the customer's wa_id
    name: str | None = None
    sdp_type: str = ""
    sdp: str = ""
    status: str = ""
    duration: int | None = None


def _call_event(raw, names: dict) -> CallEvent | Unreadable | None:
    item = payload_model.CallItem.model_validate(raw)
    if not item.id or item.event not in ("connect", "terminate"):
        return None if item.id else Unreadable("call without id")
    business = item.direction == "BUSINESS_INITIATED"
    number = item.to if business else item.from_
    session = item.session
    return CallEvent(call_id=item.id, event=item.event, direction=item.direction or "USER_INITIATED",
                     number=number, name=names.get(number) or None,
                     sdp_type=session.sdp_type if session else "", sdp=session.sdp if session else "",
                     status=item.status, duration=int(item.duration) if item.duration is not None else None)


def _edited_text(msg: payload_model.Content) -> str:
    """The new text of an edit: a text's body, or the new caption of a file."""
    media = getattr(msg, msg.type, None) if msg.type in MEDIA_TYPES else None
    if media is not None:
        return media.caption
    content = _content(msg)
    return content[1] if content is not None else ""


def _content(msg: payload_model.Content) -> tuple[str, str, str | None] | None:
    """(kind, body, menu choice) of a message without a file; None for a type we cannot show."""
    kind = msg.type
    if kind == "text" and msg.text is not None:
        return "text", msg.text.body, None
    if kind == "location" and msg.location is not None:
        place = msg.location
        return "location", location_body(place.latitude, place.longitude, place.name, place.address), None
    if kind == "contacts":
        return "text", "\n".join(contact_body(card.name.formatted_name if card.name else "",
                                                [p.phone or p.wa_id for p in card.phones])
                                   for card in msg.contacts), None
    if kind == "interactive" and msg.interactive is not None and msg.interactive.type in ("list_reply", "button_reply"):
        reply = getattr(msg.interactive, msg.interactive.type) or payload_model.Reply()
        return "text", reply.title or reply.id, reply.id or None
    if kind == "button" and msg.button is not None:
        return "text", msg.button.text or msg.button.payload, None
    if kind == "system" and msg.system is not None:
        return "system", msg.system.body or unsupported(kind), None
    return None


def describe_error(error: dict) -> str:
    """Meta's error as the attendant reads it: title, details, code."""
    title = as_text(error.get("title")) or as_text(error.get("message")) or _("Error")
    details = as_text((error.get("error_data") or {}).get("details")) if isinstance(error.get("error_data"), dict) else ""
    code = as_text(error.get("code"))
    text = f"{title}: {details}" if details and details != title else title
    return f"{text} ({code})" if code else text


# -- native menus --------------------------------------------------------------

def interactive_menu(menu) -> dict | None:
    """A bot's menu (``Message.meta["menu"]``) as Meta's ``interactive`` object: reply buttons
    for up to three options, a list for up to ten. None when Meta could not show it (no
    prompt for the required body, a prompt over its limit, more than ten options): the
    numbered text goes instead, and a typed number works the same."""
    if not isinstance(menu, dict):
        return None
    prompt = as_text(menu.get("text")).strip()
    options = [(as_text(o.get("id")), " ".join(as_text(o.get("title")).split()))
               for o in menu.get("options") or [] if isinstance(o, dict)]
    ids = [number for number, _title in options]
    if (not prompt or len(prompt) > MAX_BODY or not 0 < len(options) <= MAX_ROWS
            or not all(number and title for number, title in options) or len(set(ids)) < len(ids)):
        return None
    body = {"text": prompt}
    titles = [clip(title, MAX_BUTTON_TITLE)[0] for _number, title in options]
    if len(options) <= MAX_BUTTONS and len({t.casefold() for t in titles}) == len(titles):  # Meta wants them unique
        buttons = [{"type": "reply", "reply": {"id": number, "title": title}}
                   for (number, _full), title in zip(options, titles)]
        return {"type": "button", "body": body, "action": {"buttons": buttons}}
    label = clip(as_text(menu.get("button")).strip() or _("Options"), MAX_LIST_BUTTON)[0]
    section = {"title": clip(label, MAX_SECTION_TITLE)[0],
               "rows": [_row(number, title) for number, title in options]}
    return {"type": "list", "body": body, "action": {"button": label, "sections": [section]}}


def _row(number: str, title: str) -> dict:
    """A list row; the part of a long title that does not fit goes on as its description."""
    head, rest = clip(title, MAX_ROW_TITLE)
    row = {"id": number, "title": head}
    if rest:
        row["description"] = clip(ELLIPSIS + rest, MAX_ROW_DESCRIPTION)[0]
    return row


def clip(text: str, limit: int) -> tuple[str, str]:
    """``text`` cut to ``limit`` characters, at a word boundary when one is near, ending in
    an ellipsis; and the rest that was cut off ("" when it fitted)."""
    if len(text) <= limit:
        return text, ""
    cut = text[:limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" -–—,.;:/") + ELLIPSIS, text[len(cut):].strip()
