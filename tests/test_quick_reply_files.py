"""Quick replies with a file (issue 12, part 4; SPEC §6.1): multipart ``file`` on create
and change, ``media_url`` in the JSON (fetched with the bearer token), the admin and
profile forms take one, and sending the reply sends a copy of the file with the filled
text as its caption; replacing, removing or deleting the reply deletes its old file,
never a file a message already sent."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from atendimento.extensions import db
from atendimento.models import Message, QuickReply

from .channels.helpers import PDF, PNG

CUSTOMER = "5511988887777"


def _files(app) -> list[Path]:
    return sorted(p for p in Path(app.config["MEDIA_DIR"]).rglob("*") if p.is_file())


def _ana_ticket(factory):
    suporte = factory.sector("Suporte")
    ana = factory.user("Ana Souza", sectors=[suporte])
    connection = factory.connection(settings={"outbound_url": "http://127.0.0.1:9/send"}, sectors=[suporte])
    return ana, factory.ticket(connection, sector=suporte, status="open", assignee=ana, sender=CUSTOMER)


def test_a_reply_with_a_file_by_api_sends_the_file_with_its_text(app, api, factory, client):
    ana, ticket = _ana_ticket(factory)
    made = api(ana).post("/quick-replies", data={"shortcut": "/tabela", "text": "Segue a tabela, {{primeiro_nome}}.",
                                                 "file": (BytesIO(PDF), "tabela.pdf")},
                         content_type="multipart/form-data")
    assert made.status_code == 201, made.json
    assert (made.json["media_name"], made.json["media_mime"]) == ("tabela.pdf", "application/pdf")
    fetched = api(ana).get(urlsplit(made.json["media_url"]).path.removeprefix("/api/v1"))
    assert fetched.status_code == 200 and fetched.data == PDF

    sent = api(ana).post(f"/tickets/{ticket.id}/messages", json={"quick_reply_id": made.json["id"]})
    assert sent.status_code == 201, sent.json
    assert (sent.json["kind"], sent.json["media_name"], sent.json["body"]) == (
        "document", "tabela.pdf", f"Segue a tabela, {ticket.contact.display_name.split()[0]}.")
    assert len(_files(app)) == 2  # the message has its own copy

    # Replaced, the reply's old file goes; the message keeps what it sent.
    changed = client.patch(
        f"/api/v1/quick-replies/{made.json['id']}", headers=api(ana).headers,
        data={"file": (BytesIO(PNG), "foto.png")}, content_type="multipart/form-data")
    assert changed.status_code == 200 and changed.json["media_name"] == "foto.png"
    message = db.session.get(Message, sent.json["id"])
    assert (Path(app.config["MEDIA_DIR"]) / message.media_path).read_bytes() == PDF
    assert len(_files(app)) == 2
    removed = client.patch(f"/api/v1/quick-replies/{made.json['id']}", headers=api(ana).headers,
                           data={"remove_file": "true"}, content_type="multipart/form-data")
    assert removed.status_code == 200 and removed.json["media_url"] is None
    assert len(_files(app)) == 1


def test_others_personal_files_are_404_and_bad_files_are_refused(app, api, factory):
    ana, _ticket = _ana_ticket(factory)
    bruno = factory.user("Bruno")
    made = api(ana).post("/quick-replies", data={"shortcut": "/minha", "text": "Só minha",
                                                 "file": (BytesIO(PDF), "minha.pdf")},
                         content_type="multipart/form-data")
    path = urlsplit(made.json["media_url"]).path.removeprefix("/api/v1")
    assert api(bruno).get(path).status_code == 404
    empty = api(ana).post("/quick-replies", data={"shortcut": "/vazia", "text": "x", "file": (BytesIO(b""), "v.pdf")},
                          content_type="multipart/form-data")
    assert empty.status_code == 422 and "file" in empty.json["error"]["fields"]
    app.config["MEDIA_MAX_BYTES"] = 100
    big = api(ana).post("/quick-replies", data={"shortcut": "/grande", "text": "x",
                                                "file": (BytesIO(PDF * 3), "g.pdf")},
                        content_type="multipart/form-data")
    assert big.status_code == 413
    assert db.session.query(QuickReply).filter(QuickReply.shortcut.in_(["/vazia", "/grande"])).count() == 0
    assert len(_files(app)) == 1


def test_the_profile_form_takes_a_file_and_the_composer_offers_it(app, client, auth, factory):
    ana, ticket = _ana_ticket(factory)
    auth.login(ana)
    answer = client.post("/profile/quick-replies/new", data={"shortcut": "/catalogo", "text": "Nosso catálogo",
                                                             "file": (BytesIO(PDF), "catalogo.pdf")},
                         content_type="multipart/form-data")
    assert answer.status_code == 302, answer.data
    reply = db.session.query(QuickReply).filter_by(shortcut="/catalogo").one()
    assert reply.media_name == "catalogo.pdf" and reply.user_id == ana.id
    listing = client.get("/profile/quick-replies").get_data(as_text=True)
    assert "catalogo.pdf" in listing and "no início da mensagem" in listing
    offered = client.get(f"/tickets/{ticket.id}/quick-replies?q=cat").json["items"]
    assert [(i["shortcut"], i["media_name"]) for i in offered] == [("/catalogo", "catalogo.pdf")]
    fetched = client.get(offered[0]["media_url"])
    assert fetched.status_code == 200 and fetched.data == PDF
    deleted = client.post(f"/profile/quick-replies/{reply.id}/delete")
    assert deleted.status_code == 302 and _files(app) == []
