"""List and case pages read what they show in a bounded number of queries, whatever the size."""

import re
from datetime import UTC, datetime

from shared import services
from shared.demo import standard_service_level, uk_calendar
from shared.extensions import db
from shared.models import CaseStatus, Category, EscalationLevel, EventKind, Visibility
from shared.services import cases as case_actions
from shared.services import commitments as commitment_actions
from shared.services import escalations as escalation_actions
from shared.services import remedies as remedy_actions
from shared.services import tasks as task_actions
from shared.services.timeline import record_event
from tests import factories


def _page_and_queries_for(client, count_queries, url):
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True), len(statements)


def _queries_for(client, count_queries, url):
    return _page_and_queries_for(client, count_queries, url)[1]


def _cases_for(customer, org, how_many):
    return [factories.raise_case(org.delivery, customer=customer) for _ in range(how_many)]


def _category_of_its_own(org, number):
    """A category with a service level and calendar of its own: a page that read them one
    category at a time would show it in its count."""
    calendar = uk_calendar()
    calendar.name = f"Calendar {number}"
    level = standard_service_level(calendar)
    level.name = f"Level {number}"
    category = Category(name=f"Category {number}", default_team=org.care, service_level=level)
    db.session.add(category)
    return category


def test_my_complaints_page_queries_do_not_grow_with_the_number_of_cases(
    app, org, client, login_as, count_queries
):
    few, many = factories.make_customer("few@example.com"), factories.make_customer("many@x.org")
    _cases_for(few, org, 2)
    _cases_for(many, org, 25)
    services.commit()

    login_as(few)
    with_few = _queries_for(client, count_queries, "/cases")
    login_as(many)
    with_many = _queries_for(client, count_queries, "/cases")

    assert with_few == with_many
    assert with_many <= 4


def test_case_page_queries_do_not_grow_with_the_length_of_the_timeline(
    app, org, client, login_as, count_queries
):
    customer = factories.make_customer()
    short_case, long_case = _cases_for(customer, org, 2)
    for number in range(30):
        event = record_event(
            long_case, EventKind.CUSTOMER_REPLY, actor=customer, body=f"message {number}"
        )
        if number % 3 == 0:
            from shared.services.attachments import store_attachments

            store_attachments(long_case, [factories.upload()], uploader=customer, event=event)
        record_event(long_case, EventKind.NOTE, actor=org.sam,
                     visibility=Visibility.INTERNAL, body="internal")
    services.commit()
    login_as(customer)

    short = _queries_for(client, count_queries, f"/cases/{short_case.reference}")
    long = _queries_for(client, count_queries, f"/cases/{long_case.reference}")

    assert short == long
    assert long <= 8


def test_home_page_reads_the_commitments_in_a_fixed_number_of_queries(
    app, org, client, count_queries
):
    few = _queries_for(client, count_queries, "/")
    for number in range(12):
        _category_of_its_own(org, number)
    services.commit()
    page, many = _page_and_queries_for(client, count_queries, "/")

    assert page.count('<th scope="row">') == 3 + 12  # one row per category
    assert few == many
    assert many <= 5


def _escalated_case(org, *, events: int, tasks: int):
    """A case with a rejected and a pending escalation, and `events` customer replies, `tasks`
    tasks, as many promises and two remedies offered."""
    case = factories.case_owned_by(org.sam, org.delivery, customer=factories.make_customer(
        f"customer{events}@example.com"))
    services.commit()
    rejected = escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER, reason="Out of my hands",
        needs=["goodwill"],
    )
    services.commit()
    escalation_actions.reject_escalation(rejected, actor=org.manager, note="Not yet",
                                         expected_version=rejected.version)
    services.commit()
    escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER, reason="Still stuck",
        needs=["goodwill"],
    )
    for number in range(events):
        record_event(case, EventKind.CUSTOMER_REPLY, actor=case.customer, body=f"reply {number}")
    for number in range(tasks):
        task_actions.create_task(case, actor=org.sam, title=f"Check {number}", team=org.billing,
                                 assignee=org.jo, due_at=factories.in_hours(24 + number))
        commitment_actions.make_commitment(case, actor=org.sam, description=f"Call {number}",
                                           due_at=factories.in_hours(48 + number))
    remedy_actions.offer_options(case, actor=org.sam, descriptions=["Refund", "Replacement"])
    services.commit()
    return case


