"""Admin API: sectors and users (SPEC §6)."""
from atendimento.extensions import db
from atendimento.models import Ticket, TicketEvent, User


def test_sector_create_list_patch_delete(factory, admin_api):
    admin = factory.admin()
    ana = factory.user("Ana")
    api = admin_api(admin)

    created = api.post("/sectors", json={"name": "Suporte", "color": "#1F7A5A", "greeting": "Oi!",
                                         "user_ids": [ana.id]})
    assert created.status_code == 201, created.json
    sector = created.json
    assert sector == {"id": sector["id"], "name": "Suporte", "color": "#1f7a5a", "greeting": "Oi!",
                      "position": 1, "user_ids": [ana.id]}

    second = api.post("/sectors", json={"name": "Financeiro"}).json
    assert second["position"] == 2, "a new sector takes the next number in the menu"
    assert [s["name"] for s in api.get("/sectors").json["items"]] == ["Suporte", "Financeiro"]
    assert api.get("/sectors").json["next"] is None

    patched = api.patch(f"/sectors/{sector['id']}", json={"position": 5, "user_ids": []})
    assert patched.status_code == 200
    assert patched.json["position"] == 5 and patched.json["name"] == "Suporte" and patched.json["user_ids"] == []
    assert [s["name"] for s in api.get("/sectors").json["items"]] == ["Financeiro", "Suporte"]

    assert api.delete(f"/sectors/{sector['id']}").status_code == 204
    assert api.get(f"/sectors/{sector['id']}").status_code == 404


def test_sector_validation_and_duplicates(factory, admin_api):
    api = admin_api(factory.admin())
    factory.sector("Vendas")

    response = api.post("/sectors", json={"name": " ", "color": "red", "position": -1, "user_ids": [999]})
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert set(fields) == {"name", "color", "position", "user_ids"}
    assert fields["name"] == "Obrigatório.", "messages speak Portuguese by default"

    duplicate = api.post("/sectors", json={"name": "vendas"})
    assert duplicate.status_code == 409
    assert "vendas" in duplicate.json["error"]["message"] and "name" in duplicate.json["error"]["fields"]

    assert api.post("/sectors", json=["not", "an", "object"]).status_code == 422
    assert api.patch("/sectors/999", json={"name": "X"}).status_code == 404
    assert api.patch("/sectors/abc", json={"name": "X"}).status_code == 404


