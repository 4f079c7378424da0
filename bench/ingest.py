"""Inbound webhook throughput: Atendimento's WhatsApp Cloud webhook against a bare
Flask + SQLAlchemy endpoint that inserts one row per request.

Both run as ONE gunicorn gevent worker on PostgreSQL with the same settings, and are
hit by the same concurrent keep-alive clients with the same signed WhatsApp
payloads (text messages from a few hundred customers: new contacts and tickets at
first, then messages on existing tickets). Prints messages per second, p50/p99
latency and the ratio of the two rates (target: at least 70 %); also, per message, the
worker's CPU time and the SQL statements and transactions it ran, which stay
meaningful when the machine is shared and rates are noisy.

    .venv/bin/python bench/ingest.py [--requests 3000] [--concurrency 32]
        [--rounds 3] [--database postgresql://postgres@127.0.0.1:5432/atd_channels]
        [--redis redis://127.0.0.1:6379/12]

The database's tables are (re)created and emptied. A figure, not a test: nothing asserts.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-app-secret"
TOKEN = "bench-connection-token-0123456789"
PNID = "106540352242922"
CUSTOMERS = 300


# -- the two apps, as gunicorn loads them ("ingest:atendimento_app()", "ingest:bare_app()") --------

def atendimento_app():
    sys.path.insert(0, str(ROOT))
    from atendimento import create_app
    from atendimento.extensions import db

    app = create_app()
    with app.app_context():
        _count_sql(app, db.engine)
    return app


def bare_app():
    """The floor: parse the JSON, insert one row, commit, answer."""
    from flask import Flask, request
    from flask_sqlalchemy import SQLAlchemy

    sys.path.insert(0, str(ROOT))
    from atendimento.config import normalize_database_url

    app = Flask("bare")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(os.environ["DATABASE_URL"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    db = SQLAlchemy(app)

    class BenchRow(db.Model):
        __tablename__ = "bench_rows"
        id = db.Column(db.Integer, primary_key=True)
        body = db.Column(db.Text)

    @app.post("/webhooks/whatsapp_cloud/<token>")
    def ingest(token):
        payload = request.get_json()
        text = payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"]
        db.session.add(BenchRow(body=text))
        db.session.commit()
        return {"ok": True}

    with app.app_context():
        _count_sql(app, db.engine)
    return app


def _count_sql(app, engine) -> None:
    """Count the statements and commits the worker runs; ``GET /_bench/sql`` answers them."""
    import sqlalchemy as sa

    counts = {"statements": 0, "commits": 0}

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _statement(*_args, **_kw):
        counts["statements"] += 1

    @sa.event.listens_for(engine, "commit")
    def _commit(*_args, **_kw):
        counts["commits"] += 1

    app.add_url_rule("/_bench/sql", "bench_sql", lambda: dict(counts))


# -- preparing the database ------------------------------------------------------------------------

def _create_database(database_url: str) -> None:
    """A fresh machine has no such database: create it (benchmarks make what they need)."""
    import sqlalchemy as sa

    url = _normalized(database_url)
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def prepare(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa

    from atendimento import create_app
    from atendimento.extensions import db
    from atendimento.models import Connection

    _create_database(database_url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": _normalized(database_url), "TESTING": True, "REDIS_URL": None})
    with app.app_context():
        db.create_all()
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.execute(sa.text("DROP TABLE IF EXISTS bench_rows"))
        db.session.execute(sa.text("CREATE TABLE bench_rows (id SERIAL PRIMARY KEY, body TEXT)"))
        db.session.add(Connection(name="Bench WhatsApp", kind="whatsapp_cloud", token=TOKEN, secret=SECRET,
                                  settings={"phone_number_id": PNID, "access_token": "x", "verify_token": "v"}))
        db.session.commit()
        db.engine.dispose()


def _normalized(url: str) -> str:
    sys.path.insert(0, str(ROOT))
    from atendimento.config import normalize_database_url

    return normalize_database_url(url)


# -- the load ------------------------------------------------------------------------------------

def payload(n: int, run: str) -> bytes:
    customer = f"5511{9_0000_0000 + n % CUSTOMERS:09d}"
    body = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
            "contacts": [{"profile": {"name": f"Cliente {n % CUSTOMERS}"}, "wa_id": customer}],
            "messages": [{"from": customer, "id": f"wamid.{run}.{n}", "timestamp": "1749416383", "type": "text",
                          "text": {"body": f"Mensagem número {n}: gostaria de saber o prazo de entrega."}}]}}]}]}
    return json.dumps(body).encode()


def load(port: int, requests: int, concurrency: int, run: str) -> dict:
    """Post ``requests`` signed webhooks from ``concurrency`` keep-alive clients (greenlets)."""
    import gevent
    from gevent.pool import Pool

    bodies = [payload(n, run) for n in range(requests)]
    latencies, failures, cursor = [], [], iter(range(requests))

    def client():
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in cursor:
            raw = bodies[n]
            signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            started = time.perf_counter()
            try:
                connection.request("POST", f"/webhooks/whatsapp_cloud/{TOKEN}", body=raw, headers={
                    "Content-Type": "application/json", "X-Hub-Signature-256": signature})
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                status = repr(error)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures.append(status)
        connection.close()

    pool = Pool(concurrency)
    started = time.perf_counter()
    for _ in range(concurrency):
        pool.spawn(client)
    pool.join()
    elapsed = time.perf_counter() - started
    gevent.sleep(0)
    latencies.sort()
    return {"rate": requests / elapsed, "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "errors": len(failures), "sample_error": failures[0] if failures else None}


# -- the server ------------------------------------------------------------------------------------

def serve(factory: str, port: int, env: dict) -> subprocess.Popen:
    # The production settings (gunicorn.conf.py: gevent, 1000 connections…) for both, one worker each.
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "1",
               "--bind", f"127.0.0.1:{port}", "--pythonpath", str(ROOT / "bench"), "--log-level", "warning",
               f"ingest:{factory}()"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit(f"{factory} did not start on port {port}")


def stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    server.wait(30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker_cpu_s(server: subprocess.Popen) -> float | None:
    """User + system CPU seconds of the gunicorn worker (Linux /proc; None elsewhere)."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        fields = Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def sql_counts(port: int) -> dict:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/_bench/sql")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def measure(name: str, factory: str, args, env: dict) -> dict:
    port = free_port()
    server = serve(factory, port, env)
    try:
        load(port, min(300, args.requests), args.concurrency, f"warm-{name}")  # connections, caches, JIT-free warmup
        cpu, sql = worker_cpu_s(server), sql_counts(port)
        result = load(port, args.requests, args.concurrency, name)
        cpu_after, sql_after = worker_cpu_s(server), sql_counts(port)
        if cpu is not None and cpu_after is not None:
            result["cpu_ms"] = 1000 * (cpu_after - cpu) / args.requests
        result.update({key: (sql_after[key] - sql[key]) / args.requests for key in sql})
        return result
    finally:
        stop(server)


