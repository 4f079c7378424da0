"""First contact (SPEC §3): who answers a new ticket before humans do.

A connection's ``flow`` decides it when a ticket is created:

- ``human``: straight to Esperando (with exactly one offered sector, that sector);
  the connection's greeting, if any, goes out;
- ``menu``: the greeting and the numbered list of the connection's sectors; a valid
  answer routes the ticket to that sector (and sends its greeting), an invalid one
  repeats the menu, and after ``bot_max_invalid`` invalid answers humans take it
  without a sector;
- ``chatbot``: the connection's tree of nodes (``Chatbot``): each option leads to
  another node, a sector, humans, or closes the ticket; ``0`` returns to the start.

A bot that gets no answer for ``bot_timeout_minutes`` hands the ticket to humans
(``expire_waiting``, run by each process's worker). With ``rerun_bot_on_new_ticket``
off, a contact coming back after a close skips the flow and waits in the sector of
their previous ticket on that connection.

Each bot step is one conditional UPDATE on ``bot_turn``: of two answers read at once
only one acts, and an answer racing an accept, a transfer or a close loses, because
every human move clears ``bot_mode``. An answer read while the bot's last words are
still in the outbox was written before the contact could read them and gets no reply,
so two messages sent together get one reply, whatever order they are read in. Bot
messages are ordinary outgoing messages, stored ``queued`` for the outbox and marked
``from_bot``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from ..extensions import db
from ..media import kind_for
from ..models import BotNode, BotOption, Chatbot, Connection, Message, Sector, Ticket, TicketEvent, utcnow
from ..serializers import ticket_json
from . import outgoing, state

# What a human move writes on the ticket: the bot stops at once.
STOP = {"bot_mode": None, "bot_state": None, "bot_expires_at": None}

BACK = "0"  # in a chatbot, returns to the first node
MAX_NATIVE_TITLE = 80


# -- when the ticket is created ------------------------------------------------

def initial_routing(connection: Connection, contact_id: int, *, by_business: bool = False) -> dict:
    """The sector and bot columns of a new ticket of ``contact_id`` on ``connection``.

    ``by_business``: the business opened the conversation (a message sent from its own
    phone): the bot has nothing to ask, humans have it."""
    previous = None if by_business else _flow_skipped_for(connection, contact_id)
    if previous is not None:  # back after a close: no bot, the sector they had
        return {"sector_id": previous.sector_id, "bot_mode": None, "bot_state": None}
    sectors = offered_sectors(connection)
    if not by_business and connection.flow == "menu" and len(sectors) > 1:
        return {"sector_id": None, "bot_mode": "menu", "bot_state": {"invalid": 0}}
    if not by_business and connection.flow == "chatbot":
        root = _root_node(connection.chatbot_id)
        if root is not None:
            return {"sector_id": None, "bot_mode": "chatbot", "bot_state": {"node": root.id, "invalid": 0}}
    return {"sector_id": sectors[0].id if len(sectors) == 1 else None, "bot_mode": None, "bot_state": None}


def _flow_skipped_for(connection: Connection, contact_id: int, ticket_id: int | None = None):
    """The contact's latest ticket on ``connection`` (other than ``ticket_id``) when the
    connection does not rerun its flow for a contact coming back; None when the flow runs."""
    if connection.rerun_bot_on_new_ticket or connection.flow == "human":
        return None
    query = select(Ticket.id, Ticket.sector_id).where(Ticket.contact_id == contact_id,
                                                      Ticket.connection_id == connection.id)
    if ticket_id is not None:
        query = query.where(Ticket.id != ticket_id)
    return db.session.execute(query.order_by(Ticket.id.desc()).limit(1)).first()


def offered_sectors(connection: Connection) -> list[Sector]:
    """The connection's sectors in menu order: by number, then by name as the admin lists
    them, so equal numbers still give every query the same order (the number a contact
    reads is the number their answer is matched against)."""
    return sorted(connection.sectors, key=lambda sector: (sector.position, sector.name, sector.id))


def _root_node(chatbot_id: int | None) -> BotNode | None:
    if chatbot_id is None:
        return None
    return db.session.scalar(select(BotNode).where(BotNode.chatbot_id == chatbot_id)
                             .order_by(BotNode.position, BotNode.id).limit(1))


# -- what the bot says ---------------------------------------------------------

@dataclass
class Choice:
    """One numbered option as the contact sees it."""

    number: str
    title: str
    keyword: str = ""
    target: object = None  # a Sector (menu) or a BotOption (chatbot)


@dataclass
class Reply:
    """One bot message: plain text always, a native menu where the channel has one."""

    body: str
    choices: list[Choice] = field(default_factory=list)
    prompt: str = ""
    node: BotNode | None = None  # whose file goes with the message
    remove_keyboard: bool = False

    def meta(self) -> dict | None:
        if self.choices:
            return {"menu": {"text": self.prompt, "button": _("Options"),
                             "options": [{"id": c.number, "title": c.title[:MAX_NATIVE_TITLE]}
                                         for c in self.choices]}}
        if self.remove_keyboard:
            return {"remove_keyboard": True}
        return None


def _menu_reply(prompt: str, choices: list[Choice], node: BotNode | None = None) -> Reply:
    lines = [prompt.strip(), ""] if prompt.strip() else []
    lines += [f"{c.number} - {c.title}" for c in choices]
    return Reply(body="\n".join(lines).strip(), choices=choices, prompt=prompt.strip(), node=node)


def _sector_choices(connection: Connection) -> list[Choice]:
    return [Choice(str(n), sector.name, target=sector)
            for n, sector in enumerate(offered_sectors(connection), start=1)]


def _sector_menu(connection: Connection, *, invalid: bool = False) -> Reply:
    if invalid:
        prompt = _("Invalid option. Please choose one of the options:")
    else:
        prompt = "\n\n".join(p for p in (connection.greeting.strip(), _("Please choose an option:")) if p)
    return _menu_reply(prompt, _sector_choices(connection))


def _node_choices(node: BotNode, *, at_root: bool) -> list[Choice]:
    choices = [Choice(str(n), option.title, option.keyword, option)
               for n, option in enumerate(node.options, start=1)]
    if not at_root:
        choices.append(Choice(BACK, _("Back to the start")))
    return choices


def _node_reply(node: BotNode, *, at_root: bool, invalid: bool = False) -> Reply:
    prompt = _("Invalid option. Please choose one of the options:") if invalid else node.message
    if not node.options:
        return Reply(body=prompt, node=None if invalid else node, remove_keyboard=True)
    return _menu_reply(prompt, _node_choices(node, at_root=at_root), node=None if invalid else node)


def _text(body: str) -> Reply | None:
    return Reply(body=body.strip(), remove_keyboard=True) if body and body.strip() else None


# -- reading an answer ---------------------------------------------------------

def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


_LEADING_NUMBER = re.compile(r"^\s*(\d{1,3})(?:\s*[-.)º:]|\s|$)")


def match(choices: list[Choice], text: str, choice_id: str | None = None) -> Choice | None:
    """The option an answer names: a native reply's id, a typed number ("2", "2.",
    "2 - Suporte"), or an option's title or keyword, ignoring case and accents."""
    by_number = {c.number: c for c in choices}
    if choice_id and choice_id in by_number:
        return by_number[choice_id]
    number = _LEADING_NUMBER.match(text or "")
    if number and number.group(1).lstrip("0") in by_number:
        return by_number[number.group(1).lstrip("0")]
    if number and number.group(1) == BACK and BACK in by_number:
        return by_number[BACK]
    wanted = _normalize(text)
    if not wanted:
        return None
    for choice in choices:
        if wanted in (_normalize(choice.title), _normalize(choice.keyword)):
            return choice
    return None


