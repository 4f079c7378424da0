"""What the stream hears of a bot conversation: its messages as they are written, and
the ticket's "bot" flag going on when the bot takes a new ticket and off when it lets go."""
from datetime import timedelta

from atendimento.models import utcnow
from atendimento.tickets import flow

from .conversation import COMERCIAL_GREETING


def bot_flags(published, ticket_id):
    """The "bot" flag of every ticket event about ``ticket_id``, in order."""
    return [(name, data["bot"]) for name, tid, data in published
            if tid == ticket_id and name in ("ticket.created", "ticket.updated")]


def bot_messages_announced(published, ticket_id):
    return [data["body"] for name, tid, data in published
            if tid == ticket_id and name == "message.created" and data["from_bot"]]


def test_the_menu_and_the_sector_greeting_are_announced_and_the_flag_goes_off(line, customer, published, sectors):
    ana = customer(line("menu"))
    ana.says("oi")
    (menu,) = ana.hears()
    ana.says("1")
    ana.hears()
    ticket_id = ana.ticket().id
    assert bot_messages_announced(published, ticket_id) == [menu, COMERCIAL_GREETING]
    flags = bot_flags(published, ticket_id)
    assert flags[0] == ("ticket.created", True)
    assert flags[-1] == ("ticket.updated", False)
    assert ("ticket.updated", True) in flags and flags.index(("ticket.updated", False)) > flags.index(
        ("ticket.updated", True))
    routed = [data for name, tid, data in published if tid == ticket_id and name == "ticket.updated"][-1]
    assert routed["sector_id"] == sectors["Comercial"].id and routed["previous"]["sector_id"] is None


def test_a_bot_message_is_announced_queued_then_sent(line, customer, published):
    ana = customer(line("menu"))
    ana.says("oi")
    created = [data for name, _tid, data in published if name == "message.created" and data["from_bot"]]
    assert [(m["direction"], m["status"], m["author_id"]) for m in created] == [("out", "queued", None)]
    ana.hears()
    updates = [data for name, _tid, data in published if name == "message.updated" and data["id"] == created[0]["id"]]
    assert updates[-1]["status"] == "sent"


def test_a_timeout_turns_the_flag_off(line, customer, published):
    ana = customer(line("menu", bot_timeout_minutes=1))
    ana.says("oi")
    ticket_id = ana.ticket().id
    published.clear()
    flow.expire_waiting(utcnow() + timedelta(minutes=2))
    assert bot_flags(published, ticket_id) == [("ticket.updated", False)]
    assert bot_messages_announced(published, ticket_id) == []


def test_an_accept_mid_bot_turns_the_flag_off(line, customer, published, api, admin):
    ana = customer(line("menu"))
    ana.says("oi")
    ticket_id = ana.ticket().id
    published.clear()
    api(admin).post(f"/tickets/{ticket_id}/accept")
    assert bot_flags(published, ticket_id) == [("ticket.updated", False)]
