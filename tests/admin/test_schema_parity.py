"""One declaration per resource: the page, the API and the command line refuse the same
input with the same per-field message, and accept the same valid input (issue 11).

The admin reads English everywhere here (their language is ``en``; the command line
speaks English), so the three answers can be compared word for word."""
from __future__ import annotations

import html
import json

import pytest
from sqlalchemy import select

from atendimento.extensions import db
from atendimento.models import Connection, QuickReply, Sector, Tag, User

# resource path, admin page URL, the same input as a page form / a JSON body / CLI pairs,
# the fields it must refuse, and a valid input with how to find what it created.
CASES = {
    "sectors": dict(
        page="/admin/sectors/new",
        invalid={"name": "", "color": "azul", "position": 1000},
        refused=("name", "color", "position"),
        valid={"name": "Suporte", "color": "#123456", "greeting": "Oi", "position": 3},
        stored=lambda: db.session.scalar(select(Sector).where(Sector.name == "Suporte")),
    ),
    "users": dict(
        page="/admin/users/new", checked=("active",),
        invalid={"name": "", "email": "ana@", "password": "curta", "profile": "chefe"},
        refused=("name", "email", "password", "profile"),
        # An internal domain of a self-hosted team is a valid login everywhere.
        valid={"name": "Ana", "email": "Ana@Loja.Local", "password": "s3nha-forte", "profile": "user"},
        stored=lambda: db.session.scalar(select(User).where(User.email == "ana@loja.local")),
    ),
    "connections": dict(
        page="/admin/connections/new?kind=generic", checked=("rerun_bot_on_new_ticket", "enabled"),
        invalid={"name": " ", "kind": "generic", "flow": "robot", "bot_max_invalid": 11,
                 "settings": {"outbound_url": "ftp://gateway"}},
        refused=("name", "flow", "bot_max_invalid", "settings.outbound_url"),
        valid={"name": "Gateway", "kind": "generic", "flow": "human",
               "settings": {"outbound_url": "https://gateway.loja.lan/send"}},
        stored=lambda: db.session.scalar(select(Connection).where(Connection.name == "Gateway")),
    ),
    "tags": dict(
        page="/admin/tags/new",
        invalid={"name": "x" * 61, "color": "red"},
        refused=("name", "color"),
        valid={"name": "VIP", "color": "#FF0000"},
        stored=lambda: db.session.scalar(select(Tag).where(Tag.name == "VIP")),
    ),
    "quick-replies": dict(
        page="/admin/quick-replies/new",
        invalid={"shortcut": "/ola mundo", "text": "", "global": True},
        refused=("shortcut", "text"),
        valid={"shortcut": "/Ola", "text": "Olá! Em que posso ajudar?", "global": True},
        stored=lambda: db.session.scalar(select(QuickReply).where(QuickReply.shortcut == "/ola")),
    ),
}


def form_of(data: dict, checked=()) -> dict:
    """What the admin page posts for ``data``: text fields, settings.<key>, and the
    checkboxes its blank form has ticked."""
    form = {box: "on" for box in checked}
    for key, value in data.items():
        if key == "settings":
            form.update({f"settings.{k}": v for k, v in value.items()})
        elif key == "global":
            form["scope"] = "global" if value else "personal"
        elif key == "kind":
            continue  # in the page's URL
        else:
            form[key] = str(value)
    return form


def pairs_of(data: dict) -> list[str]:
    return [f"{key}={value if isinstance(value, str) else json.dumps(value)}" for key, value in data.items()]


@pytest.fixture
def admin(factory, auth):
    admin = factory.admin(language="en")
    db.session.commit()
    auth.login(admin)
    return admin


@pytest.mark.parametrize("resource", CASES)
def test_page_api_and_cli_refuse_the_same_input_with_the_same_messages(resource, admin, client, admin_api, flask_cli):
    case = CASES[resource]
    api = admin_api(admin)

    answer = api.post(f"/{resource}", json=case["invalid"])
    assert answer.status_code == 422, answer.json
    messages = answer.json["error"]["fields"]
    assert set(case["refused"]) <= set(messages), messages

    page = client.post(case["page"], data=form_of(case["invalid"], case.get("checked", ())))
    assert page.status_code == 422
    shown = html.unescape(page.get_data(as_text=True))
    command = flask_cli("manage", "create", resource, *pairs_of(case["invalid"]))
    assert command.exit_code != 0
    for field in case["refused"]:
        assert messages[field] in shown, (field, messages[field])
        assert f"{field}: {messages[field]}" in command.output, (field, command.output)
    assert case["stored"]() is None, "nothing was stored"


@pytest.mark.parametrize("resource", CASES)
def test_page_api_and_cli_accept_the_same_valid_input(resource, admin, client, admin_api, flask_cli):
    case = CASES[resource]
    api = admin_api(admin)
    made = []

    page = client.post(case["page"], data=form_of(case["valid"], case.get("checked", ())))
    assert page.status_code in (201, 302, 303), html.unescape(page.get_data(as_text=True))[:2000]
    made.append(case["stored"]())
    _forget(made[-1])

    answer = api.post(f"/{resource}", json=case["valid"])
    assert answer.status_code == 201, answer.json
    made.append(case["stored"]())
    _forget(made[-1])

    command = flask_cli("manage", "create", resource, *pairs_of(case["valid"]))
    assert command.exit_code == 0, command.output
    made.append(case["stored"]())

    shapes = [_shape(resource, row) for row in made]
    assert shapes[0] == shapes[1] == shapes[2]


def _forget(row) -> None:
    """Delete what one door made, so the next door can make the same again."""
    assert row is not None
    snapshot = {c.key: getattr(row, c.key) for c in row.__table__.columns}
    row._parity_snapshot = snapshot
    db.session.delete(row)
    db.session.commit()


def _shape(resource, row) -> dict:
    values = getattr(row, "_parity_snapshot", None) or {c.key: getattr(row, c.key) for c in row.__table__.columns}
    generated = {"id", "created_at", "updated_at", "token", "secret", "password_hash"}
    settings = dict(values.get("settings") or {})
    return {k: (settings if k == "settings" else v) for k, v in values.items() if k not in generated}


def test_the_demo_users_and_connections_can_be_saved_unchanged(app, admin, admin_api, flask_cli):
    """What the demo seeds (ana@demo.atendimento.local …) passes the rules it is edited under."""
    assert flask_cli("seed-demo").exit_code == 0
    api = admin_api(admin)
    for resource in ("users", "connections", "sectors", "tags"):
        for item in api.get(f"/{resource}").json["items"]:
            body = {k: v for k, v in item.items() if k not in ("id", "created_at", "token", "webhook_url")}
            saved = api.patch(f"/{resource}/{item['id']}", json=body)
            assert saved.status_code == 200, (resource, item, saved.json)
