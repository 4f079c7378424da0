"""Prometheus metrics (SPEC §9), summed over every gunicorn worker.

Counters and histograms live in each process. Under gunicorn, ``gunicorn.conf.py`` sets
``PROMETHEUS_MULTIPROC_DIR`` before any worker imports prometheus-client, so each worker
writes its values to files there; ``GET /metrics`` reads them all (``MultiProcessCollector``)
whichever worker answers. Without it (``flask serve``, tests) the process's own registry is
the whole story. What the database knows (tickets, the outbox) is counted at scrape time
by ``DatabaseCollector``, once, not per worker.

A leaf: the broker imports ``STREAM_CLIENTS`` from here, so this imports nothing of ours
at module level.
"""
from __future__ import annotations

import logging

from prometheus_client import (REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)
disable_created_metrics()  # the multiprocess mode has no *_created series: one output either way

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text format every Prometheus reads

STREAM_CLIENTS = Gauge("atendimento_stream_clients", "Open /stream connections.",
                       multiprocess_mode="livesum")  # a dead worker's streams are gone with it
WEBHOOKS = Counter("atendimento_webhooks", "Webhook deliveries received, by channel kind and outcome.",
                   ["kind", "outcome"])
REQUEST_SECONDS = Histogram("atendimento_request_duration_seconds",
                            "Time to answer a request (to its first byte: a stream counts until it opens).",
                            ["method", "endpoint", "status"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

# What a webhook's status says happened (SPEC §8): stored, or why not.
WEBHOOK_OUTCOMES = {200: "accepted", 400: "malformed", 401: "unauthenticated", 403: "forbidden",
                    404: "unknown_connection", 413: "too_large"}


def webhook_outcome(status: int) -> str:
    if status in WEBHOOK_OUTCOMES:
        return WEBHOOK_OUTCOMES[status]
    return "error" if status >= 500 else "rejected"


class DatabaseCollector:
    """Tickets by status and outgoing messages by status, counted when scraped."""

    def describe(self):
        return []  # counted only when scraped: registering must not query

    def collect(self):
        from sqlalchemy import func, select

        from ..extensions import db
        from ..models import MESSAGE_STATUSES, TICKET_STATUSES, Message, Ticket

        up = GaugeMetricFamily("atendimento_database_up", "1 when the database answered this scrape.")
        try:  # in the scraping request's session: its teardown gives the connection back
            tickets = dict(db.session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
            outbox = dict(db.session.execute(select(Message.status, func.count())
                                             .where(Message.direction == "out").group_by(Message.status)).all())
            db.session.commit()
        except Exception:  # noqa: BLE001 - the workers' metrics matter most when the database is down
            log.warning("metrics: the database did not answer", exc_info=True)
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        family = GaugeMetricFamily("atendimento_tickets", "Tickets by status.", labels=["status"])
        for status in TICKET_STATUSES:
            family.add_metric([status], tickets.get(status, 0))
        yield family
        family = GaugeMetricFamily("atendimento_outbox_messages",
                                   "Outgoing messages by status (queued: waiting to be sent or retried).",
                                   labels=["status"])
        for status in MESSAGE_STATUSES:
            if status != "received":
                family.add_metric([status], outbox.get(status, 0))
        yield family


class _ThisProcess:
    """The process's default registry, as one collector among others."""

    def collect(self):
        return REGISTRY.collect()


def exposition(app) -> bytes:
    """The text /metrics answers: every worker's values, then the database's counts."""
    registry = CollectorRegistry(auto_describe=False)
    folder = app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    return generate_latest(registry)
