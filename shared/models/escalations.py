"""Formal escalation: a request for more senior help, decided by a manager."""

from enum import IntEnum, StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class EscalationLevel(IntEnum):
    """Who must decide: a team manager, or the head of service above them."""

    TEAM_MANAGER = 1
    HEAD_OF_SERVICE = 2

    @property
    def label(self) -> str:
        return {1: "Team manager", 2: "Head of service"}[self.value]


class EscalationStatus(StrEnum):
    PROPOSED = "proposed"  # suggested by the sweep; nobody has asked yet
    PENDING = "pending"  # requested, waiting for a decision
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_ESCALATION_STATUSES = frozenset({EscalationStatus.PROPOSED, EscalationStatus.PENDING})

# What the requester needs, in the words staff use.
ESCALATION_NEEDS = {
    "people": "More people",
    "decision": "A decision above my authority",
    "goodwill": "A goodwill payment above my limit",
    "supplier": "Action from a supplier",
    "extension": "More time (a new time frame agreed with the customer)",
}


class Escalation(db.Model):
    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint(
            f"status IN {tuple(s.value for s in EscalationStatus)}", name="status_known"
        ),
        CheckConstraint("level IN (1, 2)", name="level_known"),
        Index("ix_escalations_status_level", "status", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer, default=EscalationLevel.TEAM_MANAGER)
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.PENDING)
    # None when the sweep proposed it.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    needs: Mapped[list] = mapped_column(JSON, default=list)
    needs_details: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    # Two managers deciding at once: the second one's save fails on the version.
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    case = relationship("Case", back_populates="escalations")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ESCALATION_STATUSES

    @property
    def level_label(self) -> str:
        return EscalationLevel(self.level).label
