"""SPEC §4 matrix: admin / user of sector A / user of sector B × ticket in A, in B,
with no sector, assigned to the user — for lists, get, messages, contacts and actions."""
import pytest

from atendimento.extensions import db


@pytest.fixture
def world(factory):
    a, b = factory.sector("A"), factory.sector("B")
    users = {"admin": factory.admin(), "user_a": factory.user("Ana", sectors=[a]),
             "user_b": factory.user("Beto", sectors=[b])}
    conn = factory.connection()
    tickets = {
        "in_a": factory.ticket(conn, sector=a),
        "in_b": factory.ticket(conn, sector=b),
        "no_sector": factory.ticket(conn),
    }
    for key in ("user_a", "user_b"):  # no sector, but assigned to that user
        ticket = factory.ticket(conn)
        ticket.status, ticket.user_id = "open", users[key].id
        db.session.commit()
        tickets[f"assigned_{key}"] = ticket
    return users, tickets


EXPECTED = {
    "admin": {"in_a", "in_b", "no_sector", "assigned_user_a", "assigned_user_b"},
    "user_a": {"in_a", "assigned_user_a"},
    "user_b": {"in_b", "assigned_user_b"},
}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_api_reads_follow_visibility(world, api, viewer):
    users, tickets = world
    client = api(users[viewer])
    listed = {item["id"] for item in client.get("/tickets").json["items"]}
    assert listed == {tickets[k].id for k in EXPECTED[viewer]}
    for key, ticket in tickets.items():
        visible = key in EXPECTED[viewer]
        expected = 200 if visible else 404
        assert client.get(f"/tickets/{ticket.id}").status_code == expected, key
        assert client.get(f"/tickets/{ticket.id}/messages").status_code == expected, key
        assert client.get(f"/contacts/{ticket.contact_id}").status_code == expected, key
        if not visible:
            body = client.get(f"/tickets/{ticket.id}").json
            assert body == {"error": {"code": "not_found", "message": body["error"]["message"]}}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_api_actions_on_invisible_tickets_answer_404_and_change_nothing(world, api, viewer):
    users, tickets = world
    client = api(users[viewer])
    for key, ticket in tickets.items():
        if key in EXPECTED[viewer]:
            continue
        before = (ticket.status, ticket.user_id, ticket.sector_id)
        for action in ("accept", "close", "reopen"):
            assert client.post(f"/tickets/{ticket.id}/{action}").status_code == 404, (key, action)
        assert client.post(f"/tickets/{ticket.id}/transfer", json={"user_id": users[viewer].id}).status_code == 404
        assert client.post(f"/tickets/{ticket.id}/messages", json={"text": "oi"}).status_code == 404
        db.session.refresh(ticket)
        assert (ticket.status, ticket.user_id, ticket.sector_id) == before


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_api_actions_on_visible_pending_tickets_work(world, api, viewer):
    users, tickets = world
    client = api(users[viewer])
    pending = [k for k in EXPECTED[viewer] if tickets[k].status == "pending"]
    for key in pending:
        response = client.post(f"/tickets/{tickets[key].id}/accept")
        assert response.status_code == 200, key
        assert response.json["user_id"] == users[viewer].id


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_pages_follow_visibility(world, client, auth, viewer):
    users, tickets = world
    auth.login(users[viewer])
    for key, ticket in tickets.items():
        expected = 200 if key in EXPECTED[viewer] else 404
        assert client.get(f"/tickets/{ticket.id}?peek=1").status_code == expected, key
        if expected == 404:
            for action in ("accept", "close", "reopen", "transfer", "messages", "tags"):
                assert client.post(f"/tickets/{ticket.id}/{action}", data={"text": "x"}).status_code == 404, action
    page = client.get("/tickets?tab=pending").get_data(as_text=True)
    for key, ticket in tickets.items():
        if ticket.status == "pending":
            assert (f"/tickets/{ticket.id}" in page) == (key in EXPECTED[viewer]), key


def test_media_of_an_invisible_ticket_answers_404(world, client, auth, app):
    import os

    users, tickets = world
    ticket = tickets["in_b"]
    from atendimento.models import Message
    from sqlalchemy import select

    message = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id)).first()
    os.makedirs(app.config["MEDIA_DIR"], exist_ok=True)
    with open(os.path.join(app.config["MEDIA_DIR"], "foto.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0fakejpeg")
    message.media_path, message.media_mime, message.kind = "foto.jpg", "image/jpeg", "image"
    db.session.commit()
    auth.login(users["user_a"])
    assert client.get(f"/media/{message.id}").status_code == 404
    auth.logout()
    auth.login(users["user_b"])
    response = client.get(f"/media/{message.id}")
    assert response.status_code == 200 and response.data.startswith(b"\xff\xd8")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_inactive_user_sees_nothing(world, factory):
    from atendimento.tickets.visibility import visible_tickets

    users, _tickets = world
    users["user_a"].active = False
    db.session.commit()
    assert db.session.scalars(visible_tickets(users["user_a"])).all() == []
