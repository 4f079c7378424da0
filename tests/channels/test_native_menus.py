"""Native menus (issue 6): a bot's menu goes out as WhatsApp Cloud reply buttons or a list,
as a Telegram reply keyboard, and as numbered text on Evolution and generic gateways; the
contact's tap or typed answer routes the ticket. Against the local provider server, and
end to end through webhooks and the outbox."""
import hashlib
import hmac
import json

import pytest
from flask_babel import gettext
from sqlalchemy import select

from atendimento.channels.base import Outbound
from atendimento.channels.registry import adapter_for
from atendimento.extensions import db
from atendimento.models import Message, Ticket
from atendimento.outbox import deliver_due

from .helpers import JPEG, post_webhook
from .test_evolution import INSTANCE, upsert
from .test_evolution import CUSTOMER as EVOLUTION_CUSTOMER
from .test_evolution import evolution, evolution_api  # noqa: F401  (fixtures)
from .test_telegram import BOT, CHAT, update
from .test_telegram import post as post_update
from .test_telegram import bot_api, telegram  # noqa: F401  (fixtures)
from .test_whatsapp_cloud import CUSTOMER, PNID, message, notification
from .test_whatsapp_cloud import post as post_meta
from .test_whatsapp_cloud import graph, whatsapp  # noqa: F401  (fixtures)

MESSAGES = rf"/v21\.0/{PNID}/messages"
PROMPT = "Como podemos ajudar?"


def menu(*titles, prompt=PROMPT):
    """``Message.meta["menu"]`` as the flow writes it."""
    return {"text": prompt, "button": "Opções",
            "options": [{"id": str(n), "title": title} for n, title in enumerate(titles, start=1)]}


def numbered(menu_meta):
    """The message's own text: the prompt and the numbered options."""
    lines = [menu_meta["text"], ""] if menu_meta["text"] else []
    return "\n".join(lines + [f"{o['id']} - {o['title']}" for o in menu_meta["options"]])


def outbound(extra, *, kind="text", text=None, media_path=None, to=CUSTOMER):
    menu_meta = extra.get("menu")
    return Outbound(message_id=7, to=to, kind=kind, text=numbered(menu_meta) if text is None else text,
                    media_path=media_path, media_mime="image/jpeg" if media_path else None,
                    media_name="cardapio.jpg" if media_path else None, extra=extra)


# -- WhatsApp Cloud: what goes out ----------------------------------------------

def sent_to_meta(whatsapp, graph, extra, **kw):
    adapter_for(whatsapp).send(outbound(extra, **kw))
    (call,) = graph.calls("POST", MESSAGES)
    assert call.json["to"] == CUSTOMER and call.json["biz_opaque_callback_data"] == "atendimento:7"
    return call.json


def test_five_options_go_out_as_a_list(whatsapp, graph):
    sent = sent_to_meta(whatsapp, graph, {"menu": menu("Comercial", "Suporte", "Financeiro", "Técnico", "Outros")})
    assert sent["type"] == "interactive"
    assert sent["interactive"] == {"type": "list", "body": {"text": PROMPT}, "action": {
        "button": "Opções", "sections": [{"title": "Opções", "rows": [
            {"id": "1", "title": "Comercial"}, {"id": "2", "title": "Suporte"}, {"id": "3", "title": "Financeiro"},
            {"id": "4", "title": "Técnico"}, {"id": "5", "title": "Outros"}]}]}}


