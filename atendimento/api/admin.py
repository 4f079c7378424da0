"""Admin JSON API (SPEC §6): sectors, users, connections, tags and quick replies, so a
deployment can be set up by script (and the chatbots, to read). Same rules as the pages: ``admin.service``.
Anyone but an admin gets 404, as if these routes did not exist."""
from functools import wraps

from flask import request

from ..admin import chatbots, connections, service
from ..admin.serializers import chatbot_json, connection_json, quick_reply_json, sector_json, tag_json, user_json
from . import bp
from .routes import json_body, token_required


def admin_required(view):
    @token_required
    @wraps(view)
    def wrapper(user, *args, **kwargs):
        service.require_admin(user)
        return view(user, *args, **kwargs)

    return wrapper


def _items(rows, to_json):
    return {"items": [to_json(row) for row in rows], "next": None}


# -- sectors -----------------------------------------------------------------

@bp.get("/sectors")
@admin_required
def sectors(user):
    return _items(service.list_sectors(), sector_json)


@bp.post("/sectors")
@admin_required
def create_sector(user):
    return sector_json(service.create_sector(user, json_body())), 201


@bp.get("/sectors/<sector_id>")
@admin_required
def sector(user, sector_id):
    return sector_json(service.get_sector(user, sector_id))


@bp.patch("/sectors/<sector_id>")
@admin_required
def update_sector(user, sector_id):
    return sector_json(service.update_sector(user, sector_id, json_body()))


@bp.delete("/sectors/<sector_id>")
@admin_required
def delete_sector(user, sector_id):
    service.delete_sector(user, sector_id, move_to=request.args.get("move_to"))
    return "", 204


# -- users -------------------------------------------------------------------

@bp.get("/users")
@admin_required
def users(user):
    return _items(service.list_users(), user_json)


@bp.post("/users")
@admin_required
def create_user(user):
    return user_json(service.create_user(user, json_body())), 201


@bp.get("/users/<user_id>")
@admin_required
def user_detail(user, user_id):
    return user_json(service.get_user(user, user_id))


@bp.patch("/users/<user_id>")
@admin_required
def update_user(user, user_id):
    return user_json(service.update_user(user, user_id, json_body()))


@bp.delete("/users/<user_id>")
@admin_required
def delete_user(user, user_id):
    service.delete_user(user, user_id)
    return "", 204


# -- connections -------------------------------------------------------------

@bp.get("/connections")
@admin_required
def connection_list(user):
    return _items(connections.list_connections(), connection_json)


@bp.post("/connections")
@admin_required
def create_connection(user):
    # The only time the generated secrets are shown in full, so a script can pass them on.
    return connection_json(connections.create_connection(user, json_body()), reveal=True), 201


@bp.get("/connections/<connection_id>")
@admin_required
def connection(user, connection_id):
    return connection_json(connections.get_connection(user, connection_id))


@bp.patch("/connections/<connection_id>")
@admin_required
def update_connection(user, connection_id):
    return connection_json(connections.update_connection(user, connection_id, json_body()))


@bp.post("/connections/<connection_id>/rotate")
@admin_required
def rotate_connection(user, connection_id):
    field = json_body().get("field")
    return connection_json(connections.rotate(user, connection_id, field), reveal=True)


@bp.delete("/connections/<connection_id>")
@admin_required
def delete_connection(user, connection_id):
    connections.delete_connection(user, connection_id)
    return "", 204


# -- chatbots (read-only: the trees are built on the admin page) ---------------

def _chatbot_json(chatbot):
    return chatbot_json(chatbot, [c.id for c in chatbots.connections_using(chatbot.id)])


@bp.get("/chatbots")
@admin_required
def chatbot_list(user):
    return _items(chatbots.list_chatbots(), _chatbot_json)


@bp.get("/chatbots/<chatbot_id>")
@admin_required
def chatbot(user, chatbot_id):
    return _chatbot_json(chatbots.get_chatbot(user, chatbot_id))


# -- tags --------------------------------------------------------------------

@bp.get("/tags")
@admin_required
def tags(user):
    return _items(service.list_tags(), tag_json)


@bp.post("/tags")
@admin_required
def create_tag(user):
    return tag_json(service.create_tag(user, json_body())), 201


@bp.get("/tags/<tag_id>")
@admin_required
def tag(user, tag_id):
    return tag_json(service.get_tag(user, tag_id))


@bp.patch("/tags/<tag_id>")
@admin_required
def update_tag(user, tag_id):
    return tag_json(service.update_tag(user, tag_id, json_body()))


@bp.delete("/tags/<tag_id>")
@admin_required
def delete_tag(user, tag_id):
    service.delete_tag(user, tag_id)
    return "", 204


# -- quick replies -----------------------------------------------------------

@bp.get("/quick-replies")
@admin_required
def quick_replies(user):
    return _items(service.list_quick_replies(user), quick_reply_json)


@bp.post("/quick-replies")
@admin_required
def create_quick_reply(user):
    return quick_reply_json(service.create_quick_reply(user, json_body())), 201


@bp.get("/quick-replies/<reply_id>")
@admin_required
def quick_reply(user, reply_id):
    return quick_reply_json(service.get_quick_reply(user, reply_id))


@bp.patch("/quick-replies/<reply_id>")
@admin_required
def update_quick_reply(user, reply_id):
    return quick_reply_json(service.update_quick_reply(user, reply_id, json_body()))


@bp.delete("/quick-replies/<reply_id>")
@admin_required
def delete_quick_reply(user, reply_id):
    service.delete_quick_reply(user, reply_id)
    return "", 204
