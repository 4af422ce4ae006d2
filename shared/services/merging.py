"""Link and merge: a duplicate case is folded into the case that carries on.

The duplicate is closed but kept whole (its timeline is the record of what happened), and its
reference keeps working for the customer: the portal leads it to the surviving case.
"""

from shared.models import (
    OPEN_TASK_STATUSES,
    Case,
    CaseStatus,
    CommitmentState,
    EventKind,
    User,
    Visibility,
    utcnow,
)
from shared.permissions import is_manager
from shared.services.cases import sign_in_url_for
from shared.services.errors import RuleViolation
from shared.services.escalations import withdraw_for_finished_case
from shared.services.mail import queue_email
from shared.services.timeline import record_event


def merge_case(duplicate: Case, target: Case | None, *, actor: User) -> None:
    """Merge `duplicate` into `target`. Open tasks and promises move to the target, where the
    work goes on, so that nothing owed to the customer is left behind on a closed case."""
    if target is None:
        raise RuleViolation("There is no case with that reference.", field="target_reference")
    if target.id == duplicate.id:
        raise RuleViolation("A case cannot be merged into itself.", field="target_reference")
    if duplicate.merged_into_id is not None:
        raise RuleViolation("This case is already merged into another.",
                            field="target_reference")
    if target.merged_into_id is not None:
        raise RuleViolation(
            f"{target.reference} was itself merged into another case: merge into that one.",
            field="target_reference",
        )
    if not target.is_open:
        raise RuleViolation(f"{target.reference} is not open: merge into an open case.",
                            field="target_reference")
    same_customer = target.customer_id == duplicate.customer_id
    if not same_customer and not is_manager(actor):
        raise RuleViolation(
            f"{target.reference} belongs to another customer: ask a manager to merge these.",
            field="target_reference",
        )

    now = utcnow()
    moved_tasks = [t for t in duplicate.tasks if t.status in OPEN_TASK_STATUSES]
    moved_commitments = [c for c in duplicate.commitments if c.state == CommitmentState.OPEN]
    for task in moved_tasks:
        task.case = target
    for commitment in moved_commitments:
        commitment.case = target

    # Its open escalation is moot: the work goes on in the target. Withdrawn first, so the
    # escalation is locked before the case, in the order a decision takes them.
    withdraw_for_finished_case(duplicate, actor=actor, outcome=f"merged into {target.reference}")
    # Merging is its own path, outside the usual status edges: any state may be closed by it.
    duplicate.status = CaseStatus.CLOSED
    duplicate.closed_at = now
    duplicate.next_update_due_at = None
    duplicate.merged_into = target

    data = {
        "duplicate_id": duplicate.id,
        "duplicate": duplicate.reference,
        "target_id": target.id,
        "target": target.reference,
        "moved_task_ids": [t.id for t in moved_tasks],
        "moved_commitment_ids": [c.id for c in moved_commitments],
    }
    # The duplicate's customer is always told why it closed; another customer's reference,
    # though, must never show in their portal.
    record_event(
        duplicate,
        EventKind.MERGED,
        actor=actor,
        body=f"This complaint is now handled together with {target.reference}: everything"
        " continues there."
        if same_customer
        else "This complaint is now handled together with a related complaint; we will keep"
        " you informed.",
        data=data,
    )
    record_event(
        target,
        EventKind.MERGED,
        actor=actor,
        visibility=Visibility.PUBLIC if same_customer else Visibility.INTERNAL,
        body=f"Complaint {duplicate.reference} is now handled together with this one.",
        data=data,
    )
    if same_customer:
        queue_email(
            "case_merged",
            duplicate.customer.email,
            f"Your complaints {duplicate.reference} and {target.reference} are now one",
            case=duplicate,
            customer_name=duplicate.contact_name,
            duplicate=duplicate,
            target=target,
            owner=target.owner,
            sign_in_url=sign_in_url_for(target.customer, target),
        )
