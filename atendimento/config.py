"""Settings from the environment, with safe defaults for the embedded mode."""
import os
import secrets
from pathlib import Path


def normalize_database_url(url: str) -> str:
    """Let a plain ``postgresql://`` URL work: the app picks its driver (psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """Read once per app; tests pass overrides to ``create_app``."""

    def __init__(self, instance_path: str):
        env = os.environ
        instance = Path(instance_path)
        self.SECRET_KEY = env.get("SECRET_KEY") or _instance_secret(instance)
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{instance / 'atendimento.db'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.MEDIA_DIR = env.get("MEDIA_DIR") or str(instance / "media")
        self.MAX_UPLOAD_MB = int(env.get("MAX_UPLOAD_MB", "16"))
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_MB * 1024 * 1024
        self.DEFAULT_TIMEZONE = env.get("DEFAULT_TIMEZONE", "America/Sao_Paulo")
        self.BABEL_DEFAULT_LOCALE = "pt_BR"
        self.BABEL_DEFAULT_TIMEZONE = self.DEFAULT_TIMEZONE
        self.LANGUAGES = ["pt_BR", "en"]
        self.LOGIN_MAX_FAILURES = int(env.get("LOGIN_MAX_FAILURES", "5"))
        self.LOGIN_FAILURE_WINDOW_S = int(env.get("LOGIN_FAILURE_WINDOW_S", "900"))
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.WTF_CSRF_TIME_LIMIT = None  # a page stays open all day


def _instance_secret(instance: Path) -> str:
    """Embedded mode: one random key kept in the instance folder, so sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
