"""Benchmark the memory an Evolution webhook with an inline base64 file takes (issue 14, part 10).

    .venv/bin/python bench/inline_media.py [--mb 17]

Builds an embedded app (SQLite and a media folder in a temporary directory) with one
Evolution connection, then, in one run and measured alike with tracemalloc:

- old: what the webhook did before: the raw body read, ``json.loads`` of it, ``b64decode``
  of the whole text, ``media.store`` of the bytes (the raw body, the JSON and the decoded
  file at once);
- new: the real webhook route through the WSGI app, the body read from a file as a server
  reads it from its socket, into one buffer (``webhooks.routes.read_body``), the file's
  text taken out as a view before the JSON is parsed (``channels.inline``) and decoded
  into the media folder a chunk at a time (``media.store_base64``).

Both read the same body from a file on disk inside the measured region (as gunicorn reads
a socket). Prints the peak of Python allocations of each, in MB and as a multiple of the
file. Figures only.
"""
from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MB = 1024 * 1024
APIKEY = "bench-apikey-0123456789"


def body_for(data: bytes) -> bytes:
    payload = {"event": "messages.upsert", "instance": "bench", "apikey": APIKEY, "data": {
        "key": {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": False, "id": f"BENCH{time.time_ns()}"},
        "pushName": "Carla", "messageType": "documentMessage", "messageTimestamp": int(time.time()),
        "message": {"documentMessage": {"mimetype": "application/pdf", "fileName": "contrato.pdf",
                                        "fileLength": str(len(data))}, "base64": "@@B64@@"}}}
    head, tail = json.dumps(payload).encode().split(b"@@B64@@")
    return head + base64.b64encode(data) + tail


def measure(action, raw: bytes) -> tuple[float, float]:
    path = Path(tempfile.mkstemp(prefix="bench-body-")[1])
    path.write_bytes(raw)
    del raw
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    action(path)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()
    return peak / MB, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=17.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-inline-"))
    os.environ.update(DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}", MEDIA_DIR=str(workdir / "media"),
                      SECRET_KEY="bench-secret")
    os.environ.pop("REDIS_URL", None)
    from atendimento import create_app
    from atendimento.extensions import db
    from atendimento.media import store
    from atendimento.models import Connection, Message
    from werkzeug.test import EnvironBuilder

    app = create_app()
    app.config["MAX_UPLOAD_MB"] = 200  # the old store's own cap, out of the way of the comparison
    data = b"%PDF-1.4\n" + os.urandom(int(args.mb * MB))
    with app.app_context():
        db.create_all()
        connection = Connection(name="Bench", kind="evolution",
                                settings={"base_url": "http://127.0.0.1:9", "instance": "bench", "apikey": APIKEY})
        db.session.add(connection)
        db.session.commit()
        url = f"/webhooks/evolution/{connection.token}"

        def old_way(path):
            raw = path.read_bytes()
            payload = json.loads(raw)
            decoded = base64.b64decode(payload["data"]["message"]["base64"])
            store(decoded, declared_mime="application/pdf", filename="contrato.pdf", kind_hint="document")

        def new_way(path):
            with open(path, "rb") as stream:
                environ = EnvironBuilder(path=url, method="POST", input_stream=stream, content_type="application/json",
                                         content_length=path.stat().st_size).get_environ()
                answer = b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: None))
            assert json.loads(answer).get("stored") == 1, answer[:300]

        rounds = {"old": [], "new": []}
        for _ in range(2):  # alternating, so both see the same state
            rounds["old"].append(measure(old_way, body_for(data)))
            rounds["new"].append(measure(new_way, body_for(data)))
        stored = db.session.scalars(db.select(Message).order_by(Message.id.desc())).first()
        assert stored.media_size == len(data), stored.media_size
    body_mb = len(body_for(data)) / MB
    print(f"file {len(data) / MB:.1f} MB, webhook body {body_mb:.1f} MB (base64 in JSON)")
    for name, figures in rounds.items():
        peak = max(p for p, _t in figures)
        seconds = min(t for _p, t in figures)
        print(f"{name:>4}: peak {peak:6.1f} MB of Python allocations ({peak / (len(data) / MB):.2f}x the file), "
              f"{seconds * 1000:.0f} ms")
    old_peak = max(p for p, _t in rounds["old"])
    new_peak = max(p for p, _t in rounds["new"])
    print(f"new / old peak: {new_peak / old_peak:.2f}")


if __name__ == "__main__":
    main()
