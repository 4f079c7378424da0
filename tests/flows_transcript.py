"""Print two first-contact conversations as the contact saw them on their phone.

    .venv/bin/python -m tests.flows_transcript

A throwaway SQLite app and a local server playing the gateway: the customer's messages
go in as signed generic webhooks, the bot's replies come out through the outbox, and
what reached the gateway is what is printed. One conversation with the menu of
sectors (an invalid answer, then a valid one) and one with the chatbot (three levels
down, a file, back to the start, and a close).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from atendimento import create_app
from atendimento.extensions import db

from .channels.fake_provider import FakeProvider
from .factories import Factory
from .flows.conversation import FAREWELL, GREETING, GenericCustomer, serve_generic, shop_chatbot, shop_sectors

MENU_CONVERSATION = ("Oi, boa tarde!", "quero ver meu boleto", "cobranca")
CHATBOT_CONVERSATION = ("Olá", "1", "catálogo", "0", "1", "1", "tchau")


def make_app(folder: Path):
    return create_app({
        "TESTING": True, "SECRET_KEY": "transcript", "SERVER_NAME": "localhost",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'transcript.db'}", "REDIS_URL": None,
        "MEDIA_DIR": str(folder / "media"),
    })


def converse(customer: GenericCustomer, lines) -> GenericCustomer:
    """The customer says each line and reads what came back before writing the next."""
    for line in lines:
        customer.says(line)
        customer.hears()
    return customer


TABS = {"pending": "Esperando", "open": "Em atendimento", "closed": "Finalizados"}


def render(title: str, customer: GenericCustomer) -> str:
    out = [f"== {title} =="]
    for who, text in customer.transcript:
        first, *rest = text.split("\n")
        out.append(f"{who}: {first}")
        out += [f"{' ' * (len(who) + 2)}{more}" if more else "" for more in rest]
    ticket = customer.ticket()
    sector = f", setor {ticket.sector.name}" if ticket.sector else ""
    bot = "ativo" if ticket.bot_mode else "desligado"
    out.append(f"(ticket #{ticket.id}: {TABS[ticket.status]}{sector}, bot {bot})")
    return "\n".join(out)


def main() -> None:
    provider = FakeProvider().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(Path(tmp))
            with app.app_context():
                db.create_all()
                factory, sectors = Factory(), shop_sectors()
                offered = [sectors["Comercial"], sectors["Suporte"], sectors["Cobrança"]]
                menu = factory.connection("Loja (menu)", flow="menu", greeting=GREETING, sectors=offered,
                                          settings=serve_generic(provider))
                bot = factory.connection("Loja (chatbot)", flow="chatbot", chatbot_id=shop_chatbot(sectors).id,
                                         farewell=FAREWELL, settings=serve_generic(provider))
                client = app.test_client()
                ana = GenericCustomer(client, menu, provider, sender="5511988887777", name="Ana Souza")
                bruno = GenericCustomer(client, bot, provider, sender="5511977776666", name="Bruno Lima")
                print(render("Menu de setores", converse(ana, MENU_CONVERSATION)))
                print()
                print(render("Chatbot", converse(bruno, CHATBOT_CONVERSATION)))
                app.extensions["realtime"].close()
                db.session.remove()
                db.engine.dispose()
    finally:
        provider.stop()


if __name__ == "__main__":
    main()
