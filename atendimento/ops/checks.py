"""What "ready" means, checked one named step at a time (SPEC §9).

``/readyz`` runs ``READINESS`` (database, migrations, broker, media); ``flask --app app
doctor`` runs those and ``DOCTOR_ONLY`` (SECRET_KEY, PUBLIC_URL). Each check answers a
``Check``: its name, whether it passed, a short ``summary`` safe to show anyone (no
exception text: /readyz is public), the ``detail`` an operator reads on the server, and
the ``fix`` to apply when it failed.
"""
from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ..extensions import db

PUBLIC_URL_TIMEOUT_S = 5
BROKER_TIMEOUT_S = 2
SHORTEST_SECRET = 16
PLACEHOLDER_SECRETS = {"...", "change-me", "changeme", "secret", "secret-key", "dev", "test"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    summary: str
    detail: str = ""
    fix: str = ""

    def public(self) -> dict:
        return {"ok": self.ok, "summary": self.summary}


def _error(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"


def database_and_migrations() -> list[Check]:
    """One connection answers both: does the database answer, and is its schema at head?"""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    where = url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = _current_revisions(conn)
    except Exception as error:  # noqa: BLE001 - whatever stops the database is the same failure here
        return [Check("database", False, "unreachable", f"{where}: {_error(error)}",
                      "start the database, or set DATABASE_URL to one that answers"),
                Check("migrations", False, "not checked: the database is unreachable", "",
                      "fix the database first")]
    database = Check("database", True, f"{url.get_backend_name()} answers", where)
    heads = head_revisions()
    if current == heads:
        return [database, Check("migrations", True, "at head", ", ".join(sorted(heads)))]
    detail = (f"the database is at {', '.join(sorted(current)) or 'no revision (never migrated)'}, "
              f"the code at {', '.join(sorted(heads))}")
    return [database, Check("migrations", False, "not at head", detail, "flask --app app db upgrade")]


def _current_revisions(conn) -> set[str]:
    from alembic.migration import MigrationContext

    return set(MigrationContext.configure(conn).get_current_heads())


def head_revisions() -> set[str]:
    """The code's migration heads, read from migrations/ once per process."""
    heads = current_app.extensions.get("migration_heads")
    if heads is None:
        from alembic.script import ScriptDirectory

        config = current_app.extensions["migrate"].migrate.get_config()
        heads = current_app.extensions["migration_heads"] = frozenset(ScriptDirectory.from_config(config).get_heads())
    return set(heads)


def broker() -> Check:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return Check("broker", True, "in-process (REDIS_URL unset)", "one process serves every stream")
    import redis

    where = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    client = redis.Redis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT_S, socket_timeout=BROKER_TIMEOUT_S)
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001
        return Check("broker", False, "unreachable", f"{where}: {_error(error)}",
                     "start Redis, or set REDIS_URL to one that answers")
    finally:
        client.close()
    return Check("broker", True, "Redis answers", where)


def media() -> Check:
    folder = Path(current_app.config["MEDIA_DIR"])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".ready-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as error:
        return Check("media", False, "not writable", f"{folder}: {_error(error)}",
                     f"let the app's user write {folder} (chown it), or set MEDIA_DIR to a folder it may write")
    return Check("media", True, "writable", str(folder))


def secret_key() -> Check:
    """Sessions survive restarts and every process signs alike only with one fixed key."""
    key = current_app.config.get("SECRET_KEY") or ""
    fix = "set SECRET_KEY to a long random value, the same for every process: " \
          "python3 -c 'import secrets; print(secrets.token_hex(32))'"
    if len(key) < SHORTEST_SECRET or key.strip().lower() in PLACEHOLDER_SECRETS:
        return Check("secret_key", False, "too short or a placeholder",
                     f"{len(key)} characters; at least {SHORTEST_SECRET} random ones are needed", fix)
    kept = Path(current_app.instance_path) / "secret_key"
    if kept.is_file() and kept.read_text().strip() == key:
        return Check("secret_key", True, "kept in instance/secret_key",
                     f"{kept}: survives restarts on this host; with several hosts (or a container without a "
                     "volume on instance/) set SECRET_KEY instead")
    return Check("secret_key", True, "set by SECRET_KEY")


def public_url() -> Check:
    """Providers fetch files and call back at PUBLIC_URL: it must reach this app from here too."""
    url = current_app.config.get("PUBLIC_URL")
    if not url:
        return Check("public_url", False, "unset", "links to files (generic webhooks' media.url) and the outbox "
                     "worker's messages need it", "set PUBLIC_URL to the https:// address providers reach")
    probe = url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(probe, timeout=PUBLIC_URL_TIMEOUT_S) as response:  # noqa: S310 - ours
            body = response.read(4096)
    except (OSError, ValueError) as error:  # urllib's are OSErrors (TLS, refused, HTTP status); a bad URL ValueError
        return Check("public_url", False, "unreachable", f"GET {probe}: {_error(error)}",
                     "check DNS, the proxy (deploy/nginx/atendimento.conf) and its certificate, "
                     "or correct PUBLIC_URL")
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or answer.get("status") != "ok":
        return Check("public_url", False, "answered, but not as Atendimento", f"GET {probe}: {body[:80]!r}",
                     "PUBLIC_URL must lead to this app (the proxy's location / → gunicorn)")
    expected = urlsplit(url)
    seen = f"{answer.get('scheme')}://{answer.get('host')}"
    if (answer.get("scheme"), answer.get("host")) != (expected.scheme, expected.netloc):
        return Check("public_url", False, "reachable, but the app sees another address", f"the app sees {seen}",
                     "with a proxy in front set TRUSTED_PROXIES=1 and pass X-Forwarded-Proto/-Host "
                     "(deploy/nginx/atendimento.conf); else correct PUBLIC_URL")
    return Check("public_url", True, "reachable", probe)


def readiness() -> list[Check]:
    return [*database_and_migrations(), broker(), media()]


def doctor() -> list[Check]:
    return [*readiness(), secret_key(), public_url()]
