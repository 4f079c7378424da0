"""A real Redis outage, on a Redis server of the test's own: open streams keep their
heartbeats while the subscriber retries, and events flow again once Redis is back."""
import socket
import subprocess
import time

import pytest
import redis

from .conftest import PATIENCE

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])  # PostgreSQL + Redis


@pytest.fixture
def world(factory):
    sales = factory.sector("Comercial")
    return dict(ana=factory.user("Ana", sectors=[sales]), conn=factory.connection("Loja", sectors=[sales]))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(100):  # bounded wait for the server to answer
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


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
    # A move while Redis is down is committed all the same; only its announcement is lost.
    lost = factory.inbound(world["conn"], sender="5511900000121", text="durante a queda")
    assert lost is not None

    private_redis.start()  # back, empty: as after a restart without persistence
    after = factory.inbound(world["conn"], sender="5511900000122", text="depois da volta")
    events = stream.events_until("message.created")
    assert events[-1]["data"]["id"] == after.id
    assert {e["event"] for e in events} <= {"reset", "ticket.created", "message.created"}