@pytest.mark.parametrize("titles", [("Comercial", "Suporte"), ("Comercial", "Suporte", "Financeiro")])
def test_up_to_three_options_are_reply_buttons(whatsapp, graph, titles):
    sent = sent_to_meta(whatsapp, graph, {"menu": menu(*titles)})
    assert sent["type"] == "interactive"
    assert sent["interactive"] == {"type": "button", "body": {"text": PROMPT}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": str(n), "title": title}} for n, title in enumerate(titles, start=1)]}}


@pytest.mark.parametrize("menu_meta", [
    menu(*[f"Setor {n}" for n in range(1, 12)]),  # eleven: more than a list holds
    menu("Comercial", "Suporte", prompt=""),  # Meta requires a body
    menu("Comercial", "Suporte", prompt="x" * 1025),  # over the body limit
], ids=["eleven options", "no prompt", "long prompt"])
def test_what_meta_cannot_show_goes_as_the_numbered_text(whatsapp, graph, menu_meta):
    sent = sent_to_meta(whatsapp, graph, {"menu": menu_meta})
    assert sent["type"] == "text" and "interactive" not in sent
    assert sent["text"] == {"preview_url": False, "body": numbered(menu_meta)}


def test_long_titles_are_cut_at_a_word_and_the_rest_goes_to_the_description(whatsapp, graph):
    long_title = ("Atendimento ao cliente empresarial, grandes contas, governo, licitações e parcerias com "
                  "revendedores autorizados")
    sent = sent_to_meta(whatsapp, graph, {"menu": menu(
        "Comercial", "Atendimento ao cliente empresarial", "Superintendênciadeatendimentos", long_title)})
    rows = sent["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": "1", "title": "Comercial"}
    assert rows[1] == {"id": "2", "title": "Atendimento ao cliente…", "description": "…empresarial"}
    assert rows[2] == {"id": "3", "title": "Superintendênciadeatend…", "description": "…imentos"}
    assert rows[3]["title"] == "Atendimento ao cliente…"
    assert rows[3]["description"].startswith("…empresarial, grandes contas") and rows[3]["description"].endswith("…")
    assert all(len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in rows)


def test_button_titles_are_cut_to_twenty_and_kept_apart(whatsapp, graph):
    sent = sent_to_meta(whatsapp, graph, {"menu": menu("Segunda via de boleto bancário", "Suporte")})
    assert [b["reply"]["title"] for b in sent["interactive"]["action"]["buttons"]] == ["Segunda via de…", "Suporte"]
    graph.requests.clear()
    # Cut to twenty, these two read the same, which Meta refuses on buttons: a list shows them whole.
    twins = sent_to_meta(whatsapp, graph, {"menu": menu("Financeiro - boletos vencidos",
                                                        "Financeiro - boletos a vencer")})
    assert twins["interactive"]["type"] == "list"
    rows = twins["interactive"]["action"]["sections"][0]["rows"]
    assert [(r["title"], r["description"]) for r in rows] == [
        ("Financeiro - boletos…", "…vencidos"), ("Financeiro - boletos a…", "…vencer")]


def test_a_picture_with_buttons_carries_them_and_with_a_list_its_caption_numbers_them(whatsapp, graph, tmp_path):
    picture = tmp_path / "cardapio.jpg"
    picture.write_bytes(JPEG)
    buttons = sent_to_meta(whatsapp, graph, {"menu": menu("Pizza", "Lanche")}, kind="image", media_path=str(picture))
    assert buttons["type"] == "interactive" and buttons["interactive"]["type"] == "button"
    header = buttons["interactive"]["header"]
    assert header["type"] == "image" and set(header["image"]) == {"id"}  # uploaded; a header takes no caption
    assert buttons["interactive"]["body"] == {"text": PROMPT}
    graph.requests.clear()
    five = menu("Pizza", "Lanche", "Salada", "Bebida", "Sobremesa")
    listed = sent_to_meta(whatsapp, graph, {"menu": five}, kind="image", media_path=str(picture))
    assert listed["type"] == "image" and listed["image"]["caption"] == numbered(five)
    assert len(graph.calls("POST", rf"/v21\.0/{PNID}/media")) == 1


@pytest.mark.parametrize("reply_type", ["list_reply", "button_reply"])
def test_a_native_reply_carries_the_option_id(whatsapp, reply_type):
    reply = {"id": "2", "title": "Suporte"}
    if reply_type == "list_reply":
        reply["description"] = "Dúvidas e problemas"
    context = {"from": "15550783881", "id": "wamid.MENU"}
    (incoming,) = adapter_for(whatsapp).parse(notification([message(
        "interactive", {"type": reply_type, reply_type: reply}, context=context)]))
    assert (incoming.inbound.choice, incoming.inbound.body) == ("2", "Suporte")


# -- Telegram: what goes out ----------------------------------------------------

def sent_to_telegram(telegram, bot_api, extra, method="sendMessage", **kw):
    adapter_for(telegram).send(outbound(extra, to=str(CHAT), **kw))
    (call,) = bot_api.calls("POST", f"/bot{BOT}/{method}")
    return call


def test_a_menu_is_a_reply_keyboard_one_option_a_row(telegram, bot_api):
    call = sent_to_telegram(telegram, bot_api, {"menu": menu("Comercial", "Suporte", "Financeiro")})
    assert call.json == {"chat_id": str(CHAT), "text": PROMPT, "reply_markup": {
        "keyboard": [[{"text": "1 - Comercial"}], [{"text": "2 - Suporte"}], [{"text": "3 - Financeiro"}]],
        "one_time_keyboard": True, "resize_keyboard": True}}


def test_a_menu_without_prompt_sends_the_numbered_text_with_the_keyboard(telegram, bot_api):
    menu_meta = menu("Comercial", "Suporte", prompt="")
    call = sent_to_telegram(telegram, bot_api, {"menu": menu_meta})
    assert call.json["text"] == "1 - Comercial\n2 - Suporte"
    assert call.json["reply_markup"]["keyboard"] == [[{"text": "1 - Comercial"}], [{"text": "2 - Suporte"}]]


def test_the_message_after_a_menu_removes_the_keyboard(telegram, bot_api):
    call = sent_to_telegram(telegram, bot_api, {"remove_keyboard": True}, text="Obrigado!")
    assert call.json == {"chat_id": str(CHAT), "text": "Obrigado!", "reply_markup": {"remove_keyboard": True}}


def test_a_picture_with_a_menu_is_captioned_with_the_prompt_and_carries_the_keyboard(telegram, bot_api, tmp_path):
    picture = tmp_path / "cardapio.jpg"
    picture.write_bytes(JPEG)
    call = sent_to_telegram(telegram, bot_api, {"menu": menu("Pizza", "Lanche")}, "sendPhoto",
                            kind="image", media_path=str(picture))
    assert call.form["caption"] == PROMPT and call.files["photo"][2] == JPEG
    assert json.loads(call.form["reply_markup"]) == {
        "keyboard": [[{"text": "1 - Pizza"}], [{"text": "2 - Lanche"}]], "one_time_keyboard": True,
        "resize_keyboard": True}


# -- end to end: the menu of sectors through webhooks and the outbox ------------

@pytest.fixture
def sectors(factory):
    names = ("Comercial", "Suporte", "Financeiro", "Técnico")
    return [factory.sector(name, position=n, greeting=f"Olá! O time {name} já vai te atender.")
            for n, name in enumerate(names)]


def menu_connection(connection, sectors):
    connection.flow, connection.greeting, connection.sectors = "menu", "Bem-vindo à Loja Centro!", list(sectors)
    db.session.commit()
    return connection


def the_ticket() -> Ticket:
    db.session.expire_all()
    return db.session.scalar(select(Ticket))


def opening_prompt() -> str:
    return "Bem-vindo à Loja Centro!\n\n" + gettext("Please choose an option:")


@pytest.mark.parametrize("answer", ["list_reply", "typed number", "typed title"])
def test_whatsapp_the_menu_is_a_list_and_its_reply_routes_the_ticket(client, whatsapp, graph, sectors, answer):
    menu_connection(whatsapp, sectors)
    post_meta(client, whatsapp, notification([message("text", {"body": "Oi, boa tarde"}, wamid="wamid.IN1")]))
    assert deliver_due() == 1
    (opening,) = graph.calls("POST", MESSAGES)
    assert opening.json["type"] == "interactive"
    assert opening.json["interactive"] == {"type": "list", "body": {"text": opening_prompt()}, "action": {
        "button": gettext("Options"), "sections": [{"title": gettext("Options"), "rows": [
            {"id": "1", "title": "Comercial"}, {"id": "2", "title": "Suporte"}, {"id": "3", "title": "Financeiro"},
            {"id": "4", "title": "Técnico"}]}]}}
    bot_message = db.session.scalar(select(Message).where(Message.direction == "out"))
    assert bot_message.from_bot and bot_message.status == "sent" and "4 - Técnico" in bot_message.body

    context = {"from": "15550783881", "id": bot_message.external_id}
    reply = {
        "list_reply": message("interactive", {"type": "list_reply", "list_reply": {
            "id": "2", "title": "Suporte", "description": ""}}, wamid="wamid.IN2", context=context),
        "typed number": message("text", {"body": "2"}, wamid="wamid.IN2"),
        "typed title": message("text", {"body": "suporte"}, wamid="wamid.IN2"),
    }[answer]
    assert post_meta(client, whatsapp, notification([reply])).status_code == 200
    ticket = the_ticket()
    assert (ticket.sector_id, ticket.bot_mode, ticket.status) == (sectors[1].id, None, "pending")
    assert deliver_due() == 1
    greeting = graph.calls("POST", MESSAGES)[-1].json
    assert greeting["type"] == "text" and greeting["text"]["body"] == "Olá! O time Suporte já vai te atender."


@pytest.mark.parametrize("answer", ["2 - Suporte", "2", "Suporte"], ids=["tapped", "typed number", "typed title"])
def test_telegram_the_menu_is_a_keyboard_and_the_tap_routes_the_ticket(client, telegram, bot_api, sectors, answer):
    menu_connection(telegram, sectors[:2])
    post_update(client, telegram, update({"text": "Olá"}, message_id=1, update_id=1))
    assert deliver_due() == 1
    (opening,) = bot_api.calls("POST", f"/bot{BOT}/sendMessage")
    assert opening.json == {"chat_id": str(CHAT), "text": opening_prompt(), "reply_markup": {
        "keyboard": [[{"text": "1 - Comercial"}], [{"text": "2 - Suporte"}]], "one_time_keyboard": True,
        "resize_keyboard": True}}

    post_update(client, telegram, update({"text": answer}, message_id=2, update_id=2))
    ticket = the_ticket()
    assert (ticket.sector_id, ticket.bot_mode) == (sectors[1].id, None)
    assert deliver_due() == 1
    routed = bot_api.calls("POST", f"/bot{BOT}/sendMessage")[-1]
    assert routed.json == {"chat_id": str(CHAT), "text": "Olá! O time Suporte já vai te atender.",
                           "reply_markup": {"remove_keyboard": True}}


def test_telegram_an_invalid_answer_shows_the_keyboard_again(client, telegram, bot_api, sectors):
    menu_connection(telegram, sectors[:2])
    post_update(client, telegram, update({"text": "Olá"}, message_id=1, update_id=1))
    assert deliver_due() == 1
    post_update(client, telegram, update({"text": "quero falar com alguém"}, message_id=2, update_id=2))
    assert deliver_due() == 1
    again = bot_api.calls("POST", f"/bot{BOT}/sendMessage")[-1]
    assert again.json["text"] == gettext("Invalid option. Please choose one of the options:")
    assert again.json["reply_markup"]["keyboard"] == [[{"text": "1 - Comercial"}], [{"text": "2 - Suporte"}]]
    assert the_ticket().bot_mode == "menu"


def test_evolution_sends_the_menu_as_numbered_text(client, evolution, evolution_api, sectors):
    menu_connection(evolution, sectors[:2])
    post_webhook(client, evolution, upsert({"conversation": "Oi"}, "conversation", key_id="3EB0AAA1"))
    assert deliver_due() == 1
    (call,) = evolution_api.calls("POST", f"/message/sendText/{INSTANCE}")
    assert call.json == {"number": EVOLUTION_CUSTOMER, "text": opening_prompt() + "\n\n1 - Comercial\n2 - Suporte"}
    post_webhook(client, evolution, upsert({"conversation": "1"}, "conversation", key_id="3EB0AAA2"))
    assert the_ticket().sector_id == sectors[0].id


def test_a_generic_gateway_gets_the_menu_as_numbered_text(client, factory, provider, sectors):
    provider.on("POST", "/send", lambda request, match: (200, {"id": f"gw-{request.json['id']}"}))
    gateway = menu_connection(factory.connection(kind="generic", settings={"outbound_url": provider.url + "/send"}),
                              sectors[:2])
    raw = json.dumps({"id": "m1", "from": "ana", "text": "Oi"}).encode()
    signature = "sha256=" + hmac.new(gateway.secret.encode(), raw, hashlib.sha256).hexdigest()
    post_webhook(client, gateway, raw=raw, headers={"X-Signature-256": signature})
    assert deliver_due() == 1
    (call,) = provider.calls("POST", "/send")
    assert set(call.json) == {"id", "to", "text"}
    assert call.json["text"] == opening_prompt() + "\n\n1 - Comercial\n2 - Suporte"
