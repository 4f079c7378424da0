"""Voice notes (issue 12, SPEC §8): whatever the browser recorded (WebM/Opus from Chromium
and Firefox, MP4/AAC from Safari) reaches each channel as OGG/Opus mono, in the channel's
voice-note shape; an audio file from disk goes as a file. Real recordings made with PyAV,
real local servers playing each provider's API."""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from atendimento.audio import to_voice_note
from atendimento.outbox import deliver_due

from .audio_samples import describe, sine_recording
from .channels.helpers import OGG, PDF, message_count, only_message, post_webhook, provider  # noqa: F401

CUSTOMER = "5511988887777"
PNID, BOT, INSTANCE = "106540352242922", "123456:ABC-bot", "atendimento"

# Chromium/Firefox at their defaults (stereo), as the composer asks them (mono 32 kbps: the
# Opus is only moved into OGG), and Safari (MP4/AAC).
RECORDED = {"webm": ("webm", "libopus", "gravacao.webm", {}),
            "webm-mono": ("webm", "libopus", "gravacao.webm", {"layout": "mono", "bit_rate": 32000}),
            "mp4": ("mp4", "aac", "gravacao.mp4", {})}


@pytest.fixture(scope="module")
def recordings():
    """2 s as each browser family records it, and an MP3 an attendant might attach."""
    made = {name: (sine_recording(fmt, codec, 2.0, **kw), filename)
            for name, (fmt, codec, filename, kw) in RECORDED.items()}
    made["mp3"] = (sine_recording("mp3", "libmp3lame", 2.0), "musica.mp3")
    return made


# -- each kind against its provider: the connection, and what the provider received -------

def _whatsapp_cloud(factory, provider):
    provider.on("POST", rf"/v21\.0/{PNID}/media", lambda r, m: (200, {"id": "5501"}))
    ids = itertools.count(1)
    provider.on("POST", rf"/v21\.0/{PNID}/messages", lambda r, m: (200, {
        "messaging_product": "whatsapp", "messages": [{"id": f"wamid.OUT{next(ids)}"}]}))
    connection = factory.connection(kind="whatsapp_cloud", settings={
        "phone_number_id": PNID, "access_token": "token", "verify_token": "v", "base_url": provider.url + "/v21.0"})

    def received(client):
        (upload,) = provider.calls("POST", rf"/v21\.0/{PNID}/media")
        # A caption follows an audio as its own text on WhatsApp (tickets/outgoing.py).
        send, *captions = provider.calls("POST", rf"/v21\.0/{PNID}/messages")
        assert all(c.json["type"] == "text" for c in captions)
        assert send.json["type"] == "audio" and send.json["audio"]["id"] == "5501"
        assert set(send.json["audio"]) <= {"id", "voice"}  # audio takes no caption
        return upload.files["file"][2], send.json["audio"].get("voice", False)

    return connection, received


def _evolution(factory, provider):
    provider.on("POST", rf"/message/(sendWhatsAppAudio|sendMedia)/{INSTANCE}", lambda r, m: (201, {
        "key": {"remoteJid": f"{CUSTOMER}@s.whatsapp.net", "fromMe": True, "id": "BAE5000000000001"}}))
    connection = factory.connection(kind="evolution", settings={
        "base_url": provider.url, "instance": INSTANCE, "apikey": "evo-key"})

    def received(client):
        (send,) = provider.calls("POST", rf"/message/(sendWhatsAppAudio|sendMedia)/{INSTANCE}")
        if send.path.startswith("/message/sendWhatsAppAudio/"):
            assert set(send.json) == {"number", "audio"} and send.json["number"] == CUSTOMER
            return base64.b64decode(send.json["audio"]), True
        assert send.json["mediatype"] == "audio"
        return base64.b64decode(send.json["media"]), False

    return connection, received


def _telegram(factory, provider):
    provider.on("POST", rf"/bot{BOT}/(sendVoice|sendAudio)", lambda r, m: (200, {
        "ok": True, "result": {"message_id": 7, "chat": {"id": int(CUSTOMER), "type": "private"}}}))
    connection = factory.connection(kind="telegram", settings={"bot_token": BOT, "base_url": provider.url})

    def received(client):
        (send,) = provider.calls("POST", rf"/bot{BOT}/(sendVoice|sendAudio)")
        field = "voice" if send.path.endswith("/sendVoice") else "audio"
        assert send.form["chat_id"] == CUSTOMER
        return send.files[field][2], field == "voice"

    return connection, received


def _generic(factory, provider):
    provider.on("POST", "/send", lambda r, m: (200, {"id": f"gw-{r.json['id']}"}))
    connection = factory.connection(kind="generic", settings={"outbound_url": provider.url + "/send"})

    def received(client):
        (send,) = provider.calls("POST", "/send")
        media = send.json["media"]
        fetched = client.get(urlsplit(media["url"]).path)  # the signed link the gateway fetches
        assert fetched.status_code == 200 and fetched.mimetype == media["mime_type"]
        return fetched.data, media.get("voice", False)

    return connection, received


KINDS = {"whatsapp_cloud": _whatsapp_cloud, "evolution": _evolution, "telegram": _telegram, "generic": _generic}


