"""The ticket actions' keys work in a real browser, as their buttons show them."""
import re

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Ticket
from tests.factories import Factory

from .conftest import open_inbox

pytestmark = pytest.mark.browser


def test_the_key_shown_in_atender_accepts(live_app, live_server, browser):
    with live_app.app_context():
        f = Factory()
        suporte = f.sector("Suporte")
        ana_id = f.user("Ana Lima", email="ana@example.com", sectors=[suporte]).id
        ticket_id = f.ticket(f.connection("WhatsApp Loja", sectors=[suporte]), text="Oi").id
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    try:
        expect(page.locator("#btn-accept kbd")).to_have_text("a")
        page.keyboard.press("j")  # a key of the page's own is not an action's
        page.keyboard.press("a")
        expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}\?tab=open"))
        expect(page.locator("#btn-accept")).to_have_count(0)
        with live_app.app_context():
            ticket = db.session.get(Ticket, ticket_id)
            assert (ticket.status, ticket.user_id) == ("open", ana_id)
    finally:
        context.close()
