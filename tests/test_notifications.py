"""Staff notifications: written where the action happens, listed, counted and marked read."""

import re

import pytest
from sqlalchemy import delete, func, select

from shared import services
from shared.extensions import db
from shared.models import EscalationLevel, Notification, OutgoingEmail, Role, TaskStatus, User
from shared.services import cases as case_actions
from shared.services import escalations as escalation_actions
from shared.services import tasks as task_actions
from shared.services.notifications import PAGE_SIZE, notify
from tests import factories
from tests.support.html import csrf_token_of


@pytest.fixture
def case_without_notices(org, customer):
    """Alex's delivery complaint, owned by Sam, with no notifications yet: each test starts
    from none."""
    owned = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    # Raising it notified whoever assignment chose first.
    db.session.execute(delete(Notification))
    services.commit()
    return owned


def notifications_of(user, kind=None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.scalars(query.order_by(Notification.id)).all()


def emails_to(user, kind=None) -> list[OutgoingEmail]:
    query = select(OutgoingEmail).where(OutgoingEmail.recipient == user.email)
    if kind:
        query = query.where(OutgoingEmail.kind == kind)
    return db.session.scalars(query.order_by(OutgoingEmail.id)).all()


def unread_of(user) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def some_notifications(user, case, how_many: int) -> list[Notification]:
    made = [notify(user, "customer_replied", f"Reply number {n}", case=case)
            for n in range(how_many)]
    services.commit()
    return made


# --- Written where the action happens -----------------------------------------------------------


def test_a_new_complaint_notifies_the_owner_chosen_for_it(org, customer):
    case = factories.raise_case(org.delivery, customer=customer)
    services.commit()

    [notification] = notifications_of(case.owner, "case_assigned")
    assert notification.case_id == case.id
    assert "Alex Carter" in notification.text
    [email] = emails_to(case.owner, "staff_notification")
    assert email.subject == f"A case is now yours: {case.reference}"
    assert f"http://localhost/staff/cases/{case.reference}" in email.text_body
    assert "http://localhost/staff/notifications" in email.text_body


def test_a_customer_reply_notifies_the_owner(org, case_without_notices, customer):
    case_actions.post_customer_reply(case_without_notices, customer=customer,
                                     body="Any news on this?")
    services.commit()

    [notification] = notifications_of(org.sam, "customer_replied")
    assert notification.case_id == case_without_notices.id
    assert case_without_notices.reference in notification.text
    replied = [e for e in emails_to(org.sam) if e.subject.startswith("A customer replied")]
    assert [e.subject for e in replied] == [f"A customer replied: {case_without_notices.reference}"]


def test_a_refused_customer_reply_notifies_nobody(org, case_without_notices, customer):
    with pytest.raises(services.RuleViolation):
        case_actions.post_customer_reply(case_without_notices, customer=customer, body="   ")
    services.rollback()

    assert notifications_of(org.sam, "customer_replied") == []


def test_a_task_for_a_person_notifies_them_in_the_app_and_by_one_email(org, case_without_notices):
    task_actions.create_task(case_without_notices, actor=org.sam, title="Refund the postage",
                             due_at=factories.in_hours(24), assignee=org.jo)
    services.commit()

    [notification] = notifications_of(org.jo, "task_assigned")
    assert notification.case_id == case_without_notices.id
    assert "Refund the postage" in notification.text
    assert "Sam Taylor" in notification.text
    [email] = emails_to(org.jo)  # one email, the task's own, not a second general one
    assert email.kind == "task_assigned"
    assert "Refund the postage" in email.subject


def test_a_task_for_a_team_notifies_each_active_member_but_not_its_author(
    org, case_without_notices
):
    leaver = factories.make_user("lee@example.com", "Lee Gone", "agent", org.care, active=False)
    task_actions.create_task(case_without_notices, actor=org.sam, title="Check the depot camera",
                             due_at=factories.in_hours(8), team=org.care)
    services.commit()

    told = sorted(n.user.email for n in db.session.scalars(
        select(Notification).where(Notification.kind == "task_assigned")))
    assert told == sorted([org.manager.email, org.priya.email])
    assert notifications_of(leaver) == []
    assert notifications_of(org.sam, "task_assigned") == []
    assert "the Customer care team" in notifications_of(org.priya, "task_assigned")[0].text


def test_nobody_inactive_and_no_customer_is_notified(org, case_without_notices, customer):
    org.priya.active = False
    assert notify(org.priya, "case_assigned", "Yours", case=case_without_notices) is None
    assert notify(customer, "case_assigned", "Yours", case=case_without_notices) is None
    services.commit()

    assert notifications_of(org.priya) == [] and notifications_of(customer) == []


# --- The list -----------------------------------------------------------------------------------


def test_the_list_shows_my_notifications_newest_first_with_unread_in_words(
    org, case_without_notices, login_as
):
    older, newer = some_notifications(org.sam, case_without_notices, 2)
    older.read_at = older.created_at
    notify(org.priya, "customer_replied", "Priya's own notice", case=case_without_notices)
    services.commit()

    page = login_as(org.sam).get("/staff/notifications").get_data(as_text=True)

    assert page.index("Reply number 1") < page.index("Reply number 0")
    assert "Priya's own notice" not in page
    newer_item = page[page.index(f'id="notification-{newer.id}"'):]
    assert re.search(r">Unread</strong>", newer_item[:400])
    older_item = page[page.index(f'id="notification-{older.id}"'):]
    assert ">Read</span>" in older_item[:400]
    assert f'href="/staff/notifications/{newer.id}/open"' in page


def test_the_list_pages_by_keyset_without_gaps_or_repeats(org, case_without_notices, login_as):
    made = some_notifications(org.sam, case_without_notices, PAGE_SIZE + 5)
    client = login_as(org.sam)

    first = client.get("/staff/notifications").get_data(as_text=True)
    ids_first = [int(i) for i in re.findall(r'id="notification-(\d+)"', first)]
    older_link = re.search(r'href="/staff/notifications\?before=(\d+)"', first)
    second = client.get(f"/staff/notifications?before={older_link.group(1)}").get_data(
        as_text=True)
    ids_second = [int(i) for i in re.findall(r'id="notification-(\d+)"', second)]

    assert len(ids_first) == PAGE_SIZE
    assert ids_first == sorted(ids_first, reverse=True)
    assert sorted(ids_first + ids_second) == sorted(n.id for n in made)
    assert "Older notifications" not in second


def test_the_list_reads_the_same_number_of_queries_for_3_or_60_notifications(
    org, case_without_notices, login_as, count_queries
):
    client = login_as(org.sam)

    def statements():
        db.session.expire_all()
        with count_queries() as seen:
            assert client.get("/staff/notifications").status_code == 200
        return len(seen)

    some_notifications(org.sam, case_without_notices, 3)
    few = statements()
    some_notifications(org.sam, case_without_notices, 57)
    many = statements()

    assert few == many
    assert many <= 5


def test_opening_a_notification_marks_it_read_and_goes_to_its_case(
    org, case_without_notices, login_as
):
    [notification] = some_notifications(org.sam, case_without_notices, 1)

    response = login_as(org.sam).get(f"/staff/notifications/{notification.id}/open")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/cases/{case_without_notices.reference}"
    assert unread_of(org.sam) == 0


def test_a_spike_notification_says_what_it_is_and_opens_the_patterns_page_at_the_spike(
    org, login_as
):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from shared.models import Spike
    from shared.spikes import patterns_url

    monday = datetime(2026, 11, 23, tzinfo=ZoneInfo("Europe/London"))
    spike = Spike(dimension="category", subject_id=org.delivery.id, span="day",
                  span_start=monday.replace(day=25), count=6, expected=0.1, threshold=5)
    db.session.add(spike)
    db.session.flush()
    notice = notify(org.manager, "spike_detected",
                    f"More complaints than usual about Delivery. See it: {patterns_url(spike)}")
    # Written before the link named its spike: the list of spikes is the best there is.
    older = notify(org.manager, "spike_detected", "More complaints than usual: /staff/patterns")
    services.commit()
    client = login_as(org.manager)

    page = client.get("/staff/notifications").get_data(as_text=True)
    item = page[page.index(f'id="notification-{notice.id}"'):]
    assert "Spike in complaints" in item[:600]
    assert "Notification\n" not in item[:600]
    assert f'href="/staff/notifications/{notice.id}/open">See the spike' in item[:800]

    opened = client.get(f"/staff/notifications/{notice.id}/open")
    assert opened.status_code == 302
    # Its week, Monday to Sunday, at its row.
    assert opened.headers["Location"] == (
        f"/staff/patterns?start=2026-11-23&end=2026-11-29#spike-{spike.id}")
    assert client.get(opened.headers["Location"]).status_code == 200
    assert client.get(f"/staff/notifications/{older.id}/open").headers["Location"] == (
        "/staff/patterns#spikes")
    assert unread_of(org.manager) == 0


def test_a_problem_fixed_notification_says_so_and_opens_the_case_at_the_task(
    org, case_without_notices, login_as
):
    from shared.services import problems as problem_actions

    problem = factories.a_problem(org.jo, cases=[])
    problem_actions.link_case(problem, case_without_notices, actor=org.manager)
    services.commit()
    [task] = problem_actions.change_problem_status(problem, "fixed", actor=org.jo,
                                                   expected_version=problem.version)
    services.commit()
    [notice] = notifications_of(org.sam, "problem_fixed")
    client = login_as(org.sam)

    page = client.get("/staff/notifications").get_data(as_text=True)
    item = page[page.index(f'id="notification-{notice.id}"'):]
    assert "Problem fixed: tell your customer" in item[:600]

    opened = client.get(f"/staff/notifications/{notice.id}/open")
    assert opened.headers["Location"] == (
        f"/staff/cases/{case_without_notices.reference}#task-{task.id}")
    assert f'id="task-{task.id}"' in client.get(opened.headers["Location"]).get_data(
        as_text=True)

    # Once the task is done, the case's problems are where to look.
    task_actions.update_task(task, actor=org.sam, status=TaskStatus.DONE, outcome="Told them.")
    services.commit()
    assert client.get(f"/staff/notifications/{notice.id}/open").headers["Location"] == (
        f"/staff/cases/{case_without_notices.reference}#problems")


def test_marking_one_read_leaves_the_others_unread(org, case_without_notices, login_as):
    first, second = some_notifications(org.sam, case_without_notices, 2)

    response = login_as(org.sam).post("/staff/notifications/read",
                                      data={"notification_id": first.id})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/notifications#notification-{first.id}"
    db.session.expire_all()
    assert first.read_at is not None and second.read_at is None


def test_mark_all_read_marks_only_mine(org, case_without_notices, login_as):
    some_notifications(org.sam, case_without_notices, 3)
    some_notifications(org.priya, case_without_notices, 2)

    response = login_as(org.sam).post("/staff/notifications/read-all")

    assert response.status_code == 302
    assert (unread_of(org.sam), unread_of(org.priya)) == (0, 2)


# --- The count in the header ------------------------------------------------------------------


def test_every_staff_page_shows_my_unread_count_with_a_link_and_a_poll(
    org, case_without_notices, login_as
):
    some_notifications(org.sam, case_without_notices, 3)
    client = login_as(org.sam)

    for url in ("/staff/", "/staff/tasks", f"/staff/cases/{case_without_notices.reference}"):
        page = client.get(url).get_data(as_text=True)
        header = page[page.index('<header'):page.index('</header>')]
        assert 'href="/staff/notifications"' in header, url
        assert re.search(r'3<span class="visually-hidden"> unread</span>', header), url
        assert 'hx-get="/staff/notifications/count"' in header
        assert 'hx-trigger="every 30s"' in header


def test_the_polled_count_follows_the_changes(org, case_without_notices, login_as):
    client = login_as(org.sam)
    htmx = {"HX-Request": "true"}

    assert "unread" not in client.get("/staff/notifications/count", headers=htmx).get_data(
        as_text=True)
    some_notifications(org.sam, case_without_notices, 2)
    response = client.get("/staff/notifications/count", headers=htmx)

    assert response.status_code == 200
    assert "2<span class=\"visually-hidden\"> unread</span>" in response.get_data(as_text=True)
    assert "Cache-Control" in response.headers


def test_the_count_without_htmx_goes_to_the_list(org, login_as):
    response = login_as(org.sam).get("/staff/notifications/count")

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/notifications"


def test_the_poll_stops_once_signed_out_instead_of_drawing_the_sign_in_page(app):
    response = app.test_client().get("/staff/notifications/count",
                                     headers={"HX-Request": "true"})

    assert response.status_code == 286  # htmx's "stop polling"
    assert response.get_data(as_text=True) == ""


# --- Nobody reads or marks anyone else's -------------------------------------------------------


def test_someone_elses_notification_is_not_found_and_stays_unread(
    org, case_without_notices, login_as
):
    [priyas] = some_notifications(org.priya, case_without_notices, 1)
    client = login_as(org.sam)

    assert client.get(f"/staff/notifications/{priyas.id}/open").status_code == 404
    assert client.post("/staff/notifications/read",
                       data={"notification_id": priyas.id}).status_code == 404
    assert client.post("/staff/notifications/read", data={}).status_code == 404
    assert "Reply number 0" not in client.get("/staff/notifications").get_data(as_text=True)
    assert unread_of(org.priya) == 1


def test_even_a_manager_cannot_open_an_agents_notification(org, case_without_notices, login_as):
    [sams] = some_notifications(org.sam, case_without_notices, 1)

    client = login_as(org.manager)

    assert client.get(f"/staff/notifications/{sams.id}/open").status_code == 404
    assert unread_of(org.sam) == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/staff/notifications"),
        ("get", "/staff/notifications/count"),
        ("get", "/staff/notifications/1/open"),
        ("post", "/staff/notifications/read"),
        ("post", "/staff/notifications/read-all"),
    ],
)
def test_customers_are_refused_and_visitors_sent_to_sign_in(
    org, customer, app, login_as, method, url
):
    assert getattr(login_as(customer), method)(url).status_code == 403
    response = getattr(app.test_client(), method)(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_marking_read_without_a_token_is_refused(self, org, case_without_notices, login_as):
        [notification] = some_notifications(org.sam, case_without_notices, 1)
        client = login_as(org.sam)

        assert client.post("/staff/notifications/read",
                           data={"notification_id": notification.id}).status_code == 400
        assert client.post("/staff/notifications/read-all").status_code == 400
        assert unread_of(org.sam) == 1

    def test_the_tokens_on_the_list_are_accepted(self, org, case_without_notices, login_as):
        [notification] = some_notifications(org.sam, case_without_notices, 1)
        client = login_as(org.sam)
        page = client.get("/staff/notifications").get_data(as_text=True)
        token = csrf_token_of(page)

        response = client.post("/staff/notifications/read", data={
            "notification_id": notification.id, "csrf_token": token})

        assert response.status_code == 302
        assert unread_of(org.sam) == 0


def test_mark_all_read_is_offered_while_the_only_unread_ones_are_on_older_pages(
    org, case_without_notices, login_as
):
    made = some_notifications(org.sam, case_without_notices, PAGE_SIZE + 3)
    for notification in made[3:]:  # the newest page is all read; three older ones are not
        notification.read_at = notification.created_at
    services.commit()

    page = login_as(org.sam).get("/staff/notifications").get_data(as_text=True)

    assert "Mark all read" in page
    for notification in made[3:]:
        notification.read_at = notification.created_at
    for notification in made[:3]:
        notification.read_at = notification.created_at
    services.commit()
    assert "Mark all read" not in login_as(org.sam).get("/staff/notifications").get_data(
        as_text=True)


# --- A notification about something finished stops asking for attention ----------------------


def ask_the_heads_of_service(org, case):
    """Sam asks for a head of service: Harper and Riley are both told."""
    factories.make_user(
        "riley@example.com", "Riley Park", Role.MANAGER, approval_level=2
    )
    escalation = escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.HEAD_OF_SERVICE,
        reason="The customer has waited three weeks.", needs=["goodwill"],
    )
    services.commit()
    return escalation


