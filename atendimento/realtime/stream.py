"""``GET /stream``: the logged-in user's Server-Sent Events (SPEC §7).

The view loads the user once (``Viewer``), subscribes, works out where to resume,
and returns; Flask then tears the request down, giving the database connection back
before the first byte is streamed. The generator only waits on its queue, filters
each event through the user's visibility and writes pre-encoded frames.
"""
from __future__ import annotations

import socket

from flask import Response, current_app, request
from flask_login import current_user
from redis.exceptions import RedisError

from . import bp, presence
from .audience import load_viewer, viewer_of
from .broker import CLOSE, HEARTBEAT, Broker, Reset, Resume, Subscription
from .envelope import RESET as RESET_EVENT
from .envelope import VIEWERS_CHANGED, Event, encode, heartbeat, opening

BATCH = 64  # events written in one go when a stream has fallen behind a little
SAME, CHANGED, GONE = "same", "changed", "gone"


@bp.get("/stream")
def stream():
    if not current_user.is_authenticated:  # a 401, not the login redirect: EventSource cannot follow it usefully
        return Response("Login required.\n", 401, mimetype="text/plain")
    broker: Broker = current_app.extensions["realtime"]
    sub = broker.subscribe(viewer_of(current_user), on_overflow=_socket_closer(request.environ))
    presence.update(broker)
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    try:
        start = broker.resume(last_event_id)
    except (RedisError, OSError):
        # Redis is away: stream heartbeats and whatever the subscriber delivers once it is back;
        # a returning browser reloads its lists since we cannot tell what it missed.
        start = Resume(None, None, [], bool(last_event_id))
    # direct_passthrough: the server iterates our generator itself, without Werkzeug's wrappers.
    response = Response(_events(current_app._get_current_object(), broker, sub, start),
                        mimetype="text/event-stream", direct_passthrough=True)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response


def _socket_closer(environ):
    """Shut a stream's socket when it overflows, so a writer blocked on a client that
    stopped reading wakes up and ends (gunicorn exposes the socket; elsewhere the stream
    ends at its next write)."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return None
    return lambda: sock.shutdown(socket.SHUT_RDWR)


def _events(app, broker: Broker, sub: Subscription, start: Resume):
    config = app.config
    cursor, key = start.cursor, start.key
    try:
        chunks = [opening(int(config["REALTIME_RETRY_MS"]), None if start.reset else cursor)]
        if start.reset:
            chunks.append(encode(cursor, RESET_EVENT, {}))
        for event in start.backlog:
            cursor, key = event.id, event.key
            chunks.append(event.frame_for(sub.viewer, sub.may_see) or b"")
        yield b"".join(chunks)
        while True:
            chunks = []
            for item in (sub.get(), *sub.drain(BATCH)):
                if item is CLOSE or sub.closed:
                    return
                if item is HEARTBEAT:
                    chunks.append(heartbeat(cursor))
                    continue
                if isinstance(item, Reset):  # the broker itself may have missed events: go on from its cursor
                    chunks.append(encode(item.id, RESET_EVENT, {}))
                    cursor, key = item.id, item.key
                    continue
                if key is not None and item.key <= key:  # already sent from the backlog
                    continue
                cursor, key = item.id, item.key
                if item.name == VIEWERS_CHANGED:
                    outcome = _reload_viewer(app, sub, item)
                    if outcome is GONE:
                        return
                    if outcome is CHANGED:  # what this user may see changed: lists must reload
                        chunks.append(encode(item.id, RESET_EVENT, {}))
                    continue
                frame = item.frame_for(sub.viewer, sub.may_see)
                if frame:
                    chunks.append(frame)
            if chunks:
                yield b"".join(chunks)
    finally:
        broker.unsubscribe(sub)
        presence.update(broker)


def _reload_viewer(app, sub: Subscription, event: Event):
    """Reload this stream's user when the change is about them: SAME, CHANGED, or GONE
    (inactive or deleted: the stream ends and the reconnect meets the login check)."""
    if sub.viewer.id not in event.data.get("user_ids", ()):
        return SAME
    with app.app_context():  # a connection for one query, returned when the context ends
        viewer = load_viewer(sub.viewer.id)
    if viewer is None or viewer.session_epoch != sub.viewer.session_epoch:  # inactive, or its sessions ended
        return GONE
    if viewer == sub.viewer:
        return SAME
    sub.set_viewer(viewer)
    return CHANGED
