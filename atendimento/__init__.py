"""Atendimento: a self-hosted customer-service inbox."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Config
from .extensions import babel, csrf, db, login_manager, migrate
from .i18n import TRANSLATIONS, compile_translations
from .request_text import CleanRequest

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.request_class = CleanRequest  # no NUL or lone surrogate reaches a route (request_text.py)
    app.config.from_object(Config(app.instance_path))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    compile_translations()
    overrides = overrides or {}
    app.config.update(overrides)
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies > 0:  # the client's address and scheme as the proxies in front saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,
                                x_port=proxies)
    if app.testing and "OUTBOX_WORKER" not in overrides:
        app.config["OUTBOX_WORKER"] = False  # tests drive ``outbox.deliver_due`` by hand

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    from .auth import limits

    limits.init_app(app)  # failed logins per account and per address (Redis or memory)

    with app.app_context():
        _tune_sqlite(db.engine)
        _tune_postgresql(db.engine)

    from . import models  # noqa: F401  (models registered before migrations look)
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .cli import register_cli
    from .tickets import bp as tickets_bp
    from .web import register_web
    # Pages in /admin, /profile and the composer, and API routes: imported before any is registered.
    from .quick_replies import routes as _quick_reply_routes  # noqa: F401

    app.register_blueprint(auth_bp)
    app.register_blueprint(tickets_bp)
    from .admin import bp as admin_bp
    from .profile import bp as profile_bp

    app.register_blueprint(admin_bp)
    app.register_blueprint(profile_bp)
    from .calls import bp as calls_bp

    app.register_blueprint(calls_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # bearer tokens only: no cookie, nothing to forge
    register_web(app)
    register_cli(app)
    from . import ops

    ops.init_app(app)  # /healthz, /readyz, /metrics and `doctor`
    from . import realtime

    realtime.init_app(app)  # the broker, its domain-event listener and GET /stream
    from . import channels

    channels.init_app(app)  # webhooks in, resend, the outbox worker
    return app


@login_manager.user_loader
def _load_user(session_id: str):
    from .auth.service import user_for_session

    return user_for_session(session_id)  # None once the user's sessions were ended


def _request_user():
    if not has_request_context():
        return None
    user = getattr(g, "api_user", None)
    if user is None and current_user and current_user.is_authenticated:
        user = current_user
    return user


def _select_locale():
    """The user's chosen language; Brazilian Portuguese for everyone else."""
    user = _request_user()
    if user is not None and user.language:
        return user.language
    if has_request_context() and request.args.get("lang") in ("pt_BR", "en"):
        return request.args["lang"]
    return "pt_BR"


def _select_timezone():
    user = _request_user()
    return user.timezone if user is not None and user.timezone else None


def _tune_sqlite(engine) -> None:
    """SQLite as a real embedded database: foreign keys on, WAL, waits instead of
    failing when busy, and write transactions that start as writers (BEGIN IMMEDIATE)
    so two webhook deliveries queue up rather than deadlock on a lock upgrade.

    SQLite's own busy wait sleeps inside C, which under gevent freezes the whole process,
    the greenlet holding the lock included, until the timeout. So it is kept short and a
    busy BEGIN is retried with ``time.sleep`` (cooperative once gevent has patched it)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SLICE_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        _begin_immediate(conn.connection.dbapi_connection)


def _tune_postgresql(engine) -> None:
    """Every statement planned for its own values: no server-side prepared statements.

    psycopg prepares a statement on the server after its fifth run on a connection, and
    after five runs of that PostgreSQL may keep one generic plan, made without the values;
    psycopg forgets them at a rollback but not at a commit, so a connection that serves
    writes, or a batch of webhooks in one transaction, keeps them. Our plans hang on the
    values: the search walks a range of recent message ids before it asks the GIN index,
    the closed tab counts a bounded range. With a generic plan a search took 40-45 ms instead
    of 6-7 (bench/search.py shows both). Planning each time costs well under a millisecond."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.prepare_threshold = None


SQLITE_BUSY_SLICE_MS = 50  # longest single wait inside SQLite (blocking, even under gevent)
SQLITE_BUSY_PATIENCE_S = 30  # how long a writer waits in all for the lock


def _begin_immediate(dbapi_connection) -> None:
    deadline = time.monotonic() + SQLITE_BUSY_PATIENCE_S
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(0.002)  # let the holder (maybe a greenlet of this very process) finish
