"""The group commit of plain customer messages (atendimento/channels/batch.py): many
concurrent webhooks, few transactions, and still every message stored exactly once, in
order, counted and announced as receive_inbound would.

Concurrency is real: threads, each with its own test client (so its own app context,
session and database connection), against one app. Where a test needs a batch of a
known shape, it holds the row lock (on SQLite, the write lock) that the batch in
progress waits for, lets the other webhooks queue up behind it, then lets go.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, exc, func, select

from atendimento.channels import batch, webhook_connections
from atendimento.extensions import db
from atendimento.models import Connection, Contact, Message, Ticket
from atendimento.serializers import message_json, ticket_json
from atendimento.tickets.inbound import Inbound
from atendimento.tickets.state import MESSAGE_FIELDS


@dataclasses.dataclass
class Gateway:
    """A generic connection as plain values, usable from any thread."""

    id: int
    token: str
    secret: str


@pytest.fixture
def gateway(factory) -> Gateway:
    connection = factory.connection(kind="generic")
    return Gateway(connection.id, connection.token, connection.secret)


def post(client, gateway: Gateway, payload, secret: str | None = None, token: str | None = None):
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new((secret or gateway.secret).encode(), raw, hashlib.sha256).hexdigest()
    return client.post(f"/webhooks/generic/{token or gateway.token}", data=raw,
                       headers={"Content-Type": "application/json", "X-Signature-256": signature})


def customer(n: int) -> str:
    return f"55119{n:08d}"


def open_ticket(client, gateway: Gateway, n: int) -> int:
    """A customer's first message, through a webhook: their contact and ticket now exist."""
    assert post(client, gateway, {"id": f"first-{n}", "from": customer(n), "name": f"Cliente {n}",
                                  "text": "Olá"}).status_code == 200
    ticket_id = db.session.scalar(select(Message.ticket_id).where(Message.external_id == f"first-{n}"))
    db.session.commit()  # a read holds SQLite's write lock (BEGIN IMMEDIATE) until the transaction ends
    return ticket_id


class Statements:
    """The SQL statements every thread runs while the block lasts (SQLite's BEGIN IMMEDIATE left out)."""

    def __enter__(self):
        self.seen = []
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):
            self.seen.append(statement)

    def inserts(self, table: str) -> int:
        return sum(statement.startswith(f"INSERT INTO {table} ") for statement in self.seen)


def in_threads(work, count: int) -> list:
    """``work(i)`` in ``count`` threads started together; their results, or the exceptions they raised."""
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as error:  # noqa: BLE001 - the test inspects every outcome
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 8  # below SQLite's busy timeout, which the held lock runs against
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@contextmanager
def held_batch(app, client, gateway: Gateway, ticket_id: int, plug: dict):
    """Post ``plug`` (a message on ``ticket_id``) in a thread and keep its batch waiting for
    the ticket's row lock (on SQLite, for the write lock) until the block ends; whatever
    is handed to the group commit meanwhile queues up for the next batch. Yields the
    group commit and the plug's thread results."""
    committer = batch.group_commit_of(app)
    db.session.commit()  # the test's own session holds nothing (SQLite: not the write lock)
    outcome = []
    with db.engine.connect() as lock:
        lock.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())
        thread = threading.Thread(target=lambda: outcome.append(post(app.test_client(), gateway, plug)))
        thread.start()
        wait_for(lambda: committer.busy and committer.waiting == 0, "the plug's batch to start")
        yield committer, outcome
        lock.rollback()
    thread.join(timeout=60)


def unread(ticket_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id).unread


def stored_ids(ticket_id: int) -> list[str]:
    return list(db.session.scalars(select(Message.external_id).where(Message.ticket_id == ticket_id)
                                   .order_by(Message.id)))


def created_events(published) -> list[dict]:
    return [data for name, _ticket, data in published if name == "message.created"]


# -- which messages the batch takes ---------------------------------------------------------------

