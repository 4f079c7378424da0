"""A connection's first-contact settings: which chatbot answers, how many invalid answers
and how long a wait before the attendants take over. Page and API refuse the same things."""
import re

from atendimento.admin import chatbots
from atendimento.extensions import db
from atendimento.models import Connection

GENERIC = {"name": "Gateway", "kind": "generic", "settings": {"outbound_url": "http://127.0.0.1:9/send"}}


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _bot(admin, name="Loja"):
    bot = chatbots.create_chatbot(admin, {"name": name})
    chatbots.create_node(admin, bot.id, {"name": "Menu", "message": "Olá!"})
    return bot


def test_api_create_defaults_and_the_chatbot_flow_needs_a_chatbot(factory, admin_api):
    admin = factory.admin()
    api = admin_api(admin)

    plain = api.post("/connections", json=GENERIC)
    assert plain.status_code == 201, plain.json
    assert (plain.json["chatbot_id"], plain.json["bot_max_invalid"], plain.json["bot_timeout_minutes"]) == (
        None, 3, 30)

    missing = api.post("/connections", json={**GENERIC, "name": "Bot", "flow": "chatbot"})
    assert missing.status_code == 422
    assert missing.json["error"]["fields"]["chatbot_id"] == "Escolha o chatbot que atende as novas conversas."

    bot = _bot(admin)
    created = api.post("/connections", json={**GENERIC, "name": "Bot", "flow": "chatbot", "chatbot_id": bot.id,
                                             "bot_max_invalid": 5, "bot_timeout_minutes": 0})
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["flow"], body["chatbot_id"], body["bot_max_invalid"], body["bot_timeout_minutes"]) == (
        "chatbot", bot.id, 5, 0)
    connection = db.session.get(Connection, body["id"])
    assert (connection.chatbot_id, connection.bot_max_invalid, connection.bot_timeout_minutes) == (bot.id, 5, 0)
    assert api.get(f"/connections/{body['id']}").json["chatbot_id"] == bot.id


def test_api_patch_refuses_bad_values_with_422(factory, admin_api):
    admin = factory.admin()
    api = admin_api(admin)
    bot = _bot(admin)
    connection_id = api.post("/connections", json=GENERIC).json["id"]

    for field, value in [("bot_max_invalid", 0), ("bot_max_invalid", 11), ("bot_max_invalid", "três"),
                         ("bot_timeout_minutes", -1), ("bot_timeout_minutes", 1441), ("bot_timeout_minutes", True),
                         ("chatbot_id", 999), ("chatbot_id", "abc"), ("chatbot_id", 0)]:
        response = api.patch(f"/connections/{connection_id}", json={field: value})
        assert response.status_code == 422, (field, value, response.json)
        assert field in response.json["error"]["fields"], (field, value)

    # Switching to the chatbot flow needs one, given now or already saved.
    assert api.patch(f"/connections/{connection_id}", json={"flow": "chatbot"}).status_code == 422
    ok = api.patch(f"/connections/{connection_id}", json={"chatbot_id": bot.id, "bot_timeout_minutes": 1440})
    assert ok.status_code == 200 and ok.json["chatbot_id"] == bot.id
    assert api.patch(f"/connections/{connection_id}", json={"flow": "chatbot"}).status_code == 200
    cleared = api.patch(f"/connections/{connection_id}", json={"chatbot_id": None})
    assert cleared.status_code == 422, "the chatbot flow cannot lose its chatbot"
    both = api.patch(f"/connections/{connection_id}", json={"flow": "menu", "chatbot_id": None})
    assert both.status_code == 200 and both.json["chatbot_id"] is None
    connection = db.session.get(Connection, connection_id)
    db.session.refresh(connection)
    assert (connection.flow, connection.chatbot_id, connection.bot_timeout_minutes) == ("menu", None, 1440)


def test_connection_form_explains_the_flows_and_saves_the_bot_settings(factory, client, auth):
    admin = factory.admin()
    bot = _bot(admin, "Atendimento Loja")
    connection = factory.connection("Gateway", settings={"outbound_url": "http://127.0.0.1:9/send"})
    auth.login(admin)

    page = _text(client.get(f"/admin/connections/{connection.id}"))
    assert "Direto para os atendentes" in page and "Menu de setores" in page and "Chatbot" in page
    assert "A conversa espera em Esperando por um atendente" in page
    assert f'<option value="{bot.id}">Atendimento Loja</option>' in page
    assert 'name="bot_max_invalid"' in page and 'value="3"' in page
    assert 'name="bot_timeout_minutes"' in page and 'value="30"' in page

    form = {"name": "Gateway", "flow": "chatbot", "settings.outbound_url": "http://127.0.0.1:9/send",
            "enabled": "1", "bot_max_invalid": "0", "bot_timeout_minutes": "2000"}
    refused = client.post(f"/admin/connections/{connection.id}", data=form)
    assert refused.status_code == 422
    html = _text(refused)
    assert "Escolha o chatbot que atende as novas conversas." in html
    assert html.count("Deve estar entre") == 2

    saved = client.post(f"/admin/connections/{connection.id}", data={
        **form, "chatbot_id": str(bot.id), "bot_max_invalid": "2", "bot_timeout_minutes": "0"},
        follow_redirects=True)
    assert "Conexão Gateway salva." in _text(saved)
    db.session.refresh(connection)
    assert (connection.flow, connection.chatbot_id, connection.bot_max_invalid,
            connection.bot_timeout_minutes) == ("chatbot", bot.id, 2, 0)
    assert f'<option value="{bot.id}" selected>Atendimento Loja</option>' in _text(saved)
    listing = _text(client.get("/admin/connections"))
    assert "Chatbot: " in listing and "Atendimento Loja</a>" in listing
