"""What an open Atendimento page costs the server per event: pushed HTML against the
full-page refresh it replaced. Prints figures; not a test.

    .venv/bin/python bench/live.py [--pages 20] [--rate 4] [--seconds 20] [--warmup 4]
                                   [--baseline-rev 68cfe83^] [--only new|old] [--keep]

Two variants in one run, each served by its own gunicorn (this repository's
``gunicorn.conf.py``, 2 gevent workers, PostgreSQL + Redis) from its own directory, on
its own freshly created database and Redis db:

* ``new``: the working tree. Each event carries ``data.html`` (the list row, the message
  bubble) and the page inserts it; it fetches ``GET /tickets/counts`` (debounced 150 ms)
  when a ticket is created, removed or moved (``changed`` has status/sector_id/user_id),
  ``GET /tickets/<id>/panes`` (80 ms) when the open ticket itself moved (or it shows the
  pending card), and on ``reset`` the counts, ``GET /tickets/list`` and the panes.
* ``old``: ``git archive <baseline-rev>`` (the commit before the change). On every
  ticket event, and every message event of the open ticket, the page re-downloads its
  own URL (``X-Requested-With: live``; debounced 120 ms, one request in flight, an event
  during a fetch schedules one more) and swaps the parts.

Seeding runs each variant's own code (``create_app()``, its models, its webhook and
``service.accept_ticket``): one sector, K attendants in it, a generic connection, 31
tickets (12 accepted by various attendants, the rest waiting) and the ticket under test,
open and assigned to attendant 1, with some history.

K pages (``--pages``) show that ticket: ``/tickets/<id>?tab=open&view=all``, the
conversation open and the ticket in the list. Page 1 (attendant 1, the assignee) is a
real Chromium (Playwright, Debian's /usr/bin/chromium, the browser tests' flags, headless,
1366x768) that logs in through the form; pages 2..K are emulated in Python threads: they
log in, load the page, open ``/stream`` (from the page's ``data-stream-cursor`` on ``new``)
and do per event exactly the requests the variant's ``static/js/live.js`` makes, with its
debounce and one-in-flight rules (they do not render anything: only the server is measured).

Customer messages are POSTed to the generic webhook (signed ``X-Signature-256``) of the
ticket under test at ``--rate`` per second; each one produces ``ticket.updated`` +
``message.created``. Measured per variant over ``--seconds`` (after ``--warmup``):

1. server CPU: utime+stime of the gunicorn workers (/proc/<pid>/stat), once with no page
   open (webhooks only) and once with the K pages; CPU per event per page =
   (with - without) / (events delivered to a page x K); also per webhook event
   (2 per webhook), since the old page's refreshes of the assignee's own conversation
   reset its unread count and so add ``ticket.updated`` events of their own;
2. webhook -> bubble in Chromium's DOM: wall-clock ms just before each POST, and
   ``Date.now()`` when a MutationObserver (subtree of the document) first sees an element
   of ``#messages`` with that message's unique marker text; p50/p95/max and how many arrived;
3. the requests the pages made, by kind, per event per page.

When the pages ask for more than the machine can serve (the full-page refresh at K=20
does), requests queue, the debounce folds more events into each refresh, and the CPU
per event is capped by the cores: "cores busy" shows it, and the ratio is then a lower
bound. The window ends when every page has finished (at most 90 s after the last webhook).

Targets (2-core machine): <= 2 ms of server CPU per open page per event; webhook -> DOM
p95 <= 150 ms; at least 10x less server CPU than the full-page refresh.

Databases ``bench_live_new`` / ``bench_live_old`` (PostgreSQL ``--pg``) are dropped and
created, Redis dbs ``--redis-db-new`` / ``--redis-db-old`` flushed; the databases are
dropped again at the end unless ``--keep``. Server logs: /tmp/atendimento-bench-live-<variant>.log.
"""
from __future__ import annotations

import argparse
import atexit
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-live-secret-123"
SECRET = "bench-live-connection-secret"
CHROMIUM = "/usr/bin/chromium"
LIVE_EVENTS = ("ticket.created", "ticket.updated", "ticket.removed", "message.created", "message.updated", "reset")
MARKER = re.compile(r"lvmark-(\d+)-end")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
TIMEOUT = 30  # seconds, every HTTP call
SETTLE_LIMIT_S = 90  # after the last webhook, how long the pages may take to finish what it made them do

