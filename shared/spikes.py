"""Spikes: a category's or product's complaints far above its own recent history.

The rule (SPIKE_RULE says it in words on the patterns page):

- Week: the complaints raised this week so far (from Monday 00:00 in the organisation's time
  zone, the dashboard's: the first calendar's) about one category, or one product, are a spike
  when there are more of them than the 99.9 % Poisson upper limit of the mean weekly count of
  the 8 full weeks before, and at least MINIMUM_COUNT.
- Day: the same for today so far (from 00:00) against the mean daily count of the 56 days before.

The Poisson upper limit of a mean m is the smallest k with P(X > k) <= 0.001 for X ~ Poisson(m):
a count above it would happen by chance less than once in a thousand weeks (or days). It is
computed exactly here, summing the probabilities in log space so that large means neither
overflow nor underflow. A category with no history has a mean of 0 and a limit of 0: the
minimum count is what stops one or two complaints about something new from being a spike.
Merged duplicates are left out, as on the dashboard; a case counts under its current category
and product.

Counting is one statement, however many cases there are: the cases of the last 9 weeks grouped
by category (and by product) and by local day, the day found in SQL by comparing the raised
time with the UTC instants of the local midnights (so a clock change is no trouble).

The sweep calls `record_new_spikes(now)`. Each spike is a row keyed by (dimension, subject,
span, span start): it is inserted with INSERT ... ON CONFLICT DO NOTHING, so a second sweep,
or two at once (PostgreSQL makes the second wait for the first's row), inserts nothing and
tells nobody again. Only the sweep that inserted the row notifies the managers of the teams
whose cases are in it, once each. A spike found again in the same span with more complaints
has its count raised (never lowered), and nobody is told again.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from sqlalchemy import and_, exists, func, literal, or_, select, union_all
from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from shared.clock import UTC, local_instant
from shared.extensions import db
from shared.models import (
    Calendar,
    Case,
    Category,
    Product,
    Spike,
    SpikeDimension,
    SpikeSpan,
    Team,
    User,
    utcnow,
)
from shared.presentation import day_words

ALPHA = 0.001  # a count this high by chance: less than once in a thousand spans
MINIMUM_COUNT = 5  # fewer complaints than this are never a spike, whatever the history
HISTORY_WEEKS = 8
HISTORY_DAYS = HISTORY_WEEKS * 7
# What a draft problem links at most; the rest can be linked from the problem page.
CASES_IN_DRAFT = 200
# Spikes shown on the patterns page at most, newest first.
SPIKES_SHOWN = 100
DEFAULT_ZONE = ZoneInfo("Europe/London")  # as the dashboard's, when there is no calendar

SPIKE_RULE = (
    "A category or product has a spike when its complaints this week so far (weeks start on "
    "Monday) are more than the 99.9 % Poisson upper limit of its weekly average over the 8 "
    "full weeks before, and number at least 5: a count that high would happen by chance less "
    "than once in a thousand weeks. Today so far is compared with the 56 days before in the "
    "same way, also with at least 5. Merged duplicates are not counted."
)

DIMENSION_WORDS = {SpikeDimension.CATEGORY: "Category", SpikeDimension.PRODUCT: "Product"}


# --- The Poisson limit ---------------------------------------------------------------------------


def _log_pmf(mean: float, k: int) -> float:
    return -mean + k * math.log(mean) - math.lgamma(k + 1)


def _pmf(mean: float, k: int) -> float:
    return math.exp(_log_pmf(mean, k))


def poisson_upper_tail(mean: float, k: int) -> float:
    """P(X > k) for X ~ Poisson(mean), summing only the terms that matter."""
    if k < 0:
        return 1.0
    if mean == 0:
        return 0.0
    if k + 1 > mean:
        # Above the mean each term is smaller than the one before: add them upwards.
        total, j = 0.0, k + 1
        term = _pmf(mean, j)
        while term > 0 and term >= total * 1e-17:
            total += term
            j += 1
            term *= mean / j
        return min(1.0, total)
    # At or below the mean: 1 - P(X <= k), adding P(X = k), P(X = k - 1)... downwards.
    total, j = 0.0, k
    term = _pmf(mean, k)
    while j >= 0 and term > 0 and term >= total * 1e-17:
        total += term
        term *= j / mean
        j -= 1
    return max(0.0, 1.0 - total)


@lru_cache(maxsize=4096)
def poisson_upper_limit(mean: float, alpha: float = ALPHA) -> int:
    """The smallest k with P(X > k) <= alpha for X ~ Poisson(mean).

    A count above it has a chance of at most alpha: for the mean 1 and alpha 0.001 it is 5
    (P(X > 5) = 0.00059, P(X > 4) = 0.0037). The mean 0 gives 0.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    if mean < 0 or not math.isfinite(mean):
        raise ValueError(f"the mean must be a finite number of at least 0, not {mean}")
    if mean == 0:
        return 0
    k = int(mean)
    tail = poisson_upper_tail(mean, k)
    if tail > alpha:
        while tail > alpha:  # P(X > k + 1) = P(X > k) - P(X = k + 1)
            k += 1
            tail -= _pmf(mean, k)
    else:
        while k > 0:  # P(X > k - 1) = P(X > k) + P(X = k)
            before = tail + _pmf(mean, k)
            if before > alpha:
                break
            k, tail = k - 1, before
    # Stepping adds rounding; settle the edge on the exact tails.
    while poisson_upper_tail(mean, k) > alpha:
        k += 1
    while k > 0 and poisson_upper_tail(mean, k - 1) <= alpha:
        k -= 1
    return k


