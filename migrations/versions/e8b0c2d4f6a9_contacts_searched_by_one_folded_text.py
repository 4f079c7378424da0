"""contacts searched by one folded text: search_text and its trigram index

A contact search rechecked every candidate row with lower(f_unaccent(name)), and a common
surname ("Silva", one contact in twenty: 5 000 at 100 k) made that 11.6 ms before any ticket
was read. The database now keeps the three fields folded in one stored column (the name and
e-mail lower case without accents, the phone as it is, chr(31) between them) with one trigram
index: the same 5 000 in 3.1 ms (bench/scale.py). The three expression indexes go.

Revision ID: e8b0c2d4f6a9
Revises: d6f8a0c2e4b7
Create Date: 2026-12-03 09:50:00

"""
from alembic import op


revision = 'e8b0c2d4f6a9'
down_revision = 'd6f8a0c2e4b7'
branch_labels = None
depends_on = None

# A frozen copy of search_schema.PG_CONTACTS as this revision builds it.
UPGRADE = (
    "ALTER TABLE contacts ADD COLUMN IF NOT EXISTS search_text text GENERATED ALWAYS AS "
    "(lower(f_unaccent(coalesce(name, ''))) || chr(31) || coalesce(phone, '') || chr(31) || "
    "lower(f_unaccent(coalesce(email, '')))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_contacts_search_trgm ON contacts USING gin (search_text gin_trgm_ops) "
    "WITH (fastupdate = off)",
    "DROP INDEX IF EXISTS ix_contacts_name_trgm",
    "DROP INDEX IF EXISTS ix_contacts_phone_trgm",
    "DROP INDEX IF EXISTS ix_contacts_email_trgm",
)
DOWNGRADE = (
    "CREATE INDEX IF NOT EXISTS ix_contacts_name_trgm ON contacts USING gin (lower(f_unaccent(name)) gin_trgm_ops) "
    "WITH (fastupdate = off)",
    "CREATE INDEX IF NOT EXISTS ix_contacts_phone_trgm ON contacts USING gin (phone gin_trgm_ops) "
    "WITH (fastupdate = off)",
    "CREATE INDEX IF NOT EXISTS ix_contacts_email_trgm ON contacts USING gin (lower(email) gin_trgm_ops) "
    "WITH (fastupdate = off)",
    "DROP INDEX IF EXISTS ix_contacts_search_trgm",
    "ALTER TABLE contacts DROP COLUMN IF EXISTS search_text",
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":  # SQLite searches its FTS5 trigram table
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