# The seeding, run by each variant's own interpreter in its own directory.
SEED_SCRIPT = r'''
import hashlib, hmac, json, os, sys, time
cfg = json.loads(os.environ["BENCH_SEED"])
from atendimento import create_app
from atendimento.extensions import db
from atendimento.models import Connection, Contact, Sector, Ticket, User
from atendimento.tickets import service

app = create_app({"SQLALCHEMY_DATABASE_URI": cfg["db"], "REDIS_URL": None, "TESTING": True,
                  "WTF_CSRF_ENABLED": False, "MEDIA_DIR": cfg["media"]})
with app.app_context():
    db.drop_all()
    db.create_all()
    sector = Sector(name="Vendas")
    users = []
    for i in range(1, cfg["users"] + 1):
        user = User(name=f"Atendente {i:02d}", email=f"user{i}@bench.example", profile="user", sectors=[sector])
        if i == 1:
            user.set_password(cfg["password"])
            hashed = user.password_hash
        else:
            user.password_hash = hashed  # one hash for all: the same password, K times less seeding
        users.append(user)
    connection = Connection(name="Bench gateway", kind="generic", secret=cfg["secret"], sectors=[sector])
    db.session.add_all([sector, connection, *users])
    db.session.commit()
    token = connection.token
    user_ids = [u.id for u in users]
    client = app.test_client()

    def post(contact, text, ts):
        raw = json.dumps({"id": f"seed-{contact}-{time.time_ns()}", "from": f"55119{contact:08d}",
                          "name": f"Cliente {contact:02d}", "text": text, "timestamp": ts}).encode()
        sig = "sha256=" + hmac.new(cfg["secret"].encode(), raw, hashlib.sha256).hexdigest()
        r = client.post(f"/webhooks/generic/{token}", data=raw,
                        headers={"Content-Type": "application/json", "X-Signature-256": sig})
        assert r.status_code == 200, (r.status_code, r.data[:300])

    now = int(time.time())
    for contact in range(1, cfg["others"] + 1):  # the rest of the list, older activity first
        post(contact, f"Olá, gostaria de saber sobre o pedido {1000 + contact}.", now - 3600 + contact * 60)
    for n in range(8):  # the conversation under test: some history
        post(0, f"Mensagem anterior {n}: quando chega meu pedido?", now - 120 + n)
    db.session.remove()
    target = db.session.scalar(db.select(Ticket.id).join(Ticket.contact).where(
        Contact.phone == "5511900000000", Ticket.status == "pending"))
    others = db.session.scalars(db.select(Ticket.id).where(Ticket.id != target).order_by(Ticket.id)).all()
    with app.test_request_context():
        service.accept_ticket(db.session.get(User, user_ids[0]), target)
        for n, ticket_id in enumerate(others[: min(12, len(others))]):
            service.accept_ticket(db.session.get(User, user_ids[(n + 1) % len(user_ids)]), ticket_id)
    print(json.dumps({"token": token, "ticket_id": target, "emails": [f"user{i}@bench.example"
                                                                      for i in range(1, cfg["users"] + 1)]}))
'''

# Chromium: count the events the page's EventSource receives (extra listeners only) and
# keep every resource timing entry, so the page's own requests can be counted afterwards.
INIT_SCRIPT = r'''
(() => {
  window.__bench = { events: [], seen: {} };
  try { performance.setResourceTimingBufferSize(1000000); } catch (e) {}
  const Original = window.EventSource;
  if (!Original) return;
  const names = %s;
  function Counting(url, options) {
    const source = new Original(url, options);
    names.forEach(function (name) {
      source.addEventListener(name, function () { window.__bench.events.push([name, Date.now()]); });
    });
    return source;
  }
  Counting.prototype = Original.prototype;
  Counting.CONNECTING = Original.CONNECTING; Counting.OPEN = Original.OPEN; Counting.CLOSED = Original.CLOSED;
  window.EventSource = Counting;
})();
''' % json.dumps(list(LIVE_EVENTS))

# webhook -> bubble: the first time an element of #messages holding a marker appears
# (new: the inserted bubble; old: #messages' children after its innerHTML is replaced,
# or a whole new pane holding #messages). Rows of the list (which show the same text
# as their preview) are not bubbles and do not count.
OBSERVER_SCRIPT = r'''
() => {
  const seen = window.__bench.seen;
  const re = /lvmark-(\d+)-end/g;
  function scan(text, now) {
    let m;
    re.lastIndex = 0;
    while ((m = re.exec(text)) !== null) { if (!(m[1] in seen)) seen[m[1]] = now; }
  }
  new MutationObserver(function (records) {
    const now = Date.now();
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1) continue;
        if (node.closest("#messages")) { scan(node.textContent, now); continue; }
        const box = node.id === "messages" ? node : node.querySelector("#messages");
        if (box) scan(box.textContent, now);
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
  return true;
}
'''


# -- processes, cleanup ---------------------------------------------------------------------

_cleanups: list = []


