"""Presence: a user with an open /stream is online, on both backends (in-process
counting on SQLite, a Redis sorted set across processes on PostgreSQL), and the
transfer dialog says who is."""
import re
import time
from types import SimpleNamespace

import pytest
import redis
from flask import g
from sqlalchemy import event

from atendimento.extensions import db
from atendimento.realtime import presence
from atendimento.realtime.presence import Presence, online_user_ids

from ..conftest import REDIS_URL
from .conftest import HEARTBEAT_S


def _wait_until(condition, timeout_s=5.0) -> bool:
    """Expiry is a matter of time, not of heartbeats: poll for it, bounded."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(HEARTBEAT_S / 2)
    return condition()


# Presence is valid for two heartbeats, and the fixture's 0.05 s made that 0.1 s: on a loaded
# run the ticker or the read came later than that, and an open stream read as offline. These
# tests are about who is online, not about how soon: a quarter-second heartbeat (0.5 s valid).
slower_heartbeat = pytest.mark.parametrize("realtime_overrides", [{"REALTIME_HEARTBEAT_S": 0.25}])


@slower_heartbeat
def test_a_stream_opened_is_online_and_closed_is_offline(factory, open_stream):
    ana, bruno = factory.user("Ana"), factory.user("Bruno")
    assert online_user_ids() == set()

    first = open_stream(ana)
    first.next_frame()
    assert online_user_ids() == {ana.id}, "online as soon as the stream opens, not a heartbeat later"
    second = open_stream(ana)  # a second tab
    second.next_frame()

    first.close()
    assert online_user_ids() == {ana.id}, "still online while another of her streams is open"
    second.close()
    assert online_user_ids() == set()
    assert bruno.id not in online_user_ids()


@slower_heartbeat
def test_online_lasts_while_the_stream_stays_open(factory, open_stream, broker):
    """The heartbeat tick refreshes presence: many validity periods later she is still online."""
    ana = factory.user("Ana")
    stream = open_stream(ana)
    for _ in range(10 * presence.HEARTBEATS_VALID):
        stream.next_frame()  # heartbeats keep coming, so does the refresh
    time.sleep(presence.of(broker).valid_s)
    assert online_user_ids() == {ana.id}


# Presence across processes needs Redis: these run on the PostgreSQL + Redis backend only
# (parametrizing ``backend`` overrides the fixture's two values).
redis_only = pytest.mark.parametrize("backend", ["postgresql"])


def _other_process(app, broker, *user_ids, heartbeat_s=None) -> Presence:
    """A second worker's presence, holding streams of ``user_ids`` (its own heartbeat if given)."""
    subs = tuple(SimpleNamespace(viewer=SimpleNamespace(id=uid), closed=None) for uid in user_ids)
    return Presence(SimpleNamespace(app=app, heartbeat_s=heartbeat_s or broker.heartbeat_s, redis=broker.redis,
                                    subscriptions=subs))


@redis_only
def test_users_of_another_process_are_online_until_it_stops_refreshing(app, broker, factory):
    ana, bruno = factory.user("Ana"), factory.user("Bruno")
    # Valid for 1 s, not the fixture's 0.1 s: a loaded machine took longer than that between
    # the announce and the read below, and the members had expired before being looked at.
    worker = _other_process(app, broker, ana.id, bruno.id, heartbeat_s=0.5)
    worker.announce()
    assert online_user_ids() == {ana.id, bruno.id}
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert 0 < client.pttl(worker.key) <= worker.valid_s * 1000 + 1, "the key expires unless refreshed"
        # The worker crashes: nobody refreshes its members, and within two heartbeats they are gone.
        assert _wait_until(lambda: online_user_ids() == set())
        assert _wait_until(lambda: not client.exists(worker.key))
    finally:
        client.close()


@redis_only
def test_another_process_telling_a_stream_closed(app, broker, factory):
    ana, bruno = factory.user("Ana"), factory.user("Bruno")
    worker = _other_process(app, broker, ana.id, bruno.id, heartbeat_s=0.5)  # as above
    worker.announce()
    worker.broker.subscriptions = worker.broker.subscriptions[1:]  # Ana's stream closed there
    worker.announce()
    assert online_user_ids() == {bruno.id}


@redis_only
def test_redis_failing_means_nobody_online_not_an_error(app, broker, factory, open_stream):
    ana = factory.user("Ana")
    open_stream(ana).next_frame()
    assert online_user_ids() == {ana.id}
    mine = presence.of(broker)
    mine.redis = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)  # nothing listens
    mine._announce, mine._online = mine.redis.register_script(presence.ANNOUNCE), mine.redis.register_script(
        presence.ONLINE)
    assert online_user_ids() == set()
    presence.update(broker)  # the stream and the ticker do this: never raises


# -- the transfer dialog -------------------------------------------------------

def _login(app, user):
    g.pop("_login_user", None)
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": "secret123"}).status_code == 302
    return client


def _attendant_options(html: str) -> list[str]:
    select = re.search(r'<select name="user_id">(.*?)</select>', html, re.S).group(1)
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<option[^>]*>(.*?)</option>", select, re.S)]


@slower_heartbeat
def test_transfer_dialog_names_sectors_and_who_is_online(app, factory, open_stream):
    vendas, suporte = factory.sector("Vendas", position=1), factory.sector("Suporte", position=2)
    admin = factory.admin("Carla")
    ana = factory.user("Ana Lima", sectors=[vendas, suporte])
    factory.user("Bruno", sectors=[suporte])
    zeca = factory.user("Zeca", sectors=[vendas])
    factory.user("Inativo", sectors=[vendas], active=False)
    ticket = factory.ticket(factory.connection(sectors=[vendas]), sector=vendas)
    open_stream(zeca).next_frame()
    open_stream(ana).next_frame()

    client = _login(app, admin)
    page = client.get(f"/tickets/{ticket.id}")
    assert page.status_code == 200
    assert _attendant_options(page.get_data(as_text=True)) == [
        "—",
        "Ana Lima — Vendas, Suporte · online",
        "Zeca — Vendas · online",
        "Bruno — Suporte",
        "Carla — sem setor",
    ]


def test_transfer_dialog_loads_sectors_in_one_query(app, factory):
    vendas = factory.sector("Vendas")
    admin = factory.admin()
    ticket = factory.ticket(factory.connection(sectors=[vendas]), sector=vendas)
    client = _login(app, admin)

    def queries():
        db.session.expire_all()
        seen = []

        def count(*args, **kwargs):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/tickets/{ticket.id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    few = queries()
    for i in range(8):
        factory.user(f"Atendente {i}", sectors=[vendas, factory.sector(f"Setor {i}")])
    assert queries() == few
