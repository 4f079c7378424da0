"""Generic webhooks (SPEC §8): signed JSON in, signed JSON out."""
import hashlib
import hmac
import json

import pytest
from flask_babel import gettext
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Message, Ticket
from atendimento.outbox import deliver_due
from atendimento.tickets import outgoing, service

from .helpers import HTML, PNG, message_count, only_message, post_webhook, stored_bytes


def signed(connection, payload):
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(connection.secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Signature-256": signature}


def post(client, connection, payload):
    raw, headers = signed(connection, payload)
    return post_webhook(client, connection, raw=raw, headers=headers)


@pytest.fixture
def gateway(factory, provider):
    provider.on("POST", "/send", lambda req, m: (200, {"id": f"gw-{req.json['id']}"}))
    return factory.connection(kind="generic", settings={"outbound_url": provider.url + "/send"})


def test_a_message_opens_a_pending_ticket(client, gateway):
    response = post(client, gateway, {"id": "m1", "from": "5511988887777", "name": "Ana", "text": "Oi!",
                                      "timestamp": 1717000000})
    assert response.status_code == 200
    message = only_message()
    assert (message.direction, message.kind, message.body, message.status) == ("in", "text", "Oi!", "received")
    assert message.ticket.status == "pending" and message.ticket.unread == 1
    assert message.ticket.contact.name == "Ana" and message.ticket.contact.phone == "5511988887777"


def test_a_redelivery_stores_nothing_twice(client, gateway):
    payload = {"id": "m1", "from": "ana", "text": "Oi!"}
    assert post(client, gateway, payload).status_code == 200
    assert post(client, gateway, payload).status_code == 200
    assert message_count() == 1
    assert db.session.scalar(select(Ticket.unread)) == 1


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"X-Signature-256": "sha256=" + "0" * 64}, 403),
    ({"X-Signature-256": "not-even-hex"}, 403),
])
def test_bad_signatures_are_refused_and_store_nothing(client, gateway, headers, status):
    response = post_webhook(client, gateway, {"id": "m1", "from": "ana", "text": "Oi"}, headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    assert message_count() == 0


def test_malformed_json_is_400(client, gateway):
    raw = b'{"id": "m1", "from": '
    signature = "sha256=" + hmac.new(gateway.secret.encode(), raw, hashlib.sha256).hexdigest()
    response = post_webhook(client, gateway, raw=raw, headers={"X-Signature-256": signature})
    assert response.status_code == 400
    assert message_count() == 0


def test_a_message_without_sender_is_400(client, gateway):
    assert post(client, gateway, {"id": "m1", "text": "Oi"}).status_code == 400
    assert message_count() == 0


def test_an_oversize_body_is_413_and_the_server_stays_up(app, client, gateway):
    app.config["WEBHOOK_MAX_BYTES"] = 2048
    response = post(client, gateway, {"id": "m1", "from": "ana", "text": "x" * 5000})
    assert response.status_code == 413
    assert message_count() == 0
    assert post(client, gateway, {"id": "m2", "from": "ana", "text": "short"}).status_code == 200


def test_unknown_or_disabled_connections_are_404(client, gateway, factory):
    payload = {"id": "m1", "from": "ana", "text": "Oi"}
    raw, headers = signed(gateway, payload)
    assert client.post(f"/webhooks/generic/{'x' * 32}", data=raw, headers=headers).status_code == 404
    assert post_webhook(client, gateway, raw=raw, headers=headers, kind="telegram").status_code == 404
    assert post_webhook(client, gateway, raw=raw, headers=headers, kind="nope").status_code == 404
    gateway.enabled = False
    db.session.commit()
    assert post_webhook(client, gateway, raw=raw, headers=headers).status_code == 404
    assert message_count() == 0


def test_media_is_downloaded_and_typed_by_its_content(app, client, gateway, provider):
    url = provider.file("/files/photo", PNG, "image/png")
    post(client, gateway, {"id": "m1", "from": "ana", "text": "veja",
                           "media": {"url": url, "mime_type": "image/png", "filename": "../../etc/passwd"}})
    message = only_message()
    assert (message.kind, message.media_mime, message.body) == ("image", "image/png", "veja")
    assert stored_bytes(app, message) == PNG
    assert "passwd" not in message.media_path and ".." not in message.media_path
    assert message.media_name == "passwd"


def test_a_declared_image_that_is_html_is_kept_as_an_opaque_document(client, gateway, provider):
    url = provider.file("/files/evil", HTML, "image/png")
    post(client, gateway, {"id": "m1", "from": "ana", "media": {"url": url, "mime_type": "image/png"}})
    message = only_message()
    assert message.kind == "document"
    assert message.media_mime == "application/octet-stream"


def test_an_unknown_type_becomes_a_visible_system_line(client, gateway):
    post(client, gateway, {"type": "poll", "id": "m1", "from": "ana", "question": "?"})
    message = only_message()
    assert message.kind == "system"
    assert message.body == gettext("unsupported type: %(type)s", type="poll")


def test_statuses_move_our_message_forward(client, gateway, factory):
    ticket = factory.ticket(gateway, status="open")
    sent = outgoing.send_text(ticket.user, ticket.id, "Olá")
    deliver_due()
    db.session.refresh(sent)
    assert (sent.status, sent.external_id) == ("sent", f"gw-{sent.id}")
    post(client, gateway, {"type": "status", "id": sent.external_id, "status": "read"})
    post(client, gateway, {"type": "status", "id": sent.external_id, "status": "delivered"})
    db.session.refresh(sent)
    assert sent.status == "read"


def test_replies_are_posted_signed_with_our_id(app, gateway, factory, provider):
    ticket = factory.ticket(gateway, status="open", sender="ana-42")
    message = outgoing.send_text(ticket.user, ticket.id, "Bom dia")
    assert deliver_due() == 1
    (request,) = provider.calls("POST", "/send")
    assert request.json == {"id": str(message.id), "to": "ana-42", "text": "Bom dia"}
    expected = "sha256=" + hmac.new(gateway.secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature-256"] == expected
    assert request.headers["Idempotency-Key"] == f"atendimento-{message.id}"


def test_a_file_reply_carries_a_link_the_gateway_can_fetch(app, client, gateway, factory, provider):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from atendimento.tickets.outgoing import send_media

    ticket = factory.ticket(gateway, status="open", sender="ana-42")
    message = send_media(ticket.user, ticket.id, FileStorage(BytesIO(PNG), "foto.png", content_type="image/png"),
                         "segue")
    deliver_due()
    (request,) = provider.calls("POST", "/send")
    media = request.json["media"]
    assert (media["mime_type"], media["filename"], request.json["text"]) == ("image/png", "foto.png", "segue")
    fetched = client.get(media["url"].replace("http://localhost", ""))
    assert fetched.status_code == 200 and fetched.data == PNG
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    tampered = media["url"].replace("http://localhost", "")[:-3] + "abc"
    assert client.get(tampered).status_code == 404
    assert db.session.get(Message, message.id).status == "sent"
