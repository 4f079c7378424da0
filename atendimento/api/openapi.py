"""The OpenAPI 3.1 description of the JSON API, served at ``GET /api/v1/openapi.json``.

Written by hand next to the routes it describes; ``tests/test_openapi.py`` checks that
every API route appears here and runs schemathesis against it, so a drift between the
two fails a test instead of a client.
"""
from __future__ import annotations

from flask import request

from ..admin.connection_kinds import ALL_SETTING_KEYS
from ..models import (BOT_ACTIONS, CONNECTION_KINDS, DIRECTIONS, FLOWS, MESSAGE_KINDS, MESSAGE_STATUSES, PROFILES,
                      TICKET_STATUSES)
from . import bp

ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
NULLABLE_ID = {"type": ["integer", "null"]}
TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": ["string", "null"]}
DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
COLOR = {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "examples": ["#2f80ed"]}
ERROR_CODES = (400, 401, 403, 404, 409, 413, 422)
ERROR_TEXT = {
    400: "Malformed request.", 401: "Missing or invalid bearer token.", 403: "Not allowed in the ticket's state.",
    404: "Missing, outside the user's visibility, or an admin route asked for by a non-admin.",
    409: "Conflicts with the current state (a duplicate, a race lost, a refusal).",
    413: "Payload too large.", 422: "Invalid fields; `error.fields` says which and why.",
    429: "Too many failed logins for this e-mail; wait a few minutes.",
}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, required=None, **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required is None:
        required = list(properties)
    if required:
        schema["required"] = list(required)
    return schema


def list_of(name: str) -> dict:
    return obj({"items": {"type": "array", "items": ref(name)}, "next": NULLABLE_TEXT})