def test_the_batch_takes_plain_messages_on_active_tickets_without_a_bot(app, client, factory, gateway):
    human = open_ticket(client, gateway, 1)
    bot = open_ticket(client, gateway, 2)
    db.session.get(Ticket, bot).bot_mode = "menu"
    closed = factory.ticket(db.session.get(Connection, gateway.id), status="closed", sender=customer(3))
    factory.inbound(db.session.get(Connection, gateway.id), sender=customer(4), name=None, external_id="x0")
    db.session.commit()
    connection = webhook_connections.find("generic", gateway.token)

    def pending(n, external_id, name=None):
        return batch.Pending(connection, Inbound(sender_id=customer(n), name=name, body=f"texto {external_id}",
                                                 external_id=external_id))

    items = [
        pending(1, "h1"),
        pending(1, "h1"),  # redelivered within the batch
        pending(1, "first-1"),  # redelivered after it was stored
        pending(2, "b1"),  # the menu must read it: receive_inbound runs flow.answer
        pending(3, "c1"),  # only a closed ticket: receive_inbound opens a new one
        pending(9, "n1"),  # a new contact
        pending(4, "x1", name="Zé"),  # names a nameless contact
        pending(4, "x2"),  # must not overtake x1
        pending(1, "h2"),
    ]
    batch.store(items)

    assert [item.outcome for item in items] == [
        batch.STORED, batch.DUPLICATE, batch.DUPLICATE, batch.SLOW, batch.SLOW, batch.SLOW, batch.SLOW, batch.SLOW,
        batch.STORED]
    assert stored_ids(human) == ["first-1", "h1", "h2"]
    ticket = db.session.get(Ticket, human)
    assert (ticket.unread, ticket.last_message) == (3, "texto h2")
    assert db.session.scalar(select(func.count(Message.id)).where(
        Message.external_id.in_(["b1", "c1", "n1", "x1", "x2"]))) == 0
    assert closed.status == "closed" and unread(bot) == 1


def test_a_connection_changed_since_it_was_read_stores_nothing(app, client, gateway):
    ticket_id = open_ticket(client, gateway, 1)
    connection = webhook_connections.find("generic", gateway.token)
    items = [batch.Pending(dataclasses.replace(connection, secret="an old secret"),
                           Inbound(sender_id=customer(1), body="oi", external_id="m1"))]
    batch.store(items)
    assert items[0].outcome == batch.STALE
    assert stored_ids(ticket_id) == ["first-1"]


def test_a_message_on_an_existing_ticket_costs_three_statements(client, gateway):
    """Find the contact's ticket, insert, update the ticket: no connection lookup (kept in
    memory) and no query to announce it (the relay gets the ticket's state with the event)."""
    open_ticket(client, gateway, 1)
    with Statements() as statements:
        response = post(client, gateway, {"id": "m2", "from": customer(1), "text": "de novo"})
    assert response.status_code == 200 and response.json["stored"] == 1
    assert len(statements.seen) == 3, statements.seen


def test_the_batch_announces_what_receive_inbound_would(client, gateway, published):
    """Message after message: the ticket as that message left it, then the message."""
    ticket_id = open_ticket(client, gateway, 1)
    published.clear()
    post(client, gateway, [{"id": "m2", "from": customer(1), "text": "segunda"},
                           {"id": "m3", "from": customer(1), "text": "terceira"}])

    assert [(name, ticket) for name, ticket, _data in published] == [
        ("ticket.updated", ticket_id), ("message.created", ticket_id)] * 2
    ticket = ticket_json(db.session.get(Ticket, ticket_id))
    messages = {m.external_id: message_json(m) for m in db.session.scalars(select(Message))}
    assert [data for _name, _ticket, data in published] == [
        {**ticket, "unread": 2, "last_message": "segunda", "previous": None, "changed": list(MESSAGE_FIELDS)},
        messages["m2"],
        {**ticket, "unread": 3, "last_message": "terceira", "previous": None, "changed": list(MESSAGE_FIELDS)},
        messages["m3"],
    ]


# -- bursts ---------------------------------------------------------------------------------------

CUSTOMERS, MESSAGES = 8, 10


