"""Realtime fixtures: the app of ``tests/conftest.py`` with a fast heartbeat, a small
log and, on Redis, keys of its own; plus a reader for the SSE stream of the test client.

Waiting is bounded by counting heartbeats, never by measuring time: a stream that
stays silent for many heartbeats has nothing more to say.
"""
from __future__ import annotations

import json
import uuid

import pytest
import redis
from flask import g

from ..conftest import REDIS_URL, make_overrides, running_app

HEARTBEAT_S = 0.05
LOG_SIZE = 50
PATIENCE = 200  # heartbeats to wait for an expected event before failing


@pytest.fixture
def realtime_overrides():
    """Extra app settings; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def app(backend, tmp_path, request, realtime_overrides):
    prefix = f"atendimento-test:{uuid.uuid4().hex[:12]}"
    overrides = {**make_overrides(backend, tmp_path, request), "REALTIME_HEARTBEAT_S": HEARTBEAT_S,
                 "REALTIME_LOG_SIZE": LOG_SIZE, "REALTIME_KEY_PREFIX": prefix, **realtime_overrides}
    with running_app(backend, overrides) as app:
        yield app
    if backend == "postgresql" and "REDIS_URL" not in realtime_overrides:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def broker(app):
    return app.extensions["realtime"]


class Stream:
    """An open ``/stream`` response read frame by frame."""

    def __init__(self, response):
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self._chunks = iter(response.response)
        self._buffer = b""
        self.frames: list[dict] = []

    def next_frame(self) -> dict:
        while b"\n\n" not in self._buffer:
            self._buffer += next(self._chunks)
        raw, self._buffer = self._buffer.split(b"\n\n", 1)
        frame = parse_frame(raw.decode())
        self.frames.append(frame)
        return frame

    def next_event(self) -> dict:
        """The next frame that is an event (heartbeats and bare ``id:``/``retry:`` lines skipped)."""
        for _ in range(PATIENCE):
            frame = self.next_frame()
            if "event" in frame:
                return frame
        raise AssertionError(f"no event after {PATIENCE} heartbeats; frames so far: {self.frames[-5:]}")

    def events_until(self, name: str, ticket_id: int | None = None) -> list[dict]:
        """Every event up to and including the first ``name`` (about ``ticket_id``)."""
        seen = []
        while True:
            event = self.next_event()
            seen.append(event)
            if event["event"] == name and (ticket_id is None or ticket_of(event) == ticket_id):
                return seen

    def close(self) -> None:
        self.response.close()


def ticket_of(event: dict) -> int:
    """The ticket an event is about: message events name it, ticket events are it."""
    data = event["data"]
    return data["ticket_id"] if event["event"].startswith("message.") else data["id"]


def parse_frame(raw: str) -> dict:
    frame: dict = {}
    for line in raw.split("\n"):
        if line.startswith(":"):
            frame.setdefault("comments", []).append(line[1:].strip())
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            frame["data"] = json.loads(value)
        elif field in ("id", "event", "retry"):
            frame[field] = value
    return frame


@pytest.fixture
def open_stream(app):
    """``open_stream(user, last_event_id=None)``: log ``user`` in on a client of their own and connect."""
    streams = []

    def open_(user, last_event_id=None, password="secret123"):
        # The test's app context is shared by every request, and Flask-Login caches the
        # user in it: forget the previous client's user before this one logs in.
        g.pop("_login_user", None)
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.data
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        stream = Stream(client.get("/stream", headers=headers, buffered=False))
        streams.append(stream)
        return stream

    yield open_
    for stream in streams:
        stream.close()
