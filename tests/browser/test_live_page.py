"""The Atendimento page follows the stream in place (SPEC §7): new messages, delivery
ticks and moves made in other browsers change exactly what they concern, the page is
never downloaded again, and what the attendant was typing stays where it was."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
import time
import zlib
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.media import store
from atendimento.models import Connection, Message
from atendimento.outbox import worker_of
from atendimento.tickets.inbound import Inbound, receive_inbound
from tests.factories import Factory

from ..channels.helpers import provider  # noqa: F401,F811  (fixture)
from ..conftest import running_app
from .conftest import live_overrides, open_inbox
from .server import LiveServer

pytestmark = pytest.mark.browser

PAGE_PATH = re.compile(r"^/tickets(/\d+)?$")  # the page itself (not its small fragments)


def _open(browser, server, email, path):
    """``open_inbox`` on ``path``, recording every request the page makes from then on."""
    context, page = open_inbox(browser, server, email, path)
    requests = []
    page.on("request", lambda r: requests.append(urlsplit(r.url).path))
    return context, page, requests


def _page_downloads(requests):
    return [path for path in requests if PAGE_PATH.match(path)]


def test_ten_messages_appear_in_order_and_nothing_is_downloaded_again(live_app, live_server, browser):
    with live_app.app_context():
        f = Factory()
        sales = f.sector("Vendas")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[sales])
        connection = f.connection("WhatsApp Loja", sectors=[sales])
        ticket = f.ticket(connection, status="open", assignee=ana, sender="5511955554444", text="Bom dia")
        ticket_id, connection_id = ticket.id, connection.id
        db.session.remove()
    context, page, requests = _open(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    try:
        page.fill("#composer", "rascunho que ainda não enviei")
        texts = [f"mensagem {n} do cliente" for n in range(1, 11)]
        with live_app.app_context():
            conn = db.session.get(Connection, connection_id)
            for text in texts:
                receive_inbound(conn, Inbound(sender_id="5511955554444", body=text, name="Dona Rosa"))
            db.session.remove()

        bubbles = page.locator("#messages .msg-in .msg-body")
        expect(bubbles.last).to_have_text(texts[-1])
        assert bubbles.all_inner_texts()[-10:] == texts
        row = page.locator(f'#ticket-list [data-ticket-id="{ticket_id}"]')
        expect(row.locator(".preview")).to_have_text(texts[-1])
        expect(row).to_have_class(re.compile("is-selected"))
        assert page.input_value("#composer") == "rascunho que ainda não enviei"
        assert page.evaluate("window.__sameDocument") is True
        assert _page_downloads(requests) == []
        assert [p for p in requests if p.startswith("/tickets")] == [], requests  # not even a fragment
        # Following the conversation: the newest message is in view.
        assert page.evaluate("(() => { const m = document.getElementById('messages');"
                             " return m.scrollHeight - m.scrollTop - m.clientHeight; })()") < 48
    finally:
        context.close()


def test_moves_made_in_another_browser_change_the_conversation_in_place(live_app, live_server, browser):
    with live_app.app_context():
        f = Factory()
        sales = f.sector("Vendas")
        f.admin("Gerente", email="gerente@example.com")
        f.admin("Supervisora", email="super@example.com")
        f.user("Bruno Costa", email="bruno@example.com", sectors=[sales])
        connection = f.connection("WhatsApp Loja", sectors=[sales])
        ticket_id = f.ticket(connection, sender="5511944443333", text="Quero trocar um produto").id
        db.session.remove()
    watcher_ctx, watcher, requests = _open(browser, live_server, "super@example.com", f"/tickets/{ticket_id}")
    actor_ctx, actor, _ = _open(browser, live_server, "gerente@example.com", f"/tickets/{ticket_id}")
    try:
        row = watcher.locator(f'#ticket-list [data-ticket-id="{ticket_id}"]')
        expect(watcher.locator("#btn-accept")).to_be_visible()
        expect(watcher.locator("#count-pending")).to_have_text("1")
        expect(row).to_be_visible()

        actor.click("#btn-accept")  # Atender, elsewhere
        expect(watcher.locator("#btn-accept")).to_have_count(0)
        expect(watcher.locator(".conv-header")).to_contain_text("Em atendimento")
        expect(watcher.locator("#btn-transfer")).to_be_visible()
        expect(watcher.locator("#composer")).to_be_visible()  # an admin may answer
        expect(watcher.locator(".side-pane")).to_contain_text("Gerente")
        expect(watcher.locator("#count-pending")).to_have_text("0")
        expect(watcher.locator("#count-open")).to_have_text("1")
        expect(row).to_have_count(0)  # it left Esperando, the tab this list shows
        watcher.fill("#composer", "rascunho da supervisora")

        actor.click("#btn-transfer")  # Transferir to Bruno, elsewhere
        bruno = actor.locator("#transfer-dialog select[name=user_id] option", has_text="Bruno Costa")
        actor.select_option("#transfer-dialog select[name=user_id]", bruno.get_attribute("value"))
        actor.click("#transfer-dialog button[type=submit]")
        expect(watcher.locator(".side-pane")).to_contain_text("Bruno Costa")
        assert watcher.input_value("#composer") == "rascunho da supervisora"
        # The composer moved over to the new pane with the caret: typing goes on in it.
        assert watcher.evaluate("document.activeElement.id") == "composer"
        watcher.keyboard.type(" e mais")
        assert watcher.input_value("#composer") == "rascunho da supervisora e mais"

        watcher.click("#tab-open")  # the attendant's own click: a page of its own
        expect(watcher.locator(f'#ticket-list [data-ticket-id="{ticket_id}"]')).to_contain_text("Bruno Costa")
        watcher.wait_for_function("() => window.AtendimentoLive && window.AtendimentoLive.connected")
        watcher.evaluate("window.__sameDocument = true")
        requests.clear()

        actor.goto(live_server.url + f"/tickets/{ticket_id}")
        actor.click("#btn-close")  # Fechar, elsewhere
        actor.click("#btn-close-confirm")
        expect(watcher.locator("#count-open")).to_have_text("0")
        expect(watcher.locator("#count-closed")).to_have_text("1")
        expect(watcher.locator(f'#ticket-list [data-ticket-id="{ticket_id}"]')).to_have_count(0)
        expect(watcher.locator("#btn-reopen")).to_be_visible()
        assert watcher.evaluate("window.__sameDocument") is True
        assert _page_downloads(requests) == []
    finally:
        watcher_ctx.close()
        actor_ctx.close()


def test_closing_elsewhere_turns_the_open_conversation_read_only(live_app, live_server, browser):
    with live_app.app_context():
        f = Factory()
        sales = f.sector("Vendas")
        f.admin("Gerente", email="gerente@example.com")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[sales])
        connection = f.connection("WhatsApp Loja", sectors=[sales])
        ticket_id = f.ticket(connection, status="open", assignee=ana, sender="5511933332222").id
        db.session.remove()
    ana_ctx, ana_page, requests = _open(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    admin_ctx, admin, _ = _open(browser, live_server, "gerente@example.com", f"/tickets/{ticket_id}")
    try:
        ana_page.fill("#composer", "ia responder agora")
        admin.click("#btn-close")
        admin.click("#btn-close-confirm")
        expect(ana_page.locator("#btn-reopen")).to_be_visible()
        # No answering a closed ticket: only a note for the team (SPEC §6.1: notes in any status).
        expect(ana_page.locator("#btn-attach")).to_have_count(0)
        expect(ana_page.locator(".composer-notes-only")).to_be_visible()
        expect(ana_page.locator(".composer-note")).to_be_visible()
        expect(ana_page.locator("#count-closed")).to_have_text("1")
        assert ana_page.evaluate("window.__sameDocument") is True
        assert _page_downloads(requests) == []
    finally:
        ana_ctx.close()
        admin_ctx.close()


@pytest.fixture
def delivering_app(backend, tmp_path, request):
    """The live app with its outbox worker running, as in production."""
    overrides = live_overrides(backend, tmp_path, request, OUTBOX_WORKER=True, OUTBOX_POLL_S=1)
    with running_app(backend, overrides) as app:
        worker = worker_of(app)
        try:
            yield app
        finally:  # a worker left running would claim the next tests' messages on the shared database
            worker.stop()
            if worker.thread is not None:
                worker.thread.join(timeout=10)


def test_my_own_message_goes_queued_sent_delivered_live(delivering_app, browser, provider):
    def slow_accept(_request, _match):
        time.sleep(0.8)  # long enough to see the clock
        return 200, {"id": "prov-1"}

    provider.on("POST", "/out", slow_accept)
    app = delivering_app
    with app.app_context():
        f = Factory()
        sales = f.sector("Vendas")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[sales])
        connection = f.connection("Gateway", sectors=[sales], settings={"outbound_url": provider.url + "/out"})
        ticket_id = f.ticket(connection, status="open", assignee=ana, sender="5511922221111").id
        token, secret = connection.token, connection.secret
        db.session.remove()
    with LiveServer(app) as server:
        context, page, requests = _open(browser, server, "ana@example.com", f"/tickets/{ticket_id}")
        try:
            page.fill("#composer", "Seu pedido saiu para entrega")
            page.press("#composer", "Enter")
            mine = page.locator("#messages .msg-out").last
            expect(mine).to_contain_text("Seu pedido saiu para entrega")
            expect(mine).to_have_attribute("data-status", "queued")
            expect(mine.locator(".msg-status")).to_have_text("⏱")
            expect(page.locator("#composer")).to_have_value("")

            expect(mine).to_have_attribute("data-status", "sent")  # the channel took it
            expect(mine.locator(".msg-status")).to_have_text("✓")

            body = json.dumps({"type": "status", "id": "prov-1", "status": "delivered"}).encode()
            signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            urlopen(Request(f"{server.url}/webhooks/generic/{token}", data=body, method="POST",
                            headers={"Content-Type": "application/json", "X-Signature-256": signature}),
                    timeout=10).read()
            expect(mine).to_have_attribute("data-status", "delivered")
            expect(mine.locator(".msg-status")).to_have_text("✓✓")
            assert page.locator(f'#messages [data-message-id="{mine.get_attribute("data-message-id")}"]').count() == 1
            assert page.evaluate("window.__sameDocument") is True
            assert _page_downloads(requests) == []
        finally:
            context.close()
            app.extensions["realtime"].close()
        with app.app_context():
            assert [m.status for m in db.session.query(Message).filter_by(direction="out")] == ["delivered"]


def _png(width: int, height: int) -> bytes:
    """A real picture (one colour), so the browser lays it out like a photo."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x4a\x90\xe2" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _picture(conn, sender, caption):
    media = store(_png(900, 1200), declared_mime="image/png", filename="foto.png")
    return receive_inbound(conn, Inbound(sender_id=sender, body=caption, kind="image", name="Dona Rosa",
                                         media={k: media[k] for k in ("path", "mime", "name", "size")}))


