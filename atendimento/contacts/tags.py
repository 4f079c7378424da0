"""A contact's tags: the whole set (the API), or one added or removed (the side panel).

Who writes (SPEC §6.1: only the assignee or an admin): an admin, or an attendant
handling one of the contact's tickets. Whoever else may see the contact reads them.
The contact itself is found through the visibility clause: hidden means 404."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError

from ..errors import Forbidden, InvalidInput
from ..extensions import db
from ..ids import as_id
from ..models import Contact, Tag, Ticket, User, contact_tags
from ..schema import Color, Schema, Text
from ..serializers import tag_brief, ticket_json
from ..tickets.state import announce_ticket_updated
from ..tickets.visibility import get_visible_contact


class TagByName(Schema):
    """A tag typed in the panel: an existing one (any case) or a new one."""

    name: Text(Tag.name, required=True)
    color: Color = "#7f8c8d"


def may_edit_contact(actor: User, contact: Contact) -> bool:
    """An admin, or the assignee of one of the contact's tickets."""
    if actor.is_admin:
        return True
    return db.session.scalar(select(Ticket.id).where(Ticket.contact_id == contact.id,
                                                     Ticket.user_id == actor.id).limit(1)) is not None


def editable_contact(actor: User, contact_id) -> Contact:
    """The contact, if ``actor`` may see it (else 404) and change it (else 403)."""
    contact = get_visible_contact(actor, contact_id)
    if not may_edit_contact(actor, contact):
        raise Forbidden(_("Only the attendant handling this contact's ticket or an admin may change it."))
    return contact


def set_contact_tags(actor: User, contact_id, tag_ids) -> list[Tag]:
    """Replace the whole set; an unknown or malformed id refuses all, nothing changes."""
    contact = editable_contact(actor, contact_id)
    if tag_ids is None or not isinstance(tag_ids, (list, tuple)):
        raise InvalidInput(_("Invalid tag."), fields={"tag_ids": _("Must be a list of tag ids.")})
    try:
        ids = {as_id(t) for t in tag_ids}
    except (TypeError, ValueError):
        raise InvalidInput(_("Invalid tag."), fields={"tag_ids": _("Must be a list of tag ids.")}) from None
    tags = list(db.session.scalars(select(Tag).where(Tag.id.in_(ids)))) if ids else []
    if len(tags) != len(ids):
        raise InvalidInput(_("Unknown tag."), fields={"tag_ids": _("Unknown tag.")})
    contact.tags = tags
    db.session.commit()
    announce_tags_changed(contact)
    return tags


def add_contact_tag(actor: User, contact_id, *, tag_id=None, name=None) -> Tag:
    """Add one tag: an existing one by id, or by name (found in any case, else created)."""
    contact = editable_contact(actor, contact_id)
    tag = _existing_tag(tag_id) if tag_id not in (None, "") else _tag_named(TagByName.read({"name": name})["name"])
    try:  # the primary key settles two clicks at once: the second finds it there
        db.session.execute(insert(contact_tags).values(contact_id=contact.id, tag_id=tag.id))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    db.session.expire(contact, ["tags"])
    announce_tags_changed(contact)
    return tag


def remove_contact_tag(actor: User, contact_id, tag_id) -> None:
    contact = editable_contact(actor, contact_id)
    tag = _existing_tag(tag_id)
    db.session.execute(delete(contact_tags).where(contact_tags.c.contact_id == contact.id,
                                                  contact_tags.c.tag_id == tag.id))
    db.session.commit()
    db.session.expire(contact, ["tags"])
    announce_tags_changed(contact)


# Closed tickets whose rows get the new chips live: the newest ones, those a Finalizados list
# can be showing. Older rows show them when their page is next rendered.
LIVE_CLOSED_ROWS = 50


def announce_tags_changed(contact: Contact) -> None:
    """The contact's tickets are ``ticket.updated`` (``changed: ["tags"]``): the list rows of
    other open pages show the new chips. Every active ticket, and the newest closed ones, so a
    contact with years of history costs a bounded number of events; the tags are read once."""
    tags = [tag_brief(t) for t in contact.tags]
    newest_closed = (select(Ticket.id).where(Ticket.contact_id == contact.id, Ticket.status == "closed")
                     .order_by(Ticket.id.desc()).limit(LIVE_CLOSED_ROWS))
    shown = select(Ticket).where(Ticket.contact_id == contact.id,
                                 or_(Ticket.status != "closed", Ticket.id.in_(newest_closed)))
    for ticket in db.session.scalars(shown.order_by(Ticket.id)):
        data = ticket_json(ticket)
        data["contact"] = {**data["contact"], "tags": tags}
        announce_ticket_updated(ticket, None, changed=("tags",), data=data)


def _existing_tag(tag_id) -> Tag:
    try:
        found = db.session.get(Tag, as_id(tag_id))
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise InvalidInput(_("Unknown tag."), fields={"tag_id": _("Unknown tag.")})
    return found


def _find_named(name: str) -> Tag | None:
    # Case-insensitive, decided by the database on both sides (as admin/base.py does).
    return db.session.scalar(select(Tag).where((Tag.name == name) | (func.lower(Tag.name) == func.lower(literal(name))))
                             .order_by(Tag.id).limit(1))


def _tag_named(name: str) -> Tag:
    """The tag called ``name``, created when there is none; of two creating it at once, the
    unique index keeps one and the other uses it."""
    found = _find_named(name)
    if found is not None:
        return found
    tag = Tag(name=name, color="#7f8c8d")
    db.session.add(tag)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        tag = _find_named(name)
    return tag
