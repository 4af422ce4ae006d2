"""What complaints tell us: every figure of shared.patterns checked against a plain-Python count
over the rows of a hand-built data set (cases written directly with the models), with and
without filters; and the edges: the vital few, weeks across the clocks going back, 90 days."""

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import (
    GIVEN_REDRESS_STATES,
    OPEN_PROBLEM_STATUSES,
    OPEN_STATUSES,
    Case,
    CaseStatus,
    CauseArea,
    EventKind,
    Outcome,
    Problem,
    ProblemCase,
    ProblemStatus,
    Product,
    Redress,
    RedressKind,
    RedressState,
    RootCause,
    TimelineEvent,
    Visibility,
)
from shared.patterns import (
    NOT_RECORDED,
    REOPEN_REASONS_SHOWN,
    REPEAT_COMPLAINANTS_SHOWN,
    Filters,
    Period,
    build_patterns,
    case_lines,
    count_case_lines,
    vital_flags,
    weeks_covering,
)
from tests import factories

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 18), LONDON)


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# --- Building the data with the models --------------------------------------------------------


def new_case(org, customer, *, created, category=None, team=None, product=None, cause=None,
             resolved=None, outcome=None, rating=None, handoffs=0, merged_into=None,
             words=None) -> Case:
    category = category or org.delivery
    case = Case(
        customer=customer, contact_name=customer.name, contact_email=customer.email,
        category=category, team=team or org.care, owner=org.sam,
        description="It went wrong.", created_at=created, updated_at=created,
        acknowledge_due_at=created + timedelta(days=1),
        first_response_due_at=created + timedelta(days=3),
        resolve_due_at=created + timedelta(days=10),
        status=CaseStatus.RESOLVED if resolved else CaseStatus.IN_PROGRESS,
        resolved_at=resolved, root_cause=cause, product=product,
        outcome=(outcome or Outcome.UPHELD) if resolved else None, rating=rating,
        rated_at=resolved + timedelta(hours=1) if rating else None, handoff_count=handoffs,
        merged_into=merged_into, root_cause_words=words,
    )
    db.session.add(case)
    db.session.flush()
    case.reference = f"AM-{case.id:06d}"
    return case


def causes_and_products():
    delivery = CauseArea(name="Delivery", position=1)
    billing = CauseArea(name="Billing", position=2)
    other = CauseArea(name="Other", position=3)
    causes = [
        RootCause(area=delivery, name="Carrier missed the slot"),
        RootCause(area=delivery, name="Parcel damaged"),
        RootCause(area=billing, name="Tariff change not applied"),
        RootCause(area=billing, name="Charged twice"),
        RootCause(area=other, name="Something else", asks_for_words=True),
        RootCause(area=billing, name="Old price list", retired_at=at(1, 5)),
    ]
    products = [Product(name="Broadband", position=1), Product(name="Mobile", position=2),
                Product(name="TV", position=3)]
    db.session.add_all([delivery, billing, other, *causes, *products])
    db.session.flush()
    return causes, products


