"""The manager's dashboard: every figure checked against a plain-Python count over the rows,
on a small data set with known outcomes and on a seeded one; queries bounded; who may look."""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backoffice.dashboard import percent_words, share_words
from shared import charts, services
from shared.dashboard import Period, Share, build_dashboard
from shared.extensions import db
from shared.models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    Category,
    Commitment,
    CommitmentState,
    Escalation,
    EscalationStatus,
    ServiceLevel,
    User,
)
from shared.seed import seed_database
from tests import factories
from tests.support.html import error_summary, field_block, text_of

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 18), LONDON)


def at(day: int, hour: int = 12, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


# --- The figures, counted again in plain Python over every row --------------------------------


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time(0), tzinfo=LONDON),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=LONDON))


def within(moment, bounds) -> bool:
    return moment is not None and bounds[0] <= moment < bounds[1]


FRAMES = {
    "acknowledge": ("acknowledge_due_at", "acknowledged_at"),
    "first_response": ("first_response_due_at", "first_responded_at"),
    "resolve": ("resolve_due_at", "resolved_at"),
}


@dataclass
class Expected:
    cells: dict  # (measure, team id, category id) -> [kept, counted]
    risk: dict  # team id -> (open, at risk, breached)
    handoffs: Counter
    handoff_total: int
    promises: Counter
    ratings: Counter
    pending: list  # escalations waiting
    proposed: int


def recount(first: date, last: date, now: datetime, team_id=None) -> Expected:
    bounds = period_bounds(first, last)
    cases = [
        case for case in db.session.scalars(
            select(Case).options(selectinload(Case.category).selectinload(Category.service_level)
                                 .selectinload(ServiceLevel.calendar))
        )
        if case.merged_into_id is None and (team_id is None or case.team_id == team_id)
    ]
    counted_ids = {case.id for case in cases}
    cells = defaultdict(lambda: [0, 0])
    risk = {}
    handoffs, handoff_total, ratings = Counter(), 0, Counter()
    at_risk_until = {}
    for case in cases:
        cell = (case.team_id, case.category_id)
        for measure, (due_name, met_name) in FRAMES.items():
            due, met = getattr(case, due_name), getattr(case, met_name)
            if within(due, bounds) and (met is not None or due < now):
                cells[(measure, *cell)][1] += 1
                cells[(measure, *cell)][0] += met is not None and met <= due
        is_open = case.status in OPEN_STATUSES
        if is_open and case.next_update_due_at is not None:
            cells[("update", *cell)][1] += 1
            cells[("update", *cell)][0] += case.next_update_due_at >= now
        if is_open:
            calendar = case.category.service_level.calendar
            if calendar.id not in at_risk_until:
                at_risk_until[calendar.id] = calendar.business_calendar().add_business_days(now, 1)
            unmet = [getattr(case, due) for due, met in FRAMES.values()
                     if getattr(case, met) is None]
            open_count, risky, breached = risk.get(case.team_id, (0, 0, 0))
            risk[case.team_id] = (
                open_count + 1,
                risky + any(now <= due <= at_risk_until[calendar.id] for due in unmet),
                breached + any(due < now for due in unmet),
            )
        if within(case.created_at, bounds):
            handoffs[min(case.handoff_count, 3)] += 1
            handoff_total += case.handoff_count
        if within(case.rated_at, bounds) and case.rating is not None:
            ratings[case.rating] += 1
    promises = Counter()
    for promise in db.session.scalars(select(Commitment)):
        if promise.case_id not in counted_ids or not within(promise.due_at, bounds):
            continue
        if promise.state == CommitmentState.OPEN:
            promises["open_overdue" if promise.due_at < now else "open_not_due"] += 1
        else:
            promises[promise.state] += 1
    escalations = [
        escalation for escalation in db.session.scalars(select(Escalation))
        if escalation.case_id in counted_ids
    ]
    return Expected(
        cells=dict(cells),
        risk=risk,
        handoffs=handoffs,
        handoff_total=handoff_total,
        promises=promises,
        ratings=ratings,
        pending=[e for e in escalations if e.status == EscalationStatus.PENDING],
        proposed=sum(e.status == EscalationStatus.PROPOSED for e in escalations),
    )


