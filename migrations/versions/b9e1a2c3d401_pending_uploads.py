"""Pending uploads kept for a form's retry

Revision ID: b9e1a2c3d401
Revises: a3d8c5e91f20
Create Date: 2026-12-02 16:00:00.000000

- pending_uploads: files a customer chose on a form that came back with an error, kept so the
  retry need not choose them again. Each belongs to one browser (owner_key, a random key in its
  signed session) and one form (form_key); the sweep removes those older than a day.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b9e1a2c3d401'
down_revision = 'a3d8c5e91f20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pending_uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('owner_key', sa.String(length=64), nullable=False),
        sa.Column('form_key', sa.String(length=64), nullable=False),
        sa.Column('original_name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_uploads')),
        sa.UniqueConstraint('token', name=op.f('uq_pending_uploads_token')),
        sa.UniqueConstraint('stored_name', name=op.f('uq_pending_uploads_stored_name')),
    )
    with op.batch_alter_table('pending_uploads', schema=None) as batch_op:
        batch_op.create_index(
            'ix_pending_uploads_owner_form', ['owner_key', 'form_key'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_pending_uploads_created_at'), ['created_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('pending_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_uploads_created_at'))
        batch_op.drop_index('ix_pending_uploads_owner_form')

    op.drop_table('pending_uploads')