def at_cleanup(fn):
    _cleanups.append(fn)
    return fn


def cleanup_all():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as error:  # noqa: BLE001  (cleanup goes on)
            print(f"cleanup: {error!r}", file=sys.stderr)


atexit.register(cleanup_all)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def variant_env(directory: Path, database_url: str, redis_url: str, media: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(directory), "SECRET_KEY": "bench-live", "DATABASE_URL": database_url,
           "REDIS_URL": redis_url, "MEDIA_DIR": media, "OUTBOX_WORKER": "0"}
    env.pop("FLASK_APP", None)
    return env


class Gunicorn:
    """gunicorn -c gunicorn.conf.py -w 2 -k gevent, from the variant's own directory."""

    def __init__(self, name: str, directory: Path, env: dict, workers: int):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = f"/tmp/atendimento-bench-live-{name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        env = {**env, "BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers), "WORKER_CONNECTIONS": "1000"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(workers), "-k", "gevent",
             "--bind", f"127.0.0.1:{self.port}", "app:app"],
            cwd=directory, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        at_cleanup(self.stop)
        self._wait_ready(workers)

    def _wait_ready(self, workers: int) -> None:
        import requests

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name}: gunicorn exited ({self.process.returncode}); see {self.log_path}")
            try:
                if requests.get(self.url + "/login", timeout=5).status_code == 200 and len(self.workers()) >= workers:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit(f"{self.name}: gunicorn not ready after 90 s; see {self.log_path}")
        # Every worker booted and answering, not only the first.
        for _ in range(10):
            requests.get(self.url + "/login", timeout=TIMEOUT)
        time.sleep(1.0)

    def workers(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def cpu(self) -> tuple[float, tuple]:
        """utime + stime of the workers, seconds, and which workers they were."""
        total, pids = 0.0, tuple(sorted(self.workers()))
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total, pids

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGQUIT)  # quick shutdown: open streams need not drain
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        if not self.log.closed:
            self.log.close()


# -- databases ---------------------------------------------------------------------------------

