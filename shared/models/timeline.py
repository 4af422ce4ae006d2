"""The case timeline: an append-only record of who did what, and when."""

from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class EventKind(StrEnum):
    CREATED = "created"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    UPDATE = "update"  # staff to customer
    NOTE = "note"  # staff only
    CUSTOMER_REPLY = "customer_reply"
    STATUS_CHANGED = "status_changed"
    DUE_DATES_CHANGED = "due_dates_changed"
    EMAIL_SENT = "email_sent"
    EMAIL_FAILED = "email_failed"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    RATED = "rated"
    PRIORITY_CHANGED = "priority_changed"
    CATEGORY_CHANGED = "category_changed"
    TRANSFERRED = "transferred"
    UNDERSTANDING_PROPOSED = "understanding_proposed"
    UNDERSTANDING_CONFIRMED = "understanding_confirmed"
    UNDERSTANDING_CORRECTED = "understanding_corrected"
    OPTIONS_OFFERED = "options_offered"
    OPTION_CHOSEN = "option_chosen"
    COMMITMENT_MADE = "commitment_made"
    COMMITMENT_KEPT = "commitment_kept"
    COMMITMENT_BROKEN = "commitment_broken"
    COMMITMENT_CANCELLED = "commitment_cancelled"
    TASK_CREATED = "task_created"
    TASK_UPDATED = "task_updated"
    MERGED = "merged"
    ESCALATION_PROPOSED = "escalation_proposed"
    ESCALATION_REQUESTED = "escalation_requested"
    ESCALATION_APPROVED = "escalation_approved"
    ESCALATION_REJECTED = "escalation_rejected"
    ESCALATION_WITHDRAWN = "escalation_withdrawn"
    REMINDER_SENT = "reminder_sent"
    REDRESS_RECORDED = "redress_recorded"  # internal: a remedy given, or asked for approval
    REDRESS_DECIDED = "redress_decided"  # internal: a manager approved or refused it
    PROBLEM_LINKED = "problem_linked"  # internal
    PROBLEM_UNLINKED = "problem_unlinked"  # internal
    PROBLEM_FIXED = "problem_fixed"  # internal: the owner is asked to tell the customer
    LEARNING_RECORDED = "learning_recorded"  # internal: outcome, cause and product at resolve


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class TimelineEvent(db.Model):
    __tablename__ = "timeline_events"
    __table_args__ = (
        CheckConstraint(f"kind IN {tuple(k.value for k in EventKind)}", name="kind_known"),
        CheckConstraint(
            f"visibility IN {tuple(v.value for v in Visibility)}", name="visibility_known"
        ),
        Index("ix_timeline_events_case_visibility", "case_id", "visibility", "id"),
        # The patterns page reads one kind of event in a period (the reasons for reopening).
        Index("ix_timeline_events_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    visibility: Mapped[str] = mapped_column(String(16))
    # None when the system acted (automatic assignment, a sweep, a mail delivery).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    body: Mapped[str] = mapped_column(Text, default="")
    # Structured details (old and new values, addresses) for audits and debriefs.
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    case = relationship("Case", back_populates="events")
    actor = relationship("User")
    attachments = relationship("Attachment", back_populates="event", order_by="Attachment.id")

    @property
    def is_internal(self) -> bool:
        return self.visibility == Visibility.INTERNAL


class TimelineIsAppendOnly(Exception):
    pass


# The timeline is the audit record: rows may be added, never changed or removed.
@event.listens_for(TimelineEvent, "before_update")
def _refuse_update(mapper, connection, target):
    # Attaching a file to an event touches only its collection, not the record itself.
    if object_session(target).is_modified(target, include_collections=False):
        raise TimelineIsAppendOnly(f"timeline event {target.id} cannot be changed")


@event.listens_for(TimelineEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise TimelineIsAppendOnly(f"timeline event {target.id} cannot be deleted")
