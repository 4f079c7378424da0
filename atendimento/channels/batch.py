"""Group commit: the plain customer messages of many webhooks stored in one transaction.

A gevent worker spends a webhook's time in Python around SQL statements, not waiting
for the database, so it goes faster by running fewer statements per message, not by
running more at once. Messages that need nothing special — not an echo, no file, from
a contact who already has an active ticket on that connection with no bot on it — are
stored together: each request hands its messages over and waits; the request that
finds nobody at work becomes the applier, takes everything waiting (up to
``INGEST_BATCH_MAX`` messages), stores it with a few set-based statements, commits,
announces it, and wakes the requests with each message's outcome. Messages that
arrived meanwhile are taken over by the first of their requests. At low load a batch
is the request's own message, applied at once, so waiting costs nothing.

A 200 still means stored: a request answers once its messages are committed. What the
batch does not take, or all of a batch whose transaction failed, comes back to its
request as ``SLOW``, and the request stores it through ``receive_inbound`` as before:
nothing is lost, and the unique index on (connection, external id) doubles nothing.
Requests hold no database connection while they wait.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import bindparam, case, select, tuple_, update

from .. import events
from ..extensions import db
from ..models import Connection, Contact, ContactIdentity, Message, Ticket, utcnow
from ..serializers import message_json, ticket_json
from ..tickets.inbound import Inbound, dialect_insert
from ..tickets import state
from ..tickets.state import preview_of
from .webhook_connections import WebhookConnection

log = logging.getLogger(__name__)

# Outcomes. STALE: the webhook's connection changed since it was read (webhook_connections).
STORED, DUPLICATE, SLOW, STALE = "stored", "duplicate", "slow", "stale"
DEFAULT_MAX = 100

_TICKET_COLUMNS = (Ticket.id, Ticket.status, Ticket.contact_id, Ticket.connection_id, Ticket.sector_id,
                   Ticket.user_id, Ticket.unread, Ticket.last_message, Ticket.last_message_at, Ticket.bot_mode,
                   Ticket.created_at, Ticket.updated_at, Ticket.closed_at)


@dataclass(slots=True)
class Pending:
    """A customer's message handed to the group commit; ``outcome`` is set once it is done."""

    connection: WebhookConnection
    inbound: Inbound
    outcome: str | None = None


class _Group:
    """The messages of one request, and how it is woken: with its outcomes, or to apply."""

    __slots__ = ("items", "done", "lead")

    def __init__(self, items: list[Pending]):
        self.items = items
        self.done = threading.Event()  # a gevent Event once gevent has patched threading
        self.lead = False


class GroupCommit:
    """One per app and process. The applier is always one of the waiting requests, so
    there is no thread to start or stop, and a request's work runs in its own context."""

    def __init__(self, limit: int = DEFAULT_MAX):
        self.limit = max(1, limit)
        self._lock = threading.Lock()
        self._waiting: deque[_Group] = deque()
        self._applying = False

    @property
    def busy(self) -> bool:
        """Whether a request is applying a batch now."""
        return self._applying

    @property
    def waiting(self) -> int:
        """Messages handed over and not taken into a batch yet."""
        with self._lock:
            return sum(len(group.items) for group in self._waiting)

    def submit(self, items: list[Pending]) -> None:
        """Store ``items`` (or leave them ``SLOW``); returns once each has its outcome."""
        if not items:
            return
        group = _Group(items)
        with self._lock:
            self._waiting.append(group)
            group.lead, self._applying = not self._applying, True
        if not group.lead:
            try:
                group.done.wait()
            except BaseException:  # killed while waiting: the queue must not be left without an applier
                self._leave(group)
                raise
            if not group.lead:
                return
        self._apply_next(group)

    def _apply_next(self, own: _Group) -> None:
        """Apply the groups at the head of the queue (``own`` first), then pass the lead on."""
        batch = []
        try:
            with self._lock:
                batch = self._take()
            store([item for group in batch for item in group.items])
        finally:
            for group in batch:
                for item in group.items:
                    item.outcome = item.outcome or SLOW
                group.done.set()
            self._leave(own)

    def _leave(self, group: _Group) -> None:
        """``group``'s request stops waiting: if it was not taken into a batch, its messages
        are dropped (that request answers no 200, so the provider delivers them again);
        if it held the lead, the next group in the queue takes it."""
        with self._lock:
            if group in self._waiting:
                self._waiting.remove(group)
            if not group.lead:
                return
            group.lead = False
            if self._waiting:
                successor = self._waiting[0]
                successor.lead = True
                successor.done.set()
            else:
                self._applying = False

    def _take(self) -> list[_Group]:
        batch, size = [], 0
        while self._waiting and (not batch or size + len(self._waiting[0].items) <= self.limit):
            group = self._waiting.popleft()
            batch.append(group)
            size += len(group.items)
        return batch


