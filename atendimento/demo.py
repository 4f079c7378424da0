"""``flask --app app seed-demo``: a believable demo on an empty database.

Every conversation is played through the service layer (inbound messages, routing,
accept, replies, close), so tickets, timelines and domain events are the real ones.
Only the clock is then turned back, so the demo reads like a few days of work
rather than one second; the content itself lives in ``demo_data``.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click
from sqlalchemy import String, case, cast, delete, func, literal, select, update
from werkzeug.security import generate_password_hash

from . import demo_data as data
from .contacts.tags import add_contact_tag
from .extensions import db
from .models import (BotNode, BotOption, Chatbot, Connection, Contact, Message, Sector, Tag, Ticket, TicketEvent,
                     User, utcnow)
from .tickets import outgoing, service, state
from .tickets.inbound import Inbound, receive_inbound

LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
ADMIN_EMAIL = f"admin@{data.EMAIL_DOMAIN}"
MIN_PASSWORD = 8

# Seconds between two steps of a conversation, by (previous step, this step).
GAPS = {
    ("in", "in"): (20, 90),
    ("in", "route"): (60, 180),
    ("route", "accept"): (60, 300),
    ("accept", "out"): (30, 90),
    ("in", "out"): (60, 240),
    ("out", "in"): (60, 480),
    ("out", "out"): (15, 45),
    ("out", "transfer"): (30, 90),
    ("transfer", "in"): (60, 240),
}
DEFAULT_GAP = (120, 600)  # e.g. the last message before a close


@dataclass
class Step:
    action: str  # in, route, accept, out, transfer, close
    value: str | None
    at: datetime


def seed(password="demo1234") -> str:
    """Fill an empty database with the demo and say how to log in."""
    if len(password or "") < MIN_PASSWORD:
        raise click.BadParameter(f"use at least {MIN_PASSWORD} characters", param_hint="--password")
    admin = _first_admin()
    _refuse_unless_empty(create_admin=admin is None)
    now = utcnow()
    contacts_before = db.session.scalar(select(func.max(Contact.id))) or 0
    demo = _create_setup(password, admin, now - timedelta(days=30))
    created = demo.ids()
    try:
        _play_conversations(demo, now)
    except Exception as exc:
        # The services commit step by step: take the half-built demo out again, so the
        # command can simply be re-run and no demo login is left behind.
        exc.add_note(_undo(created, contacts_before))
        raise
    return _summary(password, demo)


@dataclass
class _Demo:
    sectors: dict[str, Sector]
    attendants: dict[str, User]
    admin: User
    admin_created: bool
    connection: Connection
    tags: dict[str, Tag]
    chatbot: Chatbot
    bot_connection: Connection

    def ids(self) -> dict:
        return {
            Sector: [s.id for s in self.sectors.values()],
            User: [u.id for u in self.attendants.values()] + ([self.admin.id] if self.admin_created else []),
            Connection: [self.connection.id, self.bot_connection.id],
            Tag: [t.id for t in self.tags.values()],
            Chatbot: [self.chatbot.id],
        }


def _create_setup(password: str, admin: User | None, created_at: datetime) -> _Demo:
    # Every demo user shares the password, so one (deliberately slow) hash serves them all.
    password_hash = generate_password_hash(password)
    sectors = _create_sectors(created_at)
    attendants = _create_attendants(sectors, password_hash, created_at)
    admin_created = admin is None
    if admin_created:
        admin = User(name=data.ADMIN_NAME, email=ADMIN_EMAIL, profile="admin", password_hash=password_hash,
                     created_at=created_at)
        db.session.add(admin)
    connection = Connection(kind="generic", flow="human", settings=dict(data.CONNECTION_SETTINGS),
                            token=data.CONNECTION_TOKEN, secret=data.CONNECTION_SECRET, created_at=created_at,
                            sectors=list(sectors.values()), **data.CONNECTION)
    tags = {name: Tag(name=name, color=color) for name, (color, _keys) in data.TAGS.items()}
    chatbot = _create_chatbot(sectors)
    bot_connection = Connection(kind="telegram", name=data.CHATBOT_CONNECTION, flow="chatbot", chatbot=chatbot,
                                settings=dict(data.CHATBOT_CONNECTION_SETTINGS), created_at=created_at,
                                sectors=list(sectors.values()),
                                farewell=data.CONNECTION["farewell"])
    db.session.add_all([connection, bot_connection, *tags.values()])
    db.session.commit()
    return _Demo(sectors, attendants, admin, admin_created, connection, tags, chatbot, bot_connection)


def _create_chatbot(sectors: dict[str, Sector]) -> Chatbot:
    chatbot = Chatbot(name=data.CHATBOT_NAME)
    nodes = {key: BotNode(name=key.capitalize(), message=message, position=position)
             for position, (key, (message, _options)) in enumerate(data.CHATBOT.items())}
    chatbot.nodes = list(nodes.values())
    for key, (_message, options) in data.CHATBOT.items():
        nodes[key].options = [
            BotOption(position=position, title=title, keyword=keyword, action=action, reply=reply,
                      target_node=nodes[target] if action == "node" else None,
                      target_sector=sectors[target] if action == "sector" else None)
            for position, (title, keyword, action, target, reply) in enumerate(options)
        ]
    db.session.add(chatbot)
    return chatbot


def _play_conversations(demo: _Demo, now: datetime) -> None:
    player = _Player(demo, now)
    rng = random.Random(2024)  # the same demo every time
    plans = [(conversation, _plan(conversation, now, rng)) for conversation in data.CONVERSATIONS]
    # Oldest first: a contact's closed ticket must exist before the one it has today.
    for conversation, steps in sorted(plans, key=lambda plan: plan[1][0].at):
        player.play(conversation, steps)
    for name, (_color, contact_keys) in data.TAGS.items():
        for key in contact_keys:
            contact = db.session.get(Contact, player.contact_ids[key])
            add_contact_tag(demo.admin, contact.id, tag_id=demo.tags[name].id)


def _undo(created: dict, contacts_before: int) -> str:
    """Delete what a failed seed added; say what happened for the error output."""
    db.session.rollback()
    try:
        connection_ids = created[Connection]
        contact_ids = list(db.session.scalars(
            select(Ticket.contact_id).where(Ticket.connection_id.in_(connection_ids),
                                            Ticket.contact_id > contacts_before).distinct()
        ))
        # Messages and ticket events go with their tickets, identities and tag links with
        # their contacts, sector links with their users and connection (ON DELETE CASCADE).
        db.session.execute(delete(Ticket).where(Ticket.connection_id.in_(connection_ids)))
        db.session.execute(delete(Contact).where(Contact.id.in_(contact_ids)))
        for model in (Connection, Chatbot, Tag, User, Sector):
            db.session.execute(delete(model).where(model.id.in_(created[model])))
        db.session.commit()
    except Exception as cleanup_error:  # noqa: BLE001 - the original error is the one to raise
        db.session.rollback()
        return (f"seed-demo stopped halfway and could not remove the partial demo ({cleanup_error}); "
                "start again from a fresh database.")
    return "seed-demo stopped halfway; what it had added was removed, the database is as before."


# -- before writing anything ---------------------------------------------------

def _first_admin() -> User | None:
    return db.session.scalar(
        select(User).where(User.profile == "admin", User.active.is_(True)).order_by(User.id).limit(1)
    )


def _refuse_unless_empty(*, create_admin: bool) -> None:
    """Demo data never mixes with a real deployment: no tickets, no name it would reuse."""
    tickets = db.session.scalar(select(func.count()).select_from(Ticket))
    if tickets:
        raise click.ClickException(
            f"the database already has {tickets} ticket(s); seed-demo only fills an empty installation, "
            "so demo conversations never mix with real ones. Point DATABASE_URL at a fresh database."
        )
    emails = [f"{key}@{data.EMAIL_DOMAIN}" for key in data.ATTENDANTS] + ([ADMIN_EMAIL] if create_admin else [])
    sector_names = [name for name, _color, _greeting in data.SECTORS.values()]
    clashes = [
        *db.session.scalars(select(User.email).where(func.lower(User.email).in_(emails))),
        *db.session.scalars(select(Sector.name).where(Sector.name.in_(sector_names))),
        *db.session.scalars(select(Tag.name).where(Tag.name.in_(list(data.TAGS)))),
        *db.session.scalars(select(Connection.name).where(Connection.token == data.CONNECTION_TOKEN)),
    ]
    if clashes:
        raise click.ClickException(
            f"demo data would collide with what is already there ({', '.join(clashes)}); "
            "seed-demo only fills an empty installation."
        )


# -- the people and the channel ------------------------------------------------

def _create_sectors(created_at: datetime) -> dict[str, Sector]:
    sectors = {
        key: Sector(name=name, color=color, greeting=greeting, position=position, created_at=created_at)
        for position, (key, (name, color, greeting)) in enumerate(data.SECTORS.items(), start=1)
    }
    db.session.add_all(sectors.values())
    return sectors


def _create_attendants(sectors: dict, password_hash: str, created_at: datetime) -> dict[str, User]:
    attendants = {
        key: User(name=name, email=f"{key}@{data.EMAIL_DOMAIN}", profile="user", password_hash=password_hash,
                  sectors=[sectors[s] for s in sector_keys], created_at=created_at)
        for key, (name, sector_keys) in data.ATTENDANTS.items()
    }
    db.session.add_all(attendants.values())
    return attendants


# -- conversations ---------------------------------------------------------------

def _start(when, now: datetime) -> datetime:
    if isinstance(when, int):
        return now - timedelta(minutes=when)
    days_ago, clock = when
    hour, minute = (int(part) for part in clock.split(":"))
    local = (now.astimezone(LOCAL_TZ) - timedelta(days=days_ago)).replace(hour=hour, minute=minute, second=0,
                                                                          microsecond=0)
    return local.astimezone(now.tzinfo)


def _plan(conversation: data.Conversation, now: datetime, rng: random.Random) -> list[Step]:
    """The conversation's steps with the time each one happened."""
    steps: list[Step] = []

    def add(action, value=None):
        if steps:
            low, high = GAPS.get((steps[-1].action, action), DEFAULT_GAP)
            at = steps[-1].at + timedelta(seconds=rng.randint(low, high))
        else:
            at = _start(conversation.when, now)
        steps.append(Step(action, value, at))

    routed = conversation.sector is None
    for kind, value in conversation.turns:
        if kind != data.C and not routed:
            add("route", conversation.sector)
            routed = True
        if kind == data.A:
            if not any(step.action == "accept" for step in steps):
                add("accept", conversation.attendant)
            add("out", value)
        elif kind == data.TRANSFER:
            add("transfer", value)
        else:
            add("in", value)
    if not routed:
        add("route", conversation.sector)
    if conversation.status == "closed":
        add("close")
    # Today's conversations must end before the seed ran: slide them back if the gaps overran.
    overrun = steps[-1].at - (now - timedelta(minutes=1))
    if overrun > timedelta(0):
        for step in steps:
            step.at -= overrun
    return steps


