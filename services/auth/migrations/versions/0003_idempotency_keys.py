"""idempotency keys of creating requests; an index on sessions.revoked_at

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
    # the revocation catch-up (auth.revocations_since) filters on it
    op.create_index(op.f('ix_sessions_revoked_at'), 'sessions', ['revoked_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sessions_revoked_at'), table_name='sessions')
    drop_table_v1(op)