@pytest.fixture
def world(org, frozen_now):
    """About 260 cases from August to November by 14 customers, with causes, products,
    ratings, hand-offs, remedies, reopenings and problems, drawn from a fixed seed; plus the
    edge cases the figures must get right."""
    frozen_now(NOW)
    draw = random.Random(10)
    causes, products = causes_and_products()
    customers = [factories.make_customer(f"customer{n}@example.com", f"Customer {n}")
                 for n in range(14)]
    categories = [(org.delivery, org.care), (org.bills, org.billing), (org.other, org.care)]
    start = at(8, 1)
    cases = []
    for _ in range(260):
        created = start + timedelta(minutes=draw.randrange(0, 109 * 24 * 60))
        category, team = draw.choice(categories)
        resolved = None
        if draw.random() < 0.7:
            resolved = created + timedelta(hours=draw.randrange(2, 400))
            if resolved > NOW:
                resolved = None
        cause = draw.choice([*causes, causes[0], causes[0], causes[2], None, None]) if resolved \
            else None
        cases.append(new_case(
            org, draw.choice(customers), created=created, category=category, team=team,
            product=draw.choice([*products, None]), cause=cause, resolved=resolved,
            outcome=draw.choice(list(Outcome)),
            rating=draw.choice([None, None, 1, 2, 3, 4, 5]) if resolved else None,
            handoffs=draw.choice([0, 0, 0, 1, 1, 2, 4]),
            words="The courier's van broke down" if cause is causes[4] else None,
        ))
    # Duplicates merged into another: left out everywhere (as the "another complaint" too).
    for case in draw.sample(cases, 6):
        case.merged_into = cases[0] if case is not cases[0] else cases[1]
    # The clocks went back at 01:00 UTC on Sunday 25 October; a week before that, London is
    # an hour ahead: 23:30 UTC on Sunday 18 October is already Monday in London.
    edge = factories.make_customer("edge@example.com", "Edge Case")
    cases.append(new_case(org, edge, created=datetime(2026, 10, 18, 23, 30, tzinfo=UTC)))
    cases.append(new_case(org, edge, created=datetime(2026, 10, 18, 22, 30, tzinfo=UTC)))
    # Exactly 90 days apart: a repeat; 90 days and a minute: not.
    again = factories.make_customer("again@example.com", "Anne Again")
    later = factories.make_customer("later@example.com", "Lee Later")
    cases.append(new_case(org, again, created=at(11, 10) - timedelta(days=90)))
    cases.append(new_case(org, again, created=at(11, 10), category=org.bills,
                          team=org.billing))
    cases.append(new_case(org, later, created=at(11, 10) - timedelta(days=90, minutes=1)))
    cases.append(new_case(org, later, created=at(11, 10)))
    # A cause named like a formula, for the exports.
    cases.append(new_case(org, edge, created=at(11, 2), resolved=at(11, 3), cause=causes[4],
                          words="=HYPERLINK(\"http://x\")", rating=1))
    for kind, amount, currency, state in (
        (RedressKind.REFUND, 2550, "GBP", RedressState.GIVEN),
        (RedressKind.GOODWILL, 5000, "GBP", RedressState.APPROVED),
        (RedressKind.GOODWILL, 9000, "GBP", RedressState.AWAITING_APPROVAL),  # not given
        (RedressKind.APOLOGY, None, None, RedressState.GIVEN),
    ):
        db.session.add(Redress(case=cases[-1], kind=kind, description="=1+2", state=state,
                               amount_minor=amount, currency=currency, beyond_request=True,
                               recorded_by_id=org.sam.id))
    # Resolved before causes were recorded: counted apart.
    cases.append(new_case(org, edge, created=at(10, 30), resolved=at(11, 4), rating=5))
    remedies(draw, cases, org)
    reopenings(draw, cases)
    problems(org, cases, products)
    services.commit()
    return {"cases": cases, "causes": causes, "products": products}


def remedies(draw, cases, org):
    states = [RedressState.GIVEN, RedressState.GIVEN, RedressState.APPROVED,
              RedressState.AWAITING_APPROVAL, RedressState.REFUSED, RedressState.WITHDRAWN]
    for case in draw.sample(cases, 70):
        for _ in range(draw.randrange(1, 4)):
            kind = draw.choice(list(RedressKind))
            money = kind.moves_money
            db.session.add(Redress(
                case=case, kind=kind, description=draw.choice(["", "For the trouble"]),
                amount_minor=draw.randrange(100, 20000) if money else None,
                currency=draw.choice(["GBP", "GBP", "EUR"]) if money else None,
                beyond_request=draw.random() < 0.3, state=draw.choice(states),
                recorded_by_id=org.sam.id,
            ))


def reopenings(draw, cases):
    for number, case in enumerate(draw.sample(cases, 40)):
        db.session.add(TimelineEvent(
            case=case, kind=EventKind.REOPENED, visibility=Visibility.PUBLIC,
            actor_id=case.customer_id, body=f"Still broken ({number})",
            created_at=at(10, 20) + timedelta(hours=draw.randrange(0, 29 * 24)),
        ))


def problems(org, cases, products):
    made = []
    for number, (status, team, product, opened) in enumerate([
        (ProblemStatus.INVESTIGATING, org.care, products[0], at(9, 1)),
        (ProblemStatus.FIX_PLANNED, org.billing, None, at(8, 15)),
        (ProblemStatus.FIXED, org.care, products[1], at(10, 1)),
        (ProblemStatus.CONFIRMED_FIXED, org.care, None, at(7, 1)),  # closed: never shown
        (ProblemStatus.WONT_FIX, org.billing, None, at(7, 2)),  # closed: never shown
    ]):
        problem = Problem(title=f"Problem {number}", team=team, owner=org.manager,
                          created_by_id=org.manager.id, status=status, product=product,
                          created_at=opened)
        db.session.add(problem)
        made.append(problem)
    db.session.flush()
    for problem, linked in zip(made, (cases[3:9], cases[20:22], [], cases[40:44], cases[50:51]),
                               strict=True):
        for case in linked:
            db.session.add(ProblemCase(problem=problem, case=case, linked_by_id=org.sam.id))


