"""An admin sets the product up from the browser; the attendant then sees only what
SPEC §4 allows, and switches the interface to English."""
import re

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import Connection, QuickReply, Sector, Tag, Ticket, User
from tests.factories import Factory

pytestmark = pytest.mark.browser


def _login(page, url, email, password):
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/tickets"))


def _saved(page, text):
    expect(page.locator(".flash-success")).to_contain_text(text)


def test_admin_sets_up_a_sector_attendant_connection_tag_and_quick_reply(live_app, live_server, page):
    with live_app.app_context():
        Factory().admin("Carla Admin", email="carla@example.com", password="admin-senha-1")
    url = live_server.url
    _login(page, url, "carla@example.com", "admin-senha-1")

    # Into the administration from the top bar.
    page.click("text=Administração")
    expect(page).to_have_url(re.compile(r"/admin/$"))

    # Setores: a mistake is explained in Portuguese, then the sector is saved.
    page.click("#nav-sectors")
    page.click("#new-sector")
    page.fill("#f-color", "azul")
    page.click("#sector-form button[type=submit]")
    expect(page.locator("#name-error")).to_have_text("Obrigatório.")
    expect(page.locator("#color-error")).to_have_text("Use uma cor como #2f80ed.")
    page.fill("#f-name", "Suporte")
    page.fill("#f-color", "#2f80ed")
    page.fill("#f-greeting", "Você está no Suporte.")
    page.click("#sector-form button[type=submit]")
    _saved(page, "Setor Suporte criado.")
    expect(page.locator("#sector-table")).to_contain_text("Suporte")

    # Usuários: an attendant in that sector.
    page.click("#nav-users")
    page.click("#new-user")
    page.fill("#f-name", "Ana Lima")
    page.fill("#f-email", "ana@example.com")
    page.fill("#f-password", "ana-senha-1")
    page.check("#user-form label.check:has-text('Suporte') input")
    page.click("#user-form button[type=submit]")
    _saved(page, "Usuário Ana Lima criado.")
    expect(page.locator("#user-table")).to_contain_text("ana@example.com")

    # Conexões: WhatsApp Cloud API, with its own settings; the page then shows what Meta needs.
    page.click("#nav-connections")
    page.click("#new-connection")
    page.click("#kind-whatsapp_cloud")
    page.fill("#f-name", "WhatsApp Loja")
    page.fill("#f-settings-phone_number_id", "109876543210")
    page.fill("#f-settings-access_token", "EAAG-token-de-acesso-1234")
    page.fill("#f-secret", "segredo-do-app-meta-5678")
    page.select_option("#f-flow", "menu")
    page.check("#connection-form label.check:has-text('Suporte') input")
    page.click("#connection-form button[type=submit]")
    _saved(page, "Conexão WhatsApp Loja criada.")
    with live_app.app_context():
        connection = db.session.query(Connection).one()
        token, verify = connection.token, connection.settings["verify_token"]
    expect(page.locator("#webhook-url")).to_have_text(f"{url}/webhooks/whatsapp_cloud/{token}")
    expect(page.locator("#verify-token")).to_have_text(verify)
    page.click("#nav-connections")
    page.click("text=WhatsApp Loja")
    expect(page.locator("#secret-value")).to_have_text("••••5678")
    expect(page.locator("body")).not_to_contain_text("EAAG-token-de-acesso-1234")

    # Etiquetas and Respostas rápidas.
    page.click("#nav-tags")
    page.click("#new-tag")
    page.fill("#f-name", "VIP")
    page.fill("#f-color", "#e67e22")
    page.click("#tag-form button[type=submit]")
    _saved(page, "Etiqueta VIP criada.")
    page.click("#nav-quick_replies")
    page.click("#new-quick-reply")
    page.fill("#f-shortcut", "/ola")
    page.fill("#f-text", "Olá! Como posso ajudar?")
    page.click("#quick-reply-form button[type=submit]")
    _saved(page, "Resposta rápida /ola criada.")

    with live_app.app_context():
        ana = db.session.query(User).filter_by(email="ana@example.com").one()
        suporte = db.session.query(Sector).filter_by(name="Suporte").one()
        assert [s.name for s in ana.sectors] == ["Suporte"] and not ana.is_admin
        assert connection.kind == "whatsapp_cloud"
        connection = db.session.get(Connection, connection.id)
        assert (connection.flow, [s.name for s in connection.sectors]) == ("menu", ["Suporte"])
        assert db.session.query(Tag).one().color == "#e67e22"
        assert db.session.query(QuickReply).one().user_id is None

        # Conversations arrive: one in Suporte, one in another sector, one with no sector.
        f = Factory()
        vendas = f.sector("Vendas")
        mine = f.inbound(connection, sender="5511900000001", name="Cliente do Suporte").ticket
        mine.sector_id = suporte.id
        # (another connection, straight to humans: the menu above would route a lone sector itself)
        direct = f.connection("Gateway", kind="generic", flow="human")
        other = f.inbound(direct, sender="5511900000002", name="Cliente de Vendas").ticket
        other.sector_id = vendas.id
        nowhere = f.inbound(direct, sender="5511900000003", name="Cliente sem setor").ticket
        db.session.commit()
        mine_id, other_id, nowhere_id = mine.id, other.id, nowhere.id
        assert db.session.get(Ticket, nowhere_id).sector_id is None

    # The attendant sees only the Suporte ticket and no administration.
    page.click("text=Sair")
    _login(page, url, "ana@example.com", "ana-senha-1")
    expect(page.locator(f'#ticket-list [data-ticket-id="{mine_id}"]')).to_contain_text("Cliente do Suporte")
    expect(page.locator(f'#ticket-list [data-ticket-id="{other_id}"]')).to_have_count(0)
    expect(page.locator(f'#ticket-list [data-ticket-id="{nowhere_id}"]')).to_have_count(0)
    expect(page.locator(".topnav")).not_to_contain_text("Administração")
    assert page.goto(f"{url}/tickets/{other_id}").status == 404
    assert page.goto(f"{url}/admin/").status == 404

    # Her profile: English, and the tabs change their names.
    page.goto(url + "/tickets")
    expect(page.locator("#tab-pending")).to_contain_text("Esperando")
    page.goto(url + "/profile/")
    page.select_option("#f-language", "en")
    page.click("#save-preferences")
    _saved(page, "Preferences saved.")
    page.goto(url + "/tickets")
    expect(page.locator("#tab-pending")).to_contain_text("Waiting")
    expect(page.locator("#tab-open")).to_contain_text("In progress")
    expect(page.locator("#tab-pending")).not_to_contain_text("Esperando")
    with live_app.app_context():
        assert db.session.query(User).filter_by(email="ana@example.com").one().language == "en"
        assert db.session.get(Ticket, mine_id).status == "pending"
