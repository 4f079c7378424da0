"""The contact's past (issue 13, part 3): the panel's list of past tickets, a past ticket
read only, the full history across tickets with a separator per ticket, and older pages
by message id; hidden tickets never show, and the cost does not grow with the tickets."""
import re

import pytest
from flask import g
from sqlalchemy import event

from atendimento.contacts import history
from atendimento.extensions import db
from atendimento.tickets import history_routes, outgoing, service


@pytest.fixture
def world(factory):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    ana = factory.user("Ana", sectors=[sales])
    admin = factory.admin()
    conn = factory.connection("WhatsApp", sectors=[sales, support])
    return dict(sales=sales, support=support, ana=ana, admin=admin, conn=conn)


def past_tickets(factory, world, sender, n, sector_key="sales"):
    """``n`` closed tickets of one contact, each with a question and an answer, then an open one."""
    tickets = []
    for i in range(n):
        ticket = factory.ticket(world["conn"], sector=world[sector_key], sender=sender, text=f"pergunta {i}")
        service.accept_ticket(world["ana"], ticket.id)
        outgoing.send_text(world["ana"], ticket.id, f"resposta {i}")
        service.close_ticket(world["ana"], ticket.id)
        tickets.append(ticket)
    current = factory.ticket(world["conn"], sector=world["sales"], sender=sender, text="de novo")
    service.accept_ticket(world["ana"], current.id)
    return tickets, current


def test_the_panel_lists_past_tickets_with_sector_attendant_and_last_words(world, factory, client, auth):
    (old,), current = past_tickets(factory, world, "5511900000001", 1)
    auth.login(world["ana"])
    html = client.get(f"/tickets/{current.id}").get_data(as_text=True)
    section = html[html.index('id="contact-history"'):]
    assert f"#{old.id}" in section and "Comercial · Ana" in section and "resposta 0" in section
    assert f"/contacts/{current.contact_id}/history?ticket={old.id}&amp;back={current.id}" in section
    assert 'id="full-history"' in section


def test_a_past_ticket_reads_alone_and_the_full_history_crosses_tickets(world, factory, client, auth):
    tickets, current = past_tickets(factory, world, "5511900000002", 2)
    other_line = factory.connection("Suporte", sectors=[world["support"]])  # same contact, a ticket Ana may not see
    hidden = factory.ticket(other_line, sector=world["support"], sender="5511900000002", text="segredo")
    assert hidden.contact_id == current.contact_id
    auth.login(world["ana"])
    contact = current.contact_id
    one = client.get(f"/contacts/{contact}/history?ticket={tickets[0].id}&back={current.id}")
    assert one.status_code == 200
    text = one.get_data(as_text=True)
    assert "pergunta 0" in text and "resposta 0" in text and "pergunta 1" not in text
    assert f'href="/tickets/{current.id}"' in text and 'id="composer"' not in text  # read only
    full = client.get(f"/contacts/{contact}/history").get_data(as_text=True)
    order = [m for m in re.findall(r">(pergunta \d|resposta \d|de novo|segredo)<", full)]
    assert order == ["pergunta 0", "resposta 0", "pergunta 1", "resposta 1", "de novo"]  # oldest first, no hidden
    separators = re.findall(r'class="ticket-separator" role="separator" data-ticket-id="(\d+)"', full)
    assert separators == [str(t.id) for t in tickets] + [str(current.id)]
    assert client.get(f"/contacts/{contact}/history?ticket={hidden.id}").status_code == 404
    other = factory.ticket(world["conn"], sector=world["sales"], sender="5511900000099")
    assert client.get(f"/contacts/{contact}/history?ticket={other.id}").status_code == 404  # not this contact's
    assert client.get(f"/contacts/{contact}/history?ticket=abc").status_code == 404
    assert client.get(f"/contacts/{contact}/history?before=abc").status_code == 303  # the pages: back, with why
    admin_view = client.get(f"/contacts/{hidden.contact_id}/history")
    assert admin_view.status_code == 200
    stranger = factory.ticket(factory.connection("Outra", sectors=[world["support"]]), sector=world["support"],
                              sender="5511900000077")
    assert client.get(f"/contacts/{stranger.contact_id}/history").status_code == 404


def test_older_pages_by_message_id(world, factory, client, auth, monkeypatch):
    monkeypatch.setattr(history, "HISTORY_PAGE", 3)
    tickets, current = past_tickets(factory, world, "5511900000003", 3)  # 6 messages + 1
    auth.login(world["ana"])
    first = client.get(f"/contacts/{current.contact_id}/history").get_data(as_text=True)
    assert re.findall(r">(pergunta \d|resposta \d|de novo)<", first) == ["pergunta 2", "resposta 2", "de novo"]
    older = re.search(r'data-older="([^"]+)"', first).group(1).replace("&amp;", "&")
    page = client.get(older).get_data(as_text=True)
    assert "<html" not in page  # a fragment for the loader
    assert re.findall(r">(pergunta \d|resposta \d)<", page) == ["resposta 0", "pergunta 1", "resposta 1"]
    last = client.get(re.search(r'data-older="([^"]+)"', page).group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r">(pergunta \d|resposta \d)<", last) == ["pergunta 0"] and "data-older" not in last


