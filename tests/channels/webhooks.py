"""Webhooks posted as each provider signs them, to connections whose provider address
nothing answers on: for the tests that only feed bodies in (what is stored, what is
refused) and never need the provider to answer."""
from __future__ import annotations

import pytest

from .helpers import post_webhook
from .provider_samples import EVO_APIKEY, EVO_INSTANCE, PNID, tg_headers, wa_signed

UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def whatsapp(factory):
    return factory.connection(kind="whatsapp_cloud", secret="meta-app-secret", settings={
        "phone_number_id": PNID, "access_token": "t", "verify_token": "v", "base_url": UNREACHABLE})


@pytest.fixture
def telegram(factory):
    return factory.connection(kind="telegram", secret="tg-secret", settings={
        "bot_token": "123:abc", "base_url": UNREACHABLE})


@pytest.fixture
def evolution(factory):
    return factory.connection(kind="evolution", settings={
        "base_url": UNREACHABLE, "instance": EVO_INSTANCE, "apikey": EVO_APIKEY})


def send_wa(client, connection, payload):
    raw, headers = wa_signed(connection, payload)
    return post_webhook(client, connection, raw=raw, headers=headers)


def send_tg(client, connection, payload):
    return post_webhook(client, connection, payload, headers=tg_headers(connection))


def send_evo(client, connection, payload):
    return post_webhook(client, connection, payload)
