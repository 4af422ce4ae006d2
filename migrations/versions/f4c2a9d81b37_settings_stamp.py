"""Settings stamp; at-risk indexes carry the next due time; drop the plain owner index

Revision ID: f4c2a9d81b37
Revises: e7a1c0d2b3f4
Create Date: 2026-11-23 03:40:00.000000

- settings_stamp: one row, renewed whenever calendars, hours, holidays, service levels,
  categories, teams or staff change, so that staff pages may keep those settings in memory and
  reread them only when the stamp differs.
- The three (met, due, status, category) indexes of e7a1c0d2b3f4 are made again with the
  other time frames' columns after them: a page of at-risk cases is then chosen, sorted by the
  next due time, from these indexes alone, instead of from every open case.
- ix_cases_owner_id is dropped: ix_cases_owner_status_due starts with owner_id and serves every
  look-up by owner, and the narrower index led SQLite's planner to read all of an agent's cases,
  open or closed, from the table. Plain DROP INDEX, not a batch operation (see e7a1c0d2b3f4).
"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f4c2a9d81b37'
down_revision = 'e7a1c0d2b3f4'
branch_labels = None
depends_on = None

# (name, columns before, columns after)
WIDENED_INDEXES = (
    ('ix_cases_unacknowledged_due',
     ['acknowledged_at', 'acknowledge_due_at', 'status', 'category_id'],
     ['acknowledged_at', 'acknowledge_due_at', 'status', 'category_id',
      'first_responded_at', 'first_response_due_at', 'resolve_due_at']),
    ('ix_cases_unanswered_due',
     ['first_responded_at', 'first_response_due_at', 'status', 'category_id'],
     ['first_responded_at', 'first_response_due_at', 'status', 'category_id',
      'acknowledged_at', 'acknowledge_due_at', 'resolve_due_at']),
    ('ix_cases_unresolved_due',
     ['resolved_at', 'resolve_due_at', 'status', 'category_id'],
     ['resolved_at', 'resolve_due_at', 'status', 'category_id',
      'acknowledged_at', 'acknowledge_due_at', 'first_responded_at', 'first_response_due_at']),
)


def upgrade():
    settings_stamp = op.create_table(
        'settings_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_settings_stamp')),
    )
    op.bulk_insert(settings_stamp, [{'id': 1, 'stamp': secrets.randbits(62)}])
    for name, _before, after in WIDENED_INDEXES:
        op.drop_index(name, table_name='cases')
        op.create_index(name, 'cases', after, unique=False)
    op.drop_index('ix_cases_owner_id', table_name='cases')


def downgrade():
    op.create_index('ix_cases_owner_id', 'cases', ['owner_id'], unique=False)
    for name, before, _after in WIDENED_INDEXES:
        op.drop_index(name, table_name='cases')
        op.create_index(name, 'cases', before, unique=False)
    op.drop_table('settings_stamp')