def test_a_long_conversation_loads_older_messages(world, factory, client, auth, monkeypatch):
    ticket = factory.ticket(world["conn"], sector=world["sales"], sender="5511900000004", text="m0")
    service.accept_ticket(world["ana"], ticket.id)
    for i in range(1, 7):
        outgoing.send_text(world["ana"], ticket.id, f"m{i}")
    auth.login(world["ana"])
    assert "data-older" not in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)  # all on one page
    monkeypatch.setattr(history_routes, "CONVERSATION_PAGE", 3)
    ids = [m.id for m in outgoing_messages(ticket.id)]
    page = client.get(f"/tickets/{ticket.id}/older?before={ids[4]}").get_data(as_text=True)
    assert re.findall(r">m(\d)<", page) == ["1", "2", "3"] and "data-older" in page
    page = client.get(f"/tickets/{ticket.id}/older?before={ids[1]}").get_data(as_text=True)
    assert re.findall(r">m(\d)<", page) == ["0"] and "data-older" not in page
    hidden = factory.ticket(world["conn"], sector=world["support"], sender="5511900000005")
    assert client.get(f"/tickets/{hidden.id}/older?before=1").status_code == 404


def outgoing_messages(ticket_id):
    from atendimento.models import Message

    return db.session.query(Message).filter_by(ticket_id=ticket_id).order_by(Message.id).all()


def test_history_costs_the_same_queries_for_few_and_many_tickets(world, factory, client, auth):
    auth.login(world["admin"])

    def queries(contact_id, current_id):
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        # The test's app context (its session, flask.g) outlives requests: each starts with nothing loaded.
        db.session.expunge_all()
        g.pop("_login_user", None)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(f"/contacts/{contact_id}/history").status_code == 200
            assert client.get(f"/tickets/{current_id}").status_code == 200  # the panel's list
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    _few, few_current = past_tickets(factory, world, "5511900000006", 5)
    _many, many_current = past_tickets(factory, world, "5511900000007", 40)
    queries(few_current.contact_id, few_current.id)  # warm the app's own caches (sector and user names)
    assert queries(few_current.contact_id, few_current.id) == queries(many_current.contact_id, many_current.id)


def test_a_past_ticket_opens_read_only_beside_the_current_one(world, factory, client, auth, monkeypatch):
    tickets, current = past_tickets(factory, world, "5511900000006", 1)
    past = tickets[0]
    for i in range(1, 5):
        factory.inbound(world["conn"], sender="5511900000006", text=f"m{i}")  # on the current ticket
    other_line = factory.connection("Suporte", sectors=[world["support"]])
    hidden = factory.ticket(other_line, sector=world["support"], sender="5511900000006", text="segredo")
    auth.login(world["ana"])
    panel = client.get(f"/tickets/{current.id}").get_data(as_text=True)
    assert f'data-beside="/tickets/{past.id}/beside"' in panel  # the history link opens the pane
    answer = client.get(f"/tickets/{past.id}/beside")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "<html" not in html and 'id="beside-pane"' in html and 'id="beside-close"' in html
    title = re.sub(r"\s+", " ", re.search(r'<h2 id="beside-title">(.*?)</h2>', html, re.S).group(1)).strip()
    assert re.fullmatch(rf"Ticket #{past.id} · \d\d/\d\d/\d{{4}} · Comercial · Ana", title), title
    assert re.findall(r">(pergunta 0|resposta 0)<", html) == ["pergunta 0", "resposta 0"]
    # Read only: no composer, and not the conversation's own #messages (live.js's).
    assert 'id="composer"' not in html and 'id="messages"' not in html
    assert client.get(f"/tickets/{hidden.id}/beside").status_code == 404  # another sector's ticket
    assert client.get("/tickets/999999/beside").status_code == 404
    # A long one: older pages, loaded on scrolling up, stay read only.
    monkeypatch.setattr(history_routes, "CONVERSATION_PAGE", 2)
    html = client.get(f"/tickets/{current.id}/beside").get_data(as_text=True)
    assert re.findall(r">(m\d)<", html) == ["m3", "m4"]
    older = re.search(r'data-older="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "read=1" in older
    page = client.get(older).get_data(as_text=True)
    assert re.findall(r">(m\d|de novo)<", page) == ["m1", "m2"]
