"""An attendant's day in a real browser: log in, peek, accept, answer, close, reopen."""
import re

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Message, Ticket
from tests.factories import Factory

pytestmark = pytest.mark.browser


def _state(app, ticket_id):
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        outgoing = db.session.query(Message).filter_by(ticket_id=ticket_id, direction="out").all()
        return ticket.status, ticket.unread, ticket.user_id, [(m.body, m.status) for m in outgoing]


def test_attendant_peeks_accepts_answers_closes_and_reopens(live_app, live_server, page):
    with live_app.app_context():
        f = Factory()
        suporte = f.sector("Suporte", color="#2f80ed")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
        whatsapp = f.connection("WhatsApp Loja", sectors=[suporte])
        f.inbound(whatsapp, sender="5511988887777", name="Maria Souza", text="Oi, bom dia!")
        maria = f.inbound(whatsapp, sender="5511988887777", text="Meu pedido ainda não chegou").ticket_id
        f.ticket(whatsapp, text="Vocês abrem no feriado?")
        ana_id = ana.id
    row = page.locator(f'#ticket-list [data-ticket-id="{maria}"]')

    # Log in through the form (CSRF token and all).
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", "ana@example.com")
    page.fill("input[name=password]", "secret123")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/tickets$"))

    # The three tabs, in Portuguese, with their counts.
    expect(page.locator("#tab-pending")).to_contain_text("Esperando")
    expect(page.locator("#tab-open")).to_contain_text("Em atendimento")
    expect(page.locator("#tab-closed")).to_contain_text("Finalizados")
    expect(page.locator("#count-pending")).to_have_text("2")
    expect(page.locator("#count-open")).to_have_text("0")
    for tab in ("pending", "open", "closed"):  # whole names at 1366x768, never cut with an ellipsis
        label = page.locator(f"#tab-{tab} .tab-label")
        assert label.evaluate("e => e.scrollWidth <= e.clientWidth"), label.inner_text()
    expect(row.locator(".unread-badge")).to_have_text("2")

    # Espiar: read-only, the ticket stays waiting with its unread count.
    row.locator("a").click()
    page.click("#btn-peek")
    expect(page.locator(".banner-peek")).to_contain_text("Modo espiar")
    expect(page.locator("#messages")).to_contain_text("Meu pedido ainda não chegou")
    expect(page.locator("#btn-attach")).to_have_count(0)  # no answering: a note composer at most
    expect(page.locator(".composer-notes-only")).to_be_visible()
    expect(row.locator(".unread-badge")).to_have_text("2")
    assert _state(live_app, maria)[:3] == ("pending", 2, None)

    # Atender: the ticket moves to Em atendimento, assigned to Ana, who is now reading it.
    page.click("#btn-accept")
    expect(page.locator("#tab-open")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#count-open")).to_have_text("1")
    expect(page.locator("#count-pending")).to_have_text("1")
    expect(row).to_have_attribute("data-status", "open")
    expect(page.locator(".flash-success")).to_be_visible()
    assert _state(live_app, maria)[:3] == ("open", 0, ana_id)

    # Answer with Enter: the message shows up queued (⏱) until the channel takes it. Enter
    # sends once the page's scripts have run (deferred: on a loaded machine the page after the
    # accept's redirect is on screen before them, and an Enter then was only a new line).
    page.wait_for_load_state("load")
    page.fill("#composer", "Bom dia, Maria! Vou verificar seu pedido.")
    page.press("#composer", "Enter")
    sent = page.locator("#messages .msg-out").last
    expect(sent).to_contain_text("Bom dia, Maria! Vou verificar seu pedido.")
    expect(sent).to_have_attribute("data-status", "queued")
    expect(sent.locator(".msg-status")).to_have_text("⏱")
    assert _state(live_app, maria)[3] == [("Bom dia, Maria! Vou verificar seu pedido.", "queued")]

    # Fechar: asks first (Esc or Cancelar keeps it), then off to Finalizados.
    page.click("#btn-close")
    expect(page.locator("#close-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#close-dialog")).to_be_hidden()
    assert _state(live_app, maria)[0] == "open"
    page.click("#btn-close")
    page.click("#btn-close-confirm")
    expect(page.locator("#tab-closed")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#count-closed")).to_have_text("1")
    expect(page.locator("#count-open")).to_have_text("0")
    expect(row).to_have_attribute("data-status", "closed")
    expect(page.locator("#btn-attach")).to_have_count(0)  # no answering: a note composer at most
    expect(page.locator(".composer-notes-only")).to_be_visible()
    assert _state(live_app, maria)[0] == "closed"

    # Reabrir: back in Em atendimento, Ana's again.
    page.click("#btn-reopen")
    expect(page.locator("#tab-open")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#count-open")).to_have_text("1")
    expect(page.locator("#count-closed")).to_have_text("0")
    expect(row).to_have_attribute("data-status", "open")
    expect(page.locator("#composer")).to_be_visible()
    assert _state(live_app, maria)[:3] == ("open", 0, ana_id)
