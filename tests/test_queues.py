"""The staff queues: what each holds, counts, order, pages, filters, htmx and bounded SQL."""

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from shared import queues
from shared.demo import standard_service_level, uk_calendar
from shared.extensions import db
from shared.models import (
    Case,
    CaseStatus,
    Category,
    Commitment,
    CommitmentState,
    Holiday,
    Priority,
    utcnow,
)
from shared.models.service_levels import read_settings_stamp
from tests import factories

# A Monday morning in UK winter time (UTC = London), far from bank holidays.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FAR = NOW + timedelta(days=60)
HTMX_RESULTS = {"HX-Request": "true", "HX-Target": "queue-results"}


def make_case(org, owner=None, *, category=None, team=None, status=CaseStatus.IN_PROGRESS,
              description="My parcel arrived crushed.", email="alex@example.com", **fields):
    """An open case with every time frame far ahead, then the given fields on top."""
    case = factories.raise_case(category or org.delivery, email=email, description=description)
    case.owner = owner or org.sam
    case.team = team or (case.owner.team or org.care)
    case.status = status
    case.acknowledge_due_at = case.first_response_due_at = case.resolve_due_at = FAR
    case.next_update_due_at = FAR
    for name, value in fields.items():
        setattr(case, name, value)
    db.session.flush()
    return case


def viewer_of(user, now=NOW):
    return queues.viewer_for(user, queues.load_calendars(), now=now)


def in_queue(key, user, now=NOW) -> set[str]:
    return {case.reference for case in db.session.scalars(
        queues.queue_select(key, viewer_of(user, now)))}


def refs(*cases) -> set[str]:
    return {case.reference for case in cases}


# --- What each queue holds ----------------------------------------------------------------------


def test_my_cases_are_the_open_cases_i_own(org):
    mine = make_case(org, org.sam)
    waiting = make_case(org, org.sam, status=CaseStatus.WAITING_ON_CUSTOMER)
    make_case(org, org.sam, status=CaseStatus.RESOLVED, resolved_at=NOW)
    make_case(org, org.priya)

    assert in_queue("mine", org.sam) == refs(mine, waiting)


def test_my_team_holds_the_open_cases_of_my_team(org):
    sams = make_case(org, org.sam)
    priyas = make_case(org, org.priya)
    make_case(org, org.jo, team=org.billing)
    make_case(org, org.priya, status=CaseStatus.CLOSED, resolved_at=NOW, closed_at=NOW)

    assert in_queue("team", org.sam) == refs(sams, priyas)


def test_someone_without_a_team_has_an_empty_team_queue(org):
    make_case(org, org.sam)
    assert org.admin.team_id is None
    assert in_queue("team", org.admin) == set()


def test_going_silent_holds_open_cases_whose_next_update_is_overdue(org):
    silent = make_case(org, next_update_due_at=NOW - timedelta(minutes=1))
    make_case(org, next_update_due_at=NOW + timedelta(minutes=1))
    make_case(org, status=CaseStatus.RESOLVED, resolved_at=NOW - timedelta(days=1),
              next_update_due_at=NOW - timedelta(days=3))

    assert in_queue("silent", org.sam) == refs(silent)


def test_at_risk_holds_an_unmet_time_frame_due_by_the_end_of_the_next_business_day(org):
    # Monday 10:00: the next business day ends on Tuesday at 17:00.
    tuesday_close = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    due_today = make_case(org, acknowledge_due_at=NOW + timedelta(hours=2))
    due_tuesday = make_case(org, resolve_due_at=tuesday_close)
    make_case(org, resolve_due_at=tuesday_close + timedelta(minutes=1))
    # A met time frame is not at risk, however close its date.
    make_case(org, first_response_due_at=NOW + timedelta(hours=1), first_responded_at=NOW)
    # Already past: breached, not at risk.
    make_case(org, acknowledge_due_at=NOW - timedelta(hours=1))

    assert in_queue("at-risk", org.sam) == refs(due_today, due_tuesday)


def test_at_risk_counts_business_days_in_each_cases_own_calendar(org):
    # A second calendar closed on Tuesday: its next business day is Wednesday.
    calendar = uk_calendar()
    calendar.name = "Closed on Tuesday"
    calendar.holidays.append(Holiday(day=date(2026, 11, 24), name="Staff training day"))
    level = standard_service_level(calendar)
    level.name = "Training week"
    training = Category(name="Training week", default_team=org.care, service_level=level)
    db.session.add(training)
    wednesday_noon = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    in_training_calendar = make_case(org, category=training, resolve_due_at=wednesday_noon)
    make_case(org, resolve_due_at=wednesday_noon)  # the standard calendar: Wednesday is later

    assert in_queue("at-risk", org.sam) == refs(in_training_calendar)


