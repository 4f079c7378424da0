"""What the ticket routes read, declared once for the pages, the API and its document.

The rules beyond a field's own shape (who may, which state, which target exists) stay
in the services; these say what a well-formed request looks like."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from ..models import TICKET_STATUSES
from ..schema import ID_SCHEMA, Schema, Text
from .outgoing import MAX_TEXT_LENGTH

OptionalId = Annotated[Any, WithJsonSchema(ID_SCHEMA)]


class Transfer(Schema):
    """Exactly one destination."""

    model_config = {"json_schema_extra": {"minProperties": 1, "maxProperties": 1}}
    sector_id: OptionalId = None
    user_id: OptionalId = None
    connection_id: OptionalId = None


class SendMessage(Schema):
    """A text, or a quick reply (its text with the variables filled, SPEC §6.1)."""

    text: Text(MAX_TEXT_LENGTH, description="Required unless quick_reply_id is given.") = ""
    quick_reply_id: OptionalId = None
    quoted_id: OptionalId = Field(None, description="A message of this ticket it answers (Responder).")


class SendFile(Schema):
    file: Annotated[Any, WithJsonSchema({"type": "string", "contentMediaType": "application/octet-stream"})]
    text: Text(MAX_TEXT_LENGTH, description="The caption.") = ""
    voice: Annotated[Any, WithJsonSchema({
        "type": "boolean", "default": False,
        "description": "`true` (or `1`): a recording (WebM, MP4, OGG, WAV, MP3…) sent as a voice note, "
                       "converted to OGG/Opus mono; otherwise the file goes as it is."})] = False
    quoted_id: OptionalId = Field(None, description="A message of this ticket it answers (Responder).")


def voice_flag(form) -> bool:
    """A multipart form's ``voice`` (SendFile): only "true" or "1" make the file a voice note."""
    return str(form.get("voice", "")).strip().lower() in ("true", "1")


class ContactTags(Schema):
    tag_ids: Annotated[Any, WithJsonSchema({"type": "array", "items": ID_SCHEMA})]


class TicketQuery(Schema):
    status: Annotated[Any, WithJsonSchema({"enum": list(TICKET_STATUSES)})] = None
    sector: OptionalId = Field(None, description="Sector id.")
    tag: OptionalId = Field(None, description="Tag id (of the contact).")
    q: Annotated[Any, WithJsonSchema({"type": "string", "maxLength": 100})] = Field(
        None, description="Contact name, phone or e-mail contains (case aside; accents too on PostgreSQL).")
    page: Annotated[Any, WithJsonSchema({"type": "string"})] = Field(
        None, description="The `next` cursor of the previous page.")
    limit: Annotated[Any, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 200})] = None


class MessageQuery(Schema):
    page: Annotated[Any, WithJsonSchema({"type": "string"})] = Field(
        None, description="The `next` cursor of the previous page.")
    before: OptionalId = Field(None, description="Only messages before this id.")
    limit: Annotated[Any, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 500})] = None
