"""Performance indexes: my cases, breached and at risk at 100,000 cases; the manager's dashboard

Revision ID: e7a1c0d2b3f4
Revises: df39e1215296
Create Date: 2026-11-23 02:45:00.000000

Written by hand, with plain CREATE INDEX rather than batch mode: on SQLite a batch operation
may recreate the cases table, which would drop the full-text search triggers (see 5c1d2e3f4a5b).

- ix_cases_owner_status_due replaces ix_cases_owner_status: the same two leading columns, plus
  every column of the next due time, so a page of someone's open cases is sorted from the index
  alone before the 50 rows shown are read.
- ix_cases_status_next_update_due replaces ix_cases_status_next_update the same way: going
  silent still reads its first two columns; a page of the open cases at risk is sorted from it.
- (met, due, status, category) for each time frame: an unmet frame is NULL, so "unmet and due
  before X" is one range of the index, and at risk (shared/queues.py) reads only these indexes.
  ix_cases_unresolved_due starts with resolved_at and so replaces ix_cases_resolved_at;
  ix_cases_closed_resolved replaces ix_cases_closed_at: recently closed is counted from the two.
- For the manager's dashboard ("falls in this period"): one index per due column, carrying the
  met time, category, team and merged_into_id it counts and groups by (at 100,000 cases on
  SQLite a month of deadlines then costs about a third of what plain indexes cost), and plain
  ones on created_at and rated_at.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7a1c0d2b3f4'
down_revision = 'df39e1215296'
branch_labels = None
depends_on = None

NEW_INDEXES = (
    ('ix_cases_owner_status_due', [
        'owner_id', 'status', 'acknowledged_at', 'acknowledge_due_at', 'first_responded_at',
        'first_response_due_at', 'resolve_due_at',
    ]),
    ('ix_cases_status_next_update_due', [
        'status', 'next_update_due_at', 'acknowledged_at', 'acknowledge_due_at',
        'first_responded_at', 'first_response_due_at', 'resolve_due_at',
    ]),
    ('ix_cases_unacknowledged_due',
     ['acknowledged_at', 'acknowledge_due_at', 'status', 'category_id']),
    ('ix_cases_unanswered_due',
     ['first_responded_at', 'first_response_due_at', 'status', 'category_id']),
    ('ix_cases_unresolved_due', ['resolved_at', 'resolve_due_at', 'status', 'category_id']),
    ('ix_cases_acknowledge_due_at', [
        'acknowledge_due_at', 'acknowledged_at', 'category_id', 'team_id', 'merged_into_id',
    ]),
    ('ix_cases_first_response_due_at', [
        'first_response_due_at', 'first_responded_at', 'category_id', 'team_id',
        'merged_into_id',
    ]),
    ('ix_cases_resolve_due_at', [
        'resolve_due_at', 'resolved_at', 'category_id', 'team_id', 'merged_into_id',
    ]),
    ('ix_cases_closed_resolved', ['closed_at', 'resolved_at']),
    ('ix_cases_created_at', ['created_at']),
    ('ix_cases_rated_at', ['rated_at']),
)
REPLACED_INDEXES = (
    ('ix_cases_owner_status', ['owner_id', 'status']),
    ('ix_cases_resolved_at', ['resolved_at']),
    ('ix_cases_status_next_update', ['status', 'next_update_due_at']),
    ('ix_cases_closed_at', ['closed_at']),
)


def upgrade():
    for name, columns in NEW_INDEXES:
        op.create_index(name, 'cases', columns, unique=False)
    for name, _columns in REPLACED_INDEXES:
        op.drop_index(name, table_name='cases')


def downgrade():
    for name, columns in REPLACED_INDEXES:
        op.create_index(name, 'cases', columns, unique=False)
    for name, _columns in reversed(NEW_INDEXES):
        op.drop_index(name, table_name='cases')