def test_breached_holds_unmet_time_frames_past_due_not_late_met_ones(org):
    unacknowledged = make_case(org, acknowledge_due_at=NOW - timedelta(minutes=5))
    past_resolution = make_case(org, resolve_due_at=NOW - timedelta(days=2))
    make_case(org, acknowledge_due_at=NOW - timedelta(days=1),
              acknowledged_at=NOW - timedelta(hours=2))  # late, but done
    make_case(org, status=CaseStatus.RESOLVED, resolve_due_at=NOW - timedelta(days=9),
              resolved_at=NOW - timedelta(days=2))

    assert in_queue("breached", org.sam) == refs(unacknowledged, past_resolution)


def test_waiting_on_customer_holds_cases_waiting_for_a_reply(org):
    waiting = make_case(org, org.priya, status=CaseStatus.WAITING_ON_CUSTOMER)
    make_case(org, org.sam)

    assert in_queue("waiting", org.sam) == refs(waiting)


def test_unassigned_holds_the_open_cases_of_deactivated_owners(org):
    leaver = factories.make_user("leaver@example.com", "Lee Leaver", "agent", org.care)
    orphan = make_case(org, leaver)
    make_case(org, leaver, status=CaseStatus.CLOSED, resolved_at=NOW, closed_at=NOW)
    make_case(org, org.sam)
    leaver.active = False
    db.session.flush()

    assert in_queue("unassigned", org.sam) == refs(orphan)


def test_recently_closed_holds_cases_resolved_or_closed_in_the_last_14_days(org):
    resolved = make_case(org, status=CaseStatus.RESOLVED, resolved_at=NOW - timedelta(days=3))
    closed_late = make_case(org, status=CaseStatus.CLOSED, resolved_at=NOW - timedelta(days=20),
                            closed_at=NOW - timedelta(days=2))
    make_case(org, status=CaseStatus.CLOSED, resolved_at=NOW - timedelta(days=30),
              closed_at=NOW - timedelta(days=15))
    make_case(org)

    assert in_queue("closed", org.sam) == refs(resolved, closed_late)


def _promise(case, due_at, state=CommitmentState.OPEN):
    db.session.add(Commitment(case=case, description="We will call you", due_at=due_at,
                              state=state, made_by=case.owner))


def test_promises_overdue_holds_my_open_cases_with_an_open_promise_past_due(org):
    overdue = make_case(org, org.sam)
    _promise(overdue, NOW - timedelta(hours=1))
    kept = make_case(org, org.sam)
    _promise(kept, NOW - timedelta(hours=1), CommitmentState.KEPT)
    later = make_case(org, org.sam)
    _promise(later, NOW + timedelta(hours=1))
    someone_elses = make_case(org, org.priya)
    _promise(someone_elses, NOW - timedelta(hours=1))
    db.session.flush()

    assert in_queue("promises", org.sam) == refs(overdue)
    assert in_queue("promises", org.priya) == refs(someone_elses)


def test_all_counts_come_from_one_statement_and_match_the_queues(org, count_queries):
    make_case(org, org.sam, acknowledge_due_at=NOW - timedelta(hours=1))
    make_case(org, org.sam, next_update_due_at=NOW - timedelta(hours=1))
    make_case(org, org.priya, status=CaseStatus.WAITING_ON_CUSTOMER,
              resolve_due_at=NOW + timedelta(hours=3))
    make_case(org, org.jo, team=org.billing, status=CaseStatus.RESOLVED,
              resolved_at=NOW - timedelta(days=1))
    db.session.commit()
    viewer = viewer_of(org.sam)
    read_settings_stamp(db.session)  # read once per request by then

    with count_queries() as statements:
        counts = queues.queue_counts(viewer)

    assert len(statements) == 1
    expected = {key: len(in_queue(key, org.sam)) for key, q in queues.QUEUES.items() if q.counted}
    assert counts == expected
    assert counts["mine"] == 2 and counts["waiting"] == 1 and counts["closed"] == 1


