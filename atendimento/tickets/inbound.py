"""Receiving a customer's message: find or create the contact and its active ticket.

Races are settled by unique indexes, not by Python: two first messages from one new
contact end in one contact and one ticket, and a redelivered message (same external
id on the same connection) stores nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import events
from ..extensions import db
from ..models import Contact, ContactIdentity, Message, Ticket, TicketEvent, utcnow
from ..serializers import message_json, ticket_json
from .service import preview_of


@dataclass
class Inbound:
    """A customer's message as a channel adapter hands it over."""

    sender_id: str
    body: str = ""
    kind: str = "text"
    name: str | None = None
    phone: str | None = None
    external_id: str | None = None
    timestamp: datetime | None = None
    media: dict = field(default_factory=dict)  # path, mime, name, size once stored


def _insert_ignoring_conflict(model, index_elements, index_where=None, **values):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id; None when the row already existed."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(model)
    elif dialect == "sqlite":
        stmt = sqlite.insert(model)
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(model)
    stmt = stmt.values(**values).on_conflict_do_nothing(index_elements=index_elements, index_where=index_where)
    return db.session.execute(stmt.returning(model.id)).scalar()


def find_or_create_contact(channel: str, sender_id: str, name: str | None, phone: str | None) -> Contact:
    identity = db.session.scalar(
        select(ContactIdentity).where(ContactIdentity.channel == channel, ContactIdentity.external_id == sender_id)
    )
    if identity is not None:
        contact = identity.contact
        if name and not contact.name:
            contact.name = name
        return contact
    contact = Contact(name=name or "", phone=phone)
    db.session.add(contact)
    db.session.flush()
    won = _insert_ignoring_conflict(ContactIdentity, ["channel", "external_id"], contact_id=contact.id,
                                    channel=channel, external_id=sender_id)
    if won is None:  # another delivery created this contact first: use theirs
        db.session.expunge(contact)
        db.session.execute(delete(Contact).where(Contact.id == contact.id))
        identity = db.session.scalar(
            select(ContactIdentity).where(ContactIdentity.channel == channel,
                                          ContactIdentity.external_id == sender_id)
        )
        return identity.contact
    return contact


def _active_ticket(contact: Contact, connection) -> tuple[int, bool]:
    """The id of the contact's active ticket on ``connection``, creating it; (id, created)."""
    now = utcnow()
    created_id = _insert_ignoring_conflict(
        Ticket, ["contact_id", "connection_id"], text("status <> 'closed'"),
        contact_id=contact.id, connection_id=connection.id, status="pending", unread=0,
        last_message="", last_message_at=now, created_at=now, updated_at=now,
        sector_id=_default_sector_id(connection),
    )
    if created_id is not None:
        return created_id, True
    existing = db.session.scalar(
        select(Ticket.id).where(Ticket.contact_id == contact.id, Ticket.connection_id == connection.id,
                                Ticket.status != "closed")
    )
    return existing, False


def _default_sector_id(connection) -> int | None:
    """Straight to humans: with exactly one offered sector, that sector is set."""
    sectors = connection.sectors
    return sectors[0].id if len(sectors) == 1 else None


def receive_inbound(connection, inbound: Inbound) -> Message | None:
    """Store a customer's message on its ticket; None when it was a redelivery."""
    if inbound.external_id and db.session.scalar(
        select(Message.id).where(Message.connection_id == connection.id,
                                 Message.external_id == inbound.external_id)
    ):
        return None
    contact = find_or_create_contact(connection.channel, inbound.sender_id, inbound.name, inbound.phone)
    ticket_id, created = _active_ticket(contact, connection)
    now = utcnow()
    media = inbound.media or {}
    message_id = _insert_ignoring_conflict(
        Message, ["connection_id", "external_id"],
        ticket_id=ticket_id, connection_id=connection.id, direction="in", kind=inbound.kind,
        body=inbound.body or "", external_id=inbound.external_id, status="received",
        media_path=media.get("path"), media_mime=media.get("mime"), media_name=media.get("name"),
        media_size=media.get("size"), created_at=inbound.timestamp or now, attempts=0, from_bot=False,
    )
    if message_id is None:  # a concurrent redelivery stored it first
        db.session.rollback()
        return None
    db.session.execute(
        update(Ticket).where(Ticket.id == ticket_id)
        .values(unread=Ticket.unread + 1, last_message=preview_of(inbound.kind, inbound.body),
                last_message_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if created:
        db.session.add(TicketEvent(ticket_id=ticket_id, kind="created", to_status="pending",
                                   data={"contact_id": contact.id}))
    db.session.commit()
    message = db.session.get(Message, message_id)
    ticket = db.session.get(Ticket, ticket_id)
    db.session.refresh(ticket)
    if created:
        events.publish("ticket.created", ticket_id=ticket_id, data=ticket_json(ticket))
    else:
        events.publish("ticket.updated", ticket_id=ticket_id, data={**ticket_json(ticket), "previous": None})
    events.publish("message.created", ticket_id=ticket_id, data=message_json(message))
    return message
