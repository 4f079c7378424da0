"""Receiving a customer's message: find or create the contact and its active ticket.

Races are settled by unique indexes, not by Python: two first messages from one new
contact end in one contact and one ticket, and a redelivered message (same external
id on the same connection) stores nothing.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from ..channels.base import Correction, Inbound  # declared with the adapters, which hand them over
from ..extensions import db
from ..models import Contact, ContactIdentity, Message, Ticket, TicketEvent, utcnow
from ..serializers import message_json, ticket_json
from . import flow, state
from .statuses import publish_message_updated


def dialect_insert(model):
    """The INSERT of the database in use, which knows ON CONFLICT."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database: {dialect}")  # pragma: no cover


def insert_ignoring_conflict(model, index_elements, index_where=None, **values):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id; None when the row already existed."""
    stmt = dialect_insert(model).values(**values).on_conflict_do_nothing(
        index_elements=index_elements, index_where=index_where)
    return db.session.execute(stmt.returning(model.id)).scalar()


def find_or_create_contact(channel: str, sender_id: str, name: str | None, phone: str | None) -> Contact:
    contact = _contact_by_identity(channel, sender_id)
    if contact is not None:
        if name and not contact.name:
            contact.name = name
        return contact
    contact = Contact(name=name or "", phone=phone)
    db.session.add(contact)
    db.session.flush()
    won = insert_ignoring_conflict(ContactIdentity, ["channel", "external_id"], contact_id=contact.id,
                                    channel=channel, external_id=sender_id)
    if won is None:  # another delivery created this contact first: use theirs
        db.session.expunge(contact)
        db.session.execute(delete(Contact).where(Contact.id == contact.id))
        return _contact_by_identity(channel, sender_id)
    return contact


def _contact_by_identity(channel: str, sender_id: str) -> Contact | None:
    return db.session.scalar(
        select(Contact).join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(ContactIdentity.channel == channel, ContactIdentity.external_id == sender_id)
    )


def active_ticket(contact: Contact, connection, *, by_business: bool = False, opening: str = "") -> tuple[int, bool]:
    """The id of the contact's active ticket on ``connection``, creating it; (id, created).
    ``by_business``: a message the business sent opens it (no bot then, see ``flow``);
    ``opening``: the list's last words of a ticket that something other than a message
    opened (a call), until its first message."""
    existing = active_ticket_id(contact, connection)
    if existing is not None:
        return existing, False
    now = utcnow()
    created_id = insert_ignoring_conflict(
        Ticket, ["contact_id", "connection_id"], text("status <> 'closed'"),
        contact_id=contact.id, connection_id=connection.id, status="pending", unread=0,
        last_message=opening, last_message_at=now, created_at=now, updated_at=now, bot_turn=0,
        **flow.initial_routing(connection, contact.id, by_business=by_business),
    )
    if created_id is not None:
        return created_id, True
    return active_ticket_id(contact, connection), False  # a concurrent delivery created it first


def active_ticket_id(contact: Contact, connection) -> int | None:
    return db.session.scalar(
        select(Ticket.id).where(Ticket.contact_id == contact.id, Ticket.connection_id == connection.id,
                                Ticket.status != "closed")
    )


def quoted_message_id(ticket_id: int, external_id: str | None) -> int | None:
    """The message of ``ticket_id`` (ours or the customer's) a reply names by its id at
    the provider; None when it is not in this ticket."""
    if not external_id:
        return None
    return db.session.scalar(
        select(Message.id).where(Message.ticket_id == ticket_id, Message.external_id == external_id).limit(1))


def correct_message(connection, correction: Correction) -> Message | None:
    """A customer's edit or deletion of a message they sent on ``connection``: the new
    text replaces the body, the first one is kept (``original_body``); a deleted message
    stays for attendants, marked. None when nothing changed (a redelivery, or a message
    we never stored); otherwise ``message.updated`` is published."""
    now = utcnow()
    match = [Message.connection_id == connection.id, Message.external_id == correction.target,
             Message.direction == "in"]
    if correction.deleted:
        values = {"deleted_at": correction.at or now}
        match.append(Message.deleted_at.is_(None))
    else:
        values = {"original_body": func.coalesce(Message.original_body, Message.body),
                  "body": correction.body, "edited_at": correction.at or now}
        match.append(Message.body != correction.body)
    row = db.session.execute(
        update(Message).where(*match).values(**values).returning(Message.id, Message.ticket_id, Message.kind)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        db.session.rollback()
        return None
    ticket_data = _preview_corrected(row, correction) if not correction.deleted else None
    db.session.commit()
    if ticket_data is not None:
        state.publish_ticket_updated(ticket_data, None, ("last_message",))
    return publish_message_updated(row.id)


def _preview_corrected(row, correction: Correction) -> dict | None:
    """The ticket's preview follows an edit of its newest message; its JSON then, else None."""
    newest = db.session.scalar(select(Message.id).where(Message.ticket_id == row.ticket_id, Message.kind != "note")
                               .order_by(Message.id.desc()).limit(1))
    if newest != row.id:
        return None
    ticket = db.session.scalars(
        update(Ticket).where(Ticket.id == row.ticket_id)
        .values(last_message=state.preview_of(row.kind, correction.body)).returning(Ticket),
        execution_options={"synchronize_session": False, "populate_existing": True},
    ).one()
    return ticket_json(ticket)


def receive_inbound(connection, inbound: Inbound) -> Message | None:
    """Store a customer's message on its ticket; None when it was a redelivery.

    A redelivery is caught by the unique (connection, external id) index on the
    message insert, which rolls back everything this call did (a ticket it may have
    created included). The event payloads are built before the commit, from rows the
    statements returned, so announcing costs no extra queries."""
    contact = find_or_create_contact(connection.channel, inbound.sender_id, inbound.name, inbound.phone)
    ticket_id, created = active_ticket(contact, connection)
    now = utcnow()
    media = inbound.media or {}
    message = dialect_insert(Message).values(
        quoted_id=quoted_message_id(ticket_id, inbound.quoted_external_id),
        ticket_id=ticket_id, connection_id=connection.id, direction="in", kind=inbound.kind,
        body=inbound.body or "", external_id=inbound.external_id, status="received",
        media_path=media.get("path"), media_mime=media.get("mime"), media_name=media.get("name"),
        media_size=media.get("size"), duration=media.get("duration"), voice=inbound.voice,
        created_at=inbound.timestamp or now, attempts=0, from_bot=False,
    ).on_conflict_do_nothing(index_elements=["connection_id", "external_id"]).returning(Message)
    message = db.session.scalars(message, execution_options={"populate_existing": True}).first()
    if message is None:  # a redelivery: the message is already stored
        db.session.rollback()
        return None
    ticket = _arrived(ticket_id, created, contact, message, inbound, now)
    if created:
        flow.start(ticket_id)
    elif ticket.bot_mode is not None and inbound.reaction is None:  # a 👍 on the menu is no answer
        flow.answer(ticket_id, inbound.body, inbound.choice)
    return message


def _arrived(ticket_id: int, created: bool, contact: Contact, message: Message, line, now) -> Ticket:
    """A new line from the contact's side: one more unread, the preview, the top of its
    list; commits and announces. ``line`` has the ``kind`` and ``body`` the preview shows."""
    ticket = db.session.scalars(
        update(Ticket).where(Ticket.id == ticket_id)
        .values(unread=Ticket.unread + 1, updated_at=now, **state.preview_values(line, now))
        .returning(Ticket),
        execution_options={"synchronize_session": False, "populate_existing": True},
    ).one()
    if created:
        db.session.add(TicketEvent(ticket_id=ticket_id, kind="created", to_status="pending",
                                   data={"contact_id": contact.id}))
    ticket_data, message_data = ticket_json(ticket), message_json(message)
    db.session.commit()
    if created:
        state.announce_ticket_created(ticket_data)
    else:
        state.publish_ticket_updated(ticket_data, None, state.MESSAGE_FIELDS)
    state.publish_message_created(message_data, ticket_data)
    return ticket


def add_activity_line(contact: Contact, connection, body: str) -> Message:
    """Something that happened with the contact outside the chat (a missed call) as a
    ``system`` line of their conversation, counted and listed like a message of theirs so
    nobody forgets it: on their active ticket on ``connection``, else on a new pending one
    (without the bot: the contact said nothing to answer)."""
    ticket_id, created = active_ticket(contact, connection, by_business=True)
    now = utcnow()
    message = Message(ticket_id=ticket_id, connection_id=connection.id, direction="in", kind="system", body=body,
                      status="received", created_at=now, attempts=0, from_bot=False, voice=False)
    db.session.add(message)
    db.session.flush()
    _arrived(ticket_id, created, contact, message, message, now)
    return message
