"""The manager's dashboard: how the service is doing, in a few aggregate queries.

Every figure is counted by the database (COUNT, SUM(CASE WHEN ...), GROUP BY) in a fixed number
of statements however many cases there are, in SQL that SQLite and PostgreSQL both run. Nothing
here reads the request: the period, the team and the moment are passed in.

How each figure is counted (the page says the same in its "How these are counted" note):

- Duplicates merged into another case are left out of every figure: the surviving case counts.
- Team and category are the case's current ones; the team filter keeps that team's cases.
- Pending approvals: escalations requested and waiting for a decision, now, whatever the period;
  proposals the sweep made that nobody has requested yet are counted apart.
- At risk and breached: open cases now, as the "At risk" and "Breached" queues define them (so
  the numbers match the queues, and a case can be in both).
- Acknowledgements, full replies, resolutions: each deadline is counted once, in the period its
  due time falls in. A deadline counts when it has been met or has passed; a deadline still
  ahead and not yet met is left out, as it can still be kept. It was kept when the case was
  acknowledged (replied to, put right) at or before the due time on record (after any agreed
  change of time frames). A case reopened after being put right counts as not yet put right.
- Updates: the update clock restarts with every update and past due times are not kept, so
  this one is measured now rather than over the period: the share of open cases whose next
  update to the customer is not overdue.
- Hand-offs: cases raised in the period, by how many times their ownership moved.
- Promises: promises to customers due in the period, by whether they were kept, broken, are
  still open past their time, or are still open and not yet due.
- Satisfaction: ratings customers gave in the period.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, union_all
from sqlalchemy import case as sql_case

from shared.extensions import db
from shared.models import (
    OPEN_STATUS_VALUES,
    Calendar,
    Case,
    Category,
    Commitment,
    CommitmentState,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    Team,
    utcnow,
)
from shared.queues import QUEUES, Viewer, at_risk_boundaries, load_calendars

DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 366
DEFAULT_ZONE = ZoneInfo("Europe/London")


# --- The period ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days, first and last included, on the organisation's wall clock."""

    first_day: date
    last_day: date
    zone: ZoneInfo = DEFAULT_ZONE

    def __post_init__(self):
        if self.first_day > self.last_day:
            raise ValueError("a period cannot end before it starts")

    @classmethod
    def last_days(cls, today: date, days: int = DEFAULT_PERIOD_DAYS, zone: ZoneInfo = DEFAULT_ZONE):
        return cls(today - timedelta(days=days - 1), today, zone)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=self.zone)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the period (the period is [starts_at, ends_at))."""
        return datetime.combine(self.last_day + timedelta(days=1), time(0), tzinfo=self.zone)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def contains(self, column) -> ColumnElement[bool]:
        return and_(column >= self.starts_at, column < self.ends_at)


def organisation_zone(calendars: Mapping[int, Calendar]) -> tuple[ZoneInfo, str]:
    """The zone periods are read in: the first calendar's (the one set up first)."""
    if not calendars:
        return DEFAULT_ZONE, "UK time"
    first = calendars[min(calendars)]
    return first.zone, first.zone_label


# --- Figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """How many of the counted deadlines (promises, updates) were kept."""

    kept: int = 0
    counted: int = 0

    @property
    def ratio(self) -> float | None:
        return self.kept / self.counted if self.counted else None

    def __add__(self, other: "Share") -> "Share":
        return Share(self.kept + other.kept, self.counted + other.counted)


MEASURES = ("acknowledge", "first_response", "resolve", "update")


@dataclass(frozen=True)
class Compliance:
    """The four shares for one team, one category, or everything."""

    key: int | None  # the team's or category's id; None for the total
    label: str
    shares: Mapping[str, Share]  # by measure, every one of MEASURES present


@dataclass(frozen=True)
class PendingApprovals:
    count: int
    oldest_requested_at: datetime | None
    by_level: Mapping[int, int]  # level -> pending count, every level present
    proposed: int  # suggested by the sweep, not yet requested


@dataclass(frozen=True)
class TeamRisk:
    team_id: int
    label: str
    open: int
    at_risk: int
    breached: int


HANDOFF_BUCKETS = ("0", "1", "2", "3+")


@dataclass(frozen=True)
class Handoffs:
    cases: int
    total: int  # hand-offs of all those cases together
    distribution: Mapping[str, int]  # bucket -> cases, every bucket present

    @property
    def average(self) -> float | None:
        return self.total / self.cases if self.cases else None


@dataclass(frozen=True)
class Promises:
    kept: int
    broken: int
    open_overdue: int
    open_not_due: int

    @property
    def total(self) -> int:
        return self.kept + self.broken + self.open_overdue + self.open_not_due


@dataclass(frozen=True)
class Ratings:
    counts: Mapping[int, int]  # 1..5 -> how many, every rating present

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    @property
    def average(self) -> float | None:
        total = sum(rating * count for rating, count in self.counts.items())
        return total / self.count if self.count else None


