"""What a parsed webhook becomes: customer messages, echoes of our own side, statuses.

Customer messages go through ``receive_inbound`` (dedupe by external id, contact
and ticket found or created race-safe), except plain ones on tickets that already
exist, which the group commit (``batch``) stores many webhooks at a time. Files are
fetched before the message is stored; a failed fetch keeps the message with a "media
unavailable" marker and the provider's reference, retried later by
``retry_missing_media``. An echo (a message the business sent from outside the app)
is stored as outgoing, or settles our own send whose answer was lost. A reaction's
line is written here, before it is stored, since it quotes the message reacted to.
"""
from __future__ import annotations

import json
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, select, update

from ..extensions import db
from ..media import MediaTooLarge, MediaUnavailable, discard, store, store_base64
from ..models import Connection, Contact, ContactIdentity, Message, Ticket, TicketEvent, utcnow
from ..serializers import ticket_json
from ..tickets import identities, state
from ..tickets.inbound import (active_ticket, correct_message, find_or_create_contact, insert_ignoring_conflict,
                               receive_inbound)
from ..tickets.state import preview_of
from ..tickets.statuses import apply_status, publish_message_updated
from . import batch, inline, parsing, webhook_connections
from .base import Correction, Fetched, Incoming, MediaRef, StatusUpdate, WebhookRejected, backoff_delay
from .parsing import Unreadable, fit_id
from .registry import adapter_for
from .webhook_connections import StaleConnection, WebhookConnection

REACTION_QUOTE = 60  # characters of the reacted-to message a reaction's line quotes


def receive_webhook(connection: WebhookConnection, headers, raw: bytes) -> dict:
    """Authenticate one webhook's body and apply it; answer counts for the response.

    When ``connection`` (maybe kept in memory) turns out stale, the webhook starts
    again from the connection's row, as a redelivery would: what it already stored is
    not stored twice."""
    for _attempt in range(3):
        try:
            return _receive_webhook(connection, headers, raw)
        except StaleConnection:
            webhook_connections.forget(connection)
            connection = webhook_connections.find(connection.kind, connection.token, keep=False)
            if connection is None:
                raise WebhookRejected(404, "unknown connection") from None
    raise WebhookRejected(503, "the connection is being changed; try again")


def _receive_webhook(connection: WebhookConnection, headers, raw: bytes) -> dict:
    adapter = adapter_for(connection)
    parts = {}
    if adapter.spec.inline_media and len(raw) > current_app.config["WEBHOOK_MAX_BYTES"]:
        # Kinds inlining files check a key, not a signature of the body: the body without its
        # files is what they read (channels/inline.py).
        raw, parts = inline.split(raw)
    try:
        adapter.authenticate(headers, raw)
    except WebhookRejected:
        if connection.kept:
            raise StaleConnection(connection.id) from None  # the secret may have changed: ask the row
        raise
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python recurses
        raise WebhookRejected(400, "malformed JSON") from None
    return handle(connection, adapter, payload, parts)


def handle(connection: WebhookConnection, adapter, payload, parts: dict | None = None) -> dict:
    """Apply every readable item of one webhook, in order; answer counts for the response.
    Items that cannot be read are logged (by the adapter) and counted; when no item
    could be read, the answer is 400 (SPEC §8), and nothing was stored. ``parts``: the
    inline files ``inline.split`` took out of the body, by placeholder."""
    counts = {"stored": 0, "duplicates": 0, "statuses": 0, "corrections": 0, "unreadable": 0}
    try:
        items = adapter.parse(payload)
    except RecursionError:
        raise WebhookRejected(400, "nested too deep") from None
    for item in items:
        media = getattr(item, "media", None)
        if parts and media is not None and isinstance(media.inline, str):
            media.inline = parts.get(media.inline, media.inline)
    from ..calls import whatsapp as whatsapp_calls
    from .whatsapp_cloud import CallEvent

    calls = [item for item in items if isinstance(item, CallEvent)]
    items = [item for item in items if not isinstance(item, CallEvent)]
    readable = [fit(item) for item in items if not isinstance(item, Unreadable)]
    unreadable = [item.reason for item in items if isinstance(item, Unreadable)]
    counts["unreadable"] = len(unreadable)
    for reason in unreadable:
        current_app.logger.warning("webhook of connection %s: an item could not be read: %s", connection.id, reason)
    if unreadable and not readable and not calls:
        raise WebhookRejected(400, f"no item of the webhook could be read: {unreadable[0]}"[:300])
    plain = []  # consecutive customer messages the group commit may take
    model = _Loader(connection)
    for item in readable:
        if isinstance(item, Incoming) and item.inbound.reaction is not None:
            describe_reaction(connection.id, item.inbound)
        if isinstance(item, Incoming) and item.inbound.aliases:
            item.inbound.aliases = identities.unlinked(connection.channel, item.inbound.sender_id,
                                                       item.inbound.aliases)
        if _plain(item):
            plain.append(item)
            continue
        _receive_plain(connection, model, adapter, plain, counts)
        plain = []
        if isinstance(item, StatusUpdate):
            changed = apply_status(model().id, item.external_id, item.status, error=item.error,
                                   reference=item.reference)
            counts["statuses"] += changed is not None
            continue
        if isinstance(item, Correction):
            counts["corrections"] += correct_message(model(), item) is not None
            continue
        message = record_echo(model(), adapter, item) if item.from_me else receive(model(), adapter, item)
        counts["stored" if message is not None else "duplicates"] += 1
    _receive_plain(connection, model, adapter, plain, counts)
    for call in calls:  # WhatsApp Business calls (calls/whatsapp.py)
        counts["calls"] = counts.get("calls", 0) + whatsapp_calls.receive(model(), call)
    return counts


