"""What complaints tell us: the patterns many cases reveal, for managers.

Every figure is counted by the database (COUNT, SUM, GROUP BY) in a fixed number of statements
however many cases there are, in SQL that SQLite and PostgreSQL both run; Python only sorts,
adds up the few grouped rows and names them. Nothing here reads the request: the period, the
filters and the moment are passed in.

How each figure is counted (the page says the same in its "How these are counted" note):

- Duplicates merged into another case are left out of every figure: the surviving case counts.
- Team, category and product are the case's current ones; each filter keeps only the cases
  that match it. A case with no product recorded shows as "Not recorded".
- Root causes (the Pareto): cases resolved in the period with a root cause, by cause, most
  first (equal counts by name). Share is of all of them; the cumulative share adds up the
  causes before and including each one. The "vital few" are the causes up to and including
  the one at which the cumulative share first reaches 80 %. Satisfaction (the customers'
  ratings) and hand-offs per cause are of the same cases.
- Trends: complaints raised per week (Monday to Sunday, on the organisation's clock), for the
  whole weeks that cover the period, against the same number of weeks just before them.
- Repeat complainants: of the complaints raised in the period, those whose customer had raised
  another complaint (about anything) in the 90 days before it.
- Reopened: the reasons customers gave when they reopened a case in the period, newest first.
- Redress: remedies given (or approved above someone's limit) on the cases resolved in the
  period, added up per currency, by root cause and by product.
- Problems open longest: open problems, oldest first, with their linked cases. With a filter,
  a problem counts when it is about that team, category or product, or has a linked case that is.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, DateTime, and_, func, literal_column, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from shared.dashboard import Period, category_names, team_names
from shared.extensions import db
from shared.models import (
    GIVEN_REDRESS_STATES,
    OPEN_PROBLEM_STATUS_VALUES,
    OPEN_STATUS_VALUES,
    Case,
    Category,
    CauseArea,
    EventKind,
    Problem,
    ProblemCase,
    Product,
    Redress,
    RootCause,
    Team,
    TimelineEvent,
    User,
    problem_reference,
)

NOT_RECORDED = "Not recorded"
NO_CAUSE = "No cause recorded"
VITAL_FEW_PERCENT = 80
REPEAT_WINDOW_DAYS = 90
REOPEN_REASONS_SHOWN = 20
REPEAT_COMPLAINANTS_SHOWN = 10
PROBLEMS_SHOWN = 10
GIVEN_STATE_VALUES = sorted(state.value for state in GIVEN_REDRESS_STATES)


@dataclass(frozen=True)
class Filters:
    team_id: int | None = None
    category_id: int | None = None
    product_id: int | None = None

    def conditions(self, cases=Case) -> list[ColumnElement[bool]]:
        """Merged duplicates left out; the team, category and product asked for kept."""
        conditions = [func.coalesce(cases.merged_into_id, 0) == 0]
        # "+ 0" keeps SQLite reading the date range each figure is about, not a whole team's
        # (or category's) cases through their own index (as shared.dashboard explains).
        if self.team_id is not None:
            conditions.append(cases.team_id + 0 == self.team_id)
        if self.category_id is not None:
            conditions.append(cases.category_id + 0 == self.category_id)
        if self.product_id is not None:
            conditions.append(cases.product_id + 0 == self.product_id)
        return conditions

    @property
    def any(self) -> bool:
        return any(value is not None for value in (self.team_id, self.category_id,
                                                   self.product_id))


# --- Root causes: the Pareto, with satisfaction and hand-offs -----------------------------------


@dataclass(frozen=True)
class CauseRow:
    cause_id: int
    label: str  # "Delivery → carrier missed the slot"
    area: str  # "Delivery"
    cause: str  # "carrier missed the slot"
    retired: bool
    cases: int
    cumulative: int  # the cases of this cause and of every cause before it
    total: int  # all resolved cases with a cause
    vital: bool
    rated: int  # how many of its cases the customer rated
    rating_total: int
    handoffs: int  # hand-offs of all its cases together

    @property
    def share(self) -> float:
        return self.cases / self.total if self.total else 0.0

    @property
    def cumulative_share(self) -> float:
        return self.cumulative / self.total if self.total else 0.0

    @property
    def average_rating(self) -> float | None:
        return self.rating_total / self.rated if self.rated else None

    @property
    def average_handoffs(self) -> float:
        return self.handoffs / self.cases if self.cases else 0.0


@dataclass(frozen=True)
class Pareto:
    rows: list[CauseRow]
    total: int  # resolved in the period with a cause
    without_cause: int  # resolved in the period with none (before causes were recorded)

    @property
    def vital_few(self) -> list[CauseRow]:
        return [row for row in self.rows if row.vital]

    @property
    def vital_cases(self) -> int:
        return sum(row.cases for row in self.vital_few)


def vital_flags(counts: Sequence[int]) -> list[bool]:
    """For counts sorted most first: which are the vital few, up to and including the first
    at which the running total reaches 80 % of the whole (in whole numbers, so exact)."""
    total = sum(counts)
    flags, running, reached = [], 0, False
    for count in counts:
        flags.append(not reached)
        running += count
        if running * 100 >= VITAL_FEW_PERCENT * total:
            reached = True
    return flags


def pareto(period: Period, filters: Filters) -> Pareto:
    """One statement: resolved cases in the period by root cause (NULL: none recorded)."""
    rated = Case.rating.is_not(None)
    statement = (
        select(
            Case.root_cause_id,
            CauseArea.name.label("area"),
            RootCause.name.label("cause"),
            RootCause.retired_at,
            func.count().label("cases"),
            func.coalesce(func.sum(sql_case((rated, 1), else_=0)), 0).label("rated"),
            func.coalesce(func.sum(Case.rating), 0).label("rating_total"),
            func.coalesce(func.sum(Case.handoff_count), 0).label("handoffs"),
        )
        .select_from(Case)
        .outerjoin(RootCause, RootCause.id == Case.root_cause_id)
        .outerjoin(CauseArea, CauseArea.id == RootCause.area_id)
        .where(period.contains(Case.resolved_at), *filters.conditions())
        .group_by(Case.root_cause_id, CauseArea.name, RootCause.name, RootCause.retired_at)
    )
    found, without_cause = [], 0
    for row in db.session.execute(statement):
        if row.root_cause_id is None:
            without_cause += row.cases
        else:
            found.append(row)
    found.sort(key=lambda row: (-row.cases, f"{row.area} → {row.cause}".casefold(),
                                row.root_cause_id))
    total = sum(row.cases for row in found)
    rows, running = [], 0
    for row, vital in zip(found, vital_flags([row.cases for row in found]), strict=True):
        running += row.cases
        rows.append(CauseRow(
            cause_id=row.root_cause_id, label=f"{row.area} → {row.cause}", area=row.area,
            cause=row.cause,
            retired=row.retired_at is not None, cases=row.cases, cumulative=running,
            total=total, vital=vital, rated=int(row.rated), rating_total=int(row.rating_total),
            handoffs=int(row.handoffs),
        ))
    return Pareto(rows, total, without_cause)


# --- Trends: complaints per week, against the weeks before --------------------------------------


@dataclass(frozen=True)
class Week:
    starts_on: date  # a Monday
    starts_at: datetime
    ends_at: datetime  # the next Monday, midnight

    def holds(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


@dataclass(frozen=True)
class TrendRow:
    key: int | None  # the category's or product's id; None: no product recorded, or the total
    label: str
    weekly: tuple[int, ...]  # each week of the period's weeks
    earlier_weekly: tuple[int, ...]  # each of the same number of weeks just before

    @property
    def total(self) -> int:
        return sum(self.weekly)

    @property
    def earlier_total(self) -> int:
        return sum(self.earlier_weekly)

    @property
    def change(self) -> int:
        return self.total - self.earlier_total

    @property
    def change_ratio(self) -> float | None:
        """+0.5 for half as many again; None when there were none before."""
        return self.change / self.earlier_total if self.earlier_total else None


@dataclass(frozen=True)
class Trends:
    weeks: tuple[Week, ...]
    earlier_weeks: tuple[Week, ...]
    total: TrendRow
    by_category: list[TrendRow]
    by_product: list[TrendRow]


def weeks_covering(period: Period) -> tuple[tuple[Week, ...], tuple[Week, ...]]:
    """The whole weeks (Monday to Sunday) that cover the period, and as many just before."""
    first_monday = period.first_day - timedelta(days=period.first_day.weekday())
    last_monday = period.last_day - timedelta(days=period.last_day.weekday())
    count = (last_monday - first_monday).days // 7 + 1
    mondays = [first_monday + timedelta(weeks=offset) for offset in range(-count, count + 1)]
    starts = [datetime.combine(monday, time(0), tzinfo=period.zone) for monday in mondays]
    weeks = tuple(Week(mondays[i], starts[i], starts[i + 1]) for i in range(2 * count))
    return weeks[count:], weeks[:count]


def _week_counts(weeks: Sequence[Week], filters: Filters) -> dict[tuple[int, int, int], int]:
    """One statement: (week index, category id, product id) -> complaints raised."""
    week_index = _week_of(Case.created_at, weeks, 0, len(weeks))
    raised = (
        select(week_index.label("week"), Case.category_id, Case.product_id)
        .where(Case.created_at >= weeks[0].starts_at, Case.created_at < weeks[-1].ends_at,
               *filters.conditions())
        .subquery()
    )
    statement = (
        select(raised.c.week, raised.c.category_id, raised.c.product_id,
               func.count().label("raised"))
        .group_by(raised.c.week, raised.c.category_id, raised.c.product_id)
    )
    return {(row.week, row.category_id, row.product_id): row.raised
            for row in db.session.execute(statement)}


def _week_of(column, weeks: Sequence[Week], first: int, after: int):
    """The index of the week a moment falls in, among weeks[first:after] (it falls in one of
    them): CASEs nested as a binary search, so each row is compared a handful of times rather
    than once per week (a year and the year before are over a hundred weeks)."""
    if after - first == 1:
        return literal_column(str(first))
    middle = (first + after) // 2
    return sql_case((column < weeks[middle].starts_at, _week_of(column, weeks, first, middle)),
                    else_=_week_of(column, weeks, middle, after))


def trends(period: Period, filters: Filters, categories: Sequence[tuple[int, str]],
           products: Sequence[tuple[int, str]]) -> Trends:
    weeks, earlier = weeks_covering(period)
    counts = _week_counts((*earlier, *weeks), filters)
    span = len(weeks)
    overall = [0] * (2 * span)
    by_key: list[dict[int | None, list[int]]] = [defaultdict(lambda: [0] * (2 * span)),
                                                 defaultdict(lambda: [0] * (2 * span))]
    for (week, category_id, product_id), raised in counts.items():
        overall[week] += raised
        by_key[0][category_id][week] += raised
        by_key[1][product_id][week] += raised

    def row(key, label, by_week) -> TrendRow:
        return TrendRow(key, label, tuple(by_week[span:]), tuple(by_week[:span]))

    def rows(position, names) -> list[TrendRow]:
        found = by_key[position]
        named = [row(key, label, found[key]) for key, label in names if key in found]
        if None in found:
            named.append(row(None, NOT_RECORDED, found[None]))
        named.sort(key=lambda each: (each.key is None, -each.total, -each.earlier_total,
                                     each.label.casefold()))
        return named

    return Trends(weeks, earlier, row(None, "All complaints", overall), rows(0, categories),
                  rows(1, products))


# --- Repeat complainants ------------------------------------------------------------------------


class days_before(FunctionElement):
    """A moment so many days earlier: `days_before(column, 90)`, in each database's words."""

    type = DateTime()
    name = "days_before"
    inherit_cache = True


