"""A customer's text message exactly as each provider delivers it — body and signature — for
**Enviar mensagem de teste**: the message goes through the connection's real webhook
route, so the admin sees that the URL token, the secret and the parsing all agree.

One builder per registered kind (tests/channels/test_samples.py checks that each kind has
one and that its adapter stores what it builds). A leaf, like the adapters: nothing of the
app is imported.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from .base import sign

# Who the test customer is on each channel: one contact, so repeated tests share its ticket.
TEST_PHONE = "5500000000000"
TEST_TELEGRAM_CHAT = 100000001


@dataclass(frozen=True)
class SampleWebhook:
    body: bytes
    headers: dict
    external_id: str  # the id the stored message will carry


def _json(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _generic(secret, settings, text, name, now: datetime) -> SampleWebhook:
    external_id = f"atendimento-test-{secrets.token_hex(6)}"
    body = _json({"id": external_id, "from": TEST_PHONE, "name": name, "text": text,
                  "timestamp": int(now.timestamp())})
    return SampleWebhook(body, {"X-Signature-256": sign(secret, body)}, external_id)


def _whatsapp_cloud(secret, settings, text, name, now: datetime) -> SampleWebhook:
    external_id = f"wamid.atendimento-test-{secrets.token_hex(8)}"
    number = str(settings.get("phone_number_id") or "0")
    body = _json({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": number, "phone_number_id": number},
            "contacts": [{"profile": {"name": name}, "wa_id": TEST_PHONE}],
            "messages": [{"from": TEST_PHONE, "id": external_id, "timestamp": str(int(now.timestamp())),
                          "type": "text", "text": {"body": text}}],
        }}]}]})
    return SampleWebhook(body, {"X-Hub-Signature-256": sign(secret, body)}, external_id)


def _evolution(secret, settings, text, name, now: datetime) -> SampleWebhook:
    external_id = "ATENDIMENTOTEST" + secrets.token_hex(6).upper()
    instance = settings.get("instance") or ""
    body = _json({"event": "messages.upsert", "instance": instance, "data": {
        "key": {"remoteJid": f"{TEST_PHONE}@s.whatsapp.net", "fromMe": False, "id": external_id},
        "pushName": name, "message": {"conversation": text}, "messageType": "conversation",
        "messageTimestamp": int(now.timestamp())}})
    return SampleWebhook(body, {"apikey": str(settings.get("apikey") or "")}, external_id)


def _telegram(secret, settings, text, name, now: datetime) -> SampleWebhook:
    message_id = secrets.randbelow(2**31)
    chat = {"id": TEST_TELEGRAM_CHAT, "type": "private", "first_name": name}
    body = _json({"update_id": secrets.randbelow(2**31), "message": {
        "message_id": message_id, "date": int(now.timestamp()), "text": text, "chat": chat,
        "from": {"id": TEST_TELEGRAM_CHAT, "is_bot": False, "first_name": name}}})
    return SampleWebhook(body, {"X-Telegram-Bot-Api-Secret-Token": secret or ""},
                         f"{TEST_TELEGRAM_CHAT}:{message_id}")


BUILDERS = {"generic": _generic, "whatsapp_cloud": _whatsapp_cloud, "evolution": _evolution,
            "telegram": _telegram}


def sample_webhook(kind: str, *, secret: str, settings: dict, text: str, name: str,
                   now: datetime) -> SampleWebhook:
    """The provider's webhook request carrying one text from the test customer."""
    sample = BUILDERS[kind](secret, dict(settings or {}), text, name, now)
    return SampleWebhook(sample.body, {"Content-Type": "application/json", **sample.headers}, sample.external_id)
