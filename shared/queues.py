"""The staff queues: which cases need whom next, how many there are, one page at a time.

Each queue is a condition on cases. `queue_select(key, viewer)` (and the named functions such as
`my_cases(viewer)`) return a SELECT of cases; `queue_counts` counts every queue in one
statement; `queue_page` reads one page of rows for the list, filtered, searched and sorted by
the next due time, in one statement, with a keyset cursor for the next page.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import chain
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    FunctionElement,
    Integer,
    Select,
    and_,
    bindparam,
    event,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased, selectinload

from shared.clock import BusinessCalendar, short_due
from shared.extensions import db
from shared.models import (
    OPEN_STATUS_VALUES,
    STAFF_ROLES,
    Calendar,
    Case,
    CaseStatus,
    Category,
    Commitment,
    CommitmentState,
    Priority,
    SavedReply,
    ServiceLevel,
    Team,
    User,
    UTCDateTime,
    utcnow,
)
from shared.models.service_levels import read_settings_stamp
from shared.search import (
    newest_matching_words_sqlite,
    search_condition_of_kind,
    search_parameters,
)

PAGE_SIZE = 50
_STAFF_ROLES = [str(r) for r in STAFF_ROLES]
RECENTLY_CLOSED_DAYS = 14
# "At risk" looks ahead to the end of the next business day of the case's own calendar.
AT_RISK_BUSINESS_DAYS = 1
CLOSED_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CLOSED)

STATUS_LABELS = {
    CaseStatus.NEW: "New",
    CaseStatus.ACKNOWLEDGED: "Acknowledged",
    CaseStatus.IN_PROGRESS: "In progress",
    CaseStatus.WAITING_ON_CUSTOMER: "Waiting on customer",
    CaseStatus.RESOLVED: "Resolved",
    CaseStatus.CLOSED: "Closed",
}


# --- The next due time frame, in SQL -----------------------------------------------------------


class earliest(FunctionElement):  # noqa: N801 - used like func.least
    """The smallest of its arguments: LEAST() in PostgreSQL, the scalar min() in SQLite."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(earliest)
def _compile_earliest(element, compiler, **kw):
    return f"least({compiler.process(element.clauses, **kw)})"


@compiles(earliest, "sqlite")
def _compile_earliest_sqlite(element, compiler, **kw):
    return f"min({compiler.process(element.clauses, **kw)})"


def _unless_met(due_at, met_at) -> ColumnElement:
    # A met frame stands in as the resolve date rather than NULL: SQLite's min() returns NULL
    # as soon as one argument is NULL.
    return sql_case((met_at.is_(None), due_at), else_=Case.resolve_due_at)


# The earliest unmet of the agreed time frames (acknowledge, full reply, put right). An open
# case's resolution is never met (resolving sets resolved_at and takes the case out of the open
# queues; reopening clears it), so for open cases this is never NULL.
#
# Why an expression rather than a stored column, or "next_update_due_at, resolve_due_at": it is
# the true next promise to the customer, no service has to keep a new column in step, and every
# queue is first narrowed by indexed conditions (owner, team, status), so what is left to sort
# is a few hundred or thousand rows, read as a top-50 sort thanks to LIMIT.
NEXT_DUE = earliest(
    Case.resolve_due_at,
    _unless_met(Case.acknowledge_due_at, Case.acknowledged_at),
    _unless_met(Case.first_response_due_at, Case.first_responded_at),
)

# (label for staff, due column, met column), earliest first in the standard service levels.
TIME_FRAMES = (
    ("Acknowledge by", "acknowledge_due_at", "acknowledged_at"),
    ("Full reply by", "first_response_due_at", "first_responded_at"),
    ("Put right by", "resolve_due_at", "resolved_at"),
)


def _unmet_due_before(moment: datetime) -> ColumnElement[bool]:
    """Some agreed time frame is still unmet and was due before `moment`. Each branch is one
    range of a (met, due, ...) index: the NULLs of the met column, due before the moment."""
    return or_(
        and_(Case.acknowledged_at.is_(None), Case.acknowledge_due_at < moment),
        and_(Case.first_responded_at.is_(None), Case.first_response_due_at < moment),
        and_(Case.resolved_at.is_(None), Case.resolve_due_at < moment),
    )


# --- Who is looking, and when ------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """What the queues need to know about the person looking and the moment they look."""

    user_id: int
    team_id: int | None
    now: datetime
    # End of the next business day, per calendar id: the edge of "at risk".
    at_risk_until: Mapping[int, datetime]

    @property
    def at_risk_latest(self) -> datetime | None:
        """The latest of the at-risk edges: no time frame due after it is at risk."""
        return max(self.at_risk_until.values(), default=None)

    @property
    def closed_since(self) -> datetime:
        """The start of "recently closed"."""
        return self.now - timedelta(days=RECENTLY_CLOSED_DAYS)