@compiles(days_before)
def _days_before_postgresql(element, compiler, **kw):
    moment, days = list(element.clauses)
    return (f"({compiler.process(moment, **kw)}"
            f" - make_interval(days => {compiler.process(days, **kw)}))")


@compiles(days_before, "sqlite")
def _days_before_sqlite(element, compiler, **kw):
    # Written as the stored text is ("2026-11-18 12:00:00.000000" sorts after the same moment
    # written to the millisecond), so the comparison is of like with like.
    moment, days = list(element.clauses)
    return (f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(moment, **kw)},"
            f" '-' || {compiler.process(days, **kw)} || ' days')")


@dataclass(frozen=True)
class RepeatCustomer:
    customer_id: int
    name: str
    email: str
    complaints: int  # raised in the period
    repeats: int  # of those, raised within 90 days of another
    latest_at: datetime


@dataclass(frozen=True)
class Repeats:
    complaints: int  # raised in the period
    repeat_complaints: int  # of those, raised within 90 days of another by the same customer
    complainants: int  # customers who raised them
    repeat_complainants: int  # customers with at least one repeat complaint
    top: list[RepeatCustomer] = field(default_factory=list)


def repeats(period: Period, filters: Filters) -> Repeats:
    """Two statements: the counts, and the customers with the most repeat complaints.

    Each complaint is set beside the same customer's complaint just before it (about anything,
    from 90 days before the period on), with a window function: one pass over the complaints
    in order, rather than a look-up for each.
    """
    window_start = period.starts_at - timedelta(days=REPEAT_WINDOW_DAYS)
    raised = (
        select(
            Case.id, Case.customer_id, Case.created_at, Case.team_id, Case.category_id,
            Case.product_id,
            func.lag(Case.created_at).over(
                partition_by=Case.customer_id, order_by=(Case.created_at, Case.id)
            ).label("before"),
        )
        .where(Case.created_at >= window_start, Case.created_at < period.ends_at,
               func.coalesce(Case.merged_into_id, 0) == 0)
        .subquery()
    )
    wanted = [period.contains(raised.c.created_at)]
    for column, value in ((raised.c.team_id, filters.team_id),
                          (raised.c.category_id, filters.category_id),
                          (raised.c.product_id, filters.product_id)):
        if value is not None:
            wanted.append(column == value)
    is_repeat = and_(raised.c.before.is_not(None),
                     raised.c.before >= days_before(raised.c.created_at, REPEAT_WINDOW_DAYS))
    flagged = (
        select(raised.c.customer_id, raised.c.created_at,
               sql_case((is_repeat, 1), else_=0).label("repeat"))
        .where(*wanted)
        .subquery()
    )
    counts = db.session.execute(select(
        func.count().label("complaints"),
        func.coalesce(func.sum(flagged.c.repeat), 0).label("repeat_complaints"),
        func.count(func.distinct(flagged.c.customer_id)).label("complainants"),
        func.count(func.distinct(sql_case((flagged.c.repeat == 1, flagged.c.customer_id))))
        .label("repeat_complainants"),
    )).one()
    if not counts.repeat_complaints:
        return Repeats(counts.complaints, 0, counts.complainants, 0)
    per_customer = (
        select(
            flagged.c.customer_id,
            func.count().label("complaints"),
            func.sum(flagged.c.repeat).label("repeats"),
            func.max(flagged.c.created_at).label("latest_at"),
        )
        .group_by(flagged.c.customer_id)
        .having(func.sum(flagged.c.repeat) > 0)
        .subquery()
    )
    statement = (
        select(per_customer, User.name, User.email)
        .join(User, User.id == per_customer.c.customer_id)
        .order_by(per_customer.c.complaints.desc(), per_customer.c.repeats.desc(),
                  per_customer.c.latest_at.desc(), per_customer.c.customer_id)
        .limit(REPEAT_COMPLAINANTS_SHOWN)
    )
    top = [RepeatCustomer(row.customer_id, row.name, row.email, row.complaints,
                          int(row.repeats), _aware(row.latest_at))
           for row in db.session.execute(statement)]
    return Repeats(counts.complaints, int(counts.repeat_complaints), counts.complainants,
                   counts.repeat_complainants, top)