def test_shared_counts_are_reused_briefly_and_the_viewers_own_are_always_live(org):
    make_case(org, org.sam, resolve_due_at=NOW - timedelta(hours=1))
    waiting = make_case(org, org.priya, status=CaseStatus.WAITING_ON_CUSTOMER)
    db.session.commit()
    first = queues.queue_counts(viewer_of(org.sam))
    assert first["breached"] == 1 and first["waiting"] == 1 and first["mine"] == 1

    # Another process changes cases: this one's shared counts stay as they were, briefly...
    with db.engine.begin() as other_process:
        other_process.execute(
            update(Case).where(Case.id == waiting.id).values(status=CaseStatus.IN_PROGRESS)
        )
        other_process.execute(
            update(Case).where(Case.owner_id == org.sam.id).values(resolve_due_at=FAR)
        )
        other_process.execute(update(Case).where(Case.id == waiting.id).values(owner_id=org.sam.id))
    db.session.expire_all()
    seconds_later = queues.queue_counts(viewer_of(org.sam, NOW + timedelta(seconds=5)))
    assert seconds_later["breached"] == 1 and seconds_later["waiting"] == 1
    assert seconds_later["mine"] == 2  # ...but the viewer's own queues are counted afresh

    # ...until they are older than the maximum age,
    later = NOW + queues.SHARED_COUNTS_MAX_AGE
    assert queues.queue_counts(viewer_of(org.sam, later))["breached"] == 0
    assert queues.queue_counts(viewer_of(org.sam, later))["waiting"] == 0

    # or this process changes a case itself: then they are counted again at once.
    make_case(org, org.priya, status=CaseStatus.WAITING_ON_CUSTOMER)
    db.session.commit()
    assert queues.queue_counts(viewer_of(org.sam, later))["waiting"] == 1


def test_counts_taken_beside_uncommitted_changes_are_not_kept_for_others(org):
    db.session.commit()
    before = queues.queue_counts(viewer_of(org.sam))["waiting"]

    make_case(org, org.priya, status=CaseStatus.WAITING_ON_CUSTOMER)  # flushed, not committed
    assert queues.queue_counts(viewer_of(org.sam))["waiting"] == before + 1
    db.session.rollback()

    assert queues.queue_counts(viewer_of(org.sam))["waiting"] == before


def test_the_next_due_time_is_the_earliest_unmet_time_frame(org):
    acknowledge_first = make_case(org, acknowledge_due_at=NOW + timedelta(hours=1),
                                  first_response_due_at=NOW + timedelta(days=1),
                                  resolve_due_at=NOW + timedelta(days=5))
    acknowledged = make_case(org, acknowledge_due_at=NOW + timedelta(hours=1), acknowledged_at=NOW,
                             first_response_due_at=NOW + timedelta(days=1),
                             resolve_due_at=NOW + timedelta(days=5))
    only_resolution = make_case(org, acknowledge_due_at=NOW, acknowledged_at=NOW,
                                first_response_due_at=NOW, first_responded_at=NOW,
                                resolve_due_at=NOW + timedelta(days=5))
    due = dict(db.session.execute(select(Case.id, queues.NEXT_DUE)).all())

    assert due[acknowledge_first.id] == NOW + timedelta(hours=1)
    assert due[acknowledged.id] == NOW + timedelta(days=1)
    assert due[only_resolution.id] == NOW + timedelta(days=5)


# --- One page: order, cursor, filters -----------------------------------------------------------


def page_of(key, user, args=None, page_size=queues.PAGE_SIZE, now=NOW):
    calendars = queues.load_calendars()
    options = queues.load_filter_options()
    filters = queues.parse_filters(args or {}, options)
    return queues.queue_page(key, queues.viewer_for(user, calendars, now=now), filters,
                             calendars=calendars, category_calendars=options.category_calendars,
                             page_size=page_size)


def test_rows_come_next_due_first(org):
    later = make_case(org, resolve_due_at=NOW + timedelta(days=3))
    soonest = make_case(org, acknowledge_due_at=NOW + timedelta(hours=1))
    overdue = make_case(org, first_response_due_at=NOW - timedelta(days=1))

    rows = page_of("mine", org.sam).rows

    assert [row.reference for row in rows] == [
        overdue.reference, soonest.reference, later.reference
    ]


