"""The document is generated from the declarations, not written beside them (issue 11):
a limit changed in one place shows in the validation, the page and the document alike,
and a route without a declaration cannot ship undocumented."""
from __future__ import annotations

import pytest

from atendimento.api.crud import RESOURCES
from atendimento.api.openapi import build_document
from atendimento.models import QuickReply, Sector, Tag, User


def test_limits_in_the_document_are_the_columns_and_declarations(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert schemas["SectorCreate"]["properties"]["name"]["maxLength"] == Sector.name.type.length == 80
    assert schemas["SectorUpdate"]["properties"]["name"]["maxLength"] == 80
    assert schemas["UserCreate"]["properties"]["name"]["maxLength"] == User.name.type.length
    assert schemas["TagCreate"]["properties"]["name"]["maxLength"] == Tag.name.type.length
    assert schemas["QuickReplyCreate"]["properties"]["shortcut"]["maxLength"] == QuickReply.shortcut.type.length
    bot = schemas["ConnectionCreate"]["properties"]["bot_max_invalid"]["anyOf"][0]
    assert (bot["minimum"], bot["maximum"]) == (1, 10)
    assert schemas["SectorCreate"]["required"] == ["name"] and "required" not in schemas["SectorUpdate"]
    assert schemas["UserCreate"]["properties"]["email"]["format"] == "email"


def test_the_form_shows_the_limits_the_document_shows(factory, client, auth):
    auth.login(factory.admin())
    page = client.get("/admin/sectors/new").get_data(as_text=True)
    assert 'name="name" id="f-name" value="" required maxlength="80"' in page
    assert 'min="0" max="999"' in page
    connection = client.get("/admin/connections/new?kind=generic").get_data(as_text=True)
    assert 'min="1" max="10"' in connection and 'min="0" max="1440"' in connection


def test_every_resource_has_its_five_documented_operations(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for resource in RESOURCES.values():
        key = resource.name.replace(" ", "_") + "_id"
        assert set(paths[f"/{resource.path}"]) == {"get", "post"}
        assert set(paths[f"/{resource.path}/{{{key}}}"]) == {"get", "patch", "delete"}
        create = paths[f"/{resource.path}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert create == {"$ref": f"#/components/schemas/{resource.schema.__name__}"}


def test_an_api_route_without_a_declaration_fails_the_document(app):
    app.add_url_rule("/api/v1/undocumented", "api.undocumented", lambda: "")
    with app.test_request_context(), pytest.raises(LookupError, match="undocumented"):
        build_document()