class _ViewerParameters:
    """A Viewer whose values are bound parameters, to build a statement once and run it for
    anyone at any moment: building the counts statement costs more than running it.

    Only what changes the shape of the SQL is fixed: whether there is a team, and which
    calendars there are."""

    def __init__(self, has_team: bool, calendar_ids: tuple[int, ...]):
        self.user_id = bindparam("viewer_id", type_=Integer())
        self.team_id = bindparam("viewer_team_id", type_=Integer()) if has_team else None
        self.now = bindparam("now", type_=UTCDateTime())
        self.at_risk_until = {
            calendar_id: bindparam(f"at_risk_until_{calendar_id}", type_=UTCDateTime())
            for calendar_id in calendar_ids
        }
        self.at_risk_latest = bindparam("at_risk_latest", type_=UTCDateTime())
        self.closed_since = bindparam("closed_since", type_=UTCDateTime())


def _statement_shape(viewer: Viewer) -> tuple[bool, tuple[int, ...]]:
    return viewer.team_id is not None, tuple(sorted(viewer.at_risk_until))


def _parameter_values(viewer: Viewer) -> dict:
    """The values of a _ViewerParameters' parameters for this viewer."""
    values = {
        "viewer_id": viewer.user_id,
        "viewer_team_id": viewer.team_id,
        "now": viewer.now,
        "at_risk_latest": viewer.at_risk_latest,
        "closed_since": viewer.closed_since,
    }
    for calendar_id, until in viewer.at_risk_until.items():
        values[f"at_risk_until_{calendar_id}"] = until
    return values


@dataclass(frozen=True)
class CalendarSettings:
    """A calendar as the staff pages use it, detached from any session: kept in memory."""

    id: int
    name: str
    zone: ZoneInfo
    zone_label: str
    business: BusinessCalendar

    def business_calendar(self) -> BusinessCalendar:
        return self.business


@dataclass(frozen=True)
class StaffSettings:
    """What the staff pages read on every request besides the cases: calendars, what filters
    may be, and the saved replies to choose from (id, title)."""

    calendars: Mapping[int, CalendarSettings]
    options: "FilterOptions"
    saved_reply_titles: list[tuple[int, str]]


# (settings stamp, settings) of the last load in this process.
_settings_cache: tuple[int, StaffSettings] | None = None


def staff_settings() -> StaffSettings:
    """The calendars, filter options and saved-reply titles, from memory while the settings
    stamp is unchanged: one small statement instead of seven and the objects built from them.
    Any change to them renews the stamp in its own transaction (shared/models/service_levels.py),
    so the first request after it, in any process, reads them again."""
    global _settings_cache
    stamp = read_settings_stamp(db.session)
    cached = _settings_cache
    if stamp is not None and cached is not None and cached[0] == stamp:
        return cached[1]
    settings = StaffSettings(
        calendars=_read_calendars(),
        options=_read_filter_options(),
        saved_reply_titles=[
            (reply.id, reply.title)
            for reply in db.session.execute(
                select(SavedReply.id, SavedReply.title).order_by(SavedReply.title)
            )
        ],
    )
    if stamp is not None:
        _settings_cache = (stamp, settings)
    return settings


def load_calendars() -> dict[int, CalendarSettings]:
    """Every calendar with its hours and holidays (there are few), read now: three small
    queries. The queue pages use staff_settings() instead."""
    return _read_calendars()


def _read_calendars() -> dict[int, CalendarSettings]:
    calendars = db.session.scalars(
        select(Calendar).options(selectinload(Calendar.hours), selectinload(Calendar.holidays))
    ).all()
    return {
        calendar.id: CalendarSettings(
            id=calendar.id,
            name=calendar.name,
            zone=calendar.zone,
            zone_label=calendar.zone_label,
            business=calendar.business_calendar(),
        )
        for calendar in calendars
    }


def at_risk_boundaries(
    calendars: Mapping[int, BusinessCalendar], now: datetime
) -> dict[int, datetime]:
    return {
        calendar_id: calendar.add_business_days(now, AT_RISK_BUSINESS_DAYS)
        for calendar_id, calendar in calendars.items()
    }


def viewer_for(
    user: User, calendars: Mapping[int, CalendarSettings | Calendar], now: datetime | None = None
):
    now = now or utcnow()
    business = {cid: calendar.business_calendar() for cid, calendar in calendars.items()}
    return Viewer(user.id, user.team_id, now, at_risk_boundaries(business, now))


# --- The queues ----------------------------------------------------------------------------------

def _open() -> ColumnElement[bool]:
    # A duplicate merged into another case is closed by the merge, so this leaves it out too.
    return Case.status.in_(OPEN_STATUS_VALUES)