def _limit(column) -> int:
    return column.property.columns[0].type.length


def fit(item):
    """``item`` with every value fitting its column: free text cut, ids cut keeping them
    distinct, NUL and lone surrogates removed (SPEC §8: cut, not refused)."""
    if isinstance(item, StatusUpdate):
        item.external_id = fit_id(item.external_id, _limit(Message.external_id))
        item.error = parsing.clean(item.error)
        return item
    if isinstance(item, Correction):
        item.sender_id = fit_id(item.sender_id, _limit(ContactIdentity.external_id))
        item.target = fit_id(item.target, _limit(Message.external_id))
        item.body = parsing.clean(item.body)
        return item
    inbound = item.inbound
    inbound.sender_id = fit_id(inbound.sender_id, _limit(ContactIdentity.external_id))
    inbound.aliases = [fit_id(alias, _limit(ContactIdentity.external_id)) for alias in inbound.aliases]
    inbound.external_id = fit_id(inbound.external_id, _limit(Message.external_id))
    inbound.quoted_external_id = fit_id(inbound.quoted_external_id, _limit(Message.external_id))
    inbound.name = parsing.fit(inbound.name, _limit(Contact.name)) or None
    phone = parsing.clean(inbound.phone)
    inbound.phone = phone if phone and len(phone) <= _limit(Contact.phone) else None  # longer is no phone
    inbound.body = parsing.clean(inbound.body)
    if item.media is not None:
        item.media.mime = parsing.fit(item.media.mime, _limit(Message.media_mime)) or None
        item.media.filename = parsing.fit(item.media.filename, _limit(Message.media_name)) or None
    return item


def describe_reaction(connection_id: int, inbound) -> None:
    """Write a reaction's line, quoting the message it reacts to when this connection
    knows it. Done here, before either path stores it: adapters cannot ask the database."""
    emoji, target = inbound.reaction.get("emoji"), inbound.reaction.get("target")
    if not emoji:
        inbound.body = _("Removed the reaction")
        return
    reacted = target and db.session.execute(
        select(Message.kind, Message.body).where(Message.connection_id == connection_id,
                                                 Message.external_id == target)
    ).first()
    quote = preview_of(reacted.kind, reacted.body) if reacted else ""
    if not quote:
        inbound.body = _("Reacted with %(emoji)s", emoji=emoji)
        return
    quote = quote if len(quote) <= REACTION_QUOTE else quote[:REACTION_QUOTE].rstrip() + "…"
    inbound.body = _("Reacted with %(emoji)s to the message: “%(quote)s”", emoji=emoji, quote=quote)


def _plain(item) -> bool:
    """A customer's message the group commit can store: no file, an external id to dedupe on."""
    return (isinstance(item, Incoming) and not item.from_me and item.media is None
            and not item.inbound.media and bool(item.inbound.external_id)
            and not item.inbound.quoted_external_id and not item.inbound.aliases)


def _receive_plain(connection: WebhookConnection, model, adapter, items: list[Incoming], counts: dict) -> None:
    """Hand ``items`` to the group commit; store the ones it leaves through ``receive``."""
    if not items:
        return
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()  # wait holding no connection (nor SQLite's write lock)
    pending = [batch.Pending(connection, item.inbound) for item in items]
    batch.group_commit_of(current_app).submit(pending)
    for item, done in zip(items, pending):
        if done.outcome == batch.STALE:
            raise StaleConnection(connection.id)
        if done.outcome == batch.SLOW:
            stored = receive(model(), adapter, item) is not None
        else:
            stored = done.outcome == batch.STORED
        counts["stored" if stored else "duplicates"] += 1


