"""bill photos read by OCR worker processes as jobs

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photo_jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('photo_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(), nullable=False),
    sa.Column('started_at', shared.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', shared.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_photo_jobs_account_id'), 'photo_jobs', ['account_id'], unique=False)
    op.create_index(op.f('ix_photo_jobs_user_id'), 'photo_jobs', ['user_id'], unique=False)
    op.create_index(op.f('ix_photo_jobs_photo_id'), 'photo_jobs', ['photo_id'], unique=False)
    op.create_index(op.f('ix_photo_jobs_created_at'), 'photo_jobs', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('photo_jobs')