def _aware(moment) -> datetime:
    """An aggregate over a UTC column, as the database gives it back: made aware UTC."""
    if isinstance(moment, str):  # SQLite may return the stored text from an aggregate
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- Reopened: the customers' reasons -----------------------------------------------------------


@dataclass(frozen=True)
class ReopenReason:
    at: datetime
    reference: str
    category: str
    reason: str


@dataclass(frozen=True)
class Reopens:
    count: int
    latest: list[ReopenReason]


def reopens(period: Period, filters: Filters) -> Reopens:
    """One statement: the newest reasons, with how many there were in all."""
    statement = (
        select(
            TimelineEvent.created_at,
            TimelineEvent.body,
            Case.reference,
            Category.name.label("category"),
            func.count().over().label("total"),
        )
        .join(Case, Case.id == TimelineEvent.case_id)
        .join(Category, Category.id == Case.category_id)
        .where(TimelineEvent.kind == EventKind.REOPENED,
               period.contains(TimelineEvent.created_at), *filters.conditions())
        .order_by(TimelineEvent.created_at.desc(), TimelineEvent.id.desc())
        .limit(REOPEN_REASONS_SHOWN)
    )
    rows = db.session.execute(statement).all()
    return Reopens(
        count=rows[0].total if rows else 0,
        latest=[ReopenReason(row.created_at, row.reference, row.category, row.body)
                for row in rows],
    )


