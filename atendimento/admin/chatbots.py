"""The admin rules for chatbots: trees of nodes and options that answer a new ticket
before humans do (SPEC §3, read by ``tickets/flow.py``).

What keeps a tree sound lives here, not in the pages:

- an option leads where its action says: a node of the *same* chatbot, an existing
  sector, the attendants, or a close;
- no change may leave a node from which no answer ever reaches a human, a sector or a
  close (``flow.trapped_nodes``): the change is flushed, checked, and rolled back when
  it would trap a contact;
- a chatbot a connection uses cannot be deleted (the connection would silently fall
  back to humans).

Node files are message files (``media.py``): the bot sends them as they are stored,
so a file an earlier bot message carried stays on disk when the node lets it go.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import media
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models import BOT_ACTIONS, BotNode, BotOption, Chatbot, Connection, Message, Sector, User
from ..tickets import flow
from ..ids import parse_id as as_int
from ..schema import Choice, RowId, Schema, Text, invalid
from ..serializers import iso
from .base import require_admin, value_taken

MAX_MESSAGE = 4096  # WhatsApp's longest text message
MAX_REPLY = 2000


# -- chatbots ------------------------------------------------------------------

def list_chatbots(actor: User | None = None) -> list[Chatbot]:
    return list(db.session.scalars(select(Chatbot).order_by(Chatbot.name, Chatbot.id)))


def node_counts() -> dict[int, int]:
    rows = db.session.execute(select(BotNode.chatbot_id, func.count()).group_by(BotNode.chatbot_id))
    return dict(rows.all())


def connections_using(chatbot_id: int) -> list[Connection]:
    return list(db.session.scalars(select(Connection).where(Connection.chatbot_id == chatbot_id)
                                   .order_by(Connection.name, Connection.id)))


def get_chatbot(actor: User, chatbot_id) -> Chatbot:
    require_admin(actor)
    chatbot = db.session.get(Chatbot, as_int(chatbot_id)) if as_int(chatbot_id) else None
    if chatbot is None:
        raise NotFound(_("Chatbot not found."))
    return chatbot


class ChatbotCreate(Schema):
    name: Text(Chatbot.name, required=True)


class BotNodeInput(Schema):
    """A node's text; its file comes as the ``file`` part of a multipart form."""

    name: Text(BotNode.name, required=True)
    message: Text(MAX_MESSAGE, description="What the contact receives; may be blank when a file goes.") = ""


class BotOptionInput(Schema):
    title: Text(BotOption.title, required=True)
    keyword: Text(BotOption.keyword, description="A word that also picks this option (numbers are the options' own).") = ""
    action: Choice(BOT_ACTIONS)
    reply: Text(MAX_REPLY, description="Sent before going there (before the close, for close).") = ""
    target_node_id: RowId(BotNode, lambda: _("Choose a node of this chatbot."),
                          description="When action is node: a node of the same chatbot.") = None
    target_sector_id: RowId(Sector, lambda: _("Unknown sector."), description="When action is sector.") = None


def _read_chatbot(data) -> dict:
    return ChatbotCreate.read(data)


def _name_taken(name: str, chatbot_id=None) -> Conflict | None:
    return value_taken(Chatbot.name, name, chatbot_id, _("A chatbot named %(name)s already exists.", name=name))


