"""Calls (SPEC §2, §6.1 /calls): the service's steps, the API and the browser's routes."""
from datetime import timedelta

from sqlalchemy import select

from atendimento.calls import service, sip_account
from atendimento.calls.numbers import spellings
from atendimento.extensions import db
from atendimento.models import Call, Message, Ticket, TicketEvent, User
from atendimento.sealed import unseal


def _kinds(ticket):
    return [e.kind for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                               .order_by(TicketEvent.id))]


def test_api_create_answer_end_records_steps_and_duration(factory, api, client):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales, sender="5511987654321")
    created = api(ana).post("/calls", json={"channel": "sip", "direction": "out", "number": "+55 11 98765-4321"})
    assert created.status_code == 201, created.json
    call = created.json
    assert set(call) == {"id", "channel", "direction", "number", "ticket_id", "contact_id", "user_id", "outcome",
                         "started_at", "answered_at", "ended_at", "duration"}
    assert call["ticket_id"] == ticket.id and call["contact_id"] == ticket.contact_id and call["user_id"] == ana.id
    headers = api(ana).headers
    answered = client.patch(f"/api/v1/calls/{call['id']}", json={"outcome": "answered"}, headers=headers)
    assert answered.status_code == 200 and answered.json["outcome"] == "answered"
    row = db.session.get(Call, call["id"])
    row.answered_at = row.answered_at - timedelta(seconds=125)  # two minutes of talk
    db.session.commit()
    ended = client.patch(f"/api/v1/calls/{call['id']}", json={"ended": True}, headers=headers)
    assert ended.status_code == 200 and ended.json["duration"] == 125 and ended.json["outcome"] == "answered"
    again = client.patch(f"/api/v1/calls/{call['id']}", json={"ended": True}, headers=headers)
    assert again.status_code == 409
    assert _kinds(ticket)[-3:] == ["call_started", "call_answered", "call_ended"]
    listed = api(ana).get(f"/calls?ticket_id={ticket.id}")
    assert [c["id"] for c in listed.json["items"]] == [call["id"]] and listed.json["next"] is None


def test_calls_of_invisible_tickets_are_404(factory, api, client):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    ana, carla = factory.user("Ana", sectors=[sales]), factory.user("Carla", sectors=[support])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales)
    call = service.start_call(ana, {"channel": "sip", "direction": "out", "number": "1002", "ticket_id": ticket.id})
    assert api(carla).post("/calls", json={"channel": "sip", "direction": "out", "number": "1",
                                           "ticket_id": ticket.id}).status_code == 404
    assert client.patch(f"/api/v1/calls/{call.id}", json={"ended": True},
                        headers=api(carla).headers).status_code == 404
    assert api(carla).get("/calls").json["items"] == []
    assert api(carla).get(f"/calls?ticket_id={ticket.id}").status_code == 404


def test_second_answer_gets_409(factory):
    sales = factory.sector("Comercial")
    ana, bia = factory.user("Ana", sectors=[sales]), factory.user("Bia", sectors=[sales])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales)
    call = service.create_call("whatsapp", "in", "5511", ticket=ticket, contact=ticket.contact)
    service.answer_call(ana, call.id)
    try:
        service.answer_call(bia, call.id)
    except service.AlreadyAnswered as refusal:
        assert refusal.status == 409 and "Ana" in str(refusal.message)
    else:
        raise AssertionError("the second answer won too")


def test_missed_incoming_call_bumps_the_contacts_ticket(factory):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales, sender="5511987654321")
    unread = ticket.unread
    call = service.start_call(ana, {"channel": "sip", "direction": "in", "number": "sip:011987654321@pbx"})
    call = service.end_call(ana, call.id)
    assert call.outcome == "missed" and call.duration is None
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.unread == unread + 1 and "+5511987654321" in ticket.last_message
    line = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id.desc())).first()
    assert line.kind == "system" and "+5511987654321" in line.body
    assert "call_missed" in _kinds(ticket)


def test_sip_account_is_sealed_and_served_only_to_its_owner(factory, app, client, auth):
    ana = factory.user("Ana")
    sip_account.save_sip_account(ana, {"ws_url": "wss://pbx.example.com/ws", "sip_uri": "sip:1001@pbx.example.com",
                                       "password": "s3cret-sip"})
    raw = db.session.scalar(select(User.sip_account).where(User.id == ana.id))
    assert "s3cret-sip" not in str(raw)
    assert unseal(raw["password"], sip_account.PURPOSE) == "s3cret-sip"
    assert unseal(raw["password"], sip_account.PURPOSE, secret_key="another key") is None
    auth.login(ana)
    config = client.get("/softphone/config")
    assert config.status_code == 200 and config.headers["Cache-Control"] == "no-store"
    assert config.json == {"ws_url": "wss://pbx.example.com/ws", "sip_uri": "sip:1001@pbx.example.com",
                           "authorization_user": "1001", "password": "s3cret-sip", "display_name": "Ana",
                           "line": None}


def test_number_spellings_cover_the_ninth_digit():
    assert "5511987654321" in spellings("(11) 98765-4321")
    assert "551187654321" in spellings("+55 11 98765-4321")
    assert spellings("1002") == []


