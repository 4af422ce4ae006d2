"""Learning from complaints: what each resolved case tells us, and the problems behind many.

A resolved case records its outcome, its root cause (from a managed list of areas and causes),
the product or service affected, and the redress given. A problem is the shared cause behind
many complaints, owned by the team that can fix it. A spike is a sudden rise in complaints
about one category or product, found by the sweep.
"""

from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class Outcome(StrEnum):
    """Whether the complaint was found to be justified: regulators count these."""

    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS = {
    Outcome.UPHELD: "Upheld",
    Outcome.PARTLY_UPHELD: "Partly upheld",
    Outcome.NOT_UPHELD: "Not upheld",
    Outcome.WITHDRAWN: "Withdrawn by the customer",
}


class CauseArea(db.Model):
    """A part of the business where causes lie, e.g. Delivery or Billing."""

    __tablename__ = "cause_areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    # Retired, never deleted: resolved cases keep pointing at what was true then.
    retired_at = mapped_column(UTCDateTime())

    causes: Mapped[list["RootCause"]] = relationship(
        back_populates="area", order_by="(RootCause.position, RootCause.name)"
    )

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class RootCause(db.Model):
    """Why a complaint happened, e.g. Delivery → carrier missed the slot."""

    __tablename__ = "root_causes"
    __table_args__ = (UniqueConstraint("area_id", "name", name="uq_root_causes_area_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("cause_areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    # "Other": the person resolving must say in words what the cause was.
    asks_for_words: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    retired_at = mapped_column(UTCDateTime())

    area: Mapped[CauseArea] = relationship(back_populates="causes")

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def full_name(self) -> str:
        return f"{self.area.name} → {self.name}"


class Product(db.Model):
    """A product or service that complaints are about."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    retired_at = mapped_column(UTCDateTime())

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class RedressKind(StrEnum):
    REFUND = "refund"
    COMPENSATION = "compensation"
    GOODWILL = "goodwill"
    REPAIR = "repair"
    REPLACEMENT = "replacement"
    APOLOGY = "apology"
    EXPLANATION = "explanation"
    PROCESS_CHANGE = "process_change"

    @property
    def label(self) -> str:
        return REDRESS_KIND_LABELS[self]

    @property
    def moves_money(self) -> bool:
        return self in MONEY_REDRESS_KINDS


REDRESS_KIND_LABELS = {
    RedressKind.REFUND: "Refund",
    RedressKind.COMPENSATION: "Compensation",
    RedressKind.GOODWILL: "Goodwill gesture",
    RedressKind.REPAIR: "Repair",
    RedressKind.REPLACEMENT: "Replacement",
    RedressKind.APOLOGY: "Apology",
    RedressKind.EXPLANATION: "Explanation",
    RedressKind.PROCESS_CHANGE: "Process change",
}

# These carry an amount and a currency; the others are given in kind or in words.
MONEY_REDRESS_KINDS = frozenset({RedressKind.REFUND, RedressKind.COMPENSATION,
                                 RedressKind.GOODWILL})


class RedressState(StrEnum):
    GIVEN = "given"  # within the giver's authority
    AWAITING_APPROVAL = "awaiting_approval"  # above it: a manager decides through escalation
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"  # the request was withdrawn before a decision


# What counts as given to the customer: in figures, totals and the customer's own words.
GIVEN_REDRESS_STATES = frozenset({RedressState.GIVEN, RedressState.APPROVED})


class Redress(db.Model):
    """One remedy given to put a complaint right, with its amount where money moves."""

    __tablename__ = "redress"
    __table_args__ = (
        CheckConstraint(f"kind IN {tuple(k.value for k in RedressKind)}", name="kind_known"),
        CheckConstraint(
            f"state IN {tuple(s.value for s in RedressState)}", name="state_known"
        ),
        CheckConstraint(
            "(amount_minor IS NULL AND currency IS NULL)"
            " OR (amount_minor > 0 AND currency IS NOT NULL)",
            name="amount_with_currency",
        ),
        Index("ix_redress_case_state", "case_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    # In words the customer may read, e.g. "A refund of the delivery charge".
    description: Mapped[str] = mapped_column(Text, default="")
    # Money in minor units (pence, cents), so sums are exact.
    amount_minor: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    # More than the customer asked for: the practice counts it.
    beyond_request: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(24), default=RedressState.GIVEN)
    # The goodwill escalation that decides a remedy above the giver's limit.
    escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalations.id", ondelete="SET NULL"), index=True
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    decided_at = mapped_column(UTCDateTime())

    case = relationship("Case", back_populates="redress")
    escalation = relationship("Escalation")
    recorded_by = relationship("User")

    @property
    def is_given(self) -> bool:
        return self.state in GIVEN_REDRESS_STATES

    @property
    def kind_label(self) -> str:
        return RedressKind(self.kind).label


class ProblemStatus(StrEnum):
    INVESTIGATING = "investigating"
    FIX_PLANNED = "fix_planned"
    FIXED = "fixed"
    CONFIRMED_FIXED = "confirmed_fixed"
    WONT_FIX = "wont_fix"

    @property
    def label(self) -> str:
        return PROBLEM_STATUS_LABELS[self]


PROBLEM_STATUS_LABELS = {
    ProblemStatus.INVESTIGATING: "Investigating",
    ProblemStatus.FIX_PLANNED: "Fix planned",
    ProblemStatus.FIXED: "Fixed",
    ProblemStatus.CONFIRMED_FIXED: "Confirmed fixed",
    ProblemStatus.WONT_FIX: "Won't fix",
}

OPEN_PROBLEM_STATUSES = frozenset(
    {ProblemStatus.INVESTIGATING, ProblemStatus.FIX_PLANNED, ProblemStatus.FIXED}
)
OPEN_PROBLEM_STATUS_VALUES = sorted(status.value for status in OPEN_PROBLEM_STATUSES)

# A problem moves only along these edges. A fix that did not work goes back to investigating.
PROBLEM_TRANSITIONS: dict[ProblemStatus, frozenset[ProblemStatus]] = {
    ProblemStatus.INVESTIGATING: frozenset(
        {ProblemStatus.FIX_PLANNED, ProblemStatus.FIXED, ProblemStatus.WONT_FIX}
    ),
    ProblemStatus.FIX_PLANNED: frozenset(
        {ProblemStatus.INVESTIGATING, ProblemStatus.FIXED, ProblemStatus.WONT_FIX}
    ),
    ProblemStatus.FIXED: frozenset({ProblemStatus.CONFIRMED_FIXED, ProblemStatus.INVESTIGATING}),
    ProblemStatus.CONFIRMED_FIXED: frozenset({ProblemStatus.INVESTIGATING}),
    ProblemStatus.WONT_FIX: frozenset({ProblemStatus.INVESTIGATING}),
}


class Problem(db.Model):
    """The shared cause behind many complaints, owned by the team that can fix it."""

    __tablename__ = "problems"
    __table_args__ = (
        CheckConstraint(
            f"status IN {tuple(s.value for s in ProblemStatus)}", name="status_known"
        ),
        Index("ix_problems_team_status", "team_id", "status"),
        Index("ix_problems_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # In words a customer may read: what went wrong and what was done. It fills the reply
    # each case owner sends when the problem is fixed.
    customer_summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(24), default=ProblemStatus.INVESTIGATING)
    wont_fix_reason: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # What the problem is about, for suggesting it on matching cases.
    root_cause_id: Mapped[int | None] = mapped_column(ForeignKey("root_causes.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
    fixed_at = mapped_column(UTCDateTime())
    confirmed_fixed_at = mapped_column(UTCDateTime())
    closed_at = mapped_column(UTCDateTime())  # confirmed fixed or won't fix
    # Two people changing the same problem at once: the second save fails on the version.
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    team = relationship("Team")
    owner = relationship("User", foreign_keys=[owner_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    root_cause = relationship("RootCause")
    category = relationship("Category")
    product = relationship("Product")
    links: Mapped[list["ProblemCase"]] = relationship(
        back_populates="problem", cascade="all, delete-orphan", order_by="ProblemCase.linked_at"
    )
    events: Mapped[list["ProblemEvent"]] = relationship(
        back_populates="problem", order_by="ProblemEvent.id", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def reference(self) -> str:
        return problem_reference(self.id)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PROBLEM_STATUSES

    @property
    def status_label(self) -> str:
        return ProblemStatus(self.status).label

    def can_move_to(self, status: ProblemStatus) -> bool:
        return status in PROBLEM_TRANSITIONS[ProblemStatus(self.status)]


def problem_reference(problem_id: int) -> str:
    return f"PR-{problem_id:05d}"


class ProblemCase(db.Model):
    """A case linked to a problem: a human decision, recorded on both timelines."""

    __tablename__ = "problem_cases"
    __table_args__ = (Index("ix_problem_cases_case", "case_id", "problem_id"),)

    problem_id: Mapped[int] = mapped_column(
        ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    linked_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    problem: Mapped[Problem] = relationship(back_populates="links")
    case = relationship("Case")
    linked_by = relationship("User")


class ProblemEventKind(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    STATUS_CHANGED = "status_changed"
    OWNER_CHANGED = "owner_changed"
    CASE_LINKED = "case_linked"
    CASE_UNLINKED = "case_unlinked"
    NOTE = "note"
    OWNERS_TOLD = "owners_told"  # marked fixed: each open case's owner got a task


class ProblemEvent(db.Model):
    """A problem's own timeline: who did what, when. Append-only, like a case's."""

    __tablename__ = "problem_events"
    __table_args__ = (
        CheckConstraint(
            f"kind IN {tuple(k.value for k in ProblemEventKind)}", name="kind_known"
        ),
        Index("ix_problem_events_problem", "problem_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    problem: Mapped[Problem] = relationship(back_populates="events")
    actor = relationship("User")


class ProblemTimelineIsAppendOnly(Exception):
    pass


@event.listens_for(ProblemEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise ProblemTimelineIsAppendOnly(f"problem event {target.id} cannot be changed")


@event.listens_for(ProblemEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise ProblemTimelineIsAppendOnly(f"problem event {target.id} cannot be deleted")


class SpikeDimension(StrEnum):
    CATEGORY = "category"
    PRODUCT = "product"


class SpikeSpan(StrEnum):
    WEEK = "week"
    DAY = "day"


class Spike(db.Model):
    """A category's or product's complaints far above its own recent history, found once.

    One row per (what, which one, span, span start): the sweep inserts it once however
    often it runs, and the managers concerned are told when the row is new.
    """

    __tablename__ = "spikes"
    __table_args__ = (
        UniqueConstraint("dimension", "subject_id", "span", "span_start",
                         name="uq_spikes_subject_span"),
        CheckConstraint(
            f"dimension IN {tuple(d.value for d in SpikeDimension)}", name="dimension_known"
        ),
        CheckConstraint(f"span IN {tuple(w.value for w in SpikeSpan)}", name="span_known"),
        Index("ix_spikes_detected_at", "detected_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    span: Mapped[str] = mapped_column(String(8))
    # The start of the day or week (Monday) in the organisation's time zone, stored in UTC.
    span_start = mapped_column(UTCDateTime(), nullable=False)
    count: Mapped[int] = mapped_column(Integer)
    # The mean of the same spans before, and the count above which it is a spike.
    expected: Mapped[float] = mapped_column(Float)
    threshold: Mapped[int] = mapped_column(Integer)
    detected_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # The problem opened for it, when someone did.
    problem_id: Mapped[int | None] = mapped_column(
        ForeignKey("problems.id", ondelete="SET NULL")
    )

    problem = relationship("Problem")