def _commit_name(name: str, chatbot_id=None) -> None:
    """The unique index settles a race the check before could not see."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise (_name_taken(name, chatbot_id) or Conflict()) from None


def create_chatbot(actor: User, data) -> Chatbot:
    require_admin(actor)
    values = _read_chatbot(data)
    if conflict := _name_taken(values["name"]):
        raise conflict
    chatbot = Chatbot(name=values["name"])
    db.session.add(chatbot)
    _commit_name(values["name"])
    return chatbot


def rename_chatbot(actor: User, chatbot_id, data) -> Chatbot:
    chatbot = get_chatbot(actor, chatbot_id)
    values = _read_chatbot(data)
    if conflict := _name_taken(values["name"], chatbot.id):
        raise conflict
    chatbot.name = values["name"]
    _commit_name(values["name"], chatbot.id)
    return chatbot


def delete_chatbot(actor: User, chatbot_id) -> None:
    """Refused while a connection uses it: that connection must pick another flow first."""
    chatbot = get_chatbot(actor, chatbot_id)
    users = connections_using(chatbot.id)
    if users:
        raise Conflict(_("%(name)s is used by %(connections)s. Choose another flow or chatbot for them first.",
                         name=chatbot.name, connections=", ".join(c.name for c in users)),
                       connections=[c.id for c in users])
    files = [node.media_path for node in chatbot.nodes]
    db.session.delete(chatbot)
    db.session.commit()
    for path in files:
        _release(path)


# -- keeping the tree sound ----------------------------------------------------

def _commit_unless_trapped(chatbot_id: int, new_file: str | None = None) -> None:
    """Commit the pending change unless it leaves a node with no way out.

    The change is flushed first so the check reads the tree as it would be (targets
    set to NULL by a deletion included); a refused change is rolled back whole."""
    db.session.flush()
    db.session.expire_all()
    trapped = flow.trapped_nodes(db.session.get(Chatbot, chatbot_id))
    if not trapped:
        db.session.commit()
        return
    names = ", ".join(node.name for node in trapped)
    db.session.rollback()
    _release(new_file)
    raise Conflict(_("This change creates a loop with no way out: %(nodes)s. A contact there could never reach "
                     "an attendant. Give one of these nodes an option that leads to a sector, to the attendants "
                     "or to a close.", nodes=names), nodes=names)


def _release(path: str | None) -> None:
    """Remove a node's old file from disk, unless a message or another node still uses it."""
    if not path:
        return
    in_use = db.session.scalar(select(Message.id).where(Message.media_path == path).limit(1)) or \
        db.session.scalar(select(BotNode.id).where(BotNode.media_path == path).limit(1))
    if not in_use:
        media.discard(path)


def _renumber(rows: list) -> None:
    for position, row in enumerate(rows):
        row.position = position


MOVES = ("up", "down")


def _moved(rows: list, row, direction: str) -> bool:
    """Swap ``row`` with its neighbour in ``rows`` (then numbered 0..n-1); False at an end."""
    if direction not in MOVES:
        message = _("Choose one of: %(options)s.", options=", ".join(MOVES))
        raise InvalidInput(message, fields={"direction": message})
    index = rows.index(row)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    _renumber(rows)
    return True


# -- nodes ---------------------------------------------------------------------

def get_node(actor: User, chatbot_id, node_id) -> BotNode:
    chatbot = get_chatbot(actor, chatbot_id)
    node = db.session.get(BotNode, as_int(node_id)) if as_int(node_id) else None
    if node is None or node.chatbot_id != chatbot.id:
        raise NotFound(_("Node not found."))
    return node


def _read_node(data, *, has_file: bool) -> dict:
    values, errors = BotNodeInput.try_read(data)
    if not has_file and values.get("message") == "":
        errors["message"] = _("Required: the text the contact receives (or attach a file).")
    if errors:
        raise invalid(errors)
    return values


def _save_file(upload) -> dict | None:
    if upload is None or not getattr(upload, "filename", ""):
        return None
    try:
        return media.save_upload(upload)
    except media.MediaUnavailable:
        message = _("The file is empty or larger than %(mb)s MB.", mb=current_app.config["MAX_UPLOAD_MB"])
        raise InvalidInput(message, fields={"file": message}) from None


def _set_file(node: BotNode, stored: dict | None) -> None:
    node.media_path = stored["path"] if stored else None
    node.media_mime = stored["mime"] if stored else None
    node.media_name = stored["name"] if stored else None
    node.media_size = stored["size"] if stored else None


