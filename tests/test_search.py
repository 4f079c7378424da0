"""Full-text search (issue 13, part 4; SPEC §6.1 ``GET /search``) on both databases: accents
and case aside, Portuguese stemming on PostgreSQL, only visible tickets, notes included,
keyset pages newest first, snippets escaped with only the hits marked; and the contact
search behind the list's ``q`` answered by an index."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from atendimento.extensions import db
from atendimento.models import Contact, Message
from atendimento.tickets import notes
from atendimento.tickets.search import mark, search_messages

from .test_queries import QueryCounter


@pytest.fixture
def world(factory):
    vendas, suporte = factory.sector("Vendas"), factory.sector("Suporte")
    connection = factory.connection(sectors=[vendas, suporte])
    ana = factory.user("Ana", sectors=[vendas])
    admin = factory.admin("Chefe", email="chefe@example.com")
    return {"vendas": vendas, "suporte": suporte, "connection": connection, "ana": ana, "admin": admin}


def _ids(hits):
    return [h.message.id for h in hits]


def test_accents_and_case_aside(world, factory):
    ticket = factory.ticket(world["connection"], sector=world["vendas"], text="Preciso de uma AÇÃO urgente")
    found, _next = search_messages(world["ana"], "acao")
    assert [h.ticket.id for h in found] == [ticket.id]
    assert search_messages(world["ana"], "Ação")[0][0].ticket.id == ticket.id
    assert "<mark>AÇÃO</mark>" in str(found[0].snippet)


def test_stemming_on_postgresql_prefixes_on_both(world, factory, backend):
    ticket = factory.ticket(world["connection"], sector=world["vendas"], text="Meu pedido não chegou")
    factory.inbound(world["connection"], sender=ticket.contact.phone, text="As entregas atrasaram")
    assert [h.ticket.id for h in search_messages(world["ana"], "ped")[0]] == [ticket.id]  # as one types
    assert len(search_messages(world["ana"], "entrega")[0]) == 1  # "entrega" finds "entregas"
    if backend == "postgresql":
        found, _next = search_messages(world["ana"], "pedidos")
        assert [h.ticket.id for h in found] == [ticket.id]
        assert "<mark>pedido</mark>" in str(found[0].snippet)


def test_a_hidden_ticket_never_appears(world, factory, api):
    factory.ticket(world["connection"], sector=world["suporte"], text="segredo do suporte")
    factory.ticket(world["connection"], text="segredo sem setor")
    mine = factory.ticket(world["connection"], sector=world["vendas"], text="segredo de vendas")
    assert [h.ticket.id for h in search_messages(world["ana"], "segredo")[0]] == [mine.id]
    assert len(search_messages(world["admin"], "segredo")[0]) == 3
    answer = api(world["ana"]).get("/search?q=segredo")
    assert answer.status_code == 200
    assert [item["ticket"]["id"] for item in answer.json["items"]] == [mine.id]
    # The other filters narrow what is visible, never widen it.
    assert api(world["ana"]).get(f"/search?q=segredo&sector={world['suporte'].id}").json["items"] == []


def test_notes_are_found_system_lines_are_not(world, factory):
    ticket = factory.ticket(world["connection"], sector=world["vendas"], status="open", assignee=world["ana"])
    note = notes.add_note(world["ana"], ticket.id, {"text": "cliente pediu reembolso parcial"})
    db.session.add(Message(ticket_id=ticket.id, connection_id=ticket.connection_id, direction="out", kind="system",
                           body="reembolso aprovado pelo sistema", status="sent"))
    db.session.commit()
    assert _ids(search_messages(world["ana"], "reembolso")[0]) == [note.id]


def test_captions_are_found(world, factory):
    ticket = factory.ticket(world["connection"], sector=world["vendas"])
    db.session.add(Message(ticket_id=ticket.id, connection_id=ticket.connection_id, direction="in", kind="image",
                           body="foto do boleto vencido", media_name="boleto.png", media_mime="image/png",
                           status="received"))
    db.session.commit()
    assert len(search_messages(world["ana"], "boleto")[0]) == 1


def test_pages_newest_first_and_a_changed_body_is_reindexed(world, factory, api):
    ticket = factory.ticket(world["connection"], sector=world["vendas"], text="fatura 0")
    for i in range(1, 5):
        factory.inbound(world["connection"], sender=ticket.contact.phone, text=f"fatura {i}")
    first = api(world["ana"]).get("/search?q=fatura&limit=3").json
    second = api(world["ana"]).get(f"/search?q=fatura&limit=3&page={first['next']}").json
    ids = [i["message"]["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5 and second["next"] is None
    message = db.session.get(Message, ids[0])
    message.body = "boleto corrigido"
    db.session.commit()
    assert ids[0] not in _ids(search_messages(world["ana"], "fatura")[0])
    assert _ids(search_messages(world["ana"], "corrigido")[0]) == [ids[0]]
    db.session.delete(message)
    db.session.commit()
    assert search_messages(world["ana"], "corrigido")[0] == []


def test_snippets_are_escaped_and_only_the_hits_are_marked(world, factory, api):
    factory.ticket(world["connection"], sector=world["vendas"],
                   text='<script>alert("oi")</script> & o <b>pagamento</b> falhou')
    item = api(world["ana"]).get("/search?q=alert+pagamento").json["items"][0]
    snippet = item["snippet"]
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "<mark>alert</mark>(" in snippet and "&lt;/script&gt;" in snippet and "&lt;b&gt;<mark>pagamento</mark>&lt;/b&gt;" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert "&amp;" in snippet
    assert item["message"]["body"].startswith("<script>")  # the JSON body stays as written


def test_bad_input_is_a_clear_422(world, api):
    client = api(world["ana"])
    for query in ("", "?q=", "?q=%20!!%20", "?q=" + "a" * 201, "?q=x&page=abc", "?q=x&status=archived",
                  "?q=x&sector=abc", "?q=x&limit=0"):
        answer = client.get("/search" + query)
        assert answer.status_code == 422, (query, answer.json)
        assert answer.json["error"]["message"]


def test_search_costs_the_same_queries_for_few_and_many_hits(world, factory):
    ticket = factory.ticket(world["connection"], sector=world["vendas"], text="troca 0")
    for i in range(3):
        factory.inbound(world["connection"], sender=ticket.contact.phone, text=f"troca {i}")

    def cost():
        db.session.expire_all()
        with QueryCounter(db.engine) as counter:
            hits, _next = search_messages(world["ana"], "troca")
            [(h.ticket.contact.name, h.message.author) for h in hits]
        return counter.count

    few = cost()
    for i in range(30):
        other = factory.ticket(world["connection"], sector=world["vendas"], text=f"troca {i}")
        assert other.id
    assert cost() == few


def test_mark_escapes_then_marks():
    assert str(mark("Olá <i>AÇÃO</i> já", ["acao"])) == "Olá &lt;i&gt;<mark>AÇÃO</mark>&lt;/i&gt; já"
    long = " ".join(f"w{i}" for i in range(100)) + " alvo " + " ".join(f"z{i}" for i in range(100))
    cut = str(mark(long, ["alvo"]))
    assert cut.startswith("… ") and cut.endswith(" …") and "<mark>alvo</mark>" in cut


def test_contact_search_in_the_list_uses_the_index(world, factory, api, backend):
    ticket = factory.ticket(world["connection"], sector=world["vendas"], sender="5511987650001")
    contact = db.session.get(Contact, ticket.contact_id)
    contact.name, contact.email = "Conceição Araújo", "ceica@exemplo.com.br"
    db.session.commit()
    client = api(world["ana"])
    for q in ("araújo", "ARAÚ", "98765", "ceica@exe", "Con"):
        assert [t["id"] for t in client.get(f"/tickets?q={q}").json["items"]] == [ticket.id], q
    assert client.get("/tickets?q=%25").json["items"] == []  # a LIKE wildcard is a character
    if backend == "postgresql":
        assert [t["id"] for t in client.get("/tickets?q=conceicao").json["items"]] == [ticket.id]
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.scalars(text(
            "EXPLAIN SELECT id FROM contacts WHERE search_text LIKE '%arau%'")))
        assert "ix_contacts_search_trgm" in plan
        db.session.rollback()
    else:
        plan = " ".join(str(r) for r in db.session.execute(text(
            "EXPLAIN QUERY PLAN SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH '\"arau\"'")))
        assert "VIRTUAL TABLE INDEX" in plan


@pytest.mark.parametrize("cap", [100, 2])  # the ids by value, and the walk of a common name
def test_a_common_name_lists_the_same_rows_either_way(world, factory, api, monkeypatch, cap):
    """PostgreSQL takes up to ``CONTACT_MATCH_CAP`` matching contacts by value and, past it,
    walks the list checking each row's contact (SQLite always asks its index): the same rows,
    newest first, paged, only the visible ones, with the tab, tag and Mine filters kept."""
    from atendimento.tickets import search

    monkeypatch.setattr(search, "CONTACT_MATCH_CAP", cap)
    mine = []
    for i in range(5):
        ticket = factory.ticket(world["connection"], sector=world["vendas"], sender=f"55119877700{i:02d}")
        ticket.contact.name = f"Maria Silva {i}"
        mine.append(ticket.id)
    hidden = factory.ticket(world["connection"], sector=world["suporte"], sender="5511987770099")
    hidden.contact.name = "João Silva"
    other = factory.ticket(world["connection"], sector=world["vendas"], sender="5511987770098")
    other.contact.name = "Ana Souza"
    closed = factory.ticket(world["connection"], sector=world["vendas"], status="closed", sender="5511987770097")
    closed.contact.name = "Sílvia Silva"
    db.session.commit()
    client = api(world["ana"])
    seen, page = [], ""
    while True:
        answer = client.get(f"/tickets?q=silva&status=pending&limit=2{page}").json
        seen += [t["id"] for t in answer["items"]]
        if not answer.get("next"):
            break
        page = f"&page={answer['next']}"
    assert seen == sorted(mine, reverse=True)
    assert [t["id"] for t in client.get("/tickets?q=SILVA&status=closed").json["items"]] == [closed.id]
    assert [c["name"] for c in client.get("/contacts?q=silva").json["items"]] == [
        "Sílvia Silva", *(f"Maria Silva {i}" for i in reversed(range(5)))]
    everyone = api(world["admin"]).get("/tickets?q=silva&status=pending").json["items"]
    assert [t["id"] for t in everyone] == [hidden.id, *sorted(mine, reverse=True)]
    assert client.get("/tickets?q=souza&status=pending").json["items"][0]["id"] == other.id


def test_the_search_box_lists_the_messages_and_opens_the_conversation_at_the_hit(world, factory, client, auth,
                                                                                 app):
    old = factory.ticket(world["connection"], sector=world["vendas"], status="closed",
                         text="a <b>garantia</b> do aparelho venceu")
    factory.ticket(world["connection"], sector=world["suporte"], text="garantia de outro setor")
    auth.login(world["ana"])
    page = client.get("/tickets/list?tab=pending&q=garantia").get_data(as_text=True)
    assert 'id="message-hits"' in page and f'data-ticket-id="{old.id}"' in page
    assert "&lt;b&gt;<mark>garantia</mark>&lt;/b&gt;" in page and "outro setor" not in page
    hit = db.session.scalar(db.select(Message).where(Message.ticket_id == old.id).order_by(Message.id))
    assert f"/tickets/{old.id}?tab=closed&amp;message={hit.id}#message-{hit.id}" in page
    # An older message than the page's window is loaded when a hit opens the conversation on it.
    for i in range(3):
        factory.inbound(world["connection"], sender=old.contact.phone, text=f"depois {i}")  # a new ticket
    app.config["TICKETS_PAGE_SIZE"] = 50
    shown = client.get(f"/tickets/{old.id}?tab=closed&message={hit.id}").get_data(as_text=True)
    assert f'data-message-id="{hit.id}"' in shown
    only_punctuation = client.get("/tickets/list?tab=pending&q=%21%21").get_data(as_text=True)
    assert "Type a word to search for." in only_punctuation or "Digite" in only_punctuation


def test_conversation_reaching_an_old_hit(world, factory):
    from atendimento.tickets import queries, search

    ticket = factory.ticket(world["connection"], sector=world["vendas"], status="open", assignee=world["ana"],
                            text="primeira")
    first = db.session.scalar(db.select(Message.id).where(Message.ticket_id == ticket.id))
    for i in range(5):
        factory.inbound(world["connection"], sender=ticket.contact.phone, text=f"m{i}")
    assert first not in [m.id for m in queries.ticket_messages(ticket, limit=3)]
    assert [m.id for m in search.conversation_reaching(ticket, str(first), window=3)][0] == first
    assert len(search.conversation_reaching(ticket, None, window=3)) == 3
    assert len(search.conversation_reaching(ticket, "abc", window=3)) == 3


def test_the_recent_window_and_the_older_hits_page_as_one(world, factory, monkeypatch):
    """PostgreSQL walks the newest ``RECENT`` messages first and asks the GIN index for older
    ones (SQLite ignores it): across that boundary the pages stay newest first, complete."""
    from atendimento.tickets import search

    ticket = factory.ticket(world["connection"], sector=world["vendas"], text="recibo 0")
    for i in range(1, 8):
        factory.inbound(world["connection"], sender=ticket.contact.phone, text=f"recibo {i}" if i % 2 else "outra")
    monkeypatch.setattr(search, "RECENT", 3)
    expected = sorted(db.session.scalars(db.select(Message.id).where(Message.body.like("recibo%"))), reverse=True)
    seen, cursor = [], None
    while True:
        hits, cursor = search_messages(world["ana"], "recibo", cursor=cursor, limit=2)
        seen += _ids(hits)
        if cursor is None:
            break
    assert seen == expected and len(expected) == 5


@pytest.mark.parametrize("backend", ["postgresql"])  # psycopg's server-side statements; SQLite has none
def test_each_search_is_planned_for_its_own_words(world, factory):
    """psycopg would prepare a statement on the server after five runs on a connection (kept
    until a rollback), and PostgreSQL then keep one generic plan for any word: a search seven
    times slower (bench/search.py). The app turns that off: the 24th search plans as the first."""
    factory.ticket(world["connection"], sector=world["vendas"], text="A entrega atrasou")
    for word in ["entrega"] * 12 + ["atrasou"] * 12:
        assert len(search_messages(world["ana"], word)[0]) == 1
    assert db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements")) == 0
