"""Flow ``menu``: the greeting and the numbered sectors; the answer picks the sector."""
import pytest
from flask_babel import gettext

from atendimento.extensions import db
from atendimento.models import Sector

from .conversation import COMERCIAL_GREETING, GREETING, bot_messages, events_of, routed_to

SECTOR_LINES = "1 - Comercial\n2 - Suporte\n3 - Cobrança"


def menu(prompt: str, lines: str = SECTOR_LINES) -> str:
    return f"{prompt}\n\n{lines}"


def opening_menu(greeting: str = GREETING) -> str:
    return menu(f"{greeting}\n\n{gettext('Please choose an option:')}")


def invalid_menu() -> str:
    return menu(gettext("Invalid option. Please choose one of the options:"))


def test_the_menu_is_the_greeting_and_the_connections_sectors_in_their_order(line, customer):
    ana = customer(line("menu"))
    ana.says("oi")
    assert ana.hears() == [opening_menu()]
    ticket = ana.ticket()
    assert (ticket.status, ticket.sector_id, ticket.bot_mode) == ("pending", None, "menu")
    (sent,) = bot_messages(ticket.id)
    assert sent.meta["menu"]["options"] == [{"id": "1", "title": "Comercial"}, {"id": "2", "title": "Suporte"},
                                            {"id": "3", "title": "Cobrança"}]


def test_only_the_offered_sectors_are_listed(line, customer):
    ana = customer(line("menu", offered=("Cobrança", "Comercial"), greeting=""))
    ana.says("oi")
    assert ana.hears() == [menu(gettext("Please choose an option:"), "1 - Comercial\n2 - Cobrança")]


@pytest.mark.parametrize("answer, sector", [
    ("2", "Suporte"),
    ("2 - Suporte", "Suporte"),
    ("suporte", "Suporte"),
    ("  SUPORTE!", "Suporte"),
    ("1.", "Comercial"),
    ("cobranca", "Cobrança"),
    ("COBRANÇA", "Cobrança"),
])
def test_a_valid_answer_routes_to_the_sector_and_sends_its_greeting(line, customer, sectors, answer, sector):
    ana = customer(line("menu"))
    ana.says("oi")
    ana.hears()
    ana.says(answer)
    assert ana.hears() == [routed_to(sector)]
    ticket = ana.ticket()
    assert (ticket.status, ticket.sector_id, ticket.user_id) == ("pending", sectors[sector].id, None)
    assert (ticket.bot_mode, ticket.bot_state, ticket.bot_expires_at) == (None, None, None)
    (routed,) = events_of(ticket.id, "bot_routed")
    assert routed.data == {"to_sector_id": sectors[sector].id, "to_sector": sector}


def test_once_routed_the_bot_says_nothing_more(line, customer):
    ana = customer(line("menu"))
    ana.says("oi")
    assert ana.hears() == [opening_menu()]
    ana.says("1")
    assert ana.hears() == [COMERCIAL_GREETING]
    ana.says("2")
    assert ana.hears() == []


def test_an_invalid_answer_repeats_the_menu_and_a_valid_one_still_works(line, customer, sectors):
    ana = customer(line("menu"))
    ana.says("oi")
    ana.hears()
    ana.says("quero saber do meu pedido")
    assert ana.hears() == [invalid_menu()]
    ticket = ana.ticket()
    assert (ticket.bot_mode, ticket.sector_id, ticket.bot_state["invalid"]) == ("menu", None, 1)
    ana.says("4")  # a number that is not on the menu
    assert ana.hears() == [invalid_menu()]
    ana.says("Comercial")
    assert ana.hears() == [COMERCIAL_GREETING]
    assert ana.ticket().sector_id == sectors["Comercial"].id


def test_repeated_invalid_answers_hand_the_ticket_to_humans_without_a_sector(line, customer, api, admin, seller):
    ana = customer(line("menu", bot_max_invalid=3))
    ana.says("oi")
    ana.hears()
    ana.says("hã?")
    assert ana.hears() == [invalid_menu()]
    ana.says("não entendi")
    assert ana.hears() == [invalid_menu()]
    ana.says("???")
    assert ana.hears() == [gettext("We could not understand your answer. An attendant will talk to you shortly.")]
    ticket = ana.ticket()
    assert (ticket.status, ticket.sector_id, ticket.bot_mode) == ("pending", None, None)
    (handover,) = events_of(ticket.id, "bot_handover")
    assert handover.data == {"reason": "invalid"}
    waiting = api(admin).get("/tickets?status=pending").get_json()["items"]
    assert [(t["id"], t["bot"], t["sector_id"]) for t in waiting] == [(ticket.id, False, None)]
    assert api(seller).get("/tickets?status=pending").get_json()["items"] == []
    assert api(seller).get(f"/tickets/{ticket.id}").status_code == 404
    ana.says("1")
    assert ana.hears() == []  # humans have it now


def test_what_the_contact_writes_before_the_menu_arrives_is_no_answer(line, customer):
    """The menu is still in the outbox: "tudo bem?" was written before it could be read."""
    ana = customer(line("menu"))
    ana.says("oi")
    ana.says("tudo bem?")
    assert ana.hears() == [opening_menu()]
    assert ana.ticket().bot_state["invalid"] == 0
    ana.says("3")
    assert ana.hears() == [routed_to("Cobrança")]


def test_an_answer_written_before_the_bots_last_reply_arrived_gets_no_second_reply(line, customer):
    ana = customer(line("menu"))
    ana.says("oi")
    ana.hears()
    ana.says("hein?")
    ana.says("2")  # sent before "opção inválida" reached the phone
    assert ana.hears() == [invalid_menu()]
    ana.says("2")
    assert ana.hears() == [routed_to("Suporte")]


def test_sectors_sharing_a_number_are_listed_as_the_admin_lists_them(line, customer):
    """Equal positions fall back to the name, the admin page's order, so the number the
    contact reads is the number the answer is matched against on every query."""
    vendas, trocas = Sector(name="Vendas", position=5), Sector(name="Trocas", position=5)
    db.session.add_all([vendas, trocas])
    db.session.commit()
    connection = line("menu", offered=(), greeting="")
    connection.sectors = [vendas, trocas]
    db.session.commit()
    ana = customer(connection)
    ana.says("oi")
    assert ana.hears() == [menu(gettext("Please choose an option:"), "1 - Trocas\n2 - Vendas")]
    ana.says("1")
    ana.hears()
    assert ana.ticket().sector_id == trocas.id


def test_on_evolution_the_menu_is_plain_numbered_text(line, customer, provider, sectors):
    carla = customer(line("menu", kind="evolution"))
    carla.says("Boa tarde!")
    assert carla.hears() == [opening_menu()]
    carla.says("2 - Suporte")
    assert carla.hears() == [routed_to("Suporte")]
    assert [request.path for request in carla.deliveries] == ["/message/sendText/loja-centro"] * 2
    assert set(carla.deliveries[0].json) == {"number", "text"}
    assert carla.ticket().sector_id == sectors["Suporte"].id
