"""Case handling fixes: a promise can be cancelled (no longer needed) with a reason

Resolving a case asks what happens to each open promise: kept, not kept, or no longer needed.
The last is a new promise state, "cancelled", and a new timeline event, "commitment_cancelled".

Revision ID: b9e1a2c3d405
Revises: b9e1a2c3d404
Create Date: 2026-12-02 16:00:00.000000
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b9e1a2c3d405'
down_revision = 'b9e1a2c3d404'
branch_labels = None
depends_on = None

STATES_BEFORE = ('open', 'kept', 'broken')
STATES_AFTER = ('open', 'kept', 'broken', 'cancelled')

KINDS_BEFORE = (
    'created', 'acknowledged', 'assigned', 'update', 'note', 'customer_reply', 'status_changed',
    'due_dates_changed', 'email_sent', 'email_failed', 'resolved', 'closed', 'reopened', 'rated',
    'priority_changed', 'category_changed', 'transferred', 'understanding_proposed',
    'understanding_confirmed', 'understanding_corrected', 'options_offered', 'option_chosen',
    'commitment_made', 'commitment_kept', 'commitment_broken', 'task_created', 'task_updated',
    'merged', 'escalation_proposed', 'escalation_requested', 'escalation_approved',
    'escalation_rejected', 'escalation_withdrawn', 'reminder_sent',
)
KINDS_AFTER = (
    KINDS_BEFORE[:KINDS_BEFORE.index('commitment_broken') + 1]
    + ('commitment_cancelled',)
    + KINDS_BEFORE[KINDS_BEFORE.index('commitment_broken') + 1:]
)


def _replace_checks(states, kinds):
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_commitments_state_known'), type_='check')
        batch_op.create_check_constraint('state_known', f"state IN {states}")
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_timeline_events_kind_known'), type_='check')
        batch_op.create_check_constraint('kind_known', f"kind IN {kinds}")


def upgrade():
    _replace_checks(STATES_AFTER, KINDS_AFTER)


def downgrade():
    # Cancelled promises become broken ones, whose note still says why.
    op.execute("UPDATE commitments SET state = 'broken' WHERE state = 'cancelled'")
    op.execute("UPDATE timeline_events SET kind = 'commitment_broken'"
               " WHERE kind = 'commitment_cancelled'")
    _replace_checks(STATES_BEFORE, KINDS_BEFORE)