def pg_admin(pg: str):
    import psycopg

    try:
        return psycopg.connect(pg.rsplit("/", 1)[0] + "/postgres", autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise SystemExit(f"PostgreSQL is not reachable at {pg}: {error}") from None


def recreate_database(pg: str, name: str) -> str:
    with pg_admin(pg) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg.rsplit("/", 1)[0] + "/" + name


def drop_database(pg: str, name: str) -> None:
    with pg_admin(pg) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(redis_url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_timeout=10).flushdb()
    except redis.RedisError as error:
        raise SystemExit(f"Redis is not reachable at {redis_url}: {error}") from None


def seed(directory: Path, env: dict, database_url: str, users: int, media: str) -> dict:
    cfg = {"db": database_url, "users": users, "others": 30, "password": PASSWORD, "secret": SECRET,
           "media": media}
    done = subprocess.run([sys.executable, "-c", SEED_SCRIPT], cwd=directory, capture_output=True, text=True,
                          env={**env, "BENCH_SEED": json.dumps(cfg)}, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"seeding in {directory} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_tree(rev: str) -> Path:
    """``git archive <rev>`` extracted to a temporary directory."""
    target = Path(tempfile.mkdtemp(prefix="atendimento-bench-live-old-"))
    at_cleanup(lambda: shutil.rmtree(target, ignore_errors=True))
    archive = target / "tree.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev], check=True,
                   timeout=120)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    archive.unlink()
    return target


# -- the webhook -----------------------------------------------------------------------------------

class Poster:
    """Signed inbound messages on the ticket under test, each with a unique marker."""

    seq = 0  # global: markers stay unique across phases and variants

    def __init__(self, base: str, token: str):
        import requests

        self.session = requests.Session()
        self.url = f"{base}/webhooks/generic/{token}"
        self.sent: dict[int, float] = {}  # seq -> wall-clock ms just before the POST
        self.answer_ms: list[float] = []
        self.errors: list = []

    def post_one(self) -> int:
        Poster.seq += 1
        seq = Poster.seq
        raw = json.dumps({"id": f"bench-live-{seq}-{time.time_ns()}", "from": "5511900000000", "name": "Cliente 00",
                          "text": f"Bom dia, alguma novidade? lvmark-{seq}-end", "timestamp": int(time.time())}).encode()
        headers = {"Content-Type": "application/json",
                   "X-Signature-256": "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()}
        self.sent[seq] = time.time() * 1000
        started = time.perf_counter()
        try:
            response = self.session.post(self.url, data=raw, headers=headers, timeout=TIMEOUT)
            if response.status_code != 200:
                self.errors.append(response.status_code)
        except Exception as error:  # noqa: BLE001
            self.errors.append(repr(error))
        self.answer_ms.append((time.perf_counter() - started) * 1000)
        return seq

    def run(self, rate: float, seconds: float) -> list[int]:
        """POST at a steady rate (in a thread of its own, so a slow answer does not delay the next)."""
        seqs, threads = [], []
        start = time.perf_counter()
        for i in range(max(1, int(round(rate * seconds)))):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            holder: list = []
            thread = threading.Thread(target=lambda h=holder: h.append(self.post_one()), daemon=True)
            thread.start()
            threads.append((thread, holder))
        for thread, holder in threads:
            thread.join(TIMEOUT + 5)
            seqs.extend(holder)
        return seqs


# -- pages -----------------------------------------------------------------------------------------

def login(session, base: str, email: str) -> None:
    page = session.get(base + "/login", timeout=TIMEOUT)
    csrf = CSRF.search(page.text)
    response = session.post(base + "/login", data={"email": email, "password": PASSWORD,
                                                   "csrf_token": csrf.group(1) if csrf else ""},
                            allow_redirects=False, timeout=TIMEOUT)
    if response.status_code != 302:
        raise RuntimeError(f"login of {email} failed: {response.status_code}")


class Single:
    """live.js's one-request-at-a-time debounce: a schedule while running asks for one
    more run afterwards; otherwise the timer restarts (``clearTimeout`` + ``setTimeout``)."""

    def __init__(self, fn, delay_ms: float):
        self.fn, self.delay = fn, delay_ms / 1000
        self.lock = threading.Lock()
        self.timer = None
        self.generation = 0
        self.running = self.again = False

    def schedule(self, delay_ms: float | None = None) -> None:
        with self.lock:
            if self.running:
                self.again = True
                return
            if self.timer is not None:
                self.timer.cancel()
            self.generation += 1
            self.timer = threading.Timer(self.delay if delay_ms is None else delay_ms / 1000, self._run,
                                         (self.generation,))
            self.timer.daemon = True
            self.timer.start()

    def _run(self, generation: int) -> None:
        with self.lock:
            if generation != self.generation or self.running:  # cleared after it fired: JS would not run it
                return
            self.running, self.timer = True, None
        try:
            self.fn()
        except Exception:  # noqa: BLE001  (offline: the next event catches up)
            pass
        with self.lock:
            self.running = False
            again, self.again = self.again, False
        if again:
            self.schedule()

    @property
    def busy(self) -> bool:
        return self.running or self.timer is not None


class EmulatedPage:
    """One open tab of the variant, as its live.js behaves, minus the rendering."""

    def __init__(self, variant: str, base: str, email: str, ticket_id: int):
        import requests

        self.variant, self.base, self.ticket_id = variant, base, ticket_id
        self.session = requests.Session()
        login(self.session, base, email)
        self.path = f"/tickets/{ticket_id}?tab=open&view=all"
        page = self.session.get(base + self.path, timeout=TIMEOUT)
        page.raise_for_status()
        self.page_bytes = len(page.content)
        cursor = re.search(r'data-stream-cursor="([^"]*)"', page.text)
        self.cursor = cursor.group(1) if cursor and variant == "new" else ""
        self.pending_card = 'class="pending-card"' in page.text
        self.query = f"tab=open&view=all&selected={ticket_id}"  # live.js currentQuery()
        self.events: list[tuple[float, str]] = []  # (wall ms, name)
        self.message_seqs: dict[int, float] = {}  # marker seq -> wall ms its message.created arrived
        self.requests: list[tuple[float, str, int, int]] = []  # (wall ms, kind, status, bytes)
        self.errors: list = []
        self.stop = threading.Event()
        self.connected = threading.Event()
        if variant == "new":
            self.counts = Single(lambda: self.fetch("counts", "/tickets/counts", live_header=False), 150)
            self.list = Single(lambda: self.fetch("list", "/tickets/list?" + self.query), 0)
            self.panes = Single(self.fetch_panes, 80)
            self.singles = [self.counts, self.list, self.panes]
        else:
            self.refresh = Single(lambda: self.fetch("page", self.path), 120)
            self.singles = [self.refresh]
        self.thread = threading.Thread(target=self.read_stream, name=f"page-{email}", daemon=True)
        self.thread.start()

    # the requests live.js makes
    def fetch(self, kind: str, path: str, live_header: bool = True):
        at = time.time() * 1000
        response = self.session.get(self.base + path, timeout=TIMEOUT, allow_redirects=False,
                                    headers={"X-Requested-With": "live"} if live_header else {})
        self.requests.append((at, kind, response.status_code, len(response.content)))
        return response

    def fetch_panes(self):
        response = self.fetch("panes", f"/tickets/{self.ticket_id}/panes?{self.query}")
        if response.status_code == 200:
            self.pending_card = 'class="pending-card"' in response.text
        elif response.status_code == 404:  # leftMySight(): the pane is gone
            self.pending_card = False

    def handle(self, name: str, data: dict) -> None:
        if self.variant == "new":
            self.handle_new(name, data)
        else:
            self.handle_old(name, data)

    def handle_new(self, name: str, data: dict) -> None:
        if name == "reset":
            self.counts.schedule(), self.list.schedule(), self.panes.schedule()
            return
        if name in ("message.created", "message.updated"):
            return  # the bubble is in data.html: nothing to fetch
        if name == "ticket.removed":
            self.counts.schedule()
            if data.get("id") == self.ticket_id:
                self.pending_card = False  # leftMySight()
            return
        changed = data.get("changed") or []
        moved = name == "ticket.created" or any(f in changed for f in ("status", "sector_id", "user_id"))
        if moved:
            self.counts.schedule()
        if data.get("id") == self.ticket_id and (moved or "connection_id" in changed or "bot" in changed
                                                 or self.pending_card):
            self.panes.schedule()

    def handle_old(self, name: str, data: dict) -> None:
        if name == "reset":
            self.refresh.schedule(0)
        elif name.startswith("message."):
            if data.get("ticket_id") == self.ticket_id:
                self.refresh.schedule()
        elif name == "ticket.removed" and data.get("id") == self.ticket_id:
            self.fetch("page", "/tickets?tab=open")  # leaveConversation(): location.href = the list
        else:
            self.refresh.schedule()

    # the stream
    def read_stream(self) -> None:
        path = "/stream" + (f"?last_event_id={self.cursor}" if self.cursor else "")
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        port = urlsplit(self.base).port
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                         f"Cookie: {cookie}\r\n\r\n".encode())
            sock.settimeout(0.5)
            buffer, head = b"", True
            while not self.stop.is_set():
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    if not self.stop.is_set():
                        self.errors.append("stream closed by the server")
                    break
                buffer += chunk
                if head:
                    if b"\r\n\r\n" not in buffer:
                        continue
                    status, buffer = buffer.split(b"\r\n\r\n", 1)
                    if b" 200 " not in status.split(b"\r\n", 1)[0]:
                        self.errors.append(status.split(b"\r\n", 1)[0].decode())
                        break
                    head = False
                    self.connected.set()
                *frames, buffer = buffer.replace(b"\r\n", b"\n").split(b"\n\n")
                for frame in frames:
                    self.on_frame(frame)
            sock.close()
        except Exception as error:  # noqa: BLE001
            self.errors.append(repr(error))
        finally:
            self.connected.set()

    def on_frame(self, frame: bytes) -> None:
        name, data = "message", []
        for line in frame.decode("utf-8", "replace").split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" ") if line[5:6] == " " else line[5:])
        if not data or name not in LIVE_EVENTS:
            return  # a heartbeat (comment) or the opening retry
        at = time.time() * 1000
        try:
            payload = json.loads("\n".join(data) or "{}")
        except ValueError:
            payload = {}
        self.events.append((at, name))
        if name == "message.created":
            marker = MARKER.search(payload.get("body") or "")
            if marker:
                self.message_seqs.setdefault(int(marker.group(1)), at)
        self.handle(name, payload)

    @property
    def busy(self) -> bool:
        return any(single.busy for single in self.singles)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.session.close()


