"""The time-zone search box of the profile page, from the keyboard."""
import re

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import User
from tests.factories import Factory

pytestmark = pytest.mark.browser


def test_typing_a_city_picks_its_zone_and_enter_does_not_submit(live_app, live_server, page):
    with live_app.app_context():
        Factory().user("Ana Lima", email="ana@example.com")
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", "ana@example.com")
    page.fill("input[name=password]", "secret123")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/tickets"))
    page.goto(live_server.url + "/profile/")

    search = page.get_by_role("searchbox", name="Buscar fuso horário")
    zone = page.locator("#f-timezone")
    search.focus()
    page.keyboard.type("cuiaba")  # no accent, no capital
    expect(zone).to_have_value("America/Cuiaba")
    expect(page.locator("#f-timezone-found")).to_have_text("Fusos horários encontrados: 1")
    page.keyboard.press("Enter")
    expect(zone).to_be_focused()
    expect(page).to_have_url(re.compile(r"/profile/$"))

    search.fill("")
    search.focus()
    page.keyboard.type("utc-5 acre")
    expect(zone).to_have_value("America/Rio_Branco")
    page.keyboard.type("xyz")
    expect(page.locator("#f-timezone-found")).to_contain_text("Nenhum fuso horário")
    expect(zone).to_have_value("America/Rio_Branco")
    page.keyboard.press("Escape")
    expect(search).to_have_value("")
    assert zone.locator("option").count() > 500, "Esc puts every zone back"
    expect(zone).to_have_value("America/Rio_Branco")

    page.click("#save-preferences")
    expect(page.locator(".flash-success")).to_be_visible()
    with live_app.app_context():
        assert db.session.query(User).filter_by(email="ana@example.com").one().timezone == "America/Rio_Branco"
