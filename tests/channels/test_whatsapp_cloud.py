"""WhatsApp Cloud API: Meta's webhook payloads (as in Meta's webhook reference) against
a local server that plays the Graph API."""
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from flask_babel import gettext
from sqlalchemy import select

from atendimento.channels.registry import adapter_for
from atendimento.extensions import db
from atendimento.models import Message
from atendimento.outbox import claim_due, deliver_due
from atendimento.tickets import outgoing, service

from .helpers import JPEG, MP4, OGG, PDF, WEBP, message_count, only_message, post_webhook, stored_bytes

PNID = "106540352242922"
TOKEN = "EAAG-test-token"
CUSTOMER = "16505551234"


def notification(messages=None, statuses=None, phone_number_id=PNID):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id}}
    if messages is not None:
        value["contacts"] = [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}


def message(kind, content, wamid="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", **extra):
    return {"from": CUSTOMER, "id": wamid, "timestamp": "1749416383", "type": kind, kind: content, **extra}


def status(wamid, state, **extra):
    return {"id": wamid, "status": state, "timestamp": "1750263773", "recipient_id": CUSTOMER, **extra}


def post(client, connection, payload, secret=None):
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new((secret or connection.secret).encode(), raw, hashlib.sha256).hexdigest()
    return post_webhook(client, connection, raw=raw, headers={"X-Hub-Signature-256": signature})


@pytest.fixture
def graph(provider):
    """The Graph API: media ids resolve to URLs; uploads and sends answer ids."""
    media = {}

    def authorised(request):
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def media_info(request, match):
        if not authorised(request):
            return 401, {"error": {"message": "Invalid OAuth access token.", "code": 190}}
        data, mime = media[match[1]]
        return 200, {"messaging_product": "whatsapp", "url": f"{provider.url}/lookaside/{match[1]}",
                     "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data),
                     "id": match[1]}

    def media_file(request, match):
        return (200, media[match[1]][0], {"Content-Type": "application/octet-stream"}) if authorised(request) \
            else (401, b"")

    sent = iter(range(1, 1000))
    provider.on("GET", r"/v21\.0/(\d+)", media_info)
    provider.on("GET", r"/lookaside/(\d+)", media_file)
    provider.on("POST", rf"/v21\.0/{PNID}/media", lambda r, m: (200, {"id": f"55{next(sent)}"}))
    provider.on("POST", rf"/v21\.0/{PNID}/messages", lambda r, m: (200, {
        "messaging_product": "whatsapp", "contacts": [{"input": r.json["to"], "wa_id": r.json["to"]}],
        "messages": [{"id": f"wamid.OUT{next(sent)}"}]}))
    provider.media = media
    return provider


@pytest.fixture
def whatsapp(factory, graph):
    return factory.connection(kind="whatsapp_cloud", secret="meta-app-secret", settings={
        "phone_number_id": PNID, "access_token": TOKEN, "verify_token": "verify-me",
        "base_url": graph.url + "/v21.0"})


