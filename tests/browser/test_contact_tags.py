"""Tagging a contact from the side panel, seeing the chip on the row, filtering the tab by it,
and removing it with one click, in a real browser (issue 13, part 1)."""
import re

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Contact
from tests.factories import Factory

from .conftest import open_inbox

pytestmark = pytest.mark.browser


def test_tag_add_filter_and_remove(live_app, live_server, browser):
    with live_app.app_context():
        f = Factory()
        suporte = f.sector("Suporte")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
        conn = f.connection("WhatsApp Loja", sectors=[suporte])
        f.tag("Atacado", color="#27ae60")
        mine = f.ticket(conn, status="open", assignee=ana, text="Quero um orçamento")
        other = f.ticket(conn, status="open", assignee=ana, text="Outro cliente")
        mine_id, other_id, contact_id = mine.id, other.id, mine.contact_id
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{mine_id}?tab=open")
    try:
        box = page.locator("#tag-add-name")
        box.fill("atacado")  # an existing tag, typed in another case
        box.press("Enter")
        expect(page.locator("#contact-tags .tag", has_text="Atacado")).to_be_visible()
        page.locator("#tag-add-name").fill("Cliente VIP")  # a new one, created inline
        page.locator("#tag-add-submit").click()
        expect(page.locator("#contact-tags .tag", has_text="Cliente VIP")).to_be_visible()
        row = page.locator(f'.ticket-row[data-ticket-id="{mine_id}"]')
        expect(row.locator(".row-tags .tag", has_text="Cliente VIP")).to_be_visible()

        page.locator(".tag-filter summary").click()
        page.locator(".tag-filter-form label", has_text="Cliente VIP").click()
        page.locator("#tag-filter-apply").click()
        expect(page.locator("#tag-filter-active")).to_be_visible()
        expect(page.locator(f'.ticket-row[data-ticket-id="{mine_id}"]')).to_be_visible()
        expect(page.locator(f'.ticket-row[data-ticket-id="{other_id}"]')).to_have_count(0)
        expect(page).to_have_url(re.compile(r"[?&]tag=\d+"))

        page.locator(f'.ticket-row[data-ticket-id="{mine_id}"] a.ticket-link').click()
        page.locator("#contact-tags .tag", has_text="Atacado").locator("button.tag-x").click()
        expect(page.locator("#contact-tags .tag", has_text="Atacado")).to_have_count(0)
        expect(page.locator("#contact-tags .tag", has_text="Cliente VIP")).to_be_visible()
        with live_app.app_context():
            assert {t.name for t in db.session.get(Contact, contact_id).tags} == {"Cliente VIP"}
    finally:
        context.close()


def test_rows_pushed_by_the_stream_show_the_tag_chips(live_app, live_server, browser):
    """Another browser's list: the row of a contact tagged elsewhere gains the chip, and a new
    ticket of a tagged contact arrives with its chips, both without reloading the page."""
    from atendimento.models import Connection

    with live_app.app_context():
        f = Factory()
        suporte = f.sector("Suporte")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
        f.admin(email="chefe@example.com")
        conn = f.connection("WhatsApp Loja", sectors=[suporte])
        f.tag("Atacado", color="#27ae60")
        mine = f.ticket(conn, status="open", assignee=ana, text="Quero um orçamento", sender="5511900001111")
        mine_id, conn_id = mine.id, conn.id
    boss_context, boss = open_inbox(browser, live_server, "chefe@example.com", "/tickets?tab=open&view=all")
    ana_context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{mine_id}?tab=open")
    try:
        row = boss.locator(f'.ticket-row[data-ticket-id="{mine_id}"]')
        expect(row).to_be_visible()
        expect(row.locator(".row-tags .tag")).to_have_count(0)
        page.locator("#tag-add-name").fill("atacado")
        page.locator("#tag-add-submit").click()
        expect(page.locator("#contact-tags .tag", has_text="Atacado")).to_be_visible()
        chip = row.locator(".row-tags .tag", has_text="Atacado")
        expect(chip).to_be_visible()
        expect(chip).to_have_attribute("data-tag-color", "#27ae60")
        boss.screenshot(path="/tmp/shots/g1-live-chips.png")

        # A message of the tagged contact: the pushed row keeps the chip because it carries it.
        with live_app.app_context():
            Factory().inbound(db.session.get(Connection, conn_id), sender="5511900001111", text="Tem desconto?")
        expect(row.locator(".preview")).to_have_text("Tem desconto?")
        expect(row.locator(".row-tags .tag", has_text="Atacado")).to_be_visible()

        # Removed in Ana's panel: gone from the other list too.
        page.locator("#contact-tags .tag", has_text="Atacado").locator("button.tag-x").click()
        expect(page.locator("#contact-tags .tag", has_text="Atacado")).to_have_count(0)
        expect(row.locator(".row-tags .tag")).to_have_count(0)
        assert boss.evaluate("window.__sameDocument") is True  # never reloaded
    finally:
        ana_context.close()
        boss_context.close()
