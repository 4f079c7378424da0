"""Evolution API v2: webhook events as Evolution posts them (``event``, ``instance``,
``data``, ``apikey``) against a local server that plays Evolution's REST API."""
import base64
import json
from datetime import timedelta

import pytest
from flask_babel import gettext
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Message, Ticket
from atendimento.outbox import claim_due, deliver_due
from atendimento.tickets import outgoing, service

from .helpers import JPEG, MP4, OGG, PDF, WEBP, message_count, only_message, post_webhook, stored_bytes

APIKEY = "B6D711FCDE4D4FD5936544120E713976"
INSTANCE = "loja-centro"
CUSTOMER = "5511987654321"
JID = f"{CUSTOMER}@s.whatsapp.net"


def event(name, data, apikey=APIKEY):
    return {"event": name, "instance": INSTANCE, "data": data, "destination": "https://atendimento.example/webhook",
            "date_time": "2024-06-10T14:12:48.643Z", "sender": "5511900000000@s.whatsapp.net",
            "server_url": "https://evolution.example", "apikey": apikey}


def upsert(message, message_type, *, key_id="3EB0C431C26A1916E07A", from_me=False, push_name="Carla Dias"):
    return event("messages.upsert", {
        "key": {"remoteJid": JID, "fromMe": from_me, "id": key_id}, "pushName": push_name,
        "message": message, "messageType": message_type, "messageTimestamp": 1717000000,
        "instanceId": "af6c5b7c-ee27-4f94-9ea8-192393746ddd", "source": "android"})


@pytest.fixture
def evolution_api(provider):
    sent = iter(range(1, 1000))
    media = {}

    def send(request, match):
        if request.headers.get("apikey") != APIKEY:
            return 401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}
        return 201, {"key": {"remoteJid": JID, "fromMe": True, "id": f"BAE5{next(sent):012d}"},
                     "message": {}, "messageTimestamp": "1717000001", "status": "PENDING"}

    def get_base64(request, match):
        data, mime = media[request.json["message"]["key"]["id"]]
        return 201, {"mediaType": "audioMessage", "fileName": None, "size": {"fileLength": len(data)},
                     "mimetype": mime, "base64": base64.b64encode(data).decode()}

    provider.on("POST", rf"/message/(sendText|sendMedia|sendWhatsAppAudio)/{INSTANCE}", send)
    provider.on("POST", f"/chat/getBase64FromMediaMessage/{INSTANCE}", get_base64)
    provider.media = media
    return provider


@pytest.fixture
def evolution(factory, evolution_api):
    return factory.connection(kind="evolution", settings={
        "base_url": evolution_api.url, "instance": INSTANCE, "apikey": APIKEY})


def test_a_conversation_opens_a_ticket(client, evolution):
    response = post_webhook(client, evolution, upsert({"conversation": "Oi, tudo bem?"}, "conversation"))
    assert response.status_code == 200
    stored = only_message()
    assert (stored.direction, stored.body, stored.external_id) == ("in", "Oi, tudo bem?", "3EB0C431C26A1916E07A")
    assert stored.ticket.contact.name == "Carla Dias" and stored.ticket.contact.phone == CUSTOMER


def test_extended_text_and_a_redelivery(client, evolution):
    payload = upsert({"extendedTextMessage": {"text": "Veja https://exemplo.com.br"}}, "extendedTextMessage")
    post_webhook(client, evolution, payload)
    post_webhook(client, evolution, payload)
    assert only_message().body == "Veja https://exemplo.com.br"


@pytest.mark.parametrize("given, status", [(None, 401), ("wrong-key", 403)])
def test_the_apikey_is_checked(client, evolution, given, status):
    payload = upsert({"conversation": "Oi"}, "conversation")
    payload.pop("apikey") if given is None else payload.update(apikey=given)
    assert post_webhook(client, evolution, payload).status_code == status
    assert message_count() == 0


def test_the_apikey_may_come_as_a_header(client, evolution):
    payload = upsert({"conversation": "Oi"}, "conversation")
    payload.pop("apikey")
    assert post_webhook(client, evolution, payload, headers={"apikey": APIKEY}).status_code == 200


def test_groups_and_other_instances_are_not_conversations(client, evolution):
    group = upsert({"conversation": "oi grupo"}, "conversation")
    group["data"]["key"]["remoteJid"] = "120363025246125486@g.us"
    other = upsert({"conversation": "oi"}, "conversation")
    other["instance"] = "outra-loja"
    assert post_webhook(client, evolution, group).status_code == 200
    assert post_webhook(client, evolution, other).status_code == 200
    assert message_count() == 0


