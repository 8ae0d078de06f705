"""the local copy of who may act on which account

Revision ID: 0004
Revises: 0003
"""
from alembic import op
from shared.grants import create_tables_v1, drop_tables_v1


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_v1(op)


def downgrade() -> None:
    drop_tables_v1(op)
