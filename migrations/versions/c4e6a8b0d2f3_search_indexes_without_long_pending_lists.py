"""search indexes without long pending lists (issue 13)

GIN indexes gather new entries in an unsorted pending list that every search reads through
until VACUUM (or 4 MB of them) merges it. At 100 k contacts a freshly filled database kept
8 350 of them, and a contact search took 15.6 ms instead of 0.6 ms. Contacts are written
rarely and searched at every keystroke: their trigram indexes take entries directly
(fastupdate off). Messages are written all day: their index keeps the list, bounded to
256 kB, so an insert still batches its words and a search reads at most that much.

Revision ID: c4e6a8b0d2f3
Revises: b8d2f4a6c9e1
Create Date: 2026-12-02 16:24:00

"""
from alembic import op


revision = 'c4e6a8b0d2f3'
down_revision = 'b8d2f4a6c9e1'
branch_labels = None
depends_on = None

CONTACTS = ("ix_contacts_name_trgm", "ix_contacts_phone_trgm", "ix_contacts_email_trgm")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for index in CONTACTS:
        op.execute(f"ALTER INDEX IF EXISTS {index} SET (fastupdate = off)")
    op.execute("ALTER INDEX IF EXISTS ix_messages_search SET (gin_pending_list_limit = 256)")
    for index in (*CONTACTS, "ix_messages_search"):  # what the lists hold now goes into the index
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass) "
                   f"WHERE to_regclass('{index}') IS NOT NULL")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for index in CONTACTS:
        op.execute(f"ALTER INDEX IF EXISTS {index} RESET (fastupdate)")
    op.execute("ALTER INDEX IF EXISTS ix_messages_search RESET (gin_pending_list_limit)")
