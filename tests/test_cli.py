"""The commands a self-hosting admin types: ``create-admin`` and ``seed-demo``."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from atendimento import demo_data
from atendimento.tickets.flow import trapped_nodes
from atendimento.errors import NotFound
from atendimento.extensions import db
from atendimento.models import (
    Connection,
    Contact,
    ContactIdentity,
    Message,
    Sector,
    Tag,
    Ticket,
    TicketEvent,
    User,
    utcnow,
)
from atendimento.tickets.state import preview_of
from atendimento.tickets.visibility import visible_tickets

DEMO_ADMIN = "admin@demo.atendimento.local"
DEMO_ATTENDANTS = [f"{name}@demo.atendimento.local" for name in ("ana", "bruno", "camila", "diego")]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


# -- create-admin ----------------------------------------------------------------

def test_create_admin_with_flags_stores_a_hashed_password(flask_cli):
    result = flask_cli("create-admin", "--email", " Gerente@Loja.com.br ", "--password", "s3nha-forte",
                       "--name", "Gerente")

    assert result.exit_code == 0, result.output
    admin = user_by_email("gerente@loja.com.br")
    assert admin is not None and admin.profile == "admin" and admin.name == "Gerente"
    assert "s3nha-forte" not in admin.password_hash
    assert admin.check_password("s3nha-forte")
    assert "gerente@loja.com.br" in result.output


def test_create_admin_refuses_an_email_already_in_use(flask_cli, factory):
    factory.user("Ana", email="ana@loja.com.br")

    result = flask_cli("create-admin", "--email", "ANA@loja.com.br", "--password", "s3nha-forte")

    assert result.exit_code != 0
    assert "already exists" in result.output
    assert count(User) == 1
    assert user_by_email("ana@loja.com.br").profile == "user"


def test_create_admin_refuses_a_short_password(flask_cli):
    result = flask_cli("create-admin", "--email", "gerente@loja.com.br", "--password", "curta")

    assert result.exit_code != 0
    assert "at least 8 characters" in result.output
    assert count(User) == 0


def test_create_admin_asks_for_what_the_flags_do_not_give(flask_cli):
    result = flask_cli("create-admin", input="dono@loja.com.br\nminha-senha\nminha-senha\n")

    assert result.exit_code == 0, result.output
    assert "E-mail" in result.output and "Password" in result.output
    admin = user_by_email("dono@loja.com.br")
    assert admin.profile == "admin" and admin.check_password("minha-senha")


# -- seed-demo -------------------------------------------------------------------

def test_seed_demo_fills_every_tab_and_refuses_a_second_run(flask_cli, client):
    result = flask_cli("seed-demo")

    assert result.exit_code == 0, result.output
    for login in [DEMO_ADMIN, *DEMO_ATTENDANTS, "demo1234"]:
        assert login in result.output

    sectors = db.session.scalars(select(Sector).order_by(Sector.position)).all()
    assert [s.position for s in sectors] == [1, 2, 3]
    assert len({s.color for s in sectors}) == 3 and all(s.greeting for s in sectors)
    attendants = db.session.scalars(select(User).where(User.profile == "user")).all()
    assert sorted(u.email for u in attendants) == DEMO_ATTENDANTS
    assert {s.id for u in attendants for s in u.sectors} == {s.id for s in sectors}
    assert sorted(len(u.sectors) for u in attendants) == [1, 1, 1, 2]
    assert user_by_email(DEMO_ADMIN).profile == "admin"
    connection, bot_connection = db.session.scalars(select(Connection).order_by(Connection.id)).all()
    assert (connection.kind, connection.flow) == ("generic", "human")
    assert {s.id for s in connection.sectors} == {s.id for s in sectors}
    # The example chatbot answers on a second connection; its tree can always reach a human.
    assert (bot_connection.kind, bot_connection.flow) == ("telegram", "chatbot")
    assert len(bot_connection.chatbot.nodes) == 3 and not trapped_nodes(bot_connection.chatbot)
    assert count(Tag) == 3
    assert 25 <= count(Contact) <= 35

    _assert_tabs_look_like_a_working_day()
    _assert_every_ticket_is_consistent()
    response = client.post("/login", data={"email": DEMO_ATTENDANTS[0], "password": "demo1234"})
    assert response.status_code == 302

    before = _row_counts()
    again = flask_cli("seed-demo")

    assert again.exit_code != 0
    assert "already has" in again.output
    assert _row_counts() == before


def _assert_tabs_look_like_a_working_day():
    tickets = db.session.scalars(select(Ticket)).all()
    by_status = {status: [t for t in tickets if t.status == status] for status in ("pending", "open", "closed")}
    assert all(len(group) >= 8 for group in by_status.values()), {k: len(v) for k, v in by_status.items()}
    # Waiting: a few unanswered customer messages; at most two left for an admin to route.
    assert 1 <= sum(t.sector_id is None for t in by_status["pending"]) <= 2
    assert all(t.user_id is None and 1 <= t.unread <= 4 for t in by_status["pending"])
    # In service: spread over the attendants, each a conversation both ways.
    assert len({t.user_id for t in by_status["open"]}) == 4
    for ticket in by_status["open"]:
        directions = set(db.session.scalars(select(Message.direction).where(Message.ticket_id == ticket.id)))
        assert directions == {"in", "out"}
    assert all(t.closed_at is not None and t.unread == 0 for t in by_status["closed"])
    # Ticket without a sector: only admins see it.
    attendant = user_by_email(DEMO_ATTENDANTS[0])
    visible = set(db.session.scalars(visible_tickets(attendant).with_only_columns(Ticket.id)))
    assert not any(t.id in visible for t in by_status["pending"] if t.sector_id is None and t.user_id is None)
    # Delivery ticks on what the attendants sent.
    out_statuses = set(db.session.scalars(select(Message.status).where(Message.direction == "out")))
    assert out_statuses <= {"sent", "delivered", "read"} and "read" in out_statuses


def _assert_every_ticket_is_consistent():
    now = utcnow()
    for ticket in db.session.scalars(select(Ticket)):
        messages = db.session.scalars(
            select(Message).where(Message.ticket_id == ticket.id).order_by(Message.created_at, Message.id)
        ).all()
        assert messages, f"ticket {ticket.id} has no messages"
        last = messages[-1]
        assert ticket.last_message == preview_of(last.kind, last.body)
        assert ticket.last_message_at == last.created_at
        assert ticket.created_at == messages[0].created_at
        assert last.created_at < now
        events = db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        ).all()
        assert events[0].kind == "created"
        times = [e.created_at for e in events]
        assert times == sorted(times) and times[0] == ticket.created_at and times[-1] < now
        assert ticket.updated_at >= ticket.last_message_at
        if ticket.status == "closed":
            assert ticket.closed_at == events[-1].created_at and events[-1].kind == "closed"
        # The demo reads like the last days, not like the second it was seeded in.
        assert now - ticket.created_at < timedelta(days=8)


def _row_counts() -> dict:
    return {model.__name__: count(model)
            for model in (User, Sector, Connection, Tag, Contact, ContactIdentity, Ticket, Message, TicketEvent)}


def test_seed_demo_refuses_a_database_with_real_tickets(flask_cli, factory):
    factory.ticket(text="Olá, um cliente de verdade")
    before = _row_counts()

    result = flask_cli("seed-demo")

    assert result.exit_code != 0
    assert "already has 1 ticket" in result.output
    assert _row_counts() == before
    assert db.session.scalar(select(Sector).where(Sector.name == "Comercial")) is None


def test_seed_demo_keeps_an_existing_admin_and_checks_the_password(flask_cli, factory):
    short = flask_cli("seed-demo", "--password", "curta")
    assert short.exit_code != 0 and count(User) == 0

    owner = factory.admin("Dona da loja", email="dona@loja.com.br")
    result = flask_cli("seed-demo", "--password", "outra-senha")

    assert result.exit_code == 0, result.output
    assert user_by_email(DEMO_ADMIN) is None
    assert "dona@loja.com.br" in result.output
    assert db.session.scalars(select(User.id).where(User.profile == "admin")).all() == [owner.id]
    assert user_by_email(DEMO_ATTENDANTS[1]).check_password("outra-senha")
    # The admin routed the waiting tickets: the existing one is the actor of the moves.
    routed_by = set(db.session.scalars(select(TicketEvent.actor_id).where(TicketEvent.kind == "transferred")))
    assert owner.id in routed_by


def test_seed_demo_that_stops_halfway_leaves_nothing_behind(flask_cli, factory, monkeypatch):
    factory.admin("Dona da loja", email="dona@loja.com.br")
    before = _row_counts()
    # Three days back, Ana (Comercial only) tries to accept a Financeiro ticket: the service refuses.
    broken = demo_data.Conversation("priscila", "open", "financeiro", "ana", (3, "12:00"), (
        (demo_data.C, "Oi, vocês aceitam Pix?"), (demo_data.A, "Aceitamos sim!"),
    ))
    monkeypatch.setattr(demo_data, "CONVERSATIONS", (*demo_data.CONVERSATIONS, broken))

    result = flask_cli("seed-demo")

    assert result.exit_code != 0
    assert isinstance(result.exception, NotFound)
    assert any("was removed" in note for note in result.exception.__notes__)
    assert _row_counts() == before
    assert user_by_email(DEMO_ATTENDANTS[0]) is None
    # Nothing left in the way: the command simply runs again.
    monkeypatch.undo()
    assert flask_cli("seed-demo").exit_code == 0


def test_seed_demo_if_empty_is_a_no_op_on_a_filled_database(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    from atendimento.extensions import db
    from atendimento.models import Ticket

    count = db.session.query(Ticket).count()
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "already has tickets" in again.output
    assert db.session.query(Ticket).count() == count
