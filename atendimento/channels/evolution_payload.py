"""Evolution API webhook payloads, declared (v1 and v2, as users posted them in the
project's issues): what ``evolution`` reads of them. Only the fields we read are
declared; the rest pass through. One record of ``data`` is one item: a wrong type in
it makes that record unreadable, not the webhook.

``message`` holds one Baileys content object under its type's name
(``conversation``, ``extendedTextMessage``, ``imageMessage``…); the adapter picks the
type and reads it through the model of that type (``CONTENT``).
"""
from __future__ import annotations

from pydantic import Field

from .parsing import Number, ProviderModel, Str


class Key(ProviderModel):
    id: Str = ""
    remoteJid: Str = ""
    fromMe: bool | None = None
    # Evolution 2.3: the other address of the same person (phone for a ``@lid``, or the
    # reverse); 2.3.0 called it ``senderPn``.
    remoteJidAlt: Str = ""
    senderPn: Str = ""
    participant: Str = ""


class ContextInfo(ProviderModel):
    stanzaId: Str = ""  # the id of the message replied to
    participant: Str = ""


class Text(ProviderModel):
    text: Str = ""
    contextInfo: ContextInfo | None = None


class Media(ProviderModel):
    caption: Str = ""
    mimetype: Str = ""
    fileName: Str = ""
    ptt: bool | None = None
    contextInfo: ContextInfo | None = None


class Location(ProviderModel):
    degreesLatitude: Number = None
    degreesLongitude: Number = None
    name: Str = ""
    address: Str = ""
    contextInfo: ContextInfo | None = None


class Card(ProviderModel):
    displayName: Str = ""
    vcard: Str = ""
    contextInfo: ContextInfo | None = None


class Cards(ProviderModel):
    displayName: Str = ""
    contacts: list[Card] = []
    contextInfo: ContextInfo | None = None


class SelectedRow(ProviderModel):
    selectedRowId: Str = ""


class ListResponse(ProviderModel):
    title: Str = ""
    singleSelectReply: SelectedRow | None = None
    contextInfo: ContextInfo | None = None


class ButtonsResponse(ProviderModel):
    selectedDisplayText: Str = ""
    selectedButtonId: Str = ""
    selectedId: Str = ""
    contextInfo: ContextInfo | None = None


class PollOption(ProviderModel):
    optionName: Str = ""


class Poll(ProviderModel):
    """``pollCreationMessage`` (and its V2, V3): the question and the options."""

    name: Str = ""
    options: list[PollOption] = []
    contextInfo: ContextInfo | None = None


class Reaction(ProviderModel):
    key: Key | None = None
    text: Str = ""


class Protocol(ProviderModel):
    """Signalling about another message (``key``): ``REVOKE`` (0) deletes it for everyone,
    ``MESSAGE_EDIT`` (14) replaces its content with ``editedMessage``."""

    type: Str = ""
    key: Key | None = None
    editedMessage: dict | None = None


class Record(ProviderModel):
    """One ``data`` record of ``messages.upsert`` / ``send.message`` / ``messages.edited``."""

    key: Key = Field(default_factory=Key)
    pushName: Str = ""
    message: dict = {}
    messageType: Str = ""
    messageTimestamp: Str = ""
    contextInfo: ContextInfo | None = None  # v2 also copies it beside the message


class StatusChange(ProviderModel):
    status: Str = ""


class StatusRecord(ProviderModel):
    """One ``data`` record of ``messages.update`` (v2 flat; v1 ``key`` + ``update``)."""

    keyId: Str = ""
    id: Str = ""
    key: Key | None = None
    fromMe: bool | None = None
    status: Str = ""
    update: StatusChange | None = None


CONTENT = {
    "extendedTextMessage": Text, "imageMessage": Media, "videoMessage": Media, "audioMessage": Media,
    "documentMessage": Media, "stickerMessage": Media, "ptvMessage": Media, "locationMessage": Location,
    "liveLocationMessage": Location, "contactMessage": Card, "contactsArrayMessage": Cards,
    "listResponseMessage": ListResponse, "buttonsResponseMessage": ButtonsResponse,
    "templateButtonReplyMessage": ButtonsResponse, "reactionMessage": Reaction, "protocolMessage": Protocol,
    "pollCreationMessage": Poll, "pollCreationMessageV2": Poll, "pollCreationMessageV3": Poll,
}
