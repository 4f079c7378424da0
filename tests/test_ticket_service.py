"""The ticket lifecycle of SPEC §3, through the service layer, on both databases."""
import pytest
from sqlalchemy import select

from atendimento.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from atendimento.events import domain_event
from atendimento.extensions import db
from atendimento.models import Message, Ticket, TicketEvent
from atendimento.tickets import outgoing, service


@pytest.fixture
def setup(factory):
    sales = factory.sector("Comercial")
    support = factory.sector("Suporte")
    ana = factory.user("Ana", sectors=[sales])
    bruno = factory.user("Bruno", sectors=[sales])
    carla = factory.user("Carla", sectors=[support])
    admin = factory.admin()
    conn = factory.connection("WhatsApp Loja", sectors=[sales, support])
    return dict(sales=sales, support=support, ana=ana, bruno=bruno, carla=carla, admin=admin, conn=conn)


@pytest.fixture
def published(app):
    seen = []

    def listener(sender, name, ticket_id, data):
        seen.append((name, ticket_id, data))

    domain_event.connect(listener)
    yield seen
    domain_event.disconnect(listener)


def kinds(ticket):
    return [e.kind for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                               .order_by(TicketEvent.id))]


def test_first_message_creates_a_pending_ticket_and_counts_unread(factory, setup, published):
    m1 = factory.inbound(setup["conn"], sender="5511988887777", text="Oi, meu pedido atrasou", name="Dona Maria")
    m2 = factory.inbound(setup["conn"], sender="5511988887777", text="Número 1234")
    ticket = db.session.get(Ticket, m1.ticket_id)
    assert m2.ticket_id == ticket.id
    assert ticket.status == "pending" and ticket.user_id is None
    assert ticket.unread == 2
    assert ticket.last_message == "Número 1234"
    assert ticket.contact.name == "Dona Maria" and ticket.contact.phone == "5511988887777"
    assert kinds(ticket) == ["created"]
    names = [name for name, *_ in published]
    assert names == ["ticket.created", "message.created", "ticket.updated", "message.created"]


def test_redelivery_with_same_external_id_stores_nothing(factory, setup):
    first = factory.inbound(setup["conn"], external_id="wamid.1", text="Olá")
    again = factory.inbound(setup["conn"], external_id="wamid.1", text="Olá")
    assert first is not None and again is None
    assert db.session.scalar(select(db.func.count()).select_from(Message)) == 1
    assert db.session.get(Ticket, first.ticket_id).unread == 1


def test_same_external_id_on_another_connection_is_another_message(factory, setup):
    other = factory.connection("Outro número")
    assert factory.inbound(setup["conn"], external_id="x1") is not None
    assert factory.inbound(other, external_id="x1") is not None


def test_single_offered_sector_is_set_on_new_tickets(factory, setup):
    conn = factory.connection("Só suporte", sectors=[setup["support"]])
    ticket = factory.inbound(conn).ticket
    assert ticket.sector_id == setup["support"].id


def test_accept_assigns_and_records_event(factory, setup, published):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"])
    published.clear()
    accepted = service.accept_ticket(setup["ana"], ticket.id)
    assert accepted.status == "open" and accepted.user_id == setup["ana"].id
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "accepted")).one()
    assert (event.actor_id, event.from_status, event.to_status) == (setup["ana"].id, "pending", "open")
    assert published[0][0] == "ticket.updated"
    assert published[0][2]["previous"]["status"] == "pending"