def _schemas() -> dict:
    sector_input = {
        "name": {"type": "string", "minLength": 1, "maxLength": 80},
        "color": COLOR,
        "greeting": {"type": "string", "maxLength": 2000},
        "position": {"type": "integer", "minimum": 0, "maximum": 999, "description": "Its number in the menu."},
        "user_ids": {"type": "array", "items": ID, "description": "Members."},
    }
    user_input = {
        "name": {"type": "string", "minLength": 1, "maxLength": 120},
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "password": {"type": "string", "minLength": 8, "maxLength": 200,
                     "description": "On PATCH: the admin's password reset."},
        "profile": {"enum": list(PROFILES)},
        "sector_ids": {"type": "array", "items": ID},
        "active": {"type": "boolean"},
        "language": {"enum": ["pt_BR", "en", None]},
        "timezone": {"type": ["string", "null"], "examples": ["America/Sao_Paulo"]},
    }
    settings = obj({key: TEXT for key in ALL_SETTING_KEYS}, required=[],
                   description="The kind's own keys: base_url; access_token, phone_number_id, verify_token "
                               "(whatsapp_cloud); bot_token (telegram); instance, apikey (evolution); "
                               "outbound_url (generic). Secrets come back masked, except on create and rotate.")
    connection_input = {
        "name": {"type": "string", "minLength": 1, "maxLength": 80},
        "kind": {"enum": list(CONNECTION_KINDS), "description": "Fixed once created."},
        "flow": {"enum": list(FLOWS)},
        "greeting": {"type": "string", "maxLength": 2000},
        "farewell": {"type": "string", "maxLength": 2000},
        "sector_ids": {"type": "array", "items": ID, "description": "Sectors offered by the menu."},
        "rerun_bot_on_new_ticket": {"type": "boolean"},
        "enabled": {"type": "boolean"},
        "secret": {"type": "string", "maxLength": 128,
                   "description": "Signing secret (WhatsApp: the Meta app secret). Generated when omitted."},
        "settings": settings,
        "chatbot_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2147483647,
                       "description": "The chatbot that answers new conversations; required when flow is chatbot."},
        "bot_max_invalid": {"type": "integer", "minimum": 1, "maximum": 10,
                            "description": "Menu and chatbot: invalid answers before the attendants take over."},
        "bot_timeout_minutes": {"type": "integer", "minimum": 0, "maximum": 1440,
                                "description": "Menu and chatbot: minutes without an answer before the attendants "
                                               "take over; 0 = never."},
    }
    bot_option = obj({
        "id": ID, "number": {"type": "integer", "minimum": 1, "description": "What the contact types."},
        "title": TEXT, "keyword": TEXT, "action": {"enum": list(BOT_ACTIONS)},
        "target_node_id": NULLABLE_ID, "target_sector_id": NULLABLE_ID,
        "reply": {"type": "string", "description": "Sent before going there (before the close, for close)."},
    })
    bot_node = obj({"id": ID, "name": TEXT, "message": TEXT, "position": {"type": "integer"},
                    "media_name": NULLABLE_TEXT, "media_mime": NULLABLE_TEXT,
                    "options": {"type": "array", "items": bot_option}})
    tag_input = {"name": {"type": "string", "minLength": 1, "maxLength": 60}, "color": COLOR}
    quick_reply_input = {
        "shortcut": {"type": "string", "minLength": 1, "maxLength": 40, "examples": ["/ola"]},
        "text": {"type": "string", "minLength": 1, "maxLength": 4096},
        "global": {"type": "boolean", "description": "Global (every attendant) or personal (the caller's)."},
    }
    return {
        "Error": obj({"error": obj({"code": TEXT, "message": TEXT,
                                    "fields": {"type": "object", "additionalProperties": TEXT}},
                                   required=["code", "message"])}),
        "TokenRequest": obj({"email": TEXT, "password": TEXT, "name": TEXT}, required=["email", "password"]),
        "Token": obj({"token": TEXT, "id": ID}),
        "TokenInfo": obj({"id": ID, "name": TEXT, "created_at": DATETIME, "revoked": {"type": "boolean"}}),
        "ContactBrief": obj({"id": ID, "name": TEXT, "phone": NULLABLE_TEXT}),
        "TagBrief": obj({"id": ID, "name": TEXT, "color": TEXT}),
        "Contact": obj({
            "id": ID, "name": TEXT, "phone": NULLABLE_TEXT, "email": NULLABLE_TEXT, "avatar_url": NULLABLE_TEXT,
            "custom_fields": {"type": "object"}, "tags": {"type": "array", "items": ref("TagBrief")},
            "created_at": NULLABLE_DATETIME,
        }),
        "Ticket": obj({
            "id": ID, "status": {"enum": list(TICKET_STATUSES)}, "contact": ref("ContactBrief"),
            "connection_id": ID, "sector_id": NULLABLE_ID, "user_id": NULLABLE_ID,
            "unread": {"type": "integer", "minimum": 0}, "last_message": TEXT,
            "last_message_at": NULLABLE_DATETIME, "bot": {"type": "boolean"}, "created_at": NULLABLE_DATETIME,
            "updated_at": NULLABLE_DATETIME, "closed_at": NULLABLE_DATETIME,
        }, required=["id", "status", "contact", "connection_id", "sector_id", "user_id", "unread",
                     "last_message", "created_at", "updated_at"]),
        "Message": obj({
            "id": ID, "ticket_id": ID, "direction": {"enum": list(DIRECTIONS)},
            "kind": {"enum": list(MESSAGE_KINDS)}, "body": TEXT, "status": {"enum": list(MESSAGE_STATUSES)},
            "error": NULLABLE_TEXT, "external_id": NULLABLE_TEXT, "media_url": NULLABLE_TEXT,
            "media_name": NULLABLE_TEXT, "author_id": NULLABLE_ID, "from_bot": {"type": "boolean"},
            "quoted_id": NULLABLE_ID, "created_at": NULLABLE_DATETIME,
        }, required=["id", "ticket_id", "direction", "kind", "body", "status", "external_id", "media_url",
                     "author_id", "created_at"]),
        "Transfer": obj({"sector_id": ID, "user_id": ID, "connection_id": ID}, required=[],
                        description="Exactly one destination.", minProperties=1, maxProperties=1),
        "SendText": obj({"text": {"type": "string", "minLength": 1, "maxLength": 4096}}),
        "SendFile": obj({"file": {"type": "string", "contentMediaType": "application/octet-stream"},
                         "text": TEXT}, required=["file"]),
        "ContactTags": obj({"tag_ids": {"type": "array", "items": ID}}),
        "Sector": obj({"id": ID, **{k: v for k, v in sector_input.items() if k != "name"}, "name": TEXT},
                      required=["id", "name", "color", "greeting", "position", "user_ids"]),
        "SectorCreate": obj(sector_input, required=["name"]),
        "SectorUpdate": obj(sector_input, required=[]),
        "User": obj({
            "id": ID, "name": TEXT, "email": TEXT, "profile": {"enum": list(PROFILES)},
            "sector_ids": {"type": "array", "items": ID}, "active": {"type": "boolean"},
            "language": NULLABLE_TEXT, "timezone": NULLABLE_TEXT, "created_at": NULLABLE_DATETIME,
        }, required=["id", "name", "email", "profile", "sector_ids", "active"]),
        "UserCreate": obj(user_input, required=["name", "email", "password"]),
        "UserUpdate": obj(user_input, required=[]),
        "Connection": obj({
            "id": ID, "name": TEXT, "kind": {"enum": list(CONNECTION_KINDS)}, "flow": {"enum": list(FLOWS)},
            "greeting": TEXT, "farewell": TEXT, "sector_ids": {"type": "array", "items": ID},
            "rerun_bot_on_new_ticket": {"type": "boolean"}, "enabled": {"type": "boolean"},
            "secret": TEXT, "settings": settings, "token": TEXT,
            "webhook_url": {"type": "string", "description": "Paste it in the provider's webhook settings."},
            "chatbot_id": NULLABLE_ID, "bot_max_invalid": {"type": "integer"},
            "bot_timeout_minutes": {"type": "integer"}, "created_at": NULLABLE_DATETIME,
        }, required=["id", "name", "kind", "flow", "greeting", "farewell", "sector_ids",
                     "rerun_bot_on_new_ticket", "secret", "settings", "token", "webhook_url", "chatbot_id",
                     "bot_max_invalid", "bot_timeout_minutes"]),
        "ConnectionCreate": obj(connection_input, required=["name", "kind"]),
        "ConnectionUpdate": obj(connection_input, required=[]),
        "Rotate": obj({"field": {"enum": ["secret", "token", "verify_token"]}}),
        "Chatbot": obj({"id": ID, "name": TEXT,
                        "connection_ids": {"type": "array", "items": ID, "description": "Connections using it."},
                        "nodes": {"type": "array", "items": bot_node, "description": "The first is the start."},
                        "created_at": NULLABLE_DATETIME}),
        "Tag": obj({"id": ID, "name": TEXT, "color": TEXT}),
        "TagCreate": obj(tag_input, required=["name"]),
        "TagUpdate": obj(tag_input, required=[]),
        "QuickReply": obj({"id": ID, "shortcut": TEXT, "text": TEXT, "global": {"type": "boolean"},
                           "user_id": NULLABLE_ID}),
        "QuickReplyCreate": obj(quick_reply_input, required=["shortcut", "text"]),
        "QuickReplyUpdate": obj(quick_reply_input, required=[]),
        **{f"{name}List": list_of(name) for name in
           ("Ticket", "Message", "TokenInfo", "Sector", "User", "Connection", "Chatbot", "Tag", "QuickReply")},
    }


