"""The group commit where production runs it: a gevent server process (gevent's locks and
events in place of the threads' ones), webhooks from real sockets, an attendant's stream."""
import hashlib
import hmac
import json
import uuid

import pytest
import redis
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Message, Ticket

from ..conftest import REDIS_URL
from ..realtime.live import free_port, python_server
from .test_batch import in_threads

CUSTOMERS, MESSAGES = 6, 8


def customer(n: int) -> str:
    return f"55119{n:08d}"


@pytest.fixture
def shop(factory):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    connection = factory.connection("Loja", kind="generic", sectors=[sales])
    tickets = [factory.inbound(connection, sender=customer(n), external_id=f"first-{n}").ticket_id
               for n in range(CUSTOMERS)]
    ids = dict(ana=ana.email, token=connection.token, secret=connection.secret, tickets=tickets)
    db.session.remove()  # let go of the database (SQLite's write lock) before the server uses it
    return ids


@pytest.fixture
def server(app, shop, tmp_path):
    prefix = f"atendimento-test:{uuid.uuid4().hex[:12]}"
    server = python_server(free_port(), {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
        "REALTIME_KEY_PREFIX": prefix, "REALTIME_HEARTBEAT_S": 0.05, "SECRET_KEY": "batch-live-test",
        "OUTBOX_WORKER": False,
    }, tmp_path)
    yield server
    server.stop()
    if app.config["REDIS_URL"]:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_a_burst_on_the_gevent_server_is_stored_and_streamed_once_in_order(server, shop):
    stream = server.stream(server.login(shop["ana"]))
    try:
        assert "retry" in stream.next_frame()

        def talk(i):  # two deliveries of each customer's messages at once: the provider retrying
            n, answers = i // 2, []
            for k in range(MESSAGES):
                raw = json.dumps({"id": f"m{n}-{k}", "from": customer(n), "text": f"mensagem {k}"}).encode()
                signature = "sha256=" + hmac.new(shop["secret"].encode(), raw, hashlib.sha256).hexdigest()
                status, _headers, body = server.request("POST", f"/webhooks/generic/{shop['token']}", raw, {
                    "Content-Type": "application/json", "X-Signature-256": signature})
                assert status == 200, body
                answers.append(json.loads(body)["stored"])
            return answers

        answers = in_threads(talk, 2 * CUSTOMERS)
        events = []
        while len([e for e in events if e["event"] == "message.created"]) < CUSTOMERS * MESSAGES:
            events.append(stream.next_event())
    finally:
        stream.close()

    assert not any(isinstance(answer, Exception) for answer in answers), answers
    for n in range(CUSTOMERS):  # each message stored by exactly one of its two deliveries
        assert [a + b for a, b in zip(answers[2 * n], answers[2 * n + 1])] == [1] * MESSAGES
    created = [e["data"]["external_id"] for e in events if e["event"] == "message.created"]
    assert sorted(created) == sorted(f"m{n}-{k}" for n in range(CUSTOMERS) for k in range(MESSAGES))
    for n, ticket_id in enumerate(shop["tickets"]):
        assert list(db.session.scalars(select(Message.external_id).where(Message.ticket_id == ticket_id)
                                       .order_by(Message.id))) == [f"first-{n}"] + [f"m{n}-{k}"
                                                                                     for k in range(MESSAGES)]
        assert db.session.get(Ticket, ticket_id).unread == 1 + MESSAGES
        unread = [e["data"]["unread"] for e in events if e["event"] == "ticket.updated" and e["data"]["id"] == ticket_id]
        assert unread == list(range(2, 2 + MESSAGES))  # one update per message, in order