# --- The same figures, counted again in plain Python ------------------------------------------


def all_cases():
    return list(db.session.scalars(select(Case).order_by(Case.id)))


def matches(case: Case, filters: Filters) -> bool:
    return (case.merged_into_id is None
            and filters.team_id in (None, case.team_id)
            and filters.category_id in (None, case.category_id)
            and filters.product_id in (None, case.product_id))


def in_period(moment, period: Period) -> bool:
    first = datetime.combine(period.first_day, time(0), tzinfo=period.zone)
    after = datetime.combine(period.last_day + timedelta(days=1), time(0), tzinfo=period.zone)
    return moment is not None and first <= moment < after


def cause_label(cause: RootCause) -> str:
    return f"{cause.area.name} → {cause.name}"


def expected_pareto(period, filters):
    resolved = [c for c in all_cases() if matches(c, filters) and in_period(c.resolved_at,
                                                                           period)]
    with_cause = [c for c in resolved if c.root_cause is not None]
    counts = Counter(c.root_cause for c in with_cause)
    ordered = sorted(counts, key=lambda cause: (-counts[cause], cause_label(cause).casefold(),
                                                cause.id))
    total = len(with_cause)
    rows, before = [], 0
    for cause in ordered:
        # A cause is among the vital few while the causes above it have not yet reached 80 %.
        vital = before / total < 0.8
        before += counts[cause]
        ratings = [c.rating for c in with_cause if c.root_cause is cause and c.rating]
        handoffs = [c.handoff_count for c in with_cause if c.root_cause is cause]
        rows.append({
            "label": cause_label(cause), "cases": counts[cause],
            "share": counts[cause] / total, "cumulative": before / total, "vital": vital,
            "rating": sum(ratings) / len(ratings) if ratings else None,
            "rated": len(ratings), "handoffs": sum(handoffs) / len(handoffs),
        })
    return rows, total, len(resolved) - total


def monday_of(moment: datetime) -> date:
    local = moment.astimezone(LONDON).date()
    return local - timedelta(days=local.weekday())


def expected_trends(period, filters):
    """{(dimension, label): {monday: count}} over every case raised, whatever the week."""
    counts = defaultdict(Counter)
    categories = {case.category_id: case.category.name for case in all_cases()}
    for case in all_cases():
        if not matches(case, filters):
            continue
        week = monday_of(case.created_at)
        counts[("category", categories[case.category_id])][week] += 1
        counts[("product", case.product.name if case.product else NOT_RECORDED)][week] += 1
        counts[("all", "All complaints")][week] += 1
    return counts


def expected_repeats(period, filters):
    cases = [c for c in all_cases() if c.merged_into_id is None]
    raised = [c for c in cases if matches(c, filters) and in_period(c.created_at, period)]
    repeat = []
    for case in raised:
        window_start = case.created_at - timedelta(days=90)
        if any(other.customer_id == case.customer_id and other.id != case.id
               and window_start <= other.created_at <= case.created_at
               and (other.created_at, other.id) < (case.created_at, case.id)
               for other in cases):
            repeat.append(case)
    per_customer = Counter(c.customer_id for c in raised)
    repeats_of = Counter(c.customer_id for c in repeat)
    return {
        "complaints": len(raised), "repeat_complaints": len(repeat),
        "complainants": len(per_customer), "repeat_complainants": len(repeats_of),
        "top": sorted(((per_customer[cid], repeats_of[cid]) for cid in repeats_of),
                      reverse=True)[:REPEAT_COMPLAINANTS_SHOWN],
    }


def expected_reopens(period, filters):
    events = [
        event for event in db.session.scalars(select(TimelineEvent).where(
            TimelineEvent.kind == EventKind.REOPENED))
        if in_period(event.created_at, period) and matches(event.case, filters)
    ]
    events.sort(key=lambda event: (event.created_at, event.id), reverse=True)
    return len(events), [event.body for event in events[:REOPEN_REASONS_SHOWN]]


def expected_redress(period, filters):
    by_cause, by_product = defaultdict(Counter), defaultdict(Counter)
    for redress in db.session.scalars(select(Redress)):
        case = redress.case
        if redress.state not in GIVEN_REDRESS_STATES or not matches(case, filters) \
                or not in_period(case.resolved_at, period):
            continue
        cause = cause_label(case.root_cause) if case.root_cause else "No cause recorded"
        product = case.product.name if case.product else NOT_RECORDED
        for totals, key in ((by_cause, cause), (by_product, product)):
            totals[key]["remedies"] += 1
            totals[key]["beyond"] += redress.beyond_request
            if redress.amount_minor is not None:
                totals[key][redress.currency] += redress.amount_minor
    return by_cause, by_product


