"""Generic gateways' files (issue 14, part 9): a file that cannot be fetched keeps the kind
its type declares while it waits for its retries; a file out is linked at PUBLIC_URL, or,
when unset, at the address the request that queued it came in on (SPEC §9)."""
import hashlib
import hmac
import json
from datetime import timedelta
from io import BytesIO

import pytest
from flask_babel import gettext

from atendimento.channels.ingest import retry_missing_media
from atendimento.extensions import db
from atendimento.models import Message, utcnow
from atendimento.outbox import deliver_due
from atendimento.tickets.outgoing import send_media

from .helpers import MP4, OGG, PDF, PNG, only_message, post_webhook, stored_bytes


@pytest.fixture
def gateway(factory, provider):
    provider.on("POST", "/send", lambda req, m: (200, {"id": f"gw-{req.json['id']}"}))
    return factory.connection(kind="generic", settings={"outbound_url": provider.url + "/send"})


def post(client, connection, payload):
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(connection.secret.encode(), raw, hashlib.sha256).hexdigest()
    return post_webhook(client, connection, raw=raw, headers={"X-Signature-256": signature})


@pytest.mark.parametrize("media, kind", [
    ({"mime_type": "image/jpeg"}, "image"),
    ({"mime_type": "IMAGE/PNG; charset=binary"}, "image"),
    ({"mime_type": "audio/ogg", "voice": True}, "audio"),
    ({"mime_type": "video/mp4"}, "video"),
    ({"mime_type": "application/pdf"}, "document"),
    ({"filename": "foto.png"}, "image"),          # no type: the file's name says it
    ({"filename": "contrato.pdf"}, "document"),
    ({}, "document"),                             # nothing said: a file all the same
    ({"url_path": "/files/nota.ogg"}, "audio"),   # the link's extension says it
])
def test_a_file_that_cannot_be_fetched_keeps_its_declared_kind(app, client, gateway, provider, media, kind):
    media = dict(media)
    path = media.pop("url_path", "/files/gone")
    provider.fail("GET", path, times=1, status=503)
    url = provider.url + path
    assert post(client, gateway, {"id": "m1", "from": "ana", "text": "veja", "media": {"url": url, **media}}
                ).status_code == 200
    message = only_message()
    assert (message.kind, message.body, message.media_path) == (kind, "veja", None)
    assert message.error == gettext("media unavailable")
    assert message.media_ref is not None and message.next_attempt_at is not None  # waits for its retry


def test_the_retry_stores_the_file_under_the_same_kind(app, client, gateway, provider):
    provider.fail("GET", "/files/photo", times=1, status=503)
    url = provider.file("/files/photo", PNG, "image/png")
    post(client, gateway, {"id": "m1", "from": "ana", "media": {"url": url, "mime_type": "image/png"}})
    assert only_message().kind == "image" and only_message().media_path is None
    assert retry_missing_media(now=utcnow() + timedelta(days=1)) == 1
    message = only_message()
    db.session.refresh(message)
    assert (message.kind, message.media_mime, message.error, message.media_ref) == ("image", "image/png", None, None)
    assert stored_bytes(app, message) == PNG


def test_the_last_failed_retry_leaves_the_image_visible_as_unavailable(app, client, gateway, provider):
    app.config["MEDIA_MAX_ATTEMPTS"] = 2
    provider.fail("GET", "/files/gone", times=5, status=503)
    post(client, gateway, {"id": "m1", "from": "ana", "media": {"url": provider.url + "/files/gone",
                                                                "mime_type": "image/jpeg"}})
    later = utcnow()
    for _ in range(3):
        later += timedelta(days=1)
        retry_missing_media(now=later)
    message = only_message()
    db.session.refresh(message)
    assert (message.kind, message.media_ref, message.error) == ("image", None, gettext("media unavailable"))


@pytest.mark.parametrize("data, mime", [(OGG, "audio/ogg"), (MP4, "video/mp4"), (PDF, "application/pdf")])
def test_fetched_files_still_follow_their_bytes(app, client, gateway, provider, data, mime):
    url = provider.file("/files/f", data, mime)
    post(client, gateway, {"id": "m1", "from": "ana", "media": {"url": url, "mime_type": mime}})
    message = only_message()
    assert message.media_mime == mime and stored_bytes(app, message) == data


def _sent_media(provider) -> dict:
    (request,) = provider.calls("POST", "/send")
    return request.json["media"]


def test_without_public_url_the_link_is_at_the_attendants_address(app, client, gateway, factory, provider, api):
    app.config.update(PUBLIC_URL=None, SERVER_NAME=None)
    ticket = factory.ticket(gateway, status="open", sender="ana-42")
    response = api(ticket.user).post(f"/tickets/{ticket.id}/messages", base_url="https://atendimento.test:8443",
                                     data={"text": "segue", "file": (BytesIO(PNG), "foto.png", "image/png")},
                                     content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert deliver_due() == 1
    url = _sent_media(provider)["url"]
    assert url.startswith("https://atendimento.test:8443/webhooks/media/")
    fetched = client.get(url.removeprefix("https://atendimento.test:8443"))
    assert fetched.status_code == 200 and fetched.data == PNG
    message = db.session.get(Message, response.get_json()["id"])
    assert message.status == "sent"


def test_public_url_wins_over_the_request(app, client, gateway, factory, provider, api):
    app.config.update(PUBLIC_URL="https://inbox.example.com/", SERVER_NAME=None)
    ticket = factory.ticket(gateway, status="open", sender="ana-42")
    api(ticket.user).post(f"/tickets/{ticket.id}/messages", base_url="http://10.0.0.5:8000",
                          data={"file": (BytesIO(PNG), "foto.png", "image/png")}, content_type="multipart/form-data")
    deliver_due()
    assert _sent_media(provider)["url"].startswith("https://inbox.example.com/webhooks/media/")


def test_with_neither_the_message_fails_saying_what_to_set(app, gateway, factory, provider):
    from werkzeug.datastructures import FileStorage

    app.config.update(PUBLIC_URL=None, SERVER_NAME=None)
    ticket = factory.ticket(gateway, status="open", sender="ana-42")
    message = send_media(ticket.user, ticket.id, FileStorage(BytesIO(PNG), "foto.png", content_type="image/png"))
    deliver_due()  # queued outside any request (a script): no address to take
    db.session.refresh(message)
    assert message.status == "failed" and "PUBLIC_URL" in message.error
    assert provider.calls("POST", "/send") == []
