"""Property (hypothesis): any JSON value in any field of a valid payload, correctly
signed, gets 200 or 400, never a 5xx; a 400 stores nothing, and whatever a 200 stored
is whole (each message on a ticket of a contact reachable by an identity)."""
import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Contact, ContactIdentity, Message, Ticket

from .helpers import post_webhook
from .provider_samples import (EVO_APIKEY, EVO_CUSTOMER, EVO_LID, WA_CUSTOMER, evo_event, evo_upsert, tg_update,
                               wa_notification, wa_text)
from .webhooks import evolution, send_evo, send_tg, send_wa, telegram, whatsapp  # noqa: F401  (fixtures)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

WA_SAMPLES = [
    wa_notification([wa_text("Oi", wamid="wamid.P1", context={"from": "15550783881", "id": "wamid.X"}),
                     {"from": WA_CUSTOMER, "id": "wamid.P2", "timestamp": "1749416383", "type": "contacts",
                      "contacts": [{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+55 11 9"}]}]},
                     {"from": WA_CUSTOMER, "id": "wamid.P3", "timestamp": "1749416383", "type": "edit",
                      "edit": {"original_message_id": "wamid.P1",
                               "message": {"type": "text", "text": {"body": "Oi!"}}}}]),
    wa_notification(field="smb_message_echoes", echoes=[
        {"from": "15550783881", "to": WA_CUSTOMER, "id": "wamid.E1", "timestamp": "1749416390", "type": "image",
         "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "caption": "foto"}}]),
]
TG_SAMPLES = [
    tg_update({"text": "Oi", "reply_to_message": {"message_id": 3, "chat": {"id": 1, "type": "private"},
                                                  "date": 1679515515, "text": "x"}}),
    tg_update({"photo": [{"file_id": "AgAC1", "file_unique_id": "u1", "width": 90, "height": 90, "file_size": 10}],
               "caption": "legenda"}),
    tg_update({"text": "Oi!", "edit_date": 1679515600}, field="edited_message"),
    tg_update({"location": {"latitude": -23.5, "longitude": -46.6}, "venue": {"title": "Loja", "address": "Rua"}}),
]
EVO_SAMPLES = [
    evo_upsert({"extendedTextMessage": {"text": "Oi", "contextInfo": {"stanzaId": "3EB0X"}}},
               "extendedTextMessage", jid=EVO_LID, remoteJidAlt=f"{EVO_CUSTOMER}@s.whatsapp.net"),
    evo_upsert({"listResponseMessage": {"title": "Suporte", "singleSelectReply": {"selectedRowId": "2"}}},
               "listResponseMessage"),
    evo_upsert({"editedMessage": {"message": {"protocolMessage": {
        "key": {"id": "3EB0X"}, "type": "MESSAGE_EDIT", "editedMessage": {"conversation": "novo"}}}}},
        "editedMessage"),
    evo_event("messages.update", {"keyId": "BAE5X", "remoteJid": f"{EVO_CUSTOMER}@s.whatsapp.net",
                                  "fromMe": True, "status": "READ"}),
]


def paths(value, prefix=()):
    """Every place in ``value`` a field can be replaced."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


def replaced(sample, path, new):
    payload = copy.deepcopy(sample)
    target = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return payload


def mutations(samples):
    return st.sampled_from(samples).flatmap(
        lambda sample: st.tuples(st.just(sample), st.sampled_from(paths(sample)), JSON))


def whole() -> bool:
    """No half-stored row: every message on a ticket, every ticket's contact reachable."""
    orphans = db.session.scalar(select(func.count(Message.id)).where(
        ~Message.ticket_id.in_(select(Ticket.id))))
    unreachable = db.session.scalar(select(func.count(Contact.id)).where(
        ~Contact.id.in_(select(ContactIdentity.contact_id))))
    return orphans == 0 and unreachable == 0


def check(client, send, mutation):
    sample, path, value = mutation
    before = db.session.scalar(select(func.count(Message.id)))
    response = send(client, replaced(sample, path, value))
    assert response.status_code in (200, 400), (path, value, response.status_code, response.get_data(as_text=True))
    db.session.expire_all()
    if response.status_code == 400:
        assert db.session.scalar(select(func.count(Message.id))) == before
    assert whole()


@pytest.fixture(autouse=True)
def no_media_retries(app):
    app.config["MEDIA_RETRY_BASE_S"] = 3600  # a file that cannot be fetched is retried later, not here


@SETTINGS
@given(mutation=mutations(WA_SAMPLES))
def test_whatsapp_any_value_anywhere(client, whatsapp, mutation):
    check(client, lambda client, payload: send_wa(client, whatsapp, payload), mutation)


@SETTINGS
@given(mutation=mutations(TG_SAMPLES))
def test_telegram_any_value_anywhere(client, telegram, mutation):
    check(client, lambda client, payload: send_tg(client, telegram, payload), mutation)


@SETTINGS
@given(mutation=mutations(EVO_SAMPLES))
def test_evolution_any_value_anywhere(client, evolution, mutation):
    def send(client, payload):
        if isinstance(payload, dict) and payload.get("apikey") != EVO_APIKEY:
            return post_webhook(client, evolution, raw=json.dumps(payload).encode(), headers={"apikey": EVO_APIKEY})
        return send_evo(client, evolution, payload)
    check(client, send, mutation)
