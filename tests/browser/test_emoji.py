"""The composer's Emoji button (SPEC §5): a picker served by us, in the attendant's
language, that puts the emoji where the caret is and gets out of the way."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Message
from tests.factories import Factory

from .conftest import open_inbox

pytestmark = pytest.mark.browser

CSP = "script-src 'self'; connect-src 'self'"


def _open_ticket(live_app, browser, server, language=None):
    """Ana's open ticket on her page, recording every request the page makes (a reload
    after logging in, so the record starts with the page itself)."""
    with live_app.app_context():
        f = Factory()
        sales = f.sector("Vendas")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[sales], language=language)
        connection = f.connection("WhatsApp Loja", sectors=[sales])
        ticket_id = f.ticket(connection, status="open", assignee=ana, sender="5511955554444", text="Bom dia").id
        db.session.remove()
    context, page = open_inbox(browser, server, "ana@example.com", f"/tickets/{ticket_id}")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    # The strict policy the app will send: the picker must work without eval or inline script.
    page.route(re.compile(r"/tickets/\d+$"), _with_strict_csp)
    context.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation',"
                            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile))")
    page.reload()
    page.wait_for_function("() => window.AtendimentoLive && window.AtendimentoLive.connected")  # a function: no eval under the CSP
    page.evaluate("window.__sameDocument = true")
    return context, page, requests, ticket_id


def _with_strict_csp(route):
    response = route.fetch()
    route.fulfill(response=response,
                  headers={**response.headers, "content-security-policy": CSP})


def _caret(page):
    return page.locator("#composer").evaluate("el => [el.selectionStart, el.selectionEnd]")


def _not_local(requests, server):
    here = urlsplit(server.url).netloc
    return [url for url in requests if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != here]


def test_emoji_goes_in_at_the_caret_from_a_portuguese_picker_served_by_us(live_app, live_server, browser):
    context, page, requests, ticket_id = _open_ticket(live_app, browser, live_server)
    try:
        composer = page.locator("#composer")
        popover = page.locator("#emoji-popover")
        button = page.get_by_role("button", name="Emoji", exact=True)
        composer.fill("Oi  tudo bem")
        composer.evaluate("el => el.setSelectionRange(3, 3)")  # between the two spaces

        button.click()
        expect(popover).to_be_visible()
        expect(button).to_have_attribute("aria-expanded", "true")
        search = popover.locator("emoji-picker input#search")
        expect(search).to_be_focused()  # the keyboard goes on where the eyes go
        expect(search).to_have_attribute("placeholder", "Procurar")
        expect(page.get_by_role("region", name="Seletor de emoji")).to_be_visible()
        expect(popover.get_by_role("tab", name="Carinhas e emoticons")).to_be_visible()
        search.fill("sorriso")  # a Portuguese keyword: the pt data, not the English
        first = popover.locator("emoji-picker #search-results [role=option]").first
        expect(first).to_be_visible()
        page.keyboard.press("ArrowDown")  # the keyboard alone: down to the first result, Enter
        expect(search).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
        smile = first.evaluate("el => el.textContent.trim()")
        assert smile and not smile.isascii()
        page.keyboard.press("Enter")

        expect(popover).to_be_hidden()
        expect(composer).to_be_focused()
        assert composer.input_value() == f"Oi {smile} tudo bem"
        after = 3 + len(smile.encode("utf-16-le")) // 2  # the caret counts UTF-16 units
        assert _caret(page) == [after, after]  # right after the emoji: typing goes on there

        # A selection is replaced; a click on an emoji chooses it too.
        composer.evaluate("el => el.setSelectionRange(el.value.indexOf('tudo'), el.value.indexOf('tudo') + 4)")
        button.click()
        first_face = popover.locator("emoji-picker [role=tabpanel] [role=menuitem]").first
        expect(first_face).to_be_visible()
        face = first_face.evaluate("el => el.textContent.trim()")
        first_face.click()
        expect(popover).to_be_hidden()
        expect(composer).to_be_focused()
        assert composer.input_value() == f"Oi {smile} {face} bem"

        # Esc and a click outside close it; nothing is inserted.
        button.click()
        expect(search).to_be_focused()
        page.keyboard.press("Escape")
        expect(popover).to_be_hidden()
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(button).to_be_focused()  # back where the keyboard opened it
        button.click()
        expect(popover).to_be_visible()
        page.locator("#messages").click(position={"x": 20, "y": 20})
        expect(popover).to_be_hidden()
        assert composer.input_value() == f"Oi {smile} {face} bem"

        composer.press("Enter")
        expect(page.locator("#messages .msg-out .msg-body").last).to_have_text(f"Oi {smile} {face} bem")
        with live_app.app_context():
            sent = db.session.query(Message).filter_by(ticket_id=ticket_id, direction="out").one()
            assert sent.body == f"Oi {smile} {face} bem"
            db.session.remove()

        paths = [urlsplit(url).path for url in requests]
        assert "/static/vendor/emoji-picker-element-data/pt/cldr/data.json" in paths
        assert _not_local(requests, live_server) == []  # no CDN, nothing leaves this server
        assert page.evaluate("window.__sameDocument") is True
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()


def test_english_speakers_get_the_picker_in_english(live_app, live_server, browser):
    context, page, requests, _ = _open_ticket(live_app, browser, live_server, language="en")
    try:
        page.get_by_role("button", name="Emoji", exact=True).click()
        search = page.locator("#emoji-popover emoji-picker input#search")
        expect(search).to_be_focused()
        expect(search).to_have_attribute("placeholder", "Search")
        search.fill("smile")
        expect(page.locator("#emoji-popover emoji-picker #search-results [role=option]").first).to_be_visible()
        assert "/static/vendor/emoji-picker-element-data/en/cldr/data.json" in [urlsplit(u).path for u in requests]
        assert page.evaluate("window.__csp") == []
        assert _not_local(requests, live_server) == []
    finally:
        context.close()