def test_a_burst_of_webhooks_stores_every_message_once_in_order(app, client, gateway, published):
    tickets = [open_ticket(client, gateway, n) for n in range(CUSTOMERS)]
    published.clear()

    def talk(n):  # one customer per thread, their messages one after the other
        talker = app.test_client()
        return [post(talker, gateway, {"id": f"m{n}-{k}", "from": customer(n), "text": f"mensagem {k}"}).json
                for k in range(MESSAGES)]

    answers = in_threads(talk, CUSTOMERS)

    assert all(answer == [{"ok": True, "stored": 1, "duplicates": 0, "statuses": 0, "corrections": 0,
                                "unreadable": 0}] * MESSAGES
               for answer in answers), answers
    for n, ticket_id in enumerate(tickets):
        assert stored_ids(ticket_id) == [f"first-{n}"] + [f"m{n}-{k}" for k in range(MESSAGES)]
        assert unread(ticket_id) == 1 + MESSAGES
        updates = [data["unread"] for name, ticket, data in published
                   if name == "ticket.updated" and ticket == ticket_id]
        assert updates == list(range(2, 2 + MESSAGES))  # one per message, in order
    created = [data["external_id"] for data in created_events(published)]
    assert sorted(created) == sorted(f"m{n}-{k}" for n in range(CUSTOMERS) for k in range(MESSAGES))


def test_concurrent_redeliveries_store_each_message_once(app, client, gateway, published):
    tickets = [open_ticket(client, gateway, n) for n in range(2)]
    published.clear()
    every = [{"id": f"m{n}-{k}", "from": customer(n), "text": f"mensagem {k}"} for n in range(2) for k in range(6)]

    def deliver(_i):  # every thread posts every message: the provider retrying, many times at once
        deliverer = app.test_client()
        return [post(deliverer, gateway, payload).json["stored"] for payload in every]

    stored = in_threads(deliver, 6)

    assert not any(isinstance(result, Exception) for result in stored), stored
    assert [sum(column) for column in zip(*stored)] == [1] * len(every)  # each message stored by one request
    for ticket_id in tickets:
        assert unread(ticket_id) == 1 + 6
    created = [data["external_id"] for data in created_events(published)]
    assert sorted(created) == sorted(payload["id"] for payload in every)


# -- batches of a known shape ---------------------------------------------------------------------

def test_a_redelivery_inside_one_batch_is_stored_once(app, client, gateway, published):
    tickets = [open_ticket(client, gateway, n) for n in range(3)]
    published.clear()
    queued = [{"id": "m0", "from": customer(1), "text": "um"}, {"id": "m0", "from": customer(1), "text": "um"},
              {"id": "m1", "from": customer(2), "text": "dois"}, {"id": "m2", "from": customer(1), "text": "três"},
              {"id": "m1", "from": customer(2), "text": "dois"}]
    results = []

    with Statements() as statements:
        with held_batch(app, client, gateway, tickets[0], {"id": "plug", "from": customer(0), "text": "p"}) \
                as (committer, plug):
            threads = [threading.Thread(target=lambda p=payload: results.append(post(app.test_client(), gateway, p)))
                       for payload in queued]
            for thread in threads:
                thread.start()
            wait_for(lambda: committer.waiting == len(queued), "the webhooks to queue up")
        for thread in threads:
            thread.join(timeout=60)

    assert plug[0].json["stored"] == 1 and len(results) == len(queued)
    assert sorted(r.json["stored"] for r in results) == [0, 0, 1, 1, 1]
    assert sorted(stored_ids(tickets[1])) == ["first-1", "m0", "m2"]
    assert stored_ids(tickets[2]) == ["first-2", "m1"]
    assert (unread(tickets[1]), unread(tickets[2])) == (3, 2)
    assert sorted(data["external_id"] for data in created_events(published)) == ["m0", "m1", "m2", "plug"]
    assert statements.inserts("messages") == 2  # the plug's batch, then everything that queued behind it


