"""Browser fixtures: one Chromium per session, the real app served per test on
both backends, with CSRF enabled as in production."""
from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

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


@pytest.fixture
def live_app(backend, tmp_path, request):
    """The app as it runs for real: CSRF on, URLs from the request (no SERVER_NAME)."""
    overrides = make_overrides(backend, tmp_path, request)
    overrides.pop("SERVER_NAME", None)
    overrides["WTF_CSRF_ENABLED"] = True
    with running_app(backend, overrides) as app:
        yield app


@pytest.fixture
def live_server(live_app):
    with LiveServer(live_app) as server:
        yield server


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