def test_keyset_pages_walk_every_case_once_in_order(org):
    same_time = NOW + timedelta(days=2)
    cases = [make_case(org, resolve_due_at=same_time if n % 2 else NOW + timedelta(hours=n))
             for n in range(7)]
    expected = [row.reference for row in page_of("mine", org.sam, page_size=50).rows]
    assert sorted(expected) == sorted(c.reference for c in cases)

    seen, cursor, pages = [], None, 0
    while True:
        page = page_of("mine", org.sam, {"after": cursor} if cursor else {}, page_size=2)
        seen += [row.reference for row in page.rows]
        pages += 1
        assert page.is_first_page == (cursor is None)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == expected
    assert pages == 4


def walk_pages(key, user, page_size) -> list[str]:
    """Every row of a queue, page after page through the cursors."""
    seen, cursor = [], None
    while True:
        page = page_of(key, user, {"after": cursor} if cursor else {}, page_size=page_size)
        seen += [row.reference for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            return seen


def test_at_risk_pages_walk_each_case_once_in_next_due_order(org):
    soon = NOW + timedelta(hours=1)
    # Breached on one frame and at risk on another: it comes first, by its breached frame.
    breached_too = make_case(org, acknowledge_due_at=NOW - timedelta(hours=3),
                             resolve_due_at=soon + timedelta(hours=4))
    # Two frames due soon: listed once, by the earlier.
    twice = make_case(org, first_response_due_at=soon + timedelta(hours=2),
                      resolve_due_at=soon + timedelta(hours=3))
    same_time = [make_case(org, acknowledge_due_at=soon) for _ in range(3)]
    met_soon = make_case(org, first_response_due_at=soon - timedelta(minutes=30),
                         first_responded_at=NOW, resolve_due_at=soon + timedelta(hours=5))
    make_case(org, resolve_due_at=NOW + timedelta(days=20))  # not at risk
    make_case(org, resolve_due_at=soon, status=CaseStatus.RESOLVED, resolved_at=None)
    expected = [breached_too, *sorted(same_time, key=lambda c: c.id), twice, met_soon]

    whole = page_of("at-risk", org.sam)
    seen = walk_pages("at-risk", org.sam, page_size=2)

    assert [row.reference for row in whole.rows] == [c.reference for c in expected]
    assert seen == [c.reference for c in expected]
    # The same queue, filtered, is read the other way: the same order.
    filtered = page_of("at-risk", org.sam, {"team": str(org.care.id)})
    assert [row.reference for row in filtered.rows] == [c.reference for c in expected]


def test_at_risk_pages_match_the_queue_for_cases_in_every_mix_of_time_frames(org):
    """The page reads only the first entries of each time frame's range: compare it with the
    queue's plain condition over many cases whose frames are met, missed, due soon or far."""
    pick = random.Random(7)
    moments = [NOW + timedelta(hours=hours) for hours in (-30, -2, 1, 1, 5, 20, 29, 80)]
    statuses = [CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.WAITING_ON_CUSTOMER,
                CaseStatus.RESOLVED]
    for _ in range(60):
        fields = {due: pick.choice(moments) for _label, due, _met in queues.TIME_FRAMES}
        for _label, _due, met in queues.TIME_FRAMES[:2]:
            if pick.random() < 0.4:
                fields[met] = NOW - timedelta(hours=1)
        status = pick.choice(statuses)
        if status == CaseStatus.RESOLVED:
            fields["resolved_at"] = NOW - timedelta(hours=1)
        make_case(org, pick.choice([org.sam, org.priya]), status=status, **fields)
    db.session.commit()

    next_due = dict(db.session.execute(select(Case.id, queues.NEXT_DUE)).all())
    in_risk = db.session.scalars(queues.queue_select("at-risk", viewer_of(org.sam))).all()
    expected = [case.reference
                for case in sorted(in_risk, key=lambda case: (next_due[case.id], case.id))]
    assert len(expected) > 10

    seen = walk_pages("at-risk", org.sam, page_size=3)
    assert seen == expected
    assert [row.reference for row in page_of("at-risk", org.sam).rows] == expected


def test_the_recently_closed_queue_pages_newest_first(org):
    closed = [make_case(org, status=CaseStatus.RESOLVED, resolved_at=NOW - timedelta(hours=n))
              for n in range(5)]
    first = page_of("closed", org.sam, page_size=3)
    second = page_of("closed", org.sam, {"after": first.next_cursor}, page_size=3)

    assert [r.reference for r in first.rows + second.rows] == [c.reference for c in closed]
    assert second.next_cursor is None


@pytest.mark.parametrize("cursor", ["", "nonsense", "12-x", "-5", "1-2-3", "999999999999999999-1"])
def test_a_malformed_cursor_means_the_first_page(org, cursor):
    make_case(org)
    page = page_of("mine", org.sam, {"after": cursor})
    assert page.is_first_page and len(page.rows) == 1


def test_filters_narrow_the_queue(org):
    urgent = make_case(org, org.sam, priority=Priority.URGENT)
    billing = make_case(org, org.jo, team=org.billing, category=org.bills)
    waiting = make_case(org, org.priya, status=CaseStatus.WAITING_ON_CUSTOMER)

    def shown(args):
        return {row.reference for row in page_of("all", org.sam, args).rows}

    assert shown({"priority": "urgent"}) == refs(urgent)
    assert shown({"category": str(org.bills.id)}) == refs(billing)
    assert shown({"team": str(org.billing.id)}) == refs(billing)
    assert shown({"owner": str(org.priya.id)}) == refs(waiting)
    assert shown({"status": "waiting_on_customer"}) == refs(waiting)
    assert shown({"status": "in_progress", "owner": str(org.sam.id)}) == refs(urgent)


def test_the_filter_choices_show_what_is_chosen_escaped_and_follow_changes(org, login_as):
    client = login_as(org.sam)
    org.bills.name = "Bills & <b>refunds</b>"
    db.session.commit()
    url = f"/staff/queues/all?category={org.bills.id}&owner={org.priya.id}&team={org.care.id}"

    page = client.get(url).get_data(as_text=True)

    assert (f'<option value="{org.bills.id}" selected>Bills &amp; &lt;b&gt;refunds&lt;/b&gt;'
            "</option>") in page
    assert f'<option value="{org.priya.id}" selected>Priya Shah</option>' in page
    assert f'<option value="{org.care.id}" selected>{org.care.name}</option>' in page
    assert f'<option value="{org.sam.id}">Sam' in page
    # A change to the choices shows on the next page (the stamp of the settings renews).
    org.priya.active = False
    db.session.commit()
    page = client.get("/staff/queues/all").get_data(as_text=True)
    assert f'<option value="{org.priya.id}">Priya Shah (deactivated)</option>' in page
    assert " selected>" not in page


@pytest.mark.parametrize(
    "args",
    [
        {"status": "sleeping"},
        {"priority": "whenever"},
        {"category": "99999"},
        {"category": "billing"},
        {"owner": "-1"},
        {"team": "1; DROP TABLE cases"},
    ],
)
def test_unknown_filter_values_are_ignored(org, login_as, args):
    cases = [make_case(org), make_case(org, priority=Priority.HIGH)]
    db.session.commit()

    response = login_as(org.sam).get("/staff/", query_string=args)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert all(case.reference in page for case in cases)
    assert "Clear filters" not in page  # nothing counted as set


# --- The page in the browser --------------------------------------------------------------------


def test_the_home_page_is_my_cases_with_every_queue_and_its_count(org, login_as):
    make_case(org, org.sam)
    make_case(org, org.sam, status=CaseStatus.WAITING_ON_CUSTOMER)
    db.session.commit()

    page = login_as(org.sam).get("/staff/").get_data(as_text=True)

    nav = page[page.index('class="queue-nav"'):page.index("</ul>", page.index("queue-nav"))]
    assert re.search(r'aria-current="page">\s*<span>My cases</span>\s*<span class="count">2<', nav)
    assert re.search(r"Waiting on customer</span>\s*<span class=\"count\">1<", nav)
    for queue in queues.QUEUES.values():
        assert f">{queue.label}</span>" in nav


def test_each_row_shows_the_case_with_what_people_typed_escaped(org, login_as, frozen_now):
    frozen_now(NOW)  # the case's other time frames are FAR ahead of it
    case = make_case(org, org.priya, description="<b>Crushed</b> & late\nMore words",
                     priority=Priority.URGENT, email="a<b>@example.com",
                     resolve_due_at=NOW - timedelta(hours=1))
    case.contact_name = "Kim <script>alert(1)</script>"
    org.priya.active = False
    db.session.commit()

    page = login_as(org.manager).get("/staff/queues/all").get_data(as_text=True)

    row = page[page.index("<tr><th scope=\"row\">"):]
    row = row[:row.index("</tr>") + 5]
    assert (f'<th scope="row"><a class="case-list__ref" href="/staff/cases/{case.reference}">'
            f"{case.reference}</a></th>") in row
    assert ('<td class="free-text"><span dir="auto">Kim &lt;script&gt;alert(1)&lt;/script&gt;'
            "</span><br>") in row
    assert '<span class="small muted queue-table__email">a&lt;b&gt;@example.com</span>' in row
    assert '<td class="free-text" dir="auto">&lt;b&gt;Crushed&lt;/b&gt; &amp; late</td>' in row
    assert "<td>In progress</td>" in row
    assert "<td><strong>Urgent</strong></td>" in row
    assert '<td>Priya Shah <span class="small">(deactivated)</span></td>' in row
    assert '<span class="small">Put right by</span><br>' in row
    assert '<strong class="tag tag--late">Breached</strong>' in row
    assert "<script>" not in page


@pytest.mark.parametrize("key", list(queues.QUEUES))
def test_every_queue_opens_as_a_page(org, login_as, key):
    make_case(org)
    db.session.commit()
    response = login_as(org.manager).get(f"/staff/queues/{key}", follow_redirects=True)
    assert response.status_code == 200
    heading = queues.QUEUES[key].heading
    assert f'<h1 class="page-title">{heading}</h1>' in response.get_data(as_text=True)
    if key == queues.DEFAULT_QUEUE:  # the home page is its one address
        assert response.request.path == "/staff/"


def test_rows_show_reference_link_customer_owner_and_the_next_time_frame_in_words(
    org, login_as, frozen_now
):
    now = frozen_now(NOW)  # the cases' other time frames are FAR ahead of it
    breached = make_case(org, description="Breached parcel", acknowledge_due_at=now - timedelta(
        hours=1))
    at_risk = make_case(org, description="Risky parcel", resolve_due_at=now + timedelta(minutes=30))
    on_track = make_case(org, description="Calm parcel", resolve_due_at=now + timedelta(days=30))
    db.session.commit()

    page = login_as(org.sam).get("/staff/").get_data(as_text=True)

    def row_of(case):
        start = page.index(f">{case.reference}</a>")
        return page[start:page.index("</tr>", start)]

    assert f'href="/staff/cases/{breached.reference}"' in page
    assert 'Acknowledge by' in row_of(breached)
    assert '<strong class="tag tag--late">Breached</strong>' in row_of(breached)
    assert '<strong class="tag tag--at-risk">At risk</strong>' in row_of(at_risk)
    assert '<strong class="tag tag--on-track">On track</strong>' in row_of(on_track)
    assert "Alex Carter" in row_of(on_track) and "alex@example.com" in row_of(on_track)
    assert "Sam Taylor" in row_of(on_track) and "UK time" in row_of(on_track)
    # Next due first: breached, then at risk, then on track.
    assert page.index(breached.reference) < page.index(at_risk.reference) < page.index(
        on_track.reference)


def test_the_next_page_link_keeps_the_filters_and_reaches_the_rest(org, login_as):
    for number in range(queues.PAGE_SIZE + 3):
        make_case(org, resolve_due_at=NOW + timedelta(hours=number), priority=Priority.HIGH)
    make_case(org, priority=Priority.LOW)
    db.session.commit()
    client = login_as(org.sam)

    first = client.get("/staff/?priority=high").get_data(as_text=True)
    assert first.count('<th scope="row">') == queues.PAGE_SIZE
    next_url = re.search(r'<a href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "priority=high" in next_url and "after=" in next_url

    second = client.get(next_url).get_data(as_text=True)
    assert second.count('<th scope="row">') == 3
    assert 'rel="next"' not in second
    assert "First page" in second


def test_htmx_gets_only_the_results_partial_with_the_live_status(org, login_as):
    case = make_case(org)
    db.session.commit()

    response = login_as(org.sam).get("/staff/?priority=normal", headers=HTMX_RESULTS)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in page and "queue-nav" not in page
    assert page.lstrip().startswith('<div id="queue-results"')
    assert case.reference in page
    assert 'id="queue-status"' in page and 'hx-swap-oob="true"' in page
    assert "HX-Request" in response.headers.get("Vary", "")


def test_a_plain_request_gets_the_whole_page_wired_for_htmx(org, login_as):
    make_case(org)
    db.session.commit()

    page = login_as(org.sam).get("/staff/queues/team").get_data(as_text=True)

    assert "<html" in page
    start = page.index('<form class="queue-filters"')
    form = page[start:page.index("</form>", start)]
    assert 'method="get"' in form and 'action="/staff/queues/team"' in form
    assert 'hx-get="/staff/queues/team"' in form
    assert 'hx-target="#queue-results"' in form and 'hx-push-url="true"' in form
    assert 'hx-trigger="change, submit"' in form
    assert '<div id="queue-results"' in page
    assert 'role="status"' in page


# --- Who may look -------------------------------------------------------------------------------


def test_an_unknown_queue_is_not_found(org, login_as):
    assert login_as(org.sam).get("/staff/queues/nobodys").status_code == 404


def test_a_customer_gets_403_on_the_queues(org, login_as):
    customer = factories.make_customer()
    db.session.commit()
    client = login_as(customer)
    assert client.get("/staff/").status_code == 403
    assert client.get("/staff/queues/at-risk").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, org):
    response = client.get("/staff/queues/breached")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


# --- Bounded SQL --------------------------------------------------------------------------------


def _statements_for(client, count_queries, url):
    db.session.expire_all()
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True), len(statements)