# --- Redress given, by cause and by product -----------------------------------------------------


@dataclass(frozen=True)
class RedressLine:
    key: int | None
    label: str
    amounts: dict[str, int]  # currency -> minor units given, largest first
    remedies: int  # every remedy given, money or not
    beyond_request: int  # of those, more than the customer asked for


def redress_totals(period: Period, filters: Filters, products: Sequence[tuple[int, str]]
                   ) -> tuple[list[RedressLine], list[RedressLine]]:
    """One statement: remedies given on the cases resolved in the period, per (cause, product,
    currency); added up by cause and by product here."""
    statement = (
        select(
            Case.root_cause_id,
            CauseArea.name.label("area"),
            RootCause.name.label("cause"),
            Case.product_id,
            Redress.currency,
            func.coalesce(func.sum(Redress.amount_minor), 0).label("amount"),
            func.count().label("remedies"),
            func.coalesce(func.sum(sql_case((Redress.beyond_request, 1), else_=0)), 0)
            .label("beyond"),
        )
        .select_from(Redress)
        .join(Case, Case.id == Redress.case_id)
        .outerjoin(RootCause, RootCause.id == Case.root_cause_id)
        .outerjoin(CauseArea, CauseArea.id == RootCause.area_id)
        .where(Redress.state.in_(GIVEN_STATE_VALUES), period.contains(Case.resolved_at),
               *filters.conditions())
        .group_by(Case.root_cause_id, CauseArea.name, RootCause.name, Case.product_id,
                  Redress.currency)
    )
    product_names = dict(products)
    by_cause: dict[int | None, dict] = {}
    by_product: dict[int | None, dict] = {}
    for row in db.session.execute(statement):
        cause_label = NO_CAUSE if row.root_cause_id is None else f"{row.area} → {row.cause}"
        product_label = product_names.get(row.product_id, NOT_RECORDED)
        for lines, key, label in ((by_cause, row.root_cause_id, cause_label),
                                  (by_product, row.product_id, product_label)):
            line = lines.setdefault(key, {"label": label, "amounts": defaultdict(int),
                                          "remedies": 0, "beyond": 0})
            if row.currency is not None:
                line["amounts"][row.currency] += int(row.amount)
            line["remedies"] += row.remedies
            line["beyond"] += int(row.beyond)
    return _redress_lines(by_cause), _redress_lines(by_product)


