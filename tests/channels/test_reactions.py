"""A customer's emoji reaction (WhatsApp Cloud ``reaction``, Evolution ``reactionMessage``)
becomes a visible line on the ticket, quoting the message reacted to when this connection
knows it, instead of an "unsupported type" line."""
from flask_babel import gettext
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Message, Ticket
from atendimento.outbox import deliver_due
from atendimento.tickets import outgoing, service

from .helpers import message_count, post_webhook
from .test_evolution import CUSTOMER as EVOLUTION_CUSTOMER
from .test_evolution import JID, upsert
from .test_evolution import evolution, evolution_api  # noqa: F401  (fixtures)
from .test_whatsapp_cloud import CUSTOMER, message, notification, post
from .test_whatsapp_cloud import graph, whatsapp  # noqa: F401  (fixtures)

SHIPPED = "Seu pedido saiu para entrega e chega hoje até as 18h; qualquer dúvida é só chamar!"


def _sent(factory, connection, customer, text=SHIPPED) -> Message:
    """Our attendant's message, delivered: it now has the provider's id."""
    ticket = factory.ticket(connection, status="open", sender=customer)
    sent = outgoing.send_text(ticket.user, ticket.id, text)
    deliver_due()
    db.session.refresh(sent)
    assert sent.external_id
    return sent


def _reaction(target, emoji, wamid="wamid.REACTION1"):
    return notification([message("reaction", {"message_id": target, "emoji": emoji}, wamid=wamid)])


def _lines() -> list[tuple]:
    return db.session.execute(
        select(Message.direction, Message.kind, Message.body).where(Message.kind == "system").order_by(Message.id)
    ).all()


def test_a_reaction_to_our_message_quotes_it(client, factory, whatsapp, published):
    sent = _sent(factory, whatsapp, CUSTOMER)
    unread = sent.ticket.unread
    assert post(client, whatsapp, _reaction(sent.external_id, "👍")).status_code == 200
    line = gettext("Reacted with %(emoji)s to the message: “%(quote)s”", emoji="👍",
                   quote=SHIPPED[:60].rstrip() + "…")
    assert _lines() == [("in", "system", line)]
    ticket = db.session.get(Ticket, sent.ticket_id)
    db.session.refresh(ticket)
    assert ticket.unread == unread + 1 and ticket.last_message == line
    assert ("message.created", ticket.id) in [(name, ticket_id) for name, ticket_id, _data in published]


def test_a_short_message_is_quoted_whole(client, factory, whatsapp):
    sent = _sent(factory, whatsapp, CUSTOMER, text="Pedido confirmado")
    post(client, whatsapp, _reaction(sent.external_id, "❤️"))
    assert _lines() == [("in", "system", gettext("Reacted with %(emoji)s to the message: “%(quote)s”",
                                                 emoji="❤️", quote="Pedido confirmado"))]


def test_a_reaction_to_an_unknown_message_opens_the_ticket_without_a_quote(client, whatsapp):
    post(client, whatsapp, _reaction("wamid.SENT.BEFORE.THE.APP", "🙏"))
    assert _lines() == [("in", "system", gettext("Reacted with %(emoji)s", emoji="🙏"))]
    ticket = db.session.scalar(select(Ticket))
    assert ticket.status == "pending" and ticket.unread == 1 and ticket.contact.name == "Sheena Nelson"


def test_a_removed_reaction(client, factory, whatsapp):
    sent = _sent(factory, whatsapp, CUSTOMER)
    post(client, whatsapp, _reaction(sent.external_id, "👍"))
    post(client, whatsapp, _reaction(sent.external_id, "", wamid="wamid.REACTION2"))
    post(client, whatsapp, notification([message("reaction", {"message_id": sent.external_id},
                                                  wamid="wamid.REACTION3")]))  # emoji left out
    removed = gettext("Removed the reaction")
    assert [body for _direction, _kind, body in _lines()][1:] == [removed, removed]


def test_a_redelivered_reaction_is_stored_once(client, factory, whatsapp):
    sent = _sent(factory, whatsapp, CUSTOMER)
    before, unread = message_count(), sent.ticket.unread
    post(client, whatsapp, _reaction(sent.external_id, "👍"))
    post(client, whatsapp, _reaction(sent.external_id, "👍"))
    assert message_count() == before + 1
    ticket = db.session.get(Ticket, sent.ticket_id)
    db.session.refresh(ticket)
    assert ticket.unread == unread + 1


def _reaction_message(target_id, emoji, *, key_id="3EB0REACTION0001", from_me=False):
    return upsert({"reactionMessage": {"key": {"remoteJid": JID, "fromMe": not from_me, "id": target_id},
                                       "text": emoji, "senderTimestampMs": "1717000005123"},
                   "messageContextInfo": {"deviceListMetadataVersion": 2}},
                  "reactionMessage", key_id=key_id, from_me=from_me)


def test_evolution_reaction_to_our_message(client, factory, evolution):
    sent = _sent(factory, evolution, EVOLUTION_CUSTOMER)
    assert post_webhook(client, evolution, _reaction_message(sent.external_id, "😂")).status_code == 200
    post_webhook(client, evolution, _reaction_message(sent.external_id, "", key_id="3EB0REACTION0002"))
    assert _lines() == [
        ("in", "system", gettext("Reacted with %(emoji)s to the message: “%(quote)s”", emoji="😂",
                                 quote=SHIPPED[:60].rstrip() + "…")),
        ("in", "system", gettext("Removed the reaction")),
    ]
    assert db.session.scalar(select(Message.ticket_id).where(Message.kind == "system")) == sent.ticket_id


def test_evolution_reaction_to_an_unknown_message_redelivered(client, evolution):
    payload = _reaction_message("3EB0NEVERSEEN", "👍")
    post_webhook(client, evolution, payload)
    post_webhook(client, evolution, payload)
    assert _lines() == [("in", "system", gettext("Reacted with %(emoji)s", emoji="👍"))]
    assert db.session.scalar(select(Ticket.unread)) == 1


def test_evolution_our_own_reaction_from_the_phone_is_not_a_line(client, factory, evolution):
    sent = _sent(factory, evolution, EVOLUTION_CUSTOMER)
    before = message_count()
    post_webhook(client, evolution, _reaction_message(sent.external_id, "👍", from_me=True))
    assert message_count() == before and _lines() == []


def test_a_reaction_to_the_bots_menu_is_no_answer(client, factory, whatsapp):
    whatsapp.flow = "menu"
    whatsapp.sectors = [factory.sector("Comercial", position=1), factory.sector("Suporte", position=2)]
    db.session.commit()
    assert post(client, whatsapp, notification([message("text", {"body": "oi"}, wamid="wamid.HI")])).status_code == 200
    deliver_due()  # the menu reaches the contact, who reacts to it instead of answering
    menu = db.session.scalar(select(Message).where(Message.from_bot.is_(True)))
    bot_messages = message_count()

    post(client, whatsapp, _reaction(menu.external_id, "👍"))
    deliver_due()

    ticket = db.session.get(Ticket, menu.ticket_id)
    db.session.refresh(ticket)
    assert (ticket.bot_mode, ticket.bot_state["invalid"]) == ("menu", 0)  # still waiting, no "invalid option"
    assert message_count() == bot_messages + 1  # only the reaction's line
