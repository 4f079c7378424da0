"""The signature (issue 12, part 7): a user who signs has their name in bold above each
text the customer reads (``*Ana:*``, WhatsApp's bold), set in their profile; the bot and
the others never sign, and what the attendant sees stays as typed."""
from __future__ import annotations

from atendimento.extensions import db
from atendimento.models import User
from atendimento.outbox import deliver_due

from .channels.helpers import provider  # noqa: F401  (fixture)


def _gateway(factory, provider):
    provider.on("POST", "/send", lambda r, m: (200, {"id": f"gw-{r.json['id']}"}))
    return factory.connection(settings={"outbound_url": provider.url + "/send"})


def test_a_signing_attendant_is_named_in_bold_above_the_text(factory, provider, api, client, auth):
    connection = _gateway(factory, provider)
    ticket = factory.ticket(connection, status="open")
    ana = ticket.user
    auth.login(ana)
    saved = client.post("/profile/", data={"language": "pt_BR", "timezone": "", "signature": "1"})
    assert saved.status_code in (302, 303)
    assert db.session.get(User, ana.id).signature is True
    assert 'name="signature" id="f-signature" value="1" checked' in client.get("/profile/").get_data(as_text=True)

    answer = api(ana).post(f"/tickets/{ticket.id}/messages", json={"text": "Seu pedido saiu hoje."})
    assert answer.status_code == 201 and answer.json["body"] == "Seu pedido saiu hoje."  # as typed, for us
    deliver_due()
    (sent,) = provider.calls("POST", "/send")
    assert sent.json["text"] == f"*{ana.name}:*\nSeu pedido saiu hoje."


def test_without_the_switch_the_text_goes_as_typed_and_unticking_stops_it(factory, provider, api, client, auth):
    connection = _gateway(factory, provider)
    ticket = factory.ticket(connection, status="open")
    ana = ticket.user
    ana.signature = True
    db.session.commit()
    auth.login(ana)
    assert client.post("/profile/", data={"language": "pt_BR", "timezone": ""}).status_code in (302, 303)
    assert db.session.get(User, ana.id).signature is False
    api(ana).post(f"/tickets/{ticket.id}/messages", json={"text": "Oi"})
    deliver_due()
    (sent,) = provider.calls("POST", "/send")
    assert sent.json["text"] == "Oi"
