"""Real server processes on gevent: idle streams hold no database connection, and two
processes sharing PostgreSQL and Redis deliver each other's moves."""
import hashlib
import hmac
import json
import os
import signal
import sys

import pytest
import sqlalchemy as sa

from atendimento.extensions import db

from ..conftest import PG_URL, REDIS_URL
from .live import ServerProcess, free_port, python_server

STREAMS = 200
POOL = 10


@pytest.fixture
def people(factory):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    ana = factory.user("Ana", sectors=[sales])
    bruno = factory.user("Bruno", sectors=[sales])
    admin = factory.admin()
    conn = factory.connection("Loja", sectors=[sales])
    ticket = factory.ticket(conn, sector=sales)
    ids = dict(sales=sales.id, support=support.id, ana=ana.email, bruno=bruno.email, bruno_id=bruno.id,
               admin=admin.email, conn_token=conn.token, conn_secret=conn.secret, ticket=ticket.id)
    db.session.remove()  # let go of the database (SQLite's write lock) before the servers use it
    return ids


def test_idle_streams_hold_no_database_connection(app, backend, people, tmp_path):
    application_name = f"atd-pool-{os.getpid()}"
    engine_options = {"pool_size": POOL, "max_overflow": 0, "pool_timeout": 10}
    if backend == "postgresql":
        engine_options["connect_args"] = {"application_name": application_name}
    server = python_server(free_port(), {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "REDIS_URL": app.config["REDIS_URL"],
        "REALTIME_KEY_PREFIX": app.config["REALTIME_KEY_PREFIX"],
        "SECRET_KEY": "live-test", "OUTBOX_WORKER": False,
    }, tmp_path)
    streams = []
    try:
        cookie = server.login(people["ana"])
        for _ in range(STREAMS):
            stream = server.stream(cookie)
            assert stream.status == 200
            assert "retry" in stream.next_frame()
            streams.append(stream)

        # With every stream open, other requests are served from the same pool of 10.
        token = server.token(people["bruno"])
        status, body = server.json("GET", "/api/v1/tickets?status=pending", token=token)
        assert status == 200 and [t["id"] for t in body["items"]] == [people["ticket"]]
        status, body = server.json("POST", f"/api/v1/tickets/{people['ticket']}/accept", token=token)
        assert status == 200, body
        for stream in (streams[0], streams[-1]):
            updated = stream.events_until("ticket.updated")[-1]
            assert updated["data"]["user_id"] == people["bruno_id"]
        if backend == "postgresql":
            engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
            with engine.connect() as conn:
                held = conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                                   {"n": application_name})
            engine.dispose()
            assert 1 <= held <= POOL
    finally:
        for stream in streams:
            stream.close()
        server.stop()


def _signed_webhook(server, people, payload):
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(people["conn_secret"].encode(), raw, hashlib.sha256).hexdigest()
    return server.request("POST", f"/webhooks/generic/{people['conn_token']}", raw,
                          {"Content-Type": "application/json", "X-Signature-256": signature})


@pytest.mark.parametrize("backend", ["postgresql"])  # scale-out needs Redis
def test_two_processes_deliver_each_others_moves(app, people, tmp_path):
    env = {"DATABASE_URL": PG_URL, "REDIS_URL": REDIS_URL, "SECRET_KEY": "scale-out-test", "OUTBOX_WORKER": "0",
           "WEB_CONCURRENCY": "1"}
    port_a, port_b = free_port(), free_port()
    # A: gunicorn with the gevent worker (production); B: the development command.
    a = ServerProcess([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"], port_a, tmp_path,
                      {**env, "BIND": f"127.0.0.1:{port_a}"}, stop_signal=signal.SIGQUIT)  # quick shutdown
    b = ServerProcess([sys.executable, "-m", "atendimento.serve", "--port", str(port_b)], port_b, tmp_path, env)
    streams = []
    try:
        on_a = a.stream(a.login(people["ana"]))
        on_b = b.stream(b.login(people["bruno"]))
        streams += [on_a, on_b]
        for stream in streams:
            stream.next_frame()

        status, _headers, body = _signed_webhook(b, people, {"id": "wamid.scale-1", "from": "5511977776666",
                                                             "name": "Cliente Escala", "text": "Olá de B"})
        assert status == 200, body
        events = on_a.events_until("message.created")
        assert [e["event"] for e in events] == ["ticket.created", "message.created"]
        assert events[-1]["data"]["body"] == "Olá de B"
        ticket_id = events[0]["data"]["id"]
        assert on_b.events_until("message.created")[-1]["data"]["ticket_id"] == ticket_id

        token = a.token(people["bruno"])
        status, body = a.json("POST", f"/api/v1/tickets/{ticket_id}/accept", token=token)
        assert status == 200, body
        accepted = on_b.events_until("ticket.updated")[-1]
        assert accepted["data"]["status"] == "open" and accepted["data"]["user_id"] == people["bruno_id"]

        admin_token = b.token(people["admin"])
        status, body = b.json("POST", f"/api/v1/tickets/{ticket_id}/transfer", {"sector_id": people["support"]},
                              token=admin_token)
        assert status == 200, body
        for stream in (on_a, on_b):
            assert stream.events_until("ticket.removed")[-1]["data"] == {"id": ticket_id}
    finally:
        for stream in streams:
            stream.close()
        a.stop()
        b.stop()
