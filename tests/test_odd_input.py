"""Issue 15, part 6: odd text from a logged-in user never gets a 5xx. A NUL (PostgreSQL's text
refuses it) or a lone UTF-16 surrogate (no column can encode it) in a message, a form field, a
query string or a JSON body is dropped where the request is read (atendimento/request_text.py),
so every route, declared or not, sees text it can store.

The property-based part fills every field of every form the pages offer (harvested from the
pages themselves), the query parameters of the lists and searches, and every JSON body the
OpenAPI document describes, with text rich in such characters, on both databases."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from atendimento.auth.service import issue_token
from atendimento.extensions import db
from atendimento.models import BotNode, Chatbot, Message, QuickReply, Sector
from atendimento.request_text import storable

EXAMPLES = 150  # per database: about 4 s each
ODD = ["\x00", "a\x00b", "\x00\x00", "\ud800", "x\udfffy", "\ud83d", "\ufeff", "\u202e", "😀", " ", ""]
CHARACTERS = st.characters(exclude_categories=())  # every code point, lone surrogates included
TEXT = st.one_of(
    st.sampled_from(ODD),
    st.text(CHARACTERS, max_size=24),
    st.tuples(st.text(max_size=6), st.sampled_from(ODD), st.text(CHARACTERS, max_size=6)).map("".join),
)
# Requests that would end the session or remove what the other examples need.
SKIPPED_ACTIONS = ("/logout", "/delete", "/accept", "/close", "/reopen", "/rotate", "/reveal")


def _encode(pairs) -> str:
    """A form or query string as a browser would send it: UTF-8, where a lone surrogate becomes
    the bytes a broken client would send (werkzeug reads them as U+FFFD)."""
    return urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in pairs])


class _Forms(HTMLParser):
    """Every ``<form method=post>`` of a page: its action and the names of its fields."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, list[str]]] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = (attrs.get("action") or "", [])
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "textarea", "select") and attrs.get("name"):
            if attrs.get("type") not in ("file", "submit") and attrs["name"] != "csrf_token":
                self._current[1].append(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


@pytest.fixture
def world(app, factory, client, auth):
    """An admin logged in (pages) and with a token (API), handling an open ticket; one of
    each thing the forms edit."""
    sector = factory.sector("Suporte")
    admin = factory.admin(email="chefe@example.com", sectors=[sector])
    user = factory.user("Ana", sectors=[sector])
    connection = factory.connection("Gateway", sectors=[sector], settings={"outbound_url": "http://127.0.0.1:9/send"})
    ticket = factory.ticket(connection, sector=sector, status="open", assignee=admin)
    tag = factory.tag("vip")
    reply = QuickReply(shortcut="/ola", text="Olá!")
    bot = Chatbot(name="Loja")
    node = BotNode(chatbot=bot, name="Início", message="Olá")
    db.session.add_all([reply, bot, node])
    db.session.commit()
    auth.login(admin)
    _token, raw = issue_token(admin)
    ids = {"ticket_id": ticket.id, "contact_id": ticket.contact_id, "sector_id": sector.id, "user_id": user.id,
           "connection_id": connection.id, "tag_id": tag.id, "reply_id": reply.id, "chatbot_id": bot.id,
           "node_id": node.id,
           "message_id": db.session.query(Message.id).filter_by(ticket_id=ticket.id).scalar()}
    return {"ids": ids, "headers": {"Authorization": f"Bearer {raw}"}}


def _form_targets(client, ids) -> list[tuple[str, list[str]]]:
    pages = ["/admin/sectors/new", f"/admin/sectors/{ids['sector_id']}", "/admin/users/new",
             f"/admin/users/{ids['user_id']}", "/admin/tags/new", f"/admin/tags/{ids['tag_id']}",
             "/admin/quick-replies/new", f"/admin/quick-replies/{ids['reply_id']}",
             "/admin/connections/new?kind=generic", f"/admin/connections/{ids['connection_id']}",
             "/admin/chatbots/new", f"/admin/chatbots/{ids['chatbot_id']}",
             f"/admin/chatbots/{ids['chatbot_id']}/nodes/new",
             f"/admin/chatbots/{ids['chatbot_id']}/nodes/{ids['node_id']}/options/new",
             "/profile/", "/profile/quick-replies/new", f"/tickets/{ids['ticket_id']}"]
    targets = {}
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        parser = _Forms()
        parser.feed(response.get_data(as_text=True))
        for action, fields in parser.forms:
            action = urlsplit(action).path or urlsplit(page).path
            if fields and not any(s in action for s in SKIPPED_ACTIONS):
                targets[action] = sorted(set(targets.get(action, [])) | set(fields))
    targets["/login"] = ["email", "password"]
    return sorted(targets.items())


def _query_targets(ids) -> list[tuple[str, list[str]]]:
    t = ids["ticket_id"]
    return [("/tickets", ["tab", "view", "q", "page"]), ("/tickets/list", ["tab", "view", "q", "page", "selected"]),
            (f"/tickets/{t}", ["tab", "view", "q", "peek"]), (f"/tickets/{t}/quick-replies", ["q"]),
            (f"/tickets/{t}/panes", ["tab", "peek"]), ("/admin/connections/new", ["kind"]),
            ("/api/v1/tickets", ["status", "sector", "tag", "q", "page"]),
            ("/api/v1/quick-replies", ["q"]), (f"/api/v1/tickets/{t}/messages", ["page", "before", "limit"]),
            ("/api/v1/calls", ["contact_id", "ticket_id"])]


def _json_targets(client, ids) -> list[tuple[str, str, list[str]]]:
    """Every operation of the OpenAPI document that reads a JSON body, its path filled in with
    the world's ids, with the body's top-level properties."""
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    targets = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is None or method == "delete" or path.endswith(("/accept", "/close", "/reopen")):
                continue
            if "$ref" in body:
                body = schemas[body["$ref"].rsplit("/", 1)[1]]
            fields = sorted(body.get("properties", {}))
            targets.append((method.upper(), "/api/v1" + _fill(path, ids), fields))
    return targets


def _fill(path: str, ids) -> str:
    by_segment = {"tickets": "ticket_id", "contacts": "contact_id", "sectors": "sector_id", "users": "user_id",
                  "connections": "connection_id", "tags": "tag_id", "quick-replies": "reply_id",
                  "chatbots": "chatbot_id", "messages": "message_id"}
    parts = path.split("/")
    for i, part in enumerate(parts):
        if part.startswith("{"):
            parts[i] = str(ids.get(by_segment.get(parts[i - 1], ""), 1))
    return "/".join(parts)


JSON_VALUE = st.one_of(TEXT, TEXT.map(lambda s: {s: s}), TEXT.map(lambda s: [s]))


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_odd_text_anywhere_never_gets_a_server_error(app, client, world, data):
    ids, headers = world["ids"], world["headers"]
    if not hasattr(app, "_odd_targets"):  # harvested once; hypothesis reuses the fixtures
        app._odd_targets = (_form_targets(client, ids), _query_targets(ids), _json_targets(client, ids))
    forms, queries, bodies = app._odd_targets
    assert len(forms) >= 15 and len(bodies) >= 15, (forms, bodies)
    kind = data.draw(st.sampled_from(["form", "query", "json"]))
    if kind == "form":
        path, fields = data.draw(st.sampled_from(forms))
        pairs = [(name, data.draw(TEXT)) for name in fields if data.draw(st.booleans())]
        response = client.post(path, data=_encode(pairs), content_type="application/x-www-form-urlencoded")
        sent = (path, pairs)
    elif kind == "query":
        path, names = data.draw(st.sampled_from(queries))
        pairs = [(name, data.draw(TEXT)) for name in names if data.draw(st.booleans())]
        response = client.get(f"{path}?{_encode(pairs)}", headers=headers if path.startswith("/api/") else {})
        sent = (path, pairs)
    else:
        method, path, fields = data.draw(st.sampled_from(bodies))
        body = {name: data.draw(JSON_VALUE) for name in fields if data.draw(st.booleans())}
        response = client.open(path, method=method, data=json.dumps(body), content_type="application/json",
                               headers=headers)
        sent = (method, path, body)
    assert response.status_code < 500, (sent, response.status_code, response.get_data(as_text=True)[:500])


# -- what happens to the odd text, told plainly ----------------------------------------------

def test_storable_drops_nul_and_lone_surrogates_and_keeps_the_rest():
    assert storable("a\x00b\ud800c\udfff😀") == "abc😀"
    assert storable("Olá, tudo bem?") == "Olá, tudo bem?"


def test_a_message_with_nul_is_sent_without_it(client, world):
    ids = world["ids"]
    response = client.post(f"/tickets/{ids['ticket_id']}/messages", data={"text": "Bom\x00 dia"})
    assert response.status_code < 400
    api = client.post(f"/api/v1/tickets/{ids['ticket_id']}/messages", json={"text": "Boa\x00 tarde \ud800"},
                      headers=world["headers"])
    assert api.status_code == 201, api.json
    bodies = {m.body for m in db.session.query(Message).filter_by(ticket_id=ids["ticket_id"], direction="out")}
    assert {"Bom dia", "Boa tarde"} <= bodies


def test_a_form_field_and_a_json_field_with_nul_are_stored_without_it(client, world):
    response = client.post("/admin/sectors/new", data={"name": "Fi\x00nanceiro", "color": "#27ae60"})
    assert response.status_code == 302
    api = client.post("/api/v1/quick-replies", headers=world["headers"],
                      json={"shortcut": "/pra\x00zo", "text": "Três\ud800 dias úteis.\x00"})
    assert api.status_code == 201, api.json
    db.session.expire_all()
    assert db.session.query(Sector).filter_by(name="Financeiro").count() == 1
    reply = db.session.get(QuickReply, api.json["id"])
    assert (reply.shortcut, reply.text) == ("/prazo", "Três dias úteis.")


def test_a_search_for_nul_answers_like_any_search(client, world):
    assert client.get("/tickets?tab=open&q=%00").status_code == 200
    api = client.get("/api/v1/tickets?q=ol%00%C3%A1", headers=world["headers"])
    assert api.status_code == 200, api.json


@pytest.mark.parametrize("path", ["/api/v1/sectors/%00", "/api/v1/tickets/1%00", "/api/v1/connections/%ED%A0%80/rotate",
                                  "/webhooks/generic/%00", "/webhooks/media/%00", "/admin/no%00such"])
def test_odd_text_in_the_path_is_a_4xx(client, world, path):
    method = "POST" if path.endswith("/rotate") else "GET"
    response = client.open(path, method=method, headers=world["headers"])
    assert 400 <= response.status_code < 500, (path, response.status_code)


def test_odd_text_in_a_header_is_a_4xx_or_ignored(client, world):
    response = client.post(f"/api/v1/tickets/{world['ids']['ticket_id']}/messages", json={"text": "Oi"},
                           headers={**world["headers"], "Idempotency-Key": "chave\x00um"})
    assert response.status_code < 500
