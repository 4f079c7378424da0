"""The first hour of a newcomer: the README's curl (run exactly as the README prints it)
sends a signed message to the seeded demo on a live server and it waits in Esperando; the
demo's connections save unchanged from their admin pages."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from atendimento import demo_data
from atendimento.admin.connection_routes import CONNECTION_FLAGS, connection_values
from atendimento.extensions import db
from atendimento.models import Connection, Message, Ticket, User

from .browser.server import LiveServer
from .conftest import make_overrides, running_app

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- first-hour-curl"


def readme_snippet() -> str:
    text = README.read_text()
    start = text.index("```sh\n", text.index(MARKER)) + len("```sh\n")
    return text[start:text.index("```", start)]


@pytest.fixture
def demo(backend, tmp_path, request):
    """The README's run command's result: a seeded demo, served for real (no SERVER_NAME)."""
    overrides = make_overrides(backend, tmp_path, request)
    overrides.pop("SERVER_NAME")
    with running_app(backend, overrides) as app:
        seeded = app.test_cli_runner().invoke(args=["seed-demo"])
        assert seeded.exit_code == 0, seeded.output
        db.session.remove()
        yield app, seeded.output


def test_the_readme_curl_puts_a_message_in_esperando(demo):
    app, seed_output = demo
    snippet = readme_snippet()
    assert demo_data.CONNECTION_TOKEN in snippet and demo_data.CONNECTION_SECRET in snippet
    assert f"/webhooks/generic/{demo_data.CONNECTION_TOKEN}" in seed_output  # the seed says it too
    assert shutil.which("curl") and shutil.which("openssl"), ".ci/run installs curl and openssl"

    with LiveServer(app) as server:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", snippet], env={"BASE": server.url, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer["ok"] is True and answer["stored"] == 1, answer

        message = db.session.scalar(select(Message).where(Message.body.like("Olá! Esta é uma mensagem de teste%")))
        ticket = db.session.get(Ticket, message.ticket_id)
        assert (ticket.status, ticket.contact.name, ticket.connection.name) == (
            "pending", "Cliente Teste", demo_data.CONNECTION["name"])
        # The admin sees it in Esperando, on the live server.
        client = app.test_client()
        client.post("/login", data={"email": "admin@demo.atendimento.local", "password": "demo1234"})
        waiting = client.get("/tickets?tab=pending").get_data(as_text=True)
        assert "Cliente Teste" in waiting and f'data-ticket-id="{ticket.id}"' in waiting

        db.session.commit()  # SQLite: our read ends, so the server may write
        # The same body with the signature of another secret stores nothing.
        forged = subprocess.run(["bash", "-euo", "pipefail", "-c",
                                 snippet.replace(demo_data.CONNECTION_SECRET, "outro-segredo")],
                                env={"BASE": server.url, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                                timeout=60)
        assert json.loads(forged.stdout)["error"]["message"] == "signature does not match"
        assert forged.returncode == 0 and '"code":"rejected"' in forged.stdout.replace(" ", "")
        customer_said = select(Message.id).where(Message.ticket_id == ticket.id, Message.direction == "in")
        assert db.session.scalars(customer_said).all() == [message.id]
        db.session.remove()


def test_the_demo_connections_save_unchanged_from_their_pages(demo):
    """What seed-demo makes passes the rules its page saves it under (the generic webhook's
    outbound URL, the chatbot connection's tree), posted exactly as the page fills the form."""
    app, _output = demo
    client = app.test_client()
    client.post("/login", data={"email": "admin@demo.atendimento.local", "password": "demo1234"})
    connections = db.session.scalars(select(Connection).order_by(Connection.id)).all()
    assert [c.kind for c in connections] == ["generic", "telegram"]
    before = {c.id: (c.name, c.flow, dict(c.settings), c.secret, c.token) for c in connections}
    for connection in connections:
        page = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
        form = {key: value for key, value in connection_values(connection, connection.kind).items()
                if key not in CONNECTION_FLAGS and key != "sector_ids"}
        form.update({flag: "on" for flag in CONNECTION_FLAGS if connection_values(connection, connection.kind)[flag]})
        form["sector_ids"] = connection_values(connection, connection.kind)["sector_ids"]
        for key in form:  # each posted field is one the page has
            assert re.search(rf'name="{re.escape(key)}"', page), key
        saved = client.post(f"/admin/connections/{connection.id}", data=form)
        assert saved.status_code == 302, (connection.name, saved.get_data(as_text=True)[:3000])
    db.session.expire_all()
    after = {c.id: (c.name, c.flow, dict(c.settings), c.secret, c.token)
             for c in db.session.scalars(select(Connection).order_by(Connection.id))}
    assert after == before
    assert db.session.scalar(select(User.id).where(User.email == "admin@demo.atendimento.local"))