def test_a_conversation_with_pictures_opens_at_its_newest_message(live_app, live_server, browser):
    with live_app.app_context(), live_app.test_request_context():  # media URLs are built when announced
        f = Factory()
        sales = f.sector("Vendas")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[sales])
        connection = f.connection("WhatsApp Loja", sectors=[sales])
        ticket_id = f.ticket(connection, status="open", assignee=ana, sender="5511911110000", text="Oi").id
        for n in range(6):
            _picture(connection, "5511911110000", f"foto {n}")
        receive_inbound(connection, Inbound(sender_id="5511911110000", body="essa é a última", name="Dona Rosa"))
        connection_id = connection.id
        db.session.remove()
    context, page, _ = _open(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}")
    try:
        page.wait_for_function("() => Array.from(document.querySelectorAll('#messages img')).every(i => i.complete)")
        gap = "(() => { const m = document.getElementById('messages'); return m.scrollHeight - m.scrollTop - m.clientHeight; })()"
        assert page.evaluate(gap) < 48
        expect(page.locator("#messages .msg-in").last).to_be_in_viewport()

        with live_app.app_context(), live_app.test_request_context():  # a picture arriving keeps the bottom
            _picture(db.session.get(Connection, connection_id), "5511911110000", "mais uma")
            db.session.remove()
        expect(page.locator("#messages .msg-in").last).to_contain_text("mais uma")
        page.wait_for_function("() => Array.from(document.querySelectorAll('#messages img')).every(i => i.complete)")
        assert page.evaluate(gap) < 48
        expect(page.locator("#messages .msg-in").last).to_be_in_viewport()
    finally:
        context.close()