class _Loader:
    """The connection's row as a model, loaded (and checked) on first use."""

    def __init__(self, connection: WebhookConnection):
        self.connection = connection
        self.model = None

    def __call__(self) -> Connection:
        if self.model is None:
            self.model = webhook_connections.load(self.connection)
        return self.model


def _known(connection_id: int, external_id: str | None) -> bool:
    return bool(external_id) and db.session.scalar(
        select(Message.id).where(Message.connection_id == connection_id, Message.external_id == external_id)
    ) is not None


def _fetch(adapter, media: MediaRef, kind_hint: str) -> dict:
    if media.inline:  # the channel's own limit for the kind (WhatsApp: documents up to 100 MB)
        text, media.inline = media.inline, None
        return store_base64(text, declared_mime=media.mime, filename=media.filename, kind_hint=kind_hint,
                            limit=adapter.spec.media.max_bytes(kind_hint))
    fetched = Fetched(media.data, media.mime, media.filename) if media.data else adapter.fetch_media(media)
    return store(fetched.data, declared_mime=fetched.mime or media.mime, filename=fetched.filename or media.filename,
                 kind_hint=kind_hint)


def _attach_media(adapter, item: Incoming) -> tuple[dict | None, MediaUnavailable | None]:
    """Fetch and store the item's file into ``item.inbound``; answer (stored, problem)."""
    if item.media is None:
        return None, None
    db.session.commit()  # hold no transaction (nor SQLite's write lock) while downloading
    try:
        stored = _fetch(adapter, item.media, item.inbound.kind)
    except MediaUnavailable as problem:
        current_app.logger.warning("media of %s unavailable: %s", item.inbound.external_id, problem)
        if isinstance(problem, MediaTooLarge):  # the attendant must know a file was sent, and why it is not here
            line = "📎 " + _("File too large to receive: %(name)s", name=item.media.filename or item.inbound.kind)
            item.inbound.body = f"{item.inbound.body}\n{line}" if item.inbound.body else line
        return None, problem
    item.inbound.media = stored
    item.inbound.kind = stored["kind"]
    return stored, None


def receive(connection: Connection, adapter, item: Incoming) -> Message | None:
    """A customer's message; None when it was a redelivery."""
    if item.media is not None and _known(connection.id, item.inbound.external_id):
        return None  # a redelivered file is not downloaded again (receive_inbound dedupes the rest)
    inbound = item.inbound
    if inbound.aliases:  # one person under two identities (a lid and its phone): one contact
        identities.link(connection.channel, inbound.sender_id, inbound.aliases, inbound.name, inbound.phone)
    stored, problem = _attach_media(adapter, item)
    message = receive_inbound(connection, item.inbound)
    if message is None:
        discard(stored and stored["path"])
        return None
    if problem is not None:
        _mark_media_missing(message.id, item, problem)
    return message


