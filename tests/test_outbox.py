"""The outbox: queued replies reach the channel exactly once, through outages,
restarts and workers that die mid-send."""
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from atendimento import create_app
from atendimento.channels.base import Outbound
from atendimento.channels.registry import adapter_for
from atendimento.extensions import db
from atendimento.models import Message
from atendimento.outbox import IN_DOUBT, claim_due, deliver_due, worker_of
from atendimento.tickets import outgoing, service

from .channels.helpers import provider, published  # noqa: F401  (fixtures)
from .conftest import make_overrides

BOT = "42:test-bot-token"
CHAT = "555000111"


def telegram_api(fake):
    sent = iter(range(1, 1000))
    fake.on("POST", f"/bot{BOT}/sendMessage", lambda r, m: (200, {
        "ok": True, "result": {"message_id": next(sent), "chat": {"id": int(CHAT)}, "date": 1}}))


@pytest.fixture
def telegram(factory, provider):
    telegram_api(provider)
    return factory.connection(kind="telegram", settings={"bot_token": BOT, "base_url": provider.url})


@pytest.fixture
def ticket(factory, telegram):
    return factory.ticket(telegram, status="open", sender=CHAT)


def send(ticket, text="Olá"):
    return outgoing.send_text(ticket.user, ticket.id, text)


def successful_sends(fake):
    return [c for c in fake.calls("POST", f"/bot{BOT}/sendMessage")]


def test_channel_down_twice_then_up_delivers_exactly_once(app, ticket, provider):
    provider.fail("POST", f"/bot{BOT}/sendMessage", times=1, status=502,
                  body={"ok": False, "error_code": 502, "description": "Bad Gateway"})
    provider.fail("POST", f"/bot{BOT}/sendMessage", times=1, status=0)  # connection dropped
    message = send(ticket)
    now = message.next_attempt_at
    deliver_due(now)
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("queued", 1) and "Bad Gateway" in message.error
    assert deliver_due(now) == 0  # backing off: nothing is due yet
    now = message.next_attempt_at
    deliver_due(now)
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("queued", 2)
    assert message.next_attempt_at - now == timedelta(seconds=2 * app.config["OUTBOX_BACKOFF_S"])
    deliver_due(message.next_attempt_at)
    db.session.refresh(message)
    assert (message.status, message.attempts, message.error) == ("sent", 3, None)
    assert len(successful_sends(provider)) == 3  # two failed tries, one delivery
    assert deliver_due(message.next_attempt_at + timedelta(days=1)) == 0


def test_after_the_last_try_it_fails_with_the_providers_error_and_can_be_resent(app, ticket, provider, client,
                                                                                auth, api):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    provider.fail("POST", f"/bot{BOT}/sendMessage", times=3, status=500,
                  body={"ok": False, "error_code": 500, "description": "Internal Server Error: restart"})
    message = send(ticket)
    for _try in range(3):
        deliver_due(db.session.get(Message, message.id).next_attempt_at)
        db.session.refresh(message)
    assert (message.status, message.attempts) == ("failed", 3)
    assert "Internal Server Error: restart" in message.error

    auth.login(ticket.user)
    resend_url = f"/tickets/{ticket.id}/messages/{message.id}/resend"
    for page in (f"/tickets/{ticket.id}", f"/tickets/{ticket.id}/messages/{message.id}"):
        html = client.get(page).get_data(as_text=True)
        assert "Internal Server Error: restart" in html and resend_url in html and "Reenviar" in html
    response = client.post(resend_url)
    assert response.status_code == 302
    db.session.refresh(message)
    assert (message.status, message.attempts, message.error) == ("queued", 0, None)
    deliver_due(message.next_attempt_at)
    db.session.refresh(message)
    assert message.status == "sent"
    assert api(ticket.user).post(f"/messages/{message.id}/resend").status_code == 409  # only failed ones


