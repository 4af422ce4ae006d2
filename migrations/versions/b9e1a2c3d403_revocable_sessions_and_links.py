"""Revocable sessions and single-use sign-in links

Sign-in sessions are kept on the server (the cookie names one by a random token, stored
hashed) so that signing out, "sign out everywhere", a new password and, for staff, a long
idle spell end them. Sign-in links followed once are recorded, so that each works once
(and again for a short grace).

Sessions signed in before this revision have no row and are refused: everyone signs in
once more. Sign-in links sent before it carry no nonce and are refused as expired.

Revision ID: b9e1a2c3d403
Revises: b9e1a2c3d402
Create Date: 2026-12-02 16:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b9e1a2c3d403'
down_revision = 'b9e1a2c3d402'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('face', sa.String(length=8), nullable=False),
    sa.Column('password_marker', sa.String(length=32), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("face IN ('portal', 'staff')", name=op.f('ck_sign_in_sessions_face_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_sessions_token_hash'))
    )
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_sessions_user_id_ended_at', ['user_id', 'ended_at'], unique=False)

    op.create_table('used_sign_in_links',
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('first_used_at', sa.DateTime(), nullable=False),
    sa.Column('reusable_until', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_used_sign_in_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('nonce', name=op.f('pk_used_sign_in_links'))
    )
    with op.batch_alter_table('used_sign_in_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_sign_in_links_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('used_sign_in_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_sign_in_links_user_id'))

    op.drop_table('used_sign_in_links')
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_sessions_user_id_ended_at')

    op.drop_table('sign_in_sessions')
