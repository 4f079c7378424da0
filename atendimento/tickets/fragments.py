"""The parts of the Atendimento page that change on their own: a list row, a message.

The page renders them from the database; an event renders them from its JSON data
(``for_event``), so the stream can push the very HTML the page would show and no open
page has to ask the server for anything. The stream renders an event when the first
reader who may see it needs it, once per process and language
(``realtime.envelope.Event.frame_in``): the cost does not grow with the open pages, and
a webhook with nobody watching pays nothing. Both go through
the same templates (``tickets/_row.html``, ``tickets/_message.html``): the event side
only builds objects with the attributes those templates read.

What differs between viewers stays out of the pushed HTML and is settled by the page:
the selected row, the link's list filters, the Reenviar form's CSRF token, whether the
reader may answer, times in the reader's zone.
"""
from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from datetime import datetime
from types import SimpleNamespace

from flask import current_app, has_app_context, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Message, Sector, Tag, User, contact_tags
from ..serializers import tag_brief

ROW_EVENTS = ("ticket.created", "ticket.updated")
MESSAGE_EVENTS = ("message.created", "message.updated")


def render_row(ticket, *, tab=None, view=None, q="", page=None, selected=None) -> str:
    return render_template("tickets/_row.html", t=ticket, tab=tab or ticket.status, view=view, q=q, page=page,
                           selected=selected)


def render_message(message, *, can_answer: bool, show_author: bool | None = None, live: bool = False) -> str:
    if show_author is None:
        show_author = message.direction == "out"
    return render_template("tickets/_message.html", m=message, show_author=show_author, can_answer=can_answer,
                           live=live)


def for_event(name: str, data: dict, languages=None) -> dict | None:
    """``{language: html}`` of what ``name`` changes on a page (in ``languages``, by
    default all the app speaks), or None for other events."""
    if name in ROW_EVENTS:
        view = row_view(data)
        render = lambda: render_row(view)  # noqa: E731
    elif name in MESSAGE_EVENTS:
        view = message_view(data)
        render = lambda: render_message(view, can_answer=True, live=True)  # noqa: E731
    else:
        return None
    html = {}
    # Links are paths, so any request will do where the publisher has none (a worker, a command).
    with nullcontext() if has_request_context() else current_app.test_request_context():
        for language in languages or current_app.config["LANGUAGES"]:
            with force_locale(language):
                html[language] = render()
    return html


def prepare(name: str, data: dict) -> None:
    """Called by the publisher, in its own transaction: make sure the names this event's
    HTML needs are known, so that rendering it later, in a stream of this process, asks
    the database nothing (on SQLite a stream's query would wait for the writer's lock).
    A row event's ``contact`` gains its ``tags`` here (the event's data, so every process
    and the page's script get them), unless the publisher already put them there."""
    names = directory()
    if name in ROW_EVENTS:
        names.sector(data.get("sector_id"))
        names.user(data.get("user_id"))
        contact = data.get("contact")
        if contact and "tags" not in contact and not _only_news(name, data):
            # a row shows the contact's tag chips: one query per event
            data["contact"] = {**contact, "tags": contact_tag_list(contact["id"])}
    elif name in MESSAGE_EVENTS:
        names.user(data.get("author_id"))


# What a new message changes on a ticket: its row is already on the pages that show it, chips
# included, and the contact's tags have not moved (a change of them is its own event).
NEWS = frozenset({"last_message", "last_message_at", "unread"})


def _only_news(name: str, data: dict) -> bool:
    """A ``ticket.updated`` for a message only: its row goes without tags (live.js keeps the
    shown chips), so the webhook's hot path asks nothing more of the database."""
    changed = data.get("changed")
    return name == "ticket.updated" and bool(changed) and NEWS.issuperset(changed)


# -- objects with the attributes the templates read, from an event's JSON ----------------

def contact_tag_list(contact_id) -> list[dict]:
    rows = db.session.execute(select(Tag.id, Tag.name, Tag.color).join(contact_tags, contact_tags.c.tag_id == Tag.id)
                              .where(contact_tags.c.contact_id == contact_id).order_by(Tag.name))
    return [tag_brief(r) for r in rows]


def _when(value):
    return datetime.fromisoformat(value) if value else None


