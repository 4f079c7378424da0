"""idempotency keys of sends; quick replies carry a file's type, name and size

Revision ID: b7d2e4f6a813
Revises: f2c8b6a4d913
Create Date: 2026-12-02 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'b7d2e4f6a813'
down_revision = 'f2c8b6a4d913'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_idempotency_keys_message_id_messages'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_keys_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_keys_user_key'),
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('quick_replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_mime', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('media_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('media_size', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('quick_replies', schema=None) as batch_op:
        batch_op.drop_column('media_size')
        batch_op.drop_column('media_name')
        batch_op.drop_column('media_mime')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))
    op.drop_table('idempotency_keys')
