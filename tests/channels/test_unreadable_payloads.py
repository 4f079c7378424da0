"""A correctly signed body never gets 500 (SPEC §8): each wrong-typed body of issue 14
part 1, over-long values, NUL and lone surrogates, deep nesting. The readable items
are stored, the unreadable ones counted; 400 when none could be read; nothing half-stored."""
import json

import pytest
from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Contact, ContactIdentity, Message, Ticket

from .helpers import message_count, only_message, post_webhook
from .provider_samples import (EVO_APIKEY, EVO_CUSTOMER, WA_CUSTOMER, evo_event, evo_upsert, tg_headers, tg_update,
                               wa_notification, wa_text)
from .webhooks import evolution, send_evo, send_tg, send_wa, telegram, whatsapp  # noqa: F401  (fixtures)


def nothing_stored():
    assert message_count() == 0
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(Contact.id))) == 0


def _wa_bad_change():
    body = wa_notification([wa_text("oi")])
    body["entry"][0]["changes"] = "not a list"
    return body


def _wa_bad_profile():
    return wa_notification([wa_text("oi")], contacts=[{"profile": "Sheena", "wa_id": WA_CUSTOMER}])


WRONG_TYPED_WA = {
    "changes as a string": _wa_bad_change,
    "contacts[].profile as a string": _wa_bad_profile,
    "a card whose name is a string": lambda: wa_notification([{
        "from": WA_CUSTOMER, "id": "wamid.card1", "timestamp": "1749416383", "type": "contacts",
        "contacts": [{"name": "Ana", "phones": [{"phone": "+55 11 9999-0000"}]}]}]),
    "a card whose phone entry is a string": lambda: wa_notification([{
        "from": WA_CUSTOMER, "id": "wamid.card2", "timestamp": "1749416383", "type": "contacts",
        "contacts": [{"name": {"formatted_name": "Ana"}, "phones": ["+55 11 9999-0000"]}]}]),
}

WRONG_TYPED_TG = {
    "chat as a string": lambda: {"update_id": 1, "message": {"message_id": 5, "chat": "private", "text": "oi",
                                                             "date": 1679515515}},
    "from as a string": lambda: tg_update({"text": "oi"}) | {"message": {
        **tg_update({"text": "oi"})["message"], "from": "João"}},
    "photo as a list of strings": lambda: tg_update({"photo": ["AgACAgEAAxkBAAIB", "AgACAgEAAxkBAAIC"]}),
    "venue as a string": lambda: tg_update({"location": {"latitude": -23.5, "longitude": -46.6},
                                            "venue": "Padaria"}),
}

WRONG_TYPED_EVO = {
    "data.key as a string": lambda: evo_event("messages.upsert", {
        "key": "3EB0C431C26A1916E07A", "message": {"conversation": "oi"}, "messageType": "conversation"}),
    "a status whose update is a string": lambda: evo_event("messages.update", {
        "key": {"remoteJid": f"{EVO_CUSTOMER}@s.whatsapp.net", "fromMe": True, "id": "BAE5X"},
        "update": "DELIVERY_ACK"}),
    "a status that is an object": lambda: evo_event("messages.update", {
        "keyId": "BAE5X", "remoteJid": f"{EVO_CUSTOMER}@s.whatsapp.net", "fromMe": True,
        "status": {"code": 3}}),
    "a list reply whose singleSelectReply is a string": lambda: evo_upsert(
        {"listResponseMessage": {"singleSelectReply": "row-2", "listType": "SINGLE_SELECT"}},
        "listResponseMessage"),
}


@pytest.mark.parametrize("name", list(WRONG_TYPED_WA))
def test_whatsapp_wrong_types_are_a_400_and_store_nothing(client, whatsapp, name):
    response = send_wa(client, whatsapp, WRONG_TYPED_WA[name]())
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "rejected"
    nothing_stored()


@pytest.mark.parametrize("name", list(WRONG_TYPED_TG))
def test_telegram_wrong_types_are_a_400_and_store_nothing(client, telegram, name):
    response = send_tg(client, telegram, WRONG_TYPED_TG[name]())
    assert response.status_code == 400, response.json
    nothing_stored()


@pytest.mark.parametrize("name", list(WRONG_TYPED_EVO))
def test_evolution_wrong_types_are_a_400_and_store_nothing(client, evolution, name):
    response = send_evo(client, evolution, WRONG_TYPED_EVO[name]())
    assert response.status_code == 400, response.json
    nothing_stored()


