"""Settings from the environment, with safe defaults for the embedded mode.

``SETTINGS`` declares every variable the app reads, once: its type, its default and the
config key it sets. ``Config`` builds the app's config from it, ``setting`` reads one for
the commands that run before an app exists (``serve``), and the README's table lists the
same names (tests/test_config.py checks it). Nothing else reads ``os.environ``.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingError(ValueError):
    """A variable holds something its setting cannot be: names the variable and the value."""


def text(name: str, raw: str) -> str:
    return raw


def integer(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingError(f"{name} must be a whole number, not {raw!r}") from None


def number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number, not {raw!r}") from None


def flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{name} must be 1 or 0, not {raw!r}")


def normalize_database_url(url: str) -> str:
    """Let a plain ``postgresql://`` URL work: the app picks its driver (psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def rate(name: str, raw: str) -> str:
    """A limit as Flask-Limiter reads it: ``5 per 15 minutes``, ``20/hour``."""
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise SettingError(f"{name} must be a limit like '5 per 15 minutes', not {raw!r}") from None
    return raw


def _database_url(name: str, raw: str) -> str:
    return normalize_database_url(raw)


def _instance_secret(instance: Path) -> str:
    """Embedded mode: one random key kept in the instance folder, so sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable
    default: object  # the value when unset or empty; a callable gets the instance folder
    parse: Callable[[str, str], object] = text
    key: str | None = None  # the config key, when it is not the variable's name

    def read(self, environ: Mapping[str, str], instance: Path):
        raw = environ.get(self.name)
        if raw not in (None, ""):
            return self.parse(self.name, raw)
        return self.default(instance) if callable(self.default) else self.default


SETTINGS = (
    Setting("SECRET_KEY", _instance_secret),
    Setting("DATABASE_URL", lambda instance: f"sqlite:///{instance / 'atendimento.db'}", _database_url,
            key="SQLALCHEMY_DATABASE_URI"),
    Setting("REDIS_URL", None),
    Setting("MEDIA_DIR", lambda instance: str(instance / "media")),
    Setting("MAX_UPLOAD_MB", 16, integer),
    Setting("PUBLIC_URL", None),  # how gateways reach us (generic media links); else from the request
    # How many proxies in front set X-Forwarded-For/-Proto/-Host/-Port (nginx: 1); 0 trusts none.
    Setting("TRUSTED_PROXIES", 0, integer),
    Setting("DEFAULT_TIMEZONE", "America/Sao_Paulo"),
    # Failed logins (auth/limits.py): into one account from one address, and from one address.
    Setting("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes", rate),
    Setting("LOGIN_LIMIT_PER_ADDRESS", "20 per 15 minutes", rate),
    # The outbox worker runs in each app process; tests drive ``deliver_due`` by hand.
    Setting("OUTBOX_WORKER", True, flag),
    Setting("OUTBOX_MAX_ATTEMPTS", 6, integer),
    Setting("OUTBOX_BACKOFF_S", 15, integer),  # 15 s, 30 s, 1 min, 2 min, 4 min
    Setting("OUTBOX_LEASE_S", 180, integer),  # longer than any single send may take
    Setting("OUTBOX_RECONCILE_S", 900, integer),
    Setting("OUTBOX_POLL_S", 5, integer),
    Setting("OUTBOX_BATCH", 20, integer),
    Setting("MEDIA_RETRY_BASE_S", 30, integer),
    Setting("MEDIA_MAX_ATTEMPTS", 6, integer),
    Setting("MEDIA_LINK_MAX_AGE_S", 7 * 24 * 3600, integer),
    # Media URLs that arrive in webhooks may reach private addresses (a LAN-only setup).
    Setting("MEDIA_FETCH_PRIVATE", False, flag),
    Setting("WEBHOOK_MAX_BYTES", 1024 * 1024, integer),
    # Plain customer messages of concurrent webhooks are stored together, up to this many
    # per transaction (channels/batch.py); 1 stores each on its own.
    Setting("INGEST_BATCH_MAX", 100, integer),
    Setting("REALTIME_HEARTBEAT_S", 15.0, number),
    Setting("REALTIME_RETRY_MS", 3000, integer),
    Setting("REALTIME_QUEUE_SIZE", 512, integer),  # events a stream may fall behind before it is closed
    Setting("REALTIME_LOG_SIZE", 10000, integer),  # events kept for resuming
    Setting("REALTIME_KEY_PREFIX", "atendimento:realtime"),
    # GET /metrics answers a request that brings ``Authorization: Bearer <METRICS_TOKEN>``, and
    # without it only a direct one from this host (no proxy between: no X-Forwarded-For).
    Setting("METRICS_TOKEN", None),
    # Set by gunicorn.conf.py: where each worker keeps its metrics, for /metrics to sum them.
    Setting("PROMETHEUS_MULTIPROC_DIR", None),
    # ``python -m atendimento.serve`` only (gunicorn.conf.py has its own BIND and PORT).
    Setting("HOST", "127.0.0.1"),
    Setting("PORT", 5000, integer),
)
_BY_NAME = {s.name: s for s in SETTINGS}
FORM_ALLOWANCE = 64 * 1024  # multipart boundaries, headers, a caption, beside a file


def setting(name: str, environ: Mapping[str, str] = os.environ, instance_path: str | Path = "instance"):
    """One declared setting, for code that runs before an app exists."""
    return _BY_NAME[name].read(environ, Path(instance_path))


class Config:
    """Read once per app; tests pass overrides to ``create_app``."""

    def __init__(self, instance_path: str, environ: Mapping[str, str] = os.environ):
        instance = Path(instance_path)
        for declared in SETTINGS:
            setattr(self, declared.key or declared.name, declared.read(environ, instance))
        # A file of exactly MAX_UPLOAD_MB passes: the body may be larger by the form around it
        # (the file's own size is checked against MAX_UPLOAD_MB where it is stored).
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_MB * 1024 * 1024 + FORM_ALLOWANCE
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.BABEL_DEFAULT_LOCALE = "pt_BR"
        self.BABEL_DEFAULT_TIMEZONE = self.DEFAULT_TIMEZONE
        self.LANGUAGES = ["pt_BR", "en"]
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.WTF_CSRF_TIME_LIMIT = None  # a page stays open all day