def _op(summary: str, tag: str, ok: int = 200, schema: str | None = None, *, body: str | None = None,
        params=(), public: bool = False, errors=ERROR_CODES, multipart: str | None = None) -> dict:
    responses = {str(ok): {"description": "No content." if ok == 204 else "Success."}}
    if schema:
        responses[str(ok)]["content"] = {"application/json": {"schema": ref(schema)}}
    for code in errors:
        responses[str(code)] = {"description": ERROR_TEXT[code],
                                "content": {"application/json": {"schema": ref("Error")}}}
    operation = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        operation["parameters"] = list(params)
    if body:
        content = {"application/json": {"schema": ref(body)}}
        if multipart:
            content["multipart/form-data"] = {"schema": ref(multipart)}
        operation["requestBody"] = {"required": True, "content": content}
    if public:
        operation["security"] = []
    return operation


def path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _crud(collection: str, item: str, singular: str, tag: str, *, delete_params=()) -> dict:
    """GET list + POST on the collection, GET + PATCH + DELETE by id."""
    ident = path_id("id")
    return {
        f"/{collection}": {
            "get": _op(f"List {tag.lower()}", tag, 200, f"{item}List"),
            "post": _op(f"Create a {singular}", tag, 201, item, body=f"{item}Create"),
        },
        f"/{collection}/{{id}}": {
            "get": _op(f"One {singular}", tag, 200, item, params=[ident]),
            "patch": _op(f"Change a {singular} (only the fields given)", tag, 200, item, body=f"{item}Update",
                         params=[ident]),
            "delete": _op(f"Delete a {singular}", tag, 204, params=[ident, *delete_params]),
        },
    }


