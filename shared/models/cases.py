"""A case: one complaint, from the moment it is raised until it is closed."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.extensions import db
from shared.models.learning import Outcome
from shared.models.service_levels import Priority
from shared.models.types import UTCDateTime, utcnow


class Understanding(StrEnum):
    """The owner's paraphrase of the complaint, and what the customer made of it."""

    NONE = "none"
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    CORRECTED = "corrected"


class CaseStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(
    {
        CaseStatus.NEW,
        CaseStatus.ACKNOWLEDGED,
        CaseStatus.IN_PROGRESS,
        CaseStatus.WAITING_ON_CUSTOMER,
    }
)

# The same as plain values, in a fixed order, for SQL: "status IN (...)".
OPEN_STATUS_VALUES = sorted(status.value for status in OPEN_STATUSES)

# Statuses move only along these edges; reopening is resolved/closed -> in progress.
ALLOWED_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset(
        {CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED}
    ),
    CaseStatus.ACKNOWLEDGED: frozenset(
        {CaseStatus.IN_PROGRESS, CaseStatus.WAITING_ON_CUSTOMER, CaseStatus.RESOLVED}
    ),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.WAITING_ON_CUSTOMER, CaseStatus.RESOLVED}),
    CaseStatus.WAITING_ON_CUSTOMER: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.IN_PROGRESS}),
    CaseStatus.CLOSED: frozenset({CaseStatus.IN_PROGRESS}),
}

# What the customer reads: plain words, never our internal names.
CUSTOMER_STATUS_WORDS = {
    CaseStatus.NEW: "Received",
    CaseStatus.ACKNOWLEDGED: "Acknowledged",
    CaseStatus.IN_PROGRESS: "Being worked on",
    CaseStatus.WAITING_ON_CUSTOMER: "Waiting for your reply",
    CaseStatus.RESOLVED: "Resolved",
    CaseStatus.CLOSED: "Closed",
}

