"""An admin builds a two-level chatbot in the browser, puts it on a connection, and the
first conversation on that connection shows the bot at work."""
import re

import pytest
from playwright.sync_api import expect

from atendimento.extensions import db
from atendimento.models import BotNode, Chatbot, Connection, Ticket
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


def _add_node(page, name, message):
    page.click("#new-node")
    page.fill("#f-name", name)
    page.fill("#f-message", message)
    page.click("#node-form button[type=submit]")
    _saved(page, f"Nó {name} criado.")


def _add_option(page, node_id, title, destination_label, keyword=""):
    page.click(f"#node-{node_id} .bot-add-option")
    page.fill("#f-title", title)
    if keyword:
        page.fill("#f-keyword", keyword)
    page.select_option("#f-destination", label=destination_label)
    page.click("#option-form button[type=submit]")
    _saved(page, f"Opção {title} adicionada")


def test_admin_builds_a_two_level_chatbot_and_the_bot_answers(live_app, live_server, page):
    with live_app.app_context():
        f = Factory()
        f.admin("Carla Admin", email="carla@example.com", password="admin-senha-1")
        f.sector("Financeiro", color="#9b51e0")
        connection_id = f.connection("WhatsApp Loja", kind="generic",
                                     settings={"outbound_url": "http://127.0.0.1:9/send"}).id
    url = live_server.url
    _login(page, url, "carla@example.com", "admin-senha-1")

    page.click("text=Administração")
    page.click("#nav-chatbots")
    page.click("#new-chatbot")
    page.fill("#f-name", "Loja")
    page.click("#chatbot-form button[type=submit]")
    _saved(page, "Chatbot Loja criado.")

    # The start node, then a second level.
    _add_node(page, "Boas-vindas", "Olá! Sobre o que você quer falar?")
    _add_node(page, "Financeiro", "Certo, financeiro. Escolha:")
    with live_app.app_context():
        root, financeiro = [n.id for n in db.session.query(BotNode).order_by(BotNode.position)]
    expect(page.locator("#unreachable")).to_contain_text("Financeiro")  # nothing leads there yet

    _add_option(page, root, "Financeiro", "Nó Financeiro", keyword="boleto")
    _add_option(page, root, "Falar com alguém", "Os atendentes (sem setor)")
    _add_option(page, financeiro, "Segunda via", "Setor Financeiro")
    _add_option(page, financeiro, "Era só isso", "Encerrar a conversa")

    start = page.locator(f"#node-{root}")
    expect(start.locator(".pill-start")).to_have_text("Início")
    expect(start.locator(".bot-option").nth(0)).to_contain_text("Financeiro")
    expect(start.locator(".bot-option").nth(0)).to_contain_text("nó Financeiro")
    expect(start.locator(".bot-option").nth(1)).to_contain_text("atendentes")
    second = page.locator(f"#node-{financeiro}")
    expect(second).to_have_css("margin-left", "26px")  # one level in (data-depth="1")
    expect(second.locator(".bot-option").nth(0)).to_contain_text("setor Financeiro")
    expect(second.locator(".bot-option").nth(1)).to_contain_text("encerra")
    expect(second.locator(".bot-option.is-auto")).to_contain_text("Voltar ao início")
    expect(page.locator("#unreachable")).to_have_count(0)

    # Reorder from the keyboard: option 1 of the start moves down and becomes 2; the focus
    # stays on its arrows, so Enter again would move it back.
    start.get_by_role("button", name="Mover a opção Financeiro para baixo").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#node-{root} .bot-option").nth(0)).to_contain_text("Falar com alguém")
    expect(page.locator(f"#node-{root} .bot-option").nth(1)).to_contain_text("Financeiro")
    expect(start.get_by_role("button", name="Mover a opção Financeiro para cima")).to_be_focused()

    # The connection's conversation flow: the chatbot, waiting at most 10 minutes.
    page.goto(f"{url}/admin/connections/{connection_id}")
    page.select_option("#f-flow", "chatbot")
    page.select_option("#f-chatbot_id", label="Loja")
    page.fill("#f-bot_timeout_minutes", "10")
    page.click("#connection-form button[type=submit]")
    _saved(page, "Conexão WhatsApp Loja salva.")

    # The chatbot cannot be deleted while the connection uses it.
    page.goto(f"{url}/admin/chatbots")
    page.click("#chatbot-table >> text=Loja")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-chatbot")
    expect(page.locator(".flash-error")).to_contain_text("Loja é usado por WhatsApp Loja.")

    with live_app.app_context():
        connection = db.session.get(Connection, connection_id)
        assert (connection.flow, connection.chatbot.name, connection.bot_timeout_minutes) == ("chatbot", "Loja", 10)
        ticket_id = Factory().inbound(connection, sender="5511900000001", name="Maria Souza", text="Oi").ticket.id
        assert db.session.get(Ticket, ticket_id).bot_mode == "chatbot"
        assert db.session.query(Chatbot).count() == 1

    # The conversation waits with the bot badge; peeking shows the bot's message.
    page.goto(f"{url}/tickets?tab=pending")
    expect(page.locator(f'#ticket-list [data-ticket-id="{ticket_id}"] .bot-badge')).to_be_visible()
    page.goto(f"{url}/tickets/{ticket_id}?peek=1")
    expect(page.locator("#conv-bot-badge")).to_be_visible()
    bot_message = page.locator(".msg-bot").first
    expect(bot_message.locator(".bot-chip")).to_be_visible()
    expect(bot_message).to_contain_text("1 - Falar com alguém")
    expect(bot_message).to_contain_text("2 - Financeiro")