def spike_threshold(mean: float) -> int:
    """The count above which it is a spike: the Poisson limit, and never below the minimum."""
    return max(poisson_upper_limit(mean, ALPHA), MINIMUM_COUNT - 1)


# --- Time: the organisation's days and weeks -----------------------------------------------------


def organisation_zone() -> ZoneInfo:
    """The dashboard's zone (shared.dashboard.organisation_zone): the first calendar's."""
    name = db.session.scalar(select(Calendar.timezone).order_by(Calendar.id).limit(1))
    return ZoneInfo(name) if name else DEFAULT_ZONE


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return local_instant(day, time(0), zone)


def span_end(span: str, span_start: datetime, zone: ZoneInfo) -> datetime:
    """The first moment after a spike's day or week, in UTC (a week may be 7 days ± 1 hour)."""
    first = span_start.astimezone(zone).date()
    length = 7 if span == SpikeSpan.WEEK else 1
    return _midnight(first + timedelta(days=length), zone)


@dataclass(frozen=True)
class _Days:
    """The local days counted at `now`: from the Monday 8 weeks before this week's, to today."""

    first: date
    today: date
    monday: date
    starts: tuple[datetime, ...]  # each day's local midnight, in UTC

    @classmethod
    def at(cls, now: datetime, zone: ZoneInfo) -> _Days:
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        first = monday - timedelta(days=HISTORY_DAYS)
        count = (today - first).days + 1
        starts = tuple(_midnight(first + timedelta(days=i), zone) for i in range(count))
        return cls(first=first, today=today, monday=monday, starts=starts)

    def index(self, day: date) -> int:
        return (day - self.first).days


# --- Finding spikes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeFinding:
    dimension: SpikeDimension
    subject_id: int
    span: SpikeSpan
    span_start: datetime  # UTC
    count: int
    expected: float  # the mean count of the same spans before
    threshold: int  # the count above which it is a spike

    @property
    def key(self) -> tuple[str, int, str, datetime]:
        return (str(self.dimension), self.subject_id, str(self.span), self.span_start)


def _counted() -> list:
    # Written as the dashboard writes it, so that SQLite keeps to the created_at range.
    return [func.coalesce(Case.merged_into_id, 0) == 0]


def daily_counts(now: datetime, zone: ZoneInfo | None = None
                 ) -> tuple[_Days, dict[tuple[SpikeDimension, int], list[int]]]:
    """Complaints per category and per product and per local day, from the first counted day
    to `now`: one statement."""
    days = _Days.at(now, zone or organisation_zone())
    # The day of each case, as its position among the midnights.
    day_of_case = sql_case(
        *((Case.created_at < start, position - 1)
          for position, start in enumerate(days.starts) if position > 0),
        else_=len(days.starts) - 1,
    )
    in_range = and_(Case.created_at >= days.starts[0], Case.created_at < now, *_counted())
    selects = []
    for dimension, column in ((SpikeDimension.CATEGORY, Case.category_id),
                              (SpikeDimension.PRODUCT, Case.product_id)):
        # Grouped outside: PostgreSQL cannot match a CASE with bound values in GROUP BY.
        per_case = (
            select(column.label("subject_id"), day_of_case.label("day"))
            .where(in_range, column.is_not(None))
            .subquery()
        )
        selects.append(
            select(literal(str(dimension)).label("dimension"), per_case.c.subject_id,
                   per_case.c.day, func.count().label("cases"))
            .group_by(per_case.c.subject_id, per_case.c.day)
        )
    counts: dict[tuple[SpikeDimension, int], list[int]] = defaultdict(
        lambda: [0] * len(days.starts)
    )
    for row in db.session.execute(union_all(*selects)):
        counts[(SpikeDimension(row.dimension), row.subject_id)][row.day] += row.cases
    return days, dict(counts)


