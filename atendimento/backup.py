"""``flask --app app backup PATH`` and ``flask --app app restore PATH``: one archive holds
what an installation cannot lose.

The archive (``.tar.gz``) carries ``manifest.json`` (format, app version, schema
revision, database kind, counts), the database — ``database.pgdump`` (``pg_dump
--format=custom``: one consistent snapshot however busy the app is) or
``database.sqlite3`` (SQLite's online backup API, consistent under writers) — then
``media/`` (MEDIA_DIR, copied after the dump, so every file the dump names is there) and
``instance/secret_key`` when the app signs with the instance key (SECRET_KEY unset):
sessions and signed file links stay valid after a restore.

Restore goes into an empty installation of the same database kind: it refuses a
database (or MEDIA_DIR) that holds data unless forced, refuses an archive whose schema
this code does not know (made by a newer release), and migrates an older one to head.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path, PurePosixPath

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from . import search_schema
from .extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
SECRET_KEY_FILE = "secret_key"
DUMPS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}


class BackupError(click.ClickException):
    """What stopped a backup or restore, said so the operator knows what to do."""


@dataclass
class Restored:
    manifest: dict
    migrated_from: str | None  # the archive's revision when it was older than head
    secret_key: bool
    media_files: int


def app_version() -> str:
    try:
        return metadata.version("atendimento")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- the schema ------------------------------------------------------------------

def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def head_revision() -> str:
    return _scripts().get_current_head()


def database_revision(connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.scalar(sa.text("SELECT version_num FROM alembic_version"))


def _check_revision(revision: str | None) -> bool:
    """True when the archive's schema is older than head (migrate after restoring)."""
    head = head_revision()
    if revision is None:
        raise BackupError("the archive's database was never migrated (no schema revision): it cannot be "
                          "restored safely")
    if revision == head:
        return False
    try:
        known = _scripts().get_revision(revision)
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        known = None
    if known is None:
        raise BackupError(f"the archive's schema (revision {revision}) is newer than this code's ({head}): "
                          "install the release that made the backup (or a later one), then restore")
    return True


# -- backup ----------------------------------------------------------------------

def _dialect() -> str:
    return db.engine.dialect.name


def _libpq_url() -> str:
    """The database URL for the PostgreSQL client programs (no SQLAlchemy driver in it)."""
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(args: list[str], what: str) -> None:
    program = args[0]
    if shutil.which(program) is None:
        raise BackupError(f"{program} not found: install the PostgreSQL client programs "
                          "(Debian: apt-get install postgresql-client) in the server's major version")
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _dump_database(target: Path) -> None:
    if _dialect() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
              "--dbname", _libpq_url()], "pg_dump")
        return
    source = sqlite3.connect(db.engine.url.database)
    try:
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)  # page by page, a consistent snapshot even while the app writes
        copy.close()
    finally:
        source.close()


def _instance_secret() -> str | None:
    """The instance key file's content when it is the key the app signs with."""
    path = Path(current_app.instance_path) / SECRET_KEY_FILE
    if not path.is_file():
        return None
    key = path.read_text().strip()
    return key if key and key == current_app.config["SECRET_KEY"] else None


def _counts(connection) -> dict:
    from .models import Message, Ticket, User

    return {table.__tablename__: connection.scalar(sa.select(sa.func.count()).select_from(table))
            for table in (User, Ticket, Message)}


def _archive_path(path: Path) -> Path:
    if path.is_dir():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        return path / f"atendimento-backup-{stamp}.tar.gz"
    return path


def create_backup(path: str | Path) -> tuple[Path, dict]:
    """Write the archive to ``path`` (a directory gets a dated name inside); answer it and its manifest."""
    target = _archive_path(Path(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    db.session.commit()  # nothing of ours is left open while the dump reads
    dialect = _dialect()
    with db.engine.connect() as connection:
        revision = database_revision(connection)
        counts = _counts(connection)
    if revision is None:
        raise BackupError("the database has no schema revision: run `flask --app app db upgrade` first")
    media_root = Path(current_app.config["MEDIA_DIR"])
    secret_key = _instance_secret()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work:
        dump = Path(work) / DUMPS[dialect]
        _dump_database(dump)
        media = sorted(p for p in media_root.rglob("*") if p.is_file()) if media_root.is_dir() else []
        manifest = {
            "format": FORMAT, "app_version": app_version(), "schema_revision": revision, "database": dialect,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "counts": counts,
            "media_files": len(media), "media_bytes": sum(p.stat().st_size for p in media),
            "secret_key": secret_key is not None,
        }
        partial = Path(work) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
            archive.add(dump, arcname=DUMPS[dialect])
            for file in media:
                archive.add(file, arcname=str(PurePosixPath("media") / file.relative_to(media_root).as_posix()))
            if secret_key is not None:
                _add_bytes(archive, f"instance/{SECRET_KEY_FILE}", secret_key.encode())
        partial.chmod(0o600)  # it holds password hashes, connection secrets and the signing key
        os.replace(partial, target)  # a reader never sees half an archive
    return target, manifest


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(timezone.utc).timestamp())
    archive.addfile(info, io.BytesIO(data))


# -- restore ---------------------------------------------------------------------

def read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        member = archive.getmember(MANIFEST)
        manifest = json.loads(archive.extractfile(member).read())
    except (KeyError, ValueError, AttributeError):
        raise BackupError("not an Atendimento backup: manifest.json is missing or unreadable") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format') if isinstance(manifest, dict) else '?'}: "
                          "made by a newer release?")
    return manifest