BOUNDED_PAGES = [
    "/staff/",
    "/staff/queues/at-risk",
    "/staff/queues/all?q=parcel",
    "/staff/queues/closed",
    "/staff/queues/team?priority=normal",
    "/staff/queues/all?q=customer1%40example",
]


def test_queue_pages_run_the_same_few_statements_for_10_and_200_cases(app, org, count_queries):
    client = app.test_client()
    client.post("/staff/login", data={"email": "sam@example.com",
                                      "password": factories.PASSWORD})
    now = utcnow()

    def add_cases(count):
        for number in range(count):
            owner = (org.sam, org.priya)[number % 2]
            resolved = number % 5 == 4
            status = CaseStatus.RESOLVED if resolved else CaseStatus.IN_PROGRESS
            make_case(org, owner, status=status, resolved_at=now if resolved else None,
                      email=f"customer{number % 7}@example.com",
                      resolve_due_at=now + timedelta(minutes=number + 1))
        db.session.commit()

    add_cases(10)
    # The first page of a process reads the calendars and filter options; later ones read
    # them from memory until an admin changes them. Both ways stay within the bound.
    _page, with_settings_read = _statements_for(client, count_queries, BOUNDED_PAGES[0])
    few = {url: _statements_for(client, count_queries, url) for url in BOUNDED_PAGES}
    add_cases(190)
    many = {url: _statements_for(client, count_queries, url) for url in BOUNDED_PAGES}
    assert few[BOUNDED_PAGES[0]][1] < with_settings_read <= 13

    for url in BOUNDED_PAGES:
        (page_few, with_few), (page_many, with_many) = few[url], many[url]
        row = '<th scope="row">'
        rows_few, rows_many = page_few.count(row), page_many.count(row)
        assert 2 <= rows_few < rows_many <= queues.PAGE_SIZE, url
        assert with_many == with_few, url
        assert with_few <= 12, url


