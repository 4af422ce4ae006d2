"""How an owner coordinates a case without handing it off: tasks for fixer teams, promises
made to the customer, remedies offered, and shared reply templates."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


OPEN_TASK_STATUSES = frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS})


class Task(db.Model):
    """Work a fixer team (or one person) does for a case; the case's owner stays the owner."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"status IN {tuple(s.value for s in TaskStatus)}", name="status_known"),
        CheckConstraint("team_id IS NOT NULL OR assignee_id IS NOT NULL", name="has_assignee"),
        Index("ix_tasks_assignee_status", "assignee_id", "status"),
        Index("ix_tasks_team_status", "team_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN)
    due_at = mapped_column(UTCDateTime(), nullable=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
    completed_at = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)

    case = relationship("Case", back_populates="tasks")
    team = relationship("Team")
    assignee = relationship("User", foreign_keys=[assignee_id])
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES


class CommitmentState(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"  # no longer needed (the case was resolved first), with the reason


class Commitment(db.Model):
    """A promise made to the customer ("we will call you on Tuesday"), tracked until kept."""

    __tablename__ = "commitments"
    __table_args__ = (
        CheckConstraint(
            f"state IN {tuple(s.value for s in CommitmentState)}", name="state_known"
        ),
        Index("ix_commitments_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    due_at = mapped_column(UTCDateTime(), nullable=False)
    state: Mapped[str] = mapped_column(String(16), default=CommitmentState.OPEN)
    made_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    settled_at = mapped_column(UTCDateTime())
    settled_note: Mapped[str | None] = mapped_column(Text)

    case = relationship("Case", back_populates="commitments")
    made_by = relationship("User")


class ResolutionOption(db.Model):
    """One remedy the owner offers; the customer chooses one of the case's open offers."""

    __tablename__ = "resolution_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    offered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    offered_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    chosen_at = mapped_column(UTCDateTime())
    withdrawn_at = mapped_column(UTCDateTime())

    case = relationship("Case", back_populates="resolution_options")
    offered_by = relationship("User")


class SavedReply(db.Model):
    """A shared reply template; placeholders like {customer_name} are filled in on use."""

    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class CaseViewer(db.Model):
    """Who has a case open right now, and whether they are writing: "someone else is here"."""

    __tablename__ = "case_viewers"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    composing: Mapped[bool] = mapped_column(default=False)
    last_seen_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    user = relationship("User")
