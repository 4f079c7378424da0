"""The broker on each backend: a stream that cannot keep up is closed, not grown."""
from .conftest import ticket_of

VISIBLE = {"sector_id": None, "user_id": None}  # no sector: only admins see it


def test_a_stream_that_falls_behind_is_closed_and_its_queue_stays_bounded(factory, broker, open_stream):
    admin = factory.admin()
    broker.queue_size = 3
    slow = open_stream(admin)  # subscribed first, so fan-out reaches it before the fast one
    broker.queue_size = 100
    fast = open_stream(admin)
    slow_sub, fast_sub = broker.subscriptions

    for n in range(10):
        broker.publish("ticket.updated", n + 1, ticket=VISIBLE, data={"id": n + 1})
    assert ticket_of(fast.events_until("ticket.updated", ticket_id=10)[-1]) == 10

    assert slow_sub.closed == "overflow"
    assert slow_sub.queue.qsize() == 3
    assert slow_sub not in broker.subscriptions and fast_sub in broker.subscriptions
    frames = []
    for chunk in slow.response.response:  # it ends instead of waiting for more
        frames.append(chunk)
    assert b"ticket.updated" not in b"".join(frames)


def test_unsubscribed_when_the_stream_ends(factory, broker, open_stream):
    stream = open_stream(factory.admin())
    stream.next_frame()
    assert len(broker.subscriptions) == 1
    stream.close()
    assert broker.subscriptions == ()
