"""The unsent text of each conversation stays with it: switching tickets never carries a
draft into another conversation, coming back (or reloading) finds it, sending forgets it."""
import pytest
from playwright.sync_api import expect

from .conftest import ana_handles, open_inbox

pytestmark = pytest.mark.browser


def test_each_ticket_keeps_its_own_draft(live_app, live_server, browser):
    (maria, _), (joao, _) = ana_handles(live_app, ("Maria", ["Oi"]), ("João", ["Oi"]))

    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{maria}")
    composer = page.locator("#composer")
    composer.fill("Maria, seu pedido")
    composer.type(" saiu hoje")

    page.locator(f'#ticket-list [data-ticket-id="{joao}"] a').click()
    expect(page.locator(".conv-title h1")).to_have_text("João")
    expect(composer).to_have_value("")  # never Maria's words in João's conversation
    composer.type("João, um momento")

    page.locator(f'#ticket-list [data-ticket-id="{maria}"] a').click()
    expect(composer).to_have_value("Maria, seu pedido saiu hoje")
    page.reload()
    expect(composer).to_have_value("Maria, seu pedido saiu hoje")
    composer.press("Enter")
    expect(page.locator("#messages")).to_contain_text("Maria, seu pedido saiu hoje")
    expect(composer).to_have_value("")
    page.reload()
    expect(composer).to_have_value("")  # sent: forgotten

    page.goto(live_server.url + f"/tickets/{joao}")
    expect(composer).to_have_value("João, um momento")
    context.close()