def main() -> None:
    from gevent import monkey

    monkey.patch_all()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per endpoint (median kept)")
    parser.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/atd_channels"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL"),
                        help="REDIS_URL for Atendimento's realtime fan-out (default: the in-process broker)")
    args = parser.parse_args()

    prepare(args.database)
    env = {**os.environ, "DATABASE_URL": args.database, "OUTBOX_WORKER": "1", "SECRET_KEY": "bench",
           "MEDIA_DIR": "/tmp/atendimento-bench-media"}
    env.pop("REDIS_URL", None)
    app_env = {**env, **({"REDIS_URL": args.redis} if args.redis else {})}

    # Alternate the two (bare, ours, bare, ours…) so a machine shared with other work
    # slows both alike; each figure is the median of its rounds.
    rounds = {"bare": [], "atendimento": []}
    for n in range(args.rounds):
        rounds["bare"].append(measure(f"bare{n}", "bare_app", args, env))
        rounds["atendimento"].append(measure(f"atendimento{n}", "atendimento_app", args, app_env))
    bare, ours = (sorted(rounds[name], key=lambda r: r["rate"])[args.rounds // 2] for name in ("bare", "atendimento"))

    print(f"\n{args.requests} webhooks x {args.rounds} rounds, {args.concurrency} concurrent clients, "
          f"1 gunicorn gevent worker, PostgreSQL{' + Redis' if args.redis else ''} (median round)")
    for label, result in (("bare Flask + SQLAlchemy insert", bare), ("Atendimento WhatsApp webhook", ours)):
        print(f"  {label:32s} {result['rate']:8.1f} msg/s   p50 {result['p50_ms']:7.1f} ms   "
              f"p99 {result['p99_ms']:7.1f} ms   errors {result['errors']}"
              + (f" (e.g. {result['sample_error']})" if result["errors"] else ""))
        cpu = f"{result['cpu_ms']:.2f} ms" if "cpu_ms" in result else "n/a"
        print(f"  {'':32s} per message: worker CPU {cpu}, {result['statements']:.2f} SQL statements, "
              f"{result['commits']:.2f} commits")
    print(f"  ratio: {100 * ours['rate'] / bare['rate']:.0f} % of the bare endpoint's rate (target ≥ 70 %)")


if __name__ == "__main__":
    main()
