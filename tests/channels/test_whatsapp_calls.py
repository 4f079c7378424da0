"""WhatsApp Business calls (issue 16, part 3): the ``calls`` webhook field, signed like
Meta signs it. A connect rings (once per call id), terminate before an answer is missed."""
import pytest
from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Call, TicketEvent

from .test_whatsapp_cloud import CUSTOMER, PNID, graph, message, notification, post, whatsapp  # noqa: F401

CALL_ID = "wacid.HBgLMTIxNjcyNDA5NjAVAgARGCAyREFEMDNCNTI5ODc2QjUwNUQ2NjYwNUNFNzVBRDZFQQA="
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


def calls_webhook(event, **call):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
             "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
             "calls": [{"id": CALL_ID, "from": CUSTOMER, "to": "15550783881", "event": event,
                        "timestamp": "1749416383", "direction": "USER_INITIATED", **call}]}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "calls"}]}]}


def connect():
    return calls_webhook("connect", session={"sdp_type": "offer", "sdp": OFFER})


def test_a_connect_rings_once_and_keeps_the_offer(client, whatsapp, published):
    assert post(client, whatsapp, connect()).status_code == 200
    assert post(client, whatsapp, connect()).status_code == 200  # Meta redelivers
    call = db.session.scalars(select(Call)).one()
    assert (call.channel, call.direction, call.number, call.external_id, call.connection_id) == (
        "whatsapp", "in", CUSTOMER, CALL_ID, whatsapp.id)
    assert call.data["offer"] == {"sdp_type": "offer", "sdp": OFFER}
    assert call.ticket.contact.name == "Sheena Nelson" and call.ticket.status == "pending"
    rings = [data for name, _t, data in published if name == "call.ringing"]
    assert len(rings) == 1
    assert dict(rings[0]) == {"call_id": call.id, "ticket_id": call.ticket_id,
                              "contact": {"id": call.contact_id, "name": "Sheena Nelson"},
                              "number": CUSTOMER, "channel": "whatsapp"}


def test_terminate_before_an_answer_is_missed(client, whatsapp, published):
    post(client, whatsapp, connect())
    assert post(client, whatsapp, calls_webhook("terminate", status="Completed")).status_code == 200
    assert post(client, whatsapp, calls_webhook("terminate", status="Completed")).status_code == 200
    call = db.session.scalars(select(Call)).one()
    assert call.outcome == "missed" and call.ended_at is not None
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == call.ticket_id)
                               .order_by(TicketEvent.id)).all()
    assert "call_started" in kinds and kinds.count("call_missed") == 1
    assert [name for name, _t, _d in published].count("call.ended") == 1


def test_a_bad_signature_rings_nobody(client, whatsapp, published):
    assert post(client, whatsapp, connect(), secret="another-secret").status_code == 403
    assert db.session.scalar(select(func.count(Call.id))) == 0
    assert not [name for name, _t, _d in published if name.startswith("call.")]


ANSWER = "v=0\r\no=- 9 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n"
CALLS_PATH = f"/v21.0/{PNID}/calls"


@pytest.fixture
def meta_calls(graph):
    """Meta's ``/{phone_number_id}/calls``: records each action; connect answers a call id,
    unless the customer has not granted permission (``to`` 5511000000000)."""
    def calls(request, _match):
        body = request.json
        if body.get("action") == "connect" and body.get("to") == "5511000000000":
            return 400, {"error": {"message": "(#138006) Lack of call permission", "code": 138006,
                                   "error_data": {"details": "No approved call permission from the recipient"}}}
        if body.get("action") == "connect":
            return 200, {"messaging_product": "whatsapp", "calls": [{"id": "wacid.OUT1"}]}
        return 200, {"messaging_product": "whatsapp", "success": True}
    graph.on("POST", CALLS_PATH, calls)
    return graph


@pytest.fixture
def team(factory, whatsapp):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    whatsapp.sectors = [sales]
    db.session.commit()
    return factory.user("Ana", sectors=[sales]), factory.user("Bia", sectors=[sales]), \
        factory.user("Carla", sectors=[support])


def _actions(provider):
    return [(r.json["action"], r.json.get("call_id"), (r.json.get("session") or {}).get("sdp_type"),
             (r.json.get("session") or {}).get("sdp")) for r in provider.calls("POST", CALLS_PATH)]


def test_the_attendant_answers_and_meta_gets_pre_accept_then_accept(client, auth, whatsapp, meta_calls, team):
    ana, _bia, carla = team
    post(client, whatsapp, connect())
    call = db.session.scalars(select(Call)).one()
    auth.login(carla)  # may not see the ticket: no offer, no answer
    assert client.get(f"/calls/{call.id}/offer").status_code == 404
    assert client.post(f"/calls/{call.id}/answer", json={"sdp": ANSWER}).status_code == 404
    auth.logout()
    auth.login(ana)
    offer = client.get(f"/calls/{call.id}/offer")
    assert offer.status_code == 200 and offer.json["sdp"] == OFFER and offer.json["sdp_type"] == "offer"
    answered = client.post(f"/calls/{call.id}/answer", json={"sdp": ANSWER})
    assert answered.status_code == 200 and answered.json["outcome"] == "answered"
    assert answered.json["user_id"] == ana.id
    assert _actions(meta_calls) == [("pre_accept", CALL_ID, "answer", ANSWER), ("accept", CALL_ID, "answer", ANSWER)]
    for request in meta_calls.calls("POST", CALLS_PATH):
        assert request.headers.get("Authorization") == "Bearer EAAG-test-token"
    hung_up = client.post(f"/calls/{call.id}/terminate", json={})
    assert hung_up.status_code == 200 and hung_up.json["ended_at"]
    assert _actions(meta_calls)[-1][:2] == ("terminate", CALL_ID)


