"""The SPEC §2 entities. No business rules here: those live in the services."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .channels.registry import SPECS
from . import search_schema
from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(db.TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which drops the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


PROFILES = ("admin", "user")
CONNECTION_KINDS = tuple(SPECS)  # each declared by its adapter's spec (channels/spec.py)
FLOWS = ("human", "menu", "chatbot")
TICKET_STATUSES = ("pending", "open", "closed")
DIRECTIONS = ("in", "out")
MESSAGE_KINDS = ("text", "image", "audio", "video", "document", "sticker", "location", "system", "note")
MESSAGE_STATUSES = ("queued", "sent", "delivered", "read", "failed", "received")
CALL_CHANNELS = ("sip", "whatsapp")
CALL_OUTCOMES = ("answered", "missed", "rejected", "failed")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


user_sectors = Table(
    "user_sectors",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sectors.id", ondelete="CASCADE"), primary_key=True),
)

connection_sectors = Table(
    "connection_sectors",
    db.metadata,
    Column("connection_id", ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sectors.id", ondelete="CASCADE"), primary_key=True),
)

contact_tags = Table(
    "contact_tags",
    db.metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Sector(db.Model):
    __tablename__ = "sectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    color: Mapped[str] = mapped_column(String(7), default="#2f80ed")
    greeting: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(
        secondary=user_sectors, back_populates="sectors", order_by="User.name"
    )

    def __repr__(self) -> str:
        return f"<Sector {self.id} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("profile", PROFILES), name="profile"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    profile: Mapped[str] = mapped_column(String(10), default="user")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Sign my messages: the customer reads "*Ana:*" above each text the user sends.
    signature: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    sip_account: Mapped[dict | None] = mapped_column(JSON)
    # In every session cookie beside the id; raising it ends the user's sessions (auth/service.py).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sectors: Mapped[list[Sector]] = relationship(
        secondary=user_sectors, back_populates="users", order_by="Sector.position"
    )
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_admin(self) -> bool:
        return self.profile == "admin"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:  # what Flask-Login keeps in the session cookie
        return f"{self.id}:{self.session_epoch}"

    def set_password(self, password: str) -> None:
        # Tests lower the work factor through config; production keeps scrypt.
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @staticmethod
    def generate() -> str:
        return "atd_" + secrets.token_urlsafe(32)


class Connection(db.Model):
    __tablename__ = "connections"
    __table_args__ = (
        CheckConstraint(_in("kind", CONNECTION_KINDS), name="kind"),
        CheckConstraint(_in("flow", FLOWS), name="flow"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_urlsafe(24))
    secret: Mapped[str] = mapped_column(String(128), default=lambda: secrets.token_urlsafe(32))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    flow: Mapped[str] = mapped_column(String(10), default="human")
    greeting: Mapped[str] = mapped_column(Text, default="")
    farewell: Mapped[str] = mapped_column(Text, default="")
    rerun_bot_on_new_ticket: Mapped[bool] = mapped_column(Boolean, default=True)
    # The tree that answers first when ``flow`` is ``chatbot``.
    chatbot_id: Mapped[int | None] = mapped_column(ForeignKey("chatbots.id", ondelete="SET NULL"), index=True)
    # Menu and chatbot: invalid answers tolerated before humans take over, and how long
    # the bot waits for an answer (0 = forever) before handing the ticket to humans.
    bot_max_invalid: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    bot_timeout_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The team's SIP line (calls/sip_account.py): the softphone of a user of this connection's
    # sectors who has no SIP account of their own registers with it; the password is sealed.
    sip_line: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sectors: Mapped[list[Sector]] = relationship(secondary=connection_sectors, order_by="Sector.position")
    chatbot: Mapped[Chatbot | None] = relationship()

    @property
    def spec(self):
        """What the app knows of this connection's kind (channels/spec.py)."""
        return SPECS[self.kind]

    @property
    def channel(self) -> str:
        """Where its contacts are reached: a contact has one identity per channel."""
        return self.spec.channel

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.kind} {self.name}>"


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    color: Mapped[str] = mapped_column(String(7), default="#7f8c8d")


CUSTOM_FIELD_KINDS = ("text", "number", "date", "choice")


