"""Outbound delivery with retries: the outbox.

An attendant's message is stored ``queued`` (``next_attempt_at`` = now). A worker
claims due rows (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
single writer serialises the same statements), and the claim itself is a
conditional UPDATE that bumps ``attempts``, records the attempt (``sending_at``)
and takes a lease (``next_attempt_at`` = now + lease) *before* anything is sent.
The adapter sends; the provider's id is stored with status ``sent``. A failure is
retried with exponential backoff up to ``OUTBOX_MAX_ATTEMPTS``, then ``failed`` with
the provider's reason, for the attendant to resend.

Never twice: a row whose lease ran out while ``sending_at`` is still set is an
attempt in doubt (the worker died mid-send). Kinds whose provider deduplicates our
id (generic) simply send again; kinds that report our sends back by webhook
(WhatsApp Cloud statuses carry our id; Evolution echoes every send) wait
``OUTBOX_RECONCILE_S`` for that report; any other outcome is ``failed`` with an
explicit "may have been delivered" reason, never a blind resend.

Runs in every app process (a background thread, a greenlet under gevent, started
with the first request; ``OUTBOX_WORKER=0`` turns it off) and as a command:
``flask --app app outbox`` (``--once`` to drain and exit). With ``REDIS_URL`` set, app
processes without a worker wake the command's worker through Redis when they queue a
message, so a reply leaves at once rather than at the next look (``OUTBOX_POLL_S``).
"""
from __future__ import annotations

import signal
import threading
from datetime import timedelta

import click
from flask import current_app, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError

from .channels.base import DeliveryError, Outbound, backoff_delay
from .channels.registry import SPECS, adapter_for
from .events import domain_event
from .extensions import db
from .media import absolute, link_token
from .models import Connection, ContactIdentity, Message, Ticket, utcnow
from .tickets.statuses import publish_message_updated


IN_DOUBT = _l("Sending was interrupted and the channel did not confirm it: the message may or may not "
              "have been delivered. Check with the contact before resending.")


def deliver_due(now=None, limit: int | None = None) -> int:
    """Claim and send what is due; answer how many sends were attempted."""
    now = now or utcnow()
    claimed = claim_due(now, limit or current_app.config["OUTBOX_BATCH"])
    for message_id in claimed:
        deliver(message_id, now)
    return len(claimed)


def claim_due(now, limit: int) -> list[int]:
    """Take the lease on due messages (recording the attempt); settle attempts in doubt."""
    rows = db.session.execute(
        select(Message.id, Message.sending_at, Connection.kind)
        .join(Connection, Message.connection_id == Connection.id)
        .where(Message.status == "queued", Message.direction == "out", Message.next_attempt_at <= now)
        .order_by(Message.next_attempt_at, Message.id).limit(limit)
        .with_for_update(skip_locked=True, of=Message)
    ).all()
    claimed, settled = [], []
    for message_id, sending_at, kind in rows:
        if sending_at is not None and not SPECS[kind].idempotent:
            if _settle_in_doubt(message_id, sending_at, kind, now):
                settled.append(message_id)
        elif _claim(message_id, now):
            claimed.append(message_id)
    db.session.commit()
    for message_id in settled:
        publish_message_updated(message_id)
    return claimed