def _mine(viewer: Viewer) -> ColumnElement[bool]:
    return and_(Case.owner_id == viewer.user_id, _open())


def _my_team(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.team_id is None:
        return false()
    return and_(Case.team_id == viewer.team_id, _open())


def _going_silent(viewer: Viewer) -> ColumnElement[bool]:
    return and_(_open(), Case.next_update_due_at < viewer.now)


def _at_risk(viewer: Viewer) -> ColumnElement[bool]:
    """Some unmet time frame falls due between now and the end of the next business day of the
    calendar the case's category uses (through its service level).

    Written as one branch per time frame, each first bounded by the latest of those ends and
    joined by UNION ALL: each branch is then a range of its (met, due, status, category) index,
    read from the index alone, instead of every open case, or every case due soon, read from
    the table."""
    if not viewer.at_risk_until:
        return false()
    return and_(_open(), Case.id.in_(union_all(*_due_soon_branches(viewer))))


def _count_at_risk(viewer: Viewer) -> ColumnElement[int]:
    """The branches counted directly, without going back to the cases (UNION, not UNION ALL:
    a case with two time frames due soon counts once)."""
    if not viewer.at_risk_until:
        return literal(0)
    return select(func.count()).select_from(
        union(*_due_soon_branches(viewer)).subquery()
    ).scalar_subquery()


def _due_soon_branches(viewer: Viewer) -> list[Select]:
    """For each time frame, the open cases where it is unmet and due between now and the
    at-risk edge of the case's calendar."""
    return [
        select(Case.id).where(
            getattr(Case, met).is_(None), _due_soon(viewer, getattr(Case, due)), _open()
        )
        for _label, due, met in TIME_FRAMES
    ]


def _categories_on(calendar_id: int) -> Select:
    """The categories whose service level runs on this calendar."""
    return (
        select(Category.id)
        .join(ServiceLevel, Category.service_level_id == ServiceLevel.id)
        .where(ServiceLevel.calendar_id == calendar_id)
    )


def _breached(viewer: Viewer) -> ColumnElement[bool]:
    return and_(_open(), _unmet_due_before(viewer.now))


def _waiting_on_customer(viewer: Viewer) -> ColumnElement[bool]:
    return Case.status == CaseStatus.WAITING_ON_CUSTOMER


def _unassigned(viewer: Viewer) -> ColumnElement[bool]:
    """Every case has an owner; one whose owner was deactivated has nobody working on it."""
    deactivated_staff = select(User.id).where(
        User.role.in_(_STAFF_ROLES), User.active.is_(False)
    )
    return and_(Case.owner_id.in_(deactivated_staff), _open())


def _recently_closed(viewer: Viewer) -> ColumnElement[bool]:
    """Resolved or closed in the last days. No status test is needed, and one would mislead
    SQLite into reading every closed case through the status index: resolved_at is set only
    while a case is resolved or closed (reopening clears it), closed_at only while it is
    closed (a merged duplicate is closed without being resolved)."""
    return or_(Case.resolved_at >= viewer.closed_since, Case.closed_at >= viewer.closed_since)


def _count_recently_closed(viewer: Viewer) -> ColumnElement[int]:
    """The same cases in two parts that do not overlap, each counted from one index alone
    (resolved since; closed since but not resolved since) rather than from the table."""
    since = viewer.closed_since
    resolved = select(func.count()).where(Case.resolved_at >= since)
    closed_only = select(func.count()).where(
        Case.closed_at >= since, or_(Case.resolved_at.is_(None), Case.resolved_at < since)
    )
    return resolved.scalar_subquery() + closed_only.scalar_subquery()


def _promises_overdue(viewer: Viewer) -> ColumnElement[bool]:
    # The few open promises past due, read once through (state, due_at), not once per case.
    overdue = select(Commitment.case_id).where(
        Commitment.state == CommitmentState.OPEN, Commitment.due_at < viewer.now
    )
    return and_(_mine(viewer), Case.id.in_(overdue))


def _everything(viewer: Viewer) -> ColumnElement[bool]:
    return true()


# How a queue is sorted: by the next due time (work queues), or most recent first.
BY_NEXT_DUE, BY_RESOLVED, BY_NEWEST = "next_due", "resolved", "newest"


@dataclass(frozen=True)
class Queue:
    key: str
    label: str  # in the list of queues
    heading: str  # the page's heading
    description: str  # what is in it, under the heading
    empty: str  # said when nothing is in it
    condition: Callable[[Viewer], ColumnElement[bool]]
    order: str = BY_NEXT_DUE
    counted: bool = True
    # Counted for the person looking (their cases, their team), not the same for all staff.
    personal: bool = False
    # How to count it, when counting the cases of its condition would read more than needed.
    count: Callable[[Viewer], ColumnElement[int]] | None = None

    def count_of(self, viewer: Viewer) -> ColumnElement[int]:
        if self.count is not None:
            return self.count(viewer)
        counted = select(func.count()).select_from(Case).where(self.condition(viewer))
        return counted.scalar_subquery()


QUEUES: dict[str, Queue] = {
    queue.key: queue
    for queue in (
        Queue("mine", "My cases", "My open cases", "Open cases you own.",
              "You have no open cases.", _mine, personal=True),
        Queue("promises", "Promises overdue", "Promises overdue",
              "Your open cases with a promise to the customer past its time.",
              "No promise on your cases is overdue.", _promises_overdue, personal=True),
        Queue("team", "My team", "My team’s cases", "Open cases of your team.",
              "Your team has no open cases.", _my_team, personal=True),
        Queue("silent", "Going silent", "Going silent",
              "Open cases whose next update to the customer is overdue.",
              "Every customer has heard from us on time.", _going_silent),
        Queue("at-risk", "At risk", "At risk",
              "Open cases with a time frame due by the end of the next working day.",
              "Nothing falls due before the end of the next working day.", _at_risk,
              count=_count_at_risk),
        Queue("breached", "Breached", "Breached",
              "Open cases that have missed a time frame.",
              "No open case has missed a time frame.", _breached),
        Queue("waiting", "Waiting on customer", "Waiting on the customer",
              "Cases waiting for the customer’s reply.",
              "No case is waiting on a customer.", _waiting_on_customer),
        Queue("unassigned", "Unassigned", "Unassigned",
              "Open cases whose owner has been deactivated: give each a new owner.",
              "Every open case has an active owner.", _unassigned),
        Queue("closed", "Recently closed", "Recently closed",
              f"Cases resolved or closed in the last {RECENTLY_CLOSED_DAYS} days.",
              f"Nothing was resolved or closed in the last {RECENTLY_CLOSED_DAYS} days.",
              _recently_closed, order=BY_RESOLVED, count=_count_recently_closed),
        Queue("all", "All cases", "All cases", "Every case, open or closed, newest first.",
              "There are no cases yet.", _everything, order=BY_NEWEST, counted=False),
    )
}
DEFAULT_QUEUE = "mine"


def queue_select(key: str, viewer: Viewer) -> Select:
    """The cases in a queue, as a SELECT of Case."""
    return select(Case).where(QUEUES[key].condition(viewer))


def my_cases(viewer: Viewer) -> Select:
    return queue_select("mine", viewer)


def my_team(viewer: Viewer) -> Select:
    return queue_select("team", viewer)


def going_silent(viewer: Viewer) -> Select:
    return queue_select("silent", viewer)


def at_risk(viewer: Viewer) -> Select:
    return queue_select("at-risk", viewer)


def breached(viewer: Viewer) -> Select:
    return queue_select("breached", viewer)


def waiting_on_customer(viewer: Viewer) -> Select:
    return queue_select("waiting", viewer)


def unassigned(viewer: Viewer) -> Select:
    return queue_select("unassigned", viewer)


def recently_closed(viewer: Viewer) -> Select:
    return queue_select("closed", viewer)


def promises_overdue(viewer: Viewer) -> Select:
    return queue_select("promises", viewer)


def queue_counts(viewer: Viewer) -> dict[str, int]:
    """Every counted queue in one statement.

    One scalar sub-select per queue rather than SUM(CASE WHEN ...) over the cases table: still
    one round trip, but each count walks only its own index range (owner, team, status, dates)
    instead of every case ever raised, which at 100,000 cases is several times faster.

    The queues every member of staff shares (going silent, at risk, breached...) cost most to
    count and are the same for everyone: they are counted at most once per
    SHARED_COUNTS_MAX_AGE in each process, and afresh after this process changes a case.
    The viewer's own queues are counted on every request.
    """
    shape = _statement_shape(viewer)
    values = _parameter_values(viewer)
    stamp = read_settings_stamp(db.session)
    # The shared counts depend on the settings and the calendars, not on who is looking. A
    # transaction that has changed cases itself neither uses nor keeps them: it may roll back.
    key = (stamp, shape[1])
    kept = stamp is not None and not db.session.info.get("cases_changed")
    remembered = _shared_counts.get(key) if kept else None
    if remembered is not None and remembered.fresh_at(viewer.now):
        row = _run(_counts_statement(*shape, personal_only=True), values).one()
        counts = dict(remembered.counts)
        counts.update(zip((queue.key for queue in _PERSONAL), row, strict=True))
        return {queue.key: counts[queue.key] for queue in _COUNTED}

    row = _run(_counts_statement(*shape), values).one()
    counts = {queue.key: value for queue, value in zip(_COUNTED, row, strict=True)}
    if kept:
        if len(_shared_counts) >= _SHARED_COUNTS_KEPT:
            _shared_counts.clear()
        _shared_counts[key] = _SharedCounts(
            viewer.now, {key: value for key, value in counts.items() if key in _SHARED_KEYS}
        )
    return counts


_COUNTED = [queue for queue in QUEUES.values() if queue.counted]
_PERSONAL = [queue for queue in _COUNTED if queue.personal]
_SHARED_KEYS = frozenset(queue.key for queue in _COUNTED if not queue.personal)

# How stale a shared count may be: the age of the figure beside "At risk" or "Breached".
SHARED_COUNTS_MAX_AGE = timedelta(seconds=15)
_SHARED_COUNTS_KEPT = 64  # (settings stamp, calendars) pairs: a handful in practice


@dataclass(frozen=True)
class _SharedCounts:
    counted_at: datetime
    counts: Mapping[str, int]

    def fresh_at(self, now: datetime) -> bool:
        return timedelta(0) <= now - self.counted_at < SHARED_COUNTS_MAX_AGE


# (settings stamp, calendar ids) -> the shared counts last taken in this process. Keyed by
# the stamp, which is random per database, so two databases never share counts.
_shared_counts: dict[tuple, _SharedCounts] = {}


def forget_shared_counts() -> None:
    _shared_counts.clear()


@event.listens_for(Session, "after_flush")
def _note_case_changes(session, flush_context):
    if any(isinstance(instance, Case)
           for instance in chain(session.new, session.dirty, session.deleted)):
        session.info["cases_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_counts_after_case_changes(session):
    # This process's own changes show at once; another process's within the maximum age.
    if session.info.pop("cases_changed", False):
        forget_shared_counts()


@event.listens_for(Session, "after_rollback")
def _drop_case_changes_note(session):
    session.info.pop("cases_changed", None)


def _run(statement: Select, values: dict):
    """Run a statement of plain columns on the session's connection (same transaction),
    without the ORM's handling of results: it only ever returns rows, and skipping it saves
    a noticeable part of the statement's cost."""
    return db.session.connection().execute(statement, values)


@lru_cache(maxsize=32)
def _counts_statement(
    has_team: bool, calendar_ids: tuple[int, ...], personal_only: bool = False
) -> Select:
    viewer = _ViewerParameters(has_team, calendar_ids)
    counted = _PERSONAL if personal_only else _COUNTED
    return select(
        *(queue.count_of(viewer).label(queue.key.replace("-", "_")) for queue in counted)
    )


# --- Filters -------------------------------------------------------------------------------------


# Compared and hashed by identity: one object per load of the settings, so pages may keep
# what they build from it (the filters' option tags, backoffice/queues.py) keyed by it.
@dataclass(frozen=True, eq=False)
class FilterOptions:
    """What the filters may be set to; anything else typed into the address is ignored."""

    categories: list[tuple[int, str]]
    teams: list[tuple[int, str]]
    owners: list[tuple[int, str, bool]]  # id, name, active
    category_calendars: Mapping[int, int]  # category id -> calendar id


def load_filter_options() -> FilterOptions:
    """What the filters may be set to, read now (the queue pages use staff_settings())."""
    return _read_filter_options()


def _read_filter_options() -> FilterOptions:
    categories = db.session.execute(
        select(Category.id, Category.name, ServiceLevel.calendar_id)
        .join(ServiceLevel, Category.service_level_id == ServiceLevel.id)
        .order_by(Category.position, Category.name)
    ).all()
    teams = db.session.execute(select(Team.id, Team.name).order_by(Team.name)).all()
    owners = db.session.execute(
        select(User.id, User.name, User.active)
        .where(User.role.in_(_STAFF_ROLES))
        .order_by(User.active.desc(), User.name, User.id)
    ).all()
    return FilterOptions(
        categories=[(c.id, c.name) for c in categories],
        teams=[(t.id, t.name) for t in teams],
        owners=[(o.id, o.name, o.active) for o in owners],
        category_calendars={c.id: c.calendar_id for c in categories},
    )


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    category: int | None = None
    priority: str | None = None
    owner: int | None = None
    team: int | None = None
    search: str = ""
    after: str | None = None  # the keyset cursor, still as typed; read by queue_page

    def as_args(self, **changes) -> dict:
        """The filters as query-string arguments, for links that keep them."""
        values = {
            "status": self.status,
            "category": self.category,
            "priority": self.priority,
            "owner": self.owner,
            "team": self.team,
            "q": self.search or None,
            "after": self.after,
        }
        values.update(changes)
        return {name: value for name, value in values.items() if value not in (None, "")}

    @property
    def any_set(self) -> bool:
        return any(
            value not in (None, "")
            for value in (self.status, self.category, self.priority, self.owner, self.team,
                          self.search)
        )


def _known_id(raw: str | None, known: set[int]) -> int | None:
    if raw is None or not raw.strip().isdigit():
        return None
    value = int(raw)
    return value if value in known else None


MAX_SEARCH_LENGTH = 200


def parse_filters(args: Mapping[str, str], options: FilterOptions) -> QueueFilters:
    """Read filters from the query string. Unknown or malformed values are ignored, not an
    error: a bookmark that names a deleted category still opens the queue."""
    status = args.get("status")
    priority = args.get("priority")
    return QueueFilters(
        status=status if status in STATUS_LABELS else None,
        category=_known_id(args.get("category"), {cid for cid, _ in options.categories}),
        priority=priority if priority in {p.value for p in Priority} else None,
        owner=_known_id(args.get("owner"), {oid for oid, _, _ in options.owners}),
        team=_known_id(args.get("team"), {tid for tid, _ in options.teams}),
        search=(args.get("q") or "").strip()[:MAX_SEARCH_LENGTH],
        after=args.get("after") or None,
    )


# The filters that narrow a queue to one value of a column.
_FILTER_COLUMNS = {
    "status": Case.status,
    "category": Case.category_id,
    "priority": Case.priority,
    "owner": Case.owner_id,
    "team": Case.team_id,
}


def _filters_set(filters: QueueFilters) -> dict[str, object]:
    return {
        name: getattr(filters, name) for name in _FILTER_COLUMNS if getattr(filters, name)
    }


def _filter_conditions(names: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """Each named filter, its value a parameter filter_<name>."""
    return [_FILTER_COLUMNS[name] == bindparam(f"filter_{name}") for name in names]


# --- Keyset pagination ---------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^(?:(\d{1,18})-)?(\d{1,18})$")


# When a case left the open queues: closing time, else resolution time (never both NULL for a
# recently closed case).
FINISHED_AT = func.coalesce(Case.closed_at, Case.resolved_at, type_=UTCDateTime())


def _sort_key(order: str) -> ColumnElement | None:
    return {BY_NEXT_DUE: NEXT_DUE, BY_RESOLVED: FINISHED_AT, BY_NEWEST: None}[order]


def _descending(order: str) -> bool:
    return order in (BY_RESOLVED, BY_NEWEST)


def make_cursor(key: datetime | None, case_id: int) -> str:
    """(sort key, id) as text for the address: microseconds since 1970, a dash, the id."""
    if key is None:
        return str(case_id)
    return f"{(key - _EPOCH) // timedelta(microseconds=1)}-{case_id}"


def read_cursor(cursor: str | None, order: str) -> tuple[datetime | None, int] | None:
    """The (sort key, id) a cursor names, or None when it is missing or malformed."""
    match = _CURSOR.match(cursor or "")
    if not match:
        return None
    micros, case_id = match.groups()
    needs_key = _sort_key(order) is not None
    if needs_key != (micros is not None):
        return None
    try:
        key = _EPOCH + timedelta(microseconds=int(micros)) if micros is not None else None
    except OverflowError:
        return None
    return key, int(case_id)


def _after(order: str) -> ColumnElement[bool]:
    """Past the position named by the parameters after_key and after_id, in this order."""
    return _past(_sort_key(order), descending=_descending(order))


def _past(key, *, descending: bool = False) -> ColumnElement[bool]:
    """Past (key, case id) = (after_key, after_id), the parameters of a keyset cursor."""
    key_value = bindparam("after_key", type_=UTCDateTime())
    case_id = bindparam("after_id", type_=Integer())
    if descending:
        if key is None:
            return Case.id < case_id
        return or_(key < key_value, and_(key == key_value, Case.id < case_id))
    return or_(key > key_value, and_(key == key_value, Case.id > case_id))


def _ordering(order: str) -> list[ColumnElement]:
    key = _sort_key(order)
    if _descending(order):
        return ([key.desc()] if key is not None else []) + [Case.id.desc()]
    return [key.asc(), Case.id.asc()]


# --- One page of rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameState:
    label: str  # "Full reply by"
    due_at: datetime
    due_words: str  # "Thu 26 Nov, 17:00 UK time"
    state: str  # on_track, at_risk, breached, done
    state_words: str  # "On track", "At risk", "Breached", "Done"


STATE_WORDS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "breached": "Breached",
    "done": "Done",
}


@dataclass(frozen=True)
class QueueRow:
    id: int
    reference: str
    customer_name: str
    customer_email: str
    summary: str
    status: str
    status_label: str
    priority: str
    owner_name: str
    owner_active: bool
    next_frame: FrameState | None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None  # None on the last page
    is_first_page: bool


Owner = aliased(User, name="owner")

# Only the columns a row shows: no ORM objects, no lazy loads, no long descriptions.
_ROW_COLUMNS = (
    Case.id,
    Case.reference,
    Case.status,
    Case.priority,
    Case.contact_name,
    Case.contact_email,
    func.substr(Case.description, 1, 200).label("description_start"),
    Case.category_id,
    Case.acknowledge_due_at,
    Case.acknowledged_at,
    Case.first_response_due_at,
    Case.first_responded_at,
    Case.resolve_due_at,
    Case.resolved_at,
    Case.closed_at,
    Owner.name.label("owner_name"),
    Owner.active.label("owner_active"),
)


def queue_page(
    key: str,
    viewer: Viewer,
    filters: QueueFilters,
    *,
    calendars: Mapping[int, CalendarSettings | Calendar],
    category_calendars: Mapping[int, int],
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    queue = QUEUES[key]
    dialect = db.session.get_bind().dialect.name
    position = read_cursor(filters.after, queue.order)
    filters_set = _filters_set(filters)
    search = search_parameters(filters.search, dialect)
    statement = _page_statement(
        key,
        *_statement_shape(viewer),
        filter_names=tuple(sorted(filters_set)),
        search_kind=search[0] if search else None,
        after_position=position is not None,
        page_size=page_size,
        dialect=dialect,
    )
    values = _parameter_values(viewer)
    values.update((f"filter_{name}", value) for name, value in filters_set.items())
    if search:
        values.update(search[1])
    if position is not None:
        values["after_key"], values["after_id"] = position
    records = _run(statement, values).all()
    has_more = len(records) > page_size
    records = records[:page_size]
    next_cursor = None
    if has_more:
        last = records[-1]
        next_cursor = make_cursor(getattr(last, "sort_key", None), last.id)
    zones = {cid: (calendar.zone, calendar.zone_label) for cid, calendar in calendars.items()}
    rows = [
        _row(record, viewer, zones.get(category_calendars.get(record.category_id)),
             category_calendars.get(record.category_id))
        for record in records
    ]
    return QueuePage(rows=rows, next_cursor=next_cursor, is_first_page=position is None)


@lru_cache(maxsize=256)
def _page_statement(
    key: str,
    has_team: bool,
    calendar_ids: tuple[int, ...],
    *,
    filter_names: tuple[str, ...],
    search_kind: str | None,
    after_position: bool,
    page_size: int,
    dialect: str,
) -> Select:
    """One page of a queue, built once for each shape of request, every value a parameter.

    First the page's ids in order, from the columns the conditions and the sort key need
    (often one covering index alone); only then the 50 rows shown, by primary key. Sorting
    whole rows would read every case in the queue, long descriptions and all."""
    queue = QUEUES[key]
    sort_key = _sort_key(queue.order)
    viewer = _ViewerParameters(has_team, calendar_ids)
    if key == "at-risk" and calendar_ids and not filter_names and search_kind is None:
        chosen = _at_risk_chosen(viewer, after_position, page_size)
    elif search_kind == "words" and dialect == "sqlite" and queue.order == BY_NEWEST:
        # Every case matching the words, newest first: read in the full-text index's own
        # order, which stops after a page, rather than every match gathered and then sorted.
        chosen = newest_matching_words_sqlite(
            [queue.condition(viewer), *_filter_conditions(filter_names)],
            before_id=bindparam("after_id", type_=Integer()) if after_position else None,
            limit=page_size + 1,
        ).subquery("chosen")
    else:
        conditions = [queue.condition(viewer), *_filter_conditions(filter_names)]
        if search_kind is not None:
            conditions.append(search_condition_of_kind(search_kind, dialect))
        if after_position:
            conditions.append(_after(queue.order))
        chosen = (
            select(Case.id, *([sort_key.label("sort_key")] if sort_key is not None else []))
            .where(*conditions)
            .order_by(*_ordering(queue.order))
            .limit(page_size + 1)  # one more tells whether there is a next page
            .subquery("chosen")
        )
    descending = _descending(queue.order)
    in_page_order = [chosen.c.id.desc() if descending else chosen.c.id.asc()]
    if sort_key is not None:
        in_page_order.insert(0, chosen.c.sort_key.desc() if descending else chosen.c.sort_key.asc())
    return (
        select(*_ROW_COLUMNS, *([chosen.c.sort_key] if sort_key is not None else []))
        .select_from(chosen)
        .join(Case, Case.id == chosen.c.id)
        .join(Owner, Case.owner_id == Owner.id)
        .order_by(*in_page_order)
    )


def _at_risk_chosen(viewer: _ViewerParameters, after_position: bool, page_size: int):
    """A page of the at-risk queue, unfiltered, reading about a page of index entries per
    time frame rather than every case at risk (a thousand or more at 100,000 cases).

    A case at risk sorts by its next due time. Either that is the time frame found due soon,
    and then the case is among the first of that frame's index range, in index order: the
    first page's worth of each range is enough. Or the case has also missed an earlier time
    frame (next due in the past): the few of those are read from the breached ranges. UNION
    keeps each case once; only those candidates are sorted."""
    due_soon_frames = {due: _due_soon(viewer, getattr(Case, due))
                       for _label, due, _met in TIME_FRAMES}
    candidates = []
    for _label, due_name, met_name in TIME_FRAMES:
        due, met = getattr(Case, due_name), getattr(Case, met_name)
        earliest_unmet = [
            other_due >= due if other_met is Case.resolved_at
            else or_(other_met.is_not(None), other_due >= due)
            for other_due, other_met in _frames_other_than(due)
        ]
        first_of_range = (
            select(Case.id.label("id"), due.label("sort_key"))
            .where(met.is_(None), due_soon_frames[due_name], _open(), *earliest_unmet,
                   *_after_position(due, after_position))
            .order_by(due, Case.id)
            .limit(page_size + 1)
            .subquery()
        )
        candidates.append(select(first_of_range.c.id, first_of_range.c.sort_key))
        also_due_soon = [
            and_(_unmet_while_open(other_met), due_soon_frames[other_due.key])
            for other_due, other_met in _frames_other_than(due)
        ]
        candidates.append(
            select(Case.id.label("id"), NEXT_DUE.label("sort_key")).where(
                met.is_(None), due < viewer.now, _open(), or_(*also_due_soon),
                *_after_position(NEXT_DUE, after_position),
            )
        )
    at_risk = union(*candidates).subquery("at_risk")
    return (
        select(at_risk.c.id, at_risk.c.sort_key)
        .order_by(at_risk.c.sort_key, at_risk.c.id)
        .limit(page_size + 1)
        .subquery("chosen")
    )


def _due_soon(viewer: Viewer | _ViewerParameters, due) -> ColumnElement[bool]:
    """Due between now and the end of the next business day of the case's own calendar."""
    return and_(
        due.between(viewer.now, viewer.at_risk_latest),
        or_(*(and_(due <= until, Case.category_id.in_(_categories_on(calendar_id)))
              for calendar_id, until in sorted(viewer.at_risk_until.items()))),
    )


def _frames_other_than(due) -> list[tuple]:
    return [(getattr(Case, other_due), getattr(Case, other_met))
            for _label, other_due, other_met in TIME_FRAMES if getattr(Case, other_due) is not due]


def _unmet_while_open(met) -> ColumnElement[bool]:
    # An open case is never resolved (resolving sets resolved_at; reopening clears it). Leaving
    # that test out keeps the query within the indexes, which do not all carry resolved_at.
    return true() if met is Case.resolved_at else met.is_(None)


def _after_position(sort_key, after_position: bool) -> list[ColumnElement[bool]]:
    return [_past(sort_key)] if after_position else []


def _summary(description: str) -> str:
    """As Case.summary: the first line, short enough for a list."""
    stripped = description.strip()
    first_line = stripped.splitlines()[0] if stripped else ""
    return first_line if len(first_line) <= 90 else first_line[:87].rstrip() + "…"


_LONDON = (ZoneInfo("Europe/London"), "UK time")


def _row(record, viewer: Viewer, zone, calendar_id) -> QueueRow:
    return QueueRow(
        id=record.id,
        reference=record.reference,
        customer_name=record.contact_name,
        customer_email=record.contact_email,
        summary=_summary(record.description_start),
        status=record.status,
        status_label=STATUS_LABELS.get(record.status, record.status),
        priority=record.priority,
        owner_name=record.owner_name,
        owner_active=record.owner_active,
        next_frame=next_frame(record, viewer, zone or _LONDON, calendar_id),
    )


def next_frame(record, viewer: Viewer, zone, calendar_id) -> FrameState | None:
    """The earliest unmet time frame of an open case, with its state; for a resolved or closed
    case, when it was put right."""
    tz, zone_label = zone
    if record.status in CLOSED_STATUSES:
        if record.resolved_at is not None:
            label, moment = "Put right", record.resolved_at
        elif record.closed_at is not None:  # a merged duplicate: closed, not put right
            label, moment = "Closed", record.closed_at
        else:
            return None
        words = f"{short_due(moment, tz)} {zone_label}"
        return FrameState(label, moment, words, "done", "Done")
    unmet = [
        (getattr(record, due), label)
        for label, due, met in TIME_FRAMES
        if getattr(record, met) is None
    ]
    if not unmet:
        return None
    due_at, label = min(unmet, key=lambda pair: pair[0])
    at_risk_until = viewer.at_risk_until.get(calendar_id)
    if due_at < viewer.now:
        state = "breached"
    elif at_risk_until is not None and due_at <= at_risk_until:
        state = "at_risk"
    else:
        state = "on_track"
    words = f"{short_due(due_at, tz)} {zone_label}"
    return FrameState(label, due_at, words, state, STATE_WORDS[state])
