"""Channels: one adapter per kind (``registry.ADAPTERS``) behind ``base.ChannelAdapter``.

``init_app`` wires the area into an app: the webhook and resend blueprints and the
outbox worker (their settings, ``OUTBOX_*``, ``MEDIA_*``, ``WEBHOOK_MAX_BYTES`` and
``INGEST_BATCH_MAX``, are declared in ``config.py``). Nothing heavy is imported at
package import, so ``media`` can use ``channels.http`` without an import cycle.
"""


def init_app(app) -> None:
    from ..extensions import csrf
    from ..outbox import init_outbox
    from ..webhooks import bp as webhooks_bp
    from .routes import bp as channels_bp

    app.register_blueprint(webhooks_bp)
    csrf.exempt(webhooks_bp)  # providers sign their requests; there is no session to forge
    app.register_blueprint(channels_bp)
    init_outbox(app)
