"""The broker: one interface, two backends.

Every process keeps its open streams as ``Subscription``s, each with a bounded queue,
and fans each event out to them. Where events come from is the backend's business:

- ``InProcessBroker`` (here): ids from a counter, the log is a bounded deque, fan-out
  happens in the publishing thread. Serves one process: the embedded default, tests.
- ``RedisBroker`` (``redis_broker.py``): the log is a Redis Stream, events reach every
  process through one pub/sub subscription per process.

Both keep the log so a stream that reconnects with ``Last-Event-ID`` gets what it
missed (``resume``), or ``reset`` when that id is older than the log or from another
run of it: the in-process ids start from the clock, the Redis ids name the log's epoch.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from itertools import islice
from queue import Empty, Full
from typing import Any, Callable, NamedTuple

from ..ops.metrics import STREAM_CLIENTS
from ..tickets import fragments
from . import presence
from .audience import Viewer, visibility_test
from .envelope import VIEWERS_CHANGED, Event, to_wire

log = logging.getLogger(__name__)

CLOSE = object()  # queued to end a stream when the broker shuts down
HEARTBEAT = object()  # queued to every stream by one ticker per process, instead of a timer per stream


def _new_queue(maxsize: int):
    """A gevent queue under gevent (cheaper than the patched stdlib one), else a thread-safe one."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        from gevent.queue import Queue
    else:
        from queue import Queue
    return Queue(maxsize)