def group_commit_of(app) -> GroupCommit:
    committer = app.extensions.get("ingest_group_commit")
    if committer is None:
        committer = app.extensions.setdefault(
            "ingest_group_commit", GroupCommit(app.config["INGEST_BATCH_MAX"]))
    return committer


# -- one batch ---------------------------------------------------------------------------

def store(items: list[Pending]) -> None:
    """Store ``items`` in one transaction and announce them; on any failure store nothing
    and leave them all ``SLOW``."""
    try:
        announcements = _store(items)
        db.session.commit()
    except Exception:  # noqa: BLE001 - whatever went wrong, each request retries its own messages alone
        log.warning("ingest: a batch of %d messages failed; storing them one by one", len(items), exc_info=True)
        db.session.rollback()
        for item in items:
            item.outcome = SLOW
        return
    for name, ticket_id, data, ticket in announcements:
        try:
            events.publish(name, ticket_id=ticket_id, data=data, ticket=ticket)
        except Exception:  # noqa: BLE001 - committed: a listener's failure must not undo the 200
            log.exception("ingest: could not announce %s of ticket %s", name, ticket_id)


def _store(items: list[Pending]) -> list[tuple]:
    targets = _targets(items)
    fast = _route(items, targets)
    if not fast:
        return []
    now = utcnow()
    rows = _insert_messages(fast, targets, now)
    stored = []
    for item in fast:
        row = rows.get((item.connection.id, item.inbound.external_id))
        item.outcome = STORED if row is not None else DUPLICATE
        if row is not None:
            stored.append((item, row))
    if not stored:
        return []
    tickets = _update_tickets(stored, targets, now)
    return _announcements(stored, targets, tickets)


def _key(item: Pending) -> tuple:
    return item.connection.channel, item.inbound.sender_id, item.connection.id


_statements: dict = {}


def _statement(name: str, build):
    """Statements are built once per process (and database kind): building one costs more
    Python than running it."""
    key = (name, db.session.get_bind().dialect.name)
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = build()
    return statement


def _targets_query():
    return (
        select(ContactIdentity.channel, ContactIdentity.external_id, Contact.id.label("contact_id"),
               Contact.name, Contact.phone, Contact.email, Ticket.id.label("ticket_id"), Ticket.connection_id,
               Connection.enabled, Connection.kind, Connection.token, Connection.secret, Connection.settings)
        .join(Contact, Contact.id == ContactIdentity.contact_id)
        .join(Ticket, Ticket.contact_id == Contact.id)
        .join(Connection, Connection.id == Ticket.connection_id)
        .where(tuple_(ContactIdentity.channel, ContactIdentity.external_id).in_(bindparam("identities", expanding=True)),
               Ticket.connection_id.in_(bindparam("connections", expanding=True)),
               Ticket.status != "closed", Ticket.bot_mode.is_(None))
        .order_by(Ticket.id)
        .with_for_update(of=Ticket, key_share=True)  # FOR NO KEY UPDATE: new messages may still reference it
    )


def _targets(items: list[Pending]) -> dict:
    """(channel, sender, connection) → the contact, its active ticket with no bot, and the
    connection's row, for every item at once. On PostgreSQL the tickets are locked (in id
    order, so two processes' batches cannot deadlock): none is closed, or handed to a
    bot, before the commit."""
    rows = db.session.connection().execute(_statement("targets", _targets_query), {
        "identities": list({(item.connection.channel, item.inbound.sender_id) for item in items}),
        "connections": list({item.connection.id for item in items}),
    })
    return {(row.channel, row.external_id, row.connection_id): row for row in rows}


def _route(items: list[Pending], targets: dict) -> list[Pending]:
    """The items the batch stores, in order; the others become ``SLOW`` (and so does every
    later message of their sender, which must not overtake them), ``DUPLICATE`` or ``STALE``."""
    fast, slow_keys, seen = [], set(), set()
    for item in items:
        key, inbound = _key(item), item.inbound
        target = targets.get(key)
        if target is not None and not item.connection.matches(target):
            item.outcome = STALE
        # receive_inbound names a nameless contact: that one is not ours.
        elif key in slow_keys or target is None or (inbound.name and not target.name):
            slow_keys.add(key)
            item.outcome = SLOW
        elif (item.connection.id, inbound.external_id) in seen:
            item.outcome = DUPLICATE  # redelivered within the batch
        else:
            seen.add((item.connection.id, inbound.external_id))
            fast.append(item)
    return fast


