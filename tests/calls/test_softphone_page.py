"""The softphone's place in the page (issue 16): mounted only for a user with a SIP account,
Ligar on a ticket with a phone, and connect-src opened to that user's own WebSocket server
and to nothing else."""
from __future__ import annotations

from atendimento.extensions import db
from atendimento.tickets import service


def _connect_src(response) -> list[str]:
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        if name == "connect-src":
            return values
    raise AssertionError("no connect-src")


def _ticket_for(factory, user, phone="5511988887777"):
    suporte = factory.sector("Suporte")
    user.sectors = [suporte]
    gateway = factory.connection("Gateway", sectors=[suporte])
    ticket = factory.inbound(gateway, sender=phone, text="Oi").ticket
    ticket.sector_id = suporte.id
    db.session.commit()
    service.accept_ticket(user, ticket.id)
    return ticket


def test_a_user_with_a_sip_account_gets_the_softphone_and_ligar(client, factory, auth):
    ana = factory.user("Ana", sip_account={"ws_url": "wss://pbx.example.com:8089/ws", "sip_uri": "sip:1001@pbx.example.com"})
    ticket = _ticket_for(factory, ana)
    auth.login(ana)
    response = client.get(f"/tickets/{ticket.id}")
    html = response.get_data(as_text=True)
    assert 'id="softphone"' in html and "vendor/jssip/jssip.min.js" in html and "js/softphone.js" in html
    assert f'data-call-number="5511988887777" data-ticket-id="{ticket.id}" data-contact-id="{ticket.contact_id}"' in html
    assert _connect_src(response) == ["'self'", "wss://pbx.example.com:8089"]


def test_a_user_without_one_gets_neither_and_the_strict_policy(client, factory, auth):
    bruno = factory.user("Bruno")
    ticket = _ticket_for(factory, bruno)
    auth.login(bruno)
    response = client.get(f"/tickets/{ticket.id}")
    html = response.get_data(as_text=True)
    assert 'id="softphone"' not in html and "jssip" not in html and "data-call-number" not in html
    assert _connect_src(response) == ["'self'"]


def test_a_socket_url_that_is_not_a_plain_websocket_origin_opens_nothing(client, factory, auth):
    for n, url in enumerate(("https://evil.example.com", "wss://pbx.example.com 'unsafe-inline'",
                             "wss://pbx.example.com;script-src *", "wss://user:pw@pbx.example.com")):
        user = factory.user(f"Carla {n}", sip_account={"ws_url": url})
        auth.login(user)
        response = client.get("/tickets")
        assert _connect_src(response) == ["'self'"], url
        assert response.headers["Content-Security-Policy"].count("script-src") == 1
        client.post("/logout")
