"""Fixtures: every database-facing test runs on SQLite + in-process broker and on
PostgreSQL + Redis. PostgreSQL and Redis being unreachable is an error, never a skip."""
from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
import redis
import sqlalchemy as sa

from atendimento import create_app
from atendimento.extensions import db

from .factories import Factory

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ("sqlite", "postgresql")


def _pg_url(url: str = PG_URL) -> str:
    from atendimento.config import normalize_database_url

    return normalize_database_url(url)


@pytest.fixture(scope="session")
def services_up():
    """Fail loudly, with the command that fixes it, when PostgreSQL or Redis is down."""
    try:
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
    """A PostgreSQL schema built from the models once per run."""
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
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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
        yield app
        app.extensions["realtime"].close()  # its heartbeat (and Redis subscriber) threads
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

        def get(self, path, **kw):
            return client.get("/api/v1" + path, headers=self.headers, **kw)

        def post(self, path, json=None, **kw):
            return client.post("/api/v1" + path, json=json, headers=self.headers, **kw)

        def delete(self, path, **kw):
            return client.delete("/api/v1" + path, headers=self.headers, **kw)

    return Api
