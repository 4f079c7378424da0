"""Benchmark the realtime stream against a minimal flask-sse app. Prints figures; not a test.

    .venv/bin/python bench/stream.py [--streams 1000] [--messages 150] [--rate 5]
                                     [--burst 300] [--workers 2] [--no-baseline]

For each app it starts gunicorn with the gevent worker and this repository's
``gunicorn.conf.py`` (same settings for both), opens N streams from one asyncio
client, then:

1. memory: worker RSS with N idle streams minus before them, per stream (and the
   Redis server's growth per stream, since flask-sse holds a Redis connection each);
2. steady: M inbound messages POSTed to the webhook at a steady rate; latency from
   just before each POST to the arrival of its ``message.created`` at each client
   (p50/p95/p99 over M x N arrivals), and events delivered per second;
3. fan-out only: the same two events per message published straight into Redis at
   the same rate (Atendimento's own publisher code; flask-sse's ``publish`` format),
   latency from publish to arrival: the stream's share of the end-to-end figure;
4. burst: B messages POSTed as fast as 8 connections allow; events delivered per
   second while draining them (the fan-out capacity).

Atendimento runs for real: PostgreSQL (``BENCH_DATABASE_URL``, default database
``atd_realtime_bench``, recreated), Redis (``BENCH_REDIS_URL``), the generic
webhook with its HMAC signature, contact/ticket/message rows, visibility filtering
per stream. The baseline is what ``flask-sse`` (one Redis subscription per client)
offers: the webhook publishes the same two events per message, with no database.
It runs from its own virtualenv under /tmp (created on first use with pip), so the
project never depends on it.

The client shares the machine's cores with the servers, Redis and PostgreSQL. Each
arrival carries two times: when the kernel received the bytes on the client's socket
(``SO_TIMESTAMPNS``), the headline figure, and when the client's single event loop got
round to reading them, which adds the client's own queueing behind up to N other
streams (printed as "client read" for comparison).
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import resource
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASELINE_DIR = Path("/tmp/atendimento-bench-flask-sse")
BASELINE_CHANNEL = "atendimento-bench-sse"
PASSWORD = "bench-secret-123"
SEQ = re.compile(rb'"body": ?"bench (-?\d+)"')
EVENT = re.compile(rb"^event: ?(\S+)", re.M)

BASELINE_APP = '''
"""flask-sse as its README shows it, plus a webhook that publishes what Atendimento would."""
import os

from flask import Flask, request
from flask_sse import sse

app = Flask(__name__)
app.config["REDIS_URL"] = os.environ["REDIS_URL"]
app.register_blueprint(sse, url_prefix="/stream")
CHANNEL = os.environ["SSE_CHANNEL"]


@app.post("/webhook")
def webhook():
    text = request.get_json()["text"]
    sse.publish({"id": 1, "status": "pending", "last_message": text}, type="ticket.updated", channel=CHANNEL)
    sse.publish({"id": 1, "ticket_id": 1, "direction": "in", "body": text}, type="message.created", channel=CHANNEL)
    return {"ok": True}
'''


# -- processes -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def baseline_python() -> str:
    """The flask-sse virtualenv, created on first use (pip, from PyPI)."""
    python = BASELINE_DIR / "venv" / "bin" / "python"
    if not python.exists():
        print("creating the flask-sse virtualenv in", BASELINE_DIR, flush=True)
        run([sys.executable, "-m", "venv", str(BASELINE_DIR / "venv")])
        import gevent
        import gunicorn
        run([str(python), "-m", "pip", "install", "-q", "flask-sse", "redis", f"gunicorn=={gunicorn.__version__}",
             f"gevent=={gevent.__version__}", "packaging"])
    (BASELINE_DIR / "baseline_app.py").write_text(BASELINE_APP)
    return str(python)


class Gunicorn:
    def __init__(self, name: str, python: str, app: str, env: dict, workers: int, chdir: Path):
        self.name = name
        self.port = free_port()
        self.log = open(f"/tmp/atendimento-bench-{name}.log", "wb")  # noqa: SIM115
        env = {**os.environ, **env, "BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers),
               "WORKER_CONNECTIONS": "4000", "PYTHONPATH": str(chdir)}
        self.process = subprocess.Popen(
            [python, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(chdir), app],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{name} did not start; see {self.log.name}")
                time.sleep(0.05)
        time.sleep(1.0)  # let every worker boot, not only the first

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def rss_kb(self) -> int:
        total = 0
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)  # quick shutdown: open streams need not drain
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# -- data for Atendimento -------------------------------------------------------------------

def prepare_database(database_url: str) -> dict:
    import sqlalchemy as sa

    from atendimento.config import normalize_database_url

    url = normalize_database_url(database_url)
    name = urlsplit(database_url).path.lstrip("/")
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    from atendimento import create_app
    from atendimento.extensions import db
    from atendimento.models import Connection, Sector, User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        sector = Sector(name="Vendas")
        user = User(name="Bench", email="bench@example.com", profile="user", sectors=[sector])
        user.set_password(PASSWORD)
        connection = Connection(name="Bench", kind="generic", sectors=[sector])
        db.session.add_all([sector, user, connection])
        db.session.commit()
        info = {"token": connection.token, "secret": connection.secret, "sector_id": sector.id}
        db.session.remove()
        db.engine.dispose()
    return info


# -- the client -------------------------------------------------------------------------------

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: kernel receive time per read
# Kernel timestamps are wall-clock; arrivals are compared with perf_counter() send times.
WALL_MINUS_PERF = time.time() - time.perf_counter()


class Stream:
    """One stream on a raw socket, read with ``recvmsg`` to get the kernel's receive time.
    Arrivals are logged as (client read time, bytes, kernel receive time) and parsed after
    the run, so the reading callback stays as cheap as possible."""

    def __init__(self, sock: socket.socket, log: list, ready: asyncio.Future):
        self.sock, self.log, self.ready = sock, log, ready
        self.head = b""
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(sock.fileno(), self.readable)

    def readable(self):
        while True:
            try:
                data, ancillary, _flags, _addr = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, ancillary = b"", []
            read_at = time.perf_counter()
            if not data:
                self.close()
                if self.ready is not None and not self.ready.done():
                    self.ready.set_exception(ConnectionError("stream closed before its headers"))
                return
            received_at = read_at
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
                    seconds, nanoseconds = struct.unpack("qq", payload[:16])
                    received_at = seconds + nanoseconds / 1e9 - WALL_MINUS_PERF
            if self.ready is not None:
                self.head += data
                if b"\r\n\r\n" not in self.head:
                    continue
                data = self.head.split(b"\r\n\r\n", 1)[1]
                self.ready.set_result(True)
                self.ready = None
            self.log.append((read_at, data, received_at))

    def close(self):
        try:
            self.loop.remove_reader(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()


async def open_streams(port: int, path: str, n: int, cookie: str, wait_headers: bool) -> tuple[list, list]:
    loop = asyncio.get_running_loop()
    request = (f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
               + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n").encode()
    logs, transports, pending = [], [], []
    for i in range(n):
        log: list = []
        ready = loop.create_future()
        sock = socket.socket()
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, request)
        logs.append(log)
        transports.append(Stream(sock, log, ready))
        pending.append(ready)
        if i % 100 == 99:
            await asyncio.sleep(0.05)  # a steady stream of connects, not one SYN flood
    if wait_headers:
        await asyncio.wait_for(asyncio.gather(*pending), timeout=120)
    return logs, transports


class Poster:
    """POSTs over a few keep-alive HTTP/1.1 connections."""

    def __init__(self, port: int, path: str, headers_for, connections: int):
        self.port, self.path, self.headers_for = port, path, headers_for
        self.size = connections
        self.pool: asyncio.Queue = asyncio.Queue()

    async def start(self):
        for _ in range(self.size):
            self.pool.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))

    async def post(self, raw: bytes) -> int:
        reader, writer = await self.pool.get()
        try:
            for attempt in (1, 2):  # an idle keep-alive connection may have been closed by the server
                try:
                    return await self._exchange(reader, writer, raw)
                except (ConnectionError, IndexError, asyncio.IncompleteReadError):
                    if attempt == 2:
                        raise
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        finally:
            self.pool.put_nowait((reader, writer))

    async def _exchange(self, reader, writer, raw: bytes) -> int:
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers_for(raw).items())
        writer.write(f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(raw)}\r\n{head}\r\n"
                     .encode() + raw)
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        return status

    async def close(self):
        while not self.pool.empty():
            _reader, writer = self.pool.get_nowait()
            writer.close()


def parse_arrivals(logs: list, since: float, *, kernel: bool = True) -> tuple[list[tuple[int, float]], list[float]]:
    """Per stream: (seq, arrival) of each message.created, and the arrival time of every event;
    arrival = the kernel's receive time, or (``kernel=False``) when the client read it."""
    message_arrivals, event_times = [], []
    for log in logs:
        buffer = b""
        for read_at, data, received_at in log:
            at = received_at if kernel else read_at
            buffer += data
            *frames, buffer = buffer.split(b"\n\n")
            for frame in frames:
                match = EVENT.search(frame)
                if match is None or at < since:
                    continue
                event_times.append(at)
                if match.group(1) == b"message.created":
                    seq = SEQ.search(frame)
                    if seq:
                        message_arrivals.append((int(seq.group(1)), at))
    return message_arrivals, event_times


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def inject(poster: Poster, body_for, seqs, rate: float | None, sent: dict, answered: dict | None = None) -> None:
    """POST one message per seq, at ``rate`` per second (or as fast as the pool allows);
    ``sent[seq]`` is when it left, ``answered[seq]`` when the webhook answered."""
    tasks = []
    start = time.perf_counter()
    for i, seq in enumerate(seqs):
        if rate:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        raw = body_for(seq)

        async def one(seq=seq, raw=raw):
            sent[seq] = time.perf_counter()
            status = await poster.post(raw)
            if answered is not None:
                answered[seq] = time.perf_counter()
            if status != 200:
                raise RuntimeError(f"webhook answered {status}")
        tasks.append(asyncio.create_task(one()))
        if not rate and len(tasks) % 8 == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)


