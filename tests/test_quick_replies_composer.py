"""Quick replies in a conversation (SPEC §6.1): any user lists the global ones and
their own, the variables are filled on the server, and ``{"quick_reply_id"}`` sends the
filled text; an unknown or foreign reply is a clear 422 and nothing is sent."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Message, QuickReply
from atendimento.quick_replies import fill

TEMPLATE = "{{saudacao}}, {{primeiro_nome}}! Aqui é {{atendente}}, do {{setor}}. Protocolo {{protocolo}}. {{outra}}"


def _setup(factory):
    sector = factory.sector("Suporte")
    ana = factory.user("Ana Souza", sectors=[sector])
    connection = factory.connection(settings={"outbound_url": "http://127.0.0.1:9/send"}, sectors=[sector])
    message = factory.inbound(connection, sender="5511988887777", name="Maria Silva", text="Oi")
    ticket = message.ticket
    ticket.sector_id = sector.id
    db.session.commit()
    from atendimento.tickets import service

    service.accept_ticket(ana, ticket.id)
    bruno = factory.user("Bruno", sectors=[sector])
    replies = {
        "global": QuickReply(shortcut="/ola", text=TEMPLATE),
        "mine": QuickReply(shortcut="/preco", text="O preço é R$ 10, {{nome}}.", user_id=ana.id),
        "bruno": QuickReply(shortcut="/bruno", text="Só do Bruno", user_id=bruno.id),
    }
    db.session.add_all(replies.values())
    db.session.commit()
    return ticket, ana, bruno, replies


def _sent_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out"))


def test_variables_are_filled_as_the_contact_reads_them(factory, app):
    ticket, ana, _bruno, _replies = _setup(factory)
    ana.timezone = "America/Sao_Paulo"
    for hour, greeting in ((12, "Bom dia"), (18, "Boa tarde"), (23, "Boa noite")):  # 09h, 15h, 20h there
        now = datetime(2026, 12, 2, hour, 0, tzinfo=timezone.utc)
        assert fill(TEMPLATE, ticket, ana, now) == (
            f"{greeting}, Maria! Aqui é Ana Souza, do Suporte. Protocolo {ticket.id}. {{{{outra}}}}")


def test_any_user_lists_the_global_replies_and_their_own_filtered(factory, api):
    _ticket, ana, _bruno, replies = _setup(factory)
    client = api(ana)
    listed = client.get("/quick-replies").json["items"]
    assert {r["shortcut"] for r in listed} == {"/ola", "/preco"}, "never another user's personal reply"
    assert [r["shortcut"] for r in client.get("/quick-replies?q=PREÇO").json["items"]] == ["/preco"]
    assert [r["shortcut"] for r in client.get("/quick-replies?q=/ol").json["items"]] == ["/ola"]

    made = client.post("/quick-replies", json={"shortcut": "/tchau", "text": "Até logo!"})
    assert made.status_code == 201 and made.json["user_id"] == ana.id
    refused = client.post("/quick-replies", json={"shortcut": "/todos", "text": "x", "global": True})
    assert refused.status_code == 422 and "global" in refused.json["error"]["fields"]
    assert client.delete(f"/quick-replies/{replies['global'].id}").status_code == 404, "global ones are the admins'"
    assert db.session.get(QuickReply, replies["global"].id) is not None


def test_sending_a_quick_reply_sends_its_filled_text(factory, api):
    ticket, ana, _bruno, replies = _setup(factory)
    answer = api(ana).post(f"/tickets/{ticket.id}/messages", json={"quick_reply_id": replies["mine"].id})
    assert answer.status_code == 201, answer.json
    assert answer.json["body"] == "O preço é R$ 10, Maria Silva."
    assert answer.json["status"] == "queued" and answer.json["author_id"] == ana.id


def test_an_unknown_or_foreign_quick_reply_is_refused_and_nothing_is_sent(factory, api):
    ticket, ana, bruno, replies = _setup(factory)
    before = _sent_count()
    for reply_id in (999999, replies["bruno"].id, "abc"):
        answer = api(ana).post(f"/tickets/{ticket.id}/messages", json={"quick_reply_id": reply_id})
        assert answer.status_code == 422, answer.json
        assert answer.json["error"]["fields"] == {"quick_reply_id": "Resposta rápida desconhecida."}
    # Bruno sees the ticket but does not handle it: the usual rule of who may write.
    assert api(bruno).post(f"/tickets/{ticket.id}/messages",
                           json={"quick_reply_id": replies["bruno"].id}).status_code == 403
    assert _sent_count() == before


def test_a_hidden_ticket_is_404_before_the_reply_is_looked_at(factory, api):
    ticket, _ana, _bruno, replies = _setup(factory)
    outsider = factory.user("Fora", sectors=[factory.sector("Outro")])
    answer = api(outsider).post(f"/tickets/{ticket.id}/messages", json={"quick_reply_id": replies["global"].id})
    assert answer.status_code == 404


def test_the_composer_gets_each_reply_filled_for_this_ticket(factory, client, auth):
    ticket, ana, _bruno, _replies = _setup(factory)
    auth.login(ana)
    items = client.get(f"/tickets/{ticket.id}/quick-replies?q=pre").json["items"]
    assert items == [{"id": items[0]["id"], "shortcut": "/preco", "text": "O preço é R$ 10, {{nome}}.",
                      "filled": "O preço é R$ 10, Maria Silva.", "global": False,
                      "media_url": None, "media_name": None, "media_mime": None}]
    assert client.get("/tickets/999999/quick-replies").status_code == 404
