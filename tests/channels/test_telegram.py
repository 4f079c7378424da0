"""Telegram Bot API: ``Update`` objects as the Bot API documents them, against a local
server that plays ``getFile``, the file host and the send methods."""
from io import BytesIO

import pytest
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from atendimento.tickets.outgoing import send_media
from atendimento.extensions import db
from atendimento.models import Message
from atendimento.outbox import deliver_due
from atendimento.tickets import outgoing, service

from .helpers import JPEG, MP3, MP4, OGG, PDF, WEBP, message_count, only_message, post_webhook, stored_bytes

BOT = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
CHAT = 987654321


def update(content, message_id=55, update_id=691514221, chat_type="private"):
    return {"update_id": update_id, "message": {
        "message_id": message_id,
        "from": {"id": CHAT, "is_bot": False, "first_name": "João", "last_name": "Pereira",
                 "username": "joaop", "language_code": "pt-br"},
        "chat": {"id": CHAT, "first_name": "João", "last_name": "Pereira", "username": "joaop", "type": chat_type},
        "date": 1679515515, **content}}


def post(client, connection, payload, secret="__right__"):
    headers = {} if secret is None else {
        "X-Telegram-Bot-Api-Secret-Token": connection.secret if secret == "__right__" else secret}
    return post_webhook(client, connection, payload, headers=headers)


@pytest.fixture
def bot_api(provider):
    files = {}
    sent = iter(range(100, 1000))

    def get_file(request, match):
        file_id = request.query.get("file_id")
        if file_id not in files:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
        path = f"documents/file_{len(file_id)}.bin"
        provider.file(f"/file/bot{BOT}/{path}", files[file_id])
        return 200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": "AgADAgAD",
                                            "file_size": len(files[file_id]), "file_path": path}}

    def send(request, match):
        return 200, {"ok": True, "result": {"message_id": next(sent), "chat": {"id": CHAT, "type": "private"},
                                            "date": 1679515600}}

    provider.on("GET", rf"/bot{BOT}/getFile", get_file)
    provider.on("POST", rf"/bot{BOT}/(sendMessage|sendPhoto|sendDocument|sendVoice|sendAudio|sendVideo)", send)
    provider.files = files
    return provider


@pytest.fixture
def telegram(factory, bot_api):
    return factory.connection(kind="telegram", secret="s3cr3t-T0ken_from-setWebhook",
                              settings={"bot_token": BOT, "base_url": bot_api.url})


def test_a_text_opens_a_ticket(client, telegram):
    assert post(client, telegram, update({"text": "Olá, preciso de ajuda"})).status_code == 200
    stored = only_message()
    assert (stored.body, stored.external_id) == ("Olá, preciso de ajuda", f"{CHAT}:55")
    assert stored.ticket.contact.name == "João Pereira"


@pytest.mark.parametrize("secret, status", [(None, 401), ("wrong", 403)])
def test_the_secret_token_header_is_checked(client, telegram, secret, status):
    assert post(client, telegram, update({"text": "oi"}), secret=secret).status_code == status
    assert message_count() == 0


def test_a_redelivered_update_is_stored_once(client, telegram):
    post(client, telegram, update({"text": "oi"}))
    post(client, telegram, update({"text": "oi"}))
    assert message_count() == 1


def test_edits_callbacks_and_groups_are_acknowledged_and_ignored(client, telegram):
    edited = {"update_id": 2, "edited_message": update({"text": "x"})["message"]}
    assert post(client, telegram, edited).status_code == 200
    assert post(client, telegram, update({"text": "oi grupo"}, chat_type="group")).status_code == 200
    assert message_count() == 0


def _size(file_id, width, size):
    return {"file_id": file_id, "file_unique_id": file_id[-6:], "file_size": size, "width": width, "height": width}


