"""Responder (issue 12, part 5; SPEC §6.1, §8): an answer may quote a message of its own
ticket; the channel then gets its reply reference — WhatsApp ``context.message_id``,
Telegram ``reply_parameters``, Evolution ``quoted``, generic ``quoted_id``. A quote of
another ticket, or of nothing, is a 422 and nothing is sent."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Message
from atendimento.outbox import deliver_due
from atendimento.tickets import service

from .channels.helpers import provider  # noqa: F401  (fixture)

CUSTOMER = "5511988887777"
PNID, BOT, INSTANCE = "106540352242922", "123456:ABC-bot", "atendimento"


def _whatsapp_cloud(factory, provider):
    provider.on("POST", rf"/v21\.0/{PNID}/messages", lambda r, m: (200, {
        "messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT1"}]}))
    connection = factory.connection(kind="whatsapp_cloud", settings={
        "phone_number_id": PNID, "access_token": "token", "verify_token": "v", "base_url": provider.url + "/v21.0"})

    def reference():
        (send,) = provider.calls("POST", rf"/v21\.0/{PNID}/messages")
        return send.json.get("context")

    return connection, "wamid.IN1", reference, {"message_id": "wamid.IN1"}


def _telegram(factory, provider):
    provider.on("POST", rf"/bot{BOT}/sendMessage", lambda r, m: (200, {
        "ok": True, "result": {"message_id": 90, "chat": {"id": int(CUSTOMER), "type": "private"}}}))
    connection = factory.connection(kind="telegram", settings={"bot_token": BOT, "base_url": provider.url})

    def reference():
        (send,) = provider.calls("POST", rf"/bot{BOT}/sendMessage")
        return send.json.get("reply_parameters")

    return connection, f"{CUSTOMER}:55", reference, {"message_id": 55, "allow_sending_without_reply": True}


def _evolution(factory, provider):
    provider.on("POST", rf"/message/sendText/{INSTANCE}", lambda r, m: (201, {
        "key": {"remoteJid": f"{CUSTOMER}@s.whatsapp.net", "fromMe": True, "id": "BAE5000000000001"}}))
    connection = factory.connection(kind="evolution", settings={
        "base_url": provider.url, "instance": INSTANCE, "apikey": "evo-key"})

    def reference():
        (send,) = provider.calls("POST", rf"/message/sendText/{INSTANCE}")
        return send.json.get("quoted")

    return connection, "3EB0C767D26A1D8B7F1A", reference, {
        "key": {"id": "3EB0C767D26A1D8B7F1A"}, "message": {"conversation": "Meu pedido não chegou"}}


def _generic(factory, provider):
    provider.on("POST", "/send", lambda r, m: (200, {"id": f"gw-{r.json['id']}"}))
    connection = factory.connection(kind="generic", settings={"outbound_url": provider.url + "/send"})

    def reference():
        (send,) = provider.calls("POST", "/send")
        return send.json.get("quoted_id")

    return connection, "gw-in-1", reference, "gw-in-1"


KINDS = {"whatsapp_cloud": _whatsapp_cloud, "telegram": _telegram, "evolution": _evolution, "generic": _generic}


def _open_ticket(factory, connection, external_id, text="Meu pedido não chegou"):
    message = factory.inbound(connection, sender=CUSTOMER, text=text, external_id=external_id)
    attendant = factory.admin("Ana", email=f"ana-{connection.id}@example.com")
    service.accept_ticket(attendant, message.ticket_id)
    return message, attendant


def _out_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_carries_the_channels_reference(kind, factory, provider, api):
    connection, external_id, reference, expected = KINDS[kind](factory, provider)
    quoted, attendant = _open_ticket(factory, connection, external_id)
    answer = api(attendant).post(f"/tickets/{quoted.ticket_id}/messages",
                                 json={"text": "Já verifiquei: sai hoje.", "quoted_id": quoted.id})
    assert answer.status_code == 201, answer.json
    assert answer.json["quoted_id"] == quoted.id
    deliver_due()
    assert reference() == expected


def test_without_a_quote_no_reference_goes(factory, provider, api):
    connection, external_id, reference, _expected = _whatsapp_cloud(factory, provider)
    quoted, attendant = _open_ticket(factory, connection, external_id)
    assert api(attendant).post(f"/tickets/{quoted.ticket_id}/messages", json={"text": "Oi"}).status_code == 201
    deliver_due()
    assert reference() is None


def test_a_quote_of_another_ticket_or_of_nothing_is_refused(factory, api):
    connection = factory.connection(settings={"outbound_url": "http://127.0.0.1:9/send"})
    quoted, attendant = _open_ticket(factory, connection, "gw-1")
    other = factory.inbound(connection, sender="5511900001111", text="Outro cliente")
    before = _out_count()
    for bad in (other.id, 999999, "abc", -1):
        answer = api(attendant).post(f"/tickets/{quoted.ticket_id}/messages", json={"text": "Oi", "quoted_id": bad})
        assert answer.status_code == 422, (bad, answer.json)
        assert answer.json["error"]["fields"] == {"quoted_id": "Cite uma mensagem desta conversa."}
    assert _out_count() == before


def test_the_page_composer_sends_the_quote_and_the_bubble_shows_it(factory, client, auth):
    connection = factory.connection(settings={"outbound_url": "http://127.0.0.1:9/send"})
    quoted, attendant = _open_ticket(factory, connection, "gw-2", text="Qual o prazo?")
    auth.login(attendant)
    answer = client.post(f"/tickets/{quoted.ticket_id}/messages", data={"text": "3 dias", "quoted_id": quoted.id},
                         headers={"Accept": "application/json"})
    assert answer.status_code == 201, answer.data
    assert answer.json["message"]["quoted_id"] == quoted.id
    assert "Qual o prazo?" in answer.json["html"] and f'data-quoted-id="{quoted.id}"' in answer.json["html"]