def create_node(actor: User, chatbot_id, data, upload=None) -> BotNode:
    """A new node goes last; the first node of a chatbot is its start."""
    chatbot = get_chatbot(actor, chatbot_id)
    values = _read_node(data, has_file=bool(upload and upload.filename))
    stored = _save_file(upload)
    last = db.session.scalar(select(func.max(BotNode.position)).where(BotNode.chatbot_id == chatbot.id))
    node = BotNode(chatbot_id=chatbot.id, name=values["name"], message=values["message"],
                   position=0 if last is None else last + 1)
    _set_file(node, stored)
    db.session.add(node)
    _commit_unless_trapped(chatbot.id, stored and stored["path"])
    return node


def update_node(actor: User, chatbot_id, node_id, data, upload=None, *, remove_file: bool = False) -> BotNode:
    node = get_node(actor, chatbot_id, node_id)
    keeps_file = bool(node.media_path) and not remove_file
    values = _read_node(data, has_file=keeps_file or bool(upload and upload.filename))
    stored = _save_file(upload)
    old_file = node.media_path if (stored or remove_file) else None
    node.name, node.message = values["name"], values["message"]
    if stored or remove_file:
        _set_file(node, stored)
    _commit_unless_trapped(node.chatbot_id, stored and stored["path"])
    _release(old_file)
    return node


def options_leading_to(node: BotNode) -> list[BotOption]:
    """What a deletion would send to the attendants instead (their target becomes NULL)."""
    return list(db.session.scalars(select(BotOption).where(BotOption.target_node_id == node.id)
                                   .order_by(BotOption.node_id, BotOption.position, BotOption.id)))


def delete_node(actor: User, chatbot_id, node_id) -> None:
    """Options that led here lead to the attendants from now on (the foreign key's SET NULL)."""
    node = get_node(actor, chatbot_id, node_id)
    chatbot_id, path = node.chatbot_id, node.media_path
    db.session.delete(node)
    _commit_unless_trapped(chatbot_id)
    _renumber(list(db.session.get(Chatbot, chatbot_id).nodes))
    db.session.commit()
    _release(path)


def move_node(actor: User, chatbot_id, node_id, direction: str) -> bool:
    """Up or down one place; the first node is where conversations start."""
    node = get_node(actor, chatbot_id, node_id)
    moved = _moved(list(node.chatbot.nodes), node, direction)
    db.session.commit()
    return moved


# -- options -------------------------------------------------------------------

def get_option(actor: User, chatbot_id, option_id) -> BotOption:
    chatbot = get_chatbot(actor, chatbot_id)
    option = db.session.get(BotOption, as_int(option_id)) if as_int(option_id) else None
    if option is None or option.node.chatbot_id != chatbot.id:
        raise NotFound(_("Option not found."))
    return option


def _read_option(data, node: BotNode, option: BotOption | None) -> dict:
    data = data if isinstance(data, dict) else {}
    action = data.get("action")
    # Only the target the action names is read (and required).
    ignored = {"target_node_id", "target_sector_id"} - {f"target_{action}_id"}
    values, errors = BotOptionInput.try_read({k: v for k, v in data.items() if k not in ignored})
    target = values.get("target_node_id")
    if action == "node" and target is not None and target.chatbot_id != node.chatbot_id:
        errors.setdefault("target_node_id", _("Choose a node of this chatbot."))
    if action == "node" and "target_node_id" not in errors and target is None:
        errors["target_node_id"] = _("Choose the node this option leads to.")
    if action == "sector" and "target_sector_id" not in errors and values.get("target_sector_id") is None:
        errors["target_sector_id"] = _("Choose the sector this option leads to.")
    if values.get("keyword", "").isdigit():
        errors.setdefault("keyword", _("Numbers are the options' own; use a word."))
    _check_unique_answers(values, errors, node, option)
    if errors:
        raise invalid(errors)
    return values