# --- Statements built once, run for anyone -----------------------------------------------------


def test_the_counts_built_once_are_each_viewers_own_at_each_moment(org):
    make_case(org, org.sam, acknowledge_due_at=NOW + timedelta(hours=2))
    make_case(org, org.priya, resolve_due_at=NOW - timedelta(hours=1))
    make_case(org, org.priya)
    make_case(org, org.jo, team=org.billing, status=CaseStatus.RESOLVED,
              resolved_at=NOW - timedelta(days=3))
    db.session.commit()

    for user in (org.sam, org.priya, org.jo, org.sam):
        for now in (NOW, NOW + timedelta(days=30)):
            counts = queues.queue_counts(viewer_of(user, now))
            expected = {key: len(in_queue(key, user, now))
                        for key, queue in queues.QUEUES.items() if queue.counted}
            assert counts == expected, (user.email, now)

    assert queues.queue_counts(viewer_of(org.priya))["mine"] == 2
    assert queues.queue_counts(viewer_of(org.sam))["mine"] == 1
    # A month on, every open time frame is past: nothing is at risk, all three are breached.
    later = queues.queue_counts(viewer_of(org.sam, NOW + timedelta(days=30)))
    assert later["at-risk"] == 0 and later["breached"] == 2
    assert later["closed"] == 0