# -- one step ------------------------------------------------------------------

@dataclass
class Step:
    """What one bot step does to the ticket and says to the contact."""

    replies: list[Reply] = field(default_factory=list)
    state: dict | None = None  # the new bot_state while the bot keeps going
    sector: Sector | None = None  # routed to this sector (the bot ends)
    handover: str | None = None  # the bot ends without a sector: why
    close: bool = False  # the bot closes the ticket

    @property
    def ends(self) -> bool:
        return self.state is None


def _say(*replies: Reply | None) -> list[Reply]:
    return [r for r in replies if r is not None]


def _route(sector: Sector | None, reply_text: str = "", reason: str = "asked") -> Step:
    """End the bot: to a sector (its greeting, or the option's own text) or to humans."""
    if sector is None:
        return Step(replies=_say(_text(reply_text) or _text(_("Please wait, an attendant will talk to you shortly."))),
                    handover=reason)
    said = _text(reply_text) or _text(sector.greeting) or _text(
        _("Thank you! An attendant of %(sector)s will talk to you shortly.", sector=sector.name))
    return Step(replies=_say(said), sector=sector)


def _invalid(connection: Connection, state: dict, again: Reply) -> Step:
    invalid = int(state.get("invalid") or 0) + 1
    if invalid >= max(1, connection.bot_max_invalid or 1):
        return Step(replies=_say(_text(_("We could not understand your answer. An attendant will talk to you "
                                         "shortly."))), handover="invalid")
    return Step(replies=[again], state={**state, "invalid": invalid})