def row_view(data: dict) -> SimpleNamespace:
    names = directory()
    contact = data.get("contact") or {}
    return SimpleNamespace(
        id=data["id"], status=data["status"], sector_id=data.get("sector_id"), user_id=data.get("user_id"),
        unread=data.get("unread") or 0, last_message=data.get("last_message") or "",
        last_message_at=_when(data.get("last_message_at")), bot_mode="bot" if data.get("bot") else None,
        contact=_contact_view(contact),
        sector=names.sector(data.get("sector_id")), user=names.user(data.get("user_id")),
    )


def _contact_view(contact: dict) -> SimpleNamespace:
    view = SimpleNamespace(display_name=contact.get("name") or f"#{contact.get('id')}")
    if "tags" in contact:  # without them (prepare failed) the row has no chips: live.js keeps the shown ones
        view.tags = [SimpleNamespace(**tag) for tag in contact["tags"] or []]
    return view


def message_view(data: dict) -> SimpleNamespace:
    names = directory()
    quoted = None
    if data.get("quoted_id"):
        body = db.session.scalar(select(Message.body).where(Message.id == data["quoted_id"]))
        quoted = SimpleNamespace(body=body) if body is not None else None
    return SimpleNamespace(
        id=data["id"], ticket_id=data["ticket_id"], direction=data["direction"], kind=data["kind"],
        body=data.get("body") or "", status=data["status"], error=data.get("error"),
        author_id=data.get("author_id"), author=names.user(data.get("author_id")),
        from_bot=bool(data.get("from_bot")), quoted=quoted, quoted_id=data.get("quoted_id"),
        created_at=_when(data.get("created_at")),
        original_body=data.get("original_body"), edited_at=_when(data.get("edited_at")),
        deleted_at=_when(data.get("deleted_at")),
        media_path=data.get("media_url"), media_name=data.get("media_name"), media_size=data.get("media_size"),
        media_mime=data.get("media_mime"), voice=bool(data.get("voice")), duration=data.get("duration"),
    )


# -- sector and user names, for rows and authors -------------------------------------------

class Directory:
    """Sectors' names and colours and users' names, read in two small queries and kept
    for ``ttl`` seconds, so rendering an event's row costs no query. A change committed
    in this process clears it at once; other processes see it within ``ttl``."""

    def __init__(self, ttl: float = 30.0):
        self.ttl = ttl
        self._loaded_at = None
        self._sectors: dict = {}
        self._users: dict = {}
        self._lock = threading.Lock()

    def _fresh(self) -> None:
        now = time.monotonic()
        if self._loaded_at is not None and now - self._loaded_at < self.ttl:
            return
        with self._lock:
            if self._loaded_at is not None and now - self._loaded_at < self.ttl:
                return
            rows = db.session.execute(select(Sector.id, Sector.name, Sector.color)).all()
            self._sectors = {r.id: SimpleNamespace(id=r.id, name=r.name, color=r.color) for r in rows}
            rows = db.session.execute(select(User.id, User.name)).all()
            self._users = {r.id: SimpleNamespace(id=r.id, name=r.name) for r in rows}
            self._loaded_at = now

    def sector(self, sector_id):
        return self._get("_sectors", sector_id)

    def user(self, user_id):
        return self._get("_users", user_id)

    def _get(self, table: str, ident):
        if ident is None:
            return None
        self._fresh()
        found = getattr(self, table).get(ident)
        if found is None and time.monotonic() - self._loaded_at > 1.0:  # created since the last load
            self.forget()
            self._fresh()
            found = getattr(self, table).get(ident)
        return found

    def forget(self) -> None:
        self._loaded_at = None


def directory() -> Directory:
    found = current_app.extensions.get("fragment_directory")
    if found is None:
        found = current_app.extensions.setdefault("fragment_directory", Directory())
    return found


def _forget_on_change(session, _flush_context) -> None:
    if any(isinstance(obj, (Sector, User)) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["fragment_directory_stale"] = True


def _after_commit(session) -> None:
    if session.info.pop("fragment_directory_stale", False):
        found = current_app.extensions.get("fragment_directory") if has_app_context() else None
        if found is not None:
            found.forget()


event.listen(Session, "after_flush", _forget_on_change)
event.listen(Session, "after_commit", _after_commit)