def test_deleting_a_sector_with_tickets_needs_a_destination(factory, admin_api):
    admin = factory.admin()
    api = admin_api(admin)
    old, new = factory.sector("Antigo"), factory.sector("Novo")
    connection = factory.connection()
    waiting = factory.ticket(connection, sector=old)
    handled = factory.ticket(connection, sector=old, status="open", assignee=admin)
    factory.ticket(connection, sector=old, status="closed", assignee=admin)

    refused = api.delete(f"/sectors/{old.id}")
    assert refused.status_code == 409
    assert "3" in refused.json["error"]["message"] and refused.json["error"]["tickets"] == 3

    assert api.delete(f"/sectors/{old.id}?move_to={old.id}").status_code == 422
    assert api.delete(f"/sectors/{old.id}?move_to=999").status_code == 422

    assert api.delete(f"/sectors/{old.id}?move_to={new.id}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Ticket, waiting.id).sector_id == new.id
    assert db.session.get(Ticket, waiting.id).status == "pending", "a move keeps the ticket where it was"
    assert db.session.get(Ticket, handled.id).user_id == admin.id
    assert db.session.query(Ticket).filter_by(sector_id=new.id).count() == 3
    moves = db.session.query(TicketEvent).filter_by(kind="transferred").all()
    assert {m.ticket_id for m in moves} == {waiting.id, handled.id}, "active tickets show the move in their timeline"


def test_user_create_list_patch_delete(factory, admin_api, client):
    admin = factory.admin()
    support = factory.sector("Suporte")
    api = admin_api(admin)

    created = api.post("/users", json={"name": "Bia", "email": "Bia@Example.com", "password": "segredo123",
                                       "sector_ids": [support.id]})
    assert created.status_code == 201, created.json
    bia = created.json
    assert bia["email"] == "bia@example.com" and bia["profile"] == "user" and bia["sector_ids"] == [support.id]
    assert "password" not in bia and "password_hash" not in bia
    assert client.post("/api/v1/tokens", json={"email": "bia@example.com", "password": "segredo123"}).status_code == 201

    assert {u["email"] for u in api.get("/users").json["items"]} == {admin.email, "bia@example.com"}

    patched = api.patch(f"/users/{bia['id']}", json={"name": "Beatriz", "language": "en", "timezone": "Europe/Lisbon"})
    assert patched.status_code == 200
    assert (patched.json["name"], patched.json["language"], patched.json["timezone"]) == (
        "Beatriz", "en", "Europe/Lisbon")

    assert api.delete(f"/users/{bia['id']}").status_code == 204
    assert api.get(f"/users/{bia['id']}").status_code == 404


def test_admin_resets_a_password_and_old_tokens_stop(factory, admin_api, client):
    admin = factory.admin()
    ana = factory.user("Ana")
    api, ana_api = admin_api(admin), admin_api(ana)
    assert ana_api.get("/tickets").status_code == 200

    assert api.patch(f"/users/{ana.id}", json={"password": "nova-senha-1"}).status_code == 200
    assert ana_api.get("/tickets").status_code == 401
    assert client.post("/api/v1/tokens", json={"email": ana.email, "password": "nova-senha-1"}).status_code == 201
    assert client.post("/api/v1/tokens", json={"email": ana.email, "password": "secret123"}).status_code == 401


def test_user_validation_duplicates_and_last_admin(factory, admin_api):
    admin = factory.admin(email="chefe@example.com")
    taken = factory.user(email="ana@example.com")
    api = admin_api(admin)

    invalid = api.post("/users", json={"name": "", "email": "not-an-email", "password": "123",
                                       "profile": "boss", "sector_ids": "1", "timezone": "Mars/Olympus"})
    assert invalid.status_code == 422
    assert set(invalid.json["error"]["fields"]) == {"name", "email", "password", "profile", "sector_ids", "timezone"}

    duplicate = api.post("/users", json={"name": "Ana 2", "email": "ANA@example.com", "password": "segredo123"})
    assert duplicate.status_code == 409 and "email" in duplicate.json["error"]["fields"]
    assert api.patch(f"/users/{taken.id}", json={"email": "chefe@example.com"}).status_code == 409

    assert api.patch(f"/users/{admin.id}", json={"profile": "user"}).status_code == 409
    assert api.patch(f"/users/{admin.id}", json={"active": False}).status_code == 409
    assert api.delete(f"/users/{admin.id}").status_code == 409
    assert db.session.get(User, admin.id).is_admin


def test_user_handling_tickets_cannot_be_deleted(factory, admin_api):
    admin = factory.admin()
    sector = factory.sector()
    ana = factory.user("Ana", sectors=[sector])
    factory.ticket(sector=sector, status="open", assignee=ana)

    refused = admin_api(admin).delete(f"/users/{ana.id}")
    assert refused.status_code == 409 and refused.json["error"]["tickets"] == 1
    assert admin_api(admin).patch(f"/users/{ana.id}", json={"active": False}).status_code == 200


def test_non_admins_get_404_on_every_admin_route(factory, admin_api):
    sector = factory.sector()
    user = factory.user(sectors=[sector])
    api = admin_api(user)
    # Quick replies answer any user with what they may use (SPEC §6.1): tests/test_quick_replies_composer.py.
    for collection in ("sectors", "users", "connections", "tags"):
        assert api.get(f"/{collection}").status_code == 404
        assert api.post(f"/{collection}", json={"name": "x"}).status_code == 404
        assert api.patch(f"/{collection}/1", json={"name": "x"}).status_code == 404
        assert api.delete(f"/{collection}/1").status_code == 404
        assert api.get(f"/{collection}/1").status_code == 404
    assert api.delete(f"/sectors/{sector.id}").status_code == 404
    assert db.session.get(type(sector), sector.id) is not None


def test_admin_routes_need_a_token(client):
    assert client.get("/api/v1/sectors").status_code == 401
    assert client.get("/api/v1/sectors", headers={"Authorization": "Bearer nope"}).json["error"]["code"] == "unauthorized"
