"""WhatsApp Cloud API webhook payloads, declared (Meta's "messages" and
"smb_message_echoes" webhook references): what ``whatsapp_cloud`` reads of them.

Only the fields we read are declared; the rest pass through. One ``Message`` is one
item: a wrong type in it makes that message unreadable, not the webhook.
"""
from __future__ import annotations

from pydantic import Field

from .parsing import Number, ProviderModel, Str


class Profile(ProviderModel):
    name: Str = ""


class Contact(ProviderModel):
    wa_id: Str = ""
    profile: Profile | None = None


class Metadata(ProviderModel):
    phone_number_id: Str = ""
    display_phone_number: Str = ""


class Value(ProviderModel):
    """``entry[].changes[].value``: its messages and statuses stay raw, read one by one."""

    metadata: Metadata | None = None
    contacts: list[Contact] = []
    messages: list = []
    statuses: list = []
    message_echoes: list = []  # smb_message_echoes: sent from the WhatsApp Business app
    calls: list = []  # field "calls": connect / terminate of a WhatsApp Business call


class Change(ProviderModel):
    field: Str = ""
    value: dict = {}


class Entry(ProviderModel):
    changes: list = []


class Notification(ProviderModel):
    object: Str = ""
    entry: list = []


class Text(ProviderModel):
    body: Str = ""


class Media(ProviderModel):
    id: Str = ""
    mime_type: Str = ""
    caption: Str = ""
    filename: Str = ""
    voice: bool | None = None


class Location(ProviderModel):
    latitude: Number = None
    longitude: Number = None
    name: Str = ""
    address: Str = ""


class CardName(ProviderModel):
    formatted_name: Str = ""


class CardPhone(ProviderModel):
    phone: Str = ""
    wa_id: Str = ""


class Card(ProviderModel):
    name: CardName | None = None
    phones: list[CardPhone] = []


class Reply(ProviderModel):
    id: Str = ""
    title: Str = ""


class Interactive(ProviderModel):
    type: Str = ""
    list_reply: Reply | None = None
    button_reply: Reply | None = None


class Button(ProviderModel):
    text: Str = ""
    payload: Str = ""


class Reaction(ProviderModel):
    message_id: Str = ""
    emoji: Str = ""


class Context(ProviderModel):
    """A reply's reference to the message it answers (or a forward's marker, without id)."""

    id: Str = ""
    from_: Str = Field("", alias="from")


class Content(ProviderModel):
    """What a message carries, by its ``type``: every kind we show."""

    type: Str = ""
    text: Text | None = None
    image: Media | None = None
    audio: Media | None = None
    video: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: list[Card] = []
    interactive: Interactive | None = None
    button: Button | None = None
    reaction: Reaction | None = None
    system: Text | None = None


class Edit(ProviderModel):
    """``type: edit``: the customer changed a message (``original_message_id``)."""

    original_message_id: Str = ""
    message: Content | None = None


class Revoke(ProviderModel):
    """``type: revoke``: the customer deleted a message for everyone."""

    original_message_id: Str = ""


class Message(Content):
    from_: Str = Field(alias="from")
    to: Str = ""  # echoes: the customer the business wrote to
    id: Str = ""
    timestamp: Str = ""
    context: Context | None = None
    edit: Edit | None = None
    revoke: Revoke | None = None


class Status(ProviderModel):
    id: Str = ""
    status: Str = ""
    errors: list[dict] = []
    biz_opaque_callback_data: Str = ""


class CallSession(ProviderModel):
    sdp_type: Str = ""
    sdp: str = ""  # kept byte for byte: an SDP ends with CRLF, which Str would strip


class CallItem(ProviderModel):
    """``value.calls[]``: ``event`` connect (``session`` offer or answer) or terminate."""

    id: Str = ""
    event: Str = ""
    direction: Str = ""  # USER_INITIATED / BUSINESS_INITIATED
    from_: Str = Field("", alias="from")
    to: Str = ""
    status: Str = ""
    duration: Number | None = None
    session: CallSession | None = None
