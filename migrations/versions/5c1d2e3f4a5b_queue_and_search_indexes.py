"""Queues and search: indexes for the staff queues, full-text search of complaints

Revision ID: 5c1d2e3f4a5b
Revises: 22747e26aec5
Create Date: 2026-11-23 09:00:00.000000

Written by hand. SQLite gets an FTS5 table over the cases (external content: the text stays in
`cases` only) kept in step by triggers; PostgreSQL gets a GIN expression index. The same DDL
is in shared/search.py, which creates it when the test suite builds tables with create_all():
keep the two in step.

Beware: on SQLite a later batch migration that recreates `cases` (copy, drop, rename) drops
these triggers with the old table; such a migration must create them again.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1d2e3f4a5b'
down_revision = '22747e26aec5'
branch_labels = None
depends_on = None

FTS_COLUMNS = "description, desired_outcome, contact_name"
OLD = "old.description, old.desired_outcome, old.contact_name"
NEW = "new.description, new.desired_outcome, new.contact_name"

SQLITE_UP = (
    f"CREATE VIRTUAL TABLE cases_fts USING fts5({FTS_COLUMNS}, content='cases',"
    " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER cases_fts_after_insert AFTER INSERT ON cases BEGIN"
    f" INSERT INTO cases_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {NEW}); END",
    f"CREATE TRIGGER cases_fts_after_delete AFTER DELETE ON cases BEGIN"
    f" INSERT INTO cases_fts(cases_fts, rowid, {FTS_COLUMNS})"
    f" VALUES ('delete', old.id, {OLD}); END",
    f"CREATE TRIGGER cases_fts_after_update AFTER UPDATE OF {FTS_COLUMNS} ON cases BEGIN"
    f" INSERT INTO cases_fts(cases_fts, rowid, {FTS_COLUMNS})"
    f" VALUES ('delete', old.id, {OLD});"
    f" INSERT INTO cases_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {NEW}); END",
    # Index the cases that already exist.
    "INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS cases_fts_after_update",
    "DROP TRIGGER IF EXISTS cases_fts_after_delete",
    "DROP TRIGGER IF EXISTS cases_fts_after_insert",
    "DROP TABLE IF EXISTS cases_fts",
)
POSTGRES_UP = (
    "CREATE INDEX ix_cases_search_document ON cases USING gin (to_tsvector('english',"
    " coalesce(description, '') || ' ' || coalesce(desired_outcome, '') || ' ' ||"
    " contact_name))",
)
POSTGRES_DOWN = ("DROP INDEX IF EXISTS ix_cases_search_document",)


def upgrade():
    # Plain CREATE INDEX, not batch mode: on SQLite a batch operation may recreate the table.
    op.create_index('ix_cases_team_status', 'cases', ['team_id', 'status'], unique=False)
    op.create_index(
        'ix_cases_status_next_update', 'cases', ['status', 'next_update_due_at'], unique=False
    )
    op.create_index('ix_cases_resolved_at', 'cases', ['resolved_at'], unique=False)
    op.create_index('ix_cases_closed_at', 'cases', ['closed_at'], unique=False)
    op.create_index(
        'ix_cases_contact_email', 'cases', ['contact_email'], unique=False,
        postgresql_ops={'contact_email': 'text_pattern_ops'},
    )
    op.create_index('ix_users_role_active', 'users', ['role', 'active'], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in {'sqlite': SQLITE_UP, 'postgresql': POSTGRES_UP}.get(dialect, ()):
        op.execute(sa.text(statement))


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {'sqlite': SQLITE_DOWN, 'postgresql': POSTGRES_DOWN}.get(dialect, ()):
        op.execute(sa.text(statement))
    op.drop_index('ix_users_role_active', table_name='users')
    op.drop_index('ix_cases_contact_email', table_name='cases')
    op.drop_index('ix_cases_closed_at', table_name='cases')
    op.drop_index('ix_cases_resolved_at', table_name='cases')
    op.drop_index('ix_cases_status_next_update', table_name='cases')
    op.drop_index('ix_cases_team_status', table_name='cases')
