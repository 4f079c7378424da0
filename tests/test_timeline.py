"""SPEC §6.1 ``GET /tickets/<id>/events`` and the panel's waiting and first-response times."""
from datetime import timedelta

from atendimento.extensions import db
from atendimento.models import Message, Ticket, TicketEvent
from atendimento.tickets import notes, outgoing, service
from atendimento.tickets.timeline import response_times


def _backdate(ticket, minutes):
    """The ticket arrived ``minutes`` ago; its events too (they were written just now)."""
    ticket.created_at = ticket.created_at - timedelta(minutes=minutes)
    db.session.commit()


def test_events_oldest_first_in_the_spec_shape(factory, api):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    conn = factory.connection(sectors=[sales])
    ticket = factory.ticket(conn, sector=sales)
    service.accept_ticket(ana, ticket.id)
    service.close_ticket(ana, ticket.id)
    response = api(ana).get(f"/tickets/{ticket.id}/events")
    assert response.status_code == 200
    items = response.json["items"]
    assert [e["kind"] for e in items] == ["created", "accepted", "closed"]
    assert {"id", "kind", "actor_id", "data", "created_at"} <= set(items[0])
    assert items[0]["actor_id"] is None and items[1]["actor_id"] == ana.id
    assert items[1]["from_status"] == "pending" and items[1]["to_status"] == "open"
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)
    assert response.json["next"] is None


def test_events_of_a_hidden_ticket_are_404(factory, api):
    sales, support = factory.sector("Comercial"), factory.sector("Suporte")
    carla = factory.user("Carla", sectors=[support])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales)
    assert api(carla).get(f"/tickets/{ticket.id}/events").status_code == 404
    assert api(carla).get("/tickets/999999/events").status_code == 404
    assert api(carla).get("/tickets/abc/events").status_code == 404
    assert api(factory.admin()).get(f"/tickets/{ticket.id}/events").status_code == 200


def test_waiting_and_first_response_times(factory, api):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales)
    assert response_times(ticket).waiting is None and response_times(ticket).first_response is None
    _backdate(ticket, 10)
    service.accept_ticket(ana, ticket.id)
    notes.add_note(ana, ticket.id, {"text": "vou ver"})  # a note is not an answer
    body = api(ana).get(f"/tickets/{ticket.id}/events").json
    assert 590 <= body["waiting_seconds"] <= 610 and body["first_response_seconds"] is None
    first = outgoing.send_text(ana, ticket.id, "Olá, posso ajudar?")
    first.created_at = db.session.get(Ticket, ticket.id).created_at + timedelta(minutes=2)
    db.session.commit()
    outgoing.send_text(ana, ticket.id, "Mais alguma coisa?")
    body = api(ana).get(f"/tickets/{ticket.id}/events").json
    assert body["first_response_seconds"] == 120  # the first, not the latest


def test_panel_shows_the_times(factory, auth, client):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    ticket = factory.ticket(factory.connection(sectors=[sales]), sector=sales)
    _backdate(ticket, 5)
    service.accept_ticket(ana, ticket.id)
    auth.login(ana)
    html = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-time="waiting">5 min<' in html
    assert 'data-time="first-response">—<' in html
