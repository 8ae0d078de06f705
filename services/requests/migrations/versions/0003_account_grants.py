"""the local copy of who may act on which account

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the change that adds the table


def downgrade() -> None:
    pass
