"""JSON API (SPEC §6): tokens, tickets, messages, contacts, and the errors it answers."""
import pytest

from atendimento.extensions import db
from atendimento.models import ApiToken, Message, Ticket


@pytest.fixture
def world(factory):
    sales = factory.sector("Comercial")
    support = factory.sector("Suporte")
    ana = factory.user("Ana", sectors=[sales], email="ana@loja.com")
    carla = factory.user("Carla", sectors=[support])
    admin = factory.admin()
    conn = factory.connection("WhatsApp", sectors=[sales, support])
    return dict(sales=sales, support=support, ana=ana, carla=carla, admin=admin, conn=conn)


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


def test_token_issue_use_and_revoke(client, world):
    response = client.post("/api/v1/tokens", json={"email": "ana@loja.com", "password": "secret123"})
    assert response.status_code == 201
    raw = response.json["token"]
    assert db.session.query(ApiToken).one().token_hash != raw  # stored hashed
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    token_id = response.json["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    revoked = client.get("/api/v1/tickets", headers=headers)
    assert revoked.status_code == 401 and error_of(revoked)["code"] == "unauthorized"


def test_token_refused_for_wrong_password_or_inactive_user(client, world, factory):
    assert client.post("/api/v1/tokens", json={"email": "ana@loja.com", "password": "nope"}).status_code == 401
    factory.user("Ex", email="ex@loja.com", active=False)
    assert client.post("/api/v1/tokens", json={"email": "ex@loja.com", "password": "secret123"}).status_code == 401
    malformed = client.post("/api/v1/tokens", data="not json", content_type="application/json")
    assert malformed.status_code == 422 and error_of(malformed)["code"] == "invalid"


def test_token_of_a_deactivated_user_stops_working(world, api):
    client = api(world["ana"])
    assert client.get("/tickets").status_code == 200
    world["ana"].active = False
    db.session.commit()
    assert client.get("/tickets").status_code == 401


def test_no_or_bad_bearer_is_401(client, world):
    assert client.get("/api/v1/tickets").status_code == 401
    assert client.get("/api/v1/tickets", headers={"Authorization": "Bearer atd_wrong"}).status_code == 401
    assert client.get("/api/v1/tickets", headers={"Authorization": "Basic abc"}).status_code == 401


def test_full_ticket_flow(world, factory, api):
    ticket = factory.ticket(world["conn"], sector=world["sales"], text="Quero um orçamento")
    client = api(world["ana"])
    got = client.get(f"/tickets/{ticket.id}").json
    assert got["status"] == "pending" and got["contact"]["name"] == "Cliente" and got["unread"] == 1
    assert set(got) >= {"id", "status", "contact", "connection_id", "sector_id", "user_id", "unread",
                        "last_message", "created_at", "updated_at"}
    assert client.post(f"/tickets/{ticket.id}/accept").json["status"] == "open"
    sent = client.post(f"/tickets/{ticket.id}/messages", json={"text": "Claro! Qual produto?"})
    assert sent.status_code == 201
    assert {k: sent.json[k] for k in ("direction", "status", "body", "author_id")} == {
        "direction": "out", "status": "queued", "body": "Claro! Qual produto?", "author_id": world["ana"].id}
    messages = client.get(f"/tickets/{ticket.id}/messages").json["items"]
    assert [m["body"] for m in messages] == ["Quero um orçamento", "Claro! Qual produto?"]
    assert set(messages[0]) >= {"id", "ticket_id", "direction", "kind", "body", "status", "external_id",
                                "media_url", "author_id", "created_at"}
    moved = client.post(f"/tickets/{ticket.id}/transfer", json={"sector_id": world["support"].id}).json
    assert (moved["status"], moved["sector_id"], moved["user_id"]) == ("pending", world["support"].id, None)
    admin = api(world["admin"])
    assert admin.post(f"/tickets/{ticket.id}/close").json["status"] == "closed"
    assert admin.post(f"/tickets/{ticket.id}/reopen").json["user_id"] == world["admin"].id


def test_filters_status_sector_q(world, factory, api):
    a = factory.ticket(world["conn"], sector=world["sales"], sender="5511911110000")
    a.contact.name = "Joana Prado"
    b = factory.ticket(world["conn"], sector=world["support"], sender="5521922220000")
    c = factory.ticket(world["conn"], sector=world["sales"], status="closed", sender="5531933330000")
    db.session.commit()
    client = api(world["admin"])

    def ids(query):
        return {t["id"] for t in client.get("/tickets" + query).json["items"]}

    assert ids("") == {a.id, b.id, c.id}
    assert ids("?status=pending") == {a.id, b.id}
    assert ids("?status=closed") == {c.id}
    assert ids(f"?sector={world['support'].id}") == {b.id}
    assert ids("?q=joana") == {a.id}
    assert ids("?q=552192") == {b.id}
    vip = factory.tag("vip")
    assert client.post(f"/contacts/{b.contact_id}/tags", json={"tag_ids": [vip.id]}).json["tags"][0]["name"] == "vip"
    assert ids(f"?tag={vip.id}") == {b.id}


def test_contact_get(world, factory, api):
    ticket = factory.ticket(world["conn"], sector=world["sales"])
    body = api(world["ana"]).get(f"/contacts/{ticket.contact_id}").json
    assert body["id"] == ticket.contact_id and body["phone"] == ticket.contact.phone


@pytest.mark.parametrize("path", ["/tickets/999999", "/tickets/abc", "/tickets/999999/messages",
                                  "/contacts/999999"])
def test_unknown_ids_are_404(world, api, path):
    response = api(world["admin"]).get(path)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_wrong_transitions_are_409_and_change_nothing(world, factory, api):
    ticket = factory.ticket(world["conn"], sector=world["sales"])
    client = api(world["ana"])
    reopen = client.post(f"/tickets/{ticket.id}/reopen")
    assert reopen.status_code == 409 and error_of(reopen)["code"] == "invalid_transition"
    client.post(f"/tickets/{ticket.id}/accept")
    again = api(world["admin"]).post(f"/tickets/{ticket.id}/accept")
    assert again.status_code == 409 and "Ana" in error_of(again)["message"]
    db.session.refresh(ticket)
    assert (ticket.status, ticket.user_id) == ("open", world["ana"].id)


def test_transfer_to_user_without_access_is_422(world, factory, api):
    ticket = factory.ticket(world["conn"], sector=world["sales"], status="open", assignee=world["ana"])
    loner = factory.user("Sem setor")
    for body in ({"user_id": loner.id}, {"user_id": 999999}, {"sector_id": "x"}, {}, {"sector_id": 1, "user_id": 1}):
        response = api(world["ana"]).post(f"/tickets/{ticket.id}/transfer", json=body)
        assert response.status_code == 422, body
        assert error_of(response)["code"] == "invalid"
    db.session.refresh(ticket)
    assert (ticket.status, ticket.user_id, ticket.sector_id) == ("open", world["ana"].id, world["sales"].id)


def test_empty_or_malformed_message_is_refused(world, factory, api):
    ticket = factory.ticket(world["conn"], sector=world["sales"], status="open", assignee=world["ana"])
    client = api(world["ana"])
    for body in ({"text": ""}, {"text": "   "}, {}, {"text": 42}):
        response = client.post(f"/tickets/{ticket.id}/messages", json=body)
        assert response.status_code == 422, body
        assert "fields" in error_of(response)
    not_json = client.post(f"/tickets/{ticket.id}/messages", data="oi", content_type="text/plain")
    assert not_json.status_code == 422
    assert db.session.query(Message).filter_by(direction="out").count() == 0


def test_sending_on_someone_elses_ticket_is_403(world, factory, api):
    bruno = factory.user("Bruno", sectors=[world["sales"]])
    ticket = factory.ticket(world["conn"], sector=world["sales"], status="open", assignee=world["ana"])
    response = api(bruno).post(f"/tickets/{ticket.id}/messages", json={"text": "oi"})
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"


def test_bad_filters_are_422(world, api):
    client = api(world["admin"])
    for query in ("?status=done", "?sector=abc", "?page=@@@", "?limit=x"):
        response = client.get("/tickets" + query)
        assert response.status_code == 422, query


def test_oversized_body_is_413(world, factory, api, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    ticket = factory.ticket(world["conn"], sector=world["sales"], status="open", assignee=world["ana"])
    response = api(world["ana"]).post(f"/tickets/{ticket.id}/messages", json={"text": "x" * 5000})
    assert response.status_code == 413 and error_of(response)["code"] == "too_large"
    assert db.session.get(Ticket, ticket.id).last_message == "Olá"


def test_messages_page_back_in_time(world, factory, api):
    ticket = factory.ticket(world["conn"], sector=world["sales"], sender="5511955550000", text="m0")
    for i in range(1, 7):
        factory.inbound(world["conn"], sender="5511955550000", text=f"m{i}")
    client = api(world["ana"])
    first = client.get(f"/tickets/{ticket.id}/messages?limit=4").json
    assert [m["body"] for m in first["items"]] == ["m3", "m4", "m5", "m6"]
    second = client.get(f"/tickets/{ticket.id}/messages?limit=4&page={first['next']}").json
    assert [m["body"] for m in second["items"]] == ["m0", "m1", "m2"] and second["next"] is None