def summed(cells: dict, measure: str, position: int | None = None, key=None) -> Share:
    kept = counted = 0
    for (each_measure, *where), (cell_kept, cell_counted) in cells.items():
        if each_measure == measure and (position is None or where[position] == key):
            kept, counted = kept + cell_kept, counted + cell_counted
    return Share(kept, counted)


def assert_dashboard_matches(board, expected: Expected) -> None:
    measures = ("acknowledge", "first_response", "resolve", "update")
    for measure in measures:
        assert board.compliance_total.shares[measure] == summed(expected.cells, measure), measure
    teams = {key[1] for key in expected.cells}
    assert {row.key for row in board.compliance_by_team} == teams
    for row in board.compliance_by_team:
        for measure in measures:
            assert row.shares[measure] == summed(expected.cells, measure, 0, row.key)
    categories = {key[2] for key in expected.cells}
    assert {row.key for row in board.compliance_by_category} == categories
    for row in board.compliance_by_category:
        for measure in measures:
            assert row.shares[measure] == summed(expected.cells, measure, 1, row.key)

    assert {row.team_id: (row.open, row.at_risk, row.breached) for row in board.risk} \
        == expected.risk

    assert board.handoffs.cases == sum(expected.handoffs.values())
    assert board.handoffs.total == expected.handoff_total
    assert board.handoffs.distribution == {
        "0": expected.handoffs[0], "1": expected.handoffs[1], "2": expected.handoffs[2],
        "3+": expected.handoffs[3],
    }

    assert (board.promises.kept, board.promises.broken, board.promises.open_overdue,
            board.promises.open_not_due) == (
        expected.promises["kept"], expected.promises["broken"],
        expected.promises["open_overdue"], expected.promises["open_not_due"],
    )

    assert board.ratings.counts == {rating: expected.ratings[rating] for rating in range(1, 6)}

    assert board.approvals.count == len(expected.pending)
    assert board.approvals.oldest_requested_at == min(
        (e.created_at for e in expected.pending), default=None
    )
    assert board.approvals.by_level == {
        level: sum(e.level == level for e in expected.pending) for level in (1, 2)
    }
    assert board.approvals.proposed == expected.proposed


# --- A small data set with known outcomes -----------------------------------------------------


def make_case(org, category, *, created, ack_due, first_due, resolve_due, status,
              acknowledged=None, responded=None, resolved=None, closed=None, rating=None,
              rated=None, next_update=None, handoffs=0, merged_into=None, owner=None):
    case = factories.case_owned_by(owner or org.sam, category,
                                   email=f"customer{category.id}-{created:%d%H}@example.com")
    for name, value in {
        "created_at": created, "acknowledge_due_at": ack_due, "first_response_due_at": first_due,
        "resolve_due_at": resolve_due, "status": status, "acknowledged_at": acknowledged,
        "first_responded_at": responded, "resolved_at": resolved, "closed_at": closed,
        "rating": rating, "rated_at": rated, "next_update_due_at": next_update,
        "handoff_count": handoffs, "merged_into": merged_into,
    }.items():
        setattr(case, name, value)
    return case


def promise(case, org, due, state):
    db.session.add(Commitment(case=case, description="We will call you", due_at=due, state=state,
                              made_by_id=org.sam.id, created_at=due - timedelta(days=1)))


def escalation(case, org, status, level, created):
    db.session.add(Escalation(case=case, status=status, level=level, reason="Needs more help",
                              requested_by_id=org.sam.id, created_at=created))