class Subscription:
    """One open stream: its user and a bounded queue. A stream that cannot keep up is
    closed (and its socket shut) rather than allowed to grow; the browser reconnects and
    resumes from the log."""

    __slots__ = ("viewer", "may_see", "queue", "closed", "on_overflow")

    def __init__(self, viewer: Viewer, queue_size: int, on_overflow: Callable[[], None] | None = None):
        self.set_viewer(viewer)
        self.queue = _new_queue(queue_size)
        self.closed: str | None = None
        self.on_overflow = on_overflow

    def set_viewer(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self.may_see = visibility_test(viewer)

    def offer(self, item) -> bool:
        if self.closed:
            return False
        try:
            self.queue.put_nowait(item)
            return True
        except Full:
            self.closed = "overflow"
            if self.on_overflow is not None:
                try:
                    self.on_overflow()
                except OSError:  # the socket may already be gone
                    pass
            return False

    def get(self):
        """The next item (an ``Event``, a ``Reset``, ``HEARTBEAT`` or ``CLOSE``)."""
        if self.closed:
            return CLOSE
        return self.queue.get()

    def drain(self, limit: int) -> list:
        items = []
        while len(items) < limit:
            try:
                items.append(self.queue.get_nowait())
            except Empty:
                break
        return items


class Reset(NamedTuple):
    """Queued when this process itself may have missed events (its Redis log was lost or
    trimmed past it): each stream sends ``reset`` and goes on after ``id`` (None: unknown)."""

    id: str | None = None
    key: Any = None


RESET = Reset()  # from nowhere in particular: the stream keeps no cursor until its next event


class Resume(NamedTuple):
    """Where a new stream starts: after ``cursor``, with ``backlog`` to send first, or with a ``reset``."""

    cursor: str | None
    key: Any
    backlog: list[Event]
    reset: bool


class Broker:
    """What the stream and the domain-event listener use; backends fill in the log."""

    def __init__(self, app):
        config = app.config
        self.app = app
        self.queue_size = int(config["REALTIME_QUEUE_SIZE"])
        self.log_size = int(config["REALTIME_LOG_SIZE"])
        self.heartbeat_s = float(config["REALTIME_HEARTBEAT_S"])
        self._subs: tuple[Subscription, ...] = ()  # replaced, never mutated: fan-out iterates lock-free
        self._subs_lock = threading.Lock()
        self._closing = threading.Event()
        self._ticker: threading.Thread | None = None
        self.listener = None  # the app's domain-event receiver, kept alive here (set by ``init_app``)

    # -- streams -----------------------------------------------------------------

    def subscribe(self, viewer: Viewer, on_overflow: Callable[[], None] | None = None) -> Subscription:
        sub = Subscription(viewer, self.queue_size, on_overflow)
        with self._subs_lock:
            self._subs = (*self._subs, sub)
            STREAM_CLIENTS.inc()
            if self._ticker is None:  # started by the first stream, not at import or before a fork
                self._ticker = threading.Thread(target=self._tick, name="realtime-heartbeat", daemon=True)
                self._ticker.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._subs_lock:
            remaining = tuple(s for s in self._subs if s is not sub)
            STREAM_CLIENTS.dec(len(self._subs) - len(remaining))
            self._subs = remaining

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return self._subs

    def _tick(self) -> None:
        while not self._closing.wait(self.heartbeat_s):
            try:
                self._fanout(HEARTBEAT)
                presence.update(self)  # keeps this process's users online for the other processes
            except Exception:  # noqa: BLE001 - the ticker must outlive any one bad stream
                log.exception("realtime: heartbeat failed")

    def _fanout(self, item) -> None:
        dropped = [sub for sub in self._subs if not sub.offer(item)]
        for sub in dropped:
            log.warning("realtime: stream of user %s closed (%s)", sub.viewer.id, sub.closed)
            self.unsubscribe(sub)

    def resume(self, last_event_id: str | None) -> Resume:
        """Call after ``subscribe``: anything newer than the returned cursor reaches the queue."""
        head_id, head_key = self.head()
        if not last_event_id:
            return Resume(head_id, head_key, [], False)
        key = self.parse_key(last_event_id)
        backlog = self._replay_after(key) if key is not None and key <= head_key else None
        if backlog is None:  # older than the log, from another run, or garbage
            return Resume(head_id, head_key, [], True)
        return Resume(last_event_id, key, backlog, False)

    # -- producing ---------------------------------------------------------------

    def publish(self, name: str, ticket_id: int | None, *, ticket: dict | None, previous: dict | None = None,
                data: dict) -> None:
        self._append(to_wire(name, ticket_id, ticket, previous, data))

    def render_html(self, name: str, data: dict, language: str) -> str | None:
        """What ``name`` changes on a page, in ``language`` (``Event.render``). A failure
        leaves the event without HTML: the page then fetches what changed."""
        if name not in fragments.ROW_EVENTS + fragments.MESSAGE_EVENTS:
            return None
        try:
            with self.app.app_context():
                return fragments.for_event(name, data, languages=(language,)).get(language)
        except Exception:  # noqa: BLE001 - never let one page's HTML stop a stream
            log.exception("realtime: could not render %s", name)
            return None

    def announce_viewers_changed(self, user_ids: list[int]) -> None:
        try:
            self.publish(VIEWERS_CHANGED, None, ticket=None, data={"user_ids": list(user_ids)})
        except Exception:  # noqa: BLE001 - a committed change must not fail on the broker
            log.exception("realtime: could not announce changed users %s", user_ids)

    def close(self) -> None:
        self._closing.set()
        for sub in self._subs:
            sub.offer(CLOSE)
            sub.closed = "shutdown"
        with self._subs_lock:
            STREAM_CLIENTS.dec(len(self._subs))
            self._subs = ()

    # -- what a backend provides ---------------------------------------------------

    def _append(self, wire: str) -> None:
        raise NotImplementedError

    def head(self) -> tuple[str | None, Any]:
        """The newest id in the log, and its key."""
        raise NotImplementedError

    def parse_key(self, event_id: str):
        raise NotImplementedError

    def _replay_after(self, key) -> list[Event] | None:
        """Events after ``key`` in order, or None when some of them are gone from the log."""
        raise NotImplementedError


class InProcessBroker(Broker):
    """One process, no other service. Ids start from the clock so a browser's
    Last-Event-ID from before a restart reads as too old (a ``reset``), never as current."""

    def __init__(self, app):
        super().__init__(app)
        self._lock = threading.Lock()
        self._last = time.time_ns() // 1000
        self._log: deque[Event] = deque(maxlen=self.log_size)

    def _append(self, wire: str) -> None:
        with self._lock:  # ids, log order and queue order agree
            self._last += 1
            event = Event.from_wire(str(self._last), self._last, wire, self.render_html)
            self._log.append(event)
            self._fanout(event)

    def head(self) -> tuple[str, int]:
        with self._lock:
            return str(self._last), self._last

    def parse_key(self, event_id: str) -> int | None:
        try:
            return int(event_id)
        except (TypeError, ValueError):
            return None

    def _replay_after(self, key: int) -> list[Event] | None:
        with self._lock:
            first = self._log[0].key if self._log else self._last + 1
            if key < first - 1:
                return None
            return list(islice(self._log, max(0, key - first + 1), None))