def expected_problems(filters):
    shown = []
    for problem in db.session.scalars(select(Problem)):
        if problem.status not in OPEN_PROBLEM_STATUSES:
            continue
        linked = [link.case for link in problem.links]
        wanted = True
        for own, of_case, value in (
            (problem.team_id, "team_id", filters.team_id),
            (problem.category_id, "category_id", filters.category_id),
            (problem.product_id, "product_id", filters.product_id),
        ):
            if value is not None and own != value \
                    and not any(getattr(case, of_case) == value for case in linked):
                wanted = False
        if wanted:
            shown.append((problem.created_at, problem.id, problem.title, len(linked),
                          sum(case.status in OPEN_STATUSES for case in linked)))
    return sorted(shown)


def assert_patterns_match(found, period, filters):
    rows, total, without = expected_pareto(period, filters)
    pareto = found.pareto
    assert (pareto.total, pareto.without_cause) == (total, without)
    assert [row.label for row in pareto.rows] == [row["label"] for row in rows]
    for got, want in zip(pareto.rows, rows, strict=True):
        assert got.cases == want["cases"]
        assert got.share == pytest.approx(want["share"])
        assert got.cumulative_share == pytest.approx(want["cumulative"])
        assert got.vital == want["vital"], got.label
        assert got.rated == want["rated"]
        assert got.average_rating == pytest.approx(want["rating"])
        assert got.average_handoffs == pytest.approx(want["handoffs"])

    weekly = expected_trends(period, filters)
    trends = found.trends
    mondays = [week.starts_on for week in trends.weeks]
    earlier = [week.starts_on for week in trends.earlier_weeks]
    assert all(day.weekday() == 0 for day in mondays + earlier)
    assert earlier[-1] + timedelta(weeks=1) == mondays[0] and len(earlier) == len(mondays)
    assert mondays[0] <= period.first_day < mondays[0] + timedelta(weeks=1)
    assert mondays[-1] <= period.last_day < mondays[-1] + timedelta(weeks=1)
    for dimension, got_rows in (("category", trends.by_category),
                                ("product", trends.by_product), ("all", [trends.total])):
        want_rows = {
            label: (tuple(counts[day] for day in mondays), tuple(counts[day] for day in earlier))
            for (kind, label), counts in weekly.items() if kind == dimension
        }
        want_rows = {label: value for label, value in want_rows.items() if any(map(any, value))}
        assert {row.label: (row.weekly, row.earlier_weekly) for row in got_rows} == want_rows
        if dimension == "product" and NOT_RECORDED in want_rows:
            assert got_rows[-1].label == NOT_RECORDED

    repeats = expected_repeats(period, filters)
    got = found.repeats
    assert (got.complaints, got.repeat_complaints, got.complainants,
            got.repeat_complainants) == (repeats["complaints"], repeats["repeat_complaints"],
                                         repeats["complainants"],
                                         repeats["repeat_complainants"])
    assert [(person.complaints, person.repeats) for person in got.top] == repeats["top"]

    count, reasons = expected_reopens(period, filters)
    assert found.reopens.count == count
    assert [reason.reason for reason in found.reopens.latest] == reasons

    by_cause, by_product = expected_redress(period, filters)
    for lines, want in ((found.redress_by_cause, by_cause),
                        (found.redress_by_product, by_product)):
        assert {line.label: {"remedies": line.remedies, "beyond": line.beyond_request,
                             **line.amounts} for line in lines} \
            == {label: {key: value for key, value in totals.items()
                        if key in ("remedies", "beyond") or value}
                for label, totals in want.items()}

    problems = expected_problems(filters)
    assert found.problems.count == len(problems)
    assert [(p.opened_at, p.problem_id, p.title, p.linked_cases, p.open_cases)
            for p in found.problems.oldest] == problems[:10]


# --- The tests --------------------------------------------------------------------------------


def test_every_figure_matches_a_plain_count(world):
    found = build_patterns(NOVEMBER, NOW)

    assert_patterns_match(found, NOVEMBER, Filters())
    # The data set puts something in every figure, so the comparison means something.
    assert len(found.pareto.rows) >= 5 and found.pareto.without_cause
    assert 0 < len(found.pareto.vital_few) < len(found.pareto.rows)
    assert found.trends.total.total and found.trends.total.earlier_total
    assert found.repeats.repeat_complaints and found.reopens.count
    assert found.redress_by_cause and found.problems.count == 3
    assert {"GBP", "EUR"} <= {c for line in found.redress_by_cause for c in line.amounts}


