"""What the API answers (SPEC §6), declared for the document: one model per JSON shape
that ``serializers.py`` and each resource module's ``*_json`` build. ``tests/test_openapi.py``
(schemathesis) checks every answer against these, so a serializer and its shape cannot
drift apart. What the API *reads* is declared beside the rules that read it."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..channels.registry import SPECS
from ..models import (BOT_ACTIONS, CALL_CHANNELS, CALL_OUTCOMES, CONNECTION_KINDS, CUSTOM_FIELD_KINDS, DIRECTIONS, FLOWS, MESSAGE_KINDS,
                      MESSAGE_STATUSES, PROFILES, TICKET_STATUSES)

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
When = Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]


def enum(values) -> Any:
    return Literal[tuple(values)]


class Shape(BaseModel):
    model_config = ConfigDict(extra="allow")  # more fields may be added, none renamed


class ErrorBody(Shape):
    code: str
    message: str
    fields: dict[str, str] = Field(None, description="Per field: why it was refused.")


class Error(Shape):
    error: ErrorBody


class Token(Shape):
    token: str
    id: Id


class TokenInfo(Shape):
    id: Id
    name: str
    created_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    revoked: bool


class ContactBrief(Shape):
    id: Id
    name: str
    phone: str | None


class TagBrief(Shape):
    id: Id
    name: str
    color: str


class Identity(Shape):
    channel: str
    external_id: str


class Contact(ContactBrief):
    email: str | None
    avatar_url: str | None
    custom_fields: dict = Field(description="Values by the custom field's key; numbers, dates as YYYY-MM-DD, texts.")
    tags: list[TagBrief]
    identities: list[Identity] = Field([], description="How each channel names the contact (not editable).")
    created_at: When


class Ticket(Shape):
    id: Id
    status: enum(TICKET_STATUSES)
    contact: ContactBrief
    connection_id: Id
    sector_id: Id | None
    user_id: Id | None
    unread: Annotated[int, Field(ge=0)]
    last_message: str
    last_message_at: When = None
    bot: bool = False
    created_at: When
    updated_at: When
    closed_at: When = None


class Message(Shape):
    id: Id
    ticket_id: Id
    direction: enum(DIRECTIONS)
    kind: enum(MESSAGE_KINDS)
    body: str
    status: enum(MESSAGE_STATUSES)
    error: str | None = None
    external_id: str | None
    media_url: str | None
    media_name: str | None = None
    duration: float | None = Field(None, description="Seconds of an audio or video file, when known.")
    voice: bool = Field(False, description="An audio recorded as a voice note (OGG/Opus), not an audio file.")
    author_id: Id | None
    from_bot: bool = False
    quoted_id: Id | None = None
    original_body: str | None = Field(None, description="The customer's text as first received, once they edited it.")
    edited_at: When = Field(None, description="When the customer last edited the message.")
    deleted_at: When = Field(None, description="When the customer deleted the message for everyone; it stays here.")
    created_at: When


class Sector(Shape):
    id: Id
    name: str
    color: str
    greeting: str
    position: int | None
    user_ids: list[Id] = Field(description="Members.")


class User(Shape):
    id: Id
    name: str
    email: str
    profile: enum(PROFILES)
    sector_ids: list[Id]
    active: bool
    language: str | None = None
    timezone: str | None = None
    created_at: When = None


class Connection(Shape):
    id: Id
    name: str
    kind: enum(CONNECTION_KINDS)
    flow: enum(FLOWS)
    greeting: str
    farewell: str
    sector_ids: list[Id]
    rerun_bot_on_new_ticket: bool
    enabled: bool = True
    secret: str = Field(description="Masked, except in the answers to create and rotate.")
    settings: dict[str, str] = Field(description="The kind's own keys: " + "; ".join(
        f"{', '.join(s.key for s in spec.settings)} ({kind})" for kind, spec in SPECS.items()) + ".")
    token: str
    webhook_url: str = Field(description="Paste it in the provider's webhook settings.")
    chatbot_id: Id | None
    bot_max_invalid: int
    bot_timeout_minutes: int
    created_at: When = None


class BotOption(Shape):
    id: Id
    number: int = Field(ge=1, description="What the contact types.")
    title: str
    keyword: str
    action: enum(BOT_ACTIONS)
    target_node_id: Id | None
    target_sector_id: Id | None
    reply: str = Field(description="Sent before going there (before the close, for close).")


class BotNode(Shape):
    id: Id
    name: str
    message: str
    position: int
    media_name: str | None
    media_mime: str | None
    options: list[BotOption]


class Chatbot(Shape):
    id: Id
    name: str
    connection_ids: list[Id] = Field(description="Connections using it.")
    nodes: list[BotNode] = Field(description="The first is the start.")
    created_at: When


class Tag(TagBrief):
    pass


class CustomField(Shape):
    id: Id
    key: str = Field(description="Made from the first name, fixed: the key of the contacts' custom_fields.")
    name: str
    kind: enum(CUSTOM_FIELD_KINDS)
    choices: list[str] = Field(description="The values a choice field takes.")
    position: int


class TicketEvent(Shape):
    id: Id
    kind: str = Field(description="created, accepted, closed, reopened, transferred, bot_routed, bot_handover, "
                                  "call_started, call_answered, call_ended, call_missed (more may be added).")
    actor_id: Id | None
    data: dict
    from_status: enum(TICKET_STATUSES) | None = None
    to_status: enum(TICKET_STATUSES) | None = None
    created_at: When


class Timeline(Shape):
    items: list[TicketEvent] = Field(description="Oldest first.")
    next: None = None
    waiting_seconds: int | None = Field(None, description="From creation until the ticket was first taken.")
    first_response_seconds: int | None = Field(None, description="From creation until an attendant first answered.")


class QuickReply(Shape):
    id: Id
    shortcut: str
    text: str
    global_: bool = Field(alias="global")
    user_id: Id | None
    media_url: str | None = Field(description="Its file (GET with the bearer token), or null.")
    media_name: str | None
    media_mime: str | None
    media_size: int | None


def page_of(shape: type[Shape]) -> type[Shape]:
    """``{items, next}``: every list answers so; ``next`` is the cursor of the next page."""
    return _PAGES.setdefault(shape, type(f"{shape.__name__}List", (Shape,), {
        "__annotations__": {"items": list[shape], "next": str | None}, "__module__": __name__}))


_PAGES: dict = {}


class SearchHit(Shape):
    ticket: Ticket
    message: Message
    snippet: str = Field(description="HTML-escaped text of the message in which only the hits are in <mark>.")


class Call(Shape):
    id: Id
    channel: enum(CALL_CHANNELS)
    direction: enum(DIRECTIONS)
    number: str
    ticket_id: Id | None
    contact_id: Id | None
    user_id: Id | None = Field(description="Who placed it (outgoing) or answered it (incoming).")
    outcome: enum(CALL_OUTCOMES) | None
    started_at: When
    answered_at: When
    ended_at: When
    duration: int | None = Field(description="Seconds from the answer to the end; null when never answered.")