def test_profile_sip_form_keeps_blank_password_refuses_bad_values_and_removes(factory, client, auth):
    ana = factory.user("Ana")
    auth.login(ana)
    page = client.get("/profile/")
    assert page.status_code == 200 and b'name="ws_url"' in page.data
    saved = client.post("/profile/sip", data={"ws_url": "ws://127.0.0.1:8080/ws", "sip_uri": "sip:1001@127.0.0.1",
                                               "password": "first-pass"})
    assert saved.status_code == 302
    kept = client.post("/profile/sip", data={"ws_url": "ws://127.0.0.1:8080/ws", "sip_uri": "sip:1002@127.0.0.1",
                                              "password": ""})
    assert kept.status_code == 302
    assert client.get("/softphone/config").json["password"] == "first-pass"
    assert b"first-pass" not in client.get("/profile/").data
    refused = client.post("/profile/sip", data={"ws_url": "ws://pbx.example.com/ws", "sip_uri": "1003",
                                                 "display_name": "Ana Ramal"})
    assert refused.status_code == 422
    assert "wss://" in refused.get_data(as_text=True) and "Ana Ramal" in refused.get_data(as_text=True)
    assert client.get("/softphone/config").json["sip_uri"] == "sip:1002@127.0.0.1"  # nothing lost
    assert client.post("/profile/sip/remove").status_code == 302
    assert client.get("/softphone/config").status_code == 404


def test_softphone_config_is_nobody_elses(factory, client, auth):
    ana, admin = factory.user("Ana"), factory.admin()
    sip_account.save_sip_account(ana, {"ws_url": "wss://pbx.example.com/ws", "sip_uri": "sip:1001@pbx.example.com",
                                       "password": "s3cret-sip"})
    auth.login(admin)
    assert client.get("/softphone/config").status_code == 404


def test_timeline_shows_call_steps(factory, client, auth):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales, sender="5511987654321")
    call = service.start_call(ana, {"channel": "sip", "direction": "out", "number": "5511987654321",
                                    "ticket_id": ticket.id})
    service.answer_call(ana, call.id)
    row = db.session.get(Call, call.id)
    row.answered_at = row.answered_at - timedelta(seconds=125)
    db.session.commit()
    service.end_call(ana, call.id)
    auth.login(ana)
    page = client.get(f"/tickets/{ticket.id}?peek=1").get_data(as_text=True)
    assert "event-call_started" in page and "event-call_answered" in page and "(2:05)" in page
    # Ana placed it; who answered was the contact, not Ana.
    assert "Chamada atendida pelo contato" in page and "Chamada atendida por Ana" not in page


def test_caller_lookup_follows_visibility(factory, client, auth):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    ana, carla = factory.user("Ana", sectors=[sales]), factory.user("Carla", sectors=[support])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales, sender="5511987654321")
    auth.login(ana)
    found = client.get("/calls/caller?number=%2B5511987654321").json
    assert found["contact"]["id"] == ticket.contact_id and found["ticket"]["id"] == ticket.id
    assert client.get("/calls/caller?number=5599999999999").json == {"contact": None, "ticket": None}
    auth.logout()
    auth.login(carla)
    assert client.get("/calls/caller?number=5511987654321").json == {"contact": None, "ticket": None}


def test_admin_sets_and_removes_a_users_sip_account(factory, client, auth):
    ana, admin = factory.user("Ana"), factory.admin()
    auth.login(admin)
    form = client.get(f"/admin/users/{ana.id}")
    assert form.status_code == 200 and b'id="sip-form"' in form.data
    refused = client.post(f"/admin/users/{ana.id}/sip", data={"ws_url": "wss://pbx.example.com/ws",
                                                             "sip_uri": "sip:1001@pbx.example.com"})
    assert refused.status_code == 422  # a first account needs its password
    saved = client.post(f"/admin/users/{ana.id}/sip", data={"ws_url": "wss://pbx.example.com/ws",
                                                           "sip_uri": "sip:1001@pbx.example.com",
                                                           "password": "ramal-1001"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert sip_account.softphone_config(db.session.get(User, ana.id))["password"] == "ramal-1001"
    assert b"ramal-1001" not in client.get(f"/admin/users/{ana.id}").data
    assert client.post(f"/admin/users/{ana.id}/sip", data={"remove": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, ana.id).sip_account is None


def test_missed_call_on_a_contact_without_active_ticket_opens_one_live(factory, app):
    from atendimento import events

    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    old = factory.ticket(factory.connection(sectors=[sales]), sector=sales, sender="5511987654321")
    old.status = "closed"
    db.session.commit()
    seen = []

    def listen(_sender, name, ticket_id, data):
        seen.append((name, ticket_id))

    events.domain_event.connect(listen)
    try:
        call = service.start_call(ana, {"channel": "sip", "direction": "in", "number": "11987654321"})
        service.step_call(ana, call.id, {"ended": True})
    finally:
        events.domain_event.disconnect(listen)
    fresh = db.session.scalar(select(Ticket).where(Ticket.contact_id == old.contact_id, Ticket.status == "pending"))
    assert fresh is not None and fresh.id != old.id and fresh.unread == 1
    assert ("ticket.created", fresh.id) in seen and ("message.created", fresh.id) in seen
    assert db.session.get(Call, call.id).outcome == "missed"
