"""@mentions in internal notes (SPEC §6.1): ``@Nome`` of a user who may see the ticket
tells them — their stream gets ``event: mention`` ``{"ticket_id", "message_id", "by"}``
(``by``: the author's id; ``by_name`` for the page's notice) — and the composer offers
those users as one types ``@``."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from ..events import publish
from ..extensions import db
from ..models import Message, Ticket, User
from .visibility import get_visible_ticket, users_who_may_see

MENTION = "mention"


def _fold(text: str) -> str:
    """Case and accents aside: "@joao" mentions João."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def mentionable(actor: User, ticket_id, q: str | None = None) -> list[User]:
    """Who ``actor`` may mention on a ticket they may see: the others who may see it,
    whose name contains ``q``."""
    ticket = get_visible_ticket(actor, ticket_id)
    users = db.session.scalars(users_who_may_see(ticket).where(User.id != actor.id).order_by(User.name)).all()
    needle = _fold(q.strip()) if isinstance(q, str) and q.strip() else ""
    return [u for u in users if needle in _fold(u.name)]


def mentioned_in(text: str, candidates: list[User]) -> list[User]:
    """The candidates whose ``@Name`` (or ``@FirstName`` when no other candidate shares it)
    appears in ``text``, longest names first so "@Ana Paula" is not read as "@Ana"."""
    folded = _fold(text)
    found, taken = [], []
    first_names = {}
    for user in candidates:
        first = _fold(user.name).split()[0] if user.name.split() else ""
        first_names.setdefault(first, []).append(user)
    for user in sorted(candidates, key=lambda u: -len(u.name)):
        names = [_fold(user.name)]
        first = names[0].split()[0] if names[0].split() else ""
        if first and len(first_names.get(first, [])) == 1:
            names.append(first)
        for name in names:
            for match in re.finditer(r"@" + re.escape(name) + r"(?![\w])", folded):
                span = match.span()
                if any(s <= span[0] < e for s, e in taken):
                    continue
                taken.append(span)
                if user not in found:
                    found.append(user)
    return found


def notify(note: Message, ticket: Ticket, author: User) -> list[int]:
    """After the note's commit: one ``mention`` event per user it names; their ids."""
    candidates = [u for u in db.session.scalars(users_who_may_see(ticket)) if u.id != author.id]
    mentioned = mentioned_in(note.body or "", candidates)
    for user in mentioned:
        publish(MENTION, ticket_id=ticket.id,
                data={"ticket_id": ticket.id, "message_id": note.id, "by": author.id, "by_name": author.name,
                      "mentioned_id": user.id},
                ticket={"sector_id": ticket.sector_id, "user_id": ticket.user_id})
    return [u.id for u in mentioned]
