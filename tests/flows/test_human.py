"""Flow ``human``: straight to Esperando; one offered sector is the ticket's sector."""
from .conversation import GREETING, messages_of


def test_one_offered_sector_is_the_tickets_sector_and_the_greeting_goes_out(line, customer, sectors):
    ana = customer(line("human", offered=("Suporte",)))
    ana.says("Oi, meu pedido não chegou")
    assert ana.hears() == [GREETING]
    ticket = ana.ticket()
    assert (ticket.status, ticket.sector_id, ticket.bot_mode) == ("pending", sectors["Suporte"].id, None)
    greeting = messages_of(ticket.id)[-1]
    assert (greeting.direction, greeting.from_bot, greeting.status) == ("out", True, "sent")


def test_without_a_greeting_nothing_is_sent(line, customer):
    ana = customer(line("human", offered=("Suporte",), greeting=""))
    ana.says("Oi")
    assert ana.hears() == []
    assert [m.direction for m in messages_of(ana.ticket().id)] == ["in"]


def test_with_two_sectors_the_ticket_waits_without_one(line, customer):
    ana = customer(line("human", offered=("Comercial", "Suporte")))
    ana.says("Oi")
    assert ana.hears() == [GREETING]
    ticket = ana.ticket()
    assert (ticket.status, ticket.sector_id, ticket.bot_mode) == ("pending", None, None)


def test_later_messages_get_no_second_greeting(line, customer):
    ana = customer(line("human", offered=("Suporte",)))
    ana.says("Oi")
    ana.says("Alguém aí?")
    assert ana.hears() == [GREETING]
