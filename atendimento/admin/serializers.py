"""SPEC §6 shapes of the admin resources (more fields may be added, none renamed)."""
from ..models import BotNode, BotOption, Chatbot, Connection, QuickReply, Sector, Tag, User
from .connection_kinds import mask
from .connections import webhook_url


def _iso(value):
    return value.isoformat() if value else None


def sector_json(sector: Sector) -> dict:
    return {"id": sector.id, "name": sector.name, "color": sector.color, "greeting": sector.greeting or "",
            "position": sector.position, "user_ids": [u.id for u in sector.users]}


def user_json(user: User) -> dict:
    return {"id": user.id, "name": user.name, "email": user.email, "profile": user.profile,
            "sector_ids": [s.id for s in user.sectors], "active": bool(user.active),
            "language": user.language, "timezone": user.timezone, "created_at": _iso(user.created_at)}


def connection_json(connection: Connection, *, reveal: bool = False) -> dict:
    """Secrets come out in full only right after they were made (create, rotate)."""
    hide = (lambda value: value or "") if reveal else mask
    stored = connection.settings or {}
    settings = {s.key: (hide(stored.get(s.key)) if s.secret else stored.get(s.key) or "")
                for s in connection.spec.settings}
    return {
        "id": connection.id, "name": connection.name, "kind": connection.kind, "flow": connection.flow,
        "greeting": connection.greeting or "", "farewell": connection.farewell or "",
        "sector_ids": [s.id for s in connection.sectors],
        "rerun_bot_on_new_ticket": bool(connection.rerun_bot_on_new_ticket), "enabled": bool(connection.enabled),
        "chatbot_id": connection.chatbot_id, "bot_max_invalid": connection.bot_max_invalid,
        "bot_timeout_minutes": connection.bot_timeout_minutes,
        "secret": hide(connection.secret), "settings": settings, "token": connection.token,
        "webhook_url": webhook_url(connection), "created_at": _iso(connection.created_at),
    }


def tag_json(tag: Tag) -> dict:
    return {"id": tag.id, "name": tag.name, "color": tag.color}


def quick_reply_json(reply: QuickReply) -> dict:
    return {"id": reply.id, "shortcut": reply.shortcut, "text": reply.text, "global": reply.user_id is None,
            "user_id": reply.user_id}


def bot_option_json(option: BotOption, number: int) -> dict:
    """``number`` is what the contact types: the option's place in its node's list."""
    return {"id": option.id, "number": number, "title": option.title, "keyword": option.keyword or "",
            "action": option.action, "target_node_id": option.target_node_id,
            "target_sector_id": option.target_sector_id, "reply": option.reply or ""}


def bot_node_json(node: BotNode) -> dict:
    return {"id": node.id, "name": node.name, "message": node.message or "", "position": node.position,
            "media_name": node.media_name, "media_mime": node.media_mime,
            "options": [bot_option_json(option, n) for n, option in enumerate(node.options, start=1)]}


def chatbot_json(chatbot: Chatbot, connection_ids: list[int]) -> dict:
    """The whole tree: the first node is the start."""
    return {"id": chatbot.id, "name": chatbot.name, "connection_ids": connection_ids,
            "nodes": [bot_node_json(node) for node in chatbot.nodes], "created_at": _iso(chatbot.created_at)}
