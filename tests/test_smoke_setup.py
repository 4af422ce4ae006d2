from datetime import UTC, datetime

from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import Case, CaseStatus, Priority
from tests import factories

# A Wednesday at 10:00 in London (GMT, so UTC too), in the UK calendar's working hours.
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_raising_a_case_stores_it_with_a_reference_owner_and_time_frames(app, org, frozen_now):
    frozen_now(WEDNESDAY_10)
    raised = factories.raise_case(org.delivery)
    services.commit()
    case_id = raised.id
    db.session.remove()  # what follows is read back from the database, not from memory

    stored = db.session.scalars(select(Case).where(Case.reference == f"AM-{case_id:06d}")).one()

    assert stored.id == case_id
    assert (stored.owner.name, stored.team.name, stored.category.name) == (
        "Sam Taylor", "Customer care", "Delivery")
    assert (stored.customer.email, stored.contact_name) == ("alex@example.com", "Alex Carter")
    assert (stored.status, stored.priority) == (CaseStatus.NEW, Priority.NORMAL)
    assert stored.description == "My parcel arrived crushed."
    assert stored.created_at == WEDNESDAY_10
    # The standard time frames, counted in the UK calendar's working hours (09:00-17:00):
    # 4 hours to acknowledge, 2 working days for the full reply, 10 to put things right.
    assert stored.acknowledge_due_at == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    assert stored.first_response_due_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert stored.resolve_due_at == datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
    # Until someone acknowledges it, the next thing the customer hears is the acknowledgement.
    assert stored.next_update_due_at == stored.acknowledge_due_at
    assert (stored.acknowledged_at, stored.first_responded_at, stored.resolved_at) == (
        None, None, None)
