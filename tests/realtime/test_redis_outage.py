"""A real Redis outage, on a Redis server of the test's own: open streams keep their
heartbeats while the subscriber retries, and events flow again once Redis is back."""
import pytest

from .conftest import PATIENCE
from .live import PrivateRedis

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])  # PostgreSQL + Redis


@pytest.fixture
def world(factory):
    sales = factory.sector("Comercial")
    return dict(ana=factory.user("Ana", sectors=[sales]), conn=factory.connection("Loja", sectors=[sales]))


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def realtime_overrides(private_redis):
    return {"REDIS_URL": private_redis.url}


def test_streams_keep_their_heartbeat_through_a_redis_outage_and_resume_after(
        world, broker, open_stream, factory, private_redis):
    stream = open_stream(world["ana"])
    before = factory.inbound(world["conn"], sender="5511900000120", text="antes da queda")
    assert stream.events_until("message.created")[-1]["data"]["id"] == before.id

    private_redis.stop()
    for _ in range(PATIENCE):  # until the subscriber has noticed, the stream still beating
        assert stream.next_frame().get("comments") == ["heartbeat"]
        if not broker.listening:
            break
    assert not broker.listening
    beats = [stream.next_frame() for _ in range(5)]  # and it keeps beating while Redis stays away
    assert all(frame.get("comments") == ["heartbeat"] for frame in beats)
    # A move while Redis is down is committed all the same; its announcement waits in the publisher.
    during = factory.inbound(world["conn"], sender="5511900000121", text="durante a queda")
    assert during is not None and broker.publisher.waiting

    private_redis.start()  # back, empty: as after a restart without persistence
    after = factory.inbound(world["conn"], sender="5511900000122", text="depois da volta")
    # A new log: whatever the stream missed cannot be told, so it resets (and the page refetches)...
    assert stream.next_event()["event"] == "reset"
    # ...and then follows the new log.
    final = factory.inbound(world["conn"], sender="5511900000123", text="e segue")
    events = []
    while not events or events[-1]["event"] != "message.created" or events[-1]["data"]["id"] != final.id:
        events.append(stream.next_event())
    assert {e["event"] for e in events} <= {"ticket.created", "message.created"}
    assert {e["data"]["id"] for e in events if e["event"] == "message.created"} <= {during.id, after.id, final.id}
