"""Realtime: domain events reach every browser that may see them (SPEC §7).

``init_app`` picks the broker (Redis when ``REDIS_URL`` is set, else in-process),
listens to the services' domain events and registers ``GET /stream``.

Its settings, ``REALTIME_HEARTBEAT_S``, ``REALTIME_RETRY_MS``, ``REALTIME_QUEUE_SIZE``,
``REALTIME_LOG_SIZE`` and ``REALTIME_KEY_PREFIX``, are declared in ``config.py``.
"""
from __future__ import annotations

import logging

import click
from flask import Blueprint, current_app

from ..config import setting
from ..events import domain_event
from ..extensions import db
from ..tickets import fragments
from .audience import track_viewer_changes
from .broker import Broker, InProcessBroker
from .envelope import MENTION

log = logging.getLogger(__name__)

bp = Blueprint("realtime", __name__, cli_group=None)


def init_app(app) -> Broker:
    if app.config.get("REDIS_URL"):
        from .redis_broker import RedisBroker

        broker = RedisBroker(app)
    else:
        broker = InProcessBroker(app)
    app.extensions["realtime"] = broker

    def relay(sender, name, ticket_id, data):
        _relay(broker, name, ticket_id, data)

    broker.listener = relay  # blinker holds receivers weakly: the broker (held by the app) keeps it alive
    domain_event.connect(relay, sender=app)
    track_viewer_changes()
    app.register_blueprint(bp)
    return broker


def _relay(broker: Broker, name: str, ticket_id: int, data: dict) -> None:
    """Hand a committed domain event to the broker, with who may see its ticket."""
    ticket = getattr(data, "ticket", None)  # ``events.EventData``: the publisher knew the ticket's state
    data = dict(data)
    previous = data.pop("previous", None)
    if name.startswith("ticket."):
        ticket = {"sector_id": data.get("sector_id"), "user_id": data.get("user_id")}
    elif name == MENTION:  # for the one user it names (envelope.Event.frame_for)
        ticket = {**(ticket or _ticket_state(ticket_id) or {}), "mentioned_id": data.pop("mentioned_id", None)}
    elif ticket is None:
        ticket = _ticket_state(ticket_id)
    try:
        fragments.prepare(name, data)
    except Exception:  # noqa: BLE001 - the stream will look the names up itself
        log.exception("realtime: could not prepare %s for ticket %s", name, ticket_id)
    try:
        broker.publish(name, ticket_id, ticket=ticket, previous=previous, data=data)
    except Exception:  # noqa: BLE001 - the move is committed; a broker failure must not turn it into an error
        log.exception("realtime: could not publish %s for ticket %s", name, ticket_id)


def stream_cursor() -> str | None:
    """The newest event id now: a page rendered after this call shows everything up to
    it, so its stream resumes from there (None when the broker cannot tell)."""
    broker = current_app.extensions.get("realtime")
    try:
        return broker.head()[0] if broker is not None else None
    except Exception:  # noqa: BLE001 - Redis away: the page's stream simply starts from now
        log.warning("realtime: no stream cursor for the page", exc_info=True)
        return None


def _ticket_state(ticket_id: int) -> dict | None:
    from ..models import Ticket

    ticket = db.session.get(Ticket, ticket_id)  # usually already in the session's identity map
    return None if ticket is None else {"sector_id": ticket.sector_id, "user_id": ticket.user_id}


@bp.cli.command("serve")
@click.option("--host", default=lambda: setting("HOST"), show_default="HOST or 127.0.0.1")
@click.option("--port", default=lambda: setting("PORT"), show_default="PORT or 5000", type=int)
def serve_command(host, port):
    """Serve pages and streams on gevent (development, single host)."""
    from ..serve import exec_patched

    exec_patched(["--host", host, "--port", str(port)])


from . import stream  # noqa: E402,F401  (registers the routes on bp)
