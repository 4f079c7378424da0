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


def test_words_typed_while_the_page_is_still_loading_are_kept(live_app, live_server, browser):
    """On a slow machine the composer is on screen before the page's script has run: what
    was typed then is a draft like any other (it was lost, one run in a few under load)."""
    (maria, _), (joao, _) = ana_handles(live_app, ("Maria", ["Oi"]), ("João", ["Oi"]))
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{maria}")
    held = []
    page.route("**/static/js/tickets.js", lambda route: held.append(route))  # answered below, by hand
    page.goto(live_server.url + f"/tickets/{joao}", wait_until="commit")
    composer = page.locator("#composer")
    composer.wait_for(state="attached")
    page.wait_for_function("() => document.readyState !== 'complete'")  # the script is still held
    composer.type("João, já volto")
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()
    page.unroute("**/static/js/tickets.js")
    page.wait_for_function("() => document.getElementById('composer-form').dataset.bound === '1'")
    page.goto(live_server.url + f"/tickets/{maria}")
    expect(page.locator(".conv-title h1")).to_have_text("Maria")
    page.goto(live_server.url + f"/tickets/{joao}")
    expect(page.locator("#composer")).to_have_value("João, já volto")
    context.close()
