"""Two attendants of one sector with the page open: a customer's message appears in
both lists without a reload, and when one accepts, the ticket leaves the other's
Esperando at once."""
import time

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from tests.factories import Factory

from .conftest import open_inbox

pytestmark = pytest.mark.browser


def _open_inbox(browser, server, email):
    return open_inbox(browser, server, email)


def test_new_ticket_and_acceptance_reach_the_other_attendant_live(live_app, live_server, browser):
    with live_app.app_context():
        f = Factory()
        vendas = f.sector("Vendas")
        f.user("Ana Lima", email="ana@example.com", sectors=[vendas])
        f.user("Bruno Costa", email="bruno@example.com", sectors=[vendas])
        connection = f.connection("WhatsApp Loja", sectors=[vendas])
        connection_id = connection.id
        db.session.remove()
    contexts = []
    try:
        ana_ctx, ana = _open_inbox(browser, live_server, "ana@example.com")
        bruno_ctx, bruno = _open_inbox(browser, live_server, "bruno@example.com")
        contexts += [ana_ctx, bruno_ctx]
        for page in (ana, bruno):
            expect(page.locator("#count-pending")).to_have_text("0")

        with live_app.app_context():
            f = Factory()
            message = f.inbound(db.session.get(type(connection), connection_id), sender="5511955554444",
                                name="Dona Rosa", text="Vocês entregam hoje?")
            ticket_id = message.ticket_id
            db.session.remove()

        for page in (ana, bruno):
            row = page.locator(f'#ticket-list [data-ticket-id="{ticket_id}"]')
            expect(row).to_contain_text("Dona Rosa")
            expect(row).to_contain_text("Vocês entregam hoje?")
            expect(page.locator("#count-pending")).to_have_text("1")
            assert page.evaluate("window.__sameDocument") is True

        ana.locator(f'#ticket-list [data-ticket-id="{ticket_id}"] a').click()
        ana.click("#btn-accept")
        accepted = time.monotonic()
        expect(bruno.locator(f'#ticket-list [data-ticket-id="{ticket_id}"]')).to_have_count(0)
        left_after = time.monotonic() - accepted
        expect(bruno.locator("#count-pending")).to_have_text("0")
        expect(bruno.locator("#count-open")).to_have_text("1")
        assert bruno.evaluate("window.__sameDocument") is True
        print(f"ticket left Bruno's Esperando {left_after * 1000:.0f} ms after Ana's click")
    finally:
        for context in contexts:
            context.close()
        live_app.extensions["realtime"].close()
