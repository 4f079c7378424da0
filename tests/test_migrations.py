"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from atendimento import create_app
from atendimento.extensions import db

from .conftest import PG_URL, _pg_url

MIGRATION_DB = "atendimento_migrations_test"


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
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations drifted apart: {diff}"
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()