def test_pages_built_once_take_each_requests_filters_search_and_cursor(org):
    washer = make_case(org, org.sam, description="The washing machine leaks.",
                       email="amara@example.org", priority=Priority.URGENT)
    parcel = make_case(org, org.sam, description="My parcel arrived crushed.",
                       email="ben@example.com")
    bill = make_case(org, org.priya, description="Charged twice for the washing.",
                     email="bea@example.com", status=CaseStatus.WAITING_ON_CUSTOMER)
    db.session.commit()

    def shown(key, user, args):
        return {row.reference for row in page_of(key, user, args).rows}

    # The same shape of request, one after another, with different values each time.
    assert shown("all", org.sam, {"q": "washing"}) == refs(washer, bill)
    assert shown("all", org.sam, {"q": "parcel"}) == refs(parcel)
    assert shown("all", org.sam, {"q": "amara@"}) == refs(washer)
    assert shown("all", org.sam, {"q": "b@"}) == set()
    assert shown("all", org.sam, {"q": "bea@example.com"}) == refs(bill)
    assert shown("all", org.sam, {"q": parcel.reference.lower()}) == refs(parcel)
    assert shown("all", org.sam, {"q": bill.reference}) == refs(bill)
    assert shown("all", org.sam, {"priority": "urgent"}) == refs(washer)
    assert shown("all", org.sam, {"priority": "normal"}) == refs(parcel, bill)
    assert shown("all", org.sam, {"owner": str(org.priya.id)}) == refs(bill)
    assert shown("all", org.sam, {"owner": str(org.sam.id)}) == refs(washer, parcel)
    assert shown("mine", org.sam, {}) == refs(washer, parcel)
    assert shown("mine", org.priya, {}) == refs(bill)
    newest_first = page_of("all", org.sam, page_size=1)
    assert [row.reference for row in newest_first.rows] == [bill.reference]
    after = page_of("all", org.sam, {"after": newest_first.next_cursor}, page_size=1)
    assert [row.reference for row in after.rows] == [parcel.reference]


