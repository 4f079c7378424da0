"""The one service every outgoing message goes through (tickets/outgoing.py): who may
write, the ticket's preview, the outbox row, the events; on both databases."""
from io import BytesIO

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from atendimento.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from atendimento.events import domain_event
from atendimento.extensions import db
from atendimento.models import Message, Ticket
from atendimento.tickets import flow, outgoing, service
from atendimento.tickets.state import preview_of

from .channels.helpers import PDF


@pytest.fixture
def world(factory):
    sales = factory.sector("Comercial")
    ana = factory.user("Ana", sectors=[sales])
    bruno = factory.user("Bruno", sectors=[sales])
    outsider = factory.user("Olga", sectors=[factory.sector("Outro")])
    admin = factory.admin()
    conn = factory.connection("Loja", sectors=[sales])
    ticket = factory.ticket(conn, sector=sales, status="open", assignee=ana, text="Meu pedido atrasou")
    return dict(ana=ana, bruno=bruno, outsider=outsider, admin=admin, conn=conn, ticket=ticket, sales=sales)


@pytest.fixture
def events(app):
    seen = []

    def listen(_sender, name, ticket_id, data):
        seen.append((name, ticket_id, dict(data)))

    domain_event.connect(listen)
    yield seen
    domain_event.disconnect(listen)


def _ticket(ticket_id) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def test_a_text_is_queued_for_the_outbox_with_the_preview_moved_and_announced(world, events):
    ticket = world["ticket"]
    events.clear()
    message = outgoing.send_text(world["ana"], ticket.id, "  Já verifico o seu pedido.  ")

    row = db.session.get(Message, message.id)
    assert (row.direction, row.kind, row.body, row.status, row.author_id) == (
        "out", "text", "Já verifico o seu pedido.", "queued", world["ana"].id)
    assert row.next_attempt_at is not None and row.attempts == 0  # due now: the outbox picks it up
    after = _ticket(ticket.id)
    assert after.last_message == "Já verifico o seu pedido." and after.last_message_at == row.created_at
    assert [name for name, _id, _data in events] == ["message.created", "ticket.updated"]
    created, updated = events[0][2], events[1][2]
    assert created["id"] == message.id and created["status"] == "queued" and created["direction"] == "out"
    assert updated["last_message"] == "Já verifico o seu pedido."
    assert updated["changed"] == ["last_message", "last_message_at"]  # no move: the page only updates the row
    assert updated["previous"]["status"] == "open"


def test_a_file_is_a_message_with_its_caption_and_preview(world, events):
    upload = FileStorage(BytesIO(PDF), "orçamento.pdf")
    message = outgoing.send_media(world["ana"], world["ticket"].id, upload, " segue o orçamento ")
    row = db.session.get(Message, message.id)
    assert (row.kind, row.body, row.media_mime, row.media_name, row.status) == (
        "document", "segue o orçamento", "application/pdf", "orçamento.pdf", "queued")
    assert row.media_size == len(PDF)
    assert _ticket(world["ticket"].id).last_message == "📄 segue o orçamento"
    assert events[0][2]["media_url"].endswith(f"/media/{message.id}")


def test_a_file_without_caption_previews_as_its_icon(world):
    message = outgoing.send_media(world["ana"], world["ticket"].id, FileStorage(BytesIO(PDF), "a.pdf"))
    assert message.body == ""
    assert _ticket(world["ticket"].id).last_message == "📄" == preview_of("document", "")


@pytest.mark.parametrize("who", ["bruno", "outsider"])
def test_only_the_assignee_or_an_admin_writes(world, who):
    before = db.session.scalars(select(Message)).all()
    expected = Forbidden if who == "bruno" else NotFound  # another's ticket / a ticket one cannot see
    with pytest.raises(expected):
        outgoing.send_text(world[who], world["ticket"].id, "oi")
    assert db.session.scalars(select(Message)).all() == before  # nothing stored
    assert outgoing.send_text(world["admin"], world["ticket"].id, "Sou o gerente").author_id == world["admin"].id


def test_a_waiting_or_closed_ticket_takes_no_message(world, factory):
    waiting = factory.ticket(world["conn"], sector=world["sales"])
    with pytest.raises(InvalidTransition):
        outgoing.send_text(world["ana"], waiting.id, "oi")
    service.close_ticket(world["ana"], world["ticket"].id)
    with pytest.raises(InvalidTransition):
        outgoing.send_text(world["ana"], world["ticket"].id, "oi")


@pytest.mark.parametrize("text", ["", "   ", None, "x" * (outgoing.MAX_TEXT_LENGTH + 1)])
def test_empty_or_too_long_text_is_refused_and_nothing_changes(world, events, text):
    preview = _ticket(world["ticket"].id).last_message
    events.clear()
    with pytest.raises(InvalidInput) as refused:
        outgoing.send_text(world["ana"], world["ticket"].id, text)
    assert "text" in refused.value.fields
    assert _ticket(world["ticket"].id).last_message == preview and events == []


def test_a_refused_file_leaves_no_message(world):
    with pytest.raises(InvalidInput) as refused:
        outgoing.send_media(world["ana"], world["ticket"].id, None)
    assert "file" in refused.value.fields
    assert db.session.scalars(select(Message).where(Message.direction == "out")).all() == []


def test_the_bots_words_leave_the_preview_and_the_waiting_time_alone(world, factory, events):
    """Esperando shows what the customer said, and since when, not the automatic greeting."""
    world["conn"].greeting = "Olá! Já vamos atender."
    db.session.commit()
    message = factory.inbound(world["conn"], sender="5511977776666", text="Quero um orçamento")
    ticket = _ticket(message.ticket_id)
    greeting = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id,
                                                        Message.from_bot.is_(True))).one()
    assert greeting.status == "queued" and greeting.direction == "out"
    assert ticket.last_message == "Quero um orçamento"
    assert ticket.last_message_at == message.created_at


def test_compose_is_the_one_constructor_bot_messages_use(world):
    ticket = world["ticket"]
    message = outgoing.compose(ticket, from_bot=True, body="Até logo!")
    db.session.commit()
    assert (message.direction, message.status, message.from_bot, message.author_id) == ("out", "queued", True, None)
    assert flow.farewell(ticket) is None  # no farewell configured: nothing composed


def test_resend_requeues_a_failed_message_and_announces_it(world, events):
    message = outgoing.send_text(world["ana"], world["ticket"].id, "Olá")
    db.session.execute(Message.__table__.update().where(Message.id == message.id)
                       .values(status="failed", error="blocked", attempts=6))
    db.session.commit()
    events.clear()
    again = outgoing.resend_message(world["ana"], message.id, ticket_id=world["ticket"].id)
    assert (again.status, again.attempts, again.error) == ("queued", 0, None)
    assert [(name, data["status"]) for name, _id, data in events] == [("message.updated", "queued")]
    with pytest.raises(InvalidTransition):
        outgoing.resend_message(world["ana"], message.id)