REPRESENTATIVE_RELATIONSHIPS = {
    "relative": "A relative",
    "partner": "A partner or spouse",
    "carer": "A carer",
    "friend": "A friend",
    "attorney": "Someone with power of attorney",
    "advocate": "An advocate or adviser",
    "other": "Someone else",
}


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(f"status IN {tuple(s.value for s in CaseStatus)}", name="status_known"),
        CheckConstraint(
            f"priority IN {tuple(p.value for p in Priority)}", name="priority_known"
        ),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint(
            f"understanding_state IN {tuple(u.value for u in Understanding)}",
            name="understanding_known",
        ),
        CheckConstraint(
            f"outcome IS NULL OR outcome IN {tuple(o.value for o in Outcome)}",
            name="outcome_known",
        ),
        Index("ix_cases_customer_created", "customer_id", "created_at"),
        # The queue indexes below that choose a page of cases also carry, on PostgreSQL, the
        # case's id (INCLUDE): unlike SQLite's, its index entries do not hold the row's key, so
        # without it every entry read would be a visit to the table (migration a3d8c5e91f20).
        # My cases: the owner's open cases and every column of the next due time, so that a
        # page of them is chosen from the index alone (migration e7a1c0d2b3f4). It serves every
        # look-up by owner: a plain owner_id index misled SQLite's planner (f4c2a9d81b37).
        Index(
            "ix_cases_owner_status_due",
            "owner_id",
            "status",
            "acknowledged_at",
            "acknowledge_due_at",
            "first_responded_at",
            "first_response_due_at",
            "resolve_due_at",
            postgresql_include=["id"],
        ),
        # Breached and at risk: a time frame not yet met (NULL) and its due time, read as a
        # range of the NULL part, not a scan of every open case; with the status and the
        # category, at risk is answered from these indexes alone (migration e7a1c0d2b3f4).
        # The other time frames' columns follow, so that a page of at-risk cases is sorted
        # by the next due time from these indexes too (migration f4c2a9d81b37).
        Index(
            "ix_cases_unacknowledged_due",
            "acknowledged_at", "acknowledge_due_at", "status", "category_id",
            "first_responded_at", "first_response_due_at", "resolve_due_at",
            postgresql_include=["id"],
        ),
        Index(
            "ix_cases_unanswered_due",
            "first_responded_at", "first_response_due_at", "status", "category_id",
            "acknowledged_at", "acknowledge_due_at", "resolve_due_at",
            postgresql_include=["id"],
        ),
        # Also serves "resolved since" (recently closed), as ix_cases_resolved_at did.
        Index(
            "ix_cases_unresolved_due",
            "resolved_at", "resolve_due_at", "status", "category_id",
            "acknowledged_at", "acknowledge_due_at", "first_responded_at", "first_response_due_at",
            postgresql_include=["id"],
        ),
        # The manager's dashboard: time frames, new cases and ratings falling in a period. The
        # due indexes carry what its figures group and count by, so a month of deadlines is
        # read from them alone (at 100,000 cases, a third of the time of plain ones).
        Index(
            "ix_cases_acknowledge_due_at",
            "acknowledge_due_at", "acknowledged_at", "category_id", "team_id", "merged_into_id",
        ),
        Index(
            "ix_cases_first_response_due_at",
            "first_response_due_at", "first_responded_at", "category_id", "team_id",
            "merged_into_id",
        ),
        Index(
            "ix_cases_resolve_due_at",
            "resolve_due_at", "resolved_at", "category_id", "team_id", "merged_into_id",
        ),
        Index("ix_cases_created_at", "created_at"),
        # What complaints tell us (shared/patterns.py): the complaints received in a period by
        # category, product and team, and the causes of those resolved in one, read from
        # these indexes alone (migration c1a2b3d4e501).
        Index(
            "ix_cases_created_learning",
            "created_at", "category_id", "product_id", "team_id", "customer_id",
        ),
        Index(
            "ix_cases_resolved_learning",
            "resolved_at", "root_cause_id", "product_id", "category_id", "team_id",
        ),
        Index("ix_cases_rated_at", "rated_at"),
        # The staff queues (shared/queues.py); created by migration 5c1d2e3f4a5b.
        Index("ix_cases_team_status", "team_id", "status"),
        # Going silent (status, next update), and every column of the next due time, so a
        # page of the open cases at risk is sorted from the index alone (migration e7a1c0d2b3f4).
        Index(
            "ix_cases_status_next_update_due",
            "status",
            "next_update_due_at",
            "acknowledged_at",
            "acknowledge_due_at",
            "first_responded_at",
            "first_response_due_at",
            "resolve_due_at",
            postgresql_include=["id"],
        ),
        # Recently closed, counted from the index alone (migration e7a1c0d2b3f4).
        Index("ix_cases_closed_resolved", "closed_at", "resolved_at"),
        Index(
            "ix_cases_contact_email",
            "contact_email",
            postgresql_ops={"contact_email": "text_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Human reference, e.g. AM-000123; set from the id once the row exists.
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(24), default=CaseStatus.NEW)
    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL)

    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The name and email as given on the form: the contact for this case.
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_email: Mapped[str] = mapped_column(String(254))
    # Raised on someone else's behalf (a relative, a carer, an attorney).
    on_behalf_of: Mapped[str | None] = mapped_column(String(120))
    representative_relationship: Mapped[str | None] = mapped_column(String(24))

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    handoff_count: Mapped[int] = mapped_column(Integer, default=0)

    description: Mapped[str] = mapped_column(Text)
    desired_outcome: Mapped[str] = mapped_column(Text, default="")
    external_reference: Mapped[str | None] = mapped_column(String(120))

    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    # The agreed time frames, computed from the service level and stored.
    acknowledge_due_at = mapped_column(UTCDateTime(), nullable=False)
    first_response_due_at = mapped_column(UTCDateTime(), nullable=False)
    resolve_due_at = mapped_column(UTCDateTime(), nullable=False)
    next_update_due_at = mapped_column(UTCDateTime(), index=True)

    acknowledged_at = mapped_column(UTCDateTime())
    first_responded_at = mapped_column(UTCDateTime())
    resolved_at = mapped_column(UTCDateTime())
    closed_at = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(Text)
    # What resolving records for learning; the customer never sees the cause codes.
    outcome: Mapped[str | None] = mapped_column(String(16))
    root_cause_id: Mapped[int | None] = mapped_column(ForeignKey("root_causes.id"))
    root_cause_words: Mapped[str | None] = mapped_column(Text)  # "Other": the cause in words
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))

    # What we understand: the owner's paraphrase, confirmed or corrected by the customer.
    understanding: Mapped[str | None] = mapped_column(Text)
    understanding_state: Mapped[str] = mapped_column(String(16), default=Understanding.NONE)
    understanding_correction: Mapped[str | None] = mapped_column(Text)

    # A duplicate merged into another case: its reference leads to the surviving case.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)

    # Optimistic locking: two staff saving the same case at once cannot overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at = mapped_column(UTCDateTime())

    customer = relationship("User", foreign_keys=[customer_id])
    owner = relationship("User", foreign_keys=[owner_id])
    category = relationship("Category")
    team = relationship("Team")
    merged_into = relationship("Case", remote_side="Case.id", foreign_keys=[merged_into_id])
    tasks = relationship(
        "Task", back_populates="case", order_by="Task.id", cascade="all, delete-orphan"
    )
    commitments = relationship(
        "Commitment", back_populates="case", order_by="Commitment.due_at",
        cascade="all, delete-orphan",
    )
    resolution_options = relationship(
        "ResolutionOption", back_populates="case", order_by="ResolutionOption.id",
        cascade="all, delete-orphan",
    )
    escalations = relationship(
        "Escalation", back_populates="case", order_by="Escalation.id",
        cascade="all, delete-orphan",
    )
    root_cause = relationship("RootCause")
    product = relationship("Product")
    redress = relationship(
        "Redress", back_populates="case", order_by="Redress.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )
    events = relationship(
        "TimelineEvent",
        back_populates="case",
        order_by="TimelineEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def outcome_label(self) -> str | None:
        return Outcome(self.outcome).label if self.outcome else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def status_words(self) -> str:
        return CUSTOMER_STATUS_WORDS[CaseStatus(self.status)]

    @property
    def summary(self) -> str:
        """The first line of what happened, short enough for a list."""
        first_line = self.description.strip().splitlines()[0] if self.description.strip() else ""
        return first_line if len(first_line) <= 90 else first_line[:87].rstrip() + "…"

    def can_move_to(self, status: CaseStatus) -> bool:
        return status in ALLOWED_TRANSITIONS[CaseStatus(self.status)]

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.status}>"


def reference_for(case_id: int) -> str:
    return f"AM-{case_id:06d}"


class Attachment(db.Model):
    """A file a customer or staff member attached; stored outside static/ under a random name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("timeline_events.id", ondelete="SET NULL"), index=True
    )
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    case = relationship("Case")
    event = relationship("TimelineEvent", back_populates="attachments")

    @property
    def size_words(self) -> str:
        if self.size_bytes < 1024:
            return f"{self.size_bytes} bytes"
        if self.size_bytes < 1024 * 1024:
            return f"{self.size_bytes / 1024:.0f} KB"
        return f"{self.size_bytes / (1024 * 1024):.1f} MB"
