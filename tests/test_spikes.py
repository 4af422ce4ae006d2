"""Spikes: the Poisson rule, checked by hand and against a plain-Python count; recorded once per
span however often (or however many at once) the sweep runs; each manager concerned told once;
the draft of a problem for a spike; the page's list and partial."""

import math
import random
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import render_template
from sqlalchemy import func, select

from shared import services, spikes
from shared.extensions import db
from shared.models import Case, Notification, OutgoingEmail, Product, Spike, utcnow
from shared.models.cases import reference_for
from shared.spikes import (
    SPIKE_RULE,
    find_spikes,
    poisson_upper_limit,
    problem_draft_for,
    record_new_spikes,
    spike_case_ids,
    spikes_for_page,
)
from shared.sweep import run_sweep
from tests import factories
from tests.support.races import HeldAtCommit

# "Today" is read throughout: these run with the date-sensitive tests at their hard moments.
pytestmark = pytest.mark.dates

LONDON = ZoneInfo("Europe/London")


def london(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


# A Wednesday afternoon. Its week began on Monday 23 November; the 8 weeks before run from
# Monday 28 September, across the end of summer time on 25 October.
NOW = london("2026-11-25 14:00")
HISTORY_MONDAY = date(2026, 9, 28)

_first_case: dict[str, int] = {}


def complaint(category, at: datetime, *, product=None, team=None):
    """A complaint raised at `at`. The first of a test goes through the service; the others
    copy its row (the service's receipts and notifications would only slow the test down)."""
    template_id = _first_case.get("id")
    template = db.session.get(Case, template_id) if template_id is not None else None
    if template is None:
        case = factories.raise_case(category)
        _first_case["id"] = case.id
    else:
        columns = {column.key: getattr(template, column.key)
                   for column in Case.__table__.columns if column.key not in ("id", "reference")}
        case = Case(**columns)
        db.session.add(case)
    case.created_at = at
    case.category_id = category.id
    case.team_id = (team or category.default_team).id
    case.product_id = product.id if product is not None else None
    db.session.flush()
    case.reference = reference_for(case.id)
    return case


@pytest.fixture(autouse=True)
def _forget_the_first_case():
    _first_case.clear()
    yield
    _first_case.clear()


def steady_history(category, *, per_week=2, product=None, team=None):
    """`per_week` complaints in each of the 8 full weeks before NOW's (Tuesdays and Thursdays)."""
    cases = []
    for week in range(8):
        monday = HISTORY_MONDAY + timedelta(weeks=week)
        for number in range(per_week):
            day = monday + timedelta(days=1 + 2 * (number % 3))
            at = datetime.combine(day, datetime.min.time(), LONDON) + timedelta(hours=10 + number)
            cases.append(complaint(category, at, product=product, team=team))
    return cases


def burst(category, times, *, product=None, team=None):
    return [complaint(category, london(t), product=product, team=team) for t in times]


THIS_WEEK_NINE = [
    "2026-11-23 00:00", "2026-11-23 11:00", "2026-11-23 16:00",
    "2026-11-24 10:00", "2026-11-24 12:00", "2026-11-24 15:00",
    "2026-11-25 09:00", "2026-11-25 10:00", "2026-11-25 11:00",
]


@pytest.fixture
def broadband(org):
    product = Product(name="Broadband", position=1)
    db.session.add(product)
    db.session.flush()
    return product


@pytest.fixture
def delivery_spike(org, broadband, frozen_now):
    """Delivery: two a week for 8 weeks, then nine this week so far (three today), all about
    Broadband; Billing steady at two a week, this week too."""
    frozen_now(NOW)
    history = steady_history(org.delivery, product=broadband)
    spiked = burst(org.delivery, THIS_WEEK_NINE, product=broadband)
    steady_history(org.bills)
    burst(org.bills, ["2026-11-23 10:00", "2026-11-24 10:00"])
    # Not counted: raised after NOW, and a complaint a week before the history.
    after_now = complaint(org.delivery, NOW + timedelta(minutes=5))
    complaint(org.delivery, london("2026-09-27 23:59"))
    services.commit()
    return SimpleNamespace(history=history, spiked=spiked, after_now=after_now)


def keyed(findings):
    return {(str(f.dimension), f.subject_id, str(f.span)): (f.count, f.expected, f.threshold)
            for f in findings}


# --- The Poisson limit, by hand ----------------------------------------------------------------


@pytest.mark.parametrize("mean, limit", [
    # P(X > 0) = 0 for the mean 0.
    (0, 0),
    # Poisson(0.25): P(X > 2) = 0.00216, P(X > 3) = 0.000134.
    (0.25, 3),
    # Poisson(1): P(X > 4) = 0.00366, P(X > 5) = 0.000594.
    (1, 5),
    # Poisson(2): P(X > 7) = 0.001097 (just above 0.001), P(X > 8) = 0.000237.
    (2, 8),
])
def test_the_limit_is_the_smallest_count_exceeded_with_a_chance_of_at_most_one_in_1000(
    mean, limit
):
    assert poisson_upper_limit(mean) == limit


def naive_limit(mean: float, alpha: float) -> int:
    """Adding P(X = k) = e^-m m^k / k! from 0 until what is left is at most alpha."""
    if mean == 0:
        return 0
    k, below = 0, 0.0
    while True:
        below += math.exp(-mean) * mean**k / math.factorial(k)
        if 1 - below <= alpha:
            return k
        k += 1


@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.05, 0.5])
def test_the_limit_agrees_with_the_plain_sum(alpha):
    for mean in (0.01, 0.125, 0.3, 1.5, 2.25, 3.875, 7, 12.5, 20, 47.3, 90):
        assert poisson_upper_limit(mean, alpha) == naive_limit(mean, alpha), (mean, alpha)