def build_document(server_url: str = "/api/v1") -> dict:
    ticket_id = path_id("ticket_id")
    paths = {
        "/tokens": {
            "post": _op("Exchange e-mail and password for a bearer token", "Tokens", 201, "Token",
                        body="TokenRequest", public=True, errors=(400, 401, 422, 429)),
            "get": _op("The caller's tokens", "Tokens", 200, "TokenInfoList"),
        },
        "/tokens/{token_id}": {"delete": _op("Revoke one of the caller's tokens", "Tokens", 204,
                                             params=[path_id("token_id")])},
        "/tickets": {"get": _op("Visible tickets, newest activity first", "Tickets", 200, "TicketList", params=[
            query("status", {"enum": list(TICKET_STATUSES)}),
            query("sector", ID, "Sector id."),
            query("tag", ID, "Tag id (of the contact)."),
            query("q", {"type": "string", "maxLength": 100}, "Contact name or phone contains."),
            query("page", TEXT, "The `next` cursor of the previous page."),
            query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
        ])},
        "/tickets/{ticket_id}": {"get": _op("One ticket", "Tickets", 200, "Ticket", params=[ticket_id])},
        **{f"/tickets/{{ticket_id}}/{action}": {"post": _op(summary, "Tickets", 200, "Ticket", params=[ticket_id])}
           for action, summary in (("accept", "Atender: take a waiting ticket"),
                                   ("close", "Fechar: finish a ticket"),
                                   ("reopen", "Reabrir: reopen a closed ticket, assigned to the caller"))},
        "/tickets/{ticket_id}/transfer": {"post": _op("Transfer to a sector, an attendant or a connection",
                                                      "Tickets", 200, "Ticket", body="Transfer",
                                                      params=[ticket_id])},
        "/tickets/{ticket_id}/messages": {
            "get": _op("The conversation, oldest first (a peek: nothing changes); `next` pages back in time",
                       "Messages", 200, "MessageList", params=[
                           ticket_id, query("page", TEXT, "The `next` cursor of the previous page."),
                           query("before", ID, "Only messages before this id."),
                           query("limit", {"type": "integer", "minimum": 1, "maximum": 500})]),
            "post": _op("Answer (the ticket must be open and the caller its assignee or an admin)", "Messages",
                        201, "Message", body="SendText", multipart="SendFile", params=[ticket_id]),
        },
        "/messages/{message_id}/resend": {"post": _op("Send a failed message again (Reenviar)", "Messages", 200,
                                                      "Message", params=[path_id("message_id")])},
        "/contacts/{contact_id}": {"get": _op("One contact", "Contacts", 200, "Contact",
                                              params=[path_id("contact_id")])},
        "/contacts/{contact_id}/tags": {"post": _op("Replace a contact's tags", "Contacts", 200, "Contact",
                                                    body="ContactTags", params=[path_id("contact_id")])},
        **_crud("sectors", "Sector", "sector", "Sectors",
                delete_params=[query("move_to", ID, "Move the sector's tickets here first.")]),
        **_crud("users", "User", "user", "Users"),
        **_crud("connections", "Connection", "connection", "Connections"),
        "/connections/{id}/rotate": {"post": _op("Make a new signing secret, URL token or verify token",
                                                 "Connections", 200, "Connection", body="Rotate",
                                                 params=[path_id("id")])},
        "/chatbots": {"get": _op("List chatbots, each with its whole tree (built on the admin page)", "Chatbots",
                                 200, "ChatbotList")},
        "/chatbots/{id}": {"get": _op("One chatbot and its tree", "Chatbots", 200, "Chatbot",
                                      params=[path_id("id")])},
        **_crud("tags", "Tag", "tag", "Tags"),
        **_crud("quick-replies", "QuickReply", "quick reply", "Quick replies"),
    }
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
        "components": {"schemas": _schemas(),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


@bp.get("/openapi.json")
def openapi_document():
    return build_document(request.script_root + "/api/v1")
