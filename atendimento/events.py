"""Domain events: the services announce what changed, after the commit.

Listeners (the realtime broker, the outbox) subscribe here instead of being called
from every route, so a new reaction to a move is one listener, not N call sites.
"""
from blinker import Namespace
from flask import current_app

_signals = Namespace()
domain_event = _signals.signal("domain-event")


class EventData(dict):
    """An event's JSON data that also carries its ticket's state (``sector_id``,
    ``user_id``) for the realtime relay, which would otherwise query it for every
    message event. It compares and serialises as the plain dict, so listeners that
    only read the data see no difference."""

    __slots__ = ("ticket",)


def publish(name: str, *, ticket_id: int, data: dict, ticket: dict | None = None) -> None:
    """Announce ``name`` (a SPEC §7 event name) about ``ticket_id`` with its JSON ``data``.

    ``ticket``: the ticket's state after the move (a ``ticket_json`` or any dict with
    its ``sector_id`` and ``user_id``), when the publisher has it at hand."""
    if ticket is not None:
        data = EventData(data)
        data.ticket = {"sector_id": ticket.get("sector_id"), "user_id": ticket.get("user_id")}
    domain_event.send(current_app._get_current_object(), name=name, ticket_id=ticket_id, data=data)