@dataclass(frozen=True)
class Dashboard:
    period: Period
    team_id: int | None
    now: datetime
    approvals: PendingApprovals
    risk: list[TeamRisk]
    compliance_by_team: list[Compliance]
    compliance_by_category: list[Compliance]
    compliance_total: Compliance
    handoffs: Handoffs
    promises: Promises
    ratings: Ratings
    teams: list[tuple[int, str]] = field(default_factory=list)


# --- Queries -------------------------------------------------------------------------------------


def _counted_cases(team_id: int | None, *, by_team_index: bool = False
                   ) -> list[ColumnElement[bool]]:
    """Leave merged duplicates out, and keep one team's cases when asked.

    Both conditions are written so that SQLite, which has no statistics to choose by, keeps
    reading the date range each figure is about rather than an index on these columns:
    "merged_into_id IS NULL" would read every case through the merged_into_id index (NULL for
    nearly all), and a plain "team_id = ?" all of a team's cases through the team index.
    PostgreSQL's planner is not misled either way.
    """
    conditions = [func.coalesce(Case.merged_into_id, 0) == 0]
    if team_id is not None:
        conditions.append((Case.team_id if by_team_index else Case.team_id + 0) == team_id)
    return conditions


def _count_when(condition) -> ColumnElement[int]:
    return func.coalesce(func.sum(sql_case((condition, 1), else_=0)), 0)


def pending_approvals(team_id: int | None = None) -> PendingApprovals:
    """One statement: escalations waiting for a decision, and the sweep's proposals."""
    pending = Escalation.status == EscalationStatus.PENDING
    statement = select(
        _count_when(pending).label("pending"),
        func.min(sql_case((pending, Escalation.created_at))).label("oldest"),
        *(_count_when(and_(pending, Escalation.level == level)).label(f"level_{level.value}")
          for level in EscalationLevel),
        _count_when(Escalation.status == EscalationStatus.PROPOSED).label("proposed"),
    ).join(Case, Escalation.case_id == Case.id).where(
        Escalation.status.in_([EscalationStatus.PENDING, EscalationStatus.PROPOSED]),
        # As the approvals queue: a case no longer open needs no decision.
        Case.status.in_(OPEN_STATUS_VALUES),
        *_counted_cases(team_id),
    )
    row = db.session.execute(statement).one()
    return PendingApprovals(
        count=row.pending,
        oldest_requested_at=row.oldest,
        by_level={level.value: getattr(row, f"level_{level.value}") for level in EscalationLevel},
        proposed=row.proposed,
    )


def risk_viewer(calendars: Mapping[int, Calendar], now: datetime) -> Viewer:
    """The queues' idea of the moment, seen by nobody in particular: enough for at risk and
    breached, which do not depend on who looks."""
    business = {cid: calendar.business_calendar() for cid, calendar in calendars.items()}
    return Viewer(user_id=0, team_id=None, now=now, at_risk_until=at_risk_boundaries(business, now))


def risk_by_team(viewer: Viewer, team_id: int | None = None) -> dict[int, tuple[int, int, int]]:
    """One statement: team id -> (open, at risk, breached), for teams with open cases."""
    statement = (
        select(
            Case.team_id,
            func.count().label("open"),
            _count_when(QUEUES["at-risk"].condition(viewer)).label("at_risk"),
            _count_when(QUEUES["breached"].condition(viewer)).label("breached"),
        )
        .where(Case.status.in_(OPEN_STATUS_VALUES), *_counted_cases(team_id, by_team_index=True))
        .group_by(Case.team_id)
    )
    return {row.team_id: (row.open, row.at_risk, row.breached)
            for row in db.session.execute(statement)}


# Each part reads the period as one range of its due column's own index (ix_cases_<due>, migration
# e7a1c0d2b3f4), which also carries the met time, category, team and merged_into_id it counts and
# groups by: the cases table is never read, and the grouping works on that range alone.


def _deadline_select(measure: str, due, met, period: Period, now: datetime,
                     team_id: int | None):
    """The kept and counted deadlines of one time frame, per (team, category)."""
    return (
        select(
            literal_column(f"'{measure}'").label("measure"),
            Case.team_id,
            Case.category_id,
            _count_when(and_(met.is_not(None), met <= due)).label("kept"),
            func.count().label("counted"),
        )
        .where(period.contains(due), or_(met.is_not(None), due < now), *_counted_cases(team_id))
        .group_by(Case.category_id, Case.team_id)
    )


def _updates_select(now: datetime, team_id: int | None):
    return (
        select(
            literal_column("'update'").label("measure"),
            Case.team_id,
            Case.category_id,
            _count_when(Case.next_update_due_at >= now).label("kept"),
            func.count().label("counted"),
        )
        .where(Case.status.in_(OPEN_STATUS_VALUES), Case.next_update_due_at.is_not(None),
               *_counted_cases(team_id))
        .group_by(Case.category_id, Case.team_id)
    )