@pytest.fixture
def known(org, frozen_now):
    """Two teams (care: delivery and "something else"; billing: bills), with known outcomes,
    as they stand at NOW: the clock stops there for the whole test."""
    frozen_now(NOW)
    care, bills = org.delivery, org.bills
    cases = {
        # Acknowledged in time, replied late, put right in time; rated 5; a promise kept.
        "A": make_case(org, care, created=at(2, 9), ack_due=at(2, 13), acknowledged=at(2, 12),
                       first_due=at(4), responded=at(5), resolve_due=at(12), resolved=at(10),
                       closed=at(11), rating=5, rated=at(11), status=CaseStatus.CLOSED),
        # Acknowledged late, no reply past due (breached), resolution due after the period;
        # two hand-offs; a promise broken and one open past its time; waiting for approval.
        "B": make_case(org, org.other, created=at(3, 9), ack_due=at(3, 13), acknowledged=at(4),
                       first_due=at(6), resolve_due=at(30), next_update=at(17),
                       handoffs=2, status=CaseStatus.IN_PROGRESS),
        # Billing: in time twice, put right late, rated 2 on the last day; one hand-off.
        "C": make_case(org, bills, created=at(10, 9), ack_due=at(10, 13), acknowledged=at(10),
                       first_due=at(12), responded=at(12, 10), resolve_due=at(17),
                       resolved=at(18, 11), closed=at(18, 11), rating=2, rated=at(18, 11),
                       handoffs=1, status=CaseStatus.CLOSED),
        # Billing, raised before the period: resolution missed in it, still open (breached).
        "D": make_case(org, bills, created=at(20, 9, 10), ack_due=at(20, 13, 10),
                       acknowledged=at(20, 10, 10), first_due=at(22, 12, 10),
                       responded=at(21, 12, 10), resolve_due=at(5), next_update=at(25),
                       handoffs=3, status=CaseStatus.IN_PROGRESS),
        # Raised today, acknowledgement due in an hour: at risk, not counted yet.
        "E": make_case(org, care, created=at(18, 10), ack_due=at(18, 13), first_due=at(20),
                       resolve_due=at(2, 12, 12), next_update=at(18, 13), status=CaseStatus.NEW),
        # Not acknowledged (breached), full reply due tomorrow morning (at risk too).
        "H": make_case(org, care, created=at(15, 9), ack_due=at(16, 13), first_due=at(19, 10),
                       resolve_due=at(27), next_update=at(16, 13), handoffs=4,
                       status=CaseStatus.NEW),
        # Rated in October: outside the period.
        "G": make_case(org, bills, created=at(1, 9, 10), ack_due=at(1, 13, 10),
                       acknowledged=at(1, 10, 10), first_due=at(3, 12, 10),
                       responded=at(2, 12, 10), resolve_due=at(13, 12, 10),
                       resolved=at(10, 12, 10), closed=at(14, 12, 10), rating=1,
                       rated=at(15, 12, 10), status=CaseStatus.CLOSED),
        # Raised in October, put right in time early in the period, rated just after midnight
        # on its first day.
        "I": make_case(org, bills, created=at(27, 9, 10), ack_due=at(27, 13, 10),
                       acknowledged=at(27, 10, 10), first_due=at(29, 12, 10),
                       responded=at(28, 12, 10), resolve_due=at(3), resolved=at(31, 12, 10),
                       closed=at(1, 0), rating=5, rated=datetime(2026, 11, 1, 0, 30, tzinfo=UTC),
                       status=CaseStatus.CLOSED),
    }
    # A duplicate merged into A, acknowledged late: left out of every figure.
    cases["F"] = make_case(org, care, created=at(5, 9), ack_due=at(5, 13), acknowledged=at(6),
                           first_due=at(7), resolve_due=at(15), closed=at(6), handoffs=5,
                           rating=1, rated=at(6), merged_into=cases["A"],
                           status=CaseStatus.CLOSED)
    promise(cases["A"], org, at(8), CommitmentState.KEPT)
    promise(cases["B"], org, at(7), CommitmentState.BROKEN)
    promise(cases["B"], org, at(10), CommitmentState.OPEN)
    promise(cases["E"], org, at(18, 15), CommitmentState.OPEN)
    promise(cases["D"], org, at(25, 12, 10), CommitmentState.KEPT)  # before the period
    promise(cases["C"], org, at(30), CommitmentState.OPEN)  # after it
    promise(cases["F"], org, at(9), CommitmentState.BROKEN)  # on the duplicate
    escalation(cases["B"], org, EscalationStatus.PENDING, 1, at(16))
    escalation(cases["D"], org, EscalationStatus.PENDING, 2, at(14))
    escalation(cases["C"], org, EscalationStatus.APPROVED, 1, at(12))
    escalation(cases["H"], org, EscalationStatus.PROPOSED, 1, at(17))
    escalation(cases["F"], org, EscalationStatus.PENDING, 1, at(10))  # on the duplicate
    services.commit()
    return cases


