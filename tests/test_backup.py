"""``flask --app app backup`` / ``restore``: a seeded installation (demo, files, an admin with
their own password) goes into one archive and comes back whole into an empty one — tickets,
messages, file bytes, logins — on SQLite and on PostgreSQL (pg_dump / pg_restore)."""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from atendimento import create_app
from atendimento.auth.service import issue_token
from atendimento.backup import head_revision
from atendimento.extensions import db
from atendimento.models import Message, Ticket, User

from .conftest import PG_URL, _pg_url

DEMO_PASSWORD = "demo1234"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
PDF = b"%PDF-1.4\n" + os.urandom(5000) + b"\n%%EOF\n"


@pytest.fixture
def database_urls(backend, tmp_path, request):
    """Two empty databases of ``backend``: the installation backed up and the one restored into."""
    if backend == "sqlite":
        yield {side: f"sqlite:///{tmp_path / f'{side}.db'}" for side in ("source", "target")}
        return
    request.getfixturevalue("services_up")
    base = PG_URL.rsplit("/", 1)[1]
    names = {side: f"{base}_backup_{side}" for side in ("source", "target")}
    server = sa.create_engine(_pg_url(), isolation_level="AUTOCOMMIT")

    def recreate(drop_only=False):
        with server.connect() as conn:
            for name in names.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                if not drop_only:
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    recreate()
    yield {side: _pg_url(PG_URL.rsplit("/", 1)[0] + "/" + name) for side, name in names.items()}
    recreate(drop_only=True)
    server.dispose()


def installation(url: str, root: Path, secret_key: str):
    """An app as an operator runs it: its own database, MEDIA_DIR and instance folder, with
    the instance key being the one it signs with (SECRET_KEY unset)."""
    instance = root / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "secret_key").write_text(secret_key)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": secret_key,
                      "MEDIA_DIR": str(root / "media"), "REDIS_URL": None, "WTF_CSRF_ENABLED": False})
    app.instance_path = str(instance)
    return app


def run(app, *args):
    """``flask --app app …`` in its own app context, as a new process would run it."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
        db.engine.dispose()
    return result


def snapshot(app) -> dict:
    with app.app_context():
        tickets = [(t.id, t.status, t.contact.name, t.user_id, t.sector_id, t.last_message, t.unread)
                   for t in db.session.scalars(sa.select(Ticket).order_by(Ticket.id))]
        messages = [(m.id, m.ticket_id, m.direction, m.kind, m.body, m.status, m.media_name, m.media_size,
                     m.created_at.isoformat())
                    for m in db.session.scalars(sa.select(Message).order_by(Message.id))]
        users = [(u.id, u.email, u.profile) for u in db.session.scalars(sa.select(User).order_by(User.id))]
        db.session.remove()
    return {"tickets": tickets, "messages": messages, "users": users}


def log_in(app, email, password):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    return client, response


def seed(app) -> dict[int, bytes]:
    """The demo, an admin of the operator's own, and two files an attendant sent."""
    assert run(app, "seed-demo").exit_code == 0
    created = run(app, "create-admin", "--email", "dona@loja.com.br", "--password", "s3nha-da-dona")
    assert created.exit_code == 0, created.output
    sent = {}
    with app.app_context():
        ana = db.session.scalar(sa.select(User).where(User.email == "ana@demo.atendimento.local"))
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.user_id == ana.id, Ticket.status == "open")
                                   .order_by(Ticket.id))
        _token, raw = issue_token(ana)
        client = app.test_client()
        for data, name in ((PNG, "foto.png"), (PDF, "boleto.pdf")):
            response = client.post(f"/api/v1/tickets/{ticket.id}/messages", data={
                "file": (io.BytesIO(data), name), "text": f"segue {name}"},
                headers={"Authorization": f"Bearer {raw}"}, content_type="multipart/form-data")
            assert response.status_code == 201, response.json
            sent[response.json["id"]] = data
        db.session.remove()
    return sent