def test_a_failing_batch_is_stored_one_by_one(app, client, gateway, published):
    """A batch whose transaction fails (here: one message the database refuses) stores
    nothing; each request then stores its own messages alone, so only the bad one fails."""
    tickets = [open_ticket(client, gateway, n) for n in range(3)]
    published.clear()
    refusal = db.engine.dialect.loaded_dbapi.IntegrityError

    def refuse_poison(_conn, _cursor, statement, parameters, _context, _many):
        if statement.startswith("INSERT INTO messages") and "poison" in repr(parameters):
            raise refusal("the database refuses this message")

    queued = [{"id": "m1", "from": customer(1), "text": "um"}, {"id": "poison", "from": customer(2), "text": "x"},
              {"id": "m2", "from": customer(2), "text": "dois"}, {"id": "m3", "from": customer(1), "text": "três"}]
    results = {}

    def deliver(payload):
        try:
            results[payload["id"]] = post(app.test_client(), gateway, payload).status_code
        except exc.IntegrityError:  # the test client re-raises what the app raised (a 500 in production)
            results[payload["id"]] = 500

    event.listen(db.engine, "before_cursor_execute", refuse_poison)
    try:
        with held_batch(app, client, gateway, tickets[0], {"id": "plug", "from": customer(0), "text": "p"}) \
                as (committer, _plug):
            threads = [threading.Thread(target=deliver, args=(payload,)) for payload in queued]
            for thread in threads:
                thread.start()
            wait_for(lambda: committer.waiting == len(queued), "the webhooks to queue up")
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse_poison)

    assert results == {"m1": 200, "poison": 500, "m2": 200, "m3": 200}
    assert sorted(stored_ids(tickets[1])) == ["first-1", "m1", "m3"]
    assert stored_ids(tickets[2]) == ["first-2", "m2"]
    assert (unread(tickets[1]), unread(tickets[2])) == (3, 2)
    assert sorted(data["external_id"] for data in created_events(published)) == ["m1", "m2", "m3", "plug"]


def test_batches_are_split_at_the_configured_size(app, client, gateway):
    app.config["INGEST_BATCH_MAX"] = 2
    app.extensions.pop("ingest_group_commit", None)
    tickets = [open_ticket(client, gateway, n) for n in range(2)]
    queued = [{"id": f"m{k}", "from": customer(1), "text": f"{k}"} for k in range(5)]

    with Statements() as statements:
        with held_batch(app, client, gateway, tickets[0], {"id": "plug", "from": customer(0), "text": "p"}) \
                as (committer, _plug):
            threads = []
            for payload in queued:  # one after the other: their order is the order they queue in
                threads.append(threading.Thread(target=post, args=(app.test_client(), gateway, payload)))
                threads[-1].start()
                wait_for(lambda n=len(threads): committer.waiting == n, "the webhook to queue up")
        for thread in threads:
            thread.join(timeout=60)

    assert stored_ids(tickets[1]) == ["first-1", "m0", "m1", "m2", "m3", "m4"]
    assert statements.inserts("messages") == 1 + 3  # the plug, then 2 + 2 + 1


# -- the connection kept in memory is never trusted to store ---------------------------------------

def test_a_disabled_connection_is_refused_at_once(client, gateway):
    ticket_id = open_ticket(client, gateway, 1)  # the connection is now kept in memory
    connection = db.session.get(Connection, gateway.id)
    connection.enabled = False
    db.session.commit()
    assert post(client, gateway, {"id": "m2", "from": customer(1), "text": "oi"}).status_code == 404
    assert stored_ids(ticket_id) == ["first-1"]


def test_a_changed_secret_or_token_is_seen_at_once(client, gateway):
    ticket_id = open_ticket(client, gateway, 1)
    connection = db.session.get(Connection, gateway.id)
    connection.secret, connection.token = "a brand new secret", "a-brand-new-token"
    db.session.commit()
    message = {"id": "m2", "from": customer(1), "text": "oi"}
    assert post(client, gateway, message).status_code == 404  # the old token
    assert post(client, gateway, message, token="a-brand-new-token").status_code == 403  # the old secret
    assert stored_ids(ticket_id) == ["first-1"]
    assert post(client, gateway, message, secret="a brand new secret", token="a-brand-new-token").status_code == 200
    assert stored_ids(ticket_id) == ["first-1", "m2"]


def test_a_deleted_connection_is_refused_at_once(client, gateway):
    status = {"type": "status", "id": "unknown", "status": "read"}
    assert post(client, gateway, status).status_code == 200  # the connection is now kept in memory
    db.session.delete(db.session.get(Connection, gateway.id))
    db.session.commit()
    assert post(client, gateway, {"id": "m1", "from": customer(1), "text": "oi"}).status_code == 404
    assert db.session.scalar(select(func.count(Contact.id))) == 0