def _mark_media_missing(message_id: int, item: Incoming, problem: MediaUnavailable) -> None:
    retry = None
    if not problem.permanent and item.media is not None:
        retry = {"ref": item.media.ref, "mime": item.media.mime, "filename": item.media.filename,
                 "kind": item.inbound.kind}
    delay = backoff_delay(1, current_app.config["MEDIA_RETRY_BASE_S"])
    db.session.execute(
        update(Message).where(Message.id == message_id)
        .values(error=_("media unavailable"), media_ref=retry, attempts=1,
                next_attempt_at=utcnow() + timedelta(seconds=delay) if retry else None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    publish_message_updated(message_id)


# -- echoes: what the business sent from outside the app ------------------------

def record_echo(connection: Connection, adapter, item: Incoming) -> Message | None:
    """Store a message sent from the business phone as outgoing, or settle our own send
    it echoes. None when it was already known."""
    inbound = item.inbound
    if _known(connection.id, inbound.external_id):
        return None
    contact = find_or_create_contact(connection.channel, inbound.sender_id, None, inbound.phone)
    settled = _settle_own_send(connection, contact.id, inbound)
    if settled is not None:
        return publish_message_updated(settled)
    stored, problem = _attach_media(adapter, item)
    ticket_id, created = _ticket_for_echo(contact, connection)
    now = utcnow()
    media = inbound.media or {}
    message_id = insert_ignoring_conflict(
        Message, ["connection_id", "external_id"],
        ticket_id=ticket_id, connection_id=connection.id, direction="out", kind=inbound.kind,
        body=inbound.body or "", external_id=inbound.external_id, status="sent", author_id=None,
        media_path=media.get("path"), media_mime=media.get("mime"), media_name=media.get("name"),
        media_size=media.get("size"), duration=media.get("duration"), voice=inbound.voice,
        created_at=inbound.timestamp or now, attempts=0, from_bot=False,
    )
    if message_id is None:
        db.session.rollback()
        discard(stored and stored["path"])
        return None
    db.session.execute(
        update(Ticket).where(Ticket.id == ticket_id)
        .values(updated_at=now, **state.preview_values(inbound, now))
        .execution_options(synchronize_session=False)
    )
    if created:
        db.session.add(TicketEvent(ticket_id=ticket_id, kind="created", to_status="pending",
                                   data={"contact_id": contact.id}))
    db.session.commit()
    if problem is not None:
        _mark_media_missing(message_id, item, problem)
    message, ticket = db.session.get(Message, message_id), db.session.get(Ticket, ticket_id)
    db.session.refresh(ticket)
    ticket_data = ticket_json(ticket)
    if created:
        state.announce_ticket_created(ticket_data)
    else:
        state.publish_ticket_updated(ticket_data, None, ("last_message", "last_message_at"))
    state.announce_message_created(message, ticket_data)
    return message


def _settle_own_send(connection: Connection, contact_id: int, inbound) -> int | None:
    """Our send in flight (or whose answer was lost) that this echo reports: bind its id."""
    candidate = db.session.scalar(
        select(Message.id).join(Ticket, Message.ticket_id == Ticket.id)
        .where(Ticket.contact_id == contact_id, Message.connection_id == connection.id,
               Message.direction == "out", Message.status == "queued", Message.external_id.is_(None),
               Message.sending_at.is_not(None), Message.kind == inbound.kind, Message.body == (inbound.body or ""))
        .order_by(Message.id).limit(1)
    )
    if candidate is None:
        return None
    result = db.session.execute(
        update(Message).where(Message.id == candidate, Message.external_id.is_(None))
        .values(external_id=inbound.external_id, sending_at=None,
                status=case((Message.status == "queued", "sent"), else_=Message.status))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return candidate if result.rowcount == 1 else None


def _ticket_for_echo(contact, connection) -> tuple[int, bool]:
    """The active ticket, else the latest one (a reply after closing stays in its history),
    else a new one."""
    latest = db.session.scalar(
        select(Ticket.id).where(Ticket.contact_id == contact.id, Ticket.connection_id == connection.id)
        .order_by((Ticket.status == "closed").asc(), Ticket.id.desc()).limit(1)
    )
    if latest is not None:
        return latest, False
    return active_ticket(contact, connection, by_business=True)


# -- retrying files that could not be fetched -----------------------------------

def retry_missing_media(now=None, limit: int = 20) -> int:
    """Fetch again the files of inbound messages marked unavailable; answer how many were tried."""
    now = now or utcnow()
    config = current_app.config
    query = (select(Message.id).where(Message.media_ref.is_not(None), Message.next_attempt_at <= now)
             .order_by(Message.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
    claimed = []
    for message_id in db.session.scalars(query).all():
        won = db.session.execute(
            update(Message).where(Message.id == message_id, Message.media_ref.is_not(None),
                                  Message.next_attempt_at <= now)
            .values(attempts=Message.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=config["OUTBOX_LEASE_S"]))
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            claimed.append(message_id)
    db.session.commit()
    for message_id in claimed:
        _retry_one(message_id, now)
    return len(claimed)


def _retry_one(message_id: int, now) -> None:
    config = current_app.config
    message = db.session.get(Message, message_id)
    saved = dict(message.media_ref or {})
    media = MediaRef(saved.get("ref") or {}, saved.get("mime"), saved.get("filename"))
    adapter = adapter_for(db.session.get(Connection, message.connection_id))
    attempts, media_ref, kind = message.attempts, message.media_ref, message.kind
    db.session.commit()  # hold no transaction (nor SQLite's write lock) while downloading
    try:
        stored = _fetch(adapter, media, saved.get("kind") or kind)
    except MediaUnavailable as problem:
        give_up = problem.permanent or attempts >= config["MEDIA_MAX_ATTEMPTS"]
        delay = backoff_delay(attempts, config["MEDIA_RETRY_BASE_S"])
        db.session.execute(
            update(Message).where(Message.id == message_id)
            .values(media_ref=None if give_up else media_ref,
                    next_attempt_at=None if give_up else now + timedelta(seconds=delay))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return
    db.session.execute(
        update(Message).where(Message.id == message_id)
        .values(media_path=stored["path"], media_mime=stored["mime"], media_name=stored["name"],
                media_size=stored["size"], duration=stored.get("duration"), kind=stored["kind"], media_ref=None,
                error=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    publish_message_updated(message_id)