def test_staff_case_page_with_an_escalation_stays_within_budget_at_two_sizes(
    app, org, client, login_as, count_queries
):
    small = _escalated_case(org, events=1, tasks=1)
    large = _escalated_case(org, events=40, tasks=12)

    for viewer in (org.sam, org.manager):  # a manager's header also counts approvals waiting
        login_as(viewer)
        counted = {}
        for case in (small, large):
            client.get(f"/staff/cases/{case.reference}")
            db.session.expire_all()  # the signed-in user is read again, as in production
            counted[case.reference] = _queries_for(
                client, count_queries, f"/staff/cases/{case.reference}"
            )

        assert counted[small.reference] == counted[large.reference], viewer.email
        assert counted[large.reference] <= 16, viewer.email


# --- The staff home page ------------------------------------------------------------------------

# Seeded on a Monday morning; by the next morning every promise made is past its time.
MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def _staff_workload(org, numbers):
    """One case per number, owned in turn by Sam, Morgan (the manager), Priya and Jo, in turn
    new, acknowledged, in progress, waiting on the customer or resolved. Each open case has a
    task for Sam and a promise due in two hours; those in progress owned by an agent of the
    team also wait for Morgan to approve an escalation."""
    owners = (org.sam, org.manager, org.priya, org.jo)
    for number in numbers:
        owner = owners[number % len(owners)]
        case = factories.case_owned_by(owner, _category_of_its_own(org, number),
                                       email=f"customer{number}@example.com")
        state = number % 5
        if state >= 1:
            case_actions.acknowledge_case(case, actor=owner)
        if state == 2:
            case_actions.change_status(case, CaseStatus.IN_PROGRESS, actor=owner)
        if state == 3:
            case_actions.change_status(case, CaseStatus.WAITING_ON_CUSTOMER, actor=owner)
        if state == 4:
            case_actions.resolve_case(case, actor=owner, resolution="Refunded in full.",
                                      **factories.cause_and_outcome())
            continue
        task_actions.create_task(case, actor=owner, title=f"Call the courier {number}",
                                 team=org.care, assignee=org.sam,
                                 due_at=factories.in_hours(4))
        commitment_actions.make_commitment(case, actor=owner, description=f"Call {number}",
                                           due_at=factories.in_hours(2))
        if state == 2 and owner in (org.sam, org.priya):
            escalation_actions.request_escalation(
                case, actor=owner, level=EscalationLevel.TEAM_MANAGER, reason="Out of my hands",
                needs=["goodwill"],
            )
    services.commit()


def _rows(page) -> int:
    return page.count('<th scope="row">')


def _queue_count(page, label) -> int:
    return int(re.search(rf'<span>{label}</span>\s*<span class="count">(\d+)<', page).group(1))


def _nav_count(page, label) -> int:
    match = re.search(rf'>{label} <span class="count nav-count">(\d+)<', page)
    return int(match.group(1)) if match else 0


def test_staff_home_runs_the_same_statements_for_3_and_30_cases(
    app, org, client, login_as, count_queries, frozen_now
):
    viewers = (org.sam, org.manager)  # a manager's header also counts approvals waiting

    def view_home():
        """Each viewer's home page and its statement count, in the same order at each size:
        the queue counts shared by all staff are counted for Sam and reused for Morgan."""
        seen = {}
        for viewer in viewers:
            login_as(viewer)
            seen[viewer.email] = _page_and_queries_for(client, count_queries, "/staff/")
        return seen

    frozen_now(MONDAY)
    _staff_workload(org, range(3))
    frozen_now(TUESDAY)
    few = view_home()
    _staff_workload(org, range(3, 30))
    frozen_now(WEDNESDAY)
    many = view_home()

    sam = [few[org.sam.email][0], many[org.sam.email][0]]
    manager = [few[org.manager.email][0], many[org.manager.email][0]]
    # Of 3 cases Sam and Morgan own one open case each; of 30, eight each, two resolved. Each
    # of Sam's has a promise past its time; 1, then 3, escalations wait for Morgan.
    assert [_rows(page) for page in sam] == [1, 6]
    assert [_queue_count(page, "Promises overdue") for page in sam] == [1, 6]
    assert [_rows(page) for page in manager] == [1, 6]
    assert [_nav_count(page, "Approvals") for page in manager] == [1, 3]
    for viewer in viewers:
        with_few, with_many = few[viewer.email][1], many[viewer.email][1]
        assert with_few == with_many, viewer.email
        # As on the queue pages: counts, filters and calendars as well as the rows.
        assert with_many <= 13, viewer.email