def test_second_accept_gets_conflict_naming_who_took_it(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"])
    service.accept_ticket(setup["ana"], ticket.id)
    with pytest.raises(Conflict) as caught:
        service.accept_ticket(setup["bruno"], ticket.id)
    assert "Ana" in str(caught.value.message)
    assert caught.value.status == 409
    assert db.session.get(Ticket, ticket.id).user_id == setup["ana"].id


def test_close_from_pending_and_from_open(factory, setup):
    waiting = factory.ticket(setup["conn"], sector=setup["sales"], sender="1")
    closed = service.close_ticket(setup["bruno"], waiting.id)
    assert closed.status == "closed" and closed.closed_at is not None
    handled = factory.ticket(setup["conn"], sector=setup["sales"], sender="2")
    service.accept_ticket(setup["ana"], handled.id)
    assert service.close_ticket(setup["ana"], handled.id).status == "closed"
    assert kinds(handled) == ["created", "accepted", "closed"]


def test_only_assignee_or_admin_closes_an_open_ticket(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"])
    service.accept_ticket(setup["ana"], ticket.id)
    with pytest.raises(Forbidden):
        service.close_ticket(setup["bruno"], ticket.id)
    assert db.session.get(Ticket, ticket.id).status == "open"
    assert service.close_ticket(setup["admin"], ticket.id).status == "closed"


def test_closing_twice_is_an_invalid_transition(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="closed")
    with pytest.raises(InvalidTransition):
        service.close_ticket(setup["admin"], ticket.id)


def test_message_after_close_creates_a_new_ticket_and_keeps_the_old(factory, setup):
    first = factory.inbound(setup["conn"], sender="77", text="primeira conversa").ticket
    service.close_ticket(setup["admin"], first.id)
    second = factory.inbound(setup["conn"], sender="77", text="voltei").ticket
    assert second.id != first.id and second.status == "pending"
    db.session.refresh(first)
    assert first.status == "closed"
    assert [m.body for m in db.session.scalars(select(Message).where(Message.ticket_id == first.id))] == [
        "primeira conversa"]


def test_reopen_assigns_the_reopener(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="closed")
    reopened = service.reopen_ticket(setup["bruno"], ticket.id)
    assert reopened.status == "open" and reopened.user_id == setup["bruno"].id and reopened.closed_at is None
    assert kinds(ticket)[-1] == "reopened"


def test_reopen_refused_when_another_ticket_is_active(factory, setup):
    old = factory.inbound(setup["conn"], sender="88").ticket
    service.close_ticket(setup["admin"], old.id)
    new = factory.inbound(setup["conn"], sender="88", text="de novo").ticket
    with pytest.raises(Conflict) as caught:
        service.reopen_ticket(setup["admin"], old.id)
    assert f"#{new.id}" in str(caught.value.message)
    assert db.session.get(Ticket, old.id).status == "closed"


def test_reopen_of_an_open_ticket_is_refused(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"])
    with pytest.raises(InvalidTransition):
        service.reopen_ticket(setup["ana"], ticket.id)


def test_transfer_to_sector_returns_to_waiting_without_assignee(factory, setup, published):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"])
    published.clear()
    moved = service.transfer_to_sector(setup["ana"], ticket.id, setup["support"].id)
    assert (moved.status, moved.sector_id, moved.user_id) == ("pending", setup["support"].id, None)
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "transferred")).one()
    assert event.data["to_sector_id"] == setup["support"].id
    assert published[0][2]["previous"] == {"status": "open", "sector_id": setup["sales"].id,
                                           "user_id": setup["ana"].id, "connection_id": setup["conn"].id}


def test_admin_routes_a_waiting_ticket_without_sector(factory, setup):
    ticket = factory.ticket(setup["conn"])
    assert ticket.sector_id is None
    moved = service.transfer_ticket(setup["admin"], ticket.id, sector_id=setup["sales"].id)
    assert moved.sector_id == setup["sales"].id and moved.status == "pending"


def test_transfer_to_attendant_opens_it_in_their_sector(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"])
    moved = service.transfer_to_user(setup["ana"], ticket.id, setup["carla"].id)
    assert (moved.status, moved.user_id, moved.sector_id) == ("open", setup["carla"].id, setup["support"].id)


def test_transfer_to_attendant_keeps_the_sector_when_they_belong_to_it(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"])
    moved = service.transfer_to_user(setup["admin"], ticket.id, setup["bruno"].id)
    assert (moved.status, moved.user_id, moved.sector_id) == ("open", setup["bruno"].id, setup["sales"].id)


@pytest.mark.parametrize("target", ["nobody", "inactive", "no_sector"])
def test_transfer_to_a_user_without_access_is_refused(factory, setup, target):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"])
    user_id = {"nobody": 999999,
               "inactive": factory.user("Inativo", sectors=[setup["sales"]], active=False).id,
               "no_sector": factory.user("Sem setor").id}[target]
    with pytest.raises(InvalidInput):
        service.transfer_to_user(setup["ana"], ticket.id, user_id)
    again = db.session.get(Ticket, ticket.id)
    assert (again.status, again.user_id, again.sector_id) == ("open", setup["ana"].id, setup["sales"].id)


def test_transfer_to_connection_of_the_same_channel(factory, setup):
    other = factory.connection("Segundo número", sectors=[setup["sales"]])
    telegram = factory.connection("Telegram", kind="telegram")
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"])
    with pytest.raises(InvalidInput):
        service.transfer_to_connection(setup["ana"], ticket.id, telegram.id)
    moved = service.transfer_to_connection(setup["ana"], ticket.id, other.id)
    assert moved.connection_id == other.id and moved.status == "open"


def test_transfer_to_connection_refused_when_contact_is_active_there(factory, setup):
    other = factory.connection("Segundo número")
    ticket = factory.inbound(setup["conn"], sender="99").ticket
    there = factory.inbound(other, sender="99").ticket
    with pytest.raises(Conflict) as caught:
        service.transfer_to_connection(setup["admin"], ticket.id, other.id)
    assert f"#{there.id}" in str(caught.value.message)
    assert db.session.get(Ticket, ticket.id).connection_id == setup["conn"].id


def test_transfer_of_a_closed_ticket_is_refused(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="closed")
    with pytest.raises(InvalidTransition):
        service.transfer_to_sector(setup["admin"], ticket.id, setup["support"].id)


def test_transfer_needs_exactly_one_destination(factory, setup):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"])
    with pytest.raises(InvalidInput):
        service.transfer_ticket(setup["admin"], ticket.id)
    with pytest.raises(InvalidInput):
        service.transfer_ticket(setup["admin"], ticket.id, sector_id=setup["sales"].id, user_id=setup["ana"].id)


def test_unread_reset_by_assignee_not_by_peek_or_others(factory, setup):
    ticket = factory.inbound(setup["conn"], sender="55", text="oi").ticket
    factory.inbound(setup["conn"], sender="55", text="alguém?")
    service.transfer_to_sector(setup["admin"], ticket.id, setup["sales"].id)
    service.open_conversation(setup["ana"], ticket.id, peek=True)
    assert db.session.get(Ticket, ticket.id).unread == 2
    service.accept_ticket(setup["ana"], ticket.id)
    service.open_conversation(setup["admin"], ticket.id)  # not the assignee
    assert db.session.get(Ticket, ticket.id).unread == 2
    service.open_conversation(setup["ana"], ticket.id)
    assert db.session.get(Ticket, ticket.id).unread == 0
    factory.inbound(setup["conn"], sender="55", text="obrigado")
    assert db.session.get(Ticket, ticket.id).unread == 1


def test_send_text_queues_an_outgoing_message(factory, setup, published):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"])
    published.clear()
    message = outgoing.send_text(setup["ana"], ticket.id, "  Bom dia! Vou verificar.  ")
    assert (message.direction, message.status, message.body, message.author_id) == (
        "out", "queued", "Bom dia! Vou verificar.", setup["ana"].id)
    assert db.session.get(Ticket, ticket.id).last_message == "Bom dia! Vou verificar."
    assert [name for name, *_ in published] == ["message.created", "ticket.updated"]


@pytest.mark.parametrize("text", ["", "   ", None, "x" * 5000])
def test_send_refuses_empty_or_huge_text(factory, setup, text):
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"])
    with pytest.raises(InvalidInput):
        outgoing.send_text(setup["ana"], ticket.id, text)
    assert db.session.scalar(select(db.func.count()).select_from(Message).where(Message.direction == "out")) == 0


def test_only_assignee_or_admin_sends_and_only_on_open(factory, setup):
    waiting = factory.ticket(setup["conn"], sector=setup["sales"], sender="1")
    with pytest.raises(InvalidTransition):
        outgoing.send_text(setup["ana"], waiting.id, "oi")
    handled = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"], sender="2")
    with pytest.raises(Forbidden):
        outgoing.send_text(setup["bruno"], handled.id, "oi")
    assert outgoing.send_text(setup["admin"], handled.id, "oi").author_id == setup["admin"].id


def test_unknown_ticket_is_not_found(setup):
    for move in (service.accept_ticket, service.close_ticket, service.reopen_ticket):
        with pytest.raises(NotFound):
            move(setup["admin"], 424242)
    with pytest.raises(NotFound):
        service.accept_ticket(setup["admin"], "abc")


def test_contact_tags_replace(factory, setup):
    from atendimento.contacts.tags import set_contact_tags

    vip, late = factory.tag("vip"), factory.tag("atraso")
    ticket = factory.ticket(setup["conn"], sector=setup["sales"], status="open", assignee=setup["ana"])
    set_contact_tags(setup["ana"], ticket.contact_id, [vip.id, late.id])
    assert {t.name for t in ticket.contact.tags} == {"vip", "atraso"}
    with pytest.raises(InvalidInput):
        set_contact_tags(setup["ana"], ticket.contact_id, [999])
    assert {t.name for t in ticket.contact.tags} == {"vip", "atraso"}
