"""Issue 15, part 4: the pages live with the Content-Security-Policy the app sends
(atendimento/security.py, no 'unsafe-inline'). An admin and an attendant visit every page
they can reach (the Atendimento tabs with a ticket open, every admin list and form, the
profile, login, error pages), use the composer, the emoji picker and the quick replies, and
Chromium reports no violation. The policy is the same on both databases: SQLite only."""
from __future__ import annotations

from urllib.parse import urlsplit

import struct
import zlib

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import BotNode, BotOption, Chatbot, Message, QuickReply
from tests.factories import Factory

pytestmark = pytest.mark.browser

PASSWORD = "secret123"
# Every violation, from the document and from the picker's shadow root (the event is composed),
# and what Chromium says in the console when it refuses something.
COLLECT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' +
                    e.sourceFile + ':' + e.lineNumber);
}, true);
"""
def _png(width=4, height=4) -> bytes:
    """A real picture, so the preview's blob: image loads (img-src allows blob:)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x1f\x7a\x5a" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


NOT_PAGES = ("/logout", "/media/", "/stream", "/static/", "/file")  # not HTML, or would log out


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def place(live_app):
    """Suporte and Vendas; Carla (admin), Ana (Suporte) handling an open ticket of Maria's,
    tagged; a waiting and a closed ticket; a tag, a quick reply, a chatbot with an option."""
    with live_app.app_context():
        f = Factory()
        suporte = f.sector("Suporte", color="#2f80ed")
        vendas = f.sector("Vendas", color="#e67e22", position=1)
        f.admin("Carla Admin", email="carla@example.com")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
        gateway = f.connection("Gateway", sectors=[suporte, vendas],
                               settings={"outbound_url": "http://127.0.0.1:9/send"})
        vip = f.tag("vip", color="#9b51e0")
        open_ticket = f.ticket(gateway, sector=suporte, status="open", assignee=ana,
                               sender="5511988887777", text="Oi, preciso de ajuda")
        open_ticket.contact.tags = [vip]
        f.ticket(gateway, sector=suporte, text="Alguém aí?")
        f.ticket(gateway, sector=vendas, status="closed", text="Obrigado!")
        db.session.add(QuickReply(shortcut="/ola", text="Olá, {{primeiro_nome}}!"))
        bot = Chatbot(name="Loja")
        start = BotNode(chatbot=bot, name="Início", message="Olá! Escolha:")
        db.session.add_all([bot, start])
        db.session.flush()
        db.session.add(BotOption(node=start, position=1, title="Suporte", action="sector",
                                 target_sector_id=suporte.id))
        db.session.commit()
        ticket_id = open_ticket.id
        db.session.remove()
    return {"ticket_id": ticket_id}


def _context(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="pt-BR")
    context.add_init_script(COLLECT)
    page = context.new_page()
    page.set_default_timeout(15_000)
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return context, page, refused


