"""Redis faults (issue 15, SPEC §7), on a ``redis-server`` of the test's own (``live.PrivateRedis``):
the database is the truth, and no stream skips an event silently.

- Redis killed for 2 s during a steady flow of signed webhooks into a real gevent server, then
  restarted empty: every webhook is acknowledged and stored exactly once, and every open stream
  receives each message or a ``reset`` after it was acknowledged (the page then refetches it);
  a browser resuming with an id from before the restart gets everything it missed or ``reset``.
- A Redis that hangs: requests do not wait on it beyond one attempt, what waits is published in
  order once it answers, and what the bounded queue had to give up becomes a ``reset``.
- ``close()`` wakes its subscriber instead of waiting for its next poll.

Each flow test prints one ``faults:`` line (sent / acknowledged / stored / per stream delivered or
reset); nothing asserts on time: sleeps only pace the flow and schedule the fault.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import signal
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Message

from .conftest import PATIENCE
from .live import PrivateRedis, free_port, python_server

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])  # PostgreSQL + Redis

FLOW = 240  # webhooks in the steady flow
RATE = 40.0  # webhooks per second at most (one poster, each waiting for its answer)
KILL_AT_S = 1.5  # into the flow
DOWN_S = 2.0
SENDERS = 6  # a handful of customers: most messages land on an open ticket
FINAL = "fim do fluxo"
STREAM_USERS = ("ana", "ana", "bruno", "admin")  # two tabs of one user, another attendant, an admin


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    if server.running:
        server.stop()


@pytest.fixture
def realtime_overrides(private_redis):
    return {"REDIS_URL": private_redis.url}


@pytest.fixture
def shop(factory):
    sales = factory.sector("Comercial")
    people = {"ana": factory.user("Ana", sectors=[sales]), "bruno": factory.user("Bruno", sectors=[sales]),
              "admin": factory.admin()}
    conn = factory.connection("Loja", sectors=[sales])
    shop = {"emails": {name: user.email for name, user in people.items()}, "token": conn.token,
            "secret": conn.secret, "connection_id": conn.id}
    db.session.remove()  # the server process writes now
    return shop


@pytest.fixture
def server(app, shop, tmp_path):
    server = python_server(free_port(), {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "REALTIME_KEY_PREFIX": app.config["REALTIME_KEY_PREFIX"],
        "REALTIME_HEARTBEAT_S": 0.5,
        "SECRET_KEY": "fault-test", "OUTBOX_WORKER": False,
    }, tmp_path)
    yield server
    server.stop()


def post_webhook(server, shop, external_id: str, sender: int, text: str) -> int:
    raw = json.dumps({"id": external_id, "from": f"551190000{sender:04d}", "name": f"Cliente {sender}",
                      "text": text}).encode()
    signature = "sha256=" + hmac.new(shop["secret"].encode(), raw, hashlib.sha256).hexdigest()
    try:
        status, _headers, _body = server.request("POST", f"/webhooks/generic/{shop['token']}", raw, {
            "Content-Type": "application/json", "X-Signature-256": signature})
    except OSError:
        return 0
    return status


class Reader(threading.Thread):
    """Reads one open stream, each frame with the time it arrived, until the final message."""

    def __init__(self, name: str, stream):
        super().__init__(name=f"reader-{name}", daemon=True)
        self.label, self.stream = name, stream
        self.frames: list[tuple[float, dict]] = []
        self.error: BaseException | None = None

    def run(self):
        try:
            while True:
                frame = self.stream.next_frame()
                self.frames.append((time.monotonic(), frame))
                if frame.get("event") == "message.created" and frame["data"].get("body", "").startswith(FINAL):
                    return
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error

    def delivered(self) -> list[int]:
        return [f["data"]["id"] for _t, f in self.frames if f.get("event") == "message.created"
                and not f["data"].get("body", "").startswith(FINAL)]

    def reset_times(self) -> list[float]:
        return [t for t, f in self.frames if f.get("event") == "reset"]


class Outage(threading.Thread):
    """Kills Redis ``KILL_AT_S`` into the flow and starts it again, empty, ``DOWN_S`` later."""

    def __init__(self, redis_server: PrivateRedis):
        super().__init__(name="outage", daemon=True)
        self.redis_server = redis_server
        self.down_at = self.up_at = None

    def run(self):
        time.sleep(KILL_AT_S)
        self.redis_server.kill()
        self.down_at = time.monotonic()
        time.sleep(DOWN_S)
        self.redis_server.start()
        self.up_at = time.monotonic()


def stored_once(connection_id: int, external_ids) -> dict[str, int]:
    """external id -> message id, asserting each was stored exactly once."""
    rows = db.session.execute(select(Message.external_id, Message.id).where(
        Message.connection_id == connection_id, Message.external_id.in_(list(external_ids)))).all()
    counts = Counter(external_id for external_id, _id in rows)
    assert all(count == 1 for count in counts.values()), [e for e, c in counts.items() if c > 1]
    return {external_id: message_id for external_id, message_id in rows}


def test_redis_killed_during_a_webhook_flow_loses_nothing_silently(server, shop, private_redis):
    cookies = {name: server.login(shop["emails"][name]) for name in set(STREAM_USERS)}
    readers = []
    for n, name in enumerate(STREAM_USERS):
        stream = server.stream(cookies[name])
        assert stream.status == 200
        readers.append(Reader(f"{name}{n}", stream))
    # A tab that goes away before the outage and comes back after it, with its Last-Event-ID.
    leaving = server.stream(cookies["ana"])
    assert post_webhook(server, shop, "antes", 0, "antes da queda") == 200
    before = leaving.events_until("message.created")
    old_id = before[-1]["id"]
    leaving.close()
    for reader in readers:
        reader.start()

    outage = Outage(private_redis)
    acknowledged: dict[str, float] = {}
    sent = []
    start = time.monotonic()
    outage.start()
    for n in range(FLOW):
        ahead = start + n / RATE - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)  # pacing the flow
        external_id = f"fluxo-{n}"
        sent.append(external_id)
        if post_webhook(server, shop, external_id, n % SENDERS, f"mensagem {n}") == 200:
            acknowledged[external_id] = time.monotonic()
    outage.join(timeout=60)
    assert outage.up_at is not None, "the outage thread did not bring Redis back"
    during = [e for e, t in acknowledged.items() if outage.down_at <= t <= outage.up_at]
    assert during, "no webhook was acknowledged while Redis was down: the flow missed the outage"
    # A last message after the flow ends each reader; again until each got one, since a stream whose
    # process reconnects to Redis after one was published gets a reset for it instead.
    for n in range(240):
        if not any(reader.is_alive() for reader in readers):
            break
        assert post_webhook(server, shop, f"final-{n}", 0, f"{FINAL} {n}") == 200
        for reader in readers:
            reader.join(timeout=0.5)
    for reader in readers:
        assert not reader.is_alive() and reader.error is None, (reader.label, reader.error, reader.frames[-3:])

    assert sorted(acknowledged) == sorted(sent), "a webhook failed while Redis was down"
    stored = stored_once(shop["connection_id"], acknowledged)
    assert set(stored) == set(acknowledged)
    figures = []
    for reader in readers:
        delivered = reader.delivered()
        assert len(delivered) == len(set(delivered)), f"{reader.label} got a message twice"
        resets = reader.reset_times()
        missing = [e for e in acknowledged if stored[e] not in delivered]
        uncovered = [e for e in missing if not any(t > acknowledged[e] for t in resets)]
        assert not uncovered, f"{reader.label} missed {uncovered[:5]} without a reset after them"
        figures.append(f"{reader.label} {len(acknowledged) - len(missing)} delivered + {len(missing)} "
                       f"after a reset ({len(resets)} reset)")

    # The tab that left before the outage resumes from its old id: all it missed, or a reset first.
    back = server.stream(cookies["ana"], last_event_id=old_id)
    first = back.next_event()
    if first["event"] == "reset":
        resumed = "reset"
    else:
        events = [first]
        while not (events[-1]["event"] == "message.created" and events[-1]["data"]["body"].startswith(FINAL)):
            events.append(back.next_event())
        got = {e["data"]["id"] for e in events if e["event"] == "message.created"}
        assert set(stored.values()) <= got
        resumed = f"{len(got)} replayed"
    back.close()
    print(f"\nfaults: sent {len(sent)} / acknowledged {len(acknowledged)} ({len(during)} while Redis was down) "
          f"/ stored {len(stored)} once; streams: {'; '.join(figures)}; resumed from before: {resumed}")


def test_resuming_with_an_id_from_before_a_restart_gets_what_it_missed_or_reset(
        factory, broker, open_stream, private_redis):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    conn = factory.connection("Loja", sectors=[sales])
    stream = open_stream(ana)
    factory.inbound(conn, sender="5511900000200", text="antes")
    old_id = stream.events_until("message.created")[-1]["id"]
    stream.close()

    private_redis.kill()
    missed = [factory.inbound(conn, sender=f"55119000002{n:02d}", text=f"durante {n}") for n in range(1, 4)]
    private_redis.start()  # empty
    missed += [factory.inbound(conn, sender=f"55119000003{n:02d}", text=f"depois {n}") for n in range(3)]
    for _ in range(PATIENCE):  # until the announcements are handed over and the subscriber is back (bounded)
        if not broker.publisher.waiting and broker.listening:
            break
        time.sleep(0.05)

    again = open_stream(ana, last_event_id=old_id)
    first = again.next_event()
    if first["event"] != "reset":  # then every missed message must come, in order
        events = [first]
        while len([e for e in events if e["event"] == "message.created"]) < len(missed):
            events.append(again.next_event())
        assert [e["data"]["id"] for e in events if e["event"] == "message.created"] == [m.id for m in missed]
    # Either way the stream follows the new log from there.
    final = factory.inbound(conn, sender="5511900000400", text="segue")
    events = []
    while not events or events[-1]["event"] != "message.created" or events[-1]["data"]["id"] != final.id:
        events.append(again.next_event())
    print(f"\nfaults: resumed with {old_id} after a restart: {first['event']}")


def test_a_hanging_redis_delays_no_request_long_and_what_was_given_up_becomes_a_reset(
        factory, broker, open_stream, private_redis):
    admin = factory.admin()
    stream = open_stream(admin)
    visible = {"sector_id": None, "user_id": None}  # no sector: admins see it
    broker.publish("ticket.updated", 1, ticket=visible, data={"id": 1, "n": 0})
    assert stream.next_event()["data"]["n"] == 0

    broker.publisher.bound = 5
    private_redis.process.send_signal(signal.SIGSTOP)  # hangs: connections stay open, nothing answers
    try:
        for n in range(1, 9):  # the first waits one attempt, the rest queue at once; 3 are given up
            broker.publish("ticket.updated", 1, ticket=visible, data={"id": 1, "n": n})
        assert broker.publisher.waiting == 6 and broker.publisher.lost == 3  # 5 events and one marker
    finally:
        private_redis.process.send_signal(signal.SIGCONT)
    for _ in range(PATIENCE):  # until the queue is handed over (bounded; no time asserted)
        if not broker.publisher.waiting:
            break
        time.sleep(0.05)
    broker.publish("ticket.updated", 1, ticket=visible, data={"id": 1, "n": 9})

    seen = []
    while not seen or seen[-1].get("data", {}).get("n") != 9:
        event = stream.next_event()
        seen.append(event if event["event"] == "reset" else {"event": event["event"], "data": event["data"]})
    # Kept events in order, then the reset where the given-up ones were, then what followed.
    assert [e["data"]["n"] if e["event"] != "reset" else "reset" for e in seen] == [1, 2, 3, 4, 5, "reset", 9]
    print(f"\nfaults: Redis hung: 5 kept in order, {broker.publisher.lost} given up -> reset")


def test_close_wakes_the_subscriber(broker, open_stream, factory):
    open_stream(factory.admin()).next_frame()
    assert broker.listening
    started = time.monotonic()
    broker.close()
    assert not broker._thread.is_alive()
    # Informative only (no timed assertion): woken on its channel, not by its 1 s poll.
    print(f"\nfaults: close() took {1000 * (time.monotonic() - started):.0f} ms")