def test_the_figures_of_a_known_data_set(org, known):
    board = build_dashboard(NOVEMBER, now=NOW)

    # Counted by hand from the cases above, so the plain-Python recount is checked too.
    total = board.compliance_total.shares
    assert total["acknowledge"] == Share(2, 4)  # A, C in time; B late; H missed; E not yet
    assert total["first_response"] == Share(1, 3)  # C; A late; B missed; H, E due later
    assert total["resolve"] == Share(2, 4)  # A, I in time; C late; D missed
    assert total["update"] == Share(2, 4)  # D, E not overdue; B, H overdue
    by_team = {row.label: row.shares for row in board.compliance_by_team}
    assert by_team["Customer care"]["acknowledge"] == Share(1, 3)
    assert by_team["Billing"]["resolve"] == Share(1, 3)
    by_category = {row.label: row.shares for row in board.compliance_by_category}
    assert by_category["Delivery"]["acknowledge"] == Share(1, 2)
    assert by_category["Something else"]["first_response"] == Share(0, 1)
    assert {row.label: (row.open, row.at_risk, row.breached) for row in board.risk} == {
        "Customer care": (3, 2, 2),  # B breached; E at risk; H both
        "Billing": (1, 0, 1),
    }
    assert board.handoffs.distribution == {"0": 2, "1": 1, "2": 1, "3+": 1}
    assert board.handoffs.average == pytest.approx(7 / 5)
    assert (board.promises.kept, board.promises.broken, board.promises.open_overdue,
            board.promises.open_not_due) == (1, 1, 1, 1)
    assert board.ratings.counts == {1: 0, 2: 1, 3: 0, 4: 0, 5: 2}
    assert board.ratings.average == pytest.approx(4.0)
    assert (board.approvals.count, board.approvals.oldest_requested_at,
            board.approvals.proposed) == (2, at(14), 1)

    assert_dashboard_matches(board, recount(NOVEMBER.first_day, NOVEMBER.last_day, NOW))


@pytest.mark.parametrize("team", ["care", "billing"])
def test_the_team_filter_keeps_only_that_teams_cases(org, known, team):
    team_id = getattr(org, team).id
    board = build_dashboard(NOVEMBER, team_id=team_id, now=NOW)

    assert_dashboard_matches(board, recount(NOVEMBER.first_day, NOVEMBER.last_day, NOW, team_id))
    assert [row.team_id for row in board.risk] == [team_id]


def test_a_period_ends_at_midnight_after_its_last_day(org, known):
    # Ending on the 17th leaves out C's rating (the 18th) but keeps I's (00:30 on the 1st).
    board = build_dashboard(Period(date(2026, 11, 1), date(2026, 11, 17), LONDON), now=NOW)

    assert board.ratings.counts == {1: 0, 2: 0, 3: 0, 4: 0, 5: 2}
    assert_dashboard_matches(board, recount(date(2026, 11, 1), date(2026, 11, 17), NOW))


