"""idempotency keys of creating requests

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from shared.idempotency import create_table_v1, drop_table_v1


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table_v1(op)


def downgrade() -> None:
    drop_table_v1(op)
