"""Payloads as the providers send them (tests/channels/provider_samples.py says where each
shape comes from), replayed through the real webhook route with a real signature:
replies set ``quoted_id``, edits and deletions keep the message, contact cards keep
their number, Evolution's per-event URLs and WhatsApp Business app echoes are taken.
Every redelivery stores once."""
import pytest
from sqlalchemy import func, select

from atendimento.extensions import db
from atendimento.models import Message, Ticket
from atendimento.outbox import deliver_due
from atendimento.tickets import fragments, outgoing

from .helpers import message_count, only_message, post_webhook
from .provider_samples import (EVO_CUSTOMER, TG_CHAT, WA_CUSTOMER, evo_event, evo_upsert, tg_headers, tg_update,
                               wa_notification, wa_signed, wa_text)
from .test_evolution import evolution, evolution_api  # noqa: F401  (fixtures)
from .test_telegram import bot_api, telegram  # noqa: F401  (fixtures)
from .test_whatsapp_cloud import graph, whatsapp  # noqa: F401  (fixtures)


def send_wa(client, connection, payload):
    raw, headers = wa_signed(connection, payload)
    response = post_webhook(client, connection, raw=raw, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def send_tg(client, connection, payload):
    response = post_webhook(client, connection, payload, headers=tg_headers(connection))
    assert response.status_code == 200, response.json
    return response.json


def send_evo(client, connection, payload, suffix=""):
    response = client.post(f"/webhooks/evolution/{connection.token}{suffix}", json=payload)
    assert response.status_code == 200, response.json
    return response.json


def by_external_id(external_id) -> Message:
    return db.session.scalars(select(Message).where(Message.external_id == external_id)).one()


def updates_of(published, message_id):
    return [data for name, _ticket, data in published if name == "message.updated" and data["id"] == message_id]


# -- WhatsApp Cloud ----------------------------------------------------------------

SMB_ECHO = {"from": "15550783881", "to": WA_CUSTOMER, "id": "wamid.ECHO1", "timestamp": "1749416390",
            "type": "text", "text": {"body": "Oi! Aqui é da loja, já vi seu pedido."}}


def test_whatsapp_business_app_echoes_are_outgoing_messages_of_the_ticket(client, whatsapp):
    send_wa(client, whatsapp, wa_notification([wa_text("Oi, meu pedido?", wamid="wamid.IN1")]))
    echo = wa_notification(field="smb_message_echoes", echoes=[SMB_ECHO])
    assert send_wa(client, whatsapp, echo)["stored"] == 1
    assert send_wa(client, whatsapp, echo)["stored"] == 0  # once per id
    stored = by_external_id("wamid.ECHO1")
    first = by_external_id("wamid.IN1")
    assert (stored.direction, stored.status, stored.body) == ("out", "sent", SMB_ECHO["text"]["body"])
    assert stored.ticket_id == first.ticket_id and stored.author_id is None
    assert db.session.scalar(select(func.count(Ticket.id))) == 1


def test_whatsapp_reply_quotes_our_message_and_the_customers(client, whatsapp):
    send_wa(client, whatsapp, wa_notification([wa_text("Oi", wamid="wamid.IN1")]))
    send_wa(client, whatsapp, wa_notification(field="smb_message_echoes", echoes=[SMB_ECHO]))
    reply = wa_text("Isso, o 1234", wamid="wamid.IN2", context={"from": "15550783881", "id": "wamid.ECHO1"})
    send_wa(client, whatsapp, wa_notification([reply]))
    assert by_external_id("wamid.IN2").quoted_id == by_external_id("wamid.ECHO1").id
    own = wa_text("complementando", wamid="wamid.IN3", context={"from": WA_CUSTOMER, "id": "wamid.IN1"})
    send_wa(client, whatsapp, wa_notification([own]))
    assert by_external_id("wamid.IN3").quoted_id == by_external_id("wamid.IN1").id
    unknown = wa_text("e isso?", wamid="wamid.IN4", context={"from": WA_CUSTOMER, "id": "wamid.NEVERSEEN"})
    send_wa(client, whatsapp, wa_notification([unknown]))
    assert by_external_id("wamid.IN4").quoted_id is None


def test_whatsapp_edit_and_revoke(client, whatsapp, published):
    send_wa(client, whatsapp, wa_notification([wa_text("Quero 2 pizzas", wamid="wamid.IN1")]))
    edit = {"from": WA_CUSTOMER, "id": "wamid.EDIT1", "timestamp": "1749416500", "type": "edit",
            "edit": {"original_message_id": "wamid.IN1",
                     "message": {"type": "text", "text": {"body": "Quero 3 pizzas"}}}}
    assert send_wa(client, whatsapp, wa_notification([edit]))["corrections"] == 1
    assert send_wa(client, whatsapp, wa_notification([edit]))["corrections"] == 0  # a redelivery
    message = only_message()
    assert (message.body, message.original_body) == ("Quero 3 pizzas", "Quero 2 pizzas")
    assert message.ticket.last_message == "Quero 3 pizzas"  # the queue's preview follows the edit
    assert message.edited_at is not None and message.deleted_at is None
    (update,) = updates_of(published, message.id)
    assert update["body"] == "Quero 3 pizzas" and update["edited_at"] and update["original_body"] == "Quero 2 pizzas"
    business_edit = {"from": "15550783881", "to": WA_CUSTOMER, "id": "wamid.ECHOEDIT", "timestamp": "1749416550",
                     "type": "edit", "edit": {"original_message_id": "wamid.ECHO0",
                                              "message": {"type": "text", "text": {"body": "x"}}}}
    assert send_wa(client, whatsapp, wa_notification(field="smb_message_echoes", echoes=[business_edit]))["stored"] == 0
    revoke = {"from": WA_CUSTOMER, "id": "wamid.DEL1", "timestamp": "1749416600", "type": "revoke",
              "revoke": {"original_message_id": "wamid.IN1"}}
    send_wa(client, whatsapp, wa_notification([revoke]))
    db.session.refresh(message)
    assert message.deleted_at is not None and message.body == "Quero 3 pizzas"  # kept for attendants
    assert message_count() == 1


def test_whatsapp_a_new_caption_is_an_edit(client, whatsapp):
    picture = {"from": WA_CUSTOMER, "id": "wamid.IMG1", "timestamp": "1749416383", "type": "image",
               "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "caption": "minha nota"}}
    send_wa(client, whatsapp, wa_notification([picture]))  # the file cannot be fetched here: kept, marked
    edit = {"from": WA_CUSTOMER, "id": "wamid.EDIT2", "timestamp": "1749416500", "type": "edit",
            "edit": {"original_message_id": "wamid.IMG1", "message": {
                "type": "image", "image": {"id": "1479537139650973", "mime_type": "image/jpeg",
                                           "caption": "minha nota fiscal"}}}}
    assert send_wa(client, whatsapp, wa_notification([edit]))["corrections"] == 1
    message = only_message()
    assert (message.kind, message.body, message.original_body) == ("image", "minha nota fiscal", "minha nota")


def test_whatsapp_contact_card(client, whatsapp):
    card = {"from": WA_CUSTOMER, "id": "wamid.CARD", "timestamp": "1749416383", "type": "contacts",
            "contacts": [{"name": {"formatted_name": "Ana Lima", "first_name": "Ana"},
                          "phones": [{"phone": "+55 11 98888-7777", "wa_id": "5511988887777", "type": "CELL"}]}]}
    send_wa(client, whatsapp, wa_notification([card]))
    assert only_message().body == "👤 Ana Lima · +55 11 98888-7777"


# -- Telegram ----------------------------------------------------------------------

def test_telegram_reply_to_our_message_and_an_edit(client, telegram, factory, published):
    ticket = factory.ticket(telegram, status="open", sender=str(TG_CHAT))
    ours = outgoing.send_text(ticket.user, ticket.id, "Qual o número do pedido?")
    deliver_due()
    db.session.refresh(ours)
    replied_to = int(ours.external_id.split(":")[1])
    reply = tg_update({"text": "É o 1234", "reply_to_message": {
        "message_id": replied_to, "from": {"id": 1, "is_bot": True, "first_name": "Loja"},
        "chat": {"id": TG_CHAT, "type": "private"}, "date": 1679515600, "text": "Qual o número do pedido?"}},
        message_id=60, update_id=691514230)
    send_tg(client, telegram, reply)
    answer = by_external_id(f"{TG_CHAT}:60")
    assert answer.quoted_id == ours.id
    edited = tg_update({"text": "É o 1235", "edit_date": 1679515700}, message_id=60, update_id=691514231,
                       field="edited_message")
    assert send_tg(client, telegram, edited)["corrections"] == 1
    assert send_tg(client, telegram, edited)["corrections"] == 0
    db.session.refresh(answer)
    assert (answer.body, answer.original_body, answer.quoted_id) == ("É o 1235", "É o 1234", ours.id)
    assert answer.edited_at is not None
    (update,) = updates_of(published, answer.id)
    bubble = fragments.for_event("message.updated", update, languages=["en"])["en"]  # the open page's new bubble
    assert "É o 1235" in bubble and ">edited<" in bubble and "É o 1234" in bubble


# -- Evolution ---------------------------------------------------------------------

def test_evolution_reply_by_stanza_id(client, evolution):
    send_evo(client, evolution, evo_upsert({"conversation": "Oi"}, "conversation", key_id="3EB0AAA1"))
    reply = evo_upsert({"extendedTextMessage": {"text": "Esse aqui", "contextInfo": {
        "stanzaId": "3EB0AAA1", "participant": f"{EVO_CUSTOMER}@s.whatsapp.net",
        "quotedMessage": {"conversation": "Oi"}}}}, "extendedTextMessage", key_id="3EB0AAA2")
    send_evo(client, evolution, reply)
    assert by_external_id("3EB0AAA2").quoted_id == by_external_id("3EB0AAA1").id


def test_evolution_edit_from_the_phone_and_a_revoke(client, evolution, published):
    send_evo(client, evolution, evo_upsert({"conversation": "Chego às 10h"}, "conversation", key_id="3EB0E1"))
    # evolution-api #1177: an edit made on the phone arrives as messages.upsert.
    edit = evo_upsert({"editedMessage": {"message": {"protocolMessage": {
        "key": {"remoteJid": f"{EVO_CUSTOMER}@s.whatsapp.net", "fromMe": False, "id": "3EB0E1"},
        "type": "MESSAGE_EDIT", "editedMessage": {"conversation": "Chego às 11h"},
        "timestampMs": "1717000100000"}}},
        "messageContextInfo": {"messageSecret": "x"}}, "editedMessage", key_id="3EB0E2")
    assert send_evo(client, evolution, edit)["corrections"] == 1
    assert send_evo(client, evolution, edit)["corrections"] == 0
    message = only_message()
    assert (message.body, message.original_body) == ("Chego às 11h", "Chego às 10h")
    revoke = evo_upsert({"protocolMessage": {"key": {"remoteJid": f"{EVO_CUSTOMER}@s.whatsapp.net",
                                                     "fromMe": False, "id": "3EB0E1"}, "type": "REVOKE"}},
                        "protocolMessage", key_id="3EB0E3")
    send_evo(client, evolution, revoke)
    db.session.refresh(message)
    assert message.deleted_at is not None and message_count() == 1
    edited, deleted = updates_of(published, message.id)
    bubble = fragments.for_event("message.updated", deleted, languages=["en"])["en"]
    assert "Chego às 11h" in bubble and "deleted by the contact" in bubble and "Chego às 10h" in bubble


def test_evolution_vcard_keeps_the_number(client, evolution):
    vcard = ("BEGIN:VCARD\nVERSION:3.0\nN:;Ana Lima;;;\nFN:Ana Lima\n"
             "item1.TEL;waid=5511988887777:+55 11 98888-7777\nitem1.X-ABLabel:Celular\nEND:VCARD")
    send_evo(client, evolution, evo_upsert({"contactMessage": {"displayName": "Ana Lima", "vcard": vcard}},
                                           "contactMessage"))
    assert only_message().body == "👤 Ana Lima · +55 11 98888-7777"


@pytest.mark.parametrize("suffix", ["/messages-upsert", "/MESSAGES_UPSERT"])
def test_evolution_webhook_by_events(client, evolution, suffix):
    # evolution-api #1120: with "Webhook by events" each event goes to <url>/<event-name>.
    assert send_evo(client, evolution, evo_upsert({"conversation": "Oi"}, "conversation"), suffix)["stored"] == 1
    status = evo_event("messages.update", {"keyId": "BAE5X", "remoteJid": f"{EVO_CUSTOMER}@s.whatsapp.net",
                                           "fromMe": True, "status": "READ"})
    assert send_evo(client, evolution, status, "/messages-update")["stored"] == 0
    assert only_message().body == "Oi"


def test_event_suffixes_only_where_the_kind_takes_them(client, evolution, telegram):
    payload = evo_upsert({"conversation": "Oi"}, "conversation")
    assert client.post(f"/webhooks/evolution/{evolution.token}/a/b", json=payload).status_code == 404
    assert client.post(f"/webhooks/evolution/{evolution.token}/..%2f", json=payload).status_code == 404
    response = client.post(f"/webhooks/telegram/{telegram.token}/messages-upsert", json=tg_update({"text": "x"}),
                           headers=tg_headers(telegram))
    assert response.status_code == 404 and response.is_json
    assert message_count() == 0


# -- Evolution v1 and v2 request shapes (issue 14, part 6) -----------------------------

@pytest.fixture(params=["v2", "v1"])
def evolution_version(request, evolution):
    evolution.settings = {**evolution.settings, "api_version": request.param}
    db.session.commit()
    return request.param


def test_evolution_text_and_reply_in_each_versions_shape(client, evolution, evolution_api, factory,
                                                         evolution_version):
    ticket = factory.ticket(evolution, status="open", sender=EVO_CUSTOMER)
    first = outgoing.send_text(ticket.user, ticket.id, "Bom dia!")
    deliver_due()
    db.session.refresh(first)
    outgoing.send_text(ticket.user, ticket.id, "Sobre isso:", quoted_id=first.id)
    deliver_due()
    plain, reply = evolution_api.calls("POST", r"/message/sendText/loja-centro")
    quote = {"key": {"id": first.external_id}, "message": {"conversation": "Bom dia!"}}
    if evolution_version == "v2":
        assert plain.json == {"number": EVO_CUSTOMER, "text": "Bom dia!"}
        assert reply.json == {"number": EVO_CUSTOMER, "text": "Sobre isso:", "quoted": quote}
    else:  # Evolution v1: textMessage, the quote in options
        assert plain.json == {"number": EVO_CUSTOMER, "options": {"delay": 0, "presence": "composing"},
                              "textMessage": {"text": "Bom dia!"}}
        assert reply.json["textMessage"] == {"text": "Sobre isso:"} and reply.json["options"]["quoted"] == quote


def test_evolution_files_and_voice_notes_in_each_versions_shape(evolution, evolution_api, factory, tmp_path,
                                                                evolution_version):
    import base64

    from atendimento.channels.base import Outbound
    from atendimento.channels.registry import adapter_for

    from .helpers import JPEG, OGG

    picture, voice = tmp_path / "foto.jpg", tmp_path / "voz.ogg"
    picture.write_bytes(JPEG)
    voice.write_bytes(OGG)
    adapter = adapter_for(evolution)
    adapter.send(Outbound(1, EVO_LID_TO, "image", "legenda", media_path=str(picture), media_mime="image/jpeg",
                          media_name="foto.jpg"))
    adapter.send(Outbound(2, EVO_LID_TO, "audio", "", media_path=str(voice), media_mime="audio/ogg",
                          media_name="voz.ogg", voice=True))
    (media,) = evolution_api.calls("POST", r"/message/sendMedia/loja-centro")
    (audio,) = evolution_api.calls("POST", r"/message/sendWhatsAppAudio/loja-centro")
    assert media.json["number"] == audio.json["number"] == EVO_LID_TO  # a lid goes as its whole JID
    if evolution_version == "v2":
        assert (media.json["mediatype"], media.json["caption"], media.json["fileName"]) == ("image", "legenda",
                                                                                              "foto.jpg")
        assert base64.b64decode(media.json["media"]) == JPEG and base64.b64decode(audio.json["audio"]) == OGG
    else:
        body = media.json["mediaMessage"]
        assert (body["mediatype"], body["caption"], body["fileName"]) == ("image", "legenda", "foto.jpg")
        assert base64.b64decode(body["media"]) == JPEG
        assert base64.b64decode(audio.json["audioMessage"]["audio"]) == OGG
        assert audio.json["options"] == {"delay": 0, "presence": "recording", "encoding": True}


EVO_LID_TO = "103899771998284@lid"


def test_the_version_setting_is_one_of_its_choices():
    from atendimento.admin.connections import _setting_value
    from atendimento.channels.registry import SPECS
    from pydantic_core import PydanticCustomError

    setting = next(s for s in SPECS["evolution"].settings if s.key == "api_version")
    assert _setting_value(setting, "v1", None) == "v1" and _setting_value(setting, "", None) == ""
    with pytest.raises(PydanticCustomError):
        _setting_value(setting, "v3", None)


def test_evolution_messages_delete_marks_the_message(client, evolution):
    send_evo(client, evolution, evo_upsert({"conversation": "Apaga isso"}, "conversation", key_id="3EB0D1"))
    # MESSAGES_DELETE carries the deleted message's key (evolution-api #1340 lists the event).
    deleted = evo_event("messages.delete", {"id": "3EB0D1", "remoteJid": f"{EVO_CUSTOMER}@s.whatsapp.net",
                                            "fromMe": False})
    assert send_evo(client, evolution, deleted)["corrections"] == 1
    assert send_evo(client, evolution, deleted)["corrections"] == 0
    assert only_message().deleted_at is not None
