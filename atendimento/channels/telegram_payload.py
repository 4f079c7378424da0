"""Telegram Bot API ``Update`` objects, declared (core.telegram.org/bots/api#update):
what ``telegram`` reads of them. Only the fields we read are declared; the rest pass
through. An ``Update`` is one item: a wrong type in it makes it unreadable.
"""
from __future__ import annotations

from pydantic import Field

from .parsing import Number, ProviderModel, Str


class Chat(ProviderModel):
    id: Str = ""
    type: Str = ""
    first_name: Str = ""
    last_name: Str = ""


class User(ProviderModel):
    id: Str = ""
    first_name: Str = ""
    last_name: Str = ""
    username: Str = ""


class File(ProviderModel):
    """PhotoSize, Voice, Audio, Video, VideoNote, Sticker, Document, Animation."""

    file_id: Str = ""
    file_name: Str = ""
    mime_type: Str = ""
    file_size: Number = None
    width: Number = None
    height: Number = None


class Location(ProviderModel):
    latitude: Number = None
    longitude: Number = None


class Venue(ProviderModel):
    title: Str = ""
    address: Str = ""


class SharedContact(ProviderModel):
    phone_number: Str = ""
    first_name: Str = ""
    last_name: Str = ""


class Replied(ProviderModel):
    """``reply_to_message``: only its id matters to us."""

    message_id: Str = ""


class PollOption(ProviderModel):
    text: Str = ""


class Poll(ProviderModel):
    question: Str = ""
    options: list[PollOption] = []


class Message(ProviderModel):
    message_id: Str = ""
    date: Str = ""
    edit_date: Str = ""
    chat: Chat | None = None
    from_: User | None = Field(None, alias="from")
    text: Str | None = None
    caption: Str = ""
    reply_to_message: Replied | None = None
    animation: File | None = None
    photo: list[File] = []
    voice: File | None = None
    audio: File | None = None
    video: File | None = None
    video_note: File | None = None
    sticker: File | None = None
    document: File | None = None
    location: Location | None = None
    venue: Venue | None = None
    contact: SharedContact | None = None
    poll: Poll | None = None


class Update(ProviderModel):
    update_id: Str
    message: Message | None = None
    business_message: Message | None = None
    edited_message: Message | None = None
    edited_business_message: Message | None = None
