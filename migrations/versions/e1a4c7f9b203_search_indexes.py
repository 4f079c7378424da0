"""search indexes: message full-text (tsvector + GIN / FTS5) and contact trigrams, backfilled

Revision ID: e1a4c7f9b203
Revises: c4f1a8e2d7b3
Create Date: 2026-12-02 06:55:00.000000

A frozen copy of atendimento/search_schema.py as it stood here: PostgreSQL gets unaccent and
pg_trgm, the IMMUTABLE wrapper f_unaccent, the atendimento_pt configuration (for headlines),
a stored generated tsvector column (computed for existing rows as the column is added) with
its GIN index, and trigram indexes on contacts; SQLite gets external-content FTS5 tables kept
by triggers, rebuilt from the existing rows.
"""
from alembic import op

revision = 'e1a4c7f9b203'
down_revision = 'c4f1a8e2d7b3'
branch_labels = None
depends_on = None

PG_UP = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE OR REPLACE FUNCTION f_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
    "AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$",
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'atendimento_pt') THEN "
    "CREATE TEXT SEARCH CONFIGURATION atendimento_pt (COPY = portuguese); "
    "ALTER TEXT SEARCH CONFIGURATION atendimento_pt ALTER MAPPING FOR hword, hword_part, word "
    "WITH unaccent, portuguese_stem; END IF; END $$",
    "ALTER TABLE messages ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('portuguese'::regconfig, f_unaccent(translate(coalesce(body, ''), '<>', '  ')))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_messages_search ON messages USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS ix_contacts_name_trgm ON contacts USING gin (lower(f_unaccent(name)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contacts_phone_trgm ON contacts USING gin (phone gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contacts_email_trgm ON contacts USING gin (lower(email) gin_trgm_ops)",
)
PG_DOWN = (
    "DROP INDEX IF EXISTS ix_contacts_email_trgm", "DROP INDEX IF EXISTS ix_contacts_phone_trgm",
    "DROP INDEX IF EXISTS ix_contacts_name_trgm", "DROP INDEX IF EXISTS ix_messages_search",
    "ALTER TABLE messages DROP COLUMN IF EXISTS search_vector",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS atendimento_pt",
    "DROP FUNCTION IF EXISTS f_unaccent(text)",
)


def _triggers(table, fts, columns):
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return (
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
    )


SQLITE_UP = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    *_triggers("messages", "messages_fts", ("body",)),
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE contacts_fts USING fts5(name, phone, email, content='contacts', content_rowid='id', "
    "tokenize='trigram')",
    *_triggers("contacts", "contacts_fts", ("name", "phone", "email")),
    "INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = tuple(f"DROP TRIGGER IF EXISTS {fts}_{t}" for fts in ("messages_fts", "contacts_fts")
                    for t in ("ai", "ad", "au")) + ("DROP TABLE IF EXISTS messages_fts",
                                                    "DROP TABLE IF EXISTS contacts_fts")


def _execute(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    _execute(PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP)


def downgrade():
    _execute(PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN)
