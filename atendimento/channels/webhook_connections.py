"""Which connection a webhook is for: read by its token once per process, then kept in
memory, because a query (and a pooled database connection) per webhook is a large part
of what a webhook costs.

A kept connection may be stale: disabled, deleted, its token, secret or settings
changed by an admin, maybe in another process. So it is never trusted to store
anything. The group commit compares it with the row it reads anyway, in the
transaction that stores the messages; every other path loads the row first (``load``).
When they differ, ``StaleConnection`` makes the webhook start again from the row, as a
redelivery would (which stores nothing twice). A signature that fails against a kept
secret is checked again against the row. The GET challenge always reads the row.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Connection
from .registry import SPECS


class StaleConnection(Exception):
    """The kept connection no longer matches its row: start the webhook again from the row."""


@dataclass(frozen=True, slots=True)
class WebhookConnection:
    """What a webhook needs of its connection (the adapter reads id, kind, secret, settings)."""

    id: int
    kind: str
    token: str
    secret: str
    settings: dict
    kept: bool = field(default=False, compare=False)  # served from memory: checked before storing

    @property
    def channel(self) -> str:
        return SPECS[self.kind].channel

    def matches(self, row) -> bool:
        """Whether the connection's row (enabled, kind, token, secret, settings) is still this."""
        return bool(row.enabled) and (row.kind, row.token, row.secret, row.settings or {}) == (
            self.kind, self.token, self.secret, self.settings)


_QUERY = select(Connection.id, Connection.kind, Connection.token, Connection.secret, Connection.settings,
                Connection.enabled)


def _kept() -> dict:
    return current_app.extensions.setdefault("webhook_connections", {})


def find(kind: str, token: str, *, keep: bool = True) -> WebhookConnection | None:
    """The enabled connection of ``kind`` with this webhook token; from memory when ``keep``."""
    if keep:
        kept = _kept().get((kind, token))
        if kept is not None:
            return kept
    row = db.session.execute(_QUERY.where(Connection.token == token, Connection.kind == kind)).first()
    if row is None or not row.enabled:
        return None
    connection = WebhookConnection(row.id, row.kind, row.token, row.secret, row.settings or {})
    if keep:
        _kept()[(kind, token)] = WebhookConnection(row.id, row.kind, row.token, row.secret, row.settings or {},
                                                   kept=True)
    return connection


def forget(connection: WebhookConnection) -> None:
    _kept().pop((connection.kind, connection.token), None)


def load(connection: WebhookConnection) -> Connection:
    """The connection's row as a model, checked against what the webhook was read with."""
    model = db.session.get(Connection, connection.id)
    if model is None or not connection.matches(model):
        raise StaleConnection(connection.id)
    return model
