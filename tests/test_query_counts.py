"""List and case pages read what they show in a bounded number of queries, whatever the size."""

from shared import services
from shared.extensions import db
from shared.models import EscalationLevel, EventKind, Visibility
from shared.services import commitments as commitment_actions
from shared.services import escalations as escalation_actions
from shared.services import remedies as remedy_actions
from shared.services import tasks as task_actions
from shared.services.timeline import record_event
from tests import factories


def _queries_for(client, count_queries, url):
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def _cases_for(customer, org, how_many):
    return [factories.raise_case(org.delivery, customer=customer) for _ in range(how_many)]


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
    assert _queries_for(client, count_queries, "/") <= 5


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
        assert counted[large.reference] <= 12, viewer.email