def test_large_means_neither_overflow_nor_underflow():
    # Poisson(10,000) is close to normal with sd 100: the 99.9 % point is about 3.09 sd up.
    assert 10_290 <= poisson_upper_limit(10_000) <= 10_330
    assert 1_003_000 <= poisson_upper_limit(1_000_000) <= 1_003_200  # sd 1,000


@pytest.mark.parametrize("mean, alpha", [(-1, 0.001), (math.inf, 0.001), (math.nan, 0.001),
                                         (1, 0), (1, 1), (1, 1.5)])
def test_a_limit_that_means_nothing_is_refused(mean, alpha):
    with pytest.raises(ValueError):
        poisson_upper_limit(mean, alpha)


# --- Finding spikes ----------------------------------------------------------------------------


def test_a_burst_this_week_is_a_spike_and_a_steady_week_is_not(org, broadband, delivery_spike):
    found = keyed(find_spikes(NOW))

    # Two a week on average: more than 8 is a spike, and nine came. The product had the same
    # history. Today's three are not a day's spike: fewer than five.
    assert found == {
        ("category", org.delivery.id, "week"): (9, 2.0, 8),
        ("product", broadband.id, "week"): (9, 2.0, 8),
    }
    (week,) = [f for f in find_spikes(NOW) if str(f.dimension) == "category"]
    assert week.span_start == london("2026-11-23 00:00")


def test_one_fewer_is_not_a_spike(org, broadband, delivery_spike):
    spiked = delivery_spike.spiked
    spiked[-1].created_at = NOW + timedelta(hours=1)
    services.commit()

    assert find_spikes(NOW) == []


def test_merged_duplicates_do_not_count(org, broadband, delivery_spike):
    spiked = delivery_spike.spiked
    spiked[-1].merged_into_id = spiked[0].id
    services.commit()

    assert find_spikes(NOW) == []


def test_today_against_the_56_days_before(org, broadband, frozen_now):
    frozen_now(NOW)
    steady_history(org.bills, per_week=1)
    burst(org.bills, [f"2026-11-25 {hour:02d}:30" for hour in range(8, 13)])
    services.commit()

    found = keyed(find_spikes(NOW))

    # The 56 days before today start on Wednesday 30 September, after the history's first
    # Tuesday: 7 in 56 days, a mean of 1/8 a day, whose limit is 2, so only the minimum of
    # five stands in the way. The week's five are not a spike: one a week on average gives a
    # limit of 5.
    assert found == {("category", org.bills.id, "day"): (5, 0.125, 4)}
    assert poisson_upper_limit(0.125) == 2


