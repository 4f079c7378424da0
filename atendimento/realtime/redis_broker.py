"""The Redis backend: the log is a Redis Stream, fan-out is one pub/sub subscription per process.

Publishing runs one Lua script that appends to the stream and publishes the new id
with the event, atomically, so the order of ids in the log is the order every process
receives them in. Each process keeps a single subscriber thread (a greenlet under
gevent) that feeds the local streams' queues; browsers never hold a Redis connection.

When the subscription drops, the subscriber retries with backoff while the streams
keep their heartbeats; once back it reads what it missed from the stream, so nobody
notices, unless the outage outlasted the log, in which case its streams get ``reset``.
"""
from __future__ import annotations

import logging
import os
import threading
import time

import redis
from redis.exceptions import RedisError, ResponseError

from .broker import RESET, Broker
from .envelope import Event

log = logging.getLogger(__name__)

# KEYS[1] stream, ARGV: channel, event, max length. The id travels with the event.
PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[2])
return id
"""
ZERO = (0, 0)
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 10.0
READY_WAIT_S = 2.0
CATCH_UP_BATCH = 500
COALESCE_S = 0.002
COALESCE_MAX = 256


class RedisBroker(Broker):
    def __init__(self, app):
        super().__init__(app)
        url = app.config["REDIS_URL"]
        prefix = app.config["REALTIME_KEY_PREFIX"]
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, socket_keepalive=True)
        db = self.redis.connection_pool.connection_kwargs.get("db", 0)
        self.stream_key = f"{prefix}:log"
        # Pub/sub ignores database numbers: name the database so deployments sharing a server stay apart.
        self.channel = f"{prefix}:db{db}:events"
        self.subscriber_name = f"atendimento-rt-{os.getpid()}-{id(self):x}"
        self._subscriber_redis = redis.Redis.from_url(
            url, socket_connect_timeout=5, socket_keepalive=True, health_check_interval=10,
            client_name=self.subscriber_name,
        )
        self._publish = self.redis.register_script(PUBLISH)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._ready = threading.Event()
        self._last_id: str | None = None
        self._last_key = None

    # -- the log -------------------------------------------------------------------

    def _append(self, wire: str) -> None:
        self._publish(keys=[self.stream_key], args=[self.channel, wire, self.log_size])

    def head(self) -> tuple[str, tuple[int, int]]:
        newest = self.redis.xrevrange(self.stream_key, "+", "-", count=1)
        if not newest:
            return "0-0", ZERO
        event_id = newest[0][0].decode()
        return event_id, self.parse_key(event_id)

    def parse_key(self, event_id) -> tuple[int, int] | None:
        try:
            ms, _, seq = str(event_id).partition("-")
            return int(ms), int(seq or 0)
        except (TypeError, ValueError):
            return None

    def _replay_after(self, key) -> list[Event] | None:
        if self._gap_after(key):
            return None
        return list(self._entries_after(f"{key[0]}-{key[1]}"))

    def _gap_after(self, key) -> bool:
        """Were entries after ``key`` trimmed away (or the whole log lost)?"""
        try:
            info = self.redis.xinfo_stream(self.stream_key)
        except ResponseError:  # no log at all
            return key > ZERO
        if info.get("entries-added") == info.get("length"):  # Redis 7 counts: nothing was ever trimmed
            return False
        # Trimming (MAXLEN) only removes the oldest entries: something after ``key`` is gone when
        # the oldest survivor is newer than it. (When ``key`` was the very last one trimmed this
        # resets needlessly; harmless.)
        first = info.get("first-entry")
        return first is not None and self.parse_key(_text(first[0])) > key

    def _entries_after(self, event_id: str):
        start = f"({event_id}"
        while True:
            batch = self.redis.xrange(self.stream_key, min=start, max="+", count=CATCH_UP_BATCH)
            for raw_id, fields in batch:
                entry_id = raw_id.decode()
                yield Event.from_wire(entry_id, self.parse_key(entry_id), fields[b"e"], self.render_html)
            if len(batch) < CATCH_UP_BATCH:
                return
            start = f"({batch[-1][0].decode()}"

    # -- the subscriber ------------------------------------------------------------------

    def subscribe(self, viewer, on_overflow=None):
        sub = super().subscribe(viewer, on_overflow)
        self._ensure_subscriber()
        return sub

    def _ensure_subscriber(self) -> None:
        """Started by the first stream (not at import or fork); that stream waits until it is listening."""
        with self._start_lock:
            started = self._thread is None or not self._thread.is_alive()
            if started:
                self._thread = threading.Thread(target=self._run, name="realtime-subscriber", daemon=True)
                self._thread.start()
        if started:
            self._ready.wait(READY_WAIT_S)

    @property
    def listening(self) -> bool:
        return self._ready.is_set()

    def _run(self) -> None:
        delay = RETRY_FIRST_S
        while not self._closing.is_set():
            pubsub = None
            try:
                if self._last_key is None:
                    self._last_id, self._last_key = self.head()
                pubsub = self._subscriber_redis.pubsub()
                pubsub.subscribe(self.channel)
                self._await_confirmation(pubsub)
                self._catch_up()
                self._ready.set()
                delay = RETRY_FIRST_S
                while not self._closing.is_set():
                    for message in self._next_batch(pubsub):
                        if message["type"] == "message":
                            self._receive(message["data"])
            except (RedisError, OSError) as error:
                self._ready.clear()
                log.warning("realtime: Redis subscription lost (%s); retrying in %.1f s", error, delay)
                self._closing.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
            except Exception:  # noqa: BLE001 - a bad event must not end delivery for the whole process
                log.exception("realtime: subscriber failed; restarting")
                self._closing.wait(delay)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (RedisError, OSError):
                        pass

    def _next_batch(self, pubsub) -> list[dict]:
        """The next message and whatever follows within ``COALESCE_S``. A move usually
        announces two events back to back (``ticket.updated``, ``message.created``):
        handing them over together wakes each stream, and writes to its socket, once."""
        message = pubsub.get_message(timeout=1.0)
        if message is None:
            return []
        batch = [message]
        deadline = time.monotonic() + COALESCE_S
        while len(batch) < COALESCE_MAX:
            message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if message is None:
                break
            batch.append(message)
        return batch

    def _await_confirmation(self, pubsub) -> None:
        while not self._closing.is_set():
            message = pubsub.get_message(timeout=1.0)
            if message is not None and message["type"] == "subscribe":
                return

    def _catch_up(self) -> None:
        """What was published while we were not subscribed, in order; ``reset`` if the log lost some."""
        if self._gap_after(self._last_key):
            log.warning("realtime: events after %s are gone from the log; resetting streams", self._last_id)
            self._fanout(RESET)
            self._last_id, self._last_key = self.head()
            return
        for event in self._entries_after(self._last_id):
            self._deliver(event)

    def _receive(self, raw: bytes) -> None:
        event_id, _, wire = raw.partition(b" ")
        event_id = event_id.decode()
        key = self.parse_key(event_id)
        if key is not None and key > self._last_key:  # else already delivered by the catch-up
            self._deliver(Event.from_wire(event_id, key, wire, self.render_html))

    def _deliver(self, event: Event) -> None:
        self._last_id, self._last_key = event.id, event.key
        self._fanout(event)

    def close(self) -> None:
        super().close()
        if self._thread is not None:
            self._thread.join(timeout=3)
        self.redis.close()
        self._subscriber_redis.close()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
