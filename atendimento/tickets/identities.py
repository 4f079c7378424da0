"""One person, several identities on a channel (Evolution's WhatsApp ``@lid`` beside the
phone): link them to one contact, merging a contact already split in two.

Evolution 2.3 sends a customer as a hidden ``…@lid``, sometimes with the phone beside it
(``remoteJidAlt`` / ``senderPn``) and sometimes without. A lid seen with a phone is that
phone's contact. Messages that came with the lid alone made a contact of their own; the
first message that shows both merges that contact into the phone's, in one transaction:

- the two contact rows are locked (in id order, so two merges cannot deadlock); the
  second of two concurrent merges finds the duplicate gone and does nothing;
- identities, tickets and tags move to the phone's contact, which keeps its name (or
  takes the other's when it has none); the duplicate contact is deleted;
- where both contacts have an active ticket on the same connection, the two become one:
  the ticket an attendant already handles survives (else the older one), the other's
  messages move into it and the other is closed, recorded as ``merged`` with the
  survivor's id. Moving the messages keeps the conversation in one place for whoever
  handles it; keeping two open tickets of one person would make two attendants answer.
"""
from __future__ import annotations

import logging

from sqlalchemy import and_, delete, not_, select, update

from ..extensions import db
from ..models import Contact, ContactIdentity, Message, Ticket, contact_tags, utcnow
from . import service, state
from .inbound import find_or_create_contact, insert_ignoring_conflict

log = logging.getLogger(__name__)


def link(channel: str, sender_id: str, aliases: list[str], name: str | None, phone: str | None) -> Contact:
    """The contact of ``sender_id``, with ``aliases`` recorded as its identities too;
    a contact an alias already named is merged into it. Commits."""
    contact = find_or_create_contact(channel, sender_id, name, phone)
    merged = []
    for alias in aliases:
        if not alias or alias == sender_id:
            continue
        if insert_ignoring_conflict(ContactIdentity, ["channel", "external_id"], contact_id=contact.id,
                                    channel=channel, external_id=alias) is not None:
            continue
        owner = db.session.scalar(select(ContactIdentity.contact_id).where(
            ContactIdentity.channel == channel, ContactIdentity.external_id == alias))
        if owner is not None and owner != contact.id:
            merged += merge_contacts(contact.id, owner)
    db.session.commit()
    _announce(merged)
    return db.session.get(Contact, contact.id)


def unlinked(channel: str, sender_id: str, aliases: list[str]) -> list[str]:
    """The ``aliases`` not yet identities of ``sender_id``'s contact: once a lid is linked,
    its messages need no linking and can take the group commit."""
    owners = dict(db.session.execute(select(ContactIdentity.external_id, ContactIdentity.contact_id).where(
        ContactIdentity.channel == channel, ContactIdentity.external_id.in_([sender_id, *aliases]))).all())
    contact_id = owners.get(sender_id)
    return [alias for alias in aliases if contact_id is None or owners.get(alias) != contact_id]


def merge_contacts(survivor_id: int, duplicate_id: int) -> list[tuple[int, dict]]:
    """Move everything of contact ``duplicate_id`` to ``survivor_id`` (in the caller's
    transaction); answer the changed tickets with their state before, to announce."""
    locked = db.session.scalars(
        select(Contact.id).where(Contact.id.in_((survivor_id, duplicate_id))).order_by(Contact.id)
        .with_for_update()
    ).all()
    if duplicate_id not in locked or survivor_id not in locked:
        return []  # merged (or deleted) meanwhile by a concurrent delivery
    survivor, duplicate = db.session.get(Contact, survivor_id), db.session.get(Contact, duplicate_id)
    changed = []
    for ticket in _active_tickets(duplicate_id):
        other = db.session.scalar(select(Ticket).where(
            Ticket.contact_id == survivor_id, Ticket.connection_id == ticket.connection_id,
            Ticket.status != "closed").with_for_update())
        if other is not None:
            changed += _join(ticket, other, survivor_id)
    moved = db.session.scalars(select(Ticket).where(Ticket.contact_id == duplicate_id)).all()
    changed += [(ticket.id, state.snapshot(ticket)) for ticket in moved if ticket.status != "closed"]
    db.session.execute(update(Ticket).where(Ticket.contact_id == duplicate_id).values(contact_id=survivor_id)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(ContactIdentity).where(ContactIdentity.contact_id == duplicate_id)
                       .values(contact_id=survivor_id).execution_options(synchronize_session=False))
    kept_tags = select(contact_tags.c.tag_id).where(contact_tags.c.contact_id == survivor_id)
    db.session.execute(update(contact_tags).where(and_(contact_tags.c.contact_id == duplicate_id,
                                                       not_(contact_tags.c.tag_id.in_(kept_tags))))
                       .values(contact_id=survivor_id))
    survivor.name = survivor.name or duplicate.name
    survivor.phone = survivor.phone or duplicate.phone
    survivor.email = survivor.email or duplicate.email
    survivor.custom_fields = {**(duplicate.custom_fields or {}), **(survivor.custom_fields or {})}
    db.session.flush()
    db.session.execute(delete(contact_tags).where(contact_tags.c.contact_id == duplicate_id))
    db.session.expunge(duplicate)
    db.session.execute(delete(Contact).where(Contact.id == duplicate_id))
    log.info("contacts: merged contact %s into %s", duplicate_id, survivor_id)
    return changed


def _active_tickets(contact_id: int) -> list[Ticket]:
    return db.session.scalars(select(Ticket).where(Ticket.contact_id == contact_id, Ticket.status != "closed")
                              .order_by(Ticket.id).with_for_update()).all()


def _join(one: Ticket, other: Ticket, survivor_id: int) -> list[tuple[int, dict]]:
    """Two active tickets of one person on one connection become one (see the module)."""
    keep, drop = sorted((one, other), key=lambda t: (t.status != "open", t.id))
    before_keep, before_drop = state.snapshot(keep), state.snapshot(drop)
    db.session.execute(update(Message).where(Message.ticket_id == drop.id).values(ticket_id=keep.id)
                       .execution_options(synchronize_session=False))
    newer = drop.last_message_at and (not keep.last_message_at or drop.last_message_at > keep.last_message_at)
    db.session.execute(
        update(Ticket).where(Ticket.id == keep.id)
        .values(unread=Ticket.unread + drop.unread, updated_at=utcnow(),
                **({"last_message": drop.last_message, "last_message_at": drop.last_message_at} if newer else {}))
        .execution_options(synchronize_session=False))
    service.close_merged_ticket(drop, keep, before_drop, survivor_id)
    return [(keep.id, before_keep), (drop.id, before_drop)]


def _announce(changed: list[tuple[int, dict]]) -> None:
    seen = set()
    for ticket_id, before in changed:
        if ticket_id in seen:
            continue
        seen.add(ticket_id)
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is not None:
            db.session.refresh(ticket)
            state.announce_ticket_updated(ticket, before)