def _redress_lines(lines: dict) -> list[RedressLine]:
    made = [
        RedressLine(key, line["label"],
                    dict(sorted(line["amounts"].items(), key=lambda item: (-item[1], item[0]))),
                    line["remedies"], line["beyond"])
        for key, line in lines.items()
    ]
    # The most money first (whatever its currency: there is rarely more than one), then the
    # most remedies; the unrecorded last.
    made.sort(key=lambda line: (line.key is None, -max(line.amounts.values(), default=0),
                                -line.remedies, line.label.casefold()))
    return made


# --- Problems open longest ----------------------------------------------------------------------


@dataclass(frozen=True)
class OpenProblem:
    problem_id: int
    title: str
    status: str
    opened_at: datetime
    team: str
    owner: str
    linked_cases: int
    open_cases: int

    @property
    def reference(self) -> str:
        return problem_reference(self.problem_id)


@dataclass(frozen=True)
class OpenProblems:
    count: int  # open problems in all (with the filters)
    oldest: list[OpenProblem]


def _problem_filters(filters: Filters) -> list[ColumnElement[bool]]:
    """A problem about the team, category or product asked for, or with a linked case that is."""
    conditions = []
    for problem_column, case_column, wanted in (
        (Problem.team_id, Case.team_id, filters.team_id),
        (Problem.category_id, Case.category_id, filters.category_id),
        (Problem.product_id, Case.product_id, filters.product_id),
    ):
        if wanted is None:
            continue
        linked = (select(ProblemCase.problem_id)
                  .join(Case, Case.id == ProblemCase.case_id)
                  .where(case_column == wanted))
        conditions.append(or_(problem_column == wanted, Problem.id.in_(linked)))
    return conditions


