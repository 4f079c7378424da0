"""Admin JSON API (SPEC §6): sectors, users, connections, tags and quick replies, so a
deployment can be set up by script (and the chatbots, to read). Same rules as the pages.
Anyone but an admin gets 404 on the admin resources, as if these routes did not exist;
quick replies answer any user with what they may manage (SPEC §6.1)."""
from functools import wraps

from pydantic import BaseModel, Field

from ..admin import chatbots, connections, service
from ..admin.connections import ConnectionCreate, Rotate
from ..admin.serializers import chatbot_json, connection_json, quick_reply_json, sector_json, tag_json, user_json
from ..admin.service import QuickReplyCreate, SectorCreate, TagCreate, UserCreate
from . import bp, shapes
from .crud import Resource, register
from .openapi import documented
from .routes import json_body, token_required


def admin_required(view):
    @token_required
    @wraps(view)
    def wrapper(user, *args, **kwargs):
        service.require_admin(user)
        return view(user, *args, **kwargs)

    return wrapper


class SectorDelete(BaseModel):
    move_to: int | None = Field(None, ge=1, le=2**31 - 1, description="Move the sector's tickets here first.")


register(Resource(
    "sector", "sectors", "Sectors", SectorCreate, shapes.Sector, guard=admin_required,
    list=lambda actor: service.list_sectors(), get=service.get_sector, create=service.create_sector,
    update=service.update_sector, delete=service.delete_sector, to_json=sector_json, delete_query=SectorDelete))
register(Resource(
    "user", "users", "Users", UserCreate, shapes.User, guard=admin_required,
    list=lambda actor: service.list_users(), get=service.get_user, create=service.create_user,
    update=service.update_user, delete=service.delete_user, to_json=user_json))
register(Resource(
    # The only time the generated secrets are shown in full, so a script can pass them on.
    "connection", "connections", "Connections", ConnectionCreate, shapes.Connection, guard=admin_required,
    list=lambda actor: connections.list_connections(), get=connections.get_connection,
    create=connections.create_connection, update=connections.update_connection,
    delete=connections.delete_connection, to_json=connection_json,
    created_json=lambda row: connection_json(row, reveal=True)))
register(Resource(
    "tag", "tags", "Tags", TagCreate, shapes.Tag, guard=admin_required,
    list=lambda actor: service.list_tags(), get=service.get_tag, create=service.create_tag,
    update=service.update_tag, delete=service.delete_tag, to_json=tag_json))
register(Resource(
    "quick reply", "quick-replies", "Quick replies", QuickReplyCreate, shapes.QuickReply, guard=admin_required,
    list=service.list_quick_replies, get=service.get_quick_reply, create=service.create_quick_reply,
    update=service.update_quick_reply, delete=service.delete_quick_reply, to_json=quick_reply_json))


@bp.post("/connections/<connection_id>/rotate")
@admin_required
@documented("Make a new signing secret, URL token or verify token", "Connections", answer=shapes.Connection,
            body=Rotate)
def rotate_connection(user, connection_id):
    field = json_body().get("field")
    return connection_json(connections.rotate(user, connection_id, field), reveal=True)


# -- chatbots (read-only: the trees are built on the admin page) ---------------

def _chatbot_json(chatbot):
    return chatbot_json(chatbot, [c.id for c in chatbots.connections_using(chatbot.id)])


@bp.get("/chatbots")
@admin_required
@documented("List chatbots, each with its whole tree (built on the admin page)", "Chatbots",
            answer=shapes.page_of(shapes.Chatbot))
def chatbot_list(user):
    return {"items": [_chatbot_json(row) for row in chatbots.list_chatbots()], "next": None}


@bp.get("/chatbots/<chatbot_id>")
@admin_required
@documented("One chatbot and its tree", "Chatbots", answer=shapes.Chatbot)
def chatbot(user, chatbot_id):
    return _chatbot_json(chatbots.get_chatbot(user, chatbot_id))
