"""Webhook refusals (issue 14, part 11): every 404, 405 and 413 under /webhooks/ is SPEC §6's
JSON error, matched route or not, whatever the client accepts, and stores nothing."""
import hashlib
import hmac
import json

import pytest

from .helpers import message_count


@pytest.fixture
def gateway(factory):
    return factory.connection(kind="generic", settings={"outbound_url": "http://127.0.0.1:9/send"})


def signed(connection, payload):
    raw = json.dumps(payload).encode()
    return raw, {"Content-Type": "application/json",
                 "X-Signature-256": "sha256=" + hmac.new(connection.secret.encode(), raw, hashlib.sha256).hexdigest()}


def assert_json_error(response, status, code):
    assert response.status_code == status, response.get_data()[:200]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"], error
    assert set(error) == {"code", "message"}


@pytest.mark.parametrize("path", [
    "/webhooks/nope/{token}",              # unknown kind
    "/webhooks/generic/" + "x" * 32,       # unknown token
    "/webhooks/telegram/{token}",          # a token of another kind
    "/webhooks/generic",                   # no token: matches no route
    "/webhooks/",
    "/webhooks/generic/{token}/a/b",       # more segments than any route
    "/webhooks/generic/{token}/messages-upsert",  # a suffix the kind does not take
])
@pytest.mark.parametrize("accept", ["application/json", "text/html,application/xhtml+xml"])
def test_not_found_is_json(client, gateway, path, accept):
    raw, headers = signed(gateway, {"id": "m1", "from": "ana", "text": "Oi"})
    response = client.post(path.format(token=gateway.token), data=raw, headers={**headers, "Accept": accept})
    assert_json_error(response, 404, "not_found")
    assert message_count() == 0


def test_a_disabled_connection_is_json_404(client, gateway, factory):
    from atendimento.extensions import db

    gateway.enabled = False
    db.session.commit()
    raw, headers = signed(gateway, {"id": "m1", "from": "ana", "text": "Oi"})
    assert_json_error(client.post(f"/webhooks/generic/{gateway.token}", data=raw, headers=headers), 404, "not_found")
    assert message_count() == 0


@pytest.mark.parametrize("method, suffix", [("PUT", ""), ("DELETE", ""), ("GET", "/messages-upsert")])
def test_a_wrong_method_is_json_405(client, gateway, method, suffix):
    response = client.open(f"/webhooks/generic/{gateway.token}{suffix}", method=method, headers={"Accept": "text/html"})
    assert_json_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize("kind", ["generic", "evolution"])
def test_a_body_over_the_limit_is_json_413_naming_the_limit(app, client, factory, kind, monkeypatch):
    from atendimento.webhooks import routes

    app.config["WEBHOOK_MAX_BYTES"] = 2048
    monkeypatch.setattr(routes, "BASE64_GROWTH", 0.00001)  # Evolution's room for a 100 MB file, shrunk to 1 KB
    connection = factory.connection(kind=kind, settings={"outbound_url": "http://127.0.0.1:9/send",
                                                         "base_url": "http://127.0.0.1:9", "instance": "i",
                                                         "apikey": "k"})
    raw, headers = signed(connection, {"id": "m1", "from": "ana", "text": "x" * 200_000})
    response = client.post(f"/webhooks/{kind}/{connection.token}", data=raw,
                           headers={**headers, "apikey": "k", "Accept": "text/html"})
    assert_json_error(response, 413, "too_large")
    assert "MB" in response.get_json()["error"]["message"]
    assert message_count() == 0
