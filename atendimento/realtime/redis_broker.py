"""The Redis backend: the log is a Redis Stream, fan-out is one pub/sub subscription per process.

Publishing runs one Lua script that appends to the stream and publishes the new id
with the event, atomically, so the order of ids in the log is the order every process
receives them in. Each process keeps a single subscriber thread (a greenlet under
gevent) that feeds the local streams' queues; browsers never hold a Redis connection.
A publish that fails waits in this process's queue (``publisher.py``), in order, and
never fails the request that caused it.

The log has an epoch: a random number stored beside it and created with it (when
Redis restarted empty, or the log was deleted, the next one to look starts a new log
with a new epoch). Every event id a browser sees ends with it (``<ms>-<seq>-<epoch>``),
so an id from before a restart reads as unknown, a ``reset``, never as a position in
the new log.

When the subscription drops, the subscriber retries with backoff while the streams
keep their heartbeats; once back it reads what it missed from the log, so nobody
notices, unless that cannot be replayed (the log was trimmed past it, or is another
epoch), in which case its streams get ``reset``.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from .broker import Broker, Reset, Resume
from .envelope import LOG_STARTED, Event, to_wire
from .publisher import Publisher

log = logging.getLogger(__name__)

# KEYS[1] the log, KEYS[2] its epoch; ARGV[1] a new epoch (used if needed), ARGV[2] the log's
# length, ARGV[3] the first entry of a new log. A log and its epoch exist together or not at all.
EPOCH = """
local function epoch()
  local current = redis.call('GET', KEYS[2])
  if current and redis.call('EXISTS', KEYS[1]) == 1 then return current end
  redis.call('SET', KEYS[2], ARGV[1])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[3])
  return ARGV[1]
end
"""
# KEYS[3] the last sequence number stored for this publisher; ARGV[4] the channel; ARGV[5..]:
# sequence number, event, sequence number, event... The id travels with the event.
PUBLISH = EPOCH + """
local e = epoch()
local done = tonumber(redis.call('GET', KEYS[3]) or '0')
local last = done
for i = 5, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if seq > done then
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[i + 1])
    redis.call('PUBLISH', ARGV[4], id .. '-' .. e .. ' ' .. ARGV[i + 1])
    last = seq
  end
end
if last > done then redis.call('SET', KEYS[3], last, 'EX', 86400) end
return e
"""
# The epoch, the oldest and newest ids, and up to ARGV[5] entries after ARGV[4] (when given).
READ = EPOCH + """
local e = epoch()
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local entries = {}
if ARGV[4] ~= '' then entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[4], '+', 'COUNT', ARGV[5]) end
return {e, first[1] and first[1][1] or '0-0', newest[1] and newest[1][1] or '0-0', entries}
"""
ZERO = (0, 0)
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 3.0  # once Redis is back, streams follow again within this
READY_WAIT_S = 2.0
CATCH_UP_BATCH = 500
COALESCE_S = 0.002
COALESCE_MAX = 256
TIMEOUT_S = 2.0  # a page or a stream asks for the head: a Redis that hangs must not hang them for long
PUBLISH_TIMEOUT_S = 1.0  # what a request waits at most before its event is queued instead
NO_RETRY = Retry(NoBackoff(), 0)  # our own loops retry; redis-py's default would sleep seconds first
ONE_RETRY = Retry(NoBackoff(), 1)  # a pooled connection that died with a restart is replaced at once
LOG_STARTED_WIRE = to_wire(LOG_STARTED, None, None, None, {})


class LogGap(Exception):
    """What follows a position cannot be replayed: the log was trimmed past it or is another epoch."""

    def __init__(self, epoch: str, newest: str):
        super().__init__(newest)
        self.epoch, self.newest = epoch, newest


def parse_raw(entry_id) -> tuple[int, int] | None:
    """A Redis Stream id (``<ms>-<seq>``) as a key that compares in log order."""
    try:
        ms, _, seq = _text(entry_id).partition("-")
        return int(ms), int(seq or 0)
    except (TypeError, ValueError):
        return None


def parse_id(event_id) -> tuple[tuple[int, int], str] | None:
    """A browser's event id (``<ms>-<seq>-<epoch>``): its key and epoch, or None."""
    parts = _text(event_id).split("-") if event_id else ()
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return (int(parts[0]), int(parts[1])), parts[2]


