"""Upgrading a running installation: a database made by the first release's schema (the first
migration), with data written in that schema, migrates to head with nothing lost, and the app
works on it — log in, list tickets, open one, answer, receive a webhook — on SQLite and
PostgreSQL."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from atendimento import create_app
from atendimento.backup import head_revision
from atendimento.extensions import db
from atendimento.models import Connection, Message, Ticket, User

from .test_migrations import empty_database_url  # noqa: F401  (the fixture: an empty database per backend)

FIRST_RELEASE = "a9def227591f"
T0 = datetime(2026, 11, 20, 13, 0, tzinfo=timezone.utc)
SECRET = "segredo-do-gateway-antigo"
LINK_TABLES = ("user_sectors", "connection_sectors")  # no id of their own


def insert(conn, table: str, **values) -> int:
    """A raw INSERT, its values bound as the first release's SQLAlchemy wrote them."""
    params = []
    for key, value in values.items():
        if isinstance(value, datetime):
            params.append(sa.bindparam(key, value, type_=sa.DateTime(timezone=True)))
        elif isinstance(value, (dict, list)):
            params.append(sa.bindparam(key, value, type_=sa.JSON()))
        else:
            params.append(sa.bindparam(key, value))
    returning = "" if table in LINK_TABLES else " RETURNING id"
    statement = sa.text(f"INSERT INTO {table} ({', '.join(values)}) "
                        f"VALUES ({', '.join(':' + key for key in values)}){returning}")
    result = conn.execute(statement.bindparams(*params))
    return result.scalar() if returning else None


def fill_first_release(conn) -> dict:
    """What a team had after a few days on the first release."""
    pw = generate_password_hash("senha-antiga", method="pbkdf2:sha256:1000")
    rita = insert(conn, "users", name="Rita", email="rita@loja.com.br", password_hash=pw, profile="admin",
                  active=True, created_at=T0)
    ana = insert(conn, "users", name="Ana", email="ana@loja.com.br", password_hash=pw, profile="user",
                 active=True, language="pt_BR", timezone="America/Sao_Paulo", created_at=T0)
    suporte = insert(conn, "sectors", name="Suporte", color="#2f80ed", greeting="Oi, aqui é o suporte",
                     position=1, created_at=T0)
    insert(conn, "user_sectors", user_id=ana, sector_id=suporte)
    gateway = insert(conn, "connections", name="Gateway antigo", kind="generic", token="token-antigo-123",
                     secret=SECRET, settings={"outbound_url": "http://127.0.0.1:9/send"}, flow="human",
                     greeting="", farewell="Até mais!", rerun_bot_on_new_ticket=True, enabled=True, created_at=T0)
    insert(conn, "connection_sectors", connection_id=gateway, sector_id=suporte)
    joana = insert(conn, "contacts", name="Joana Prado", phone="+5511988887777", custom_fields={"pedido": "123"},
                   created_at=T0)
    insert(conn, "contact_identities", contact_id=joana, channel="generic", external_id="5511988887777")
    closed = insert(conn, "tickets", contact_id=joana, connection_id=gateway, sector_id=suporte, user_id=ana,
                    status="closed", unread=0, last_message="Resolvido, obrigada!", last_message_at=T0,
                    created_at=T0, updated_at=T0, closed_at=T0 + timedelta(hours=1))
    open_ = insert(conn, "tickets", contact_id=joana, connection_id=gateway, sector_id=suporte, user_id=ana,
                   status="open", unread=1, last_message="Meu pedido 123 não chegou",
                   last_message_at=T0 + timedelta(days=1), created_at=T0 + timedelta(days=1),
                   updated_at=T0 + timedelta(days=1))
    messages = [
        dict(ticket_id=closed, direction="in", body="Resolvido, obrigada!", status="received", external_id="g-1"),
        dict(ticket_id=open_, direction="in", body="Meu pedido 123 não chegou", status="received",
             external_id="g-2"),
        dict(ticket_id=open_, direction="out", author_id=ana, body="Vou verificar, Joana.", status="read",
             external_id="out-1", attempts=1),
    ]
    for index, message in enumerate(messages):
        insert(conn, "messages", connection_id=gateway, from_bot=False, kind="text",
               attempts=message.pop("attempts", 0), created_at=T0 + timedelta(days=1, minutes=index), **message)
    for ticket, status in ((closed, "closed"), (open_, "open")):
        insert(conn, "ticket_events", ticket_id=ticket, actor_id=ana, kind="created", to_status="pending",
               data={}, created_at=T0)
        insert(conn, "ticket_events", ticket_id=ticket, actor_id=ana, kind="accepted", from_status="pending",
               to_status=status, data={}, created_at=T0)
    return {"rita": rita, "ana": ana, "open": open_, "closed": closed, "gateway": gateway}