def find_spikes(now: datetime | None = None) -> list[SpikeFinding]:
    """Every spike at `now`, this week's and today's, per category and per product: two
    statements (the zone, the counts)."""
    now = (now or utcnow()).astimezone(UTC)
    days, counts = daily_counts(now)
    monday, today = days.index(days.monday), days.index(days.today)
    findings = []
    for (dimension, subject_id), per_day in sorted(counts.items()):
        spans = (
            # This week so far against the mean of the 8 full weeks before.
            (SpikeSpan.WEEK, days.starts[monday], sum(per_day[monday:today + 1]),
             sum(per_day[:monday]) / HISTORY_WEEKS),
            # Today so far against the mean of the 56 days before.
            (SpikeSpan.DAY, days.starts[today], per_day[today],
             sum(per_day[today - HISTORY_DAYS:today]) / HISTORY_DAYS),
        )
        for span, start, count, mean in spans:
            threshold = spike_threshold(mean)
            if count > threshold:
                findings.append(SpikeFinding(dimension, subject_id, span, start, count,
                                             round(mean, 4), threshold))
    return findings


# --- Recording them, once -----------------------------------------------------------------------


def _insert():
    dialect = db.session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def record_new_spikes(now: datetime | None = None) -> list[Spike]:
    """Record the spikes found at `now`; return those this call inserted, whose managers it
    has notified. Never commits (the sweep does).

    Statements: two to find; with no spike, nothing more. With spikes: one insert, one update
    of the counts of those already known, and for the new ones four reads (the spikes, their
    names, their teams, the managers), then the notifications and their email.
    """
    now = (now or utcnow()).astimezone(UTC)
    findings = find_spikes(now)
    if not findings:
        return []
    detected = utcnow()
    rows = [
        {"dimension": str(f.dimension), "subject_id": f.subject_id, "span": str(f.span),
         "span_start": f.span_start, "count": f.count, "expected": f.expected,
         "threshold": f.threshold, "detected_at": detected}
        for f in sorted(findings, key=lambda f: f.key)  # the same order in two sweeps at once
    ]
    insert = _insert()
    # Amends runs on PostgreSQL and SQLite, and both have INSERT ... ON CONFLICT DO NOTHING;
    # a row another sweep is still writing makes PostgreSQL wait, then skip it.
    new_ids = db.session.scalars(
        insert(Spike).values(rows).on_conflict_do_nothing().returning(Spike.id)
    ).all()
    if len(new_ids) < len(rows):
        known = insert(Spike).values(rows)
        db.session.execute(
            known.on_conflict_do_update(
                index_elements=["dimension", "subject_id", "span", "span_start"],
                set_={"count": known.excluded.count},
                where=Spike.count < known.excluded.count,
            )
        )
    if not new_ids:
        return []
    spikes = db.session.scalars(
        select(Spike).where(Spike.id.in_(new_ids)).order_by(Spike.id)
    ).all()
    _notify_managers(spikes, now)
    return list(spikes)


def subject_names(spikes) -> dict[tuple[str, int], str]:
    """(dimension, subject id) → the category's or product's name: one statement."""
    categories = {s.subject_id for s in spikes if s.dimension == SpikeDimension.CATEGORY}
    products = {s.subject_id for s in spikes if s.dimension == SpikeDimension.PRODUCT}
    selects = []
    if categories:
        selects.append(select(literal(str(SpikeDimension.CATEGORY)).label("dimension"),
                              Category.id, Category.name).where(Category.id.in_(categories)))
    if products:
        selects.append(select(literal(str(SpikeDimension.PRODUCT)).label("dimension"),
                              Product.id, Product.name).where(Product.id.in_(products)))
    if not selects:
        return {}
    statement = union_all(*selects) if len(selects) > 1 else selects[0]
    return {(row[0], row[1]): row[2] for row in db.session.execute(statement)}


def _subject_column(dimension: str):
    return Case.category_id if dimension == SpikeDimension.CATEGORY else Case.product_id