def test_backup_and_restore_round_trip_a_seeded_installation(database_urls, tmp_path):
    source = installation(database_urls["source"], tmp_path / "source", "chave-da-instalacao")
    with source.app_context():
        upgrade()
    files = seed(source)
    before = snapshot(source)
    archive = tmp_path / "atendimento.tar.gz"

    made = run(source, "backup", str(archive))

    assert made.exit_code == 0, made.output
    assert f"Backup written to {archive}" in made.output and "2 media files" in made.output
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    with source.app_context():
        assert manifest["schema_revision"] == head_revision() and manifest["app_version"] == "0.1.0"
    assert manifest["counts"]["tickets"] == len(before["tickets"]) and manifest["secret_key"] is True

    # The new server: its own key file (made at first start) and a migrated, empty database.
    target = installation(database_urls["target"], tmp_path / "target", "chave-nova-do-servidor")
    with target.app_context():
        upgrade()
    restored = run(target, "restore", str(archive))

    assert restored.exit_code == 0, restored.output
    assert "2 media files" in restored.output
    assert snapshot(target) == before
    assert (tmp_path / "target" / "instance" / "secret_key").read_text() == "chave-da-instalacao"
    # Everyone logs in with the password they had; the files come back byte for byte.
    for email, password in (("dona@loja.com.br", "s3nha-da-dona"), ("ana@demo.atendimento.local", DEMO_PASSWORD),
                            ("admin@demo.atendimento.local", DEMO_PASSWORD)):
        _client, response = log_in(target, email, password)
        assert response.status_code == 302, (email, response.data[:300])
    client, _response = log_in(target, "dona@loja.com.br", "s3nha-da-dona")
    for message_id, data in files.items():
        response = client.get(f"/media/{message_id}")
        assert response.status_code == 200 and response.data == data
    _client, wrong = log_in(target, "dona@loja.com.br", "outra-senha")
    assert wrong.status_code != 302

    # A second restore finds the installation full and changes nothing.
    again = run(target, "restore", str(archive))
    assert again.exit_code != 0
    assert "not empty" in again.output and "--force" in again.output
    assert snapshot(target) == before
    forced = run(target, "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    assert snapshot(target) == before


def _rewrite_manifest(archive: Path, out: Path, **changes) -> None:
    with tarfile.open(archive) as tar, tarfile.open(out, "w:gz") as new:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), **changes}).encode()
                member.size = len(data)
            new.addfile(member, io.BytesIO(data))


def test_restore_refuses_an_archive_from_a_newer_schema_and_migrates_an_older_one(database_urls, tmp_path):
    """A backup made before the last migrations comes back migrated to head; one made by a
    release this code does not know yet is refused before anything is touched."""
    source = installation(database_urls["source"], tmp_path / "source", "k")
    with source.app_context():
        upgrade(revision="a9def227591f")  # the first release's schema
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO users (name, email, password_hash, profile, active, created_at) "
                                 "VALUES ('Velha', 'velha@loja.com.br', 'x', 'admin', :t, CURRENT_TIMESTAMP)"),
                         {"t": True})
        db.engine.dispose()
    archive = tmp_path / "old.tar.gz"
    assert run(source, "backup", str(archive)).exit_code == 0

    target = installation(database_urls["target"], tmp_path / "target", "k")
    newer = tmp_path / "newer.tar.gz"
    _rewrite_manifest(archive, newer, schema_revision="fffffffffff0")
    refused = run(target, "restore", str(newer))
    assert refused.exit_code != 0 and "newer than this code" in refused.output
    with target.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
        db.engine.dispose()

    restored = run(target, "restore", str(archive))

    assert restored.exit_code == 0, restored.output
    with target.app_context():
        assert f"migrated from a9def227591f to {head_revision()}" in restored.output
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == head_revision()
        assert db.session.scalar(sa.select(User.email)) == "velha@loja.com.br"
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_what_is_not_a_backup(app, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    with tarfile.open(junk, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("hello.txt"), io.BytesIO(b""))
    result = app.test_cli_runner().invoke(args=["restore", str(junk)])
    assert result.exit_code != 0 and "not an Atendimento backup" in result.output
    missing = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "nothing.tar.gz")])
    assert missing.exit_code != 0 and "no such file" in missing.output
    other = "postgresql" if db.engine.dialect.name == "sqlite" else "sqlite"
    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        manifest = json.dumps({"format": 1, "database": other, "schema_revision": "a9def227591f"}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    crossed = app.test_cli_runner().invoke(args=["restore", str(foreign)])
    assert crossed.exit_code != 0 and f"holds a {other} database" in crossed.output