def _media(kind_key, data, mime, *, inline=False, url=None, **fields):
    content = {"url": "https://mmg.whatsapp.net/o1/v/t62.7118-24/f1/m231/enc", "mimetype": mime,
               "fileSha256": "abc=", "fileLength": str(len(data)), "mediaKey": "key=", **fields}
    message = {kind_key: content}
    if inline:
        message["base64"] = base64.b64encode(data).decode()
    if url:
        message["mediaUrl"] = url
    return message


def test_inline_base64_image(app, client, evolution):
    post_webhook(client, evolution, upsert(_media("imageMessage", JPEG, "image/jpeg", inline=True,
                                                  caption="Olha"), "imageMessage"))
    stored = only_message()
    assert (stored.kind, stored.body, stored.media_mime) == ("image", "Olha", "image/jpeg")
    assert stored_bytes(app, stored) == JPEG


def test_voice_note_fetched_through_get_base64(app, client, evolution, evolution_api):
    evolution_api.media["3EB0C431C26A1916E07A"] = (OGG, "audio/ogg; codecs=opus")
    post_webhook(client, evolution, upsert(_media("audioMessage", OGG, "audio/ogg; codecs=opus", ptt=True,
                                                  seconds=4), "audioMessage"))
    stored = only_message()
    assert (stored.kind, stored.media_mime, stored.voice) == ("audio", "audio/ogg", True)  # ptt: a voice note
    assert stored_bytes(app, stored) == OGG
    (call,) = evolution_api.calls("POST", f"/chat/getBase64FromMediaMessage/{INSTANCE}")
    assert call.headers["apikey"] == APIKEY and call.json["message"]["key"]["id"] == "3EB0C431C26A1916E07A"


def test_document_from_a_media_url_keeps_its_name(app, client, evolution, evolution_api):
    url = evolution_api.file("/s3/evolution/contrato.pdf", PDF, "application/pdf")
    post_webhook(client, evolution, upsert(
        {"documentWithCaptionMessage": {"message": {"documentMessage": {
            "url": "https://mmg.whatsapp.net/enc", "mimetype": "application/pdf", "fileName": "contrato.pdf",
            "caption": "segue o contrato"}}}, "mediaUrl": url},
        "documentWithCaptionMessage"))
    stored = only_message()
    assert (stored.kind, stored.media_name, stored.body) == ("document", "contrato.pdf", "segue o contrato")
    assert stored_bytes(app, stored) == PDF


@pytest.mark.parametrize("key, data, mime, kind", [
    ("videoMessage", MP4, "video/mp4", "video"), ("stickerMessage", WEBP, "image/webp", "sticker")])
def test_video_and_sticker(app, client, evolution, key, data, mime, kind):
    post_webhook(client, evolution, upsert(_media(key, data, mime, inline=True), key))
    stored = only_message()
    assert (stored.kind, stored.media_mime) == (kind, mime)


def test_an_unknown_message_type_is_a_system_line(client, evolution):
    # A poll now reads as one (test_readable_kinds.py); WhatsApp's event invitation does not.
    post_webhook(client, evolution, upsert({"eventMessage": {"name": "Inauguração", "startTime": "1767400000"}},
                                           "eventMessage"))
    stored = only_message()
    assert (stored.kind, stored.body) == ("system", gettext("unsupported type: %(type)s", type="eventMessage"))


def test_a_message_sent_from_the_phone_is_stored_as_outgoing(client, evolution):
    post_webhook(client, evolution, upsert({"conversation": "Oi"}, "conversation"))
    echo = upsert({"conversation": "Respondi pelo celular"}, "conversation", key_id="3EB0FROMPHONE",
                  from_me=True, push_name="Loja Centro")
    post_webhook(client, evolution, echo)
    post_webhook(client, evolution, echo)  # redelivered
    rows = db.session.execute(select(Message.direction, Message.body, Message.status, Message.author_id)
                              .order_by(Message.id)).all()
    assert rows == [("in", "Oi", "received", None), ("out", "Respondi pelo celular", "sent", None)]
    ticket = db.session.scalar(select(Ticket))
    assert ticket.unread == 1 and ticket.contact.name == "Carla Dias"
    assert db.session.scalar(select(Ticket.last_message)) == "Respondi pelo celular"