def _check_unique_answers(values: dict, errors: dict, node: BotNode, option: BotOption | None) -> None:
    """Two options answering to the same word: the engine would always pick the first.
    Asked of the engine's own matching (``flow.match``, case and accents ignored); the
    choices get numbers no answer can type, so only titles and keywords compare."""
    others = [flow.Choice(f"#{n}", other.title, other.keyword, other)
              for n, other in enumerate(node.options) if option is None or other.id != option.id]
    for key in ("title", "keyword"):
        word = values.get(key, "")
        hit = flow.match(others, word) if word else None
        if hit is not None:
            errors.setdefault(key, _("The option %(title)s already answers to this.", title=hit.title))


def _apply_option(option: BotOption, values: dict) -> None:
    action = values["action"]
    option.title, option.keyword, option.reply, option.action = (
        values["title"], values["keyword"], values["reply"], action)
    option.target_node_id = values["target_node_id"].id if action == "node" else None
    option.target_sector_id = values["target_sector_id"].id if action == "sector" else None


def create_option(actor: User, chatbot_id, node_id, data) -> BotOption:
    """A new option goes last: its number is its place in the node's list."""
    node = get_node(actor, chatbot_id, node_id)
    values = _read_option(data, node, None)
    option = BotOption(node_id=node.id, position=len(node.options))
    _apply_option(option, values)
    db.session.add(option)
    _commit_unless_trapped(node.chatbot_id)
    return option


def update_option(actor: User, chatbot_id, option_id, data) -> BotOption:
    option = get_option(actor, chatbot_id, option_id)
    values = _read_option(data, option.node, option)
    _apply_option(option, values)
    _commit_unless_trapped(option.node.chatbot_id)
    return option


def delete_option(actor: User, chatbot_id, option_id) -> None:
    """Refused when the option was its node's only way out of a loop."""
    option = get_option(actor, chatbot_id, option_id)
    node_id, chatbot_id = option.node_id, option.node.chatbot_id
    db.session.delete(option)
    _commit_unless_trapped(chatbot_id)
    _renumber(list(db.session.get(BotNode, node_id).options))
    db.session.commit()


def move_option(actor: User, chatbot_id, option_id, direction: str) -> bool:
    """Up or down one place, which changes the number the contact types."""
    option = get_option(actor, chatbot_id, option_id)
    moved = _moved(list(option.node.options), option, direction)
    db.session.commit()
    return moved


# -- the tree as the page shows it ---------------------------------------------

@dataclass
class TreeRow:
    """A node in the order the page draws it: under the option that first reaches it."""

    node: BotNode
    depth: int
    start: bool = False
    via: BotOption | None = None  # the option it hangs from
    via_number: int = 0  # that option's number in its node


@dataclass
class Tree:
    rows: list[TreeRow] = field(default_factory=list)  # from the start node, depth first
    unreachable: list[BotNode] = field(default_factory=list)  # no answer ever leads there
    trapped: list[BotNode] = field(default_factory=list)  # should stay empty: saves refuse it

    @property
    def start(self) -> BotNode | None:
        return self.rows[0].node if self.rows else None


def layout(chatbot: Chatbot) -> Tree:
    """The chatbot's nodes as a tree: each node under the first option that leads to
    it (a node reached twice, or a loop back, is drawn once and linked to)."""
    nodes = list(chatbot.nodes)
    tree = Tree(trapped=flow.trapped_nodes(chatbot))
    if not nodes:
        return tree
    seen: set[int] = set()
    stack = [TreeRow(nodes[0], 0, start=True)]
    while stack:
        row = stack.pop()
        if row.node.id in seen:
            continue
        seen.add(row.node.id)
        tree.rows.append(row)
        children = [TreeRow(o.target_node, row.depth + 1, via=o, via_number=n)
                    for n, o in enumerate(row.node.options, start=1)
                    if o.action == "node" and o.target_node is not None and o.target_node.id not in seen]
        stack.extend(reversed(children))
    tree.unreachable = [node for node in nodes if node.id not in seen]
    return tree


# -- JSON (SPEC §6 shapes) -------------------------------------------------------

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
            "nodes": [bot_node_json(node) for node in chatbot.nodes], "created_at": iso(chatbot.created_at)}
