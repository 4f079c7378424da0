"""Internal notes (issue 12, part 6; SPEC §6.1): whoever may see the ticket writes one, in
any status; it is in the conversation for the team and never reaches the channel; it does
not move the ticket's preview; bad input is a clear 4xx and stores nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Message, Ticket
from atendimento.outbox import deliver_due

from .channels.helpers import provider  # noqa: F401  (fixture)


def _gateway(factory, provider, sectors=()):
    provider.on("POST", "/send", lambda r, m: (200, {"id": f"gw-{r.json['id']}"}))
    return factory.connection(settings={"outbound_url": provider.url + "/send"}, sectors=sectors)


def _notes() -> int:
    return db.session.scalar(select(func.count()).select_from(Message).where(Message.kind == "note"))


def test_anyone_who_sees_the_ticket_notes_it_in_any_status_and_nothing_is_sent(factory, provider, api):
    suporte = factory.sector("Suporte")
    connection = _gateway(factory, provider, [suporte])
    ticket = factory.ticket(connection, sector=suporte, status="open")
    colleague = factory.user("Bruno", sectors=[suporte])  # sees it, does not handle it
    before = db.session.get(Ticket, ticket.id).last_message

    answer = api(colleague).post(f"/tickets/{ticket.id}/notes", json={"text": "Cliente VIP, cuidado com o prazo."})
    assert answer.status_code == 201, answer.json
    assert (answer.json["kind"], answer.json["direction"], answer.json["author_id"]) == ("note", "out", colleague.id)
    closed = factory.ticket(connection, sector=suporte, status="closed")
    assert api(colleague).post(f"/tickets/{closed.id}/notes", json={"text": "Fechado por engano?"}).status_code == 201

    deliver_due()
    assert provider.calls("POST", "/send") == [], "a note never reaches the channel"
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).last_message == before, "the customer's last words stay the preview"
    listed = api(colleague).get(f"/tickets/{ticket.id}/messages").json["items"]
    assert [m["body"] for m in listed if m["kind"] == "note"] == ["Cliente VIP, cuidado com o prazo."]


def test_a_note_on_a_hidden_ticket_is_404_and_an_empty_one_422(factory, provider, api):
    connection = _gateway(factory, provider)
    ticket = factory.ticket(connection, sector=factory.sector("Vendas"))
    outsider = factory.user("Fora", sectors=[factory.sector("Outro")])
    assert api(outsider).post(f"/tickets/{ticket.id}/notes", json={"text": "x"}).status_code == 404
    admin = factory.admin("Chefe", email="chefe@example.com")
    empty = api(admin).post(f"/tickets/{ticket.id}/notes", json={"text": "   "})
    assert empty.status_code == 422 and set(empty.json["error"]["fields"]) == {"text"}
    assert _notes() == 0


def test_the_composer_switch_writes_a_note_the_page_shows_as_one(factory, provider, client, auth):
    connection = _gateway(factory, provider)
    ticket = factory.ticket(connection, status="open")
    auth.login(ticket.user)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'name="note" value="1" id="composer-note"' in page
    answer = client.post(f"/tickets/{ticket.id}/messages", data={"text": "Ligar amanhã", "note": "1"},
                         headers={"Accept": "application/json"})
    assert answer.status_code == 201, answer.data
    assert answer.json["message"]["kind"] == "note"
    assert "msg-note" in answer.json["html"] and "Nota interna" in answer.json["html"]
    deliver_due()
    assert provider.calls("POST", "/send") == []