def _teams_in_spikes(spikes, now: datetime) -> dict[int, Counter]:
    """For spikes found at `now`: spike id → cases per team so far. One statement."""
    week_start = min(s.span_start for s in spikes)
    categories = {s.subject_id for s in spikes if s.dimension == SpikeDimension.CATEGORY}
    products = {s.subject_id for s in spikes if s.dimension == SpikeDimension.PRODUCT}
    day_starts = sorted({s.span_start for s in spikes if s.span == SpikeSpan.DAY})
    today_start = day_starts[-1] if day_starts else now
    rows = db.session.execute(
        select(Case.category_id, Case.product_id, Case.team_id, func.count().label("cases"),
               func.coalesce(func.sum(sql_case((Case.created_at >= today_start, 1), else_=0)),
                             0).label("today"))
        .where(Case.created_at >= week_start, Case.created_at < now, *_counted(),
               or_(Case.category_id.in_(sorted(categories) or [-1]),
                   Case.product_id.in_(sorted(products) or [-1])))
        .group_by(Case.category_id, Case.product_id, Case.team_id)
    ).all()
    teams: dict[int, Counter] = {}
    for spike in spikes:
        column = "category_id" if spike.dimension == SpikeDimension.CATEGORY else "product_id"
        counter = Counter()
        for row in rows:
            if getattr(row, column) == spike.subject_id:
                cases = row.today if spike.span == SpikeSpan.DAY else row.cases
                if cases:
                    counter[row.team_id] += cases
        teams[spike.id] = counter
    return teams


def patterns_url(spike=None, zone: ZoneInfo | None = None) -> str:
    """An absolute link to the patterns page, where the spike is and a problem can be opened:
    with a spike, its week's figures, scrolled to its row."""
    from shared.services.mail import external_url

    values, anchor = {}, ""
    if spike is not None:
        values = _page_period(spike, zone or organisation_zone())
        anchor = f"#spike-{spike.id}"
    try:
        return external_url("backoffice.patterns", **values) + anchor
    except BuildError:  # the page's endpoint is named otherwise: its path is the contract
        query = f"?start={values['start']}&end={values['end']}" if values else ""
        return current_app.config["PUBLIC_BASE_URL"] + "/staff/patterns" + query + anchor


# A spike notification's text ends with its link: the spike's row is the anchor.
_SPIKE_ANCHOR = re.compile(r"#spike-(\d+)\b")


def patterns_address_for_notice(text: str) -> str:
    """Where opening a spike notification leads: the patterns page at the spike its text links
    to (the spike's week), or at the list of spikes when the text names none."""
    match = _SPIKE_ANCHOR.search(text or "")
    spike = db.session.get(Spike, int(match.group(1))) if match else None
    if spike is None:
        return url_for("backoffice.patterns", _anchor="spikes")
    return url_for("backoffice.patterns", **_page_period(spike, organisation_zone()),
                   _anchor=f"spike-{spike.id}")


def _page_period(spike, zone: ZoneInfo) -> dict:
    """The patterns page's period that shows a spike: its week, Monday to Sunday (a day's
    spike shows beside its week's, when there is one)."""
    day = spike.span_start.astimezone(zone).date()
    monday = day - timedelta(days=day.weekday())
    return {"start": monday.isoformat(), "end": (monday + timedelta(days=6)).isoformat()}


def span_words(span: str, span_start: datetime, zone: ZoneInfo, now: datetime | None = None
               ) -> str:
    """ "week of 30 November" or "2 December"."""
    words = day_words(span_start, zone, now)
    return f"week of {words}" if span == SpikeSpan.WEEK else words


def _expected_words(spike) -> str:
    """ "2.0 a week on average over the 8 weeks before"; never "0.0", which would read as
    none when there were a few."""
    if spike.span == SpikeSpan.WEEK:
        per, over = "a week", f"the {HISTORY_WEEKS} weeks before"
    else:
        per, over = "a day", f"the {HISTORY_DAYS} days before"
    if spike.expected <= 0:
        return f"none in {over}"
    if spike.expected < 0.05:
        return f"under 0.1 {per} on average over {over}"
    return f"{spike.expected:.1f} {per} on average over {over}"


def _spike_text(spike, name: str, zone: ZoneInfo, now: datetime, link: str) -> str:
    what = DIMENSION_WORDS[SpikeDimension(spike.dimension)].lower()
    so_far = "this week so far" if spike.span == SpikeSpan.WEEK else "today so far"
    return (
        f"More complaints than usual about {name} ({what}): {spike.count} {so_far} "
        f"({span_words(spike.span, spike.span_start, zone, now)}), against "
        f"{_expected_words(spike)}; more than {spike.threshold} is a spike. "
        f"See it and open a problem for it: {link}"
    )


