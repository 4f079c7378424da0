"""WhatsApp Business calls (issue 16, part 3): the ``calls`` webhook field, signed like
Meta signs it. A connect rings (once per call id), terminate before an answer is missed."""
from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Call, TicketEvent

from .test_whatsapp_cloud import CUSTOMER, PNID, graph, post, whatsapp  # noqa: F401  (fixtures)

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
