"""The Redis backend: one subscription per process, however many streams, and a
dropped subscription that comes back with what was published in between."""
import pytest
import redis

from ..conftest import REDIS_URL

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])  # PostgreSQL + Redis


@pytest.fixture
def world(factory):
    sales = factory.sector("Comercial")
    return dict(ana=factory.user("Ana", sectors=[sales]), admin=factory.admin(),
                conn=factory.connection("Loja", sectors=[sales]))


def subscriber_connections(client: redis.Redis, name: str) -> list[dict]:
    return [c for c in client.client_list() if c.get("name") == name]


def test_one_redis_subscription_per_process_however_many_streams(world, broker, open_stream, factory):
    streams = [open_stream(world["ana"]) for _ in range(5)]
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        assert len(subscriber_connections(admin, broker.subscriber_name)) == 1
    finally:
        admin.close()
    message = factory.inbound(world["conn"], sender="5511900000100", text="para todos")
    for stream in streams:
        assert stream.events_until("message.created")[-1]["data"]["id"] == message.id


def test_a_dropped_subscription_reconnects_and_catches_up(world, broker, open_stream, factory):
    stream = open_stream(world["ana"])
    first = factory.inbound(world["conn"], sender="5511900000110", text="antes")
    assert stream.events_until("message.created")[-1]["data"]["id"] == first.id
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        (before,) = subscriber_connections(admin, broker.subscriber_name)
        admin.client_kill_filter(_id=before["id"])
        during = factory.inbound(world["conn"], sender="5511900000111", text="durante")
        after_events = stream.events_until("message.created")
        assert [e["event"] for e in after_events] == ["ticket.created", "message.created"]
        assert after_events[-1]["data"]["id"] == during.id
        (now,) = subscriber_connections(admin, broker.subscriber_name)
        assert now["id"] != before["id"]
    finally:
        admin.close()