def _notify_managers(spikes, now: datetime) -> int:
    from shared.services.notifications import notify

    zone = organisation_zone()
    names = subject_names(spikes)
    teams_per_spike = _teams_in_spikes(spikes, now)
    team_ids = {team_id for counter in teams_per_spike.values() for team_id in counter}
    managers: dict[int, User | None] = {
        team.id: team.manager
        for team in db.session.scalars(
            select(Team).where(Team.id.in_(sorted(team_ids) or [-1]))
            .options(joinedload(Team.manager))
        )
    }
    told = 0
    for spike in spikes:
        name = names.get((spike.dimension, spike.subject_id), "an unnamed subject")
        text = _spike_text(spike, name, zone, now, patterns_url(spike, zone))
        people = {managers[t].id: managers[t] for t in teams_per_spike[spike.id]
                  if managers.get(t) is not None}
        for manager_id in sorted(people):
            if notify(people[manager_id], "spike_detected", text) is not None:
                told += 1
    return told


# --- Reading them --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeView:
    """One spike as the patterns page shows it."""

    id: int
    dimension: str
    dimension_label: str  # "Category" or "Product"
    subject_id: int
    subject_name: str
    span: str
    span_start: datetime
    span_words: str  # "week of 30 November", "2 December"
    count: int
    expected: float
    threshold: int
    expected_words: str  # "1.2 a week on average over the 8 weeks before"
    detected_at: datetime
    problem_id: int | None
    problem_reference: str | None
    problem_status_label: str | None
    # A day's spike whose week has a spike about the same subject: its cases are all in that
    # one, so the page offers a problem once, there.
    in_week_spike_id: int | None = None
    in_week_spike_words: str | None = None


def spikes_for_page(starts_at: datetime, ends_at: datetime, *, team_id: int | None = None,
                    category_id: int | None = None, product_id: int | None = None
                    ) -> list[SpikeView]:
    """The spikes whose day or week overlaps [starts_at, ends_at), newest first.

    A category filter keeps that category's spikes, a product filter that product's (both:
    either); a team filter keeps the spikes that team has cases in. Two or three statements.
    """
    zone = organisation_zone()
    statement = (
        select(Spike, Category.name.label("category_name"), Product.name.label("product_name"))
        .outerjoin(Category, and_(Spike.dimension == str(SpikeDimension.CATEGORY),
                                  Category.id == Spike.subject_id))
        .outerjoin(Product, and_(Spike.dimension == str(SpikeDimension.PRODUCT),
                                 Product.id == Spike.subject_id))
        .options(joinedload(Spike.problem))
        # A week is at most 7 days and an hour: the exact edge is drawn below.
        .where(Spike.span_start < ends_at, Spike.span_start >= starts_at - timedelta(days=8))
        .order_by(Spike.span_start.desc(), Spike.span, Spike.count.desc(), Spike.id)
    )
    subjects = []
    if category_id is not None:
        subjects.append(and_(Spike.dimension == str(SpikeDimension.CATEGORY),
                             Spike.subject_id == category_id))
    if product_id is not None:
        subjects.append(and_(Spike.dimension == str(SpikeDimension.PRODUCT),
                             Spike.subject_id == product_id))
    if subjects:
        statement = statement.where(or_(*subjects))
    rows = [
        row for row in db.session.execute(statement).unique()
        if span_end(row.Spike.span, row.Spike.span_start, zone) > starts_at
    ][:SPIKES_SHOWN]
    if team_id is not None and rows:
        with_team = _spikes_with_team([row.Spike for row in rows], team_id, zone)
        rows = [row for row in rows if row.Spike.id in with_team]
    now = utcnow()
    return _with_weeks_marked(
        [_view(row.Spike, row.category_name or row.product_name, zone, now) for row in rows],
        zone)


def _with_weeks_marked(views: list[SpikeView], zone: ZoneInfo) -> list[SpikeView]:
    """Each day's spike marked with the week's spike about the same subject that holds it,
    and listed just under it: the week's row, which offers the problem, comes first."""
    weeks = {}
    for view in views:
        if view.span == SpikeSpan.WEEK:
            weeks[(view.dimension, view.subject_id, view.span_start)] = view
    days_in_week = defaultdict(list)  # week spike id -> its days' spikes, newest first
    for view in views:
        if view.span == SpikeSpan.DAY:
            day = view.span_start.astimezone(zone).date()
            monday = _midnight(day - timedelta(days=day.weekday()), zone)
            week = weeks.get((view.dimension, view.subject_id, monday))
            if week is not None:
                days_in_week[week.id].append(replace(
                    view, in_week_spike_id=week.id, in_week_spike_words=week.span_words))
    under_a_week = {day.id for days in days_in_week.values() for day in days}
    listed = []
    for view in views:
        if view.id in under_a_week:
            continue
        listed.append(view)
        if view.span == SpikeSpan.WEEK:
            listed.extend(days_in_week.get(view.id, []))
    return listed


