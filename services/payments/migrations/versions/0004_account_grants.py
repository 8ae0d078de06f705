"""the local copy of who may act on which account

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the change that adds the table


def downgrade() -> None:
    pass
