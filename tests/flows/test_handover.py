"""Humans take over from the bot: on a timeout, by accepting mid-bot, when the business
itself opened the conversation; and the farewell an attendant's close sends."""
import json
from datetime import timedelta

from atendimento.models import utcnow
from atendimento.tickets import flow

from .conversation import FAREWELL, bot_messages, events_of


def test_an_unanswered_bot_hands_the_ticket_to_humans_after_its_timeout(line, customer):
    ana = customer(line("menu", bot_timeout_minutes=1))
    ana.says("oi")
    ana.hears()
    now = utcnow()
    ticket = ana.ticket()
    assert now < ticket.bot_expires_at <= now + timedelta(minutes=1)
    assert flow.expire_waiting(now + timedelta(seconds=30)) == 0
    assert ana.ticket().bot_mode == "menu"
    assert flow.expire_waiting(now + timedelta(minutes=2)) == 1
    ticket = ana.ticket()
    assert (ticket.status, ticket.bot_mode, ticket.sector_id, ticket.bot_expires_at) == ("pending", None, None, None)
    assert [e.data for e in events_of(ticket.id, "bot_handover")] == [{"reason": "timeout"}]
    ana.says("2")
    assert ana.hears() == []  # the late answer reaches the attendants, not the bot
    assert flow.expire_waiting(now + timedelta(minutes=5)) == 0


def test_each_answer_restarts_the_wait(customer, line, chatbot):
    ana = customer(line("chatbot", chatbot_id=chatbot.id, bot_timeout_minutes=1))
    ana.says("oi")
    ana.hears()
    start = utcnow()
    ana.says("1")
    assert ana.ticket().bot_expires_at > start + timedelta(minutes=1) - timedelta(seconds=1)
    assert flow.expire_waiting(start + timedelta(seconds=50)) == 0


def test_a_timeout_of_zero_waits_forever(line, customer):
    ana = customer(line("menu", bot_timeout_minutes=0))
    ana.says("oi")
    assert ana.ticket().bot_expires_at is None
    assert flow.expire_waiting(utcnow() + timedelta(days=30)) == 0
    assert ana.ticket().bot_mode == "menu"


def test_an_admin_accepting_mid_bot_stops_it_at_once(line, customer, api, admin):
    ana = customer(line("menu"))
    ana.says("oi")
    ana.hears()
    ticket = ana.ticket()
    response = api(admin).post(f"/tickets/{ticket.id}/accept")
    assert response.status_code == 200 and response.get_json()["bot"] is False
    ana.says("2")
    assert ana.hears() == []
    ticket = ana.ticket()
    assert (ticket.status, ticket.user_id, ticket.sector_id, ticket.bot_mode) == ("open", admin.id, None, None)
    assert len(bot_messages(ticket.id)) == 1  # only the menu
    assert flow.expire_waiting(utcnow() + timedelta(hours=1)) == 0


def test_a_sector_user_cannot_see_or_accept_a_ticket_the_bot_holds(line, customer, api, seller, admin):
    ana = customer(line("menu"))
    ana.says("oi")
    ana.hears()
    ticket = ana.ticket()
    assert api(seller).post(f"/tickets/{ticket.id}/accept").status_code == 404
    assert api(seller).get("/tickets?status=pending").get_json()["items"] == []
    waiting = api(admin).get("/tickets?status=pending").get_json()["items"]
    assert [(t["id"], t["bot"]) for t in waiting] == [(ticket.id, True)]
    ana.says("1")  # routed to Comercial: now the seller sees it and may take it
    assert api(seller).post(f"/tickets/{ticket.id}/accept").status_code == 200


def test_an_attendant_closing_an_open_ticket_sends_the_farewell(line, customer, api, seller):
    ana = customer(line("menu", farewell=FAREWELL))
    ana.says("oi")
    ana.hears()
    ana.says("Comercial")
    ana.hears()
    ticket = ana.ticket()
    assert api(seller).post(f"/tickets/{ticket.id}/accept").status_code == 200
    assert api(seller).post(f"/tickets/{ticket.id}/close").status_code == 200
    assert ana.hears() == [FAREWELL]
    farewell = bot_messages(ticket.id)[-1]
    assert (farewell.body, farewell.from_bot, farewell.author_id, farewell.status) == (FAREWELL, True, None, "sent")


def test_closing_a_pending_ticket_sends_no_farewell(line, customer, api, admin):
    ana = customer(line("human", offered=("Suporte",), greeting="", farewell=FAREWELL))
    ana.says("oi")
    ticket = ana.ticket()
    assert api(admin).post(f"/tickets/{ticket.id}/close").status_code == 200
    assert ana.hears() == []
    assert bot_messages(ticket.id) == []


def test_without_a_farewell_closing_sends_nothing(line, customer, api, admin):
    ana = customer(line("human", offered=("Suporte",), greeting="", farewell="  "))
    ana.says("oi")
    ticket = ana.ticket()
    api(admin).post(f"/tickets/{ticket.id}/accept")
    api(admin).post(f"/tickets/{ticket.id}/close")
    assert ana.hears() == []


def test_a_conversation_the_business_starts_from_its_phone_is_left_to_humans(line, customer, client):
    """Evolution echoes what the business sends from the phone: that opens the ticket,
    the bot has nothing to ask, and the customer's answer goes to the attendants."""
    connection = line("menu", kind="evolution")
    carla = customer(connection)
    echo = json.loads(carla.webhook("Oi Carla, seu pedido chegou!", "3EB0ECHO1")[0])
    echo["data"]["key"]["fromMe"] = True
    assert client.post(carla.webhook_path(), json=echo).status_code == 200
    carla.says("Obrigada!")
    assert carla.hears() == []
    ticket = carla.ticket()
    assert (ticket.status, ticket.bot_mode, ticket.sector_id) == ("pending", None, None)