@pytest.mark.parametrize("filter_name", ["team", "category", "product"])
def test_each_filter_keeps_only_its_cases(org, world, filter_name):
    filters = {
        "team": Filters(team_id=org.billing.id),
        "category": Filters(category_id=org.delivery.id),
        "product": Filters(product_id=world["products"][0].id),
    }[filter_name]
    found = build_patterns(NOVEMBER, NOW, team_id=filters.team_id,
                           category_id=filters.category_id, product_id=filters.product_id)

    assert_patterns_match(found, NOVEMBER, filters)
    assert found.pareto.rows and found.trends.total.total


def test_a_long_period_and_a_single_day(world):
    for period in (Period(date(2026, 1, 1), date(2026, 12, 31), LONDON),
                   Period(date(2026, 11, 10), date(2026, 11, 10), LONDON)):
        assert_patterns_match(build_patterns(period, NOW), period, Filters())


def test_weeks_start_on_monday_in_london_across_the_clock_change(world):
    # 19 to 25 October (BST) against 12 to 18 October: the case raised at 23:30 UTC on
    # Sunday the 18th is Monday's in London; the one at 22:30 UTC is Sunday's.
    period = Period(date(2026, 10, 19), date(2026, 10, 25), LONDON)
    weeks, earlier = weeks_covering(period)

    assert [week.starts_on for week in weeks] == [date(2026, 10, 19)]
    assert weeks[0].starts_at == datetime(2026, 10, 18, 23, 0, tzinfo=UTC)
    assert weeks[0].ends_at == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)  # GMT again
    assert [week.starts_on for week in earlier] == [date(2026, 10, 12)]
    edge = {c.created_at: c for c in all_cases() if c.customer.email == "edge@example.com"}
    assert weeks[0].holds(datetime(2026, 10, 18, 23, 30, tzinfo=UTC))
    assert earlier[0].holds(datetime(2026, 10, 18, 22, 30, tzinfo=UTC))
    assert {datetime(2026, 10, 18, 23, 30, tzinfo=UTC),
            datetime(2026, 10, 18, 22, 30, tzinfo=UTC)} <= set(edge)
    assert_patterns_match(build_patterns(period, NOW), period, Filters())


def test_a_complaint_exactly_90_days_after_another_is_a_repeat(world):
    day = Period(date(2026, 11, 10), date(2026, 11, 10), LONDON)
    found = build_patterns(day, NOW)

    names = {person.name for person in found.repeats.top}
    assert "Anne Again" in names
    assert "Lee Later" not in names


def test_the_vital_few_reach_80_percent_and_no_further():
    assert vital_flags([5, 3, 1, 1]) == [True, True, False, False]  # 50 %, then 80 %
    assert vital_flags([5, 2, 2, 1]) == [True, True, True, False]  # 70 %, 90 %
    assert vital_flags([8, 1, 1]) == [True, False, False]  # 80 % at once
    assert vital_flags([1]) == [True]
    assert vital_flags([1, 1, 1, 1, 1]) == [True, True, True, True, False]
    assert vital_flags([]) == []


def test_an_empty_period_shows_nothing(org, frozen_now):
    frozen_now(NOW)
    found = build_patterns(NOVEMBER, NOW)

    assert found.pareto.rows == [] and found.pareto.total == 0
    assert found.trends.total.total == 0 and found.trends.by_category == []
    assert found.repeats.complaints == 0 and found.reopens.count == 0
    assert found.redress_by_cause == [] and found.problems.count == 0


def test_the_cases_behind_the_figures(world):
    lines = list(case_lines(NOVEMBER, Filters()))
    expected = [c for c in all_cases() if c.merged_into_id is None
                and (in_period(c.created_at, NOVEMBER) or in_period(c.resolved_at, NOVEMBER))]

    assert [line.reference for line in lines] == [c.reference for c in expected]
    assert count_case_lines(NOVEMBER, Filters()) == len(expected)
    by_reference = {c.reference: c for c in expected}
    for line in lines:
        case = by_reference[line.reference]
        assert line.product == (case.product.name if case.product else NOT_RECORDED)
        assert (line.cause_area, line.root_cause) == (
            (case.root_cause.area.name, case.root_cause.name) if case.root_cause else ("", ""))
        assert len(line.redress) == sum(r.state in GIVEN_REDRESS_STATES for r in case.redress)
    assert list(case_lines(NOVEMBER, Filters(), limit=3)) == lines[:3]
