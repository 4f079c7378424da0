"""Searching the messages in a real Chromium (issue 13, part 4): typing in the box of the
Esperando tab finds a word of an old, closed, long conversation as one types (no Enter, no
reload), the hit shows the ticket, the contact and the snippet with the word marked (and a
customer's markup as text), and clicking it opens that conversation scrolled to the message,
highlighted."""
import re

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Ticket
from atendimento.tickets import service

from .conftest import ana_handles, open_inbox

pytestmark = pytest.mark.browser


def test_typing_finds_a_word_of_an_old_closed_ticket_and_lands_on_it(live_app, live_server, browser):
    texts = ["Bom dia, comprei uma <b>cafeteira</b> com defeito"] + [f"mensagem de rotina {i}" for i in range(60)]
    ((ticket_id, ids),) = ana_handles(live_app, ("Joana Prado", texts))
    with live_app.app_context():
        ana = db.session.get(Ticket, ticket_id).user
        service.close_ticket(ana, ticket_id)

    context, page = open_inbox(browser, live_server, "ana@example.com", "/tickets?tab=pending")
    box = page.locator("#ticket-search")
    box.click()
    box.type("cafete", delay=40)
    hit = page.locator(f'#message-hits .search-hit[data-message-id="{ids[0]}"]')
    expect(hit).to_contain_text("Joana Prado")
    expect(hit).to_contain_text(f"#{ticket_id}")
    expect(hit.locator("mark")).to_have_text("cafeteira")
    expect(hit.locator(".search-snippet")).to_contain_text("<b>cafeteira</b>")  # the customer's markup as text
    assert page.evaluate("window.__sameDocument") is True  # found while typing, nothing reloaded

    hit.locator("a").click()
    page.wait_for_url(f"**/tickets/{ticket_id}?**#message-{ids[0]}")
    bubble = page.locator(f'#messages [data-message-id="{ids[0]}"]')
    expect(bubble).to_have_class(re.compile(r"\bis-found\b"))
    expect(bubble).to_be_in_viewport()
    expect(page.locator(f'#messages [data-message-id="{ids[-1]}"]')).not_to_be_in_viewport()
    context.close()
