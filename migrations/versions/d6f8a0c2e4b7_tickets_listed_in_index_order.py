"""tickets listed in index order: the id in the tab index, and an index for every status

Every ticket list is newest activity first with the id as tie-break. The tab index had no
id (a sort of each run of equal times), and the API's list of every status had no index at
all: 20 ms at 100 k tickets to sort them all for a page of 50, 0.1 ms with the index. A list
searched by a common name ("Silva") walks these indexes too, checking each row's contact.

Revision ID: d6f8a0c2e4b7
Revises: c4e6a8b0d2f3
Create Date: 2026-12-03 09:30:00

"""
from alembic import op


revision = 'd6f8a0c2e4b7'
down_revision = 'c4e6a8b0d2f3'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_tickets_status_last_message", table_name="tickets")
    op.create_index("ix_tickets_status_last_message", "tickets", ["status", "last_message_at", "id"])
    op.create_index("ix_tickets_last_message", "tickets", ["last_message_at", "id"])


def downgrade():
    op.drop_index("ix_tickets_last_message", table_name="tickets")
    op.drop_index("ix_tickets_status_last_message", table_name="tickets")
    op.create_index("ix_tickets_status_last_message", "tickets", ["status", "last_message_at"])
