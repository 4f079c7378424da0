"""Responder in a real browser: a message's reply button quotes it above the composer,
the answer goes with the quote and shows it, clicking the quote finds the original, and
Esc or × drops the quote."""
import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Message

from .conftest import ana_handles, open_inbox

pytestmark = pytest.mark.browser


def test_reply_quotes_sends_and_finds_the_original(live_app, live_server, browser):
    ((ticket_id, (first_id, _second)),) = ana_handles(live_app, ("Maria", ["Qual o prazo de entrega?",
                                                                              "E aceitam Pix?"]))

    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    original = page.locator(f'.msg[data-message-id="{first_id}"]')
    original.hover()
    original.get_by_role("button", name="Responder").click()
    quote = page.locator(".composer-quote")
    expect(quote).to_contain_text("Respondendo a")
    expect(quote).to_contain_text("Qual o prazo de entrega?")
    expect(page.locator("#composer")).to_be_focused()

    page.keyboard.press("Escape")  # drops the quote, keeps the composer
    expect(quote).to_have_count(0)
    original.hover()
    original.get_by_role("button", name="Responder").click()
    page.locator("#composer").type("Sai em 3 dias úteis.")
    page.keyboard.press("Enter")

    sent = page.locator(".msg-out").last
    expect(sent).to_contain_text("Sai em 3 dias úteis.")
    expect(sent.locator(".msg-quote")).to_contain_text("Qual o prazo de entrega?")
    expect(quote).to_have_count(0)  # sent: the next message quotes nothing
    with live_app.app_context():
        stored = db.session.query(Message).filter_by(ticket_id=ticket_id, direction="out").one()
        assert (stored.body, stored.quoted_id) == ("Sai em 3 dias úteis.", first_id)

    sent.locator(".msg-quote").click()
    expect(page.locator(f'.msg.is-highlighted[data-message-id="{first_id}"]')).to_have_count(1)
    context.close()
