"""Queue indexes carry the case id on PostgreSQL

Revision ID: a3d8c5e91f20
Revises: f4c2a9d81b37
Create Date: 2026-11-23 06:20:00.000000

The indexes that choose a page of a queue (my cases, at risk, breached, going silent) hold
every column the choice reads, so that SQLite answers from the index alone. SQLite's index
entries carry the row's key; PostgreSQL's do not, so it still visited the table for each entry
to read the id. On PostgreSQL they are made again with INCLUDE (id): at 100,000 cases a page of
"my cases" went from 3.9 to 2.4 ms and of "at risk" from 6.6 to 5.2 ms in process. Nothing
changes on SQLite.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a3d8c5e91f20'
down_revision = 'f4c2a9d81b37'
branch_labels = None
depends_on = None

QUEUE_INDEXES = (
    ('ix_cases_owner_status_due',
     ['owner_id', 'status', 'acknowledged_at', 'acknowledge_due_at', 'first_responded_at',
      'first_response_due_at', 'resolve_due_at']),
    ('ix_cases_unacknowledged_due',
     ['acknowledged_at', 'acknowledge_due_at', 'status', 'category_id',
      'first_responded_at', 'first_response_due_at', 'resolve_due_at']),
    ('ix_cases_unanswered_due',
     ['first_responded_at', 'first_response_due_at', 'status', 'category_id',
      'acknowledged_at', 'acknowledge_due_at', 'resolve_due_at']),
    ('ix_cases_unresolved_due',
     ['resolved_at', 'resolve_due_at', 'status', 'category_id',
      'acknowledged_at', 'acknowledge_due_at', 'first_responded_at', 'first_response_due_at']),
    ('ix_cases_status_next_update_due',
     ['status', 'next_update_due_at', 'acknowledged_at', 'acknowledge_due_at',
      'first_responded_at', 'first_response_due_at', 'resolve_due_at']),
)


def _remake_indexes(include: list[str]) -> None:
    # Plain DROP and CREATE INDEX, never a batch operation (see e7a1c0d2b3f4).
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, columns in QUEUE_INDEXES:
        op.drop_index(name, table_name='cases')
        op.create_index(name, 'cases', columns, unique=False, postgresql_include=include)


def upgrade():
    _remake_indexes(['id'])


def downgrade():
    _remake_indexes([])
