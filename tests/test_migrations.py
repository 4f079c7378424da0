"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from atendimento import create_app
from atendimento.channels.registry import SPECS
from atendimento.extensions import db
from atendimento.search_schema import include_name
from atendimento.models import Connection

from .conftest import PG_URL, _pg_url

# Beside the test database, so runs against different test databases do not drop each other's.
MIGRATION_DB = PG_URL.rsplit("/", 1)[1] + "_migrations"


@pytest.fixture
def empty_database_url(backend, tmp_path, request):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    request.getfixturevalue("services_up")
    admin = sa.create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {MIGRATION_DB} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {MIGRATION_DB}"))
    yield _pg_url(PG_URL.rsplit("/", 1)[0] + "/" + MIGRATION_DB)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {MIGRATION_DB} WITH (FORCE)"))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations drifted apart: {diff}"
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_the_migrated_check_takes_every_registered_kind(empty_database_url):
    """Autogenerate does not compare CHECK constraints, so the drift test above misses a kind
    added beside its adapter without the migration that alters ``ck_connections_kind``."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        upgrade()
        table = Connection.__table__
        with db.engine.connect() as conn:
            for kind in SPECS:
                conn.execute(sa.insert(table).values(name=kind, kind=kind, token=f"t-{kind}"))
            with pytest.raises(IntegrityError):
                conn.execute(sa.insert(table).values(name="x", kind="carrier_pigeon", token="t-x"))
            conn.rollback()
        downgrade(revision="base")
        db.engine.dispose()


def test_the_migrated_check_takes_every_message_kind(empty_database_url):
    """Internal notes are messages of kind ``note`` (SPEC §2): the migrated CHECK takes each
    kind the models know, and refuses an unknown one."""
    from atendimento.models import MESSAGE_KINDS, Contact, Message, Ticket

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            connection_id = conn.execute(sa.insert(Connection.__table__).values(
                name="c", kind="generic", token="t")).inserted_primary_key[0]
            contact_id = conn.execute(sa.insert(Contact.__table__).values(name="x")).inserted_primary_key[0]
            ticket_id = conn.execute(sa.insert(Ticket.__table__).values(
                contact_id=contact_id, connection_id=connection_id, status="open")).inserted_primary_key[0]
            for kind in MESSAGE_KINDS:
                conn.execute(sa.insert(Message.__table__).values(
                    ticket_id=ticket_id, connection_id=connection_id, direction="out", kind=kind, body=kind,
                    status="sent"))
        with db.engine.connect() as conn, pytest.raises(IntegrityError):
            conn.execute(sa.insert(Message.__table__).values(
                ticket_id=ticket_id, connection_id=connection_id, direction="out", kind="fax", body="x",
                status="sent"))
        db.engine.dispose()


SEARCH_INDEX_OPTIONS = {"ix_contacts_search_trgm": ["fastupdate=off"],
                        "ix_messages_search": ["gin_pending_list_limit=256"]}


def _index_options(conn) -> dict:
    rows = conn.execute(sa.text("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:names)"),
                        {"names": list(SEARCH_INDEX_OPTIONS)})
    return {name: options for name, options in rows}


@pytest.mark.parametrize("backend", ["postgresql"])  # GIN is PostgreSQL's; SQLite searches FTS5 tables
def test_search_indexes_keep_short_pending_lists_migrated_or_created(empty_database_url, backend):
    """A GIN pending list is read through by every search until merged: 15.6 ms instead of
    0.6 ms for a contact search at 100 k contacts (bench/scale.py). The migration and
    ``create_all`` (search_schema.py) give the indexes the same options."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            assert _index_options(conn) == SEARCH_INDEX_OPTIONS
        downgrade(revision="base")
        db.metadata.create_all(db.engine)
        with db.engine.connect() as conn:
            assert _index_options(conn) == SEARCH_INDEX_OPTIONS
        db.metadata.drop_all(db.engine)
        db.engine.dispose()
