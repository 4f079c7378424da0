"""Browser fixtures: one Chromium per session, the real app served per test on
both backends, with CSRF enabled as in production."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from ..conftest import make_overrides, running_app
from .server import LiveServer, launch_chromium


@pytest.fixture(scope="session")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


def live_overrides(backend, tmp_path, request, **extra) -> dict:
    """The app as it runs for real: CSRF on, URLs from the request (no SERVER_NAME)."""
    overrides = make_overrides(backend, tmp_path, request)
    overrides.pop("SERVER_NAME", None)
    overrides["WTF_CSRF_ENABLED"] = True
    return {**overrides, **extra}


@pytest.fixture
def live_app(backend, tmp_path, request):
    with running_app(backend, live_overrides(backend, tmp_path, request)) as app:
        yield app


@pytest.fixture
def live_server(live_app):
    with LiveServer(live_app) as server:
        yield server


def open_inbox(browser, server, email, path=None):
    """A browser of its own, logged in as ``email`` through the form, on ``path`` (the
    inbox by default) with its stream open; ``window.__sameDocument`` is gone if the
    page ever reloads."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "secret123")
    page.click("button[type=submit]")
    expect(page.locator("#ticket-list")).to_be_visible()
    if path:
        page.goto(server.url + path)
    page.wait_for_function("() => window.AtendimentoLive && window.AtendimentoLive.connected")  # a function: no eval under the CSP
    page.evaluate("window.__sameDocument = true")
    return context, page


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def ana_handles(app, *conversations):
    """Ana Lima (ana@example.com, sector Suporte) handles one open ticket per conversation,
    each ``(customer name, [texts])`` from its own number on a gateway that refuses at once.
    Answers each ticket's id and the ids of its messages: ``[(ticket_id, [message_ids])]``."""
    from atendimento.extensions import db
    from atendimento.tickets import service
    from tests.factories import Factory

    with app.app_context():
        f = Factory()
        suporte = f.sector("Suporte")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
        gateway = f.connection("Gateway", sectors=[suporte], settings={"outbound_url": "http://127.0.0.1:9/send"})
        made = []
        for n, (name, texts) in enumerate(conversations):
            sender = f"55119888{n:05d}"
            messages = [f.inbound(gateway, sender=sender, name=name, text=text, external_id=f"in-{n}-{i}")
                        for i, text in enumerate(texts)]
            ticket = messages[0].ticket
            ticket.sector_id = suporte.id
            db.session.commit()
            service.accept_ticket(ana, ticket.id)
            made.append((ticket.id, [m.id for m in messages]))
        return made
