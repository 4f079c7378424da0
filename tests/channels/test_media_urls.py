"""Media URLs that arrive inside webhooks are fetched only from public addresses (SSRF),
or from the hosts an admin configured for the connection."""
import hashlib
import hmac
import json

import pytest

from atendimento.channels import http

from .helpers import PNG, only_message, post_webhook, stored_bytes


def post(client, connection, payload):
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(connection.secret.encode(), raw, hashlib.sha256).hexdigest()
    return post_webhook(client, connection, raw=raw, headers={"X-Signature-256": signature})


@pytest.fixture
def elsewhere(factory):
    """A gateway configured on a public host: the local file server is not one of its hosts."""
    return factory.connection(kind="generic", settings={"outbound_url": "https://gateway.example.com/send"})


def test_a_media_url_into_the_local_network_is_refused_and_never_requested(client, elsewhere, provider):
    url = provider.file("/files/secret", PNG, "image/png")

    response = post(client, elsewhere, {"id": "m1", "from": "ana", "text": "veja", "media": {"url": url}})

    assert response.status_code == 200  # the message is kept, marked, and not retried
    message = only_message()
    assert message.body == "veja" and message.media_path is None
    assert message.error == "mídia indisponível" and message.media_ref is None
    assert not [r for r in provider.requests if r.path == "/files/secret"]


def test_the_connections_own_host_may_serve_media_on_the_local_network(app, client, factory, provider):
    gateway = factory.connection(kind="generic", settings={"outbound_url": provider.url + "/send"})
    url = provider.file("/files/photo", PNG, "image/png")

    post(client, gateway, {"id": "m1", "from": "ana", "text": "", "media": {"url": url}})

    assert stored_bytes(app, only_message()) == PNG


def test_a_lan_only_installation_can_allow_private_addresses(app, client, elsewhere, provider):
    app.config["MEDIA_FETCH_PRIVATE"] = True
    url = provider.file("/files/photo", PNG, "image/png")

    post(client, elsewhere, {"id": "m1", "from": "ana", "media": {"url": url}})

    assert stored_bytes(app, only_message()) == PNG


def test_a_public_url_redirecting_into_the_network_is_refused(client, factory, provider):
    guard = http.public_only({"gateway.example.com"})
    guard("https://gateway.example.com/x")  # trusted by name, never resolved
    for url in ("http://127.0.0.1:8080/x", "http://[::1]/x", "http://169.254.169.254/latest/meta-data",
                "http://10.1.2.3/x", "http://localhost/x"):
        with pytest.raises(http.Refused):
            guard(url)
    # The redirect handler applies the same guard to every hop.
    provider.on("GET", "/hop", lambda req, m: (302, b"", {"Location": "http://127.0.0.1:9/secret"}))
    with pytest.raises(http.Refused):
        http.request("GET", provider.url + "/hop", guard=lambda u: None if "/hop" in u else guard(u))
