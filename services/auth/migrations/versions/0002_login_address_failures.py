"""failed logins per client address (the per-address login limit)

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
    op.create_table('login_address_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=False),
    sa.Column('failed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_address_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_address_failures_ip_at', ['client_ip', 'failed_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_login_address_failures_failed_at'), ['failed_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_address_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_address_failures_failed_at'))
        batch_op.drop_index('ix_login_address_failures_ip_at')
    op.drop_table('login_address_failures')