def open_problems(filters: Filters) -> OpenProblems:
    """One statement: the oldest open problems with their case counts, and how many in all."""
    linked = (
        select(
            ProblemCase.problem_id,
            func.count().label("linked"),
            func.coalesce(func.sum(sql_case((Case.status.in_(OPEN_STATUS_VALUES), 1),
                                            else_=0)), 0).label("open"),
        )
        .join(Case, Case.id == ProblemCase.case_id)
        .group_by(ProblemCase.problem_id)
        .subquery()
    )
    statement = (
        select(
            Problem.id, Problem.title, Problem.status, Problem.created_at,
            Team.name.label("team"), User.name.label("owner"),
            func.coalesce(linked.c.linked, 0).label("linked"),
            func.coalesce(linked.c.open, 0).label("open"),
            func.count().over().label("total"),
        )
        .join(Team, Team.id == Problem.team_id)
        .join(User, User.id == Problem.owner_id)
        .outerjoin(linked, linked.c.problem_id == Problem.id)
        .where(Problem.status.in_(OPEN_PROBLEM_STATUS_VALUES), *_problem_filters(filters))
        .order_by(Problem.created_at, Problem.id)
        .limit(PROBLEMS_SHOWN)
    )
    rows = db.session.execute(statement).all()
    return OpenProblems(
        count=rows[0].total if rows else 0,
        oldest=[OpenProblem(row.id, row.title, row.status, row.created_at, row.team, row.owner,
                            int(row.linked), int(row.open)) for row in rows],
    )


# --- Everything on the page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Patterns:
    period: Period
    now: datetime
    filters: Filters
    pareto: Pareto
    trends: Trends
    repeats: Repeats
    reopens: Reopens
    redress_by_cause: list[RedressLine]
    redress_by_product: list[RedressLine]
    problems: OpenProblems


def product_names() -> list[tuple[int, str]]:
    """Every product, retired ones too: old cases still name them."""
    return [tuple(row) for row in db.session.execute(
        select(Product.id, Product.name).order_by(Product.position, Product.name)
    )]


