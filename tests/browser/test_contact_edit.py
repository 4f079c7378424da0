"""Editing a contact from the side panel in a real browser (issue 13, part 2): name,
e-mail and custom fields saved; a wrong-typed value refused with its field named."""
import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Contact, CustomField
from tests.factories import Factory

from .conftest import open_inbox

pytestmark = pytest.mark.browser


def test_contact_edit_in_the_panel(live_app, live_server, browser):
    with live_app.app_context():
        f = Factory()
        suporte = f.sector("Suporte")
        ana = f.user("Ana Lima", email="ana@example.com", sectors=[suporte])
        db.session.add_all([CustomField(key="pedidos", name="Pedidos", kind="number", position=1),
                            CustomField(key="plano", name="Plano", kind="choice", choices=["Básico", "Pro"], position=2),
                            CustomField(key="nascimento", name="Nascimento", kind="date", position=3)])
        db.session.commit()
        ticket = f.ticket(f.connection("WhatsApp Loja", sectors=[suporte]), status="open", assignee=ana,
                          sender="5511977770000")
        ticket_id, contact_id = ticket.id, ticket.contact_id
    context, page = open_inbox(browser, live_server, "ana@example.com", f"/tickets/{ticket_id}?tab=open")
    try:
        expect(page.locator(".contact-card .identity", has_text="5511977770000")).to_be_visible()
        page.locator("#contact-edit-toggle").click()
        page.locator("#contact-name").fill("Joana Prado")
        page.locator("#contact-email-input").fill("joana@loja.com")
        page.locator("#cf-pedidos").fill("muitos")
        page.locator("#cf-plano").select_option("Pro")
        page.locator("#contact-save").click()
        expect(page.locator(".flash, [role=alert]").first).to_contain_text("Pedidos")
        with live_app.app_context():
            assert db.session.get(Contact, contact_id).name != "Joana Prado"  # refused: nothing stored
        # The form is back open with what was typed, the message beside the refused field.
        expect(page.locator("#contact-form")).to_be_visible()
        expect(page.locator("#contact-name")).to_have_value("Joana Prado")
        expect(page.locator("#contact-email-input")).to_have_value("joana@loja.com")
        expect(page.locator("#cf-pedidos")).to_have_value("muitos")
        expect(page.locator("#cf-pedidos")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#cf-pedidos-error")).to_be_visible()
        expect(page.locator("#cf-plano")).to_have_value("Pro")
        expect(page.locator("#contact-name-error")).to_have_count(0)
        page.screenshot(path="/tmp/shots/g1-contact-refused.png")

        page.locator("#cf-pedidos").fill("3")
        page.locator("#cf-nascimento").fill("1990-05-17")
        page.locator("#contact-save").click()
        expect(page.locator(".contact-head h2")).to_have_text("Joana Prado")
        expect(page.locator('dd[data-field-key="plano"]')).to_have_text("Pro")
        expect(page.locator('dd[data-field-key="pedidos"]')).to_have_text("3")
        expect(page.locator("#contact-email")).to_have_text("joana@loja.com")
        with live_app.app_context():
            contact = db.session.get(Contact, contact_id)
            assert contact.custom_fields == {"pedidos": 3, "plano": "Pro", "nascimento": "1990-05-17"}
    finally:
        context.close()
