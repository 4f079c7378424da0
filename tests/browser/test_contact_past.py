"""A past ticket of the contact read beside the current conversation, in a real browser
(issue 13, part 3): opened from the side panel's history, read only, older messages loaded
on scrolling up, closed with × or Esc, the current composer still usable."""
import re

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Connection, Sector, User
from atendimento.tickets import history_routes, outgoing, service
from tests.factories import Factory

from .conftest import open_inbox

pytestmark = pytest.mark.browser


def test_a_past_ticket_beside_the_current_one(live_app, live_server, browser, monkeypatch):
    monkeypatch.setattr(history_routes, "CONVERSATION_PAGE", 6)  # a long past ticket: older pages on scroll
    with live_app.app_context():
        f = Factory()
        vendas = f.sector("Vendas")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[vendas])
        conn = f.connection("WhatsApp Loja", sectors=[vendas])
        past = f.ticket(conn, sector=vendas, sender="5511933332222", text="pergunta 0")
        service.accept_ticket(ana, past.id)
        for i in range(1, 12):
            outgoing.send_text(ana, past.id, f"resposta {i}")
        service.close_ticket(ana, past.id)
        current = f.ticket(conn, sector=vendas, sender="5511933332222", text="Voltei")
        service.accept_ticket(ana, current.id)
        past_id, current_id = past.id, current.id
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{current_id}?tab=open")
    try:
        link = page.locator(f'#contact-history a[data-beside="/tickets/{past_id}/beside"]')
        link.click()
        pane = page.locator("#beside-pane")
        expect(pane).to_be_visible()
        expect(page.locator("#beside-title")).to_have_text(
            re.compile(rf"Ticket #{past_id} · \d\d/\d\d/\d{{4}} · Vendas · Ana Lima"))
        expect(page.locator("#beside-close")).to_be_focused()
        expect(pane.locator(".bubble", has_text="resposta 11")).to_be_visible()
        expect(pane.locator(".bubble", has_text="pergunta 0")).to_have_count(0)  # an older page
        expect(page.locator("#messages .bubble", has_text="Voltei")).to_be_visible()  # the current one stays
        expect(pane.locator(".msg-reply").first).to_be_hidden()  # read only
        page.screenshot(path="/tmp/shots/g1-beside.png")
        assert page.evaluate("window.__sameDocument") is True and f"/tickets/{current_id}" in page.url

        # Scrolling up loads the older messages (older.js), in the pane.
        pane.locator(".beside-messages").evaluate("el => { el.scrollTop = 0; }")
        expect(pane.locator(".bubble", has_text="pergunta 0")).to_be_visible()
        expect(pane.locator(".msg-reply").first).to_be_hidden()

        # The composer of the current conversation still sends.
        page.locator("#composer").fill("Já vi o seu pedido anterior")
        page.locator("#composer").press("Enter")
        expect(page.locator("#messages .bubble", has_text="Já vi o seu pedido anterior")).to_be_visible()
        expect(pane.locator(".bubble", has_text="Já vi o seu pedido anterior")).to_have_count(0)

        # Esc in the composer is the composer's; Esc elsewhere closes the pane, focus back on the link.
        page.locator("#composer").press("Escape")
        expect(pane).to_be_visible()
        page.locator("#beside-close").focus()
        page.keyboard.press("Escape")
        expect(pane).to_have_count(0)
        expect(link).to_be_focused()
        expect(page.locator(".side-pane")).to_be_visible()

        # Enter on the link opens it again; × closes it.
        link.press("Enter")
        expect(page.locator("#beside-pane")).to_be_visible()
        page.locator("#beside-close").click()
        expect(page.locator("#beside-pane")).to_have_count(0)
        assert page.evaluate("window.__sameDocument") is True
    finally:
        context.close()