# --- The indexes behind the queues (SQLite's plans: it has no statistics to choose by) ---------


def _plan(statement, values) -> str:
    """SQLite's plan for a statement, as it runs with these values."""
    ran = []

    def remember(conn, cursor, sql, parameters, context, executemany):
        ran.append((sql, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        db.session.execute(statement, values).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    sql, parameters = ran[-1]
    plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)
    return "\n".join(row[-1] for row in plan)


def _page_statement(key, viewer):
    return queues._page_statement(
        key, *queues._statement_shape(viewer), filter_names=(), search_kind=None,
        after_position=False, page_size=queues.PAGE_SIZE, dialect="sqlite")


def test_queue_counts_and_pages_read_indexes_not_every_case(app, org):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plans")
    viewer = viewer_of(org.sam)
    values = queues._parameter_values(viewer)

    counts_plan = _plan(queues._counts_statement(*queues._statement_shape(viewer)), values)
    assert "SCAN cases" not in counts_plan
    assert "ix_cases_unacknowledged_due" in counts_plan
    assert "ix_cases_owner_status_due" in counts_plan

    for key in ("mine", "at-risk", "breached"):
        plan = _plan(_page_statement(key, viewer), values)
        assert "SCAN cases" not in plan, (key, plan)
    assert "COVERING INDEX ix_cases_owner_status_due" in _plan(
        _page_statement("mine", viewer), values)


def test_counted_at_risk_and_recently_closed_count_each_case_once(org):
    soon = NOW + timedelta(hours=3)
    make_case(org, acknowledge_due_at=soon, first_response_due_at=soon, resolve_due_at=soon)
    make_case(org, first_response_due_at=soon)
    make_case(org, status=CaseStatus.CLOSED, resolved_at=NOW - timedelta(days=2),
              closed_at=NOW - timedelta(days=1))
    make_case(org, status=CaseStatus.CLOSED, resolved_at=NOW - timedelta(days=20),
              closed_at=NOW - timedelta(days=1))
    make_case(org, status=CaseStatus.CLOSED, closed_at=NOW - timedelta(days=3))  # merged away
    make_case(org, status=CaseStatus.CLOSED, resolved_at=NOW - timedelta(days=30),
              closed_at=NOW - timedelta(days=20))
    db.session.commit()

    counts = queues.queue_counts(viewer_of(org.sam))

    assert counts["at-risk"] == len(in_queue("at-risk", org.sam)) == 2
    assert counts["closed"] == len(in_queue("closed", org.sam)) == 3
