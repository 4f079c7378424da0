"""After a close: ``rerun_bot_on_new_ticket`` on runs the flow again; off skips the bot
and sends the new ticket to the sector of the contact's previous one."""
from flask_babel import gettext

from .conversation import bot_messages, events_of


def close_as(api, user, ticket_id):
    assert api(user).post(f"/tickets/{ticket_id}/accept").status_code == 200
    assert api(user).post(f"/tickets/{ticket_id}/close").status_code == 200


def test_on_the_menu_runs_again_on_the_new_ticket(line, customer, api, seller):
    ana = customer(line("menu", rerun_bot_on_new_ticket=True))
    ana.says("oi")
    (menu,) = ana.hears()
    ana.says("1")
    ana.hears()
    close_as(api, seller, ana.ticket().id)
    ana.says("oi, sou eu de novo")
    assert ana.hears() == [menu]
    fresh = ana.ticket()
    assert (fresh.status, fresh.bot_mode, fresh.sector_id) == ("pending", "menu", None)


def test_off_the_new_ticket_skips_the_bot_and_waits_in_the_previous_sector(line, customer, api, seller, sectors):
    ana = customer(line("menu", rerun_bot_on_new_ticket=False))
    ana.says("oi")
    ana.hears()
    ana.says("Comercial")
    ana.hears()
    first = ana.ticket()
    close_as(api, seller, first.id)
    ana.says("oi, sou eu de novo")
    assert ana.hears() == []  # no greeting, no menu
    fresh = ana.ticket()
    assert fresh.id != first.id
    assert (fresh.status, fresh.bot_mode, fresh.sector_id) == ("pending", None, sectors["Comercial"].id)
    assert bot_messages(fresh.id) == [] and events_of(fresh.id, "bot_handover") == []
    ana.says("1")  # not a menu answer any more: the seller reads it
    assert ana.hears() == []
    assert api(seller).get(f"/tickets/{fresh.id}").status_code == 200


def test_off_without_a_previous_sector_the_new_ticket_waits_without_one(line, customer, api, admin):
    ana = customer(line("menu", rerun_bot_on_new_ticket=False))
    ana.says("oi")
    assert len(ana.hears()) == 1  # the menu
    first = ana.ticket()
    close_as(api, admin, first.id)  # taken mid-bot: the first ticket never had a sector
    ana.says("voltei")
    assert ana.hears() == []
    fresh = ana.ticket()
    assert (fresh.status, fresh.bot_mode, fresh.sector_id) == ("pending", None, None)


def test_off_on_a_chatbot_closed_by_the_bot(line, customer, chatbot):
    ana = customer(line("chatbot", chatbot_id=chatbot.id, rerun_bot_on_new_ticket=False))
    for answer in ("oi", "1", "1", "3"):  # Comprar, Ver o catálogo, Era só isso
        ana.says(answer)
        heard = ana.hears()
    assert heard == ["Obrigado pela visita! Até a próxima."]
    assert ana.ticket().status == "closed"
    ana.says("esqueci uma coisa")
    assert ana.hears() == []
    fresh = ana.ticket()
    assert (fresh.status, fresh.bot_mode, fresh.sector_id) == ("pending", None, None)


def test_off_only_counts_tickets_of_the_same_connection(line, customer, sectors):
    first_line = line("menu", rerun_bot_on_new_ticket=False)
    ana_there = customer(first_line)
    ana_there.says("oi")
    ana_there.hears()
    ana_there.says("2")
    other_line = line("menu", rerun_bot_on_new_ticket=False, greeting="")
    ana_here = customer(other_line)
    ana_here.says("oi")
    assert ana_here.ticket().bot_mode == "menu"
    assert ana_here.hears() == [gettext("Please choose an option:") + "\n\n1 - Comercial\n2 - Suporte\n3 - Cobrança"]
