"""team SIP line on connections (issue 16): an optional shared SIP account per connection

Revision ID: b8d2f4a6c9e1
Revises: a3c9e5d7f1b4
Create Date: 2026-12-02 16:12:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b8d2f4a6c9e1'
down_revision = 'a3c9e5d7f1b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sip_line', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('sip_line')
