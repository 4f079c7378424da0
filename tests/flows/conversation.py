"""A customer talking to the app the way a real one does: signed webhooks in, and what
the outbox delivered to the provider's server read back out. Shared by the flow tests
and by ``tests.flows_transcript``, which prints the same conversations for people.

Also the shop every flow test uses: three sectors in a known order and a chatbot tree
three levels deep.
"""
from __future__ import annotations

import itertools
import json
import time
from urllib.parse import urlsplit

from flask_babel import gettext
from sqlalchemy import select

from atendimento.channels.base import sign
from atendimento.extensions import db
from atendimento.media import store
from atendimento.models import BotNode, BotOption, Chatbot, ContactIdentity, Message, Sector, Ticket, TicketEvent
from atendimento.outbox import deliver_due

from ..channels.helpers import PDF

EVOLUTION_APIKEY = "B6D711FCDE4D4FD5936544120E713976"
EVOLUTION_INSTANCE = "loja-centro"

_ids = itertools.count(1)


class Customer:
    """One person on one connection. ``says`` posts their message as the channel would;
    ``hears`` delivers what is due and answers the texts that reached them since last asked."""

    def __init__(self, client, connection, provider, sender: str, name: str):
        self.client, self.connection, self.provider = client, connection, provider
        self.sender, self.name = sender, name
        self.transcript: list[tuple[str, str]] = []  # ("Cliente" | "Loja", text), as the phone shows it
        self.deliveries: list = []  # every request the provider got for this customer, in order

    def says(self, text: str) -> None:
        raw, headers = self.webhook(text, f"in-{next(_ids)}")
        response = self.client.post(self.webhook_path(), data=raw, headers=headers)
        assert response.status_code == 200, response.data
        self.transcript.append(("Cliente", text))

    def hears(self) -> list[str]:
        deliver_due()
        new = [r for r in self.provider.calls("POST") if self.is_mine(r)][len(self.deliveries):]
        self.deliveries += new
        texts = [self.text_of(r) for r in new]
        self.transcript += [("Loja", text) for text in texts]
        return texts

    def ticket(self) -> Ticket:
        """The customer's latest ticket, fresh from the database."""
        db.session.expire_all()
        return db.session.scalars(
            select(Ticket).join(ContactIdentity, ContactIdentity.contact_id == Ticket.contact_id)
            .where(Ticket.connection_id == self.connection.id, ContactIdentity.external_id == self.sender)
            .order_by(Ticket.id.desc())).first()

    # -- what a channel kind changes ------------------------------------------

    def webhook_path(self) -> str:
        return f"/webhooks/{self.connection.kind}/{self.connection.token}"

    def webhook(self, text: str, message_id: str) -> tuple[bytes, dict]:
        """The raw body and headers the channel would post for this message."""
        raise NotImplementedError

    def is_mine(self, request) -> bool:
        raise NotImplementedError

    def text_of(self, request) -> str:
        raise NotImplementedError


class GenericCustomer(Customer):
    """SPEC §8 generic JSON, signed with the connection's secret; replies are POSTed to
    the connection's outbound URL."""

    def __init__(self, client, connection, provider, sender="5511988887777", name="Ana Souza"):
        super().__init__(client, connection, provider, sender, name)

    def webhook(self, text, message_id):
        return generic_webhook(self.connection, self.sender, text, message_id, name=self.name)

    def is_mine(self, request):
        return (request.path == urlsplit(self.connection.settings["outbound_url"]).path
                and request.json["to"] == self.sender)

    def text_of(self, request):
        media = request.json.get("media")
        if media:
            return f"[{media['filename']}] {request.json['text']}".strip()
        return request.json["text"]


def generic_webhook(connection, sender: str, text: str, message_id: str, name: str = "") -> tuple[bytes, dict]:
    """A signed generic webhook body and its headers."""
    raw = json.dumps({"id": message_id, "from": sender, "name": name, "text": text,
                      "timestamp": int(time.time())}).encode()
    return raw, {"Content-Type": "application/json", "X-Signature-256": sign(connection.secret, raw)}


class EvolutionCustomer(Customer):
    """Evolution API ``messages.upsert`` events in; ``sendText``/``sendMedia`` calls out."""

    def __init__(self, client, connection, provider, sender="5511987654321", name="Carla Dias"):
        super().__init__(client, connection, provider, sender, name)

    def webhook(self, text, message_id):
        raw = json.dumps({
            "event": "messages.upsert", "instance": EVOLUTION_INSTANCE, "apikey": EVOLUTION_APIKEY,
            "data": {"key": {"remoteJid": f"{self.sender}@s.whatsapp.net", "fromMe": False, "id": message_id},
                     "pushName": self.name, "message": {"conversation": text}, "messageType": "conversation",
                     "messageTimestamp": int(time.time())},
        }).encode()
        return raw, {"Content-Type": "application/json"}

    def is_mine(self, request):
        return request.path.startswith("/message/") and request.json.get("number") == self.sender

    def text_of(self, request):
        return request.json.get("text") or request.json.get("caption") or ""


