"""The five routes every managed resource has, declared once per resource.

A ``Resource`` names its service functions, its serializer and its declarations; from
it come ``GET/POST /<path>`` and ``GET/PATCH/DELETE /<path>/<id>`` with their entries
in the OpenAPI document, and the ``flask --app app manage`` command (``cli.py``) that
calls the very same functions. Rules stay in the services; nothing here decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import request

from . import bp
from .openapi import documented
from .routes import json_body
from .shapes import page_of

RESOURCES: dict[str, "Resource"] = {}


@dataclass(frozen=True)
class Resource:
    name: str  # one of them, in the document's words ("quick reply")
    path: str  # the collection's URL ("quick-replies")
    tag: str  # the document's group ("Quick replies")
    schema: type  # the create declaration; PATCH reads its ``partial()`` twin
    shape: type  # what the API answers
    list: Callable  # (actor) -> rows
    get: Callable  # (actor, id) -> row
    create: Callable  # (actor, data) -> row
    update: Callable  # (actor, id, data) -> row
    delete: Callable  # (actor, id, **query) -> None
    to_json: Callable  # row -> dict
    guard: Callable  # the view decorator: who may call at all (token, admin)
    created_json: Callable | None = None  # the answer to POST, when it shows more (generated secrets)
    list_query: type | None = None  # declared query parameters of the list (its filters)
    delete_query: type | None = None  # declared query parameters of DELETE
    multipart: type | None = None  # create and change may also come as multipart (a file with them)


def _query(declared) -> dict:
    """The declared parameters as given; the service refuses bad ones with its own message."""
    return {name: request.args.get(name) for name in declared.model_fields} if declared else {}


def _body(resource: Resource) -> dict:
    """The JSON body, or a multipart form with its ``file`` when the resource takes one."""
    if resource.multipart is not None and request.mimetype == "multipart/form-data":
        return {**request.form.to_dict(), **({"file": request.files["file"]} if "file" in request.files else {})}
    return json_body()


def register(resource: Resource) -> Resource:
    RESOURCES[resource.path] = resource
    key = resource.name.replace(" ", "_") + "_id"
    r, ident = resource, f"/{resource.path}/<{key}>"
    endpoint = resource.path.replace("-", "_")

    @documented(f"List {r.tag.lower()}", r.tag, answer=page_of(r.shape), query=r.list_query)
    def list_items(user):
        rows = r.list(user, **_query(r.list_query))
        return {"items": [r.to_json(row) for row in rows], "next": None}

    @documented(f"Create a {r.name}", r.tag, ok=201, answer=r.shape, body=r.schema, multipart=r.multipart)
    def create_item(user):
        return (r.created_json or r.to_json)(r.create(user, _body(r))), 201

    @documented(f"One {r.name}", r.tag, answer=r.shape)
    def get_item(user, **ids):
        return r.to_json(r.get(user, ids[key]))

    @documented(f"Change a {r.name} (only the fields given)", r.tag, answer=r.shape, body=r.schema.partial(),
                multipart=r.multipart.partial() if r.multipart is not None else None)
    def update_item(user, **ids):
        return r.to_json(r.update(user, ids[key], _body(r)))

    @documented(f"Delete a {r.name}", r.tag, ok=204, query=r.delete_query)
    def delete_item(user, **ids):
        r.delete(user, ids[key], **_query(r.delete_query))
        return "", 204

    for view, rule, method in ((list_items, f"/{r.path}", "GET"), (create_item, f"/{r.path}", "POST"),
                               (get_item, ident, "GET"), (update_item, ident, "PATCH"),
                               (delete_item, ident, "DELETE")):
        bp.add_url_rule(rule, f"{endpoint}_{view.__name__}", r.guard(view), methods=[method])
    return resource
