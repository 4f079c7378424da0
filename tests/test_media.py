"""Media files: typed by content, stored under generated names, size-limited, and
served only to whom may see the ticket."""
from io import BytesIO
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from atendimento import media
from atendimento.tickets.outgoing import send_media
from atendimento.errors import InvalidInput
from atendimento.extensions import db
from atendimento.models import Message

from .channels.helpers import HTML, JPEG, MP3, MP4, OGG, PDF, PNG, WEBP, provider  # noqa: F401


@pytest.mark.parametrize("data, declared, expected", [
    (JPEG, "application/pdf", "image/jpeg"),
    (PNG, None, "image/png"),
    (WEBP, "image/webp", "image/webp"),
    (OGG, "audio/ogg; codecs=opus", "audio/ogg"),
    (MP3, "audio/mpeg", "audio/mpeg"),
    (MP4, "video/mp4", "video/mp4"),
    (PDF, "image/png", "application/pdf"),
    (HTML, "image/png", "application/octet-stream"),
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/svg+xml", "application/octet-stream"),
    (b"nome;telefone\nAna;1199", "text/csv", "text/csv"),
    (b"PK\x03\x04" + b"\x00" * 40, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"PK\x03\x04" + b"\x00" * 40, "text/html", "application/zip"),
])
def test_the_type_comes_from_the_content(data, declared, expected):
    assert media.sniff(data, declared) == expected


@pytest.mark.parametrize("mime, hint, kind", [
    ("image/jpeg", "image", "image"), ("application/octet-stream", "image", "document"),
    ("image/webp", "sticker", "sticker"), ("audio/ogg", None, "audio"), ("video/mp4", "audio", "audio"),
    ("application/pdf", "video", "document"), ("video/mp4", None, "video")])
def test_the_kind_follows_the_content(mime, hint, kind):
    assert media.kind_for(mime, hint) == kind


def test_files_get_generated_names_inside_media_dir(app):
    stored = media.store(JPEG, declared_mime="image/jpeg", filename="..\\..\\windows/../../etc/passwd.jpg")
    path = Path(app.config["MEDIA_DIR"]) / stored["path"]
    assert path.read_bytes() == JPEG
    assert Path(app.config["MEDIA_DIR"]).resolve() in path.resolve().parents
    assert "passwd" not in stored["path"] and stored["path"].endswith(".jpg")
    assert stored["name"] == "passwd.jpg"
    other = media.store(JPEG, filename="passwd.jpg")
    assert other["path"] != stored["path"]


def test_files_over_the_limit_are_refused(app):
    app.config["MEDIA_MAX_BYTES"] = 100
    with pytest.raises(media.MediaUnavailable) as refused:
        media.store(JPEG)
    assert refused.value.permanent


def test_downloads_stop_at_the_limit(app, provider):
    app.config["MEDIA_MAX_BYTES"] = 1000
    url = provider.file("/big.bin", b"\x00" * 5000)
    with pytest.raises(media.MediaUnavailable) as refused:
        media.download(url)
    assert refused.value.permanent
    with pytest.raises(media.MediaUnavailable) as unreachable:
        media.download("file:///etc/passwd")
    assert not unreachable.value.permanent


def test_an_attendant_upload_is_queued_with_its_kind(factory):
    ticket = factory.ticket(status="open")
    message = send_media(ticket.user, ticket.id, FileStorage(BytesIO(PDF), "orçamento.pdf"), " veja ")
    assert (message.kind, message.status, message.body, message.media_name) == (
        "document", "queued", "veja", "orçamento.pdf")
    assert message.ticket.last_message.startswith("📄")


def test_an_upload_over_the_limit_is_refused_and_nothing_is_queued(app, factory):
    app.config["MEDIA_MAX_BYTES"] = 100
    ticket = factory.ticket(status="open")
    with pytest.raises(InvalidInput):
        send_media(ticket.user, ticket.id, FileStorage(BytesIO(JPEG), "foto.jpg"))
    assert db.session.query(Message).filter_by(direction="out").count() == 0


def test_only_who_may_see_the_ticket_gets_the_file(client, auth, factory):
    sales, support = factory.sector("Vendas"), factory.sector("Suporte")
    ticket = factory.ticket(sector=sales)
    stored = media.store(JPEG, filename="foto.jpg")
    message = Message(ticket_id=ticket.id, connection_id=ticket.connection_id, direction="in", kind="image",
                      status="received", media_path=stored["path"], media_mime=stored["mime"],
                      media_name=stored["name"], media_size=stored["size"])
    db.session.add(message)
    db.session.commit()
    url = f"/media/{message.id}"

    assert client.get(url).status_code in (302, 401)  # not signed in
    auth.login(factory.user(email="other@example.com", sectors=[support]))
    assert client.get(url).status_code == 404
    auth.logout()
    auth.login(factory.user(email="seller@example.com", sectors=[sales]))
    served = client.get(url)
    assert served.status_code == 200 and served.data == JPEG
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "foto.jpg" in served.headers["Content-Disposition"]
    assert served.mimetype == "image/jpeg"


def test_an_opaque_file_is_served_as_a_download(client, auth, factory):
    ticket = factory.ticket()
    stored = media.store(HTML, declared_mime="text/html", filename="pagina.html")
    message = Message(ticket_id=ticket.id, connection_id=ticket.connection_id, direction="in", kind="document",
                      status="received", media_path=stored["path"], media_mime=stored["mime"],
                      media_name=stored["name"])
    db.session.add(message)
    db.session.commit()
    auth.login(factory.admin(email="boss@example.com"))
    served = client.get(f"/media/{message.id}")
    assert served.mimetype == "application/octet-stream"
    assert served.headers["Content-Disposition"].startswith("attachment")


def test_the_api_takes_a_file_as_multipart(api, factory):
    ticket = factory.ticket(status="open")
    response = api(ticket.user).post(f"/tickets/{ticket.id}/messages", data={
        "file": (BytesIO(OGG), "recado.ogg"), "text": "ouça"}, content_type="multipart/form-data")
    assert response.status_code == 201
    body = response.get_json()
    assert (body["kind"], body["status"], body["body"]) == ("audio", "queued", "ouça")
    assert body["media_url"] == f"/media/{body['id']}"
