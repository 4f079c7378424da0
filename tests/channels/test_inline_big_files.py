"""Evolution's inline base64 files as large as WhatsApp sends them (issue 14, part 10): a
17 MB document arrives through the real webhook route and is stored whole, decoded into
the media folder a chunk at a time; a file over the channel's own limit for its kind
still leaves a visible line. bench/inline_media.py measures the memory it takes."""
import base64
import hashlib
import json
import re
from pathlib import Path

from flask_babel import gettext

from atendimento.channels.registry import ADAPTERS
from atendimento.webhooks.routes import body_limit

from .helpers import JPEG, PDF, message_count, only_message, post_webhook, stored_bytes
from .test_evolution import evolution, evolution_api, upsert  # noqa: F401  (fixtures)

MB = 1024 * 1024
NGINX = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "atendimento.conf"


def document_body(data: bytes, name="contrato.pdf", key_id="3EB0DOC17MB") -> bytes:
    """The upsert Evolution posts with webhook_base64 on, built as bytes (one copy of the text)."""
    payload = upsert({"documentMessage": {"mimetype": "application/pdf", "fileName": name, "caption": "segue",
                                          "fileLength": str(len(data))}, "base64": "@@B64@@"},
                     "documentMessage", key_id=key_id)

    head, tail = json.dumps(payload).encode().split(b"@@B64@@")
    return head + base64.b64encode(data) + tail


def test_a_17_mb_document_arrives_whole(app, client, evolution):
    data = PDF[:-6] + bytes(range(256)) * (17 * MB // 256) + b"\n%%EOF"
    raw = document_body(data)
    assert len(raw) > 22 * MB  # far over WEBHOOK_MAX_BYTES and the old 16 MB * 4/3 allowance
    response = post_webhook(client, evolution, raw=raw)
    assert response.status_code == 200, response.get_data()[:300]
    message = only_message()
    assert (message.kind, message.media_mime, message.media_name, message.body) == (
        "document", "application/pdf", "contrato.pdf", "segue")
    assert message.media_size == len(data)
    assert hashlib.sha256(stored_bytes(app, message)).digest() == hashlib.sha256(data).digest()
    assert post_webhook(client, evolution, raw=raw).status_code == 200  # redelivered: stored once
    assert message_count() == 1
    leftovers = [p for p in Path(app.config["MEDIA_DIR"]).rglob("*") if p.is_file() and p.suffix == ".part"]
    assert leftovers == []


def test_a_file_over_the_channels_limit_for_its_kind_leaves_a_visible_line(app, client, evolution):
    big = JPEG + b"\x00" * (6 * MB)  # WhatsApp's images stop at 5 MB
    payload = upsert({"imageMessage": {"mimetype": "image/jpeg", "caption": "foto"},
                      "base64": base64.b64encode(big).decode()}, "imageMessage")
    assert post_webhook(client, evolution, payload).status_code == 200
    message = only_message()
    assert message.media_path is None
    assert message.body == "foto\n📎 " + gettext("File too large to receive: %(name)s", name="image")
    assert not [p for p in Path(app.config["MEDIA_DIR"]).rglob("*") if p.is_file()]


def test_broken_base64_stores_the_message_without_its_file(client, evolution):
    payload = upsert({"documentMessage": {"mimetype": "application/pdf", "fileName": "a.pdf"}, "base64": "A"},
                     "documentMessage")
    assert post_webhook(client, evolution, payload).status_code == 200
    message = only_message()
    assert (message.kind, message.media_path) == ("document", None)


def test_nginx_takes_what_the_route_takes(app):
    """deploy/nginx/atendimento.conf's /webhooks/ client_max_body_size fits the app's largest
    webhook body (Evolution's 100 MB document in base64), without being far above it."""
    block = re.search(r"location /webhooks/ \{(.*?)\}", NGINX.read_text(), re.S).group(1)
    nginx_bytes = int(re.search(r"client_max_body_size (\d+)m;", block).group(1)) * MB
    with app.test_request_context():
        limit = body_limit(ADAPTERS["evolution"])
    assert limit > 100 * MB * 4 // 3
    assert limit <= nginx_bytes <= limit + 8 * MB


def _big_body(app, messages: list[tuple[str, str]]) -> bytes:
    """One upsert per (key id, base64 text as it appears in the JSON), in one body over the limit."""
    records = []
    for key_id, text in messages:
        record = upsert({"documentMessage": {"mimetype": "application/pdf", "fileName": f"{key_id}.pdf"},
                         "base64": "@@B64@@"}, "documentMessage", key_id=key_id)
        records.append((record, text))
    envelope = records[0][0]
    envelope["data"] = [record["data"] for record, _text in records]
    encoded = json.dumps(envelope).encode()
    for _record, text in records:
        encoded = encoded.replace(b"@@B64@@", text.encode(), 1)
    assert len(encoded) > app.config["WEBHOOK_MAX_BYTES"]
    return encoded


def test_several_files_escaped_slashes_and_data_urls_in_one_body(app, client, evolution):
    files = {name: PDF + bytes([n]) * (500 * 1024) + os_random(n) for n, name in enumerate(("A1", "A2", "A3"))}
    plain = base64.b64encode(files["A1"]).decode()
    escaped = base64.b64encode(files["A2"]).decode().replace("/", "\\/")  # PHP-style JSON: parsed whole instead
    data_url = "data:application/pdf;base64," + base64.b64encode(files["A3"]).decode()
    raw = _big_body(app, [("A1", plain), ("A2", escaped), ("A3", data_url)])
    assert post_webhook(client, evolution, raw=raw).status_code == 200
    from sqlalchemy import select

    from atendimento.extensions import db
    from atendimento.models import Message

    stored = {m.external_id: m for m in db.session.scalars(select(Message))}
    assert sorted(stored) == ["A1", "A2", "A3"]
    for name, data in files.items():
        assert stored[name].media_size == len(data) and stored_bytes(app, stored[name]) == data, name


def os_random(seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(300 * 1024)  # every base64 character, '/' and '+' included
