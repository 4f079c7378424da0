"""A connection's team SIP line (issue 16, "optional per-connection default"): the softphone of
a user of its sectors without an account of their own registers with it; every teammate's
phone rings and one record per call is decided by the database."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from atendimento.calls import service, sip_account
from atendimento.errors import NotFound
from atendimento.extensions import db
from atendimento.models import Call, Connection, Message
from atendimento.sealed import unseal

LINE = {"ws_url": "wss://pbx.example.com:8089/ws", "sip_uri": "sip:2000@pbx.example.com", "password": "linha-2000"}


@pytest.fixture
def shop(factory):
    """Bruno and Carla sell (no SIP account of their own); Davi is in Suporte; Ana sells with her
    own extension. Loja serves Vendas and has the team line."""
    vendas, suporte = factory.sector("Vendas"), factory.sector("Suporte")
    loja = factory.connection("Loja", sectors=[vendas])
    sip_account.save_team_line(loja, LINE)
    people = {name: factory.user(name, sectors=[sector]) for name, sector in
              (("Bruno", vendas), ("Carla", vendas), ("Davi", suporte), ("Ana", vendas))}
    sip_account.save_sip_account(people["Ana"], {"ws_url": "wss://other.example.com/ws",
                                                 "sip_uri": "sip:1001@other.example.com", "password": "ana"})
    return loja, people


def test_the_line_is_sealed_and_served_to_the_sectors_users_without_their_own(shop, factory):
    loja, people = shop
    raw = db.session.scalar(select(Connection.sip_line).where(Connection.id == loja.id))
    assert "linha-2000" not in str(raw) and unseal(raw["password"], sip_account.PURPOSE) == "linha-2000"
    config = sip_account.softphone_config(people["Bruno"])
    assert config == {"ws_url": LINE["ws_url"], "sip_uri": LINE["sip_uri"], "authorization_user": "2000",
                      "password": "linha-2000", "display_name": "Bruno",
                      "line": {"connection_id": loja.id, "name": "Loja"}}
    assert sip_account.softphone_config(people["Ana"])["sip_uri"] == "sip:1001@other.example.com"  # her own wins
    assert sip_account.line_for(people["Davi"]) is None  # Loja does not serve Suporte
    assert sip_account.line_for(factory.admin()).connection.id == loja.id
    loja.enabled = False
    db.session.commit()
    assert sip_account.line_for(factory.user("Eva", sectors=people["Bruno"].sectors)) is None


def test_pages_mount_the_softphone_and_open_connect_src_to_the_line(shop, client, auth):
    loja, people = shop
    auth.login(people["Carla"])
    response = client.get("/tickets")
    assert 'id="softphone"' in response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    assert "connect-src 'self' wss://pbx.example.com:8089;" in policy
    assert client.get("/softphone/config").json["line"] == {"connection_id": loja.id, "name": "Loja"}
    profile = client.get("/profile/").get_data(as_text=True)
    assert 'id="team-line-note"' in profile and "sip:2000@pbx.example.com" in profile
    assert 'value="wss://pbx.example.com:8089/ws"' in profile  # her own account's form starts from the line's server
    assert 'id="remove-sip"' not in profile  # there is no account of her own to remove
    # A static file is no document: no socket in its policy, and no query for the line.
    assert "wss://" not in client.get("/static/css/app.css").headers["Content-Security-Policy"]
    client.post("/logout")
    auth.login(people["Davi"])
    assert "wss://" not in client.get("/tickets").headers["Content-Security-Policy"]
    assert client.get("/softphone/config").status_code == 404


def test_admin_saves_refuses_and_removes_the_line(shop, factory, client, auth):
    loja, _people = shop
    auth.login(factory.admin())
    page = client.get(f"/admin/connections/{loja.id}").get_data(as_text=True)
    assert 'id="sip-line"' in page and "sip:2000@pbx.example.com" in page and "linha-2000" not in page
    refused = client.post(f"/admin/connections/{loja.id}/sip-line",
                          data={"ws_url": "http://pbx.example.com/ws", "sip_uri": "sip:2001@pbx.example.com"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "sip:2001@pbx.example.com" in body and "http://pbx.example.com/ws" in body  # what was typed stays
    db.session.expire_all()
    assert db.session.get(Connection, loja.id).sip_line["sip_uri"] == "sip:2000@pbx.example.com"  # nothing lost
    kept = client.post(f"/admin/connections/{loja.id}/sip-line",
                       data={"ws_url": LINE["ws_url"], "sip_uri": "sip:2001@pbx.example.com", "password": ""})
    assert kept.status_code == 302
    db.session.expire_all()
    line = db.session.get(Connection, loja.id).sip_line
    assert line["sip_uri"] == "sip:2001@pbx.example.com" and unseal(line["password"], sip_account.PURPOSE) == "linha-2000"
    assert client.post(f"/admin/connections/{loja.id}/sip-line", data={"remove": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Connection, loja.id).sip_line is None


def _ring(user, sip_call_id="a84b4c76e66710@pc33", number="5511988887777"):
    return service.start_call(user, {"channel": "sip", "direction": "in", "number": number,
                                     "sip_call_id": sip_call_id})


def test_every_phone_that_rings_reports_one_call_and_the_first_answer_takes_it(shop, factory):
    loja, people = shop
    bruno, carla, davi = people["Bruno"], people["Carla"], people["Davi"]
    first, second = _ring(bruno), _ring(carla)
    assert first.id == second.id and first.user_id is None and first.connection_id == loja.id
    assert service.get_visible_call(carla, first.id).id == first.id  # the team's, like a ticket of its sector
    with pytest.raises(NotFound):
        service.get_visible_call(davi, first.id)  # not a user of Loja's sectors
    service.answer_call(bruno, first.id)
    with pytest.raises(service.AlreadyAnswered) as lost:
        service.answer_call(carla, first.id)
    assert "Bruno" in str(lost.value.message)
    with pytest.raises(NotFound):
        service.get_visible_call(davi, first.id)
    ended = service.end_call(bruno, first.id)
    assert ended.outcome == "answered" and db.session.scalar(select(func.count()).select_from(Call)) == 1
    # Another call is another record; a user with their own account keeps their own records.
    assert _ring(carla, "other-call").id != first.id
    own = _ring(people["Ana"], "a84b4c76e66710@pc33")
    assert own.connection_id is None and own.user_id == people["Ana"].id


def test_a_team_call_nobody_answers_is_one_missed_line(shop, factory):
    loja, people = shop
    contact = factory.inbound(loja, sender="5511988887777", text="Oi").ticket.contact
    call = _ring(people["Bruno"], "missed-1")
    assert _ring(people["Carla"], "missed-1").id == call.id and call.contact_id == contact.id
    service.end_call(people["Bruno"], call.id, "missed")
    with pytest.raises(service.CallEnded):
        service.end_call(people["Carla"], call.id, "missed")  # her phone saw the same CANCEL
    lines = db.session.scalars(select(Message).where(Message.kind == "system", Message.body.contains("88887777")))
    assert len(list(lines)) == 1