def test_one_bad_message_does_not_fail_its_batch(client, whatsapp):
    broken = wa_text("x", wamid="wamid.bad")
    broken["text"] = "not an object"
    payload = wa_notification([wa_text("primeira", wamid="wamid.ok1"), broken, wa_text("segunda", wamid="wamid.ok2")])
    response = send_wa(client, whatsapp, payload)
    assert response.status_code == 200
    assert (response.json["stored"], response.json["unreadable"]) == (2, 1)
    bodies = db.session.scalars(select(Message.body).order_by(Message.id)).all()
    assert bodies == ["primeira", "segunda"]
    again = send_wa(client, whatsapp, payload)  # the redelivery stores nothing twice
    assert (again.status_code, again.json["stored"], again.json["duplicates"]) == (200, 0, 2)


def test_evolution_a_bad_record_beside_good_ones(client, evolution):
    good = evo_upsert({"conversation": "Oi"}, "conversation")["data"]
    payload = evo_event("messages.upsert", [good, {"key": "broken", "message": {}}])
    response = send_evo(client, evolution, payload)
    assert (response.status_code, response.json["stored"], response.json["unreadable"]) == (200, 1, 1)
    assert only_message().body == "Oi"


def test_long_names_are_cut_to_the_column(client, telegram):
    response = send_tg(client, telegram, tg_update({"text": "oi"}, first_name="A" * 64, last_name="B" * 64))
    assert response.status_code == 200
    name = only_message().ticket.contact.name
    assert len(name) <= 120 and name.startswith("A" * 64)


def test_nul_and_lone_surrogates_are_removed(client, telegram, whatsapp):
    raw = json.dumps(tg_update({"text": "o\u0000i \ud83d fim"})).encode()
    assert b"\\ud83d" in raw  # a lone high surrogate, as JSON can carry it
    response = post_webhook(client, telegram, raw=raw, headers=tg_headers(telegram))
    assert response.status_code == 200
    assert only_message().body == "oi  fim"
    payload = wa_notification([wa_text("ok", wamid="wamid.nul")])
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "1650\u00005551234\udc00"
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = "1650\u00005551234\udc00"
    assert send_wa(client, whatsapp, payload).status_code == 200
    assert db.session.scalar(select(ContactIdentity.external_id).where(
        ContactIdentity.channel == "whatsapp")) == "16505551234"


def test_over_long_ids_are_cut_and_stay_distinct(client, whatsapp):
    sender = "5" * 200
    first, second = "wamid." + "A" * 400 + "1", "wamid." + "A" * 400 + "2"
    payload = wa_notification([wa_text("um", wamid=first, **{"from": sender}),
                               wa_text("dois", wamid=second, **{"from": sender})],
                              contacts=[{"profile": {"name": "Longo"}, "wa_id": sender}])
    response = send_wa(client, whatsapp, payload)
    assert (response.status_code, response.json["stored"]) == (200, 2)
    ids = db.session.scalars(select(Message.external_id)).all()
    assert len(set(ids)) == 2 and all(len(i) <= 255 for i in ids)
    contact = db.session.scalars(select(Contact)).one()
    assert contact.phone is None  # 200 digits are no phone number
    assert send_wa(client, whatsapp, payload).json["duplicates"] == 2


def test_json_nested_a_thousand_deep_is_a_400(client, telegram, evolution):
    deep = "[" * 1000 + "]" * 1000
    raw = ('{"update_id": 1, "message": ' + deep + "}").encode()
    response = post_webhook(client, telegram, raw=raw, headers=tg_headers(telegram))
    assert response.status_code == 400
    raw = ('{"event": "messages.upsert", "apikey": "%s", "data": %s}' % (EVO_APIKEY, deep)).encode()
    assert post_webhook(client, evolution, raw=raw).status_code == 400
    nothing_stored()


def test_generic_a_bad_item_beside_good_ones(client, factory, caplog):
    from atendimento.channels.base import sign

    gateway = factory.connection(kind="generic", secret="gw-secret", settings={"outbound_url": "http://127.0.0.1:9"})
    raw = json.dumps([{"id": "g1", "from": "5511911112222", "text": "Oi"},
                      {"id": "g2", "from": {"phone": "5511911112222"}, "text": "objeto"},
                      {"id": "g3", "from": "5511911112222"}]).encode()
    response = post_webhook(client, gateway, raw=raw, headers={"X-Signature-256": sign("gw-secret", raw)})
    assert (response.status_code, response.json["stored"], response.json["unreadable"]) == (200, 1, 2)
    assert only_message().body == "Oi"
    assert "could not be read" in caplog.text
    alone = json.dumps({"id": "g4", "from": ["x"], "text": "Oi"}).encode()
    refused = post_webhook(client, gateway, raw=alone, headers={"X-Signature-256": sign("gw-secret", alone)})
    assert refused.status_code == 400 and "from" in refused.json["error"]["message"]