async def wait_for_quiet(logs: list, quiet_s: float = 3.0, limit_s: float = 180) -> None:
    """Until nothing has arrived on any stream for ``quiet_s`` (everything was delivered)."""
    deadline = time.perf_counter() + limit_s
    last_total, last_change = -1, time.perf_counter()
    while time.perf_counter() < deadline:
        total = sum(len(log) for log in logs)
        if total != last_total:
            last_total, last_change = total, time.perf_counter()
        elif time.perf_counter() - last_change > quiet_s:
            return
        await asyncio.sleep(0.2)


# -- one run ----------------------------------------------------------------------------------

async def measure(server: Gunicorn, *, streams: int, stream_path: str, cookie: str, wait_headers: bool,
                  poster: Poster, body_for, messages: int, rate: float, burst: int, redis_client,
                  publish_direct, ready_check=None) -> dict:
    await poster.start()
    # Warm up: code paths, templates, pools, the subscriber, before measuring memory.
    warm_logs, warm = await open_streams(server.port, stream_path, 10, cookie, wait_headers)
    if ready_check:
        await ready_check(10)
    await inject(poster, body_for, range(-5, 0), None, {})
    await asyncio.sleep(1.0)
    for transport in warm:
        transport.close()
    await asyncio.sleep(2.0)

    rss_before = server.rss_kb()
    redis_before = redis_client.info("memory")["used_memory"]
    logs, transports = await open_streams(server.port, stream_path, streams, cookie, wait_headers)
    if ready_check:
        await ready_check(streams)
    await asyncio.sleep(3.0)
    rss_after = server.rss_kb()
    redis_after = redis_client.info("memory")["used_memory"]

    result = {"workers": len(server.workers()), "rss_mb": rss_after / 1024,
              "kb_per_stream": (rss_after - rss_before) / streams,
              "redis_kb_per_stream": (redis_after - redis_before) / 1024 / streams}

    # Steady phase: latency.
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    phase_start = time.perf_counter()
    await inject(poster, body_for, range(messages), rate, sent, answered)
    await wait_for_quiet(logs)
    arrivals, event_times = parse_arrivals(logs, phase_start)
    latencies = [(at - sent[seq]) * 1000 for seq, at in arrivals if seq in sent]
    read_arrivals, _ = parse_arrivals(logs, phase_start, kernel=False)
    read_latencies = [(at - sent[seq]) * 1000 for seq, at in read_arrivals if seq in sent]
    expected = messages * streams
    result.update(
        arrivals=len(latencies), expected=expected,
        post_p50=percentile([(answered[k] - sent[k]) * 1000 for k in answered], 50),
        p50=percentile(latencies, 50), p95=percentile(latencies, 95), p99=percentile(latencies, 99),
        read_p99=percentile(read_latencies, 99),
        steady_events_per_s=len(event_times) / max(1e-9, (max(event_times) - phase_start)) if event_times else 0,
    )

    # Fan-out only: the same two events per message put straight into Redis as the app's
    # publisher would, so the webhook's own work (HTTP, database) is left out.
    for log in logs:
        log.clear()
    sent_direct: dict[int, float] = {}
    direct_start = time.perf_counter()
    for i, seq in enumerate(range(50000, 50000 + messages)):
        delay = direct_start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_direct[seq] = time.perf_counter()
        publish_direct(seq)
    await wait_for_quiet(logs)
    arrivals, _events = parse_arrivals(logs, direct_start)
    direct = [(at - sent_direct[seq]) * 1000 for seq, at in arrivals if seq in sent_direct]
    read_arrivals, _ = parse_arrivals(logs, direct_start, kernel=False)
    direct_read = [(at - sent_direct[seq]) * 1000 for seq, at in read_arrivals if seq in sent_direct]
    result.update(direct_arrivals=len(direct), direct_p50=percentile(direct, 50),
                  direct_p95=percentile(direct, 95), direct_p99=percentile(direct, 99),
                  direct_read_p99=percentile(direct_read, 99))

    # Burst phase: capacity.
    for log in logs:
        log.clear()
    sent_burst: dict[int, float] = {}
    burst_start = time.perf_counter()
    await inject(poster, body_for, range(100000, 100000 + burst), None, sent_burst)
    posted = time.perf_counter() - burst_start
    await wait_for_quiet(logs)
    arrivals, event_times = parse_arrivals(logs, burst_start)
    burst_latencies = [(at - sent_burst[seq]) * 1000 for seq, at in arrivals if seq in sent_burst]
    result.update(
        burst_arrivals=len(burst_latencies), burst_expected=burst * streams, burst_post_s=posted,
        burst_events=len(event_times),
        burst_events_per_s=len(event_times) / max(1e-9, max(event_times) - burst_start) if event_times else 0,
        burst_p99=percentile(burst_latencies, 99),
    )
    for transport in transports:
        transport.close()
    await poster.close()
    return result


