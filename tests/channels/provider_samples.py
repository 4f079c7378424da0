"""Payloads in the shapes the providers send, trimmed, with where each shape comes from.

- WhatsApp Cloud: Meta's "messages" webhook reference (text, context of a reply,
  contacts, edit, revoke) and its "smb_message_echoes" reference (coexistence numbers:
  ``message_echoes`` with ``from`` = the business, ``to`` = the customer).
- Telegram: the Bot API's ``Update`` (core.telegram.org/bots/api#update): ``message``,
  ``edited_message`` (same ``message_id``, ``edit_date``), ``reply_to_message``.
- Evolution API: bodies users posted in evolution-foundation/evolution-api issues —
  #1177 (an edit from the phone: ``messages.upsert`` with ``editedMessage`` →
  ``protocolMessage`` ``MESSAGE_EDIT``), #2217 and #1764 (``@lid`` with ``remoteJidAlt`` /
  ``senderPn``), #1120 ("webhook by events": ``…/messages-upsert``), #1340 (the envelope).
  Polls (``EVO_POLL``, ``EVO_POLL_VOTE``): the ``messages.upsert`` bodies an Evolution 2.3
  server sends for a poll and a vote, as published in users' webhook notes (a ``@lid``
  sender, ``messageContextInfo.messageSecret`` beside ``pollCreationMessageV3``
  ``{name, options: [{optionName}], selectableOptionsCount}``; the vote's
  ``pollUpdateMessage.vote`` is ``encPayload``/``encIv``, end-to-end encrypted).
- Telegram polls and paid media: the Bot API's ``Poll`` (``question``, ``options[].text``)
  and ``PaidMediaInfo`` (``star_count``, ``paid_media``, with the message's ``caption``).
The ids, names and numbers are made up.
"""
from __future__ import annotations

import hashlib
import hmac
import json

PNID = "106540352242922"
WA_CUSTOMER = "16505551234"
TG_CHAT = 987654321
EVO_CUSTOMER = "5511987654321"
EVO_LID = "103899771998284@lid"
EVO_INSTANCE = "loja-centro"
EVO_APIKEY = "B6D711FCDE4D4FD5936544120E713976"


# -- WhatsApp Cloud ----------------------------------------------------------------

def wa_notification(messages=(), *, field="messages", contacts=None, echoes=None):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID}}
    if field == "messages":
        value["contacts"] = contacts if contacts is not None else [
            {"profile": {"name": "Sheena Nelson"}, "wa_id": WA_CUSTOMER}]
        value["messages"] = list(messages)
    else:
        value["message_echoes"] = list(echoes or ())
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": field}]}]}


def wa_text(body, wamid="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFBAA==", **extra):
    return {"from": WA_CUSTOMER, "id": wamid, "timestamp": "1749416383", "type": "text",
            "text": {"body": body}, **extra}


def wa_signed(connection, payload) -> tuple[bytes, dict]:
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(connection.secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": signature}


# -- Telegram ----------------------------------------------------------------------

def tg_message(content, message_id=55, **sender):
    person = {"id": TG_CHAT, "is_bot": False, "first_name": "João", "last_name": "Pereira", "username": "joaop",
              **sender}
    return {"message_id": message_id, "from": person,
            "chat": {"id": TG_CHAT, "first_name": person["first_name"], "type": "private"},
            "date": 1679515515, **content}


def tg_update(content, message_id=55, update_id=691514221, field="message", **sender):
    return {"update_id": update_id, field: tg_message(content, message_id, **sender)}


def tg_headers(connection) -> dict:
    return {"X-Telegram-Bot-Api-Secret-Token": connection.secret}


# -- Evolution ---------------------------------------------------------------------

def evo_event(name, data):
    return {"event": name, "instance": EVO_INSTANCE, "data": data,
            "destination": "https://atendimento.example/webhook", "date_time": "2024-06-10T14:12:48.643Z",
            "sender": "5511900000000@s.whatsapp.net", "server_url": "https://evolution.example",
            "apikey": EVO_APIKEY}


def evo_upsert(message, message_type, *, key_id="3EB0C431C26A1916E07A", jid=f"{EVO_CUSTOMER}@s.whatsapp.net",
               from_me=False, push_name="Carla Dias", **key):
    return evo_event("messages.upsert", {
        "key": {"remoteJid": jid, "fromMe": from_me, "id": key_id, **key}, "pushName": push_name,
        "status": "DELIVERY_ACK", "message": message, "messageType": message_type,
        "messageTimestamp": 1717000000, "instanceId": "af6c5b7c-ee27-4f94-9ea8-192393746ddd",
        "source": "android"})


# -- Polls and files we cannot show (issue 14, part 12) -----------------------------

EVO_POLL = {
    "messageContextInfo": {"deviceListMetadata": {"senderKeyHash": "kE3c3WcU9LqFxw==", "senderTimestamp": "1767367900"},
                           "deviceListMetadataVersion": 2,
                           "messageSecret": "PRdzIZUGahJ6JTwa2mFOsasy1jjVGzQbaoaR6NAWZBE="},
    "pollCreationMessageV3": {"name": "Qual horário prefere?",
                              "options": [{"optionName": "Manhã"}, {"optionName": "Tarde"}, {"optionName": "Noite"}],
                              "selectableOptionsCount": 0,
                              "contextInfo": {"expiration": 7776000, "disappearingMode": {"initiator": "CHANGED_IN_CHAT"}}},
}

EVO_POLL_VOTE = {
    "messageContextInfo": {"deviceListMetadataVersion": 2},
    "pollUpdateMessage": {"pollCreationMessageKey": {"remoteJid": EVO_LID, "fromMe": True,
                                                     "id": "3EB0BC02F6B0A79893B47A"},
                          "vote": {"encPayload": "mMqBgjeF/JOksgWLasDRH2iU3cOVjTxjcNyHW8/hWNnRCj9neeO7oJ5T",
                                   "encIv": "JfP8NerkiAgbbM1R"},
                          "senderTimestampMs": "1767367970421"},
}

TG_POLL = {"poll": {"id": "5438162737591140353", "question": "Qual horário prefere?",
                    "options": [{"text": "Manhã", "voter_count": 0}, {"text": "Tarde", "voter_count": 0}],
                    "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
                    "allows_multiple_answers": False}}

TG_PAID_MEDIA = {"paid_media": {"star_count": 50, "paid_media": [{"type": "preview", "width": 1280, "height": 720}]},
                 "caption": "Segue a foto do defeito"}
