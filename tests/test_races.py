"""Races decided by PostgreSQL: real threads, one connection each, released together."""
import os
import threading

import pytest
from sqlalchemy import func, select

from atendimento.errors import Conflict
from atendimento.extensions import db
from atendimento.models import Contact, Message, Ticket, TicketEvent
from atendimento.tickets import service
from atendimento.tickets.inbound import Inbound, receive_inbound

ROUNDS = int(os.environ.get("RACE_ROUNDS", "3"))
THREADS = 20


@pytest.fixture
def backend():
    return "postgresql"


def run_together(app, work, n=THREADS):
    """Run ``work(i)`` in n threads, each in its own app context (own session and
    connection), started at the same instant; returns results or exceptions."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def target(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as exc:  # noqa: BLE001 - the caller inspects each outcome
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_accepts_have_exactly_one_winner(app, factory, round_):
    sector = factory.sector("Vendas")
    users = [factory.user(f"Atendente {i}", sectors=[sector]) for i in range(THREADS)]
    ticket = factory.ticket(sector=sector)
    user_ids = [u.id for u in users]

    def accept(i):
        from atendimento.models import User

        return service.accept_ticket(db.session.get(User, user_ids[i]), ticket.id).user_id

    results = run_together(app, accept)
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1, results
    assert len(losers) == THREADS - 1, results
    db.session.expire_all()
    fresh = db.session.get(Ticket, ticket.id)
    assert fresh.status == "open" and fresh.user_id == winners[0]
    assert all(fresh.user.name in str(loser.message) for loser in losers)
    accepted = db.session.scalar(select(func.count()).select_from(TicketEvent)
                                 .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "accepted"))
    assert accepted == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_first_messages_make_one_ticket(app, factory, round_):
    connection = factory.connection("WhatsApp")
    connection_id = connection.id

    def deliver(i):
        from atendimento.models import Connection

        conn = db.session.get(Connection, connection_id)
        message = receive_inbound(conn, Inbound(sender_id="5511912345678", name="Cliente Novo",
                                                body=f"mensagem {i}", external_id=f"wamid.{i}"))
        return message.ticket_id

    results = run_together(app, deliver)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert db.session.scalar(select(func.count()).select_from(Message)) == THREADS
    assert db.session.get(Ticket, results[0]).unread == THREADS


def test_concurrent_redeliveries_store_one_message(app, factory):
    connection = factory.connection("WhatsApp")
    connection_id = connection.id

    def deliver(i):
        from atendimento.models import Connection

        conn = db.session.get(Connection, connection_id)
        return receive_inbound(conn, Inbound(sender_id="5511900000001", body="oi", external_id="wamid.same"))

    results = run_together(app, deliver)
    stored = [r for r in results if r is not None]
    assert len(stored) == 1 and not any(isinstance(r, Exception) for r in results), results
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1
    assert db.session.scalar(select(Ticket.unread)) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_sends_racing_with_one_idempotency_key_store_one_message(app, factory, round_):
    """A double click that reaches two workers at once: one message, every answer is it."""
    from atendimento.models import User
    from atendimento.tickets import outgoing
    from atendimento.tickets.idempotency import was_replayed

    connection = factory.connection(settings={"outbound_url": "http://127.0.0.1:9/send"})
    ticket = factory.ticket(connection, status="open")
    user_id, ticket_id = ticket.user_id, ticket.id

    def send(i):
        message = outgoing.send_text(db.session.get(User, user_id), ticket_id, "Uma vez", idempotency_key="race")
        return message.id, was_replayed(message)

    results = run_together(app, send, n=8)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({message_id for message_id, _replayed in results}) == 1
    assert sorted(replayed for _id, replayed in results) == [False] + [True] * 7
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.ticket_id == ticket_id, Message.direction == "out")) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_call_answers_have_exactly_one_winner(app, factory, round_):
    """A WhatsApp call rings everyone who may see the ticket; of all answering at once one wins."""
    from atendimento.calls import service as calls
    from atendimento.models import Call, User

    sector = factory.sector("Vendas")
    users = [factory.user(f"Atendente {i}", sectors=[sector]) for i in range(THREADS)]
    ticket = factory.ticket(sector=sector)
    call = calls.create_call("whatsapp", "in", "5511987654321", ticket=ticket, contact=ticket.contact)
    user_ids, call_id = [u.id for u in users], call.id

    def answer(i):
        return calls.answer_call(db.session.get(User, user_ids[i]), call_id).user_id

    results = run_together(app, answer)
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, calls.AlreadyAnswered)]
    assert len(winners) == 1 and len(losers) == THREADS - 1, results
    db.session.expire_all()
    assert db.session.get(Call, call_id).user_id == winners[0]
    answered = db.session.scalar(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "call_answered"))
    assert answered == 1