def test_the_verification_challenge(client, whatsapp):
    url = f"/webhooks/whatsapp_cloud/{whatsapp.token}"
    ok = client.get(url, query_string={"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                                       "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.data) == (200, b"1158201444")
    wrong = client.get(url, query_string={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                          "hub.challenge": "1"})
    assert wrong.status_code == 403
    assert client.get(url, query_string={"hub.mode": "subscribe", "hub.challenge": "1"}).status_code == 401


def test_a_text_opens_a_ticket_named_after_the_profile(client, whatsapp):
    assert post(client, whatsapp, notification([message("text", {"body": "Does it come in another color?"})])) \
        .status_code == 200
    stored = only_message()
    assert (stored.kind, stored.body, stored.external_id) == (
        "text", "Does it come in another color?", "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    assert stored.ticket.contact.name == "Sheena Nelson" and stored.ticket.contact.phone == CUSTOMER


@pytest.mark.parametrize("signature_secret, status", [(None, 401), ("another-secret", 403)])
def test_a_bad_signature_stores_nothing(client, whatsapp, signature_secret, status):
    payload = notification([message("text", {"body": "hi"})])
    if signature_secret is None:
        response = post_webhook(client, whatsapp, payload)
    else:
        response = post(client, whatsapp, payload, secret=signature_secret)
    assert response.status_code == status
    assert message_count() == 0


def test_a_redelivery_stores_once(client, whatsapp):
    payload = notification([message("text", {"body": "hi"})])
    assert post(client, whatsapp, payload).status_code == 200
    assert post(client, whatsapp, payload).status_code == 200
    assert message_count() == 1 and only_message().ticket.unread == 1


def test_another_number_of_the_same_app_is_not_this_connection(client, whatsapp):
    post(client, whatsapp, notification([message("text", {"body": "hi"})], phone_number_id="999"))
    assert message_count() == 0


MEDIA_CASES = {
    "image": (JPEG, {"caption": "My photo", "mime_type": "image/jpeg"}, "image", "image/jpeg"),
    "audio": (OGG, {"mime_type": "audio/ogg; codecs=opus", "voice": True}, "audio", "audio/ogg"),
    "video": (MP4, {"caption": "clip", "mime_type": "video/mp4"}, "video", "video/mp4"),
    "document": (PDF, {"caption": "invoice", "filename": "Fatura março.pdf", "mime_type": "application/pdf"},
                 "document", "application/pdf"),
    "sticker": (WEBP, {"mime_type": "image/webp", "animated": False}, "sticker", "image/webp"),
}


@pytest.mark.parametrize("wa_type", MEDIA_CASES)
def test_each_media_type_is_downloaded_with_the_token(app, client, whatsapp, graph, factory, auth, wa_type):
    data, content, kind, mime = MEDIA_CASES[wa_type]
    graph.media["1013859600285441"] = (data, content["mime_type"])
    content = {**content, "id": "1013859600285441", "sha256": hashlib.sha256(data).hexdigest()}
    post(client, whatsapp, notification([message(wa_type, content)]))
    stored = only_message()
    assert (stored.kind, stored.media_mime, stored.error) == (kind, mime, None)
    assert stored.voice == (wa_type == "audio")  # audio.voice: a voice note
    assert stored.body == content.get("caption", "")
    assert stored_bytes(app, stored) == data
    if wa_type == "document":
        assert stored.media_name == "Fatura março.pdf"
    auth.login(factory.admin(email="boss@example.com"))
    served = client.get(f"/media/{stored.id}")
    assert served.status_code == 200 and served.data == data
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"]


def test_locations_contacts_and_replies_become_readable_lines(client, whatsapp):
    post(client, whatsapp, notification([
        message("location", {"latitude": -23.5505, "longitude": -46.6333, "name": "Loja Centro",
                             "address": "Praça da Sé, São Paulo"}, wamid="wamid.1"),
        {"from": CUSTOMER, "id": "wamid.2", "timestamp": "1749416383", "type": "contacts", "contacts": [
            {"name": {"formatted_name": "Maria Souza", "first_name": "Maria"},
             "phones": [{"phone": "+55 11 99999-0000", "wa_id": "5511999990000", "type": "CELL"}]}]},
        message("interactive", {"type": "list_reply", "list_reply": {"id": "opt_2", "title": "Financeiro",
                                                                     "description": "Boletos"}}, wamid="wamid.3"),
        message("interactive", {"type": "button_reply", "button_reply": {"id": "yes", "title": "Sim"}},
                wamid="wamid.4"),
        message("button", {"payload": "CONFIRM", "text": "Confirmar"}, wamid="wamid.5",
                context={"from": "15550783881", "id": "wamid.template"}),
    ]))
    rows = db.session.execute(select(Message.kind, Message.body).order_by(Message.id)).all()
    assert rows[0][0] == "location" and "Loja Centro" in rows[0][1] and "-23.5505,-46.6333" in rows[0][1]
    assert rows[1] == ("text", "👤 Maria Souza · +55 11 99999-0000")
    assert [r[1] for r in rows[2:]] == ["Financeiro", "Sim", "Confirmar"]


def test_an_unknown_type_is_stored_as_a_visible_system_line(client, whatsapp):
    post(client, whatsapp, notification([
        message("order", {"catalog_id": "367025965434465", "product_items": []}, wamid="wamid.o"),
        {"from": CUSTOMER, "id": "wamid.u", "timestamp": "1749416383", "type": "unsupported",
         "errors": [{"code": 131051, "title": "Message type unknown"}]},
    ]))
    rows = db.session.execute(select(Message.kind, Message.body).order_by(Message.id)).all()
    assert rows == [("system", gettext("unsupported type: %(type)s", type="order")),
                    ("system", gettext("unsupported type: %(type)s", type="unsupported"))]


def test_a_failed_download_keeps_the_message_marked_and_is_retried(app, client, whatsapp, graph, published):
    graph.media["777"] = (JPEG, "image/jpeg")
    graph.fail("GET", "/v21.0/777", times=1, status=500)
    post(client, whatsapp, notification([message("image", {"id": "777", "mime_type": "image/jpeg"})]))
    stored = only_message()
    assert stored.media_path is None and stored.error == gettext("media unavailable")
    assert stored.kind == "image"
    from atendimento.channels.ingest import retry_missing_media

    assert retry_missing_media(stored.next_attempt_at) == 1
    db.session.refresh(stored)
    assert stored.error is None and stored.media_ref is None
    assert stored_bytes(app, stored) == JPEG
    assert published[-1][0] == "message.updated" and published[-1][2]["media_url"]


def _sent_text(factory, whatsapp):
    ticket = factory.ticket(whatsapp, status="open", sender=CUSTOMER)
    sent = outgoing.send_text(ticket.user, ticket.id, "Temos sim!")
    deliver_due()
    db.session.refresh(sent)
    return sent


def test_statuses_only_move_forward(client, whatsapp, factory, published):
    sent = _sent_text(factory, whatsapp)
    assert sent.status == "sent" and sent.external_id.startswith("wamid.OUT")
    post(client, whatsapp, notification(statuses=[status(sent.external_id, "read")]))
    post(client, whatsapp, notification(statuses=[status(sent.external_id, "delivered")]))
    db.session.refresh(sent)
    assert sent.status == "read"
    updates = [data["status"] for name, _t, data in published if name == "message.updated"]
    assert updates[-1] == "read" and "delivered" not in updates


def test_failed_wins_and_keeps_the_error_title(client, whatsapp, factory):
    sent = _sent_text(factory, whatsapp)
    post(client, whatsapp, notification(statuses=[status(sent.external_id, "failed", errors=[{
        "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
        "error_data": {"details": "Recipient is not a valid WhatsApp user"}}])]))
    post(client, whatsapp, notification(statuses=[status(sent.external_id, "delivered")]))
    db.session.refresh(sent)
    assert sent.status == "failed"
    assert "Message undeliverable" in sent.error and "131026" in sent.error


def test_outbound_text_goes_to_the_messages_endpoint(whatsapp, factory, graph):
    sent = _sent_text(factory, whatsapp)
    (request,) = graph.calls("POST", f"/v21.0/{PNID}/messages")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
                            "biz_opaque_callback_data": f"atendimento:{sent.id}", "type": "text",
                            "text": {"preview_url": False, "body": "Temos sim!"}}


@pytest.mark.parametrize("data, filename, kind", [
    (JPEG, "foto.jpg", "image"), (OGG, "audio.ogg", "audio"), (MP4, "video.mp4", "video"),
    (PDF, "contrato.pdf", "document")])
def test_outbound_files_are_uploaded_then_sent_by_id(whatsapp, factory, graph, data, filename, kind):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from atendimento.tickets.outgoing import send_media

    ticket = factory.ticket(whatsapp, status="open", sender=CUSTOMER)
    queued = send_media(ticket.user, ticket.id, FileStorage(BytesIO(data), filename), "legenda")
    assert queued.kind == kind
    deliver_due()
    (upload,) = graph.calls("POST", f"/v21.0/{PNID}/media")
    assert upload.form["messaging_product"] == "whatsapp" and upload.files["file"][2] == data
    send, *after = graph.calls("POST", f"/v21.0/{PNID}/messages")
    media_id = graph.calls("POST", f"/v21.0/{PNID}/media")[0]
    assert send.json["type"] == kind
    assert send.json[kind]["id"].startswith("55")
    assert ("caption" in send.json[kind]) == (kind != "audio")
    # Audio takes no caption on WhatsApp: the words follow it as a text (tickets/outgoing.py).
    assert [a.json["text"]["body"] for a in after] == (["legenda"] if kind == "audio" else [])
    if kind == "document":
        assert send.json[kind]["filename"] == "contrato.pdf"
    assert media_id and db.session.get(Message, queued.id).status == "sent"


def test_a_send_whose_answer_was_lost_is_settled_by_the_status_webhook(app, client, whatsapp, factory, graph):
    ticket = factory.ticket(whatsapp, status="open", sender=CUSTOMER)
    queued = outgoing.send_text(ticket.user, ticket.id, "Olá")
    (claimed,) = claim_due(queued.next_attempt_at, 10)
    # The worker sent it and died before saving what Meta answered.
    wamid = adapter_for(whatsapp).send(_outbound_of(queued))
    later = queued.next_attempt_at + timedelta(seconds=app.config["OUTBOX_LEASE_S"] + 1)
    assert deliver_due(later) == 0  # in doubt: not sent again while Meta may still report it
    post(client, whatsapp, notification(statuses=[
        status(wamid, "sent", biz_opaque_callback_data=f"atendimento:{queued.id}")]))
    db.session.refresh(queued)
    assert (queued.status, queued.external_id, queued.sending_at) == ("sent", wamid, None)
    assert deliver_due(later + timedelta(days=1)) == 0
    assert len(graph.calls("POST", f"/v21.0/{PNID}/messages")) == 1


def _outbound_of(message):
    from atendimento.channels.base import Outbound

    return Outbound(message_id=message.id, to=CUSTOMER, kind="text", text=message.body)