def test_the_second_attendant_gets_409(client, auth, whatsapp, meta_calls, team):
    ana, bia, _carla = team
    post(client, whatsapp, connect())
    call = db.session.scalars(select(Call)).one()
    auth.login(ana)
    assert client.post(f"/calls/{call.id}/answer", json={"sdp": ANSWER}).status_code == 200
    auth.logout()
    auth.login(bia)
    late = client.post(f"/calls/{call.id}/answer", json={"sdp": ANSWER})
    assert late.status_code == 409 and "Ana" in late.json["error"]["message"]
    assert [a[0] for a in _actions(meta_calls)] == ["pre_accept", "accept"]  # Meta heard one answer


def test_a_refusal_from_meta_fails_the_call_and_says_why(client, auth, whatsapp, meta_calls, team):
    ana = team[0]
    post(client, whatsapp, connect())
    call = db.session.scalars(select(Call)).one()
    meta_calls.fail("POST", CALLS_PATH, status=400, body={"error": {"message": "Invalid call id", "code": 100}})
    auth.login(ana)
    refused = client.post(f"/calls/{call.id}/answer", json={"sdp": ANSWER})
    assert refused.status_code == 502 and "Invalid call id" in refused.json["error"]["message"]
    db.session.expire_all()
    assert db.session.get(Call, call.id).outcome == "failed"


def test_ringing_reaches_only_who_may_see_the_ticket(client, whatsapp, team, published):
    from atendimento.realtime.envelope import Event, to_wire
    from atendimento.tickets.visibility import ticket_visible_clause
    from atendimento.models import Ticket

    post(client, whatsapp, connect())
    name, ticket_id, data = next(p for p in published if p[0] == "call.ringing")
    event = Event("1-0", (1, 0), name, ticket_id, data.ticket, None, dict(data))
    for user, rung in zip(team, (True, True, False)):
        sees = db.session.scalar(select(Ticket.id).where(Ticket.id == ticket_id, ticket_visible_clause(user)))
        assert (sees is not None) == rung
        frame = event.frame_for(user.id, lambda _probe: sees is not None)
        assert (frame is not None) == rung, user.name


def test_a_business_initiated_call_and_the_customers_answer(client, auth, whatsapp, meta_calls, team, published):
    ana = team[0]
    post(client, whatsapp, notification([message("text", {"body": "pode me ligar?"})]))
    ticket = db.session.scalars(select(Call.ticket_id)).first()
    from atendimento.models import Ticket
    ticket = db.session.scalars(select(Ticket)).one()
    auth.login(ana)
    placed = client.post("/calls/whatsapp", json={"ticket_id": ticket.id, "sdp": OFFER})
    assert placed.status_code == 201, placed.json
    assert _actions(meta_calls) == [("connect", None, "offer", OFFER)]
    assert meta_calls.calls("POST", CALLS_PATH)[0].json["to"] == CUSTOMER
    call_id = placed.json["id"]
    assert client.get(f"/calls/{call_id}/answer-sdp").json["answer"] is None
    answer = calls_webhook("connect", session={"sdp_type": "answer", "sdp": ANSWER}, direction="BUSINESS_INITIATED",
                           to=CUSTOMER, **{"from": "15550783881"})
    answer["entry"][0]["changes"][0]["value"]["calls"][0]["id"] = "wacid.OUT1"
    assert post(client, whatsapp, answer).status_code == 200
    got = client.get(f"/calls/{call_id}/answer-sdp").json
    assert got["answer"] == {"sdp_type": "answer", "sdp": ANSWER} and got["outcome"] == "answered"
    assert any(name == "call.answered" and data.get("sdp") == ANSWER for name, _t, data in published)


def test_a_contact_without_call_permission_is_told_in_plain_words(client, auth, whatsapp, meta_calls, team, factory):
    ana = team[0]
    post(client, whatsapp, notification([message("text", {"body": "oi"})]))
    from atendimento.models import Ticket
    ticket = db.session.scalars(select(Ticket)).one()
    ticket.contact.phone = "5511000000000"
    db.session.commit()
    auth.login(ana)
    refused = client.post("/calls/whatsapp", json={"ticket_id": ticket.id, "sdp": OFFER})
    assert refused.status_code == 502
    assert "No approved call permission from the recipient" in refused.json["error"]["message"]
    assert db.session.scalar(select(func.count(Call.id))) == 0


def test_a_ticket_opened_by_a_call_says_so_and_the_answer_takes_it(client, auth, whatsapp, meta_calls, team):
    from atendimento.models import Ticket

    ana, _bia, _carla = team
    post(client, whatsapp, connect())
    call = db.session.scalars(select(Call)).one()
    ticket = db.session.get(Ticket, call.ticket_id)
    assert ticket.status == "pending" and ticket.last_message == "📞 Chamada de WhatsApp"  # not a blank row
    auth.login(ana)
    assert client.post(f"/calls/{call.id}/answer", json={"sdp": ANSWER}).status_code == 200
    db.session.expire_all()
    ticket = db.session.get(Ticket, call.ticket_id)
    assert (ticket.status, ticket.user_id) == ("open", ana.id)  # whoever talks to the customer handles it
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)).all()
    assert "accepted" in kinds


def test_an_answer_leaves_a_ticket_a_teammate_already_handles(client, auth, whatsapp, meta_calls, team):
    from atendimento.models import Ticket
    from atendimento.tickets import service as tickets

    ana, bia, _carla = team
    post(client, whatsapp, connect())
    call = db.session.scalars(select(Call)).one()
    tickets.accept_ticket(bia, call.ticket_id)
    auth.login(ana)
    assert client.post(f"/calls/{call.id}/answer", json={"sdp": ANSWER}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Ticket, call.ticket_id).user_id == bia.id
