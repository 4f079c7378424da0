"""The search indexes: database objects the models cannot declare, kept by the database.

- Messages (SPEC §6.1 ``/search``): on PostgreSQL a stored generated ``tsvector`` column
  (Portuguese configuration over ``f_unaccent(body)``, an IMMUTABLE wrapper of ``unaccent``,
  which is only STABLE and so refused in a generated column; ``<`` and ``>`` read as spaces,
  or the parser would take ``<script>alert(1)</script>`` for tags and skip its words) with a
  GIN index; on SQLite an
  external-content FTS5 table (``unicode61 remove_diacritics 2``) kept by triggers.
- Contacts (name, phone, e-mail): on PostgreSQL a stored generated ``search_text`` (the three
  folded) with a ``pg_trgm`` GIN index; on SQLite an FTS5 table with the ``trigram``
  tokenizer (case-insensitive substrings of three characters or more).
- ``atendimento_pt``: the Portuguese configuration with ``unaccent`` before the stemmer, only
  for ``ts_headline``, which must read the original (accented) text to show it.

``attach`` hooks these to the tables' CREATE, so ``db.create_all()`` (tests) builds them;
the migration ``e1a4c7f9b203`` builds them on an existing database (its own frozen copy).
Leaf module: imports nothing of the app's.
"""
from __future__ import annotations

import sqlalchemy as sa

PG_SETUP = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE OR REPLACE FUNCTION f_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
    "AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$",
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'atendimento_pt') THEN "
    "CREATE TEXT SEARCH CONFIGURATION atendimento_pt (COPY = portuguese); "
    "ALTER TEXT SEARCH CONFIGURATION atendimento_pt ALTER MAPPING FOR hword, hword_part, word "
    "WITH unaccent, portuguese_stem; END IF; END $$",
)
PG_MESSAGES = (
    "ALTER TABLE messages ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('portuguese'::regconfig, f_unaccent(translate(coalesce(body, ''), '<>', '  ')))) STORED",
    # Its pending list (new entries every search reads through until merged) stays short.
    "CREATE INDEX IF NOT EXISTS ix_messages_search ON messages USING gin (search_vector) "
    "WITH (gin_pending_list_limit = 256)",
)
# A contact's name, phone and e-mail as the search compares them (lower case, the name and
# e-mail without accents; chr(31), which nobody types, between them): kept by the database,
# so that checking a candidate row is a plain LIKE, not unaccent() again (a common surname
# rechecks thousands; tickets.search.contact_filter). Written rarely, searched at every
# keystroke: its trigram index takes entries directly, no pending list (migration c4e6a8b0d2f3).
PG_CONTACTS = (
    "ALTER TABLE contacts ADD COLUMN IF NOT EXISTS search_text text GENERATED ALWAYS AS "
    "(lower(f_unaccent(coalesce(name, ''))) || chr(31) || coalesce(phone, '') || chr(31) || "
    "lower(f_unaccent(coalesce(email, '')))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_contacts_search_trgm ON contacts USING gin (search_text gin_trgm_ops) "
    "WITH (fastupdate = off)",
)
# Besides the tables: what a restore drops before pg_restore brings the dump's own (backup.py).
PG_ROUTINES_DROP = ("DROP TEXT SEARCH CONFIGURATION IF EXISTS atendimento_pt",
                    "DROP FUNCTION IF EXISTS f_unaccent(text) CASCADE")


def _fts_triggers(table: str, fts: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """An external-content FTS5 table's triggers: it stores no text of its own, so a delete
    must hand it back the very values it indexed (``old.*``)."""
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return (
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
    )


SQLITE_MESSAGES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(body, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    *_fts_triggers("messages", "messages_fts", ("body",)),
)
SQLITE_CONTACTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5(name, phone, email, content='contacts', "
    "content_rowid='id', tokenize='trigram')",
    *_fts_triggers("contacts", "contacts_fts", ("name", "phone", "email")),
)
SQLITE_REBUILD = ("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
                  "INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")

# What autogenerate must neither drop nor diff (migrations/env.py, tests/test_migrations.py).
TABLE_PREFIXES = ("messages_fts", "contacts_fts")
INDEXES = {"ix_messages_search", "ix_contacts_search_trgm"}
COLUMNS = {("messages", "search_vector"), ("contacts", "search_text")}


def include_name(name, type_, parent_names) -> bool:
    """Alembic's ``include_name``: leave the search objects out of the model comparison."""
    if type_ == "table":
        return not (name or "").startswith(TABLE_PREFIXES)
    if type_ == "index":
        return name not in INDEXES
    if type_ == "column":
        return (parent_names.get("table_name"), name) not in COLUMNS
    return True


def _run(statements):
    def listener(target, connection, **kw):
        for statement in statements:
            connection.exec_driver_sql(statement)
    return listener


def attach(messages: sa.Table, contacts: sa.Table) -> None:
    """Build the indexes whenever the models' tables are created (``db.create_all``)."""
    pg = {"dialect": "postgresql"}
    sqlite = {"dialect": "sqlite"}
    for table, when, statements in (
        (contacts, pg, PG_SETUP + PG_CONTACTS), (messages, pg, PG_SETUP + PG_MESSAGES),
        (contacts, sqlite, SQLITE_CONTACTS), (messages, sqlite, SQLITE_MESSAGES),
    ):
        sa.event.listen(table, "after_create", _only(when["dialect"], _run(statements)))


def _only(dialect, listener):
    def run(target, connection, **kw):
        if connection.dialect.name == dialect:
            listener(target, connection, **kw)
    return run


def repair_sqlite(connection) -> bool:
    """After SQLite batch migrations: a table rebuild (copy, DROP, rename) drops its triggers,
    which would leave the FTS tables silently stale. Put them back and rebuild the indexes."""
    names = {row[0] for row in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    repaired = False
    for table, statements, fts in (("messages", SQLITE_MESSAGES, "messages_fts"),
                                   ("contacts", SQLITE_CONTACTS, "contacts_fts")):
        if fts in names and table in names and not {f"{fts}_ai", f"{fts}_ad", f"{fts}_au"} <= names:
            for statement in statements:
                connection.exec_driver_sql(statement)
            connection.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
            repaired = True
    return repaired
