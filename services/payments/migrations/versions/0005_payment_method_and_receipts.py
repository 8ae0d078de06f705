"""a payment's method (card or СБП) and the 54-ФЗ receipts of payments and refunds

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('method', sa.String(length=8), nullable=False,
                                   server_default='card'))
        batch.add_column(sa.Column('receipt', sa.JSON(), nullable=True))
    with op.batch_alter_table('refunds') as batch:
        batch.add_column(sa.Column('receipt', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('refunds') as batch:
        batch.drop_column('receipt')
    with op.batch_alter_table('payments') as batch:
        batch.drop_column('receipt')
        batch.drop_column('method')
