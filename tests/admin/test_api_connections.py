"""Admin API: connections, their kind's settings, masked and rotated secrets."""
from atendimento.extensions import db
from atendimento.models import Connection

WHATSAPP = {
    "name": "WhatsApp Vendas", "kind": "whatsapp_cloud", "flow": "menu", "greeting": "Olá!",
    "farewell": "Até logo", "rerun_bot_on_new_ticket": False, "secret": "meta-app-secret-1234",
    "settings": {"phone_number_id": "1234567890", "access_token": "EAAG-long-access-token-9876"},
}


def test_create_reveals_once_then_masks(factory, admin_api):
    sector = factory.sector("Vendas")
    api = admin_api(factory.admin())

    created = api.post("/connections", json={**WHATSAPP, "sector_ids": [sector.id]})
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["kind"], body["flow"], body["rerun_bot_on_new_ticket"], body["sector_ids"]) == (
        "whatsapp_cloud", "menu", False, [sector.id])
    assert body["secret"] == "meta-app-secret-1234"
    assert body["settings"]["access_token"] == "EAAG-long-access-token-9876"
    assert len(body["settings"]["verify_token"]) >= 20, "a verify token is made for Meta's challenge"
    assert body["webhook_url"] == f"http://localhost/webhooks/whatsapp_cloud/{body['token']}"

    shown = api.get(f"/connections/{body['id']}").json
    assert shown["secret"] == "••••1234"
    assert shown["settings"]["access_token"] == "••••9876"
    assert shown["settings"]["verify_token"] == body["settings"]["verify_token"], "pasted into Meta: not secret"
    assert [c["id"] for c in api.get("/connections").json["items"]] == [body["id"]]


def test_patch_keeps_masked_secrets_and_changes_the_rest(factory, admin_api):
    api = admin_api(factory.admin())
    body = api.post("/connections", json=WHATSAPP).json
    shown = api.get(f"/connections/{body['id']}").json

    # A script that sends back what it read changes nothing it did not mean to.
    patched = api.patch(f"/connections/{body['id']}", json={
        "name": "WhatsApp Loja", "secret": shown["secret"], "enabled": False,
        "settings": {**shown["settings"], "phone_number_id": "999"},
    })
    assert patched.status_code == 200, patched.json
    connection = db.session.get(Connection, body["id"])
    db.session.refresh(connection)
    assert connection.secret == "meta-app-secret-1234"
    assert connection.settings["access_token"] == "EAAG-long-access-token-9876"
    assert connection.settings["phone_number_id"] == "999"
    assert (connection.name, connection.enabled) == ("WhatsApp Loja", False)

    api.patch(f"/connections/{body['id']}", json={"settings": {"access_token": "EAAG-new-token-0000"}})
    db.session.refresh(connection)
    assert connection.settings["access_token"] == "EAAG-new-token-0000"
    assert connection.settings["phone_number_id"] == "999", "keys left out stay as they were"


def test_rotate_secret_and_token(factory, admin_api):
    api = admin_api(factory.admin())
    generic = api.post("/connections", json={"name": "Gateway", "kind": "generic",
                                             "settings": {"outbound_url": "http://127.0.0.1:9/send"}}).json
    assert len(generic["secret"]) >= 32, "a generic connection gets a generated signing secret"

    rotated = api.post(f"/connections/{generic['id']}/rotate", json={"field": "secret"})
    assert rotated.status_code == 200
    assert rotated.json["secret"] != generic["secret"] and not rotated.json["secret"].startswith("••••")

    moved = api.post(f"/connections/{generic['id']}/rotate", json={"field": "token"}).json
    assert moved["token"] != generic["token"] and moved["webhook_url"].endswith(moved["token"])

    assert api.post(f"/connections/{generic['id']}/rotate", json={"field": "verify_token"}).status_code == 422
    whatsapp = api.post("/connections", json=WHATSAPP).json
    assert api.post(f"/connections/{whatsapp['id']}/rotate", json={"field": "secret"}).status_code == 422
    new_verify = api.post(f"/connections/{whatsapp['id']}/rotate", json={"field": "verify_token"}).json
    assert new_verify["settings"]["verify_token"] != whatsapp["settings"]["verify_token"]


def test_each_kind_validates_its_own_settings(factory, admin_api):
    api = admin_api(factory.admin())

    missing = api.post("/connections", json={"name": "Zap", "kind": "whatsapp_cloud", "settings": {}})
    assert missing.status_code == 422
    assert {"secret", "settings.phone_number_id", "settings.access_token"} <= set(missing.json["error"]["fields"])

    evolution = api.post("/connections", json={"name": "Evo", "kind": "evolution", "settings": {
        "base_url": "ftp://evo", "instance": "loja", "apikey": "k", "bot_token": "x"}})
    assert evolution.status_code == 422
    assert set(evolution.json["error"]["fields"]) == {"settings.base_url", "settings.bot_token"}

    telegram = api.post("/connections", json={"name": "Bot", "kind": "telegram", "flow": "menu",
                                              "settings": {"bot_token": "123:ABC-telegram-token"}})
    assert telegram.status_code == 201
    assert telegram.json["settings"] == {"bot_token": "123:ABC-telegram-token", "base_url": ""}

    bad = api.post("/connections", json={"name": "", "kind": "fax", "flow": "robot", "enabled": "yes"})
    assert bad.status_code == 422
    assert {"name", "kind", "flow", "enabled"} <= set(bad.json["error"]["fields"])

    kind_change = api.patch(f"/connections/{telegram.json['id']}", json={"kind": "generic"})
    assert kind_change.status_code == 422 and "kind" in kind_change.json["error"]["fields"]


def test_a_connection_with_tickets_is_disabled_not_deleted(factory, admin_api):
    api = admin_api(factory.admin())
    used = factory.connection("Usada")
    factory.ticket(used)
    unused = factory.connection("Nova")

    refused = api.delete(f"/connections/{used.id}")
    assert refused.status_code == 409 and refused.json["error"]["tickets"] == 1
    assert api.delete(f"/connections/{unused.id}").status_code == 204
    assert api.get(f"/connections/{unused.id}").status_code == 404
