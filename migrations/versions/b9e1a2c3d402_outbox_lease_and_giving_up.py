"""Outbox: a sending lease, and messages given up

`claimed_until` is the lease a sender holds while it sends (an admin's Retry respects it);
`given_up_at` says when a message was given up after its last attempt. Messages already
given up before this revision keep an empty `given_up_at`.

Revision ID: b9e1a2c3d402
Revises: b9e1a2c3d401
Create Date: 2026-12-02 16:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b9e1a2c3d402'
down_revision = 'b9e1a2c3d401'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('given_up_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.drop_column('given_up_at')
        batch_op.drop_column('claimed_until')