def _claim(message_id: int, now) -> bool:
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_S"])
    result = db.session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "queued", Message.next_attempt_at <= now)
        .values(attempts=Message.attempts + 1, sending_at=now, next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _settle_in_doubt(message_id: int, sending_at, kind: str, now) -> bool:
    """An attempt never finished: wait for the provider's report, or fail it openly.
    True when the message became ``failed``."""
    window = current_app.config["OUTBOX_RECONCILE_S"] if SPECS[kind].reconciles_by_webhook else 0
    deadline = sending_at + timedelta(seconds=window)
    still_in_doubt = (Message.id == message_id, Message.status == "queued", Message.sending_at.is_not(None),
                      Message.next_attempt_at <= now)
    if now < deadline:
        db.session.execute(update(Message).where(*still_in_doubt).values(next_attempt_at=deadline)
                           .execution_options(synchronize_session=False))
        return False
    result = db.session.execute(update(Message).where(*still_in_doubt)
                                .values(status="failed", error=str(IN_DOUBT), sending_at=None)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1


def deliver(message_id: int, now) -> None:
    """Send one claimed message and record the outcome."""
    message = db.session.get(Message, message_id)
    connection = db.session.get(Connection, message.connection_id)
    adapter, enabled = adapter_for(connection), connection.enabled
    try:
        outbound = _outbound(message, connection, adapter)
        db.session.commit()  # no transaction (nor SQLite's write lock) held across the network call
        if not enabled:
            raise DeliveryError(_("The connection is disabled."))
        external_id = adapter.send(outbound)
    except DeliveryError as error:
        _record_failure(message_id, str(error), error.permanent, now)
    except Exception as error:  # noqa: BLE001 - a bug must not stop the queue; the message shows it
        current_app.logger.exception("outbox: sending message %s failed", message_id)
        db.session.rollback()
        _record_failure(message_id, f"{type(error).__name__}: {error}", False, now)
    else:
        _record_success(message_id, external_id)


def _outbound(message: Message, connection: Connection, adapter) -> Outbound:
    ticket = db.session.get(Ticket, message.ticket_id)
    # A person known by a phone and a WhatsApp lid is written to at the phone.
    to = db.session.scalar(select(ContactIdentity.external_id).where(
        ContactIdentity.contact_id == ticket.contact_id, ContactIdentity.channel == connection.channel)
        .order_by(ContactIdentity.external_id.like("%@lid"), ContactIdentity.id).limit(1))
    if to is None:
        raise DeliveryError(_("The contact has no address on this channel."), permanent=True)
    outbound = Outbound(message_id=message.id, to=to, kind=message.kind, text=message.body or "",
                        media_mime=message.media_mime, media_name=message.media_name,
                        voice=bool(message.voice), extra=dict(message.meta or {}))
    request_base = outbound.extra.pop("public_url", None)
    if outbound.extra.get("signature") and outbound.text:  # the attendant signs: "*Ana:*" on top
        outbound.text = f"*{outbound.extra['signature']}:*\n{outbound.text}"
    quoted = db.session.get(Message, message.quoted_id) if message.quoted_id else None
    if quoted is not None and quoted.external_id:
        outbound.quoted_external_id, outbound.quoted_text = quoted.external_id, quoted.body or ""
    if message.media_path:
        path = absolute(message.media_path)
        if path is None or not path.is_file():
            raise DeliveryError(_("The file of this message is missing."), permanent=True)
        outbound.media_path = str(path)
        if adapter.spec.media_by_link:
            outbound.media_url = public_media_url(message.id, request_base)
    return outbound


def public_media_url(message_id: int, request_base: str | None = None) -> str:
    """The link a gateway downloads the file from: at ``PUBLIC_URL``, else at the address
    the request that queued the message came in on (``media.with_request_base``, SPEC §9)."""
    path = url_for("webhooks.media_link", token=link_token(message_id), _external=False)
    public = current_app.config.get("PUBLIC_URL") or request_base
    if public:
        return public.rstrip("/") + path
    if current_app.config.get("SERVER_NAME"):
        return url_for("webhooks.media_link", token=link_token(message_id), _external=True)
    raise DeliveryError(_("Set PUBLIC_URL so the gateway can download the file."), permanent=True)


def _record_success(message_id: int, external_id: str | None) -> None:
    values = {"sending_at": None, "error": None,
              "status": case((Message.status == "queued", "sent"), else_=Message.status)}
    if external_id:
        values["external_id"] = external_id
    statement = (update(Message).where(Message.id == message_id).values(**values)
                 .execution_options(synchronize_session=False))
    try:
        db.session.execute(statement)
        db.session.commit()
    except IntegrityError:
        # The echo of this very send arrived first and was stored on its own: ours is the real one.
        db.session.rollback()
        connection_id = db.session.scalar(select(Message.connection_id).where(Message.id == message_id))
        db.session.execute(delete(Message).where(
            Message.connection_id == connection_id, Message.external_id == external_id,
            Message.id != message_id, Message.author_id.is_(None), Message.direction == "out"))
        db.session.execute(statement)
        db.session.commit()
    publish_message_updated(message_id)


def _record_failure(message_id: int, reason: str, permanent: bool, now) -> None:
    config = current_app.config
    attempts = db.session.scalar(select(Message.attempts).where(Message.id == message_id)) or 0
    values = {"error": reason[:2000], "sending_at": None}
    if permanent or attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = now + timedelta(seconds=backoff_delay(attempts, config["OUTBOX_BACKOFF_S"]))
    db.session.execute(update(Message).where(Message.id == message_id, Message.status == "queued")
                       .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    publish_message_updated(message_id)


# -- the worker ------------------------------------------------------------------

class OutboxWorker:
    """One per process: drains the outbox, retries missing media, sleeps until woken."""

    def __init__(self, app):
        self.app = app
        self.wake_event = threading.Event()
        self.stop_event = threading.Event()
        self.thread = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="outbox", daemon=True)
                self.thread.start()

    def wake(self) -> None:
        self.wake_event.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake_event.set()

    def run(self, once: bool = False) -> None:
        while not self.stop_event.is_set():
            self.wake_event.clear()
            self.run_once()
            if once:
                return
            self.wake_event.wait(self.app.config["OUTBOX_POLL_S"])

    def run_once(self) -> int:
        from .channels.ingest import retry_missing_media
        from .tickets.flow import expire_waiting

        done = 0
        # A request context lets url_for and Babel work outside any request (media URLs, messages).
        with self.app.app_context(), self.app.test_request_context(base_url=self.app.config.get("PUBLIC_URL")):
            try:
                while (count := deliver_due()) > 0:
                    done += count
                retry_missing_media()
                expire_waiting()
            except Exception:  # noqa: BLE001 - the worker outlives a database hiccup
                current_app.logger.exception("outbox worker iteration failed")
                db.session.rollback()
            finally:
                db.session.remove()
        return done


def worker_of(app) -> OutboxWorker:
    return app.extensions.setdefault("outbox", OutboxWorker(app))


def _wake_on_new_message(app, name, ticket_id, data, **_kw):
    # A new outgoing message, or a failed one queued again (Reenviar).
    if name in ("message.created", "message.updated") and data.get("direction") == "out" \
            and data.get("status") == "queued":
        worker = app.extensions.get("outbox")
        if worker is not None and worker.thread is not None:
            worker.wake()
        elif app.config.get("REDIS_URL"):
            wake_elsewhere(app)


# -- waking a worker in another process (``flask --app app outbox`` beside OUTBOX_WORKER=0) --------

def _wake_channel(app) -> tuple:
    """This installation's Redis client and wake-up channel (pub/sub ignores database numbers:
    the channel names it, as the realtime broker's does)."""
    found = app.extensions.get("outbox_wake")
    if found is None:
        import redis

        client = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5, socket_timeout=5)
        db_number = client.connection_pool.connection_kwargs.get("db", 0)
        found = app.extensions["outbox_wake"] = (client, f"{app.config['REALTIME_KEY_PREFIX']}:db{db_number}:outbox")
    return found


def wake_elsewhere(app) -> None:
    """Tell the outbox worker process that a message is queued, so it sends now rather than at
    its next look (OUTBOX_POLL_S); if Redis is away, that look still finds it."""
    client, channel = _wake_channel(app)
    try:
        client.publish(channel, b"1")
    except Exception:  # noqa: BLE001 - the message is stored and queued: the poll delivers it
        app.logger.warning("outbox: could not wake the worker through Redis", exc_info=True)


def listen_for_wakes(app, worker: OutboxWorker) -> threading.Thread:
    """The worker process's side: each message on the channel wakes the worker at once."""
    def listen():
        client, channel = _wake_channel(app)
        while not worker.stop_event.is_set():
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel)
                while not worker.stop_event.is_set():
                    if pubsub.get_message(timeout=1.0) is not None:
                        worker.wake()
            except Exception:  # noqa: BLE001 - Redis away: polling goes on; listen again shortly
                app.logger.warning("outbox: wake-up channel lost, retrying", exc_info=True)
                worker.stop_event.wait(2)

    thread = threading.Thread(target=listen, name="outbox-wake", daemon=True)
    thread.start()
    return thread


domain_event.connect(_wake_on_new_message, weak=False)


def init_outbox(app) -> None:
    """Start this process's worker with its first request (after any fork), unless disabled."""
    worker = worker_of(app)
    if not app.config["OUTBOX_WORKER"]:
        return

    @app.before_request
    def _start_outbox_worker():
        if worker.thread is None:
            worker.start()


@click.command("outbox")
@click.option("--once", is_flag=True, help="Drain what is due and exit.")
def outbox_command(once):
    """Deliver queued messages (and retry missing media) until stopped."""
    worker = worker_of(current_app._get_current_object())
    if once:
        click.echo(f"{worker.run_once()} message(s) sent or retried.")
        return
    # systemctl stop / docker stop: finish the send in hand, then exit (as PID 1 in a container a
    # signal without a handler would be ignored until the SIGKILL).
    signal.signal(signal.SIGTERM, lambda _signum, _frame: worker.stop())
    if current_app.config.get("REDIS_URL"):  # the web processes say when a reply is queued
        listen_for_wakes(current_app._get_current_object(), worker)
    click.echo("Outbox running; Ctrl+C stops it.")
    try:
        worker.run()
    except KeyboardInterrupt:
        worker.stop()
    click.echo("Outbox stopped.")
