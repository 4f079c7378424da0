"""Fixtures: every database-facing test runs on SQLite + in-process broker and on
PostgreSQL + Redis. PostgreSQL and Redis being unreachable is an error, never a skip.

Under pytest-xdist (``scripts/test`` runs ``-n 3``) each worker has a world of its own:
worker ``gwN`` uses the PostgreSQL database ``<TEST_DATABASE_URL's database>_gwN`` (created
when missing) and the Redis database number of ``TEST_REDIS_URL`` plus N (minus N when that
would pass 15); SQLite files, media and logs are under pytest's ``tmp_path``, per worker too,
and live servers listen on ports the kernel picks. Without xdist (``-n 0``, ``-p no:xdist``)
the two URLs are used as they are."""
from __future__ import annotations

import os
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from atendimento import create_app
from atendimento.extensions import db, limiter

from .factories import Factory

BASE_PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BASE_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Set by pytest-xdist in its workers ("gw0", "gw1", …; and how many there are); unset otherwise.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
REDIS_DATABASES = 16  # Redis' default ``databases``
BACKENDS = ("sqlite", "postgresql")


def worker_database_url(url: str, worker: str = WORKER) -> str:
    """``…/test`` for a run without workers, ``…/test_gw1`` for worker gw1."""
    if not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


def worker_redis_url(url: str, worker: str = WORKER, workers: int = WORKERS) -> tuple[str, str | None]:
    """The Redis URL of ``worker``: a database number of its own (its keys, and its pub/sub since
    the broker's channel names the database), and what is wrong when there are too few numbers."""
    if not worker:
        return url, None
    parts = urlsplit(url)
    base, index = int(parts.path.strip("/") or 0), int(worker.removeprefix("gw"))
    number = base + index if base + workers - 1 < REDIS_DATABASES else base - index
    if number < 0:
        return url, (f"{workers} xdist workers need {workers} Redis databases counting from {base} "
                     f"(TEST_REDIS_URL={url}) and Redis has {REDIS_DATABASES}: run fewer workers (-n)")
    return urlunsplit(parts._replace(path=f"/{number}")), None


PG_URL = worker_database_url(BASE_PG_URL)
REDIS_URL, REDIS_URL_PROBLEM = worker_redis_url(BASE_REDIS_URL)


def _pg_url(url: str = PG_URL) -> str:
    from atendimento.config import normalize_database_url

    return normalize_database_url(url)


def pytest_configure(config):
    """Compile the translations once, before any worker starts: every ``create_app`` compiles
    the stale ones, and two processes doing so at once race on the same temporary file."""
    if not WORKER:
        from atendimento.i18n import compile_translations

        compile_translations()


def _create_worker_database() -> None:
    """CREATE DATABASE this worker's database when it is missing, through the server's
    ``postgres`` database."""
    name = make_url(PG_URL).database
    server = sa.create_engine(make_url(_pg_url(BASE_PG_URL)).set(database="postgres"),
                              isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with server.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        server.dispose()


@pytest.fixture(scope="session")
def services_up():
    """Fail loudly, with the command that fixes it, when PostgreSQL or Redis is down."""
    if REDIS_URL_PROBLEM:
        pytest.fail(REDIS_URL_PROBLEM, pytrace=False)
    try:
        if WORKER:
            _create_worker_database()
        engine = sa.create_engine(_pg_url(), connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means the same to the run
        pytest.fail(f"PostgreSQL unreachable at {PG_URL}: {exc}. Start it: "
                    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", pytrace=False)
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis unreachable at {REDIS_URL}: {exc}. Start it: redis-server --daemonize yes "
                    "--bind 127.0.0.1 --port 6379 --save '' --appendonly no", pytrace=False)
    return True


@pytest.fixture(scope="session")
def pg_schema(services_up):
    """A PostgreSQL schema built from the models once per run (per xdist worker: in its own database)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": _pg_url(), "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return True


def make_overrides(backend: str, tmp_path, request) -> dict:
    overrides = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "MEDIA_DIR": str(tmp_path / "media"),
        "SERVER_NAME": "localhost",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashes: tests create many users
    }
    if backend == "sqlite":
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'test.db'}"
        overrides["REDIS_URL"] = None
    else:
        request.getfixturevalue("pg_schema")
        overrides["SQLALCHEMY_DATABASE_URI"] = _pg_url()
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 25, "max_overflow": 10, "pool_pre_ping": True}
        overrides["REDIS_URL"] = REDIS_URL
    return overrides


def truncate_all() -> None:
    """Empty every table and restart every id sequence, as ``TRUNCATE … RESTART IDENTITY``
    would. A test leaves a handful of rows, and DELETE of a few rows takes ~10 ms where
    TRUNCATE (new files for 18 tables and their indexes) takes 100-250 ms, twice per test."""
    deletes = [f"DELETE FROM {table.name}" for table in reversed(db.metadata.sorted_tables)]
    sequences = db.session.scalars(sa.text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
        "WHERE schemaname = current_schema()")).all()
    restarts = [f"ALTER SEQUENCE {name} RESTART" for name in sequences]
    db.session.execute(sa.text("; ".join(deletes + restarts)))
    db.session.commit()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@contextmanager
def running_app(backend: str, overrides: dict):
    """An app on an empty schema of ``backend``, inside its app context; cleaned up after."""
    app = create_app(overrides)
    with app.app_context():
        if backend == "sqlite":
            db.create_all()
        else:
            truncate_all()
        limiter.reset()  # each test starts with no failed login counted (Redis keeps them otherwise)
        yield app
        app.extensions["realtime"].close()
        db.session.remove()
        if backend == "postgresql":
            truncate_all()
            db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(backend, tmp_path, request):
    with running_app(backend, make_overrides(backend, tmp_path, request)) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def factory(app):
    return Factory()


@pytest.fixture
def flask_cli(app):
    """Run a command as ``flask --app app …`` would, in the test's app."""
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        db.session.commit()  # no open read transaction: SQLite would make the command wait for it
        result = runner.invoke(args=list(args), input=input)
        db.session.expire_all()
        return result

    return invoke


class AuthActions:
    """Log a user in through the real login form."""

    def __init__(self, client):
        self.client = client

    def login(self, user, password="secret123"):
        response = self.client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.data
        return response

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def api(client):
    """``api(user).get(path)``: JSON API calls with a bearer token of ``user``."""
    from atendimento.auth.service import issue_token

    class Api:
        def __init__(self, user):
            _token, raw = issue_token(user)
            self.headers = {"Authorization": f"Bearer {raw}"}

        def _headers(self, kw):
            return {**self.headers, **kw.pop("headers", {})}

        def get(self, path, **kw):
            return client.get("/api/v1" + path, headers=self._headers(kw), **kw)

        def post(self, path, json=None, **kw):
            return client.post("/api/v1" + path, json=json, headers=self._headers(kw), **kw)

        def delete(self, path, **kw):
            return client.delete("/api/v1" + path, headers=self._headers(kw), **kw)

    return Api