def compliance_cells(period: Period, now: datetime, team_id: int | None = None
                     ) -> dict[tuple[str, int, int], Share]:
    """One statement (a UNION ALL, each part read through its own due-time index):
    (measure, team id, category id) -> Share."""
    statement = union_all(
        _deadline_select("acknowledge", Case.acknowledge_due_at, Case.acknowledged_at, period,
                         now, team_id),
        _deadline_select("first_response", Case.first_response_due_at, Case.first_responded_at,
                         period, now, team_id),
        _deadline_select("resolve", Case.resolve_due_at, Case.resolved_at, period, now, team_id),
        _updates_select(now, team_id),
    )
    return {
        (row.measure, row.team_id, row.category_id): Share(int(row.kept), int(row.counted))
        for row in db.session.execute(statement)
    }


def _roll_up(cells: Mapping[tuple[str, int, int], Share], position: int, names
             ) -> list[Compliance]:
    """Add the (team, category) cells up by team (position 1) or by category (position 2)."""
    totals: dict[int, dict[str, Share]] = defaultdict(lambda: {m: Share() for m in MEASURES})
    for key, share in cells.items():
        totals[key[position]][key[0]] += share
    return [Compliance(key, label, totals[key]) for key, label in names if key in totals]


def _total(cells: Mapping[tuple[str, int, int], Share]) -> Compliance:
    shares = {measure: Share() for measure in MEASURES}
    for (measure, _team, _category), share in cells.items():
        shares[measure] += share
    return Compliance(None, "All", shares)


def handoffs(period: Period, team_id: int | None = None) -> Handoffs:
    """One statement over the cases raised in the period."""
    count = Case.handoff_count
    statement = select(
        func.count().label("cases"),
        func.coalesce(func.sum(count), 0).label("total"),
        _count_when(count == 0).label("none"),
        _count_when(count == 1).label("one"),
        _count_when(count == 2).label("two"),
        _count_when(count >= 3).label("more"),
    ).where(period.contains(Case.created_at), *_counted_cases(team_id))
    row = db.session.execute(statement).one()
    return Handoffs(
        cases=row.cases,
        total=int(row.total),
        distribution=dict(zip(HANDOFF_BUCKETS, (row.none, row.one, row.two, row.more),
                              strict=True)),
    )


def promises(period: Period, now: datetime, team_id: int | None = None) -> Promises:
    """One statement over the promises due in the period."""
    state = Commitment.state
    is_open = state == CommitmentState.OPEN
    statement = select(
        _count_when(state == CommitmentState.KEPT).label("kept"),
        _count_when(state == CommitmentState.BROKEN).label("broken"),
        _count_when(and_(is_open, Commitment.due_at < now)).label("open_overdue"),
        _count_when(and_(is_open, Commitment.due_at >= now)).label("open_not_due"),
    ).where(
        period.contains(Commitment.due_at),
        # The few merged duplicates through their index, not a look-up of every promise's case.
        Commitment.case_id.not_in(select(Case.id).where(Case.merged_into_id.is_not(None))),
    )
    if team_id is not None:
        statement = statement.where(
            (Commitment.case_id + 0).in_(select(Case.id).where(Case.team_id == team_id))
        )
    row = db.session.execute(statement).one()
    return Promises(row.kept, row.broken, row.open_overdue, row.open_not_due)


def ratings(period: Period, team_id: int | None = None) -> Ratings:
    """One statement: how many of each rating customers gave in the period."""
    statement = (
        select(Case.rating, func.count().label("count"))
        .where(period.contains(Case.rated_at), Case.rating.is_not(None),
               *_counted_cases(team_id))
        .group_by(Case.rating)
    )
    counts = dict.fromkeys(range(1, 6), 0)
    for row in db.session.execute(statement):
        counts[row.rating] = row.count
    return Ratings(counts)


# --- Everything on the page ----------------------------------------------------------------------


def team_names() -> list[tuple[int, str]]:
    statement = select(Team.id, Team.name).order_by(Team.name)
    return [tuple(row) for row in db.session.execute(statement)]


def category_names() -> list[tuple[int, str]]:
    return [tuple(row) for row in db.session.execute(
        select(Category.id, Category.name).order_by(Category.position, Category.name)
    )]


def build_dashboard(
    period: Period,
    *,
    team_id: int | None = None,
    now: datetime | None = None,
    calendars: Mapping[int, Calendar] | None = None,
    teams: list[tuple[int, str]] | None = None,
) -> Dashboard:
    """Every figure of the page: about a dozen statements, whatever the number of cases."""
    now = now or utcnow()
    calendars = load_calendars() if calendars is None else calendars
    teams = team_names() if teams is None else teams
    categories = category_names()
    names = dict(teams)

    open_risk = risk_by_team(risk_viewer(calendars, now), team_id)
    risk = [TeamRisk(tid, names.get(tid, "No team"), *open_risk[tid])
            for tid in sorted(open_risk, key=lambda tid: (names.get(tid, ""), tid))]

    cells = compliance_cells(period, now, team_id)
    return Dashboard(
        period=period,
        team_id=team_id,
        now=now,
        approvals=pending_approvals(team_id),
        risk=risk,
        compliance_by_team=_roll_up(cells, 1, teams),
        compliance_by_category=_roll_up(cells, 2, categories),
        compliance_total=_total(cells),
        handoffs=handoffs(period, team_id),
        promises=promises(period, now, team_id),
        ratings=ratings(period, team_id),
        teams=teams,
    )