class CustomField(db.Model):
    """A contact field that admins define; a contact's value is ``Contact.custom_fields[key]``.
    The key is made from the first name and never changes, so renaming keeps the values."""

    __tablename__ = "custom_fields"
    __table_args__ = (CheckConstraint(_in("kind", CUSTOM_FIELD_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="text")
    choices: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Contact(db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tags: Mapped[list[Tag]] = relationship(secondary=contact_tags, order_by="Tag.name")
    identities: Mapped[list[ContactIdentity]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        return self.name or self.phone or self.email or f"#{self.id}"


class ContactIdentity(db.Model):
    """How a channel names a contact: WhatsApp phone, Telegram chat id, generic sender id."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_contact_identities_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))

    contact: Mapped[Contact] = relationship(back_populates="identities")


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_in("status", TICKET_STATUSES), name="status"),
        # SPEC §2 invariant: at most one ticket that is not closed per (contact, connection).
        Index(
            "uq_tickets_active_contact_connection",
            "contact_id",
            "connection_id",
            unique=True,
            sqlite_where=text("status <> 'closed'"),
            postgresql_where=text("status <> 'closed'"),
        ),
        # Every list is newest activity first with the id as tie-break (queries.list_tickets):
        # a tab walks the first index, the API's list of every status the second, and a list
        # searched by a common name walks either, checking each row's contact (search.contact_filter).
        Index("ix_tickets_status_last_message", "status", "last_message_at", "id"),
        Index("ix_tickets_last_message", "last_message_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sectors.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # While a menu or chatbot handles the ticket: ``bot_mode`` is ``menu``/``chatbot``
    # (None = humans), ``bot_state`` where it stands (node, invalid answers), ``bot_turn``
    # a counter every bot step and every human move bumps, so two concurrent answers
    # (or an answer racing an accept) cannot both act, and ``bot_expires_at`` when an
    # unanswered bot hands the ticket to humans.
    bot_mode: Mapped[str | None] = mapped_column(String(10))
    bot_state: Mapped[dict | None] = mapped_column(JSON)
    bot_turn: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bot_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    unread: Mapped[int] = mapped_column(Integer, default=0)
    last_message: Mapped[str] = mapped_column(String(255), default="")
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact: Mapped[Contact] = relationship()
    connection: Mapped[Connection] = relationship()
    sector: Mapped[Sector | None] = relationship()
    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Ticket {self.id} {self.status}>"


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_in("kind", MESSAGE_KINDS), name="kind"),
        CheckConstraint(_in("status", MESSAGE_STATUSES), name="status"),
        # A redelivered webhook stores nothing twice.
        UniqueConstraint("connection_id", "external_id", name="uq_messages_connection_external_id"),
        Index("ix_messages_ticket_created", "ticket_id", "id"),
        Index("ix_messages_outbox", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    direction: Mapped[str] = mapped_column(String(3))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(10), default="text")
    body: Mapped[str] = mapped_column(Text, default="")
    media_path: Mapped[str | None] = mapped_column(String(255))
    media_mime: Mapped[str | None] = mapped_column(String(120))
    media_name: Mapped[str | None] = mapped_column(String(255))
    media_size: Mapped[int | None] = mapped_column(Integer)
    # Seconds of an audio or video file, when known.
    duration: Mapped[float | None] = mapped_column(Float)
    # An audio recorded as a voice note (sent as one, or received as one), not an audio file.
    voice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Outbox: set when an attempt starts, cleared with its outcome; still set later = in doubt.
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Inbound media not downloaded yet: the provider's reference, kept for the retries.
    media_ref: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # How a channel with native menus renders this message (interactive list, buttons,
    # reply keyboard): {"menu": {"text", "button", "options": [{"id", "title"}]}} or
    # {"remove_keyboard": true}. The body always holds the plain-text version.
    meta: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    quoted_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # A customer's correction: the text as first received (kept for attendants) and when
    # it was edited; a message deleted for everyone stays, marked.
    original_body: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    author: Mapped[User | None] = relationship()
    quoted: Mapped[Message | None] = relationship(remote_side=[id])


class Chatbot(db.Model):
    """A tree of messages and options that answers a new ticket before humans do."""

    __tablename__ = "chatbots"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The first node (lowest position) is where every conversation starts.
    nodes: Mapped[list[BotNode]] = relationship(
        back_populates="chatbot", order_by="(BotNode.position, BotNode.id)", cascade="all, delete-orphan",
        foreign_keys="BotNode.chatbot_id",
    )

    def __repr__(self) -> str:
        return f"<Chatbot {self.id} {self.name}>"


BOT_ACTIONS = ("node", "sector", "human", "close")


class BotNode(db.Model):
    """One step of a chatbot: a message (and optional file) and the options it offers.
    A node without options sends its message and hands the ticket to humans."""

    __tablename__ = "bot_nodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    chatbot_id: Mapped[int] = mapped_column(ForeignKey("chatbots.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    media_path: Mapped[str | None] = mapped_column(String(255))
    media_mime: Mapped[str | None] = mapped_column(String(120))
    media_name: Mapped[str | None] = mapped_column(String(255))
    media_size: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    chatbot: Mapped[Chatbot] = relationship(back_populates="nodes", foreign_keys=[chatbot_id])
    options: Mapped[list[BotOption]] = relationship(
        back_populates="node", order_by="(BotOption.position, BotOption.id)", cascade="all, delete-orphan",
        foreign_keys="BotOption.node_id",
    )


class BotOption(db.Model):
    """An answer a node accepts: its number (its place in the list), its title and an
    optional keyword, and where it leads: another node, a sector, humans, or a close."""

    __tablename__ = "bot_options"
    __table_args__ = (CheckConstraint(_in("action", BOT_ACTIONS), name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("bot_nodes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(80))
    keyword: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(10))
    target_node_id: Mapped[int | None] = mapped_column(ForeignKey("bot_nodes.id", ondelete="SET NULL"))
    target_sector_id: Mapped[int | None] = mapped_column(ForeignKey("sectors.id", ondelete="SET NULL"))
    # A target deleted later (SET NULL) makes the option lead to humans.
    # Sent before the ticket closes (action ``close``) or is handed over (other actions).
    reply: Mapped[str] = mapped_column(Text, default="")

    node: Mapped[BotNode] = relationship(back_populates="options", foreign_keys=[node_id])
    target_node: Mapped[BotNode | None] = relationship(foreign_keys=[target_node_id])
    target_sector: Mapped[Sector | None] = relationship()


class QuickReply(db.Model):
    __tablename__ = "quick_replies"
    __table_args__ = (
        Index(
            "uq_quick_replies_global_shortcut", "shortcut", unique=True,
            sqlite_where=text("user_id IS NULL"), postgresql_where=text("user_id IS NULL"),
        ),
        Index(
            "uq_quick_replies_user_shortcut", "user_id", "shortcut", unique=True,
            sqlite_where=text("user_id IS NOT NULL"), postgresql_where=text("user_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    # A file sent with the text (a price list, a form): copied into each message that uses it.
    media_path: Mapped[str | None] = mapped_column(String(255))
    media_mime: Mapped[str | None] = mapped_column(String(120))
    media_name: Mapped[str | None] = mapped_column(String(255))
    media_size: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class IdempotencyKey(db.Model):
    """A send already made: the same ``Idempotency-Key`` from the same user within 24 h
    answers its message again and sends nothing (SPEC §6.1). The unique index decides
    between two requests that race with one key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class TicketEvent(db.Model):
    """The audit trail: who moved a ticket, from what to what, when."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str | None] = mapped_column(String(10))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


class Call(db.Model):
    """A voice call (SPEC §2): a softphone call over SIP or a WhatsApp Cloud API call, tied to
    a contact and, when known, the ticket it belongs to. Its steps are TicketEvents."""

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(_in("channel", CALL_CHANNELS), name="channel"),
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint("outcome IS NULL OR " + _in("outcome", CALL_OUTCOMES), name="outcome"),
        # A provider's call id names one call per connection: a repeated webhook finds it.
        Index("uq_calls_connection_external", "connection_id", "external_id", unique=True,
              sqlite_where=text("external_id IS NOT NULL"), postgresql_where=text("external_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(3))
    number: Mapped[str] = mapped_column(String(64), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"))
    # Who placed it (outgoing) or answered it (incoming); set by one conditional update.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str | None] = mapped_column(String(10))
    external_id: Mapped[str | None] = mapped_column(String(255))
    # What the provider needs kept between steps (a WhatsApp call's SDP offer, say); never shown raw.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration: Mapped[int | None] = mapped_column(Integer)  # seconds from answer to end

    contact: Mapped[Contact | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
    connection: Mapped[Connection | None] = relationship()
    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.channel} {self.direction} {self.outcome}>"


# The search indexes (tsvector/GIN, FTS5, trigram) are built with these tables: search_schema.py.
search_schema.attach(Message.__table__, Contact.__table__)