class _Player:
    """Plays conversations through the services, then dates what each step wrote."""

    def __init__(self, demo: _Demo, seeded_at: datetime):
        self.connection = demo.connection
        self.admin = demo.admin  # routes waiting tickets to sectors, as an admin does
        self.sectors = demo.sectors
        self.attendants = demo.attendants
        self.seeded_at = seeded_at  # anything dated after this was written by the seed itself
        self.contact_ids: dict[str, int] = {}
        self.external_ids = itertools.count(1)

    def play(self, conversation: data.Conversation, steps: list[Step]) -> None:
        ticket_id = None
        attendant = self.attendants.get(conversation.attendant)
        marks = []  # (wall clock as the step began, the step's demo time)
        previous = None
        for step in steps:
            marks.append((utcnow(), step.at))
            ticket_id = self._do(step, previous, ticket_id, conversation, attendant)
            previous = step.action
        self._date(ticket_id, marks)
        self._settle(ticket_id, conversation, steps)

    def _do(self, step: Step, previous, ticket_id, conversation, attendant) -> int:
        if step.action == "in":
            name, phone = data.CONTACTS[conversation.contact]
            message = receive_inbound(self.connection, Inbound(
                sender_id=phone.lstrip("+"), body=step.value, name=name, phone=phone,
                external_id=f"demo-in-{next(self.external_ids)}", timestamp=step.at,
            ))
            if ticket_id is None:
                self.contact_ids[conversation.contact] = message.ticket.contact_id
            return message.ticket_id
        if step.action == "route":
            service.transfer_to_sector(self.admin, ticket_id, self.sectors[step.value].id)
        elif step.action == "accept":
            service.accept_ticket(attendant, ticket_id)
        elif step.action == "out":
            # Reading resets the unread count (closing clears it anyway, so closed ones skip this).
            if previous != "out" and conversation.status != "closed":
                service.open_conversation(attendant, ticket_id)
            outgoing.send_text(attendant, ticket_id, step.value)
        elif step.action == "transfer":
            service.transfer_to_sector(attendant, ticket_id, self.sectors[step.value].id)
        elif step.action == "close":
            service.close_ticket(attendant or self.admin, ticket_id)
        return ticket_id

    def _date(self, ticket_id: int, marks: list) -> None:
        """Give the messages and events the services wrote (dated by the wall clock) their
        step's demo time: whatever a step wrote is dated at or after the mark taken as it
        began and before the next one. One UPDATE per table and ticket keeps the seed fast."""
        for model in (Message, TicketEvent):
            column = model.created_at
            demo_time = case(*[(column >= mark, literal(at, column.type)) for mark, at in reversed(marks)],
                             else_=column)
            db.session.execute(
                update(model).where(model.ticket_id == ticket_id, column >= self.seeded_at)
                .values(created_at=demo_time).execution_options(synchronize_session=False)
            )

    def _settle(self, ticket_id: int, conversation, steps: list[Step]) -> None:
        """Ticket times follow its steps; outgoing messages show delivery ticks."""
        last = db.session.execute(
            select(Message.id, Message.direction, Message.kind, Message.body, Message.created_at)
            .where(Message.ticket_id == ticket_id).order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
        ).one()
        values = {"created_at": steps[0].at, "updated_at": steps[-1].at, "last_message_at": last.created_at,
                  "last_message": state.preview_of(last.kind, last.body)}
        if conversation.status == "closed":
            values["closed_at"] = steps[-1].at
        db.session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values)
                           .execution_options(synchronize_session=False))
        db.session.execute(
            update(Message).where(Message.ticket_id == ticket_id, Message.direction == "out")
            .values(status="read", attempts=1, next_attempt_at=None,
                    external_id=literal("demo-out-").concat(cast(Message.id, String)))
            .execution_options(synchronize_session=False)
        )
        if conversation.status == "open" and last.direction == "out":
            # The customer has not answered yet: the last reply may still be on its way.
            status = ("sent", "delivered", "read")[ticket_id % 3]
            db.session.execute(update(Message).where(Message.id == last.id).values(status=status)
                               .execution_options(synchronize_session=False))
        contact_id = self.contact_ids[conversation.contact]
        db.session.execute(update(Contact).where(Contact.id == contact_id, Contact.created_at >= self.seeded_at)
                           .values(created_at=steps[0].at).execution_options(synchronize_session=False))
        db.session.commit()