def test_a_period_in_summer_starts_at_midnight_uk_time():
    summer = Period(date(2026, 7, 1), date(2026, 7, 31), LONDON)

    assert summer.starts_at == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert summer.ends_at == datetime(2026, 7, 31, 23, 0, tzinfo=UTC)
    assert summer.days == 31


# --- A seeded data set ------------------------------------------------------------------------

SEEDED_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_the_figures_of_a_seeded_data_set(app):
    seed_database(300, seed=11, now=SEEDED_NOW)
    today = SEEDED_NOW.astimezone(LONDON).date()

    for days in (30, 366):
        period = Period.last_days(today, days, LONDON)
        board = build_dashboard(period, now=SEEDED_NOW)
        expected = recount(period.first_day, period.last_day, SEEDED_NOW)
        assert_dashboard_matches(board, expected)
    # The seeded data has something in every figure, so the comparison means something.
    assert board.compliance_total.shares["resolve"].counted > 50
    assert board.risk and board.ratings.count and board.promises.total
    assert board.handoffs.distribution["1"] > 0

    team_id = board.risk[0].team_id
    board = build_dashboard(period, team_id=team_id, now=SEEDED_NOW)
    assert_dashboard_matches(board, recount(period.first_day, period.last_day, SEEDED_NOW,
                                            team_id))


def figures_on(page: str) -> dict:
    """The period's figures as the page words them."""
    raised = re.search(r"The ([\d,]+) cases? raised in the period changed owner [\d.]+ times"
                       r" on average \(([\d,]+) hand-offs? in all\)", page)
    kept = re.search(r"Kept within their time frames over the period: (.+?)\.", page)
    promises = re.search(r"([\d,]+) of the ([\d,]+) promises? due in the period (?:was|were)"
                         r" kept and ([\d,]+) broken", page)
    rated = re.search(r"([\d,]+) customers? rated their case in the period", page)
    return {
        "raised, handed off": raised.groups(),
        "kept": kept.group(1),
        "promises kept, due, broken": promises.groups(),
        "rated": rated.group(1),
    }


def figures_expected(expected: Expected) -> dict:
    """The same figures from the plain-Python recount, in the page's words."""
    shares = {measure: summed(expected.cells, measure) for measure in FRAMES}
    return {
        "raised, handed off": (f"{sum(expected.handoffs.values()):,}",
                               f"{expected.handoff_total:,}"),
        "kept": (f"{share_words(shares['acknowledge'], 'acknowledgements')},"
                 f" {share_words(shares['first_response'], 'full replies')}"
                 f" and {share_words(shares['resolve'], 'cases put right')}"),
        "promises kept, due, broken": (f"{expected.promises['kept']:,}",
                                       f"{expected.promises.total():,}",
                                       f"{expected.promises['broken']:,}"),
        "rated": f"{expected.ratings.total():,}",
    }


def test_the_page_runs_the_same_number_of_statements_at_two_sizes(app, login_as, count_queries,
                                                                   frozen_now):
    frozen_now(SEEDED_NOW)  # the seeded data spreads over the year before this moment
    seed_database(40, seed=3)
    manager = db.session.scalar(select(User).where(User.email == "morgan@example.com"))
    client = login_as(manager)
    first, last = date(2025, 11, 23), date(2026, 11, 23)  # the longest period: 366 days

    def statements_and_figures():
        db.session.expire_all()
        with count_queries() as statements:
            response = client.get(f"/staff/dashboard?start={first}&end={last}")
        assert response.status_code == 200
        expected = recount(first, last, SEEDED_NOW)
        assert figures_on(text_of(response)) == figures_expected(expected)
        return len(statements), expected

    with_few, few = statements_and_figures()
    seed_database(260, seed=4, append=True)
    with_many, many = statements_and_figures()

    # The period holds the seeded data: every figure counts something, and more of it later.
    assert 0 < sum(few.handoffs.values()) < sum(many.handoffs.values())
    assert 0 < summed(few.cells, "resolve").counted < summed(many.cells, "resolve").counted
    assert 0 < few.promises.total() < many.promises.total()
    assert 0 < few.ratings.total() < many.ratings.total()
    assert with_many == with_few
    assert with_few <= 16


