"""Flow ``chatbot``: the shop's tree (Início → Compras → Catálogo) reaching a sector,
humans, or a close; ``0`` goes back to the start; a node's file goes with its message."""
import pytest
from flask_babel import gettext

from atendimento.tickets import flow

from ..channels.helpers import PDF
from .conversation import FAREWELL, bot_messages, events_of, messages_of

START = ("Olá! Sou o assistente da Loja Exemplo. Como posso ajudar?\n\n"
         "1 - Comprar\n2 - Segunda via de boleto\n3 - Falar com um atendente")


def buying() -> str:
    return ("Que bom! O que você procura?\n\n1 - Ver o catálogo\n2 - Falar com um vendedor\n"
            f"0 - {gettext('Back to the start')}")


def catalogue() -> str:
    return (f"[catalogo.pdf] Aqui está o nosso catálogo de junho.\n\n1 - Quero comprar\n2 - Tenho uma dúvida\n"
            f"3 - Era só isso\n0 - {gettext('Back to the start')}")


@pytest.fixture
def shop(line, chatbot):
    return line("chatbot", chatbot_id=chatbot.id, farewell=FAREWELL)


def at_the_catalogue(customer, shop):
    ana = customer(shop)
    ana.says("oi")
    assert ana.hears() == [START]
    ana.says("1")
    assert ana.hears() == [buying()]
    ana.says("catálogo")  # an option's keyword, accents ignored
    assert ana.hears() == [catalogue()]
    return ana


def test_the_shop_tree_is_one_an_admin_could_save(chatbot):
    assert flow.trapped_nodes(chatbot) == []
    assert [node.name for node in chatbot.nodes] == ["Início", "Compras", "Catálogo"]


def test_three_levels_down_to_a_sector(customer, shop, sectors):
    ana = at_the_catalogue(customer, shop)
    ana.says("1 - Quero comprar")
    assert ana.hears() == ["Ótimo! Um vendedor vai te chamar em instantes."]
    ticket = ana.ticket()
    assert (ticket.status, ticket.sector_id, ticket.bot_mode) == ("pending", sectors["Comercial"].id, None)
    assert events_of(ticket.id, "bot_routed")[0].data["to_sector"] == "Comercial"
    ana.says("obrigada")
    assert ana.hears() == []


def test_a_path_to_humans_leaves_the_ticket_without_a_sector(customer, shop):
    ana = at_the_catalogue(customer, shop)
    ana.says("tenho uma duvida")
    assert ana.hears() == ["Certo! Um atendente vai falar com você."]
    ticket = ana.ticket()
    assert (ticket.status, ticket.sector_id, ticket.bot_mode) == ("pending", None, None)
    assert events_of(ticket.id, "bot_handover")[0].data == {"reason": "asked"}


def test_an_option_to_humans_without_its_own_text_says_an_attendant_is_coming(customer, shop):
    ana = customer(shop)
    ana.says("oi")
    assert ana.hears() == [START]
    ana.says("3")
    assert ana.hears() == [gettext("Please wait, an attendant will talk to you shortly.")]
    assert ana.ticket().bot_mode is None


def test_a_closing_option_says_goodbye_closes_and_the_next_message_opens_a_new_ticket(customer, shop):
    ana = at_the_catalogue(customer, shop)
    ana.says("tchau")
    assert ana.hears() == ["Obrigado pela visita! Até a próxima."]
    closed = ana.ticket()
    assert (closed.status, closed.bot_mode, closed.unread) == ("closed", None, 0)
    assert events_of(closed.id, "closed")[0].data == {"by_bot": True}
    ana.says("oi de novo")
    assert ana.hears() == [START]
    fresh = ana.ticket()
    assert fresh.id != closed.id and (fresh.status, fresh.bot_mode) == ("pending", "chatbot")
    assert [m.body for m in messages_of(closed.id)][-1] == "Obrigado pela visita! Até a próxima."


def test_zero_goes_back_to_the_start(customer, shop, sectors):
    ana = at_the_catalogue(customer, shop)
    ana.says("0")
    assert ana.hears() == [START]
    ana.says("boleto")
    assert ana.hears() == ["Setor de Cobrança, pois não?"]
    assert ana.ticket().sector_id == sectors["Cobrança"].id


def test_zero_at_the_start_is_just_an_invalid_answer(customer, shop):
    ana = customer(shop)
    ana.says("oi")
    assert ana.hears() == [START]
    ana.says("0")
    invalid = gettext("Invalid option. Please choose one of the options:")
    assert ana.hears() == [invalid + START[START.index("\n\n"):]]


def test_a_node_with_a_file_sends_it(app, client, customer, shop):
    ana = at_the_catalogue(customer, shop)
    sent = ana.deliveries[-1].json
    assert (sent["media"]["mime_type"], sent["media"]["filename"]) == ("application/pdf", "catalogo.pdf")
    fetched = client.get(sent["media"]["url"].replace("http://localhost", ""))
    assert fetched.status_code == 200 and fetched.data == PDF
    with_file = bot_messages(ana.ticket().id)[-1]
    assert (with_file.kind, with_file.media_name, with_file.status) == ("document", "catalogo.pdf", "sent")


def test_an_invalid_answer_repeats_the_node_without_its_file(customer, shop):
    ana = at_the_catalogue(customer, shop)
    ana.says("quanto custa?")
    (again,) = ana.hears()
    assert again == gettext("Invalid option. Please choose one of the options:") + catalogue()[
        catalogue().index("\n\n"):]
    assert "media" not in ana.deliveries[-1].json


def test_repeated_invalid_answers_hand_over_to_humans(customer, line, chatbot):
    ana = customer(line("chatbot", chatbot_id=chatbot.id, bot_max_invalid=2))
    for text in ("oi", "hein"):
        ana.says(text)
        ana.hears()
    ana.says("como?")
    assert ana.hears() == [gettext("We could not understand your answer. An attendant will talk to you shortly.")]
    ticket = ana.ticket()
    assert (ticket.bot_mode, ticket.sector_id, ticket.status) == (None, None, "pending")
    assert events_of(ticket.id, "bot_handover")[0].data == {"reason": "invalid"}
