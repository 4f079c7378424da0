"""The JSON shapes of SPEC §6, shared by the API and the realtime events."""
from flask import url_for

from .models import Contact, Message, Ticket


def iso(value):
    """A moment as the JSON API writes it (ISO 8601), or null."""
    return value.isoformat() if value else None


def contact_brief(contact: Contact) -> dict:
    return {"id": contact.id, "name": contact.display_name, "phone": contact.phone}


def tag_brief(tag) -> dict:
    """A tag as contacts and events carry it (a Tag, or a row with its columns)."""
    return {"id": tag.id, "name": tag.name, "color": tag.color}


def contact_json(contact: Contact) -> dict:
    return {
        **contact_brief(contact),
        "email": contact.email,
        "avatar_url": contact.avatar_url,
        "custom_fields": contact.custom_fields or {},
        "tags": [tag_brief(t) for t in contact.tags],
        "identities": [{"channel": i.channel, "external_id": i.external_id} for i in contact.identities],
        "created_at": iso(contact.created_at),
    }


def ticket_json(ticket: Ticket) -> dict:
    return {
        "id": ticket.id,
        "status": ticket.status,
        "contact": contact_brief(ticket.contact),
        "connection_id": ticket.connection_id,
        "sector_id": ticket.sector_id,
        "user_id": ticket.user_id,
        "unread": ticket.unread,
        "last_message": ticket.last_message,
        "last_message_at": iso(ticket.last_message_at),
        "bot": ticket.bot_mode is not None,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "closed_at": iso(ticket.closed_at),
    }


def message_json(message: Message) -> dict:
    return {
        "id": message.id,
        "ticket_id": message.ticket_id,
        "direction": message.direction,
        "kind": message.kind,
        "body": message.body,
        "status": message.status,
        "error": message.error,
        "external_id": message.external_id,
        "media_url": url_for("tickets.media", message_id=message.id) if message.media_path else None,
        "media_name": message.media_name,
        "media_mime": message.media_mime,
        "media_size": message.media_size,
        "duration": message.duration,
        "voice": bool(message.voice),
        "author_id": message.author_id,
        "from_bot": message.from_bot,
        "quoted_id": message.quoted_id,
        "original_body": message.original_body,
        "edited_at": iso(message.edited_at),
        "deleted_at": iso(message.deleted_at),
        "created_at": iso(message.created_at),
    }