def _menu_step(connection: Connection, state: dict, text: str, choice_id: str | None) -> Step:
    chosen = match(_sector_choices(connection), text, choice_id)
    if chosen is None:
        return _invalid(connection, state, _sector_menu(connection, invalid=True))
    return _route(chosen.target)


def _chatbot_step(connection: Connection, state: dict, text: str, choice_id: str | None) -> Step:
    root = _root_node(connection.chatbot_id)
    node = db.session.get(BotNode, state.get("node")) if state.get("node") else None
    if root is None or node is None or node.chatbot_id != connection.chatbot_id:
        return _route(None, reason="missing")  # the tree changed under a running conversation
    chosen = match(_node_choices(node, at_root=node.id == root.id), text, choice_id)
    if chosen is None:
        return _invalid(connection, state, _node_reply(node, at_root=node.id == root.id, invalid=True))
    if chosen.number == BACK:
        return _enter(root, root)
    option: BotOption = chosen.target
    if option.action == "close":
        return Step(replies=_say(_text(option.reply) or _text(connection.farewell)), close=True)
    if option.action == "sector":
        return _route(option.target_sector, option.reply)
    if option.action == "node" and option.target_node is not None:
        step = _enter(option.target_node, root)
        step.replies = _say(_text(option.reply)) + step.replies
        return step
    return _route(None, option.reply)


def _enter(node: BotNode, root: BotNode) -> Step:
    """Arriving at a node: its message; without options, the bot ends with humans."""
    reply = _node_reply(node, at_root=node.id == root.id)
    if not node.options:
        return Step(replies=[reply], handover="leaf")
    return Step(replies=[reply], state={"node": node.id, "invalid": 0})


def _opening(connection: Connection, ticket: Ticket) -> Step:
    """What the bot says to a new ticket."""
    if ticket.bot_mode == "menu":
        return Step(replies=[_sector_menu(connection)], state=dict(ticket.bot_state or {"invalid": 0}))
    if ticket.bot_mode == "chatbot":
        root = _root_node(connection.chatbot_id)
        if root is None:
            return _route(None, reason="missing")
        return _enter(root, root)
    return Step(replies=_say(_text(connection.greeting)))


# -- applying a step -----------------------------------------------------------

def start(ticket_id: int) -> None:
    """A ticket was just created: greet, or open the menu or the chatbot."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != "pending":
        return
    connection = db.session.get(Connection, ticket.connection_id)
    if ticket.bot_mode is None:
        if _flow_skipped_for(connection, ticket.contact_id, ticket.id) is None:
            _apply(ticket, connection, Step(replies=_say(_text(connection.greeting))), bot=False)
        return
    if ticket.bot_turn != 0:
        return
    _apply(ticket, connection, _opening(connection, ticket), bot=True)


def answer(ticket_id: int, text: str, choice_id: str | None = None) -> None:
    """The contact wrote while the bot waits: take the answer (once per turn).

    A message that arrives while the bot's last words are still in the outbox was
    written before the contact could read them: it answers nothing the bot asked, so
    it gets no reply. Two messages sent together thus get one reply even when the
    second is read only after the first was answered (the turn check alone settles
    only the ones read at the same time)."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != "pending" or ticket.bot_mode is None or ticket.bot_turn == 0:
        return  # humans have it, or the opening is not out yet (that one message is enough)
    if _still_speaking(ticket.id):
        return
    connection = db.session.get(Connection, ticket.connection_id)
    state = dict(ticket.bot_state or {})
    if ticket.bot_mode == "menu":
        step = _menu_step(connection, state, text, choice_id)
    else:
        step = _chatbot_step(connection, state, text, choice_id)
    _apply(ticket, connection, step, bot=True)


def _still_speaking(ticket_id: int) -> bool:
    """Whether a bot message of the ticket is still waiting in the outbox."""
    return db.session.scalar(select(Message.id).where(
        Message.ticket_id == ticket_id, Message.direction == "out", Message.from_bot.is_(True),
        Message.status == "queued").limit(1)) is not None


