"""Messages arriving together while the bot waits: real webhook requests from several
threads to the app served over HTTP, on both backends. Each bot step is one conditional
UPDATE, so however the requests interleave the contact gets one reply, not two."""
import os
import threading
import urllib.error
import urllib.request

import pytest
from flask_babel import gettext

from atendimento.auth.service import issue_token
from atendimento.extensions import db

from ..browser.server import LiveServer
from ..conftest import make_overrides, running_app
from .conversation import COMERCIAL_GREETING, bot_messages, generic_webhook, messages_of, routed_to

ROUNDS = int(os.environ.get("RACE_ROUNDS", "3"))


@pytest.fixture
def app(backend, tmp_path, request):
    """Served over HTTP: URLs from the request, not from SERVER_NAME."""
    overrides = make_overrides(backend, tmp_path, request)
    overrides.pop("SERVER_NAME")
    with running_app(backend, overrides) as app:
        yield app


@pytest.fixture
def server(app):
    with LiveServer(app) as server:
        yield server


def at_once(requests: list[urllib.request.Request]) -> list[int]:
    """Send every request from its own thread, released together; answer the statuses."""
    db.session.commit()  # on SQLite a transaction left open here would hold every writer back
    barrier = threading.Barrier(len(requests))
    statuses = [None] * len(requests)

    def send(i):
        barrier.wait()
        try:
            with urllib.request.urlopen(requests[i], timeout=60) as response:
                statuses[i] = response.status
        except urllib.error.HTTPError as error:
            statuses[i] = error.code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return statuses


def webhook(server, connection, sender, text, message_id) -> urllib.request.Request:
    raw, headers = generic_webhook(connection, sender, text, message_id)
    return urllib.request.Request(f"{server.url}/webhooks/generic/{connection.token}", data=raw, headers=headers,
                                  method="POST")


def waiting_for_an_answer(line, customer):
    """Ana wrote, the menu went out, the bot waits."""
    connection = line("menu")
    ana = customer(connection)
    ana.says("oi")
    assert len(ana.hears()) == 1
    return connection, ana, ana.ticket().id


@pytest.mark.parametrize("round_", range(ROUNDS))
@pytest.mark.parametrize("answers", [("1", "2"), ("Comercial", "1"), ("hein?", "como assim?"),
                                     ("1", "2", "3", "suporte", "???")], ids=["two", "same", "invalid", "five"])
def test_answers_arriving_together_get_one_bot_reply(server, line, customer, sectors, answers, round_):
    connection, ana, ticket_id = waiting_for_an_answer(line, customer)
    statuses = at_once([webhook(server, connection, ana.sender, text, f"race-{round_}-{i}")
                        for i, text in enumerate(answers)])
    assert statuses == [200] * len(answers)
    heard = ana.hears()
    assert len(heard) == 1, heard
    assert len(bot_messages(ticket_id)) == 2  # the menu and one reply
    inbound = [m for m in messages_of(ticket_id) if m.direction == "in"]
    assert len(inbound) == 1 + len(answers)
    ticket = ana.ticket()
    assert ticket.unread == 1 + len(answers)
    if ticket.bot_mode is None:  # one answer was taken: the reply names the ticket's sector
        sector = next(name for name, sector in sectors.items() if sector.id == ticket.sector_id)
        assert heard == [routed_to(sector)]
    else:  # every answer was invalid: counted once, as the one reply said
        assert heard == [gettext("Invalid option. Please choose one of the options:")
                         + "\n\n1 - Comercial\n2 - Suporte\n3 - Cobrança"]
        assert (ticket.bot_mode, ticket.bot_state["invalid"]) == ("menu", 1)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_answer_racing_an_accept_never_takes_the_ticket_from_the_admin(server, line, customer, admin, round_):
    connection, ana, ticket_id = waiting_for_an_answer(line, customer)
    admin_id = admin.id
    _token, raw_token = issue_token(admin)
    accept = urllib.request.Request(f"{server.url}/api/v1/tickets/{ticket_id}/accept", data=b"{}", method="POST",
                                    headers={"Authorization": f"Bearer {raw_token}",
                                             "Content-Type": "application/json"})
    statuses = at_once([accept, webhook(server, connection, ana.sender, "1", f"accept-race-{round_}")])
    assert statuses == [200, 200]
    ticket = ana.ticket()
    assert (ticket.status, ticket.user_id, ticket.bot_mode) == ("open", admin_id, None)
    heard = ana.hears()
    assert heard in ([], [COMERCIAL_GREETING])  # the bot answered before the accept, or not at all
    assert len(bot_messages(ticket_id)) == 1 + len(heard)
