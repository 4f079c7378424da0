"""Publishing that never fails the request: a committed move is announced now, or later, in order.

The database is the truth: a webhook is acknowledged once its message is stored, whether
Redis answers or not. So an event that cannot be handed to Redis waits in a bounded
queue of this process, and one background thread (a greenlet under gevent) hands the
queue over, oldest first, retrying with backoff until Redis is back. While anything
waits, new events queue behind it, so the order of a process's events never changes.

When the queue is full, further events are given up and one ``events.lost`` marker
takes their place in the queue: once published, it makes every stream that follows the
log (in every process) send ``reset``, after the events that were kept.

Each event carries this publisher's sequence number, and Redis remembers the last one
it stored, so a batch resent after a reply was lost (the connection dropped after Redis
ran it) is not stored twice.

A leaf module: the broker gives it a ``send(batch)`` and calls ``publish``.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections import deque
from itertools import islice
from typing import Callable

from redis.exceptions import RedisError

from .envelope import EVENTS_LOST, to_wire

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0
BATCH = 200  # events handed over in one round trip while catching up
FLUSH_ON_CLOSE_S = 2.0  # how long a closing process keeps trying to hand over what waits
LOST_WIRE = to_wire(EVENTS_LOST, None, None, None, {})

Batch = list  # [(sequence number, wire), ...]


class Publisher:
    """``publish(wire)`` never raises on Redis errors and never blocks for longer than one
    attempt: the caller's own try when nothing waits, else a place in the queue."""

    def __init__(self, send: Callable[[str, Batch], None], bound: int):
        self._send = send  # send(publisher name, batch); raises RedisError/OSError when not stored
        self.bound = max(1, bound)
        self._lock = threading.Lock()  # queue, sequence and the caller's own attempt, in order
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._forget_process()

    def _forget_process(self) -> None:
        """State of this process only: a forked child starts its own name, sequence and queue."""
        self._pid = os.getpid()
        self.name = f"{socket.gethostname()}-{self._pid}-{secrets.token_hex(4)}"
        self._seq = 0
        self._pending: deque = deque()  # (seq, wire); LOST_WIRE stands for every event given up there
        self._failing = False  # the last attempt failed: queue without trying until the queue is drained
        self._thread: threading.Thread | None = None
        self.lost = 0  # events given up by this process (logged; read by tests)

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def publish(self, wire: str) -> None:
        if self._pid != os.getpid():
            self._forget_process()
        with self._lock:
            self._seq += 1
            if not self._pending and not self._failing:
                try:
                    self._send(self.name, [(self._seq, wire)])
                    return
                except (RedisError, OSError) as error:
                    self._failing = True
                    log.warning("realtime: could not publish (%s); queued, retrying in the background", error)
            self._enqueue(wire)
        self._start()
        self._wake.set()

    def _enqueue(self, wire: str) -> None:
        if len(self._pending) < self.bound:
            self._pending.append((self._seq, wire))
            return
        self.lost += 1
        if self._pending[-1][1] is not LOST_WIRE:  # one marker for a run of given-up events, in their place
            log.error("realtime: %s events wait for Redis; giving up new ones (streams will reset)", self.bound)
            self._pending.append((self._seq, LOST_WIRE))

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._drain, name="realtime-publisher", daemon=True)
                    self._thread.start()

    def _drain(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            self._wake.wait()
            with self._lock:
                batch = list(islice(self._pending, BATCH))
                if not batch:
                    self._failing = False
                    self._wake.clear()
                    if self._closing.is_set():
                        return
                    continue
            try:
                self._send(self.name, batch)
            except (RedisError, OSError) as error:
                if self._closing.is_set():
                    self._give_up(error)
                    return
                log.warning("realtime: %s events wait for Redis (%s); retrying in %.1f s",
                            len(self._pending), error, delay)
                self._closing.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            except Exception:  # noqa: BLE001 - a bad batch must not stop the ones behind it
                log.exception("realtime: could not publish %s events; giving them up", len(batch))
                with self._lock:
                    for _ in batch:
                        self._pending.popleft()
                    if batch[-1][1] is not LOST_WIRE or len(batch) > 1:  # streams still hear of the loss
                        self.lost += len(batch)
                        self._pending.appendleft((batch[-1][0], LOST_WIRE))
                continue
            delay = RETRY_FIRST_S
            with self._lock:
                for _ in batch:
                    self._pending.popleft()

    def _give_up(self, error) -> None:
        with self._lock:
            given_up = sum(1 for _seq, wire in self._pending if wire is not LOST_WIRE)
            self._pending.clear()
        log.error("realtime: closing with %s events not published (%s)", given_up, error)

    def close(self) -> None:
        """Hand over what waits (bounded by ``FLUSH_ON_CLOSE_S``), then stop the thread."""
        self._closing.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(FLUSH_ON_CLOSE_S)