def test_a_first_release_database_with_data_migrates_to_head_intact(empty_database_url):  # noqa: F811
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True, "REDIS_URL": None,
                      "WTF_CSRF_ENABLED": False, "SECRET_KEY": "upgrade-test"})
    with app.app_context():
        upgrade(revision=FIRST_RELEASE)
        with db.engine.begin() as conn:
            ids = fill_first_release(conn)

        upgrade()  # `flask --app app db upgrade` after pulling the new release

        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == head_revision()
        ana = db.session.get(User, ids["ana"])
        assert (ana.email, ana.profile, [s.name for s in ana.sectors]) == ("ana@loja.com.br", "user", ["Suporte"])
        assert ana.check_password("senha-antiga") and ana.signature is False
        gateway = db.session.get(Connection, ids["gateway"])
        assert (gateway.secret, gateway.settings, gateway.farewell) == (
            SECRET, {"outbound_url": "http://127.0.0.1:9/send"}, "Até mais!")
        assert gateway.bot_max_invalid == 3 and gateway.bot_timeout_minutes == 30  # added later, defaulted
        ticket = db.session.get(Ticket, ids["open"])
        assert (ticket.status, ticket.user_id, ticket.unread, ticket.bot_turn) == ("open", ids["ana"], 1, 0)
        assert ticket.contact.custom_fields == {"pedido": "123"}
        assert ticket.last_message_at == T0 + timedelta(days=1)
        bodies = db.session.scalars(select_bodies(ids["open"])).all()
        assert bodies == ["Meu pedido 123 não chegou", "Vou verificar, Joana."]
        assert db.session.get(Ticket, ids["closed"]).closed_at == T0 + timedelta(hours=1)
        assert all(m.voice is False and m.duration is None for m in db.session.scalars(sa.select(Message)))
        db.session.remove()

        client = app.test_client()
        assert client.post("/login", data={"email": "ana@loja.com.br", "password": "senha-antiga"}).status_code == 302
        listed = client.get("/tickets?tab=open")
        assert listed.status_code == 200 and "Joana Prado" in listed.get_data(as_text=True)
        opened = client.get(f"/tickets/{ids['open']}")
        assert opened.status_code == 200 and "Vou verificar, Joana." in opened.get_data(as_text=True)
        answered = client.post(f"/tickets/{ids['open']}/messages", data={"text": "Encontrei: chega amanhã."})
        assert answered.status_code in (200, 201, 302), answered.data[:300]
        # The old connection's secret still signs webhooks: a new customer message is stored.
        body = json.dumps({"id": "g-3", "from": "5511988887777", "name": "Joana Prado",
                           "text": "Obrigada!"}).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        received = client.post("/webhooks/generic/token-antigo-123", data=body,
                               headers={"Content-Type": "application/json", "X-Signature-256": signature})
        assert received.status_code == 200, received.json
        assert db.session.scalars(select_bodies(ids["open"])).all() == [
            "Meu pedido 123 não chegou", "Vou verificar, Joana.", "Encontrei: chega amanhã.", "Obrigada!"]
        db.session.remove()
        db.engine.dispose()


def select_bodies(ticket_id: int):
    return sa.select(Message.body).where(Message.ticket_id == ticket_id).order_by(Message.id)

