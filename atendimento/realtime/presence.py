"""Who is online: the users with at least one open ``/stream``.

Each process knows its own streams (the broker's subscriptions, counted per user).
With Redis, each process also writes its users to one sorted set, a member
``<user id>:<process>`` scored with the time it expires: written when a stream
opens or closes, refreshed on every heartbeat tick, and valid for two heartbeats,
so the users of a worker that crashed drop out on their own. Times are Redis's own
clock, so hosts whose clocks disagree still agree on who expired.

A leaf module: the broker and the stream call it, it imports neither.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections import Counter

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)

HEARTBEATS_VALID = 2
TIMEOUT_S = 1.0  # a page asks too: a Redis that hangs must not hang it for long
# (nor one that is down: redis-py's default retries would sleep seconds, the heartbeat ticker with them)

# KEYS[1] the set; ARGV: seconds valid, this process, how many members to drop, those members,
# then the members to keep. The key itself lives as long as its freshest member.
ANNOUNCE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local valid, process, gone = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
for i = 4, 3 + gone do redis.call('ZREM', KEYS[1], ARGV[i] .. ':' .. process) end
for i = 4 + gone, #ARGV do redis.call('ZADD', KEYS[1], now + valid, ARGV[i] .. ':' .. process) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if #ARGV >= 4 + gone then redis.call('PEXPIRE', KEYS[1], math.ceil(valid * 1000)) end
return 1
"""
ONLINE = """
local now = redis.call('TIME')
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (tonumber(now[1]) + tonumber(now[2]) / 1000000), '+inf')
"""


class Presence:
    """The presence of one broker's process; ``of(broker)`` gives the one to use."""

    def __init__(self, broker):
        config = broker.app.config
        self.broker = broker
        self.valid_s = HEARTBEATS_VALID * broker.heartbeat_s
        self.key = f"{config['REALTIME_KEY_PREFIX']}:presence"
        self.process = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self.redis = None
        if getattr(broker, "redis", None) is not None:  # shared only where the broker itself is shared
            self.redis = redis.Redis.from_url(config["REDIS_URL"], socket_connect_timeout=TIMEOUT_S,
                                              socket_timeout=TIMEOUT_S, retry=Retry(NoBackoff(), 1))
            self._announce = self.redis.register_script(ANNOUNCE)
            self._online = self.redis.register_script(ONLINE)
        self._announced: set[int] = set()
        self._lock = threading.Lock()  # one write at a time, so the last one written is the newest state

    def local_counts(self) -> Counter:
        """Open streams per user id in this process."""
        return Counter(sub.viewer.id for sub in self.broker.subscriptions if not sub.closed)

    def announce(self) -> None:
        """Tell Redis who is online here (and who no longer is). Never raises."""
        if self.redis is None:
            return
        with self._lock:
            users = set(self.local_counts())
            gone = self._announced - users
            if not users and not gone:
                return
            try:
                self._announce(keys=[self.key], args=[self.valid_s, self.process, len(gone), *gone, *users])
            except (RedisError, OSError) as error:  # the members expire on their own; retried next tick
                log.warning("realtime: could not announce presence (%s)", error)
                return
            self._announced = users

    def online_user_ids(self) -> set[int]:
        """Users with an open stream in any process; empty when Redis cannot say."""
        if self.redis is None:
            return set(self.local_counts())
        try:
            members = self._online(keys=[self.key])
        except (RedisError, OSError) as error:
            log.warning("realtime: could not read presence (%s)", error)
            return set()
        return {int(member.split(b":", 1)[0]) for member in members}


_create_lock = threading.Lock()


def of(broker) -> Presence:
    presence = broker.app.extensions.get("presence")
    if presence is None or presence.broker is not broker:
        with _create_lock:
            presence = broker.app.extensions.get("presence")
            if presence is None or presence.broker is not broker:
                presence = broker.app.extensions["presence"] = Presence(broker)
    return presence


def update(broker) -> None:
    """A stream of ``broker`` opened or closed, or its heartbeat ticked: tell the other processes."""
    try:
        of(broker).announce()
    except Exception:  # noqa: BLE001 - presence is a hint; a stream or the ticker must never fail on it
        log.exception("realtime: presence update failed")


def online_user_ids() -> set[int]:
    """Users of the current app with at least one open ``/stream``, wherever it is served."""
    broker = current_app.extensions.get("realtime")
    if broker is None:
        return set()
    try:
        return of(broker).online_user_ids()
    except Exception:  # noqa: BLE001 - the page shows nobody online rather than an error
        log.exception("realtime: presence read failed")
        return set()