def expire_waiting(now=None, limit: int = 100) -> int:
    """Hand to humans the tickets whose bot got no answer in time; answer how many."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Ticket.id, Ticket.bot_turn).where(Ticket.bot_mode.is_not(None), Ticket.bot_expires_at <= now)
        .order_by(Ticket.bot_expires_at).limit(limit)
    ).all()
    db.session.commit()
    done = 0
    for ticket_id, turn in rows:
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is not None and ticket.bot_turn == turn and ticket.bot_mode is not None:
            connection = db.session.get(Connection, ticket.connection_id)
            done += _apply(ticket, connection, Step(handover="timeout"), bot=True)
    return done


def _apply(ticket: Ticket, connection: Connection, step: Step, *, bot: bool) -> bool:
    """Write one step: the ticket's new bot columns (conditionally), the replies, the
    event; commit; announce. False when another step or a human move came first."""
    before = state.snapshot(ticket)
    now = utcnow()
    values: dict = {"updated_at": now}
    if bot:
        values["bot_turn"] = Ticket.bot_turn + 1
        if step.ends:
            values.update(STOP)
        else:
            timeout = connection.bot_timeout_minutes or 0
            values.update(bot_state=step.state,
                          bot_expires_at=now + timedelta(minutes=timeout) if timeout > 0 else None)
        if step.sector is not None:
            values["sector_id"] = step.sector.id
        if step.close:
            values.update(status="closed", closed_at=now, unread=0)
    replies = [_bot_reply(reply) for reply in step.replies]
    query = update(Ticket).where(Ticket.id == ticket.id)
    if bot:
        query = query.where(Ticket.status == "pending", Ticket.bot_mode.is_not(None),
                            Ticket.bot_turn == ticket.bot_turn)
    if db.session.execute(query.values(**values).execution_options(synchronize_session=False)).rowcount != 1:
        db.session.rollback()
        return False
    messages = [outgoing.compose(ticket, from_bot=True, now=now, **reply) for reply in replies]
    event = _event(ticket, step, before)
    if event is not None:
        db.session.add(event)
    db.session.commit()
    db.session.expire(ticket)
    ticket_data = ticket_json(ticket)
    for message in messages:
        state.announce_message_created(message, ticket_data)
    if bot or messages:
        state.announce_ticket_updated(ticket, before, data=ticket_data, changed=("bot",) if step.ends else ())
    return True


def _bot_reply(reply: Reply) -> dict:
    """What ``outgoing.compose`` needs of a bot's reply: its text, menu and the node's file."""
    fields = {"kind": "text", "body": reply.body, "meta": reply.meta()}
    node = reply.node
    if node is not None and node.media_path:
        fields["kind"] = kind_for(node.media_mime or "application/octet-stream")
        fields["media"] = {"path": node.media_path, "mime": node.media_mime, "name": node.media_name,
                           "size": node.media_size}
    return fields


def farewell(ticket: Ticket) -> Message | None:
    """The connection's farewell, queued on a ticket an attendant closes (in the caller's
    transaction)."""
    text = (db.session.get(Connection, ticket.connection_id).farewell or "").strip()
    if not text:
        return None
    return outgoing.compose(ticket, from_bot=True, **_bot_reply(Reply(body=text, remove_keyboard=True)))


def _event(ticket: Ticket, step: Step, before: dict) -> TicketEvent | None:
    if step.close:
        return TicketEvent(ticket_id=ticket.id, kind="closed", from_status=before["status"], to_status="closed",
                           data={"by_bot": True})
    if step.sector is not None:
        return TicketEvent(ticket_id=ticket.id, kind="bot_routed", from_status=before["status"],
                           to_status="pending", data={"to_sector_id": step.sector.id, "to_sector": step.sector.name})
    if step.handover is not None:
        return TicketEvent(ticket_id=ticket.id, kind="bot_handover", from_status=before["status"],
                           to_status="pending", data={"reason": step.handover})
    return None


# -- keeping a tree sound (the admin pages call this before saving) ------------

def trapped_nodes(chatbot: Chatbot) -> list[BotNode]:
    """Nodes from which no answer can ever reach a human, a sector or a close.

    A node without options hands over to humans; an option to a sector, to humans, to a
    close, or to a deleted target ends the bot. A node escapes when one of its options
    ends the bot or leads to a node that escapes; what is left are cycles with no way out
    (``0`` back to the start does not count: it only loops)."""
    nodes = list(chatbot.nodes)
    escapes = {node.id for node in nodes if not node.options or any(
        option.action != "node" or option.target_node_id is None for option in node.options)}
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if node.id not in escapes and any(o.target_node_id in escapes for o in node.options):
                escapes.add(node.id)
                changed = True
    return [node for node in nodes if node.id not in escapes]