class ChromiumPage:
    """Attendant 1 in a real Chromium, logged in through the form."""

    def __init__(self, browser, base: str, email: str, ticket_id: int):
        self.context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="pt-BR")
        at_cleanup(self.close)
        self.context.add_init_script(INIT_SCRIPT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT * 1000)
        self.page.goto(base + "/login")
        self.page.fill("#email", email)
        self.page.fill("#password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        self.path = f"/tickets/{ticket_id}?tab=open&view=all"
        self.page.goto(base + self.path)
        self.page.wait_for_function("window.AtendimentoLive && window.AtendimentoLive.connected")
        self.page.evaluate(OBSERVER_SCRIPT)
        self.ticket_id = ticket_id

    def collect(self) -> dict:
        return self.page.evaluate("""() => ({
            seen: window.__bench.seen, events: window.__bench.events,
            resources: performance.getEntriesByType("resource").map(function (e) {
                return [performance.timeOrigin + e.startTime, e.name, e.initiatorType]; }),
        })""")

    def close(self) -> None:
        try:
            self.context.close()
        except Exception:  # noqa: BLE001  (already closed)
            pass


def request_kind(url: str, ticket_id: int) -> str | None:
    path = urlsplit(url).path
    if path == "/tickets/counts":
        return "counts"
    if path == "/tickets/list":
        return "list"
    if path.endswith("/panes"):
        return "panes"
    if path in (f"/tickets/{ticket_id}", "/tickets"):
        return "page"
    return None  # the stream, static files


# -- one variant -------------------------------------------------------------------------------------

def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure_window(server: Gunicorn, poster: Poster, args, pages=()) -> dict:
    """CPU of the workers while webhooks are posted for ``--seconds``, until the pages
    have finished what those events made them do."""
    cpu0, pids0 = server.cpu()
    t0 = time.time() * 1000
    seqs = poster.run(args.rate, args.seconds)
    posted_at = time.monotonic()
    time.sleep(1.0)
    settled = not pages
    while pages and time.monotonic() - posted_at < SETTLE_LIMIT_S:
        recent = max((r[0] for p in pages for r in p.requests), default=0)
        if not any(p.busy for p in pages) and time.time() * 1000 - recent > 1000:
            settled = True
            break
        time.sleep(0.1)
    time.sleep(max(0.0, 2.0 - (time.monotonic() - posted_at)))  # the same minimum settle for both runs
    t1 = time.time() * 1000
    cpu1, pids1 = server.cpu()
    if pids0 != pids1:
        print(f"  warning: {server.name}: gunicorn workers changed during the window ({pids0} -> {pids1})")
    return {"cpu_s": cpu1 - cpu0, "t0": t0, "t1": t1, "seqs": seqs, "wall_s": (t1 - t0) / 1000,
            "settled": settled}


def run_variant(name: str, directory: Path, args, browser) -> dict:
    database = f"bench_live_{name}"
    database_url = recreate_database(args.pg, database)
    if not args.keep:
        at_cleanup(lambda: drop_database(args.pg, database))
    redis_url = f"{args.redis}/{args.redis_db_new if name == 'new' else args.redis_db_old}"
    flush_redis(redis_url)
    media = tempfile.mkdtemp(prefix=f"atendimento-bench-live-media-{name}-")
    at_cleanup(lambda: shutil.rmtree(media, ignore_errors=True))
    env = variant_env(directory, database_url, redis_url, media)
    print(f"[{name}] seeding {database} from {directory}", flush=True)
    info = seed(directory, env, database_url, args.pages, media)
    server = Gunicorn(name, directory, env, args.workers)
    try:
        import requests

        live_js = requests.get(server.url + "/static/js/live.js", timeout=TIMEOUT).text
        style = "pushed HTML" if "data.html" in live_js or "placeMessage" in live_js else "full-page refresh"
        print(f"[{name}] gunicorn on :{server.port}, workers {server.workers()}; its live.js: {style}", flush=True)
        ticket_id = info["ticket_id"]
        poster = Poster(server.url, info["token"])

        print(f"[{name}] warm-up and {args.seconds:g} s of webhooks at {args.rate:g}/s, no page open", flush=True)
        poster.run(args.rate, args.warmup)
        time.sleep(1.0)
        without = measure_window(server, poster, args)

        print(f"[{name}] opening {args.pages} pages (1 Chromium + {args.pages - 1} emulated)", flush=True)
        chromium = ChromiumPage(browser, server.url, info["emails"][0], ticket_id) if browser else None
        pages = []
        for email in info["emails"][1 if chromium else 0:]:
            pages.append(EmulatedPage(name, server.url, email, ticket_id))
            at_cleanup(pages[-1].close)
        for page in pages:
            if not page.connected.wait(TIMEOUT) or page.errors:
                raise SystemExit(f"[{name}] a page's stream did not open: {page.errors}")
        time.sleep(1.0)
        print(f"[{name}] warm-up and {args.seconds:g} s of webhooks at {args.rate:g}/s, {args.pages} pages open",
              flush=True)
        poster.run(args.rate, args.warmup)
        time.sleep(2.0)
        answered_from = len(poster.answer_ms)
        with_pages = measure_window(server, poster, args, pages)
        answer_ms = poster.answer_ms[answered_from:]
        browser_data = chromium.collect() if chromium else {"seen": {}, "events": [], "resources": []}
        t0, t1 = with_pages["t0"], with_pages["t1"]
        seqs = with_pages["seqs"]

        # events delivered to a page, per page (the emulated ones and Chromium)
        per_page_events = [sum(1 for at, _n in p.events if t0 <= at <= t1) for p in pages]
        event_names: dict[str, int] = {}
        for p in pages:
            for at, n in p.events:
                if t0 <= at <= t1:
                    event_names[n] = event_names.get(n, 0) + 1
        if chromium:
            per_page_events.append(sum(1 for n, at in browser_data["events"] if t0 <= at <= t1))
        events_per_page = statistics.mean(per_page_events) if per_page_events else 0
        # requests the pages made, by kind
        kinds: dict[str, int] = {}
        for p in pages:
            for at, kind, _status, _size in p.requests:
                if t0 <= at <= t1:
                    kinds[kind] = kinds.get(kind, 0) + 1
        page_bytes = [size for p in pages for at, kind, _s, size in p.requests if t0 <= at <= t1]
        statuses = sorted({status for p in pages for at, _k, status, _s in p.requests if t0 <= at <= t1})
        chromium_kinds: dict[str, int] = {}
        for at, url, _initiator in browser_data["resources"]:
            kind = request_kind(url, ticket_id)
            if kind and t0 <= at <= t1:
                chromium_kinds[kind] = chromium_kinds.get(kind, 0) + 1
                kinds[kind] = kinds.get(kind, 0) + 1
        # webhook -> bubble in Chromium's DOM
        seen = {int(k): v for k, v in browser_data["seen"].items()}
        dom = [seen[s] - poster.sent[s] for s in seqs if s in seen]
        # did every emulated page get every message.created?
        missed = {i + 2: sum(1 for s in seqs if s not in p.message_seqs) for i, p in enumerate(pages)}
        missed = {k: v for k, v in missed.items() if v}
        page_errors = [e for p in pages for e in p.errors]

        cpu_pages = with_pages["cpu_s"] - without["cpu_s"]
        webhook_events = 2 * len(seqs)
        result = {
            "pages": args.pages, "webhooks": len(seqs), "cpu_without_s": without["cpu_s"], "cpu_with_s": with_pages["cpu_s"],
            "cpu_pages_s": cpu_pages, "events_per_page": events_per_page, "event_names": event_names,
            "cpu_ms_per_event_page": 1000 * cpu_pages / max(1e-9, events_per_page * args.pages),
            "cpu_ms_per_webhook_event_page": 1000 * cpu_pages / max(1, webhook_events * args.pages),
            "dom": dom, "dom_expected": len(seqs), "kinds": kinds, "chromium_kinds": chromium_kinds,
            "requests": sum(kinds.values()), "mean_kb": statistics.mean(page_bytes) / 1024 if page_bytes else 0,
            "statuses": statuses, "missed": missed, "page_errors": page_errors, "webhook_errors": poster.errors,
            "answer_p50": percentile(answer_ms, 50), "wall_s": with_pages["wall_s"],
            "wall_without_s": without["wall_s"], "settled": with_pages["settled"],
            "page_kb": statistics.mean(p.page_bytes for p in pages) / 1024 if pages else 0,
        }
        result["requests_per_event_page"] = result["requests"] / max(1e-9, events_per_page * args.pages)
        for page in pages:
            page.close()
        if chromium:
            chromium.close()
        return result
    finally:
        server.stop()


# -- the report ----------------------------------------------------------------------------------------

def report(results: dict, args) -> None:
    names = list(results)

    def dom(r, p):
        return f"{percentile(r['dom'], p):.0f} ms" if r["dom"] else "n/a"

    rows = [
        ("open pages (1 Chromium)", lambda r: f"{r['pages']}"),
        ("webhooks in the window", lambda r: f"{r['webhooks']}"),
        ("events delivered per page", lambda r: f"{r['events_per_page']:.1f}"),
        ("window: webhooks + settling", lambda r: f"{r['wall_without_s']:.1f} s / {r['wall_s']:.1f} s"
         + ("" if r["settled"] else " (cut)")),
        ("worker CPU, no page open", lambda r: f"{r['cpu_without_s']:.2f} s"),
        ("worker CPU, pages open", lambda r: f"{r['cpu_with_s']:.2f} s"),
        ("  cores busy, pages open", lambda r: f"{r['cpu_with_s'] / r['wall_s']:.2f} of {os.cpu_count()}"),
        ("  of which the pages", lambda r: f"{r['cpu_pages_s']:.2f} s"),
        ("CPU per event per page", lambda r: f"{r['cpu_ms_per_event_page']:.3f} ms"),
        ("CPU per webhook event per page", lambda r: f"{r['cpu_ms_per_webhook_event_page']:.3f} ms"),
        ("webhook -> DOM arrived", lambda r: f"{len(r['dom'])}/{r['dom_expected']}"),
        ("webhook -> DOM p50", lambda r: dom(r, 50)),
        ("webhook -> DOM p95", lambda r: dom(r, 95)),
        ("webhook -> DOM max", lambda r: f"{max(r['dom']):.0f} ms" if r["dom"] else "n/a"),
        ("webhook answered p50", lambda r: f"{r['answer_p50']:.0f} ms"),
        ("page requests (all pages)", lambda r: f"{r['requests']}"),
        ("  by kind", lambda r: " ".join(f"{k}:{v}" for k, v in sorted(r["kinds"].items())) or "none"),
        ("  of which Chromium", lambda r: " ".join(f"{k}:{v}" for k, v in sorted(r["chromium_kinds"].items()))
         or "none"),
        ("  mean size (emulated)", lambda r: f"{r['mean_kb']:.1f} KB" if r["requests"] else "-"),
        ("requests per event per page", lambda r: f"{r['requests_per_event_page']:.3f}"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    print()
    print(f"{args.rate:g} webhooks/s for {args.seconds:g} s, {args.workers} gevent workers, PostgreSQL + Redis; "
          f"new = working tree, old = {args.baseline_rev}")
    print("".ljust(width) + "".join(n.rjust(26) for n in names))
    for label, cell in rows:
        print(label.ljust(width) + "".join(cell(results[n]).rjust(26) for n in names))
    for n in names:
        r = results[n]
        print(f"[{n}] events seen by the emulated pages: "
              + ", ".join(f"{k} {v}" for k, v in sorted(r["event_names"].items()))
              + f"; full page {r['page_kb']:.0f} KB; statuses {r['statuses']}")
        if not r["settled"]:
            print(f"[{n}] the pages were still fetching {SETTLE_LIMIT_S} s after the last webhook: "
                  "the window was cut there, so its CPU figure is a lower bound")
        if r["missed"]:
            print(f"[{n}] pages that missed message.created (page: count): {r['missed']}")
        if r["page_errors"] or r["webhook_errors"]:
            print(f"[{n}] errors: pages {r['page_errors'][:5]}, webhooks {r['webhook_errors'][:5]}")

    print()
    checks = []
    if "new" in results:
        new = results["new"]
        p95 = percentile(new["dom"], 95)
        checks.append((f"server CPU per open page per event <= 2 ms: {new['cpu_ms_per_event_page']:.3f} ms",
                       new["cpu_ms_per_event_page"] <= 2))
        checks.append((f"webhook -> DOM p95 <= 150 ms: {p95:.0f} ms "
                       f"({len(new['dom'])}/{new['dom_expected']} arrived)",
                       bool(new["dom"]) and p95 <= 150 and len(new["dom"]) == new["dom_expected"]))
    if len(results) == 2:
        new, old = results["new"], results["old"]
        ratio = old["cpu_ms_per_event_page"] / max(1e-9, new["cpu_ms_per_event_page"])
        ratio_webhook = old["cpu_ms_per_webhook_event_page"] / max(1e-9, new["cpu_ms_per_webhook_event_page"])
        print(f"ratio old/new, CPU per event per page: {ratio:.1f}x "
              f"(per webhook event per page: {ratio_webhook:.1f}x)")
        checks.append((f"at least 10x less server CPU than the full-page refresh: {ratio:.1f}x", ratio >= 10))
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="open pages K (1 of them Chromium)")
    parser.add_argument("--rate", type=float, default=4, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=20, help="measured window")
    parser.add_argument("--warmup", type=float, default=4, help="seconds of webhooks before each window")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-rev", default="68cfe83^", help="the full-page refresh to compare with")
    parser.add_argument("--only", choices=("new", "old"), help="measure one variant")
    parser.add_argument("--no-chromium", action="store_true", help="all pages emulated (no DOM latency)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="PostgreSQL server (the bench_live_* databases are created there)")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379"))
    parser.add_argument("--redis-db-new", type=int, default=10)
    parser.add_argument("--redis-db-old", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    if args.pages < 1:
        parser.error("--pages must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    pg_admin(args.pg).close()  # a clear message now rather than halfway
    variants = {"new": ROOT}
    if args.only != "new":
        print(f"extracting {args.baseline_rev} (git archive)", flush=True)
        variants["old"] = baseline_tree(args.baseline_rev)
    if args.only == "old":
        variants.pop("new")

    playwright = browser = None
    if not args.no_chromium:
        if not Path(CHROMIUM).exists():
            raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium), or pass --no-chromium")
        sys.path.insert(0, str(ROOT))
        from playwright.sync_api import sync_playwright

        from tests.browser.server import CHROMIUM_ARGS

        playwright = sync_playwright().start()
        at_cleanup(playwright.stop)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        at_cleanup(browser.close)
    try:
        results = {name: run_variant(name, directory, args, browser) for name, directory in variants.items()}
    finally:
        cleanup_all()
    report(results, args)


if __name__ == "__main__":
    main()
