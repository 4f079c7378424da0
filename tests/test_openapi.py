"""The OpenAPI document describes every API route, and the API keeps to it.

schemathesis generates requests for every operation from the document (valid ones
and, to probe the error paths, invalid ones), sends them to the app in-process with
an admin's bearer token, and fails on any 5xx or any response the document does
not allow. Examples are few and derandomized, so a run is bounded and repeatable.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from atendimento.auth.service import issue_token
from atendimento.extensions import db
from atendimento.models import QuickReply

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_document":
            path = rule.rule.removeprefix("/api/v1")
            for name in rule.arguments:
                path = path.replace(f"<{name}>", "{%s}" % name)
            yield rule, path


def test_document_lists_every_api_route(client, app):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    for rule, path in _api_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if "<any(" in rule.rule:  # /tickets/<id>/<any(accept, close, reopen):action>
                continue
            # Path parameter names differ between Flask and the document; compare the shape.
            shape = _shape(path)
            assert any(_shape(p) == shape and m == method for p, m in described), f"{method} {path} undocumented"
    for action in ("accept", "close", "reopen"):
        assert f"/tickets/{{ticket_id}}/{action}" in document["paths"]


def _shape(path: str) -> str:
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


def _seed(factory):
    """A little of everything, so generated ids (small integers) often hit real rows."""
    admin = factory.admin(email="admin@example.com")
    sector = factory.sector("Suporte")
    attendant = factory.user("Ana", sectors=[sector])
    connection = factory.connection("Gateway", settings={"outbound_url": "http://127.0.0.1:9/send"},
                                    sectors=[sector])
    factory.ticket(connection, sector=sector)
    factory.ticket(connection, sector=sector, status="open", assignee=attendant)
    factory.tag("VIP")
    db.session.add(QuickReply(shortcut="/ola", text="Olá!"))
    db.session.commit()
    for _ in range(8):  # the run's own token gets a higher id than DELETE /tokens/{id} usually picks
        issue_token(attendant)
    _token, raw = issue_token(admin)
    return {"Authorization": f"Bearer {raw}"}


def test_schemathesis_finds_no_server_error_and_no_schema_violation(app, factory):
    headers = _seed(factory)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:
        for mode, examples in EXAMPLES.items():
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                try:
                    case.call_and_validate(headers={**(case.headers or {}), **headers}, checks=CHECKS)
                finally:
                    db.session.rollback()  # requests share the test's session: start each one clean

            run()