@pytest.fixture(params=KINDS)
def channel(request, factory, provider):
    connection, received = KINDS[request.param](factory, provider)
    ticket = factory.ticket(connection, status="open", sender=CUSTOMER)
    return ticket, received


def _send(api, ticket, data, filename, **form):
    return api(ticket.user).post(f"/tickets/{ticket.id}/messages", data={"file": (BytesIO(data), filename), **form},
                                 content_type="multipart/form-data")


# -- sending ---------------------------------------------------------------------------

@pytest.mark.parametrize("recorded", RECORDED)
def test_a_recording_goes_out_as_an_ogg_opus_voice_note(client, api, channel, recordings, recorded):
    ticket, received = channel
    data, filename = recordings[recorded]
    response = _send(api, ticket, data, filename, voice="true")
    assert response.status_code == 201, response.json
    message = response.json
    assert (message["kind"], message["voice"], message["media_mime"], message["media_name"]) == (
        "audio", True, "audio/ogg", "voice-note.ogg")
    assert message["duration"] == pytest.approx(2.0, abs=0.05)
    deliver_due()
    sent, as_voice = received(client)
    assert as_voice is True
    container, codec, channels, rate, seconds = describe(sent)
    assert (container, codec, channels, rate) == ("ogg", "opus", 1, 48000)
    assert seconds == pytest.approx(2.0, abs=0.05)
    listed = api(ticket.user).get(f"/tickets/{ticket.id}/messages").json["items"]
    assert [(m["voice"], m["duration"], m["status"]) for m in listed if m["direction"] == "out"] == [
        (True, message["duration"], "sent")]


def test_an_audio_file_from_disk_goes_as_a_file(client, api, channel, recordings):
    ticket, received = channel
    data, filename = recordings["mp3"]
    response = _send(api, ticket, data, filename, text="a música")
    assert response.status_code == 201, response.json
    message = response.json
    assert (message["kind"], message["voice"], message["media_mime"], message["media_name"]) == (
        "audio", False, "audio/mpeg", "musica.mp3")
    assert message["duration"] == pytest.approx(2.0, abs=0.1)  # probed from the file
    deliver_due()
    assert received(client) == (data, False)  # as it came, not converted


@pytest.mark.parametrize("data, filename", [(PDF, "nota.pdf"), (OGG, "falsa.ogg"), (b"\x1aE\xdf\xa3" + b"\0" * 64,
                                                                                      "cortada.webm")])
def test_a_file_that_is_no_audio_is_refused_as_a_voice_note(app, api, factory, data, filename):
    ticket = factory.ticket(factory.connection(settings={"outbound_url": "http://127.0.0.1:9/send"}),
                            status="open", sender=CUSTOMER)
    before = message_count()
    response = _send(api, ticket, data, filename, voice="1")
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"file"}
    assert message_count() == before
    assert not [p for p in Path(app.config["MEDIA_DIR"]).rglob("*") if p.is_file()]  # nothing stored


def test_the_page_composer_sends_a_voice_note(client, auth, factory, recordings):
    ticket = factory.ticket(factory.connection(settings={"outbound_url": "http://127.0.0.1:9/send"}),
                            status="open", sender=CUSTOMER)
    auth.login(ticket.user)
    data, filename = recordings["webm"]
    response = client.post(f"/tickets/{ticket.id}/messages", data={"file": (BytesIO(data), filename), "voice": "true"},
                           content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert response.status_code == 201, response.data
    assert response.json["message"]["voice"] is True
    assert response.json["message"]["duration"] == pytest.approx(2.0, abs=0.05)


def test_the_document_declares_voice_and_duration(client):
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    assert schemas["Message"]["properties"]["voice"]["type"] == "boolean"
    assert "duration" in schemas["Message"]["properties"]
    assert schemas["SendFile"]["properties"]["voice"]["type"] == "boolean"


# -- receiving -------------------------------------------------------------------------

def _post_generic(client, connection, payload):
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(connection.secret.encode(), raw, hashlib.sha256).hexdigest()
    return post_webhook(client, connection, raw=raw, headers={"X-Signature-256": signature})


def test_a_received_voice_note_keeps_voice_and_its_duration(client, factory, provider, recordings):
    connection = factory.connection(settings={"outbound_url": provider.url + "/send"})
    note, _seconds = to_voice_note(recordings["webm"][0])
    url = provider.file("/files/nota.ogg", note, "audio/ogg")
    response = _post_generic(client, connection, {"id": "in-1", "from": CUSTOMER, "media": {
        "url": url, "mime_type": "audio/ogg", "voice": True}})
    assert response.status_code == 200
    stored = only_message()
    assert (stored.kind, stored.voice) == ("audio", True)
    assert stored.duration == pytest.approx(2.0, abs=0.05)


def test_an_audio_that_cannot_be_probed_is_stored_without_a_duration(client, factory, provider):
    connection = factory.connection(settings={"outbound_url": provider.url + "/send"})
    url = provider.file("/files/estranho.ogg", OGG, "audio/ogg")
    response = _post_generic(client, connection, {"id": "in-2", "from": CUSTOMER, "media": {"url": url}})
    assert response.status_code == 200
    stored = only_message()
    assert (stored.kind, stored.voice, stored.duration, stored.error) == ("audio", False, None, None)
