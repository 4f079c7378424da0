"""Who may receive an event: SPEC §4 evaluated at delivery, without the database.

A stream loads its user once at connect (``Viewer``: id, profile, active flag,
sector ids) and lets the connection go. For every event it then evaluates the very
clause the pages filter with, ``ticket_visible_clause``, in Python against the
ticket's state carried by the event. Using SQLAlchemy's ORM evaluator (the one behind
``synchronize_session="evaluate"``) keeps SPEC §4 written once: a new rule in
``visibility.py`` reaches the stream too, and a rule the evaluator cannot run fails
loudly at connect instead of silently diverging (``tests/realtime/test_audience.py``
checks both agree on every combination).

When a user's profile, active flag or sectors change, ``track_viewer_changes`` tells
the broker after the commit, so open streams reload their viewer.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.evaluator import _EvaluatorCompiler

from ..extensions import db
from ..models import Sector, Ticket, User, user_sectors
from ..tickets.visibility import ticket_visible_clause

TicketState = dict  # {"sector_id": int | None, "user_id": int | None}


@dataclass(frozen=True, slots=True)
class Viewer:
    """What delivery needs to know about a user, held by the stream instead of a DB connection."""

    id: int
    is_admin: bool
    is_active: bool
    sector_ids: frozenset[int]
    language: str = "pt_BR"  # the pushed HTML's language
    # The user's sessions as of the stream's start: once they end (logout, a password change
    # or reset), the stream ends too, and its reconnect meets the login check (SPEC §9).
    session_epoch: int = 0


def viewer_of(user: User) -> Viewer:
    return Viewer(id=user.id, is_admin=user.is_admin, is_active=bool(user.active),
                  sector_ids=frozenset(s.id for s in user.sectors), language=user.language or "pt_BR",
                  session_epoch=user.session_epoch or 0)


def load_viewer(user_id: int) -> Viewer | None:
    """One short query (the caller's app context returns the connection); None once inactive or gone."""
    row = db.session.execute(select(User.profile, User.active, User.language, User.session_epoch)
                             .where(User.id == user_id)).one_or_none()
    if row is None or not row.active:
        return None
    sector_ids = db.session.scalars(select(user_sectors.c.sector_id).where(user_sectors.c.user_id == user_id))
    return Viewer(id=user_id, is_admin=row.profile == "admin", is_active=True, sector_ids=frozenset(sector_ids),
                  language=row.language or "pt_BR", session_epoch=row.session_epoch or 0)


@lru_cache(maxsize=4096)
def visibility_test(viewer: Viewer) -> Callable[[Ticket], bool]:
    """``may_see(probe(ticket_state))``: ``ticket_visible_clause(viewer)`` evaluated in Python.
    NULL reads as False, as in SQL. Compiled once per distinct viewer and shared by its
    streams (a user's tabs, a thousand streams of one benchmark user)."""
    clause = ticket_visible_clause(viewer, sector_ids=viewer.sector_ids)
    evaluate = _EvaluatorCompiler(Ticket).process(clause)

    def may_see(ticket_probe: Ticket) -> bool:
        return evaluate(ticket_probe) is True

    return may_see


def probe(state: TicketState) -> Ticket:
    """A transient Ticket (never added to a session) carrying the fields the clause reads;
    an event builds it once and every stream's test reads it."""
    return Ticket(sector_id=state.get("sector_id"), user_id=state.get("user_id"))


# -- telling open streams that a user changed ------------------------------------

_CHANGED = "atendimento.realtime.changed_viewers"
_installed = False


def track_viewer_changes() -> None:
    """Listen to every session once: profile/active/sector changes of users are announced after commit."""
    global _installed
    if _installed:
        return
    _installed = True
    event.listen(Session, "before_flush", _collect_ended_sessions)
    event.listen(Session, "after_flush", _collect_changes)
    event.listen(Session, "after_commit", _announce_changes)
    event.listen(Session, "after_soft_rollback", _forget_changes)


def _collect_changes(session, _flush_context) -> None:
    changed = session.info.setdefault(_CHANGED, set())
    for obj in session.dirty:
        if isinstance(obj, User):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in ("profile", "active", "sectors", "language")):
                changed.add(obj.id)
        elif isinstance(obj, Sector):
            history = inspect(obj).attrs.users.history
            changed.update(u.id for u in (*history.added, *history.deleted))
    changed.update(obj.id for obj in session.deleted if isinstance(obj, User))


def _collect_ended_sessions(session, _flush_context, _instances) -> None:
    """``auth.service.end_sessions`` sets the epoch to an SQL expression, whose history is
    gone once flushed: look before the flush."""
    changed = session.info.setdefault(_CHANGED, set())
    for obj in session.dirty:
        if isinstance(obj, User) and inspect(obj).attrs.session_epoch.history.has_changes():
            changed.add(obj.id)


def _announce_changes(session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    broker = current_app.extensions.get("realtime") if has_app_context() else None
    if broker is not None:
        broker.announce_viewers_changed(sorted(changed))


def _forget_changes(session, _previous_transaction) -> None:
    session.info.pop(_CHANGED, None)