def _span_cases(spike, zone: ZoneInfo) -> list:
    return [
        _subject_column(spike.dimension) == spike.subject_id,
        Case.created_at >= spike.span_start,
        Case.created_at < span_end(spike.span, spike.span_start, zone),
        *_counted(),
    ]


def _spikes_with_team(spikes, team_id: int, zone: ZoneInfo) -> set[int]:
    """The spikes the team has a case in: one statement, a small EXISTS per spike."""
    statement = union_all(*(
        select(literal(spike.id).label("spike_id")).where(
            exists().where(Case.team_id == team_id, *_span_cases(spike, zone))
        )
        for spike in spikes
    ))
    return set(db.session.scalars(statement))


def _view(spike: Spike, name: str | None, zone: ZoneInfo, now: datetime) -> SpikeView:
    problem = spike.problem
    return SpikeView(
        id=spike.id,
        dimension=spike.dimension,
        dimension_label=DIMENSION_WORDS[SpikeDimension(spike.dimension)],
        subject_id=spike.subject_id,
        subject_name=name or "(no longer on the list)",
        span=spike.span,
        span_start=spike.span_start,
        span_words=span_words(spike.span, spike.span_start, zone, now),
        count=spike.count,
        expected=spike.expected,
        threshold=spike.threshold,
        expected_words=_expected_words(spike),
        detected_at=spike.detected_at,
        problem_id=problem.id if problem else None,
        problem_reference=problem.reference if problem else None,
        problem_status_label=problem.status_label if problem else None,
    )


# --- From a spike to a problem -------------------------------------------------------------------


def spike_case_ids(spike: Spike, *, limit: int = CASES_IN_DRAFT) -> list[int]:
    """The cases in the spike's day or week about its subject, oldest first, at most `limit`:
    one statement, and one for the zone."""
    return _case_ids(spike, organisation_zone(), limit)


def _case_ids(spike: Spike, zone: ZoneInfo, limit: int) -> list[int]:
    return list(db.session.scalars(
        select(Case.id).where(*_span_cases(spike, zone))
        .order_by(Case.created_at, Case.id).limit(limit)
    ))


def _team_with_most_cases(spike: Spike, zone: ZoneInfo) -> int | None:
    row = db.session.execute(
        select(Case.team_id, func.count().label("cases"))
        .where(*_span_cases(spike, zone))
        .group_by(Case.team_id)
        .order_by(func.count().desc(), Case.team_id)
        .limit(1)
    ).first()
    return row.team_id if row else None


def problem_draft_for(spike: Spike) -> dict:
    """What a new problem opened from this spike starts with: a title, a description with the
    numbers and the rule, its category or product, the team with most of its cases, and the
    cases (at most CASES_IN_DRAFT). Four statements."""
    zone = organisation_zone()
    name = subject_names([spike]).get((spike.dimension, spike.subject_id),
                                      "(no longer on the list)")
    case_ids = _case_ids(spike, zone, CASES_IN_DRAFT)
    so_far = "in the" if spike.span == SpikeSpan.WEEK else "on"
    found = day_words(spike.detected_at, zone)
    description = (
        f"{spike.count} complaints about {name} {so_far} "
        f"{span_words(spike.span, spike.span_start, zone)} by the time the spike was found "
        f"({found}), against {_expected_words(spike)}. More than {spike.threshold} is a spike."
        f"\n\nThe rule: {SPIKE_RULE}"
    )
    if len(case_ids) == CASES_IN_DRAFT:
        description += (f"\n\nThe first {CASES_IN_DRAFT} cases are linked; link the others "
                        "from their case pages.")
    is_category = spike.dimension == SpikeDimension.CATEGORY
    return {
        "title": f"More complaints than usual about {name}",
        "description": description,
        "category_id": spike.subject_id if is_category else None,
        "product_id": None if is_category else spike.subject_id,
        "team_id": _team_with_most_cases(spike, zone),
        "case_ids": case_ids,
    }