# --- The page ---------------------------------------------------------------------------------


def test_signed_out_people_are_sent_to_sign_in(client, org):
    response = client.get("/staff/dashboard")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


def test_customers_and_agents_may_not_see_the_dashboard(org, login_as):
    customer = factories.make_customer()
    db.session.commit()

    assert login_as(customer).get("/staff/dashboard").status_code == 403
    assert login_as(org.sam).get("/staff/dashboard").status_code == 403


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_admins_see_the_dashboard_in_their_navigation(org, login_as, who):
    page = login_as(getattr(org, who)).get("/staff/")

    assert 'href="/staff/dashboard"' in page.get_data(as_text=True)
    assert login_as(getattr(org, who)).get("/staff/dashboard").status_code == 200


def test_agents_have_no_dashboard_link(org, login_as):
    assert 'href="/staff/dashboard"' not in login_as(org.sam).get("/staff/").get_data(as_text=True)


def test_the_page_shows_each_chart_with_its_numbers_as_a_table(org, known, login_as):
    # The known cases are dated November 2026: ask for that period.
    response = login_as(org.manager).get(
        f"/staff/dashboard?start=2026-11-01&end=2026-11-18&team={org.care.id}"
    )
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    for chart_id in ("chart-risk", "chart-compliance-team", "chart-compliance-category",
                     "chart-handoffs", "chart-promises", "chart-ratings"):
        assert re.search(rf'<svg [^>]*role="img"[^>]*id="{chart_id}"', html)
        assert f'aria-labelledby="{chart_id}-caption"' in html
    assert '<th scope="col">Team</th>' in html
    assert '<th scope="row">Customer care</th>' in html
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    text = text_of(response)
    assert "Showing Customer care, 1 November 2026 to 18 November 2026 (18 days)." in text
    assert "How these are counted" in text
    assert ("1 escalation is waiting for a decision. The oldest was requested on Monday"
            " 16 November, 12:00 UK time.") in text
    assert "1 more was proposed for cases at risk" in text
    # At NOW, Customer care acknowledged A in time, B late, H not at all; replied to A late and
    # B not at all; put A right in time; and of B, E and H only E is not overdue an update.
    shares = ("33 % (1 of 3)", "0 % (0 of 2)", "100 % (1 of 1)", "33 % (1 of 3)")
    cells = "".join(rf'\s*<td class="num">{re.escape(share)}</td>' for share in shares)
    assert re.search(rf'<th scope="row">Customer care</th>{cells}', html)
    # The start date and team typed are kept in the form.
    assert 'value="2026-11-01"' in html
    assert f'<option selected value="{org.care.id}">' in html


def test_the_page_says_so_in_words_when_there_is_nothing_to_show(org, login_as):
    text = text_of(login_as(org.manager).get("/staff/dashboard"))

    assert "No escalation is waiting for a decision." in text
    assert "There are no open cases." in text
    assert "No time frame fell due in this period, and there are no open cases." in text
    assert "No case was raised in this period." in text
    assert "No promise to a customer fell due in this period." in text
    assert "No customer rated their case in this period." in text
    assert "<svg" not in text


@pytest.mark.parametrize(
    ("moment", "first", "last", "words"),
    [
        (datetime(2026, 11, 18, 10, 0, tzinfo=UTC), "2026-10-20", "2026-11-18",
         "20 October 2026 to 18 November 2026 (30 days)"),
        # Already 1 August in the UK.
        (datetime(2026, 7, 31, 23, 30, tzinfo=UTC), "2026-07-03", "2026-08-01",
         "3 July 2026 to 1 August 2026 (30 days)"),
    ],
)
def test_the_default_period_is_the_last_30_days_in_uk_time(org, login_as, frozen_now, moment,
                                                           first, last, words):
    frozen_now(moment)

    response = login_as(org.manager).get("/staff/dashboard")
    html = response.get_data(as_text=True)

    assert f'id="start" name="start" type="date" value="{first}"' in html
    assert f'id="end" name="end" type="date" value="{last}"' in html
    assert f"Showing all teams, {words}." in text_of(response)


