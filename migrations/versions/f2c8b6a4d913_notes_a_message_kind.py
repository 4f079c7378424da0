"""notes: internal notes are messages of kind note

Revision ID: f2c8b6a4d913
Revises: e5a9c3d71b20
Create Date: 2026-12-02 02:25:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f2c8b6a4d913'
down_revision = 'e5a9c3d71b20'
branch_labels = None
depends_on = None

BEFORE = "'text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'system'"


def _kinds(kinds: str) -> None:
    # SQLite cannot alter a CHECK: batch mode copies the table with the new one.
    with op.batch_alter_table('messages', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN ({kinds})")


def upgrade():
    _kinds(BEFORE + ", 'note'")


def downgrade():
    op.execute("DELETE FROM messages WHERE kind = 'note'")
    _kinds(BEFORE)
