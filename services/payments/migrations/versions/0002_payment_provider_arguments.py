"""a payment keeps the customer and saved card it was started with

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('customer_ref', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('card_ref', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payments') as batch:
        batch.drop_column('card_ref')
        batch.drop_column('customer_ref')