@pytest.mark.parametrize(
    ("query", "field_id", "message"),
    [
        ("start=2026-11-20&end=2026-11-10", "end",
         "The last day must be the same as or after the first day"),
        ("start=2025-01-01&end=2026-11-10", "end",
         "Choose a period of at most 366 days; this one is 679"),
        ("start=31/02/2026&end=2026-11-10", "start",
         "Enter the first day as a date, like 2026-11-01"),
        ("start=2026-11-01&end=", "end", "Enter the last day as a date, like 2026-11-30"),
        ("start=2026-11-01&end=2026-11-10&team=999", "team",
         "Choose a team from the list, or All teams"),
        ("start=2026-11-01&end=2026-11-10&team=billing", "team",
         "Choose a team from the list, or All teams"),
    ],
)
def test_a_wrong_period_is_explained_and_what_was_typed_kept(org, login_as, query, field_id,
                                                             message):
    response = login_as(org.manager).get(f"/staff/dashboard?{query}")
    html = text_of(response)

    assert response.status_code == 422
    assert message in error_summary(html)
    assert message in field_block(html, field_id)
    assert "Correct the period above to see the figures." in html
    start = re.search(r"start=([^&]*)", query).group(1)
    assert f'value="{start}"' in html


def test_dates_typed_day_first_are_understood(org, login_as):
    response = login_as(org.manager).get("/staff/dashboard?start=01/11/2026&end=18/11/2026")

    assert response.status_code == 200
    assert "1 November 2026 to 18 November 2026 (18 days)" in text_of(response)
    assert 'value="2026-11-01"' in response.get_data(as_text=True)


# --- Charts and their words -------------------------------------------------------------------


def test_a_share_never_rounds_to_all_or_nothing():
    assert percent_words(Share(999, 1000)) == "99 % (999 of 1,000)"
    assert percent_words(Share(1, 1000)) == "1 % (1 of 1,000)"
    assert percent_words(Share(5, 5)) == "100 % (5 of 5)"
    assert percent_words(Share(0, 3)) == "0 % (0 of 3)"
    assert percent_words(Share(0, 0)) == "none due"


def test_bar_values_stay_inside_the_picture_and_names_are_escaped():
    chart = charts.ChartData(
        chart_id="chart-test", title="Kept", description="Shares kept.",
        series=("Acknowledged in time", "Put right in time"),
        groups=(
            charts.Group("R&D <north>", (charts.Point(100, "100 % (100,000 of 100,000)"),
                                         charts.Point(None, "none due"))),
        ),
        maximum=100, row_heading="Team",
    )
    svg = str(charts.horizontal_bar_chart(chart))

    assert "R&amp;D &lt;north&gt;" in svg
    values = re.findall(r'<text x="([\d.]+)"[^>]*class="chart__value[^"]*"[^>]*>([^<]*)</text>',
                        svg)
    assert len(values) == 2
    for x, words in values:
        assert float(x) + charts.CHARACTER_WIDTH * len(words) <= charts.WIDTH
    with pytest.raises(ValueError, match="2 points for 1 series"):
        charts.ChartData("c", "t", "d", ("one",), (charts.Group("g", chart.groups[0].points),))


def test_the_link_to_the_approvals_is_only_for_those_who_decide(org, login_as):
    # Morgan decides team-manager requests; Ada is an admin without an approval level, for
    # whom the approvals page would answer 403.
    assert "Go to the approvals" in login_as(org.manager).get("/staff/dashboard").get_data(
        as_text=True)
    assert "Go to the approvals" not in login_as(org.admin).get("/staff/dashboard").get_data(
        as_text=True)
    assert login_as(org.admin).get("/staff/approvals").status_code == 403