def test_deciding_an_escalation_settles_the_request_for_everyone_it_went_to(
    org, case_without_notices, login_as
):
    escalation = ask_the_heads_of_service(org, case_without_notices)
    riley = db.session.scalars(select(User).where(User.email == "riley@example.com")).one()
    assert unread_of(org.head) == unread_of(riley) == 1
    some_notifications(riley, case_without_notices, 1)  # about something else: still asks

    escalation_actions.reject_escalation(
        escalation, actor=org.head, note="Not yet: try the courier first.",
        expected_version=escalation.version,
    )
    services.commit()

    assert unread_of(org.head) == 0
    assert [n.kind for n in notifications_of(riley) if n.read_at is None] == ["customer_replied"]
    header = login_as(riley).get("/staff/").get_data(as_text=True)
    assert re.search(r'1<span class="visually-hidden"> unread</span>', header)


def test_withdrawing_or_approving_settles_it_too_and_a_new_request_asks_again(
    org, case_without_notices
):
    escalation = ask_the_heads_of_service(org, case_without_notices)
    escalation_actions.withdraw_escalation(escalation, actor=org.sam)
    services.commit()
    assert unread_of(org.head) == 0

    escalation = escalation_actions.request_escalation(
        case_without_notices, actor=org.sam, level=EscalationLevel.HEAD_OF_SERVICE,
        reason="Asking again.", needs=["goodwill"],
    )
    services.commit()
    assert unread_of(org.head) == 1
    escalation_actions.approve_escalation(
        escalation, actor=org.head, expected_version=escalation.version
    )
    services.commit()
    assert unread_of(org.head) == 0


def test_asking_for_an_escalation_settles_the_suggestion_to_ask(org, case_without_notices):
    escalation_actions.propose_escalation(case_without_notices, reason="No update for 5 days")
    services.commit()
    assert [n.kind for n in notifications_of(org.sam)] == ["escalation_proposed"]

    escalation_actions.request_escalation(
        case_without_notices, actor=org.sam, level=EscalationLevel.TEAM_MANAGER,
        reason="No update for 5 days", needs=["people"],
    )
    services.commit()

    assert unread_of(org.sam) == 0
    assert unread_of(org.manager) == 1
