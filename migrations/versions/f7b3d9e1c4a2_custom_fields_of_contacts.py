"""custom fields of contacts, defined by admins (issue 13, part 2)

Revision ID: f7b3d9e1c4a2
Revises: e1a4c7f9b203
Create Date: 2026-12-02 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f7b3d9e1c4a2'
down_revision = 'e1a4c7f9b203'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('custom_fields',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('text', 'number', 'date', 'choice')", name=op.f('ck_custom_fields_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_fields')),
    sa.UniqueConstraint('key', name=op.f('uq_custom_fields_key')),
    sa.UniqueConstraint('name', name=op.f('uq_custom_fields_name'))
    )


def downgrade():
    op.drop_table('custom_fields')
