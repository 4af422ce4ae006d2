"""Promises made to the customer ("we will call you on Tuesday"), each tracked until settled.

Never promise what cannot be delivered: every promise is recorded with its date, shown to the
customer, and marked kept or broken in the open.
"""

from datetime import datetime

from shared.clock import describe_due
from shared.extensions import db
from shared.models import Case, Commitment, CommitmentState, EventKind, User, utcnow
from shared.services.cases import begin_work
from shared.services.errors import RuleViolation
from shared.services.timeline import record_event

MAX_LENGTH = 300


def make_commitment(case: Case, *, actor: User, description: str, due_at: datetime) -> Commitment:
    description = (description or "").strip()
    if not description:
        raise RuleViolation("Say what you promised the customer.", field="description")
    if len(description) > MAX_LENGTH:
        raise RuleViolation(f"Keep it under {MAX_LENGTH} characters.", field="description")
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if due_at <= utcnow():
        raise RuleViolation("That time has already passed: choose a time in the future.",
                            field="due_at")
    if not case.is_open:
        raise RuleViolation("This case is closed: reopen it before making a promise.",
                            field="description")
    commitment = Commitment(case=case, description=description, due_at=due_at, made_by=actor)
    db.session.add(commitment)
    db.session.flush()
    begin_work(case, actor=actor)
    record_event(
        case,
        EventKind.COMMITMENT_MADE,
        actor=actor,
        body=f"We promised: {description} by {_due_words(case, due_at)}.",
        data={
            "commitment_id": commitment.id,
            "description": description,
            "due_at": due_at.isoformat(),
        },
    )
    return commitment


def settle_commitment(
    case: Case, commitment: Commitment, *, actor: User, kept: bool, note: str = ""
) -> None:
    """Mark a promise kept or broken; either way the customer reads it on the timeline."""
    if commitment.case_id != case.id:
        raise RuleViolation("That promise belongs to another case.")
    if commitment.state != CommitmentState.OPEN:
        raise RuleViolation("This promise is already settled.", field="outcome")
    note = (note or "").strip()
    commitment.state = CommitmentState.KEPT if kept else CommitmentState.BROKEN
    commitment.settled_at = utcnow()
    commitment.settled_note = note or None
    verdict = "We kept our promise" if kept else "We did not keep our promise"
    record_event(
        case,
        EventKind.COMMITMENT_KEPT if kept else EventKind.COMMITMENT_BROKEN,
        actor=actor,
        body=f"{verdict}: {commitment.description}." + (f"\n{note}" if note else ""),
        data={"commitment_id": commitment.id, "state": commitment.state},
    )


def cancel_commitment(case: Case, commitment: Commitment, *, actor: User, reason: str) -> None:
    """A promise that is no longer needed (the case was put right first): the customer reads
    why, so it is neither kept nor broken."""
    if commitment.case_id != case.id:
        raise RuleViolation("That promise belongs to another case.")
    if commitment.state != CommitmentState.OPEN:
        raise RuleViolation("This promise is already settled.", field="outcome")
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("Say why the promise is no longer needed: the customer reads this.",
                            field="note")
    commitment.state = CommitmentState.CANCELLED
    commitment.settled_at = utcnow()
    commitment.settled_note = reason
    record_event(
        case,
        EventKind.COMMITMENT_CANCELLED,
        actor=actor,
        body=f"This promise is no longer needed: {commitment.description}.\n{reason}",
        data={"commitment_id": commitment.id, "state": commitment.state},
    )


def open_commitments(case: Case) -> list[Commitment]:
    return [c for c in case.commitments if c.state == CommitmentState.OPEN]


def is_overdue(commitment: Commitment, now: datetime | None = None) -> bool:
    return commitment.state == CommitmentState.OPEN and commitment.due_at < (now or utcnow())


def _due_words(case: Case, due_at: datetime) -> str:
    calendar = case.category.service_level.calendar
    return describe_due(due_at, calendar.zone, calendar.zone_label)
