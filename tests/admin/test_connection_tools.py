"""The connection page's tools of the first hour: **Enviar mensagem de teste** (a message through
the real webhook route, signed as each provider signs, and where its ticket is), and the saved
secrets shown in full only to an admin who types their password again."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from atendimento.channels.registry import SPECS
from atendimento.channels.samples import BUILDERS
from atendimento.extensions import db
from atendimento.models import Message, Ticket

# What each kind needs saved to receive (and to be told apart from another connection).
SETTINGS = {
    "generic": {"outbound_url": "http://127.0.0.1:9/send"},
    "whatsapp_cloud": {"phone_number_id": "106540352242922", "access_token": "EAAG-access-token-123456",
                       "verify_token": "verifica"},
    "evolution": {"base_url": "http://127.0.0.1:9", "instance": "loja", "apikey": "evolution-api-key-98765"},
    "telegram": {"bot_token": "123456:telegram-bot-token-abcdef"},
}


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_every_kind_has_a_test_message():
    assert set(BUILDERS) == set(SPECS) == set(SETTINGS)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_the_test_message_goes_through_the_webhook_and_says_where_its_ticket_is(factory, client, auth, kind):
    admin = factory.admin(email="rita@loja.com.br", language="en")
    connection = factory.connection(kind=kind, settings=dict(SETTINGS[kind]), secret="segredo-da-conexao-42")
    auth.login(admin)

    sent = client.post(f"/admin/connections/{connection.id}/test-message")

    assert sent.status_code == 200, _text(sent)[:2000]
    message = db.session.scalar(select(Message).where(Message.connection_id == connection.id))
    assert message.direction == "in" and message.body == "Test message sent from the connection's page: its webhook works."
    ticket = db.session.get(Ticket, message.ticket_id)
    assert ticket.status == "pending" and ticket.sector_id is None
    result = re.search(r'id="test-result">(.*?)</p>', _text(sent), re.S).group(1)
    assert f"#{ticket.id}" in result and f'href="/tickets/{ticket.id}"' in result
    # The ticket is there for the admin, with the message.
    assert "its webhook works" in _text(client.get(f"/tickets/{ticket.id}")).replace("&#39;", "'")

    # Again: the same test customer, so the same ticket, one message more.
    again = client.post(f"/admin/connections/{connection.id}/test-message")
    assert again.status_code == 200
    assert db.session.scalars(select(Message.ticket_id).where(Message.connection_id == connection.id)).all() == [
        ticket.id, ticket.id]


def test_a_disabled_connection_says_why_nothing_arrived(factory, client, auth):
    admin = factory.admin(language="en")
    connection = factory.connection(settings=dict(SETTINGS["generic"]), enabled=False)
    auth.login(admin)

    refused = client.post(f"/admin/connections/{connection.id}/test-message")

    assert refused.status_code == 422
    assert "disabled" in re.search(r'id="test-result">(.*?)</p>', _text(refused), re.S).group(1)
    assert db.session.scalar(select(Message.id)) is None


def test_the_secrets_show_only_after_the_admin_types_their_password(factory, client, auth):
    admin = factory.admin(password="senha-da-rita", language="en")
    connection = factory.connection(kind="telegram", settings=dict(SETTINGS["telegram"]),
                                    secret="segredo-telegram-0042")
    auth.login(admin, password="senha-da-rita")
    page = _text(client.get(f"/admin/connections/{connection.id}"))
    assert "segredo-telegram-0042" not in page and SETTINGS["telegram"]["bot_token"] not in page
    assert 'id="reveal-form"' in page

    wrong = client.post(f"/admin/connections/{connection.id}/reveal", data={"password": "chute-errado"})

    assert wrong.status_code == 403
    assert "Wrong password: nothing was revealed." in _text(wrong)
    assert "segredo-telegram-0042" not in _text(wrong) and SETTINGS["telegram"]["bot_token"] not in _text(wrong)
    empty = client.post(f"/admin/connections/{connection.id}/reveal", data={})
    assert empty.status_code == 403 and "segredo-telegram-0042" not in _text(empty)

    shown = client.post(f"/admin/connections/{connection.id}/reveal", data={"password": "senha-da-rita"})

    assert shown.status_code == 200
    assert 'id="secret-value" class="revealed">segredo-telegram-0042<' in _text(shown)
    assert SETTINGS["telegram"]["bot_token"] in _text(shown)
    # Nothing was changed by looking.
    db.session.refresh(connection)
    assert connection.secret == "segredo-telegram-0042"


def test_attendants_cannot_reveal_or_test(factory, client, auth):
    connection = factory.connection(settings=dict(SETTINGS["generic"]), secret="segredo-generico-77")
    attendant = factory.user()
    auth.login(attendant)
    for action in ("reveal", "test-message"):
        response = client.post(f"/admin/connections/{connection.id}/{action}", data={"password": "secret123"})
        assert response.status_code == 404 and "segredo-generico-77" not in _text(response)
    assert db.session.scalar(select(Message.id)) is None


def test_guessing_the_password_to_reveal_is_limited_like_a_login(app, factory, client, auth):
    admin = factory.admin(password="senha-da-rita", language="en")
    connection = factory.connection(settings=dict(SETTINGS["generic"]), secret="segredo-generico-88")
    auth.login(admin, password="senha-da-rita")
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    for _attempt in range(limit):
        assert client.post(f"/admin/connections/{connection.id}/reveal",
                           data={"password": "chute"}).status_code == 403

    blocked = client.post(f"/admin/connections/{connection.id}/reveal", data={"password": "senha-da-rita"})

    assert blocked.status_code == 429 and "segredo-generico-88" not in _text(blocked)
    assert "Too many failed attempts" in _text(blocked)
