"""Shared by the channel, outbox and media tests: the fake provider, sample files,
posting webhooks, and a log of the domain events the services publish."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from atendimento.events import domain_event
from atendimento.extensions import db
from atendimento.models import Message

from .fake_provider import FakeProvider

# Just enough of each format for content sniffing to recognise it.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x11" * 200 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x22" * 200
OGG = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00OpusHead" + b"\x33" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x44" * 200
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n" + b"\x55" * 200 + b"\n%%EOF"
WEBP = b"RIFF\xd0\x00\x00\x00WEBPVP8 " + b"\x66" * 200
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x0f" + b"\x77" * 200
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


@pytest.fixture
def provider():
    fake = FakeProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def published():
    """Every domain event published during the test, as (name, ticket_id, data)."""
    seen = []

    def record(_sender, name, ticket_id, data, **_kw):
        seen.append((name, ticket_id, data))

    domain_event.connect(record)
    yield seen
    domain_event.disconnect(record)


def post_webhook(client, connection, payload=None, *, raw: bytes | None = None, headers=None, kind=None):
    raw = raw if raw is not None else json.dumps(payload).encode()
    return client.post(f"/webhooks/{kind or connection.kind}/{connection.token}", data=raw,
                       headers={"Content-Type": "application/json", **(headers or {})})


def message_count() -> int:
    return db.session.scalar(select(func.count(Message.id)))


def only_message() -> Message:
    messages = db.session.scalars(select(Message).order_by(Message.id)).all()
    assert len(messages) == 1, messages
    return messages[0]


def stored_bytes(app, message: Message) -> bytes:
    from pathlib import Path

    return (Path(app.config["MEDIA_DIR"]) / message.media_path).read_bytes()