def build_patterns(
    period: Period,
    now: datetime,
    *,
    team_id: int | None = None,
    category_id: int | None = None,
    product_id: int | None = None,
    categories: Sequence[tuple[int, str]] | None = None,
    products: Sequence[tuple[int, str]] | None = None,
) -> Patterns:
    """Every figure of the page: about ten statements, whatever the number of cases."""
    filters = Filters(team_id, category_id, product_id)
    categories = category_names() if categories is None else categories
    products = product_names() if products is None else products
    by_cause, by_product = redress_totals(period, filters, products)
    return Patterns(
        period=period,
        now=now,
        filters=filters,
        pareto=pareto(period, filters),
        trends=trends(period, filters, categories, products),
        repeats=repeats(period, filters),
        reopens=reopens(period, filters),
        redress_by_cause=by_cause,
        redress_by_product=by_product,
        problems=open_problems(filters),
    )


# --- The cases behind the figures (the export) --------------------------------------------------

CASE_EXPORT_LIMIT = 100_000
CASE_CHUNK = 1_000


@dataclass(frozen=True)
class CaseLine:
    reference: str
    raised_at: datetime
    resolved_at: datetime | None
    category: str
    product: str
    team: str
    outcome: str | None  # the Outcome's value
    cause_area: str  # "" when no cause was recorded
    root_cause: str
    root_cause_words: str
    redress: list[tuple[str, str, int | None, str | None, bool]]  # kind, words, amount, currency,
    # more than asked for: the remedies given


def case_lines(period: Period, filters: Filters, *, limit: int = CASE_EXPORT_LIMIT
               ) -> Iterator[CaseLine]:
    """The cases raised or resolved in the period, oldest first, at most `limit`: two
    statements per thousand cases (the cases, then their remedies given)."""
    last_id, given = 0, 0
    while given < limit:
        chunk = db.session.execute(
            select(
                Case.id, Case.reference, Case.created_at, Case.resolved_at, Case.outcome,
                Case.root_cause_words,
                Category.name.label("category"), Product.name.label("product"),
                Team.name.label("team"), CauseArea.name.label("area"),
                RootCause.name.label("cause"),
            )
            .join(Category, Category.id == Case.category_id)
            .join(Team, Team.id == Case.team_id)
            .outerjoin(Product, Product.id == Case.product_id)
            .outerjoin(RootCause, RootCause.id == Case.root_cause_id)
            .outerjoin(CauseArea, CauseArea.id == RootCause.area_id)
            .where(or_(period.contains(Case.created_at), period.contains(Case.resolved_at)),
                   Case.id > last_id, *filters.conditions())
            .order_by(Case.id)
            .limit(min(CASE_CHUNK, limit - given))
        ).all()
        if not chunk:
            return
        remedies = defaultdict(list)
        for redress in db.session.execute(
            select(Redress.case_id, Redress.kind, Redress.description, Redress.amount_minor,
                   Redress.currency, Redress.beyond_request)
            .where(Redress.case_id.in_([row.id for row in chunk]),
                   Redress.state.in_(GIVEN_STATE_VALUES))
            .order_by(Redress.case_id, Redress.id)
        ):
            remedies[redress.case_id].append(
                (redress.kind, redress.description or "", redress.amount_minor,
                 redress.currency, bool(redress.beyond_request))
            )
        for row in chunk:
            yield CaseLine(
                reference=row.reference,
                raised_at=row.created_at,
                resolved_at=row.resolved_at,
                category=row.category,
                product=row.product or NOT_RECORDED,
                team=row.team,
                outcome=row.outcome,
                cause_area=row.area or "",
                root_cause=row.cause or "",
                root_cause_words=row.root_cause_words or "",
                redress=remedies.get(row.id, []),
            )
        given += len(chunk)
        last_id = chunk[-1].id


def count_case_lines(period: Period, filters: Filters) -> int:
    """How many cases the export would hold without its limit: one statement."""
    return db.session.scalar(
        select(func.count()).select_from(Case).where(
            or_(period.contains(Case.created_at), period.contains(Case.resolved_at)),
            *filters.conditions(),
        )
    )


__all__ = [
    "CASE_EXPORT_LIMIT",
    "NOT_RECORDED",
    "Filters",
    "Patterns",
    "Period",
    "build_patterns",
    "case_lines",
    "category_names",
    "count_case_lines",
    "product_names",
    "team_names",
    "vital_flags",
    "weeks_covering",
]
