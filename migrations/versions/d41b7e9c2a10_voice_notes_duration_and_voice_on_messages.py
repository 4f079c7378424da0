"""voice notes: duration and voice on messages

Revision ID: d41b7e9c2a10
Revises: c6dbed2426f8
Create Date: 2026-12-02 01:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd41b7e9c2a10'
down_revision = 'c6dbed2426f8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duration', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('voice', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('voice')
        batch_op.drop_column('duration')