def test_the_api_resends_a_failed_message(ticket, provider, api, factory):
    provider.fail("POST", f"/bot{BOT}/sendMessage", times=1, status=400,
                  body={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    message = send(ticket)
    deliver_due()
    db.session.refresh(message)
    assert message.status == "failed" and message.attempts == 1  # a 400 is not retried
    outsider = factory.user(sectors=[factory.sector()])
    assert api(outsider).post(f"/messages/{message.id}/resend").status_code == 404
    response = api(ticket.user).post(f"/messages/{message.id}/resend")
    assert response.status_code == 200 and response.get_json()["status"] == "queued"
    deliver_due()
    assert db.session.get(Message, message.id).status == "sent"


def test_queued_messages_survive_a_restart(backend, tmp_path, request, app, ticket, provider):
    messages = [send(ticket, f"mensagem {n}").id for n in range(3)]
    db.session.remove()
    db.engine.dispose()  # the process dies with everything queued

    restarted = create_app(make_overrides(backend, tmp_path, request))
    with restarted.app_context():
        assert deliver_due() == 3
        statuses = db.session.scalars(select(Message.status).where(Message.id.in_(messages))).all()
        db.session.remove()
        db.engine.dispose()
    assert statuses == ["sent"] * 3
    assert [c.json["text"] for c in successful_sends(provider)] == ["mensagem 0", "mensagem 1", "mensagem 2"]


def test_a_worker_that_died_after_telegram_answered_never_sends_twice(app, ticket, provider, telegram):
    message = send(ticket)
    (claimed,) = claim_due(message.next_attempt_at, 10)
    adapter_for(telegram).send(Outbound(message_id=claimed, to=CHAT, kind="text", text="Olá"))  # then it died
    later = message.next_attempt_at + timedelta(seconds=app.config["OUTBOX_LEASE_S"] + 1)
    assert deliver_due(later) == 0
    db.session.refresh(message)
    assert message.status == "failed" and message.sending_at is None
    assert message.error == str(IN_DOUBT)
    assert len(successful_sends(provider)) == 1


def test_a_generic_gateway_gets_the_same_id_again_and_drops_the_repeat(app, factory, provider):
    delivered = {}

    def gateway(request, match):
        delivered.setdefault(request.json["id"], request.json["text"])  # the gateway dedupes on our id
        return 200, {"id": "gw-" + request.json["id"]}

    provider.on("POST", "/send", gateway)
    connection = factory.connection(kind="generic", settings={"outbound_url": provider.url + "/send"})
    ticket = factory.ticket(connection, status="open", sender="cliente-1")
    message = send(ticket)
    (claimed,) = claim_due(message.next_attempt_at, 10)
    adapter_for(connection).send(Outbound(message_id=claimed, to="cliente-1", kind="text", text="Olá"))
    later = message.next_attempt_at + timedelta(seconds=app.config["OUTBOX_LEASE_S"] + 1)
    assert deliver_due(later) == 1
    db.session.refresh(message)
    assert (message.status, message.external_id) == ("sent", f"gw-{message.id}")
    calls = provider.calls("POST", "/send")
    assert [c.json["id"] for c in calls] == [str(message.id)] * 2
    assert {c.headers["Idempotency-Key"] for c in calls} == {f"atendimento-{message.id}"}
    assert delivered == {str(message.id): "Olá"}


def test_concurrent_workers_claim_each_message_once(app, ticket):
    ids = {send(ticket, f"m{n}").id for n in range(12)}
    now = db.session.scalar(select(func.max(Message.next_attempt_at)))
    db.session.remove()
    barrier, results = threading.Barrier(3), []

    def worker():
        with app.app_context():
            barrier.wait()
            claimed = []
            for _round in range(6):
                claimed += claim_due(now, 2)
            results.append(claimed)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [message_id for claimed in results for message_id in claimed]
    assert sorted(everything) == sorted(ids)  # each claimed exactly once
    attempts = db.session.scalars(select(Message.attempts).where(Message.id.in_(ids))).all()
    assert attempts == [1] * 12


def test_status_changes_are_published(ticket, published):
    message = send(ticket)
    deliver_due()
    updates = [data for name, _t, data in published if name == "message.updated"]
    assert updates[-1]["id"] == message.id and updates[-1]["status"] == "sent"


def test_the_background_worker_wakes_up_for_a_new_message(app, ticket, provider):
    app.config["OUTBOX_POLL_S"] = 60  # only the wake-up can make it quick
    worker = worker_of(app)
    db.session.commit()  # end this session's transaction: on SQLite it holds the write lock run_once needs
    worker.run_once()  # nothing due yet
    worker.start()
    try:
        message = send(ticket)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = db.session.scalar(select(Message.status).where(Message.id == message.id))
            db.session.rollback()  # end the read: SQLite transactions take the write lock
            if status == "sent":
                break
            time.sleep(0.05)
        assert db.session.get(Message, message.id).status == "sent"
    finally:
        db.session.rollback()  # that read holds the write lock too: the worker's next round must not wait on it
        worker.stop()
        worker.thread.join(10)


def test_the_outbox_command_drains_the_queue(app, ticket, provider):
    message = send(ticket)
    db.session.commit()  # end this session's transaction: on SQLite it holds the write lock
    result = app.test_cli_runner().invoke(args=["outbox", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 message(s)" in result.output
    db.session.expire_all()
    assert db.session.get(Message, message.id).status == "sent"