def serve_generic(provider) -> dict:
    """A gateway's send endpoint (one per connection); answers the settings of a generic
    connection using it."""
    path = f"/gateway-{next(_ids)}/send"
    provider.on("POST", path, lambda req, m: (200, {"id": f"gw-{req.json['id']}"}))
    return {"outbound_url": provider.url + path}


def serve_evolution(provider) -> dict:
    """Evolution's send endpoints; answers the settings of an evolution connection using it."""
    sent = itertools.count(1)

    def send(request, match):
        if request.headers.get("apikey") != EVOLUTION_APIKEY:
            return 401, {"status": 401, "error": "Unauthorized"}
        return 201, {"key": {"remoteJid": f"{request.json['number']}@s.whatsapp.net", "fromMe": True,
                             "id": f"BAE5{next(sent):012d}"}, "status": "PENDING"}

    provider.on("POST", rf"/message/(sendText|sendMedia)/{EVOLUTION_INSTANCE}", send)
    return {"base_url": provider.url, "instance": EVOLUTION_INSTANCE, "apikey": EVOLUTION_APIKEY}


# -- the shop ------------------------------------------------------------------

GREETING = "Olá! Bem-vindo à Loja Exemplo."
FAREWELL = "Obrigado pelo contato! Volte sempre."
COMERCIAL_GREETING = "Olá! Aqui é o Comercial, já vamos falar com você."
COBRANCA_GREETING = "Setor de Cobrança, pois não?"


def routed_to(sector: str) -> str:
    """What the bot says when it routes to one of the shop's sectors: its greeting, or the default."""
    return {"Comercial": COMERCIAL_GREETING, "Cobrança": COBRANCA_GREETING}.get(sector) or gettext(
        "Thank you! An attendant of %(sector)s will talk to you shortly.", sector=sector)


def shop_sectors() -> dict[str, Sector]:
    """Comercial, Suporte and Cobrança, in that menu order (created out of order on purpose)."""
    sectors = {
        "Suporte": Sector(name="Suporte", color="#27ae60", position=2),
        "Cobrança": Sector(name="Cobrança", color="#eb5757", position=3, greeting=COBRANCA_GREETING),
        "Comercial": Sector(name="Comercial", color="#2f80ed", position=1, greeting=COMERCIAL_GREETING),
    }
    db.session.add_all(sectors.values())
    db.session.commit()
    return sectors


def shop_chatbot(sectors: dict[str, Sector]) -> Chatbot:
    """Início → Compras → Catálogo (with a PDF); the leaves reach a sector, humans, or close."""
    catalogue = store(PDF, declared_mime="application/pdf", filename="catalogo.pdf")
    bot = Chatbot(name="Assistente da loja")
    start = BotNode(name="Início", position=0, message="Olá! Sou o assistente da Loja Exemplo. Como posso ajudar?")
    buying = BotNode(name="Compras", position=1, message="Que bom! O que você procura?")
    catalogue_node = BotNode(name="Catálogo", position=2, message="Aqui está o nosso catálogo de junho.",
                             media_path=catalogue["path"], media_mime=catalogue["mime"],
                             media_name=catalogue["name"], media_size=catalogue["size"])
    bot.nodes = [start, buying, catalogue_node]
    start.options = [
        BotOption(position=0, title="Comprar", keyword="compras", action="node", target_node=buying),
        BotOption(position=1, title="Segunda via de boleto", keyword="boleto", action="sector",
                  target_sector=sectors["Cobrança"]),
        BotOption(position=2, title="Falar com um atendente", keyword="atendente", action="human"),
    ]
    buying.options = [
        BotOption(position=0, title="Ver o catálogo", keyword="catalogo", action="node", target_node=catalogue_node),
        BotOption(position=1, title="Falar com um vendedor", action="sector", target_sector=sectors["Comercial"]),
    ]
    catalogue_node.options = [
        BotOption(position=0, title="Quero comprar", action="sector", target_sector=sectors["Comercial"],
                  reply="Ótimo! Um vendedor vai te chamar em instantes."),
        BotOption(position=1, title="Tenho uma dúvida", action="human",
                  reply="Certo! Um atendente vai falar com você."),
        BotOption(position=2, title="Era só isso", keyword="tchau", action="close",
                  reply="Obrigado pela visita! Até a próxima."),
    ]
    db.session.add(bot)
    db.session.commit()
    return bot


def messages_of(ticket_id: int) -> list[Message]:
    """The ticket's messages in order, fresh from the database."""
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)))


def bot_messages(ticket_id: int) -> list[Message]:
    return [m for m in messages_of(ticket_id) if m.from_bot]


def events_of(ticket_id: int, kind: str) -> list[TicketEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                             TicketEvent.kind == kind).order_by(TicketEvent.id)))
