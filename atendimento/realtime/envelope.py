"""One realtime event as it travels: into the log, through the broker, onto each stream.

The wire form (what the log stores and Redis carries) keeps what delivery needs to
decide who may see the event: the ticket's sector and assignee after the move and,
for moves, before it. The browser only ever receives ``data``.
"""
from __future__ import annotations

import json

from .audience import probe

# SPEC §7 events a browser may receive, and the one delivery derives from a move.
DELIVERABLE = frozenset({"ticket.created", "ticket.updated", "message.created", "message.updated"})
TICKET_REMOVED = "ticket.removed"
# An @mention in a note (SPEC §6.1): only for the user it names, while they may see the ticket.
MENTION = "mention"
RESET = "reset"
# A WhatsApp call ringing, answered, ended (calls/whatsapp.py): to whoever may see its ticket.
CALL_EVENTS = frozenset({"call.ringing", "call.answered", "call.ended"})
# Internal: tells open streams to reload their users; never sent to a browser.
VIEWERS_CHANGED = "viewers.changed"
# Internal, in the log: a publisher gave events up (every stream that reads it sends ``reset``),
# and the first entry of a log (its epoch began; sent to nobody).
EVENTS_LOST = "events.lost"
LOG_STARTED = "log.started"


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def to_wire(name: str, ticket_id: int | None, ticket: dict | None, previous: dict | None, data: dict) -> str:
    return _dumps({"n": name, "t": ticket_id, "s": ticket, "p": previous, "d": data})


class Event:
    """An event with its log id. Frames and visibility probes are built once per process,
    then shared by every stream that delivers it."""

    __slots__ = ("id", "key", "name", "ticket_id", "ticket", "previous", "data", "render",
                 "_frames", "_removed_frame", "_probe", "_previous_probe", "_decided")

    def __init__(self, id: str, key, name: str, ticket_id, ticket, previous, data, render=None):
        self.id = id  # what the browser sees in ``id:`` and sends back as Last-Event-ID
        self.key = key  # the same id in a form that compares in log order
        self.name = name
        self.ticket_id = ticket_id
        self.ticket = ticket
        self.previous = previous
        self.data = data
        # ``render(name, data, language)``: the HTML this event changes on a page, or None.
        # Called when a stream that may see the event first needs it, once per process and
        # language: a process with nobody watching renders nothing.
        self.render = render
        self._frames: dict = {}  # language -> frame
        self._removed_frame = self._probe = self._previous_probe = None
        self._decided: dict = {}  # viewer -> frame or None: tabs of one user (or one sector set) decide once

    @classmethod
    def from_wire(cls, id: str, key, wire: str | bytes, render=None) -> Event:
        body = json.loads(wire)
        return cls(id, key, body["n"], body.get("t"), body.get("s"), body.get("p"), body.get("d") or {}, render)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.name} ticket={self.ticket_id}>"

    @property
    def frame(self) -> bytes:
        return self.frame_in(None)

    def frame_in(self, language: str | None) -> bytes:
        """The event as a browser reading ``language`` gets it, with the HTML it changes
        as ``data.html``: built once per language."""
        frame = self._frames.get(language)
        if frame is None:
            html = self.render(self.name, self.data, language) if self.render and language else None
            data = {**self.data, "html": html} if html is not None else self.data
            frame = self._frames[language] = encode(self.id, self.name, data)
        return frame

    @property
    def removed_frame(self) -> bytes:
        """The same id, told to a user who could see the ticket before this move and cannot now."""
        if self._removed_frame is None:
            self._removed_frame = encode(self.id, TICKET_REMOVED, {"id": self.ticket_id})
        return self._removed_frame

    @property
    def probe(self):
        if self._probe is None and self.ticket is not None:
            self._probe = probe(self.ticket)
        return self._probe

    @property
    def previous_probe(self):
        if self._previous_probe is None and self.previous is not None:
            self._previous_probe = probe(self.previous)
        return self._previous_probe


    def frame_for(self, viewer, may_see) -> bytes | None:
        """What ``viewer`` gets of this event: itself, ``ticket.removed`` when this move took
        the ticket out of their sight, or nothing."""
        try:
            return self._decided[viewer]
        except KeyError:
            pass
        frame = None
        if self.name == EVENTS_LOST:  # whoever follows the log may have missed something
            frame = encode(self.id, RESET, {})
        elif self.name == MENTION and self.probe is not None:
            if self.ticket.get("mentioned_id") == getattr(viewer, "id", None) and may_see(self.probe):
                frame = self.frame_in(None)
        elif self.name in CALL_EVENTS and self.probe is not None:
            if may_see(self.probe):
                frame = self.frame_in(None)
        elif self.name in DELIVERABLE and self.probe is not None:
            if may_see(self.probe):
                frame = self.frame_in(getattr(viewer, "language", None))
            elif (self.name == "ticket.updated" and self.previous_probe is not None
                  and may_see(self.previous_probe)):
                frame = self.removed_frame
        self._decided[viewer] = frame
        return frame


def encode(event_id: str | None, name: str, data: dict) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {_dumps(data)}\n\n".encode()


def heartbeat(cursor: str | None) -> bytes:
    """A comment keeps proxies and the browser from timing out. The ``id:`` line (no
    data, so no event fires) moves the browser's Last-Event-ID past events this user
    was not shown, so a reconnect replays from here instead of far behind."""
    return f": heartbeat\nid: {cursor}\n\n".encode() if cursor else b": heartbeat\n\n"


def opening(retry_ms: int, cursor: str | None) -> bytes:
    return (f"retry: {retry_ms}\n" + (f"id: {cursor}\n" if cursor else "") + "\n").encode()
