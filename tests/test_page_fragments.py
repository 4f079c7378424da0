"""The small pieces the live page asks for instead of itself, and what attendants saw
wrong in the page (issue 10): on SQLite and PostgreSQL."""
import re

import pytest

from atendimento.extensions import db
from atendimento.models import Message
from atendimento.tickets import outgoing, service
from atendimento.tickets.statuses import apply_status
from atendimento.web import file_size


@pytest.fixture
def team(factory):
    suporte = factory.sector("Suporte")
    ana = factory.user("Ana Lima", sectors=[suporte])
    olga = factory.user("Olga", sectors=[factory.sector("Outro")])
    admin = factory.admin("Gerente")
    connection = factory.connection("WhatsApp Loja", sectors=[suporte])
    return dict(suporte=suporte, ana=ana, olga=olga, admin=admin, connection=connection)


def _html(response):
    return response.get_data(as_text=True)


def test_counts_are_the_tabs_numbers_for_whoever_asks(client, auth, factory, team):
    factory.ticket(team["connection"])
    factory.ticket(team["connection"], status="open", assignee=team["ana"])
    auth.login(team["ana"])
    assert client.get("/tickets/counts").json == {"pending": 1, "open": 1, "closed": 0, "mine": 1}
    auth.logout()
    auth.login(team["olga"])  # sees none of them
    assert client.get("/tickets/counts").json == {"pending": 0, "open": 0, "closed": 0, "mine": 0}


def test_the_list_fragment_filters_as_one_types(client, auth, factory, team):
    rosa = factory.ticket(team["connection"], sender="5511900000001")
    rosa.contact.name = "Dona Rosa"
    other = factory.ticket(team["connection"], sender="5511900000002")
    db.session.commit()
    auth.login(team["ana"])
    html = _html(client.get("/tickets/list?tab=pending&q=rosa"))
    assert f'data-ticket-id="{rosa.id}"' in html and f'data-ticket-id="{other.id}"' not in html
    assert 'id="list-results"' in html and 'data-q="rosa"' in html
    assert "<html" not in html  # a fragment, not the page


def test_panes_of_a_ticket_one_may_not_see_are_404(client, auth, factory, team):
    ticket = factory.ticket(team["connection"])
    auth.login(team["olga"])
    assert client.get(f"/tickets/{ticket.id}/panes").status_code == 404
    auth.logout()
    auth.login(team["ana"])
    html = _html(client.get(f"/tickets/{ticket.id}/panes?tab=pending"))
    assert 'class="conversation-pane"' in html and 'class="side-pane"' in html and 'id="btn-accept"' in html


def test_panes_never_mark_the_conversation_read(client, auth, factory, team):
    ticket = factory.ticket(team["connection"], status="open", assignee=team["ana"])
    factory.inbound(team["connection"], sender=ticket.contact.phone, text="mais uma")
    auth.login(team["ana"])
    client.get(f"/tickets/{ticket.id}/panes")
    db.session.expire_all()
    assert db.session.get(type(ticket), ticket.id).unread > 0


def test_the_page_resumes_its_stream_from_the_moment_it_was_rendered(app, client, auth, team):
    auth.login(team["ana"])
    head = app.extensions["realtime"].head()[0]
    assert f'data-stream-cursor="{head}"' in _html(client.get("/tickets"))


def test_the_composer_answers_json_with_the_new_bubble(client, auth, factory, team):
    ticket = factory.ticket(team["connection"], status="open", assignee=team["ana"])
    auth.login(team["ana"])
    response = client.post(f"/tickets/{ticket.id}/messages", data={"text": "Já vejo"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 201
    assert response.json["message"]["body"] == "Já vejo" and response.json["message"]["status"] == "queued"
    assert f'data-message-id="{response.json["message"]["id"]}"' in response.json["html"]
    refused = client.post(f"/tickets/{ticket.id}/messages", data={"text": "  "},
                          headers={"Accept": "application/json"})
    assert refused.status_code == 422 and refused.json["error"]["message"] == "A mensagem está vazia."


def test_an_admin_lands_on_todos_when_meus_is_empty(client, auth, factory, team):
    handled = factory.ticket(team["connection"], status="open", assignee=team["ana"])
    auth.login(team["admin"])
    html = _html(client.get("/tickets?tab=open"))
    assert 'id="view-all"' in html and re.search(r'class="is-active"\s+aria-current="true" id="view-all"', html)
    assert f'data-ticket-id="{handled.id}"' in html
    service.accept_ticket(team["admin"], factory.ticket(team["connection"]).id)
    assert re.search(r'class="is-active"\s+aria-current="true" id="view-mine"', _html(client.get("/tickets?tab=open")))


def test_esperando_shows_the_customers_words_not_the_greeting(client, auth, factory, team):
    team["connection"].greeting = "Olá! Em instantes um atendente fala com você."
    db.session.commit()
    factory.inbound(team["connection"], sender="5511977770000", text="Vocês abrem sábado?")
    auth.login(team["ana"])
    html = _html(client.get("/tickets"))
    assert "Vocês abrem sábado?" in html and "Em instantes" not in html


def test_previews_sizes_and_failures_read_as_people_write(client, auth, factory, team):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from .channels.helpers import PDF

    ticket = factory.ticket(team["connection"], status="open", assignee=team["ana"])
    outgoing.send_media(team["ana"], ticket.id, FileStorage(BytesIO(PDF), "nota.pdf"))
    auth.login(team["ana"])
    assert "📄 Documento" in _html(client.get("/tickets?tab=open"))  # not "📄 document"
    failed = outgoing.send_text(team["ana"], ticket.id, "Olá")
    db.session.execute(Message.__table__.update().where(Message.id == failed.id).values(external_id="x"))
    db.session.commit()
    apply_status(team["connection"].id, "x", "failed")  # the provider gave no reason
    page = _html(client.get(f"/tickets/{ticket.id}"))
    assert f"({len(PDF)} B)" in page and "(0 KB)" not in page
    assert "Não entregue: o canal recusou a mensagem." in page and "failed" not in page.split("msg-error")[1][:200]
    assert [file_size(n) for n in (850, 1_536, 12_288, 1_468_006)] == ["850 B", "1,5 KB", "12 KB", "1,4 MB"]


def test_fechar_asks_first(client, auth, factory, team):
    ticket = factory.ticket(team["connection"], status="open", assignee=team["ana"])
    auth.login(team["ana"])
    html = _html(client.get(f"/tickets/{ticket.id}"))
    assert re.search(r'id="btn-close" data-open-dialog="close-dialog"', html)
    assert 'id="close-dialog"' in html and "Fechar o ticket" in html
