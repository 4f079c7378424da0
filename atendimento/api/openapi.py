"""The OpenAPI 3.1 document of the JSON API, served at ``GET /api/v1/openapi.json``.

Generated, not written: the paths come from the API's routes and what each declares
with ``@documented`` (summary, body, answer, query), the schemas from the pydantic
declarations those name (``model_json_schema``: JSON Schema 2020-12, which OpenAPI
3.1 takes as is). A route without a declaration makes the document fail to build, so
``tests/test_openapi.py`` catches it before a client does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app, request
from pydantic import BaseModel

from . import bp

ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
ERRORS = (400, 401, 403, 404, 409, 413, 422)
ERROR_TEXT = {
    400: "Malformed request.", 401: "Missing or invalid bearer token.", 403: "Not allowed in the ticket's state.",
    404: "Missing, outside the user's visibility, or an admin route asked for by a non-admin.",
    409: "Conflicts with the current state (a duplicate, a race lost, a refusal).",
    413: "Payload too large.", 422: "Invalid fields; `error.fields` says which and why.",
    429: "Too many failed logins for this e-mail; wait a few minutes.",
}
PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Doc:
    summary: str
    tag: str
    ok: int = 200
    answer: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    multipart: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    public: bool = False
    errors: tuple = ERRORS
    # For a ``<any(a, b):name>`` segment: each value's own summary (one path each).
    variants: dict = field(default_factory=dict)
    # Takes an ``Idempotency-Key`` header: the same key within 24 h answers the first result (200).
    idempotent: bool = False


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "One per send: the same key from the same user within 24 h answers the first "
                   "message again (200) and sends nothing twice.",
}


def documented(summary: str, tag: str, **options):
    """Declares what an API view reads and answers; the document is built from it."""
    doc = Doc(summary, tag, **options)

    def mark(view):
        view.openapi = doc
        return view

    return mark


def build_document(server_url: str = "/api/v1") -> dict:
    components: dict = {"Error": None}
    paths: dict = {}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.split(".")[0] != "api" or rule.endpoint == "api.openapi_document":
            continue
        doc = getattr(current_app.view_functions[rule.endpoint], "openapi", None)
        if doc is None:
            raise LookupError(f"{rule.rule} has no @documented declaration")
        for path, summary, params in _paths(rule, doc):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                paths.setdefault(path, {})[method.lower()] = _operation(doc, summary, params, components)
    from .shapes import Error

    schemas = {}
    for model in [Error, *[m for m in components.values() if m is not None]]:
        schemas.update(_schemas(model))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Atendimento API", "version": "1",
            "description": "Bearer tokens come from `POST /tokens`. Every read and move follows the caller's "
                           "visibility; the sector, user, connection, chatbot, tag and quick-reply routes answer only "
                           "admins (404 to anyone else). Lists answer `{items, next}`.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _paths(rule, doc: Doc):
    """The document's path(s) for a Flask rule: ``<id>`` becomes ``{id}``; an ``any``
    converter becomes one path per value."""
    template = rule.rule.removeprefix("/api/v1")
    params, variants = [], None
    for match in PARAM.finditer(template):
        name = match["name"]
        if match["converter"] == "any":
            variants = (match.group(0), [v.strip(" '\"") for v in match["args"].split(",")])
            continue
        template = template.replace(match.group(0), "{%s}" % name)
        params.append({"name": name, "in": "path", "required": True, "schema": ID})
    if variants is None:
        return [(template, doc.summary, params)]
    segment, values = variants
    return [(template.replace(segment, value), doc.variants.get(value, f"{doc.summary}: {value}"), params)
            for value in values]


def _operation(doc: Doc, summary: str, params: list, components: dict) -> dict:
    def ref(model) -> dict:
        components[model.__name__] = model
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    responses = {str(doc.ok): {"description": "No content." if doc.ok == 204 else "Success."}}
    if doc.answer is not None:
        responses[str(doc.ok)]["content"] = {"application/json": {"schema": ref(doc.answer)}}
    for code in doc.errors:
        responses[str(code)] = {"description": ERROR_TEXT[code],
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if doc.idempotent and doc.answer is not None:
        responses["200"] = {"description": "This Idempotency-Key was used within 24 h: the first answer again.",
                            "content": {"application/json": {"schema": ref(doc.answer)}}}
    operation = {"summary": summary, "tags": [doc.tag], "responses": responses}
    parameters = list(params) + (_query(doc.query) if doc.query is not None else [])
    if doc.idempotent:
        parameters.append(IDEMPOTENCY_KEY)
    if parameters:
        operation["parameters"] = parameters
    if doc.body is not None:
        content = {"application/json": {"schema": ref(doc.body)}}
        if doc.multipart is not None:
            content["multipart/form-data"] = {"schema": ref(doc.multipart)}
        operation["requestBody"] = {"required": True, "content": content}
    if doc.public:
        operation["security"] = []
    return operation


def _query(model) -> list:
    schema = _clean(model.model_json_schema())
    return [{"name": name, "in": "query", "required": name in schema.get("required", ()),
             "schema": {k: v for k, v in prop.items() if k not in ("description", "default")},
             "description": prop.get("description", "")}
            for name, prop in schema["properties"].items()]


@lru_cache(maxsize=None)
def _component(model) -> dict:
    return _clean(model.model_json_schema(ref_template="#/components/schemas/{model}"))


def _schemas(model) -> dict:
    schema = dict(_component(model))
    nested = schema.pop("$defs", {})
    return {model.__name__: schema, **nested}


def _clean(schema):
    """Titles pydantic derives from attribute names say nothing a client needs."""
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs"):  # names of fields or models, not keywords
            cleaned[key] = {name: _clean(sub) for name, sub in value.items()}
        else:
            cleaned[key] = _clean(value)
    return cleaned


@bp.get("/openapi.json")
def openapi_document():
    return build_document(request.script_root + "/api/v1")