def _insert_query():
    return (
        dialect_insert(Message)
        .on_conflict_do_nothing(index_elements=["connection_id", "external_id"])
        .returning(Message.id, Message.connection_id, Message.external_id, Message.created_at)
    )


def _insert_messages(fast: list[Pending], targets: dict, now) -> dict:
    """One multi-row INSERT; a redelivery of a stored message is skipped by the unique index."""
    rows = db.session.connection().execute(_statement("insert", _insert_query), [{
        "ticket_id": targets[_key(item)].ticket_id, "connection_id": item.connection.id, "direction": "in",
        "kind": item.inbound.kind, "body": item.inbound.body or "", "external_id": item.inbound.external_id,
        "status": "received", "created_at": item.inbound.timestamp or now, "attempts": 0, "from_bot": False,
    } for item in fast])
    return {(row.connection_id, row.external_id): row for row in rows}


def _update_tickets(stored: list[tuple], targets: dict, now) -> dict:
    """One UPDATE for every touched ticket: unread + its new messages, the newest as preview."""
    counts, previews = {}, {}
    for item, _row in stored:
        ticket_id = targets[_key(item)].ticket_id
        counts[ticket_id] = counts.get(ticket_id, 0) + 1
        previews[ticket_id] = preview_of(item.inbound.kind, item.inbound.body)
    ids = sorted(counts)
    statement = (
        update(Ticket)
        .where(Ticket.id.in_(ids), Ticket.status != "closed", Ticket.bot_mode.is_(None))
        .values(unread=Ticket.unread + case(counts, value=Ticket.id),
                last_message=case(previews, value=Ticket.id), last_message_at=now, updated_at=now)
        .returning(*_TICKET_COLUMNS)
    )
    tickets = {row.id: row for row in db.session.connection().execute(statement)}
    if len(tickets) != len(ids):  # closed or handed to a bot meanwhile (SQLite has no row locks)
        raise RuntimeError(f"tickets changed during the batch: {sorted(set(ids) - set(tickets))}")
    return tickets


def _announcements(stored: list[tuple], targets: dict, tickets: dict) -> list[tuple]:
    """What receive_inbound would have announced message after message: the ticket as that
    message left it (``ticket.updated``), then the message (``message.created``)."""
    remaining = {}
    for item, _row in stored:
        ticket_id = targets[_key(item)].ticket_id
        remaining[ticket_id] = remaining.get(ticket_id, 0) + 1
    contacts, announcements = {}, []
    for item, row in stored:
        target = targets[_key(item)]
        ticket_row = tickets[target.ticket_id]
        remaining[ticket_row.id] -= 1
        if target.contact_id not in contacts:
            contacts[target.contact_id] = _contact(target)
        ticket = SimpleNamespace(**ticket_row._mapping, contact=contacts[target.contact_id])
        ticket.unread -= remaining[ticket_row.id]
        ticket.last_message = preview_of(item.inbound.kind, item.inbound.body)
        ticket_data = ticket_json(ticket)
        message = _message(item, row, ticket_row.id)
        announcements.append(("ticket.updated", ticket_row.id,
                              state.ticket_updated_data(ticket_data, None, state.MESSAGE_FIELDS), None))
        announcements.append(("message.created", ticket_row.id, message_json(message), ticket_data))
    return announcements


def _contact(target) -> SimpleNamespace:
    contact = SimpleNamespace(id=target.contact_id, name=target.name, phone=target.phone, email=target.email)
    contact.display_name = Contact.display_name.fget(contact)  # the model's one rule for it
    return contact


def _message(item: Pending, row, ticket_id: int) -> SimpleNamespace:
    """The stored row as ``message_json`` reads it (a plain message: no file, author or quote)."""
    inbound = item.inbound
    return SimpleNamespace(
        id=row.id, ticket_id=ticket_id, direction="in", kind=inbound.kind, body=inbound.body or "",
        status="received", error=None, external_id=row.external_id, media_path=None, media_name=None,
        media_mime=None, media_size=None, duration=None, voice=False,
        author_id=None, from_bot=False, quoted_id=None, original_body=None, edited_at=None, deleted_at=None,
        created_at=row.created_at,
    )
