"""What the ticket services share: a ticket's snapshot, the conditional update that
decides races, the list preview, who may write, and one announcement per event kind.

A leaf module: it imports none of the ticket services (``service``, ``flow``,
``outgoing``, ``inbound``), so they and the channels can all use it without cycles.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from .. import events
from ..errors import Forbidden, InvalidTransition
from ..extensions import db
from ..models import Message, Ticket, User, utcnow
from ..serializers import message_json, ticket_json
from .visibility import ticket_visible_clause

# What a move can change that decides where a ticket is listed, who sees it, and what
# its conversation offers; ``ticket.updated`` names those that changed.
MOVE_FIELDS = ("status", "sector_id", "user_id", "connection_id")
# A new customer or attendant message changes these.
MESSAGE_FIELDS = ("last_message", "last_message_at", "unread")


# -- a ticket before and after a move ------------------------------------------------

def snapshot(ticket: Ticket) -> dict:
    """What the stream needs to tell who could see the ticket before a move, and what
    ``ticket.updated`` compares to say what changed."""
    return {"status": ticket.status, "sector_id": ticket.sector_id, "user_id": ticket.user_id,
            "connection_id": ticket.connection_id}


def conditional_update(ticket_id: int, allowed: tuple[str, ...], actor: User | None = None, **values) -> bool:
    """UPDATE the ticket only while its status is one of ``allowed`` (and, with an actor,
    only while the actor may still see it). True when this call won."""
    query = update(Ticket).where(Ticket.id == ticket_id, Ticket.status.in_(allowed))
    if actor is not None:
        query = query.where(ticket_visible_clause(actor))
    result = db.session.execute(
        query.values(updated_at=utcnow(), **values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# -- who may write ---------------------------------------------------------------------

def holder_name(ticket: Ticket) -> str:
    return ticket.user.name if ticket.user else _("someone else")


def handles(ticket: Ticket, actor: User) -> bool:
    """On an open ticket only its assignee or an admin acts (and answers)."""
    return ticket.status != "open" or actor.is_admin or ticket.user_id == actor.id


def require_handler(ticket: Ticket, actor: User) -> None:
    if not handles(ticket, actor):
        raise Forbidden(_("Only %(name)s or an admin can do this while the ticket is being handled.",
                          name=holder_name(ticket)))


def may_answer(ticket: Ticket, actor: User) -> bool:
    """Whether ``actor`` may send a message on ``ticket`` now (the page shows the composer)."""
    return ticket.status == "open" and handles(ticket, actor)


def require_answerable(ticket: Ticket, actor: User) -> None:
    if ticket.status != "open":
        raise InvalidTransition(_("Accept the ticket before answering."))
    require_handler(ticket, actor)


# -- the list preview --------------------------------------------------------------------

PREVIEW_LABELS = {
    "image": "📷", "audio": "🎤", "video": "🎬", "document": "📄", "sticker": "🏷️", "location": "📍",
}


def preview_of(kind: str, body: str) -> str:
    """The one line a list row shows for the last message: the text, with an icon for a
    file. A file without a caption is its icon alone; the page names it in the reader's
    language (``web.preview_label``)."""
    text = " ".join((body or "").split())
    label = PREVIEW_LABELS.get(kind)
    if label:
        text = f"{label} {text}".strip()
    return text[:255]


def preview_values(message, now) -> dict:
    """The ticket columns a new message (a ``Message`` or an adapter's ``Inbound``, with
    ``kind`` and ``body``) changes. The bot's words (greeting, menu, farewell) leave the
    preview and the waiting time alone: the queue shows what the customer said, and
    since when they wait."""
    if getattr(message, "from_bot", False):
        return {}
    return {"last_message": preview_of(message.kind, message.body), "last_message_at": now}


# -- announcements, after the commit ---------------------------------------------------------

def ticket_updated_data(data: dict, before: dict | None, changed=()) -> dict:
    """The data of ``ticket.updated``: the ticket as it is now (``data``, its JSON), the
    state it had (``previous``, for the stream to tell who could see it) and the names
    of the fields that changed (``changed``), so a page updates only what it must."""
    moved = [] if before is None else [name for name in MOVE_FIELDS if before.get(name) != data.get(name)]
    return {**data, "changed": [*moved, *(name for name in changed if name not in moved)], "previous": before}


def publish_ticket_updated(data: dict, before: dict | None, changed=()) -> None:
    events.publish("ticket.updated", ticket_id=data["id"], data=ticket_updated_data(data, before, changed))


def announce_ticket_updated(ticket: Ticket, before: dict | None, *, changed=(), data: dict | None = None) -> dict:
    """``data``: the ticket's JSON when the caller has just built it."""
    data = data if data is not None else ticket_json(ticket)
    publish_ticket_updated(data, before, changed)
    return data


def announce_ticket_created(ticket_data: dict) -> None:
    events.publish("ticket.created", ticket_id=ticket_data["id"], data={**ticket_data, "changed": []})


def publish_message_created(data: dict, ticket_data: dict | None = None) -> None:
    """``ticket_data``: the ticket after this message, when the caller has it (saves the
    relay a query)."""
    events.publish("message.created", ticket_id=data["ticket_id"], data=data, ticket=ticket_data)


def announce_message_created(message: Message, ticket_data: dict | None = None) -> None:
    publish_message_created(message_json(message), ticket_data)


def announce_message_updated(message: Message) -> None:
    events.publish("message.updated", ticket_id=message.ticket_id, data=message_json(message))
