"""**Enviar mensagem de teste**: a customer's message sent to a connection through its own
webhook route (in this process, as the provider would send it: same URL token, same
signature), and where the ticket it landed in can be found."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..channels.samples import sample_webhook
from ..errors import InvalidInput
from ..extensions import db
from ..models import Message, utcnow
from .connections import get_connection


@dataclass
class TestDelivery:
    ticket_id: int
    status: str  # pending / open: the tab it is in
    sector: str | None
    message_id: int


def send_test_message(actor, connection_id) -> TestDelivery:
    connection = get_connection(actor, connection_id)
    if not connection.enabled:
        raise InvalidInput(_("This connection is disabled and ignores incoming messages: enable it first."))
    sample = sample_webhook(connection.kind, secret=connection.secret, settings=connection.settings or {},
                            text=_("Test message sent from the connection's page: its webhook works."),
                            name=_("Test customer"), now=utcnow())
    path = f"/webhooks/{connection.kind}/{connection.token}"
    connection_id = connection.id
    db.session.commit()  # no read transaction of ours in the way of the webhook's writes
    app = current_app._get_current_object()
    with app.app_context():  # a context of its own: its own session and ``g``, as a provider's request has
        response = app.test_client().post(path, data=sample.body, headers=sample.headers)
    if response.status_code != 200:
        answer = response.get_json(silent=True) or {}
        reason = (answer.get("error") or {}).get("message") or response.get_data(as_text=True)[:200]
        raise InvalidInput(_("The webhook refused the test message (HTTP %(status)s: %(reason)s). Check the "
                             "connection's secret and settings.", status=response.status_code, reason=reason))
    db.session.expire_all()
    message = db.session.scalar(select(Message).where(Message.connection_id == connection_id,
                                                      Message.external_id == sample.external_id))
    if message is None:  # accepted but not stored: the adapter read nothing of it
        raise InvalidInput(_("The webhook answered but stored no message: %(answer)s",
                             answer=response.get_data(as_text=True)[:200]))
    ticket = message.ticket
    return TestDelivery(ticket.id, ticket.status, ticket.sector.name if ticket.sector else None, message.id)