def test_something_new_is_a_spike_only_from_five(org, frozen_now):
    frozen_now(NOW)
    burst(org.other, ["2026-11-25 09:00", "2026-11-25 10:00", "2026-11-25 11:00",
                      "2026-11-25 12:00"])
    services.commit()
    assert find_spikes(NOW) == []

    burst(org.other, ["2026-11-25 13:00"])
    services.commit()
    assert {key[2] for key in keyed(find_spikes(NOW))} == {"week", "day"}


def plain_python_spikes(now: datetime, zone: ZoneInfo) -> dict:
    """The rule again, from every case read one by one, dated on a local calendar in Python."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    dates = {"category": {}, "product": {}}
    for case in db.session.scalars(select(Case)):
        if case.merged_into_id is not None or case.created_at >= now:
            continue
        day = case.created_at.astimezone(zone).date()
        dates["category"].setdefault(case.category_id, []).append(day)
        if case.product_id is not None:
            dates["product"].setdefault(case.product_id, []).append(day)
    found = {}
    for dimension, subjects in dates.items():
        for subject, days in subjects.items():
            week = sum(monday <= d <= today for d in days)
            weeks_before = sum(monday - timedelta(weeks=8) <= d < monday for d in days) / 8
            today_count = sum(d == today for d in days)
            days_before = sum(today - timedelta(days=56) <= d < today for d in days) / 56
            for span, count, mean in (("week", week, weeks_before),
                                      ("day", today_count, days_before)):
                limit = max(naive_limit(mean, 0.001), 4)
                if count > limit:
                    found[(dimension, subject, span)] = (count, round(mean, 4), limit)
    return found


@pytest.mark.parametrize("moment", [
    NOW,
    london("2026-11-23 00:30"),  # early on a Monday: a week of one day
    london("2026-11-29 23:59"),  # the last minute of a Sunday
    london("2027-04-01 12:00"),  # the history crosses the start of summer time
])
def test_find_spikes_agrees_with_a_plain_python_count(org, broadband, frozen_now, moment):
    frozen_now(moment)
    phones = Product(name="Phones", position=2)
    db.session.add(phones)
    db.session.flush()
    rng = random.Random(moment.toordinal())
    categories, products = [org.delivery, org.bills, org.other], [broadband, phones, None]
    cases = []
    start = moment - timedelta(days=66)
    for _ in range(120):
        at = start + timedelta(minutes=rng.randrange(0, 66 * 24 * 60))
        cases.append(complaint(rng.choice(categories), at, product=rng.choice(products)))
    # Bursts at the edges: the local midnights of this Monday and of today.
    local = moment.astimezone(LONDON)
    today_midnight = datetime.combine(local.date(), datetime.min.time(), LONDON)
    monday_midnight = today_midnight - timedelta(days=local.weekday())
    for minutes in range(6):
        complaint(org.other, monday_midnight + timedelta(minutes=minutes), product=phones)
        complaint(org.bills, today_midnight + timedelta(minutes=minutes))
        complaint(org.delivery, monday_midnight - timedelta(minutes=minutes + 1))
    cases[0].merged_into_id = cases[1].id
    services.commit()

    found = keyed(find_spikes(moment))

    assert found == plain_python_spikes(moment, LONDON)
    assert found, "the data set is meant to have spikes"


def test_finding_takes_two_statements_whatever_the_number_of_cases(
    org, broadband, frozen_now, count_queries
):
    frozen_now(NOW)

    def statements_with(per_week: int) -> int:
        steady_history(org.delivery, per_week=per_week, product=broadband)
        services.commit()
        with count_queries() as statements:
            find_spikes(NOW)
        return len(statements)

    assert statements_with(1) == statements_with(6) == 2


# --- Recording them, once ----------------------------------------------------------------------


def spike_notifications(user=None):
    query = select(Notification).where(Notification.kind == "spike_detected")
    if user is not None:
        query = query.where(Notification.user_id == user.id)
    return db.session.scalars(query.order_by(Notification.id)).all()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_spike_is_recorded_once_and_each_manager_told_once(org, broadband, delivery_spike):
    # Three of the nine belong to Billing's team, managed by Harper: both managers are told.
    org.billing.manager = org.head
    spiked = delivery_spike.spiked
    for case in spiked[:3]:
        case.team = org.billing
    services.commit()

    first = {(s.dimension, s.span, s.count, s.threshold) for s in record_new_spikes(NOW)}
    services.commit()
    emails_after_first = count(OutgoingEmail)
    again = record_new_spikes(NOW)
    later = record_new_spikes(NOW + timedelta(hours=2))
    services.commit()

    assert first == {("category", "week", 9, 8), ("product", "week", 9, 8)}
    assert again == later == []
    assert count(Spike) == 2
    assert count(OutgoingEmail) == emails_after_first
    # One notification per spike for each manager concerned; nobody else.
    assert {n.user_id for n in spike_notifications()} == {org.manager.id, org.head.id}
    for manager in (org.manager, org.head):
        texts = sorted(n.text for n in spike_notifications(manager))
        assert len(texts) == 2
        assert texts[0].startswith("More complaints than usual about Broadband (product): "
                                   "9 this week so far (week of 23 November)")
        assert texts[1].startswith("More complaints than usual about Delivery (category): "
                                   "9 this week so far (week of 23 November)")
        assert "2.0 a week on average over the 8 weeks before" in texts[0]
        assert "more than 8 is a spike" in texts[0]
        # The link shows the spike's week, at its row.
        spike_ids = sorted(db.session.scalars(select(Spike.id).where(
            Spike.dimension == "product")))
        assert texts[0].endswith("/staff/patterns?start=2026-11-23&end=2026-11-29"
                                 f"#spike-{spike_ids[0]}")
    email = db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.recipient == org.head.email,
                                    OutgoingEmail.subject == "More complaints than usual")
    ).first()
    assert email is not None and "/staff/patterns" in email.text_body


def test_a_manager_of_no_team_in_the_spike_is_not_told(org, broadband, delivery_spike):
    org.billing.manager = org.head
    services.commit()

    record_new_spikes(NOW)
    services.commit()

    assert {n.user_id for n in spike_notifications()} == {org.manager.id}


def test_more_complaints_later_in_the_span_raise_the_count_and_tell_nobody_again(
    org, broadband, delivery_spike
):
    record_new_spikes(NOW)
    services.commit()
    told = len(spike_notifications())

    # Thursday: two more, and the one raised just after NOW on Wednesday (two a day is no
    # day's spike).
    burst(org.delivery, ["2026-11-26 10:00", "2026-11-26 11:00"])
    services.commit()
    assert record_new_spikes(london("2026-11-26 12:00")) == []
    services.commit()

    counts = db.session.scalars(
        select(Spike.count).where(Spike.dimension == "category")).all()
    assert counts == [12]
    assert len(spike_notifications()) == told


def test_the_sweep_records_spikes_and_says_how_many(org, broadband, delivery_spike):
    first = run_sweep(now=NOW)
    second = run_sweep(now=NOW)

    assert (first.spikes_found, second.spikes_found) == (2, 0)
    assert "  2 new spike(s) in complaints" in first.lines()
    assert count(Spike) == 2
    assert len(spike_notifications(org.manager)) == 2


def test_the_sweep_takes_no_more_statements_for_more_cases(
    org, broadband, frozen_now, count_queries
):
    frozen_now(NOW)

    def statements_with(per_week: int) -> int:
        steady_history(org.delivery, per_week=per_week, product=broadband)
        services.commit()
        db.session.expire_all()
        with count_queries() as statements:
            report = run_sweep(now=NOW)
        assert report.spikes_found == 0
        return len([s for s in statements if "cases" in s and "GROUP BY" in s.upper()])

    assert statements_with(1) == statements_with(5) == 1


@pytest.mark.postgres
def test_two_recordings_at_once_make_one_row_and_tell_each_manager_once(
    app, org, broadband, delivery_spike
):
    def record():
        found = record_new_spikes(NOW)
        services.commit()
        return len(found)

    race = HeldAtCommit(app)
    outcomes = race.run(record, record)

    assert race.second_waited_on_first, "the second never waited on the first's rows"
    assert outcomes == {"first": 2, "second": 0}
    db.session.expire_all()
    assert count(Spike) == 2
    assert len(spike_notifications(org.manager)) == 2


# --- Reading them, and a problem for one --------------------------------------------------------


@pytest.fixture
def recorded(org, broadband, delivery_spike):
    record_new_spikes(NOW)
    services.commit()
    return db.session.scalars(
        select(Spike).where(Spike.dimension == "category")).one()


def test_the_cases_of_a_spike_are_those_of_its_week(org, recorded, delivery_spike):
    spiked = delivery_spike.spiked + [delivery_spike.after_now]
    later_this_week = complaint(org.delivery, london("2026-11-29 20:00"))
    next_week = complaint(org.delivery, london("2026-11-30 00:00"))
    services.commit()

    ids = spike_case_ids(recorded)

    assert ids == [c.id for c in spiked] + [later_this_week.id]
    assert next_week.id not in ids


def test_a_draft_problem_for_a_spike(org, recorded, delivery_spike):
    spiked = delivery_spike.spiked + [delivery_spike.after_now]
    for case in spiked[:6]:
        case.team = org.billing
    services.commit()

    draft = problem_draft_for(recorded)

    assert draft["title"] == "More complaints than usual about Delivery"
    assert draft["category_id"] == org.delivery.id and draft["product_id"] is None
    assert draft["team_id"] == org.billing.id  # six of the ten
    assert draft["case_ids"] == [c.id for c in spiked]
    assert draft["description"].startswith(
        "9 complaints about Delivery in the week of 23 November by the time the spike was found"
        " (25 November), against 2.0 a week on average over the 8 weeks before. More than 8 is"
        " a spike.")
    assert SPIKE_RULE in draft["description"]


def test_a_draft_links_at_most_200_cases(org, recorded, monkeypatch):
    monkeypatch.setattr(spikes, "CASES_IN_DRAFT", 4)

    draft = problem_draft_for(recorded)

    assert len(draft["case_ids"]) == 4
    assert "The first 4 cases are linked" in draft["description"]


def test_the_page_lists_the_spikes_of_the_period_with_their_words(
    org, broadband, recorded, count_queries
):
    november = (london("2026-11-01 00:00"), london("2026-12-01 00:00"))

    with count_queries() as statements:
        views = spikes_for_page(*november)

    assert len(statements) == 2
    assert [(v.subject_name, v.dimension_label, v.span_words, v.count, v.threshold)
            for v in views] == [
        ("Delivery", "Category", "week of 23 November", 9, 8),
        ("Broadband", "Product", "week of 23 November", 9, 8),
    ]
    assert {v.expected_words for v in views} == {
        "2.0 a week on average over the 8 weeks before"}
    # A period that ends before the week began, or starts after it ended, has none.
    assert spikes_for_page(london("2026-11-01 00:00"), london("2026-11-23 00:00")) == []
    assert spikes_for_page(london("2026-11-30 00:00"), london("2026-12-07 00:00")) == []
    # A period that starts in the middle of the week still shows it.
    assert len(spikes_for_page(london("2026-11-29 00:00"), london("2026-12-07 00:00"))) == 2


def test_the_page_filters_by_category_product_and_team(org, broadband, recorded,
                                                       count_queries):
    november = (london("2026-11-01 00:00"), london("2026-12-01 00:00"))

    assert [v.dimension for v in spikes_for_page(*november, category_id=org.delivery.id)] == [
        "category"]
    assert [v.dimension for v in spikes_for_page(*november, product_id=broadband.id)] == [
        "product"]
    assert spikes_for_page(*november, category_id=org.bills.id) == []
    assert len(spikes_for_page(*november, team_id=org.care.id)) == 2
    billing_id = org.billing.id
    with count_queries() as statements:
        assert spikes_for_page(*november, team_id=billing_id) == []
    assert len(statements) == 3


def test_the_partial_shows_the_rule_and_an_empty_period(app):
    with app.test_request_context():
        html = render_template("backoffice/_partials/_spikes.html", spikes=[],
                               spike_rule=SPIKE_RULE)

    assert 'id="spikes"' in html
    assert "No spikes in this period." in html
    assert "99.9 % Poisson upper limit" in html


def test_the_partial_offers_a_problem_or_shows_the_one_opened(app, org, recorded):
    from shared.models import Problem

    november = (london("2026-11-01 00:00"), london("2026-12-01 00:00"))
    if "backoffice.new_problem" not in app.view_functions:
        pytest.skip("the new problem page is not there yet")
    with app.test_request_context():
        html = render_template("backoffice/_partials/_spikes.html",
                               spikes=spikes_for_page(*november), spike_rule=SPIKE_RULE)
    assert f"spike={recorded.id}" in html
    assert "Open a problem for this" in html
    assert "Week of 23 November" in html

    problem = Problem(title="Late vans", team=org.care, owner=org.manager,
                      created_by=org.manager, category=org.delivery)
    db.session.add(problem)
    db.session.flush()
    recorded.problem_id = problem.id
    services.commit()
    with app.test_request_context():
        html = render_template("backoffice/_partials/_spikes.html",
                               spikes=spikes_for_page(*november), spike_rule=SPIKE_RULE)
    assert problem.reference in html and "Investigating" in html
    assert f'href="/staff/problems/{problem.id}"' in html
    assert f"spike={recorded.id}" not in html


def test_recording_uses_the_clock_when_no_moment_is_given(org, broadband, delivery_spike):
    assert utcnow() == NOW
    assert len(record_new_spikes()) == 2


def test_a_days_spike_inside_its_weeks_spike_offers_a_problem_once(app, org, frozen_now):
    # Something new: five complaints today are a spike of the day and of the week, with the
    # same five cases.
    frozen_now(NOW)
    burst(org.other, [f"2026-11-25 {hour:02d}:00" for hour in range(8, 13)])
    services.commit()
    record_new_spikes(NOW)
    services.commit()
    november = (london("2026-11-01 00:00"), london("2026-12-01 00:00"))

    views = spikes_for_page(*november)

    # The week's row, which offers the problem, first; the day's under it.
    assert [v.span for v in views] == ["week", "day"]
    by_span = {v.span: v for v in views}
    assert by_span["day"].in_week_spike_id == by_span["week"].id
    assert by_span["day"].in_week_spike_words == "week of 23 November"
    assert by_span["week"].in_week_spike_id is None
    if "backoffice.new_problem" not in app.view_functions:
        pytest.skip("the new problem page is not there yet")
    with app.test_request_context():
        html = render_template("backoffice/_partials/_spikes.html", spikes=views,
                               spike_rule=SPIKE_RULE)
    # Both facts stay on the page; the problem is offered once, for the week.
    assert html.count("Open a problem for this") == 1
    assert f"spike={by_span['week'].id}" in html
    assert f"spike={by_span['day'].id}" not in html
    day_row = html[html.index(f'id="spike-{by_span["day"].id}"'):]
    day_row = day_row[:day_row.index("</tr>")]
    assert "25 November" in day_row
    assert f'href="#spike-{by_span["week"].id}"' in day_row


def test_a_days_spike_of_another_subject_keeps_its_own_offer(org, frozen_now):
    frozen_now(NOW)
    burst(org.other, [f"2026-11-25 {hour:02d}:00" for hour in range(8, 13)])
    services.commit()
    record_new_spikes(NOW)
    # The week's spike is about another category than the day's.
    week = db.session.scalars(select(Spike).where(Spike.span == "week")).one()
    week.subject_id = org.delivery.id
    services.commit()

    views = spikes_for_page(london("2026-11-01 00:00"), london("2026-12-01 00:00"))

    assert [v.in_week_spike_id for v in views] == [None, None]


@pytest.mark.parametrize("span, expected, words", [
    ("day", 0.0, "none in the 56 days before"),
    ("day", 0.02, "under 0.1 a day on average over the 56 days before"),
    ("day", 0.125, "0.1 a day on average over the 56 days before"),
    ("week", 0.0, "none in the 8 weeks before"),
    ("week", 2, "2.0 a week on average over the 8 weeks before"),
])
def test_the_usual_number_never_reads_as_nought_point_nought(span, expected, words):
    assert spikes._expected_words(SimpleNamespace(span=span, expected=expected)) == words