MEDIA = {
    "photo": ({"photo": [_size("AgACAgEAAxkBAAIBsmall", 90, 1200), _size("AgACAgEAAxkBAAIBlarge", 1280, 9000),
                         _size("AgACAgEAAxkBAAIBmid", 320, 4000)], "caption": "meu recibo"},
              "AgACAgEAAxkBAAIBlarge", JPEG, "image", "image/jpeg"),
    "voice": ({"voice": {"file_id": "AwACAgEAAxkBvoice", "file_unique_id": "AgADvo", "duration": 3,
                         "mime_type": "audio/ogg", "file_size": 4000}}, "AwACAgEAAxkBvoice", OGG, "audio", "audio/ogg"),
    "audio": ({"audio": {"file_id": "CQACAgEAAxkBaudio", "file_unique_id": "AgADau", "duration": 180,
                         "performer": "Banda", "title": "Música", "file_name": "musica.mp3",
                         "mime_type": "audio/mpeg", "file_size": 4000}}, "CQACAgEAAxkBaudio", MP3, "audio",
              "audio/mpeg"),
    "document": ({"document": {"file_id": "BQACAgEAAxkBdoc", "file_unique_id": "AgADdo", "file_name": "boleto.pdf",
                               "mime_type": "application/pdf", "file_size": 4000}, "caption": "segue"},
                 "BQACAgEAAxkBdoc", PDF, "document", "application/pdf"),
    "video": ({"video": {"file_id": "BAACAgEAAxkBvideo", "file_unique_id": "AgADvi", "width": 640, "height": 360,
                         "duration": 5, "mime_type": "video/mp4", "file_size": 4000}},
              "BAACAgEAAxkBvideo", MP4, "video", "video/mp4"),
    "sticker": ({"sticker": {"file_id": "CAACAgEAAxkBsticker", "file_unique_id": "AgADst", "type": "regular",
                             "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "😀",
                             "set_name": "Animals", "file_size": 4000}}, "CAACAgEAAxkBsticker", WEBP, "sticker",
                "image/webp"),
}


@pytest.mark.parametrize("field", MEDIA)
def test_each_file_type_is_fetched_through_get_file(app, client, telegram, bot_api, field):
    content, file_id, data, kind, mime = MEDIA[field]
    bot_api.files[file_id] = data
    post(client, telegram, update(content))
    stored = only_message()
    assert (stored.kind, stored.media_mime, stored.error) == (kind, mime, None)
    assert stored.voice == (field == "voice")  # a recording, not an audio file
    assert stored_bytes(app, stored) == data
    assert stored.body == content.get("caption", "")
    if field == "document":
        assert stored.media_name == "boleto.pdf"


def test_location_and_contact(client, telegram):
    post(client, telegram, update({"location": {"latitude": -22.9068, "longitude": -43.1729}}, message_id=1))
    post(client, telegram, update({"contact": {"phone_number": "+5521988887777", "first_name": "Bia",
                                               "last_name": "Lima", "user_id": 42}}, message_id=2))
    rows = db.session.execute(select(Message.kind, Message.body).order_by(Message.id)).all()
    assert rows[0] == ("location", "https://maps.google.com/?q=-22.9068,-43.1729")
    assert rows[1] == ("text", "👤 Bia Lima · +5521988887777")


def test_an_unknown_content_is_a_visible_system_line(client, telegram):
    post(client, telegram, update({"dice": {"emoji": "🎲", "value": 4}}))
    stored = only_message()
    assert (stored.kind, stored.body) == ("system", gettext("unsupported type: %(type)s", type="dice"))


def _open_ticket(factory, telegram):
    return factory.ticket(telegram, status="open", sender=str(CHAT))


def test_outbound_text_uses_send_message(telegram, bot_api, factory):
    ticket = _open_ticket(factory, telegram)
    sent = outgoing.send_text(ticket.user, ticket.id, "Em que posso ajudar?")
    deliver_due()
    (call,) = bot_api.calls("POST", f"/bot{BOT}/sendMessage")
    assert call.json == {"chat_id": str(CHAT), "text": "Em que posso ajudar?"}
    db.session.refresh(sent)
    assert (sent.status, sent.external_id) == ("sent", f"{CHAT}:100")


@pytest.mark.parametrize("data, filename, method, field", [
    (JPEG, "foto.jpg", "sendPhoto", "photo"), (PDF, "nota.pdf", "sendDocument", "document"),
    (OGG, "voz.ogg", "sendAudio", "audio"),  # a file from disk, not a voice note (tests/test_voice_notes.py)
    (MP3, "musica.mp3", "sendAudio", "audio"),
    (MP4, "video.mp4", "sendVideo", "video")])
def test_outbound_files_use_the_matching_method(telegram, bot_api, factory, data, filename, method, field):
    ticket = _open_ticket(factory, telegram)
    queued = send_media(ticket.user, ticket.id, FileStorage(BytesIO(data), filename), "legenda")
    deliver_due()
    (call,) = bot_api.calls("POST", f"/bot{BOT}/{method}")
    assert call.form == {"chat_id": str(CHAT), "caption": "legenda"}
    assert call.files[field][0] == filename and call.files[field][2] == data
    assert db.session.get(Message, queued.id).status == "sent"


def test_a_refusal_fails_at_once_with_telegrams_reason(telegram, bot_api, factory):
    bot_api.on("POST", f"/bot{BOT}/sendMessage", lambda r, m: (403, {
        "ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}))
    ticket = _open_ticket(factory, telegram)
    sent = outgoing.send_text(ticket.user, ticket.id, "Oi")
    deliver_due()
    db.session.refresh(sent)
    assert sent.status == "failed" and "bot was blocked" in sent.error and sent.attempts == 1
