"""In Chromium, with CSRF on: an admin reveals a connection's secret with their password and
sends a test message from the connection's page, then follows the link to its ticket."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Ticket
from tests.factories import Factory

pytestmark = pytest.mark.browser


def test_an_admin_reveals_the_secret_and_sends_a_test_message(live_app, live_server, page):
    with live_app.app_context():
        factory = Factory()
        factory.admin("Carla Admin", email="carla@example.com", password="admin-senha-1", language="en")
        connection = factory.connection("Gateway da loja", settings={"outbound_url": "http://127.0.0.1:9/send"},
                                        secret="segredo-do-gateway-1234")
        connection_id = connection.id
    url = live_server.url
    page.goto(url + "/login")
    page.fill("input[name=email]", "carla@example.com")
    page.fill("input[name=password]", "admin-senha-1")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/tickets"))
    page.goto(f"{url}/admin/connections/{connection_id}")
    expect(page.locator("#secret-value")).not_to_contain_text("segredo-do-gateway-1234")

    page.fill("#reveal-password", "not-my-password")
    page.click("#reveal-secrets")
    expect(page.locator("#reveal-error")).to_have_text("Wrong password: nothing was revealed.")
    expect(page.locator("#secret-value")).not_to_contain_text("segredo-do-gateway-1234")
    page.fill("#reveal-password", "admin-senha-1")
    page.press("#reveal-password", "Enter")  # the keyboard is enough
    expect(page.locator("#secret-value")).to_have_text("segredo-do-gateway-1234")

    page.click("#send-test-message")
    result = page.locator("#test-result")
    expect(result).to_contain_text("Waiting")
    with live_app.app_context():
        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.connection_id == connection_id))
    expect(result.locator("a")).to_have_attribute("href", f"/tickets/{ticket_id}")
    result.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}$"))
    expect(page.locator("body")).to_contain_text("its webhook works")