def test_the_echo_of_our_own_send_settles_it_and_is_not_stored_twice(app, client, evolution, evolution_api,
                                                                      factory):
    ticket = factory.ticket(evolution, status="open", sender=CUSTOMER)
    queued = outgoing.send_text(ticket.user, ticket.id, "Seu pedido saiu")
    claim_due(queued.next_attempt_at, 10)  # the worker took it, sent it, and died before saving
    post_webhook(client, evolution, event("send.message", {
        "key": {"remoteJid": JID, "fromMe": True, "id": "BAE5LOSTANSWER"}, "pushName": "Loja Centro",
        "message": {"conversation": "Seu pedido saiu"}, "messageType": "conversation",
        "messageTimestamp": 1717000002}))
    db.session.refresh(queued)
    assert (queued.status, queued.external_id) == ("sent", "BAE5LOSTANSWER")
    later = queued.next_attempt_at + timedelta(days=1)
    assert deliver_due(later) == 0
    assert evolution_api.calls("POST", f"/message/sendText/{INSTANCE}") == []
    assert db.session.scalar(select(Message.id).where(Message.direction == "out", Message.id != queued.id)) is None


def test_statuses_from_messages_update(client, evolution, factory):
    ticket = factory.ticket(evolution, status="open", sender=CUSTOMER)
    sent = outgoing.send_text(ticket.user, ticket.id, "Oi")
    deliver_due()
    db.session.refresh(sent)

    def update_event(state):
        return event("messages.update", {"messageId": "cm0x1", "keyId": sent.external_id, "remoteJid": JID,
                                         "fromMe": True, "participant": JID, "status": state,
                                         "instanceId": "af6c5b7c"})

    post_webhook(client, evolution, update_event("DELIVERY_ACK"))
    db.session.refresh(sent)
    assert sent.status == "delivered"
    post_webhook(client, evolution, update_event("READ"))
    post_webhook(client, evolution, update_event("DELIVERY_ACK"))
    db.session.refresh(sent)
    assert sent.status == "read"


def test_outbound_text(evolution, evolution_api, factory):
    ticket = factory.ticket(evolution, status="open", sender=CUSTOMER)
    sent = outgoing.send_text(ticket.user, ticket.id, "Bom dia!")
    deliver_due()
    (call,) = evolution_api.calls("POST", f"/message/sendText/{INSTANCE}")
    assert call.headers["apikey"] == APIKEY
    assert call.json == {"number": CUSTOMER, "text": "Bom dia!"}
    db.session.refresh(sent)
    assert sent.status == "sent" and sent.external_id.startswith("BAE5")


@pytest.mark.parametrize("data, filename, endpoint, mediatype", [
    (JPEG, "foto.jpg", "sendMedia", "image"), (MP4, "video.mp4", "sendMedia", "video"),
    (PDF, "nota.pdf", "sendMedia", "document"),
    (OGG, "voz.ogg", "sendMedia", "audio")])  # a file from disk, not a voice note (tests/test_voice_notes.py)
def test_outbound_files(evolution, evolution_api, factory, data, filename, endpoint, mediatype):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from atendimento.tickets.outgoing import send_media

    ticket = factory.ticket(evolution, status="open", sender=CUSTOMER)
    queued = send_media(ticket.user, ticket.id, FileStorage(BytesIO(data), filename), "legenda")
    deliver_due()
    (call,) = evolution_api.calls("POST", f"/message/{endpoint}/{INSTANCE}")
    assert base64.b64decode(call.json["media"]) == data
    # WhatsApp plays audio without words: the caption follows it as a text (tickets/outgoing.py).
    caption = "" if mediatype == "audio" else "legenda"
    assert (call.json["mediatype"], call.json["fileName"], call.json["caption"]) == (mediatype, filename, caption)
    texts = [c.json["text"] for c in evolution_api.calls("POST", f"/message/sendText/{INSTANCE}")]
    assert texts == (["legenda"] if mediatype == "audio" else [])
    assert db.session.get(Message, queued.id).status == "sent"


def test_a_big_inline_file_fits_the_body_limit(app, client, evolution):
    big = JPEG + b"\x00" * (2 * 1024 * 1024)  # well over the 1 MB webhook limit, under MAX_UPLOAD_MB
    response = post_webhook(client, evolution, upsert(_media("imageMessage", big, "image/jpeg", inline=True),
                                                      "imageMessage"))
    assert response.status_code == 200
    assert only_message().media_size == len(big)


def test_payload_is_json(client, evolution):
    raw = json.dumps(upsert({"conversation": "x"}, "conversation")).encode()[:-5]
    assert post_webhook(client, evolution, raw=raw).status_code == 400