def installation_contents() -> list[str]:
    """What the target already holds: tables with rows, files in MEDIA_DIR (empty list = empty)."""
    found, tables = [], {}
    db.session.commit()
    with db.engine.connect() as connection:
        existing = set(sa.inspect(connection).get_table_names())
        for table in db.metadata.sorted_tables:
            if table.name in existing:
                rows = connection.scalar(sa.select(sa.func.count()).select_from(table))
                if rows:
                    tables[table.name] = rows
    if tables:
        named = ", ".join(f"{name} {rows}" for name, rows in sorted(tables.items(), key=lambda t: -t[1])[:4])
        found.append(f"{sum(tables.values())} rows in {len(tables)} tables: {named}"
                     + (", …" if len(tables) > 4 else ""))
    media_root = Path(current_app.config["MEDIA_DIR"])
    files = sum(1 for p in media_root.rglob("*") if p.is_file()) if media_root.is_dir() else 0
    if files:
        found.append(f"{files} file(s) in MEDIA_DIR ({media_root})")
    return found


def _safe_member(member: tarfile.TarInfo, prefix: str) -> PurePosixPath | None:
    """The member's path below ``prefix``, or None for anything that is not a plain file there."""
    path = PurePosixPath(member.name)
    if not member.isfile() or path.is_absolute() or ".." in path.parts or path.parts[:1] != (prefix,):
        return None
    return PurePosixPath(*path.parts[1:]) if len(path.parts) > 1 else None


def _drop_tables() -> None:
    """An empty target may still hold tables (``db upgrade`` ran): the dump brings its own."""
    db.session.remove()
    metadata = sa.MetaData()
    with db.engine.begin() as connection:
        metadata.reflect(connection)
        metadata.drop_all(connection)
        if connection.dialect.name == "postgresql":  # the search function and configuration too
            for statement in search_schema.PG_ROUTINES_DROP:
                connection.exec_driver_sql(statement)


def _restore_database(archive: tarfile.TarFile, dialect: str, work: Path) -> None:
    name = DUMPS[dialect]
    try:
        member = archive.getmember(name)
    except KeyError:
        raise BackupError(f"the archive has no {name}") from None
    dump = work / name
    with archive.extractfile(member) as source, open(dump, "wb") as out:
        shutil.copyfileobj(source, out)
    if dialect == "postgresql":
        _drop_tables()
        _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              "--dbname", _libpq_url(), str(dump)], "pg_restore")
        return
    db.session.remove()
    db.engine.dispose()  # no pooled connection keeps the old pages
    source = sqlite3.connect(dump)
    try:
        target = sqlite3.connect(db.engine.url.database)
        with target:
            source.backup(target)  # replaces the whole file's content, tables and all
        target.close()
    finally:
        source.close()


def _restore_files(archive: tarfile.TarFile) -> tuple[int, bool]:
    media_root = Path(current_app.config["MEDIA_DIR"])
    files, secret = 0, False
    for member in archive.getmembers():
        relative = _safe_member(member, "media")
        if relative is not None:
            destination = media_root.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
            files += 1
        elif member.name == f"instance/{SECRET_KEY_FILE}" and member.isfile():
            key = archive.extractfile(member).read().decode().strip()
            path = Path(current_app.instance_path) / SECRET_KEY_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(key)
            path.chmod(0o600)
            secret = True
    return files, secret


def restore_backup(path: str | Path, *, force: bool = False) -> Restored:
    from flask_migrate import upgrade

    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        archive = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{path} is not a readable archive: {error}") from None
    with archive, tempfile.TemporaryDirectory(prefix="atendimento-restore-") as work:
        manifest = read_manifest(archive)
        dialect = _dialect()
        if manifest.get("database") != dialect:
            raise BackupError(f"the archive holds a {manifest.get('database')} database and this installation "
                              f"uses {dialect}: restore it into the same kind of database")
        older = _check_revision(manifest.get("schema_revision"))
        contents = installation_contents()
        if contents and not force:
            raise BackupError("this installation is not empty (" + "; ".join(contents) + "): restore only into "
                              "a fresh database and MEDIA_DIR, or pass --force to replace everything in them")
        _restore_database(archive, dialect, Path(work))
        files, secret = _restore_files(archive)
    if older:
        upgrade()
    return Restored(manifest, manifest["schema_revision"] if older else None, secret, files)


# -- the commands ----------------------------------------------------------------

@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(path):
    """Write the database, MEDIA_DIR and the instance key into one .tar.gz archive."""
    target, manifest = create_backup(path)
    counts = manifest["counts"]
    size = target.stat().st_size
    shown = f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KiB"
    click.echo(f"Backup written to {target} ({shown}): "
               f"{manifest['database']} schema {manifest['schema_revision']}, app {manifest['app_version']}, "
               f"{counts['users']} users, {counts['tickets']} tickets, {counts['messages']} messages, "
               f"{manifest['media_files']} media files"
               + (", the instance secret key." if manifest["secret_key"] else
                  "; SECRET_KEY comes from the environment: keep it yourself."))


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Restore even over data: the database's tables are replaced, "
              "files of MEDIA_DIR with the same name overwritten.")
@with_appcontext
def restore_command(path, force):
    """Restore an archive made by `backup` into an empty installation (same database kind)."""
    done = restore_backup(path, force=force)
    manifest, counts = done.manifest, done.manifest["counts"]
    click.echo(f"Restored {path}: {counts['users']} users, {counts['tickets']} tickets, "
               f"{counts['messages']} messages, {done.media_files} media files (backup of "
               f"{manifest['created_at']}, app {manifest['app_version']}).")
    if done.migrated_from:
        click.echo(f"The schema was migrated from {done.migrated_from} to {head_revision()}.")
    if done.secret_key:
        click.echo(f"The instance secret key was restored ({Path(current_app.instance_path) / SECRET_KEY_FILE}); "
                   "a SECRET_KEY in the environment still takes precedence.")
    click.echo("Restart the app (and the outbox worker) so they use the restored data.")