def login(port: int, email: str, password: str) -> str:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    csrf = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
    form = urlencode({"email": email, "password": password, "csrf_token": csrf.group(1).decode() if csrf else ""})
    conn.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"login failed: {response.status}")
    return response.getheader("Set-Cookie").split(";", 1)[0]


def direct_publisher(args, sector_id: int):
    """Publish as the app does after a commit (its own RedisBroker code), minus the webhook."""
    from atendimento import create_app

    broker = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": args.redis_url,
                         "TESTING": True}).extensions["realtime"]
    state = {"sector_id": sector_id, "user_id": None}

    def publish(seq):
        text = f"bench {seq}"
        broker.publish("ticket.updated", 1, ticket=state, data={"id": 1, "status": "pending", "last_message": text,
                                                                "sector_id": sector_id, "user_id": None})
        broker.publish("message.created", 1, ticket=state, data={"id": seq, "ticket_id": 1, "direction": "in",
                                                                 "body": text})
    return publish


def run_atendimento(args, redis_client) -> dict:
    info = prepare_database(args.database_url)
    redis_client.delete("atendimento:realtime:log")
    env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "SECRET_KEY": "bench",
           "OUTBOX_WORKER": "0"}
    server = Gunicorn("atendimento", sys.executable, "app:app", env, args.workers, ROOT)
    try:
        cookie = login(server.port, "bench@example.com", PASSWORD)
        secret = info["secret"].encode()

        def headers_for(raw):
            return {"Content-Type": "application/json",
                    "X-Signature-256": "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()}

        def body_for(seq):
            # A handful of customers: each message lands on an existing ticket (ticket.updated + message.created).
            return json.dumps({"id": f"bench-{seq}-{time.time_ns()}", "from": f"55119{abs(seq) % 20:08d}",
                               "name": f"Cliente {abs(seq) % 20}", "text": f"bench {seq}"}).encode()

        poster = Poster(server.port, f"/webhooks/generic/{info['token']}", headers_for, 8)
        return asyncio.run(measure(server, streams=args.streams, stream_path="/stream", cookie=cookie,
                                   wait_headers=True, poster=poster, body_for=body_for, messages=args.messages,
                                   rate=args.rate, burst=args.burst, redis_client=redis_client,
                                   publish_direct=direct_publisher(args, info["sector_id"])))
    finally:
        server.stop()


def run_flask_sse(args, redis_client) -> dict:
    python = baseline_python()
    env = {"REDIS_URL": args.redis_url, "SSE_CHANNEL": BASELINE_CHANNEL}
    server = Gunicorn("flask-sse", python, "baseline_app:app", env, args.workers, BASELINE_DIR)

    async def ready_check(n):
        # flask-sse sends nothing (not even headers) until the first event: count its subscriptions instead.
        for _ in range(1200):
            if redis_client.pubsub_numsub(BASELINE_CHANNEL)[0][1] >= n:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("flask-sse streams did not all subscribe")

    try:
        def publish_direct(seq):  # what flask-sse's sse.publish() sends
            text = f"bench {seq}"
            for kind, data in (("ticket.updated", {"id": 1, "status": "pending", "last_message": text}),
                               ("message.created", {"id": 1, "ticket_id": 1, "direction": "in", "body": text})):
                redis_client.publish(BASELINE_CHANNEL, json.dumps({"data": data, "type": kind}))

        poster = Poster(server.port, "/webhook", lambda raw: {"Content-Type": "application/json"}, 8)
        return asyncio.run(measure(server, streams=args.streams, stream_path=f"/stream?channel={BASELINE_CHANNEL}",
                                   cookie="", wait_headers=False, poster=poster,
                                   body_for=lambda seq: json.dumps({"text": f"bench {seq}"}).encode(),
                                   messages=args.messages, rate=args.rate, burst=args.burst,
                                   redis_client=redis_client, publish_direct=publish_direct,
                                   ready_check=ready_check))
    finally:
        server.stop()


def report(results: dict, args) -> None:
    names = list(results)
    rows = [
        ("streams (workers)", lambda r: f"{args.streams} ({r['workers']})"),
        ("idle memory per stream, app", lambda r: f"{r['kb_per_stream']:.1f} KB"),
        ("idle memory per stream, Redis", lambda r: f"{r['redis_kb_per_stream']:.1f} KB"),
        (f"webhook {args.rate:g} msg/s: arrivals", lambda r: f"{r['arrivals']}/{r['expected']}"),
        ("  webhook answered, p50", lambda r: f"{r['post_p50']:.1f} ms"),
        ("  latency p50", lambda r: f"{r['p50']:.1f} ms"),
        ("  latency p95", lambda r: f"{r['p95']:.1f} ms"),
        ("  latency p99", lambda r: f"{r['p99']:.1f} ms"),
        ("  latency p99, client read", lambda r: f"{r['read_p99']:.1f} ms"),
        ("  events delivered/s", lambda r: f"{r['steady_events_per_s']:.0f}"),
        (f"fan-out only {args.rate:g} msg/s: arrivals", lambda r: f"{r['direct_arrivals']}/{r['expected']}"),
        ("  latency p50", lambda r: f"{r['direct_p50']:.1f} ms"),
        ("  latency p95", lambda r: f"{r['direct_p95']:.1f} ms"),
        ("  latency p99", lambda r: f"{r['direct_p99']:.1f} ms"),
        ("  latency p99, client read", lambda r: f"{r['direct_read_p99']:.1f} ms"),
        (f"burst {args.burst} msgs: arrivals", lambda r: f"{r['burst_arrivals']}/{r['burst_expected']}"),
        ("  events delivered/s", lambda r: f"{r['burst_events_per_s']:.0f}"),
        ("  latency p99", lambda r: f"{r['burst_p99']:.0f} ms"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    print()
    print("".ljust(width) + "".join(name.rjust(16) for name in names))
    for label, cell in rows:
        print(label.ljust(width) + "".join(cell(results[name]).rjust(16) for name in names))
    if len(names) == 2:
        ours, theirs = results[names[0]], results[names[1]]
        print()
        print(f"burst events/s ratio (atendimento / flask-sse): {ours['burst_events_per_s'] / max(1, theirs['burst_events_per_s']):.2f}x"
              "   target >= 3x")
        print(f"steady p99 ratio (flask-sse / atendimento): {theirs['p99'] / ours['p99']:.2f}x")
        print(f"memory per idle stream ratio, app (flask-sse / atendimento): "
              f"{theirs['kb_per_stream'] / max(0.1, ours['kb_per_stream']):.2f}x")
    ours = results[names[0]]
    print(f"targets: p99 <= 50 ms at {args.streams} streams -> {ours['p99']:.1f} ms webhook to browser, "
          f"{ours['direct_p99']:.1f} ms publish to browser; "
          f"<= 30 KB per idle stream -> {ours['kb_per_stream']:.1f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=150, help="messages in the steady phase")
    parser.add_argument("--rate", type=float, default=5, help="messages per second in the steady phase")
    parser.add_argument("--burst", type=int, default=300, help="messages in the burst phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-baseline", action="store_true", help="skip flask-sse")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/atd_realtime_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.streams + 1000)), hard))
    import redis

    redis_client = redis.Redis.from_url(args.redis_url)
    results = {"atendimento": run_atendimento(args, redis_client)}
    if not args.no_baseline:
        results["flask-sse"] = run_flask_sse(args, redis_client)
    report(results, args)


if __name__ == "__main__":
    main()
