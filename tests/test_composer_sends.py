"""The composer's sends (issue 12, parts 1 and 8; SPEC §6.1): never twice — the same
``Idempotency-Key`` answers the first message again, also when two requests race —; a file
the channel would refuse (WhatsApp images over 5 MB, Telegram over 50 MB, our
``MAX_UPLOAD_MB``) is refused before it is queued with the limit named; a caption travels
with the file where the channel takes one and follows it as a text where it does not."""
from __future__ import annotations

import itertools
from io import BytesIO

import pytest
from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import IdempotencyKey, Message, utcnow
from atendimento.outbox import deliver_due

from .channels.helpers import PDF, message_count, provider  # noqa: F401  (fixture)

CUSTOMER = "5511988887777"
PNID, BOT = "106540352242922", "123456:ABC-bot"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _generic_ticket(factory):
    connection = factory.connection(settings={"outbound_url": "http://127.0.0.1:9/send"})
    return factory.ticket(connection, status="open", sender=CUSTOMER)


def _out_messages(ticket_id):
    return list(db.session.scalars(select(Message).where(Message.ticket_id == ticket_id, Message.direction == "out")
                                   .order_by(Message.id)))


# -- Idempotency-Key ------------------------------------------------------------------

def test_the_same_key_answers_the_first_message_and_sends_nothing_twice(api, factory):
    ticket = _generic_ticket(factory)
    headers = {"Idempotency-Key": "send-1"}
    first = api(ticket.user).post(f"/tickets/{ticket.id}/messages", json={"text": "Oi"}, headers=headers)
    again = api(ticket.user).post(f"/tickets/{ticket.id}/messages", json={"text": "Oi"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"]
    assert [m.body for m in _out_messages(ticket.id)] == ["Oi"]
    other = api(ticket.user).post(f"/tickets/{ticket.id}/messages", json={"text": "Oi"},
                                  headers={"Idempotency-Key": "send-2"})
    assert other.status_code == 201 and other.json["id"] != first.json["id"]


def test_a_file_sent_twice_with_one_key_is_stored_once(app, api, factory):
    ticket = _generic_ticket(factory)
    for expected in (201, 200):
        answer = api(ticket.user).post(f"/tickets/{ticket.id}/messages", headers={"Idempotency-Key": "file-1"},
                                       data={"file": (BytesIO(PDF), "nota.pdf"), "text": "a nota"},
                                       content_type="multipart/form-data")
        assert answer.status_code == expected, answer.json
    assert len(_out_messages(ticket.id)) == 1
    from pathlib import Path

    assert len([p for p in Path(app.config["MEDIA_DIR"]).rglob("*") if p.is_file()]) == 1


def test_keys_are_per_user_and_expire_after_24_hours(api, factory):
    ticket = _generic_ticket(factory)
    admin = factory.admin("Chefe", email="chefe@example.com")
    headers = {"Idempotency-Key": "k"}
    first = api(ticket.user).post(f"/tickets/{ticket.id}/messages", json={"text": "Um"}, headers=headers)
    by_admin = api(admin).post(f"/tickets/{ticket.id}/messages", json={"text": "Dois"}, headers=headers)
    assert (first.status_code, by_admin.status_code) == (201, 201)
    db.session.execute(IdempotencyKey.__table__.update().values(created_at=utcnow().replace(year=2020)))
    db.session.commit()
    later = api(ticket.user).post(f"/tickets/{ticket.id}/messages", json={"text": "Três"}, headers=headers)
    assert later.status_code == 201
    assert [m.body for m in _out_messages(ticket.id)] == ["Um", "Dois", "Três"]


def test_a_key_of_another_ticket_or_an_unprintable_key_is_refused(api, factory):
    ticket = _generic_ticket(factory)
    other = factory.ticket(ticket.connection, status="open", assignee=ticket.user, sender="5511900001111")
    assert api(ticket.user).post(f"/tickets/{ticket.id}/messages", json={"text": "Oi"},
                                 headers={"Idempotency-Key": "same"}).status_code == 201
    crossed = api(ticket.user).post(f"/tickets/{other.id}/messages", json={"text": "Oi"},
                                    headers={"Idempotency-Key": "same"})
    assert crossed.status_code == 422 and "Idempotency-Key" in crossed.json["error"]["fields"]
    for bad in ("x" * 256, "tab\tkey"):
        answer = api(ticket.user).post(f"/tickets/{ticket.id}/messages", json={"text": "Oi"},
                                       headers={"Idempotency-Key": bad})
        assert answer.status_code == 422, bad
    assert len(_out_messages(ticket.id)) == 1 and not _out_messages(other.id)


def test_the_page_composer_takes_the_key_too(client, auth, factory):
    ticket = _generic_ticket(factory)
    auth.login(ticket.user)
    codes = [client.post(f"/tickets/{ticket.id}/messages", data={"text": "Oi"},
                         headers={"Accept": "application/json", "Idempotency-Key": "page-1"}).status_code
             for _ in range(2)]
    assert codes == [201, 200]
    note = [client.post(f"/tickets/{ticket.id}/messages", data={"text": "Nota", "note": "1"},
                        headers={"Accept": "application/json", "Idempotency-Key": "page-2"}).status_code
            for _ in range(2)]
    assert note == [201, 200]
    assert [m.kind for m in _out_messages(ticket.id)] == ["text", "note"]


# -- the channel's limits -----------------------------------------------------------------

def _whatsapp(factory, provider):
    provider.on("POST", rf"/v21\.0/{PNID}/media", lambda r, m: (200, {"id": "5501"}))
    ids = itertools.count(1)
    provider.on("POST", rf"/v21\.0/{PNID}/messages", lambda r, m: (200, {
        "messaging_product": "whatsapp", "messages": [{"id": f"wamid.OUT{next(ids)}"}]}))
    connection = factory.connection(kind="whatsapp_cloud", settings={
        "phone_number_id": PNID, "access_token": "token", "verify_token": "v", "base_url": provider.url + "/v21.0"})
    return factory.ticket(connection, status="open", sender=CUSTOMER)


def test_an_image_over_whatsapps_5_mb_is_refused_with_the_limit_named(app, api, factory, provider):
    ticket = _whatsapp(factory, provider)
    big = PNG + b"\0" * (5 * 1024 * 1024)
    before = message_count()
    answer = api(ticket.user).post(f"/tickets/{ticket.id}/messages", data={"file": (BytesIO(big), "foto.png")},
                                   content_type="multipart/form-data")
    assert answer.status_code == 413, answer.json
    assert "5 MB" in answer.json["error"]["fields"]["file"] and "WhatsApp" in answer.json["error"]["fields"]["file"]
    assert message_count() == before
    from pathlib import Path

    assert not [p for p in Path(app.config["MEDIA_DIR"]).rglob("*") if p.is_file()]
    # The same size as a document is within WhatsApp's 100 MB.
    fine = api(ticket.user).post(f"/tickets/{ticket.id}/messages",
                                 data={"file": (BytesIO(PDF + b"\0" * (5 * 1024 * 1024)), "grande.pdf")},
                                 content_type="multipart/form-data")
    assert fine.status_code == 201, fine.json


def test_over_max_upload_mb_is_a_clear_413(app, api, factory):
    app.config["MEDIA_MAX_BYTES"] = 1024
    ticket = _generic_ticket(factory)
    answer = api(ticket.user).post(f"/tickets/{ticket.id}/messages",
                                   data={"file": (BytesIO(PDF + b"\0" * 2048), "nota.pdf")},
                                   content_type="multipart/form-data")
    assert answer.status_code == 413
    assert answer.json["error"]["fields"]["file"] == "São aceitos arquivos de até 1 KB."
    assert not _out_messages(ticket.id)


def test_the_composer_knows_the_channels_limits(client, auth, factory, provider):
    ticket = _whatsapp(factory, provider)
    auth.login(ticket.user)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    import html
    import json
    import re

    limits = json.loads(html.unescape(re.search(r"data-file-rules='([^']+)'", page).group(1)))
    assert limits["image"] == 5 * 1024 * 1024 and limits["document"] == 16 * 1024 * 1024  # MAX_UPLOAD_MB 16
    assert limits["captions"] == ["image", "video", "document"] and limits["channel"] == "WhatsApp Cloud API"


# -- captions -------------------------------------------------------------------------------

def test_whatsapp_audio_takes_no_caption_so_the_text_follows_it(api, factory, provider):
    ticket = _whatsapp(factory, provider)
    from .audio_samples import sine_recording

    mp3 = sine_recording("mp3", "libmp3lame", 1.0)
    answer = api(ticket.user).post(f"/tickets/{ticket.id}/messages",
                                   data={"file": (BytesIO(mp3), "aviso.mp3"), "text": "Ouça o aviso"},
                                   content_type="multipart/form-data")
    assert answer.status_code == 201, answer.json
    assert (answer.json["kind"], answer.json["body"]) == ("audio", "")
    assert [(m.kind, m.body) for m in _out_messages(ticket.id)] == [("audio", ""), ("text", "Ouça o aviso")]
    deliver_due()
    sends = [c.json for c in provider.calls("POST", rf"/v21\.0/{PNID}/messages")]
    assert [s["type"] for s in sends] == ["audio", "text"]
    assert sends[1]["text"]["body"] == "Ouça o aviso"


def test_a_caption_travels_with_an_image(api, factory, provider):
    ticket = _whatsapp(factory, provider)
    answer = api(ticket.user).post(f"/tickets/{ticket.id}/messages",
                                   data={"file": (BytesIO(PNG), "foto.png"), "text": "A foto"},
                                   content_type="multipart/form-data")
    assert answer.status_code == 201 and answer.json["body"] == "A foto"
    deliver_due()
    (send,) = provider.calls("POST", rf"/v21\.0/{PNID}/messages")
    assert send.json["image"]["caption"] == "A foto"
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.ticket_id == ticket.id,
                                                                             Message.direction == "out")) == 1


def test_a_type_whatsapp_cloud_refuses_is_refused_with_what_it_takes(app, api, factory, provider):
    ticket = _whatsapp(factory, provider)
    gif = b"GIF89a" + b"\0" * 64
    answer = api(ticket.user).post(f"/tickets/{ticket.id}/messages", data={"file": (BytesIO(gif), "anim.gif")},
                                   content_type="multipart/form-data")
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["fields"]["file"] == (
        "WhatsApp Cloud API não aceita imagens deste tipo (image/gif); aceita JPG, PNG.")
    assert message_count() == 0 or not _out_messages(ticket.id)
    from pathlib import Path

    assert not [p for p in Path(app.config["MEDIA_DIR"]).rglob("*") if p.is_file()]
    # The same picture through a gateway (Evolution), which sends any file, is fine.
    evolution = factory.connection(kind="evolution", settings={"base_url": provider.url, "instance": "i",
                                                               "apikey": "k"})
    other = factory.ticket(evolution, status="open", sender="5511900002222")
    assert api(other.user).post(f"/tickets/{other.id}/messages", data={"file": (BytesIO(gif), "anim.gif")},
                                content_type="multipart/form-data").status_code == 201
