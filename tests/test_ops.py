"""Health, readiness, metrics and `doctor` (SPEC §9), on SQLite + in-process broker and
PostgreSQL + Redis. The multiprocess sum over gunicorn workers: tests/deploy/test_gunicorn_metrics.py."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.serving import make_server

from atendimento import create_app
from atendimento.extensions import db

from .channels.test_generic import post
from .conftest import PG_URL, REDIS_URL, _pg_url

ROOT = Path(__file__).resolve().parent.parent
OPS_DB = PG_URL.rsplit("/", 1)[1] + "_ops"  # beside the test database, like test_migrations' own
LONG_SECRET = "a-long-and-fixed-secret-for-the-tests-0123456789"


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def samples(text: str) -> dict:
    """``{(name, (("label", "value"), ...)): value}`` of a /metrics answer."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client, **kw) -> dict:
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return samples(response.get_data(as_text=True))


@pytest.fixture
def migrated_url(backend, tmp_path, request):
    """An empty database migrated to head by the real migrations (not create_all)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    request.getfixturevalue("services_up")
    admin = sa.create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {OPS_DB} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {OPS_DB}"))
    yield _pg_url(PG_URL.rsplit("/", 1)[0] + "/" + OPS_DB)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {OPS_DB} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def migrated_app(backend, migrated_url, tmp_path):
    made = []

    def make(**overrides):
        config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": migrated_url, "MEDIA_DIR": str(tmp_path / "media"),
                  "SECRET_KEY": LONG_SECRET, "REDIS_URL": REDIS_URL if backend == "postgresql" else None,
                  **overrides}
        app = create_app(config)
        made.append(app)
        return app

    app = make()
    with app.app_context():
        upgrade()
        db.session.remove()
    yield make
    for app in made:
        app.extensions["realtime"].close()
        with app.app_context():
            db.engine.dispose()


def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "scheme": "http", "host": "localhost", "client": "127.0.0.1"}


def test_readyz_is_ready_on_a_migrated_installation(migrated_app, backend):
    response = migrated_app().test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready" and response.json["failing"] == []
    assert set(response.json["checks"]) == {"database", "migrations", "broker", "media"}
    broker = response.json["checks"]["broker"]["summary"]
    assert broker == ("Redis answers" if backend == "postgresql" else "in-process (REDIS_URL unset)")


def test_readyz_names_a_schema_that_was_never_migrated(client):
    """The test schema is built by create_all: no alembic revision, so not at head."""
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["migrations"]
    assert response.json["checks"]["migrations"] == {"ok": False, "summary": "not at head"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_readyz_answers_503_naming_the_database_when_it_is_unreachable(backend, tmp_path):
    url = (f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/atendimento" if backend == "postgresql"
           else f"sqlite:///{tmp_path / 'no-such-folder' / 'atendimento.db'}")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "MEDIA_DIR": str(tmp_path / "media"),
                      "REDIS_URL": None})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["failing"][0] == "database"
    assert response.json["checks"]["database"] == {"ok": False, "summary": "unreachable"}
    assert "127.0.0.1" not in response.get_data(as_text=True), "no connection details on a public page"
    app.extensions["realtime"].close()


def test_readyz_names_the_broker_and_the_media_folder(migrated_app, tmp_path):
    not_a_folder = tmp_path / "media-is-a-file"
    not_a_folder.write_text("")
    app = migrated_app(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", MEDIA_DIR=str(not_a_folder))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["broker", "media"]
    assert response.json["checks"]["media"]["summary"] == "not writable"


def test_metrics_count_tickets_outbox_webhooks_streams_and_latency(app, client, factory, auth):

    conn = factory.connection(kind="generic", settings={"outbound_url": "http://127.0.0.1:9/send"})
    factory.ticket(conn, sender="5511900000001")
    factory.ticket(conn, sender="5511900000002", status="closed")
    before = scrape(client)
    accepted = post(client, conn, {"id": "m-ops-1", "from": "5511900000003", "name": "Ana", "text": "Oi"})
    assert accepted.status_code == 200
    forged = client.post(f"/webhooks/generic/{conn.token}", data=b'{"id": "x"}',
                         headers={"X-Signature-256": "sha256=00", "Content-Type": "application/json"})
    assert forged.status_code in (401, 403)
    auth.login(factory.admin())
    stream = client.get("/stream", buffered=False)
    try:
        during = scrape(client)
    finally:
        stream.close()
    after = scrape(client)

    assert during[("atendimento_tickets", (("status", "pending"),))] == 2
    assert during[("atendimento_tickets", (("status", "closed"),))] == 1
    assert during[("atendimento_tickets", (("status", "open"),))] == 0
    assert during[("atendimento_outbox_messages", (("status", "queued"),))] == 0
    assert during[("atendimento_database_up", ())] == 1

    def grew(name, labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("atendimento_webhooks_total", {"kind": "generic", "outcome": "accepted"}) == 1
    outcome = "forbidden" if forged.status_code == 403 else "unauthenticated"
    assert grew("atendimento_webhooks_total", {"kind": "generic", "outcome": outcome}) == 1
    assert grew("atendimento_request_duration_seconds_count",
                {"endpoint": "webhooks.receive", "method": "POST", "status": "2xx"}) == 1
    assert during[("atendimento_stream_clients", ())] - before[("atendimento_stream_clients", ())] == 1
    assert after[("atendimento_stream_clients", ())] == before[("atendimento_stream_clients", ())]


def test_metrics_count_a_queued_reply(app, client, factory, api):
    conn = factory.connection(kind="generic", settings={"outbound_url": "http://127.0.0.1:9/send"})
    ana = factory.admin("Ana")
    ticket = factory.ticket(conn, sender="5511900000009", status="open", assignee=ana)
    assert api(ana).post(f"/tickets/{ticket.id}/messages", json={"text": "Olá!"}).status_code in (200, 201)
    assert scrape(client)[("atendimento_outbox_messages", (("status", "queued"),))] == 1


def test_metrics_are_for_this_host_or_the_token(app, client):
    relayed = {"X-Forwarded-For": "203.0.113.9"}
    refused = client.get("/metrics", headers=relayed)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    app.config["METRICS_TOKEN"] = "scraper-token"
    assert client.get("/metrics", headers={**relayed, "Authorization": "Bearer wrong"}).status_code == 403
    scrape(client, headers={**relayed, "Authorization": "Bearer scraper-token"})
    scrape(client)  # straight from this host, as Prometheus on the same server scrapes gunicorn


def _doctor(env: dict) -> subprocess.CompletedProcess:
    """The real command, as an operator runs it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS_", "REDIS_URL", "PUBLIC_URL"))}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "doctor"], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_doctor_exits_non_zero_naming_each_failure_with_its_fix(tmp_path):
    result = _doctor({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed_port()}/atendimento",
                      "MEDIA_DIR": str(tmp_path / "media"), "SECRET_KEY": "short",
                      "PUBLIC_URL": f"http://127.0.0.1:{closed_port()}"})
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    failed = [line.split()[1] for line in lines if line.startswith("FAIL")]
    assert failed == ["database", "migrations", "secret_key", "public_url"]
    assert [line.split()[1] for line in lines if line.startswith("ok")] == ["broker", "media"]
    assert sum(line.strip().startswith("fix:") for line in lines) == 4
    assert "fix: start the database, or set DATABASE_URL" in result.stdout
    assert "4 check(s) failed: database, migrations, secret_key, public_url" in result.stderr


def test_doctor_passes_on_a_ready_installation(migrated_app):
    app = migrated_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}/"
        result = app.test_cli_runner().invoke(args=["doctor"])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.output.splitlines() if line.startswith("ok")] == \
        ["database", "migrations", "broker", "media", "secret_key", "public_url"]
    assert result.output.rstrip().endswith("All checks passed.")


def test_doctor_refuses_a_placeholder_secret_and_a_url_that_is_not_us(migrated_app):
    app = migrated_app(SECRET_KEY="change-me")
    other = make_server("127.0.0.1", 0, lambda environ, start: (start("200 OK", []), [b"<h1>it works</h1>"])[1])
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        app.config["PUBLIC_URL"] = f"http://127.0.0.1:{other.server_port}"
        result = app.test_cli_runner().invoke(args=["doctor"])
    finally:
        other.shutdown()
    assert result.exit_code == 1
    assert "FAIL  secret_key" in result.output and "FAIL  public_url" in result.output
    assert "fix: set SECRET_KEY to a long random value" in result.output