def _login(page, server, email):
    page.goto(server.url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#ticket-list")).to_be_visible()


def _settle(page):
    """Deferred scripts and the colours have run (the stream keeps the network busy)."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


def _visit(page, url, seen: dict) -> None:
    response = page.goto(url)
    _settle(page)
    seen[url] = (response.status if response else None, _violations(page))


def _custom_property(locator, name) -> str:
    return locator.evaluate("(el, name) => getComputedStyle(el).getPropertyValue(name).trim()", name)


def _links(page, server, prefixes) -> list[str]:
    here = urlsplit(server.url).netloc
    found = []
    for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
        parts = urlsplit(href)
        if parts.netloc != here or not parts.path.startswith(prefixes) or any(n in parts.path for n in NOT_PAGES):
            continue
        found.append(parts._replace(fragment="").geturl())
    return found


def _crawl(page, server, starts, prefixes, seen: dict, limit=80) -> None:
    """Every page reachable by links under ``prefixes``, from ``starts``."""
    queue = [server.url + s for s in starts]
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        _visit(page, url, seen)
        queue += [link for link in _links(page, server, prefixes) if link not in seen]


def _assert_clean(seen: dict, refused: list[str]) -> None:
    dirty = {url: v for url, (_status, v) in seen.items() if v}
    assert dirty == {}, dirty
    assert refused == []
    failed = {url: status for url, (status, _v) in seen.items() if status is None or status >= 500}
    assert failed == {}


def test_an_admin_sees_every_page_and_form_without_a_csp_violation(live_app, live_server, browser, place):
    context, page, refused = _context(browser)
    seen = {}
    try:
        _visit(page, live_server.url + "/login", seen)
        page.fill("input[name=email]", "carla@example.com")
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")  # the login page with its error
        _settle(page)
        seen["login refused"] = (200, _violations(page))
        _login(page, live_server, "carla@example.com")
        for tab in ("pending", "open", "closed"):
            _visit(page, f"{live_server.url}/tickets?tab={tab}", seen)
        _crawl(page, live_server, ["/admin/", "/profile/"], ("/admin", "/profile"), seen)
        visited = {urlsplit(u).path for u in seen if u.startswith("http")}
        for expected in ("/admin/sectors/new", "/admin/users/new", "/admin/tags/new", "/admin/connections",
                         "/admin/quick-replies/new", "/admin/chatbots/new", "/profile/"):
            assert expected in visited, f"the crawl missed {expected}"
        assert any(p.startswith("/admin/chatbots/") and "/nodes/" in p for p in visited)

        # A form refused and a form saved, each shown again with its messages.
        page.goto(live_server.url + "/admin/sectors/new")
        page.fill("#f-color", "azul")
        page.click("#sector-form button[type=submit]")
        expect(page.locator("#name-error")).to_be_visible()
        seen["sector form refused"] = (200, _violations(page))
        page.fill("#f-name", "Financeiro")
        page.fill("#f-color", "#27ae60")
        page.click("#sector-form button[type=submit]")
        expect(page.locator(".flash-success")).to_be_visible()
        # The admin's colours still show, painted through the CSSOM (static/js/colors.js).
        dot = page.locator("#sector-table tr", has_text="Financeiro").locator(".sector-dot")
        expect(dot).to_have_css("background-color", "rgb(39, 174, 96)")
        seen["sector saved"] = (200, _violations(page))

        # Error pages.
        for path in ("/tickets/999999", "/admin/no-such-page", "/logout"):  # 404, 404, 405 (GET)
            _visit(page, live_server.url + path, seen)
            assert seen[live_server.url + path][0] in (404, 405)

        # The conversation an admin opens, with its panel and tag colours.
        _visit(page, f"{live_server.url}/tickets/{place['ticket_id']}", seen)
        assert _custom_property(page.locator(".tag", has_text="vip").first, "--tag-color") == "#9b51e0"
        _assert_clean(seen, refused)
    finally:
        context.close()


def test_an_attendant_works_a_conversation_without_a_csp_violation(live_app, live_server, browser, place,
                                                                   tmp_path):
    context, page, refused = _context(browser)
    seen = {}
    ticket_id = place["ticket_id"]
    try:
        _login(page, live_server, "ana@example.com")
        for tab in ("pending", "open", "closed"):
            _visit(page, f"{live_server.url}/tickets?tab={tab}", seen)
        _visit(page, f"{live_server.url}/tickets/{ticket_id}", seen)
        page.wait_for_function("() => window.AtendimentoLive && window.AtendimentoLive.connected")
        row = page.locator(f'.ticket-row[data-ticket-id="{ticket_id}"]')
        assert _custom_property(row, "--sector-color") == "#2f80ed"

        composer = page.locator("#composer")
        composer.fill("Bom dia, Maria")
        page.get_by_role("button", name="Enviar", exact=True).click()
        expect(page.locator("#messages")).to_contain_text("Bom dia, Maria")
        expect(composer).to_have_value("")

        page.get_by_role("button", name="Emoji", exact=True).click()
        popover = page.locator("#emoji-popover")
        expect(popover).to_be_visible()
        first = popover.locator("emoji-picker [role=menuitem]").first
        expect(first).to_be_visible()  # its shadow-root stylesheet and style bindings applied
        # The picker's category bar is laid out by a style binding (grid columns), set via the CSSOM.
        columns = popover.locator("emoji-picker").evaluate(
            "el => getComputedStyle(el.shadowRoot.querySelector('.nav')).gridTemplateColumns")
        assert columns != "none"
        first.click()
        page.keyboard.press("Escape")

        # A picture chosen to send shows its preview from a blob: URL before it goes.
        picture = tmp_path / "foto.png"
        picture.write_bytes(_png())
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Anexar arquivo").click()
        chooser.value.set_files(str(picture))
        thumb = page.locator("img.file-thumb")
        expect(thumb).to_have_count(1)
        page.wait_for_function("() => document.querySelector('img.file-thumb').naturalWidth === 4")
        page.get_by_role("button", name="Remover arquivo — foto.png").click()
        expect(thumb).to_have_count(0)

        composer.fill("")
        composer.type("/ol")
        expect(page.locator("#quick-replies [role=option]")).to_have_count(1)
        composer.press("Escape")
        seen["composer used"] = (200, _violations(page))

        _crawl(page, live_server, ["/profile/"], ("/profile",), seen)
        assert f"{live_server.url}/profile/quick-replies" in seen
        _visit(page, live_server.url + "/admin/", seen)  # not theirs: the error page
        _assert_clean(seen, refused)
    finally:
        context.close()
    with live_app.app_context():
        assert db.session.query(Message).filter_by(ticket_id=ticket_id, body="Bom dia, Maria").count() == 1
