"""Quick replies in a real browser: "/" opens the list, typing filters it, the arrows and
Enter choose, the variables show filled before sending, Esc cancels, and a "/word" that
matches nothing is never sent by mistake."""
import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Message, QuickReply
from atendimento.tickets import service
from tests.factories import Factory

from .conftest import open_inbox

pytestmark = pytest.mark.browser


def _outgoing(app, ticket_id):
    with app.app_context():
        return [m.body for m in db.session.query(Message).filter_by(ticket_id=ticket_id, direction="out")]


def test_slash_opens_filters_chooses_and_sends_the_filled_reply(live_app, live_server, browser):
    with live_app.app_context():
        f = Factory()
        suporte = f.sector("Suporte")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
        gateway = f.connection("Gateway", sectors=[suporte], settings={"outbound_url": "http://127.0.0.1:9/send"})
        ticket = f.inbound(gateway, sender="5511988887777", name="Maria Souza", text="Oi!").ticket
        ticket.sector_id = suporte.id
        db.session.commit()
        service.accept_ticket(ana, ticket.id)
        db.session.add_all([
            QuickReply(shortcut="/ola", text="Olá, {{primeiro_nome}}! Sou {{atendente}}, do {{setor}}."),
            QuickReply(shortcut="/prazo", text="O prazo de entrega é de 3 dias úteis."),
            QuickReply(shortcut="/pix", text="Nossa chave Pix é o CNPJ.", user_id=ana.id),
        ])
        db.session.commit()
        ticket_id = ticket.id

    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    composer = page.locator("#composer")
    options = page.locator("#quick-replies [role=option]")

    composer.click()
    composer.type("/")
    expect(options).to_have_count(3)
    expect(composer).to_have_attribute("aria-expanded", "true")
    composer.type("p")
    expect(options).to_have_count(2)  # /pix and /prazo (its text says "prazo")
    composer.type("r")
    expect(options).to_have_count(1)
    composer.press("Escape")
    expect(page.locator("#quick-replies")).to_have_count(0)
    expect(composer).to_have_value("/pr")

    composer.fill("")
    composer.type("/ol")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Olá, Maria! Sou Ana Lima, do Suporte.")
    composer.press("Enter")  # chooses: the filled text is in the composer, not sent yet
    expect(composer).to_have_value("Olá, Maria! Sou Ana Lima, do Suporte.")
    assert _outgoing(live_app, ticket_id) == []
    composer.press("Enter")  # now it sends
    expect(page.locator("#messages")).to_contain_text("Olá, Maria! Sou Ana Lima, do Suporte.")
    expect(composer).to_have_value("")

    composer.type("/nada")
    expect(page.locator(".quick-replies-empty")).to_be_visible()
    composer.press("Enter")
    expect(composer).to_have_value("/nada")
    page.wait_for_timeout(300)
    assert _outgoing(live_app, ticket_id) == ["Olá, Maria! Sou Ana Lima, do Suporte."], "/nada was not sent"

    composer.fill("")
    composer.type("/pi")
    expect(options).to_have_count(1)
    composer.press("Tab")
    expect(composer).to_have_value("Nossa chave Pix é o CNPJ.")
    context.close()
