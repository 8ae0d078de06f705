"""reminders sent per account and period

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reminders_sent',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('sent_at', shared.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'period')
    )


def downgrade() -> None:
    op.drop_table('reminders_sent')