# -- what the command prints -----------------------------------------------------

def _summary(password: str, demo: _Demo) -> str:
    admin, attendants, connection = demo.admin, demo.attendants, demo.connection
    counts = dict(db.session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
    contacts = db.session.scalar(select(func.count()).select_from(Contact))
    lines = [
        f"Demo ready: {len(data.SECTORS)} sectors, {len(attendants)} attendants, connection "
        f"\"{connection.name}\", {contacts} contacts, {sum(counts.values())} tickets "
        f"({counts.get('pending', 0)} Esperando, {counts.get('open', 0)} Em atendimento, "
        f"{counts.get('closed', 0)} Finalizados); the chatbot \"{demo.chatbot.name}\" answers on "
        f"\"{demo.bot_connection.name}\" (Administração → Chatbots).",
        f"Log in at /login with password {password}:" if demo.admin_created
        else f"Log in at /login; the attendants' password is {password}:",
    ]
    if demo.admin_created:
        lines.append(f"  {admin.email:<34} admin (sees every ticket)")
    else:
        lines.append(f"  {admin.email:<34} admin (your existing account and password)")
    for user in attendants.values():
        sectors = ", ".join(sector.name for sector in user.sectors)
        lines.append(f"  {user.email:<34} {user.name} ({sectors})")
    lines.append(f"Test webhook of \"{connection.name}\" (generic): POST /webhooks/generic/{connection.token}, "
                 f"signed with the secret {connection.secret} (README: The first hour).")
    return "\n".join(lines)