class RedisBroker(Broker):
    def __init__(self, app):
        super().__init__(app)
        url = app.config["REDIS_URL"]
        prefix = app.config["REALTIME_KEY_PREFIX"]
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S,
                                          socket_keepalive=True, retry=ONE_RETRY)
        self._publisher_redis = redis.Redis.from_url(url, socket_connect_timeout=PUBLISH_TIMEOUT_S,
                                                     socket_timeout=PUBLISH_TIMEOUT_S, socket_keepalive=True,
                                                     retry=NO_RETRY)
        db = self.redis.connection_pool.connection_kwargs.get("db", 0)
        self.stream_key = f"{prefix}:log"
        self.epoch_key = f"{prefix}:epoch"
        self.publisher_prefix = f"{prefix}:publisher:"
        # Pub/sub ignores database numbers: name the database so deployments sharing a server stay apart.
        self.channel = f"{prefix}:db{db}:events"
        self.subscriber_name = f"atendimento-rt-{os.getpid()}-{id(self):x}"
        self.wake_channel = f"{self.channel}:wake:{self.subscriber_name}"  # close() wakes its subscriber
        self._subscriber_redis = redis.Redis.from_url(
            url, socket_connect_timeout=5, socket_keepalive=True, health_check_interval=10,
            client_name=self.subscriber_name, retry=NO_RETRY,
        )
        self._publish = self._publisher_redis.register_script(PUBLISH)
        self._read = self.redis.register_script(READ)
        self.publisher = Publisher(self._send, self.log_size)  # more waiting than the log keeps: reset anyway
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._ready = threading.Event()
        self._epoch: str | None = None  # the subscriber's position: the epoch, and the last id delivered
        self._last_id: str | None = None
        self._last_key = None

    # -- the log -------------------------------------------------------------------

    def _epoch_args(self) -> list:
        return [str(secrets.randbelow(10**12)), self.log_size, LOG_STARTED_WIRE]

    def _append(self, wire: str) -> None:
        self.publisher.publish(wire)

    def _send(self, publisher: str, batch: list) -> None:
        args = self._epoch_args() + [self.channel]
        for seq, wire in batch:
            args += [seq, wire]
        self._publish(keys=[self.stream_key, self.epoch_key, self.publisher_prefix + publisher], args=args)

    def _read_log(self, after: str | None = None):
        """(epoch, oldest id, newest id, entries after ``after``), read at once."""
        epoch, first, newest, entries = self._read(keys=[self.stream_key, self.epoch_key],
                                                   args=self._epoch_args() + [after or "", CATCH_UP_BATCH])
        return _text(epoch), _text(first), _text(newest), entries

    def public_id(self, entry_id: str, epoch: str) -> str:
        return f"{entry_id}-{epoch}"

    def head(self) -> tuple[str, tuple[int, int]]:
        epoch, _first, newest, _entries = self._read_log()
        return self.public_id(newest, epoch), parse_raw(newest)

    def parse_key(self, event_id) -> tuple[int, int] | None:
        parsed = parse_id(event_id)
        return parsed[0] if parsed else None

    def resume(self, last_event_id: str | None) -> Resume:
        epoch, _first, newest, _entries = self._read_log()
        head_id, head_key = self.public_id(newest, epoch), parse_raw(newest)
        if not last_event_id:
            return Resume(head_id, head_key, [], False)
        parsed = parse_id(last_event_id)
        if parsed is None or parsed[1] != epoch or parsed[0] > head_key:  # garbage, another epoch, the future
            return Resume(head_id, head_key, [], True)
        key = parsed[0]
        try:
            backlog = list(self._entries_after(key, epoch))
        except LogGap as gap:
            return Resume(self.public_id(gap.newest, gap.epoch), parse_raw(gap.newest), [], True)
        return Resume(last_event_id, key, backlog, False)

    def _entries_after(self, key: tuple[int, int], epoch: str):
        """The entries after ``key`` of the log of ``epoch``, in order; ``LogGap`` when some are gone."""
        after = f"{key[0]}-{key[1]}"
        while True:
            current, first, newest, batch = self._read_log(after)
            if current != epoch or parse_raw(first) > key:  # trimmed away, or a new log
                raise LogGap(current, newest)
            for raw_id, fields in _pairs(batch):
                entry_id = _text(raw_id)
                key = parse_raw(entry_id)
                yield Event.from_wire(self.public_id(entry_id, epoch), key, fields[b"e"], self.render_html)
            if len(batch) < CATCH_UP_BATCH:
                return
            after = _text(batch[-1][0])

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
                if self._epoch is None:  # the first connection starts from the head
                    epoch, _first, newest, _entries = self._read_log()
                    self._move_to(epoch, newest)
                pubsub = self._subscriber_redis.pubsub()
                pubsub.subscribe(self.channel, self.wake_channel)
                self._await_confirmation(pubsub, 2)
                self._catch_up()
                self._ready.set()
                delay = RETRY_FIRST_S
                while not self._closing.is_set():
                    for message in self._next_batch(pubsub):
                        if message["type"] == "message" and _text(message["channel"]) == self.channel:
                            self._receive(message["data"])
            except (RedisError, OSError) as error:
                self._ready.clear()
                if self._closing.is_set():
                    break
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

    def _await_confirmation(self, pubsub, channels: int) -> None:
        while channels and not self._closing.is_set():
            message = pubsub.get_message(timeout=1.0)
            if message is not None and message["type"] == "subscribe":
                channels -= 1

    def _catch_up(self) -> None:
        """What was published while we were not subscribed, in order; ``reset`` if the log cannot
        replay it (trimmed past our position, or Redis restarted empty: another epoch)."""
        try:
            for event in self._entries_after(self._last_key, self._epoch):
                self._deliver(event)
        except LogGap as gap:
            log.warning("realtime: events after %s cannot be replayed (the log is %s); resetting streams",
                        self._last_id, "new" if gap.epoch != self._epoch else "trimmed")
            self._move_to(gap.epoch, gap.newest)
            self._fanout(Reset(self._last_id, self._last_key))

    def _move_to(self, epoch: str, entry_id: str) -> None:
        self._epoch, self._last_key = epoch, parse_raw(entry_id)
        self._last_id = self.public_id(entry_id, epoch)

    def _receive(self, raw: bytes) -> None:
        event_id, _, wire = raw.partition(b" ")
        parsed = parse_id(event_id)
        if parsed is None:
            return
        key, epoch = parsed
        if epoch != self._epoch:  # a new log while we stayed connected (e.g. FLUSHALL): we cannot tell what went
            log.warning("realtime: the log changed epoch under the subscription; resetting streams")
            self._epoch, self._last_id, self._last_key = epoch, None, ZERO
            self._fanout(Reset())
        if key > self._last_key:  # else already delivered by the catch-up
            self._deliver(Event.from_wire(_text(event_id), key, wire, self.render_html))

    def _deliver(self, event: Event) -> None:
        self._last_id, self._last_key = event.id, event.key
        self._fanout(event)

    def close(self) -> None:
        """Stop the subscriber (woken on its own channel, not left to its next poll), hand over
        what waits to be published, and let go of the connections."""
        super().close()
        self.publisher.close()
        if self._thread is not None and self._thread.is_alive():
            try:
                self._publisher_redis.publish(self.wake_channel, b"")
            except (RedisError, OSError):  # Redis away: the subscriber is waiting on ``_closing``, not on it
                pass
            self._thread.join(timeout=3)
        self.redis.close()
        self._publisher_redis.close()
        self._subscriber_redis.close()


def _pairs(entries):
    """A script's raw XRANGE reply as (id, {field: value})."""
    for raw_id, fields in entries:
        yield raw_id, dict(zip(fields[::2], fields[1::2]))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
