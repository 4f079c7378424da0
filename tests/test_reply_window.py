"""WhatsApp Cloud takes free-form messages only within 24 h of the contact's last one:
the attendant is told above the composer instead of finding out from a failed send."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from atendimento.extensions import db
from atendimento.models import Message, utcnow
from atendimento.tickets.queries import reply_window_closed

WARNING = "WhatsApp recusa mensagens livres"


@pytest.fixture
def attendant(factory):
    return factory.user("Ana Lima", sectors=[factory.sector("Suporte")])


def _age_inbound(ticket, hours: float) -> None:
    db.session.execute(update(Message).where(Message.ticket_id == ticket.id, Message.direction == "in")
                       .values(created_at=utcnow() - timedelta(hours=hours)))
    db.session.commit()


def _page(client, auth, user, ticket) -> str:
    auth.login(user)
    return client.get(f"/tickets/{ticket.id}").get_data(as_text=True)


def test_after_24_hours_on_whatsapp_cloud_the_composer_warns(client, factory, auth, attendant):
    connection = factory.connection(kind="whatsapp_cloud", sectors=attendant.sectors)
    ticket = factory.ticket(connection, status="open", assignee=attendant)

    assert WARNING not in _page(client, auth, attendant, ticket)
    _age_inbound(ticket, 25)
    assert reply_window_closed(ticket)
    html = _page(client, auth, attendant, ticket)
    assert WARNING in html and 'id="composer-form"' in html  # still allowed: Meta is the one refusing


def test_a_message_on_an_earlier_ticket_of_the_same_number_keeps_the_window_open(factory, attendant):
    connection = factory.connection(kind="whatsapp_cloud", sectors=attendant.sectors)
    ticket = factory.ticket(connection, status="open", assignee=attendant, sender="5511911112222")
    _age_inbound(ticket, 30)
    assert reply_window_closed(ticket)
    factory.inbound(connection, sender="5511911112222", text="voltei")  # the same contact writes again
    assert not reply_window_closed(ticket)
    assert not reply_window_closed(ticket, now=utcnow() + timedelta(hours=23))
    assert reply_window_closed(ticket, now=utcnow() + timedelta(hours=25))


@pytest.mark.parametrize("kind", ["generic", "evolution", "telegram"])
def test_channels_without_such_a_window_never_warn(client, factory, auth, attendant, kind):
    connection = factory.connection(kind=kind, sectors=attendant.sectors)
    ticket = factory.ticket(connection, status="open", assignee=attendant)
    _age_inbound(ticket, 72)
    assert not reply_window_closed(ticket)
    assert WARNING not in _page(client, auth, attendant, ticket)
