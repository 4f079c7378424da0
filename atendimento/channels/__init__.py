"""Channels: one adapter per kind (``registry.ADAPTERS``) behind ``base.ChannelAdapter``.

``init_app`` wires the area into an app: settings, the webhook and resend
blueprints, and the outbox worker. Nothing heavy is imported at package import, so
``media`` can use ``channels.http`` without an import cycle.
"""
import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def init_app(app) -> None:
    from ..extensions import csrf
    from ..outbox import init_outbox
    from ..webhooks import bp as webhooks_bp
    from .routes import bp as channels_bp

    defaults = {
        # The outbox worker runs in each app process; tests drive ``deliver_due`` by hand.
        "OUTBOX_WORKER": os.environ.get("OUTBOX_WORKER", "1") != "0" and not app.testing,
        "OUTBOX_MAX_ATTEMPTS": _env_int("OUTBOX_MAX_ATTEMPTS", 6),
        "OUTBOX_BACKOFF_S": _env_int("OUTBOX_BACKOFF_S", 15),  # 15 s, 30 s, 1 min, 2 min, 4 min
        "OUTBOX_LEASE_S": _env_int("OUTBOX_LEASE_S", 180),  # longer than any single send may take
        "OUTBOX_RECONCILE_S": _env_int("OUTBOX_RECONCILE_S", 900),
        "OUTBOX_POLL_S": _env_int("OUTBOX_POLL_S", 5),
        "OUTBOX_BATCH": _env_int("OUTBOX_BATCH", 20),
        "MEDIA_RETRY_BASE_S": _env_int("MEDIA_RETRY_BASE_S", 30),
        "MEDIA_MAX_ATTEMPTS": _env_int("MEDIA_MAX_ATTEMPTS", 6),
        "MEDIA_LINK_MAX_AGE_S": _env_int("MEDIA_LINK_MAX_AGE_S", 7 * 24 * 3600),
        "WEBHOOK_MAX_BYTES": _env_int("WEBHOOK_MAX_BYTES", 1024 * 1024),
        # Plain customer messages of concurrent webhooks are stored together, up to this many
        # per transaction (channels/batch.py); 1 stores each on its own.
        "INGEST_BATCH_MAX": _env_int("INGEST_BATCH_MAX", 100),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL") or None,  # how gateways reach us (generic media links)
        # Media URLs that arrive in webhooks may reach private addresses (a LAN-only setup).
        "MEDIA_FETCH_PRIVATE": os.environ.get("MEDIA_FETCH_PRIVATE", "0") == "1",
    }
    for key, value in defaults.items():
        app.config.setdefault(key, value)

    app.register_blueprint(webhooks_bp)
    csrf.exempt(webhooks_bp)  # providers sign their requests; there is no session to forge
    app.register_blueprint(channels_bp)
    init_outbox(app)