def test_a_reset_brings_the_page_back_in_step_without_a_reload(live_app, live_server, browser):
    """What the server could not replay (SPEC §7 reset) is fetched again: counts, list, conversation."""
    from atendimento.events import domain_event
    from atendimento.realtime.broker import RESET

    with live_app.app_context():
        f = Factory()
        sales = f.sector("Vendas")
        f.user("Ana Lima", email="ana@example.com", sectors=[sales])
        connection = f.connection("WhatsApp Loja", sectors=[sales])
        shown = f.ticket(connection, sender="5511900000001", text="Primeiro cliente").id
        connection_id = connection.id
        db.session.remove()
    context, page, requests = _open(browser, live_server, "ana@example.com", f"/tickets/{shown}?peek=1")
    broker = live_app.extensions["realtime"]
    try:
        expect(page.locator("#count-pending")).to_have_text("1")
        domain_event.disconnect(broker.listener, sender=live_app)  # events lost, as in an outage
        try:
            with live_app.app_context():
                conn = db.session.get(Connection, connection_id)
                missed = receive_inbound(conn, Inbound(sender_id="5511900000002", body="Ninguém me viu",
                                                       name="Seu Jorge")).ticket_id
                receive_inbound(conn, Inbound(sender_id="5511900000001", body="Alô?", name="Cliente"))
                db.session.remove()
        finally:
            domain_event.connect(broker.listener, sender=live_app)
        page.wait_for_timeout(300)
        expect(page.locator(f'#ticket-list [data-ticket-id="{missed}"]')).to_have_count(0)  # nothing told the page

        broker._fanout(RESET)
        expect(page.locator(f'#ticket-list [data-ticket-id="{missed}"]')).to_contain_text("Ninguém me viu")
        expect(page.locator("#count-pending")).to_have_text("2")
        expect(page.locator("#messages")).to_contain_text("Alô?")  # the open conversation caught up too
        assert page.evaluate("window.__sameDocument") is True
        assert _page_downloads(requests) == []
    finally:
        context.close()
