"""Domain events: the services announce what changed, after the commit.

Listeners (the realtime broker, the outbox) subscribe here instead of being called
from every route, so a new reaction to a move is one listener, not N call sites.
"""
from blinker import Namespace
from flask import current_app

_signals = Namespace()
domain_event = _signals.signal("domain-event")


def publish(name: str, *, ticket_id: int, data: dict) -> None:
    """Announce ``name`` (a SPEC §7 event name) about ``ticket_id`` with its JSON ``data``."""
    domain_event.send(current_app._get_current_object(), name=name, ticket_id=ticket_id, data=data)
