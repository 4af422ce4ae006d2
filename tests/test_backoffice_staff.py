"""The staff back office: signing in, the agent's own open cases, and a bounded page."""

import re
import uuid
from datetime import UTC, datetime, time

import pytest

from shared.demo import standard_service_level, uk_calendar
from shared.extensions import db
from shared.models import Calendar, CaseStatus, Category, WorkingHours
from shared.services import cases as case_actions
from tests import factories

GENERIC_REFUSAL = "That email address and password do not match a staff account."


def sign_in(client, email, password=factories.PASSWORD, query=""):
    return client.post(f"/staff/login{query}", data={"email": email, "password": password})


def navigation_labels(page):
    """The back office's areas in the header, in order."""
    return [label.strip() for label in re.findall(
        r'<a class="site-nav__link" href="[^"]*"(?: aria-current="page")?>([^<]+)', page)]


def queue_counts(page):
    """{queue's label: its count} from the list of queues beside the table."""
    return {label: int(count) for label, count in re.findall(
        r'<span>([^<]+)</span>\s*<span class="count">(\d+)', page)}


def queue_rows(page):
    """(reference, the next-due cell as read) of each row of the queue's table, in order."""
    rows = re.findall(r'<tr><th scope="row"><a class="case-list__ref" href="[^"]*">([^<]+)</a>'
                      r'</th>.*?<td>((?:(?!<td>).)*?)</td></tr>', page, re.S)
    return [(reference, " ".join(re.sub(r"<[^>]+>", " ", due).split()))
            for reference, due in rows]


def cases_owned_by(org, owner, count, *, own_categories=False, **fields):
    """Cases with `owner`; with own_categories each case gets a category, service level and
    calendar of its own, so that a page loading them lazily would show it in its query count."""
    cases = []
    for number in range(count):
        category = org.delivery
        if own_categories:
            unique = uuid.uuid4().hex[:8]
            calendar = uk_calendar()
            calendar.name = f"Calendar {unique}"
            level = standard_service_level(calendar)
            level.name = f"Level {unique}"
            category = Category(
                name=f"Category {unique}", default_team=org.care, service_level=level
            )
            db.session.add(category)
        case = factories.raise_case(category, email=f"customer{number}@example.com", **fields)
        case.owner = owner
        cases.append(case)
    db.session.commit()  # saved; the acknowledgement email stays in the outbox
    return cases


# --- Signing in -------------------------------------------------------------------------------


def test_sign_in_page_is_shown(client):
    response = client.get("/staff/login")
    assert response.status_code == 200
    assert "Staff sign in" in response.get_data(as_text=True)


def test_staff_member_signs_in_and_lands_on_their_cases(client, org):
    response = sign_in(client, "sam@example.com")

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200
    assert "My open cases" in home.get_data(as_text=True)
    assert "Sign out Sam" in home.get_data(as_text=True)


def test_sign_in_ignores_the_case_of_the_email_address(client, org):
    response = sign_in(client, "SAM@Example.com")
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("sam@example.com", "not the password"),
        ("nobody@example.com", factories.PASSWORD),
    ],
    ids=["wrong-password", "unknown-address"],
)
def test_wrong_credentials_get_one_generic_message(client, org, email, password):
    response = sign_in(client, email, password)

    assert response.status_code == 422
    assert GENERIC_REFUSAL in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_a_customer_cannot_sign_in_to_the_back_office(client, org):
    factories.make_customer()
    db.session.commit()

    response = sign_in(client, "alex@example.com")

    assert response.status_code == 422
    assert GENERIC_REFUSAL in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_a_deactivated_staff_member_cannot_sign_in(client, org):
    org.sam.active = False
    db.session.commit()

    assert sign_in(client, "sam@example.com").status_code == 422


def test_empty_form_is_refused_with_field_messages(client, org):
    response = client.post("/staff/login", data={})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your work email address" in page
    assert "Enter your password" in page


def test_sign_in_returns_to_the_requested_staff_page(client, org):
    response = sign_in(client, "admin@example.com", query="?next=/staff/mailbox")

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/mailbox"
    assert client.get("/staff/mailbox").status_code == 200


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example/staff", "/staff//evil.example", "/cases"],
)
def test_sign_in_never_redirects_off_the_back_office(client, org, target):
    response = client.post(
        "/staff/login",
        query_string={"next": target},
        data={"email": "sam@example.com", "password": factories.PASSWORD},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"


def test_signed_out_staff_page_redirects_to_sign_in_and_back(client, org):
    response = client.get("/staff/mailbox")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/staff/login?next=")

    signed_in = client.post(
        location, data={"email": "admin@example.com", "password": factories.PASSWORD}
    )
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"].startswith("/staff/mailbox")


def test_sign_out_ends_the_staff_session(client, org):
    sign_in(client, "sam@example.com")

    response = client.post("/staff/logout")

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/login"
    assert client.get("/staff/").status_code == 302


# --- The agent's own open cases ----------------------------------------------------------------


def test_home_lists_the_agents_own_open_cases_only(org, login_as):
    [mine] = cases_owned_by(org, org.sam, 1, description="Sam's parcel")
    [theirs] = cases_owned_by(org, org.priya, 1, description="Priya's parcel")

    response = login_as(org.sam).get("/staff/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert mine.reference in page
    assert theirs.reference not in page


def test_home_leaves_out_cases_that_are_no_longer_open(org, login_as):
    [open_case, resolved] = cases_owned_by(org, org.sam, 2)
    case_actions.acknowledge_case(resolved, actor=org.sam)
    case_actions.resolve_case(resolved, actor=org.sam, resolution="Refunded in full.",
                              **factories.cause_and_outcome())
    db.session.commit()
    assert resolved.status == CaseStatus.RESOLVED

    page = login_as(org.sam).get("/staff/").get_data(as_text=True)
    assert open_case.reference in page
    assert resolved.reference not in page


def test_home_says_so_when_the_agent_has_no_open_cases(org, login_as):
    page = login_as(org.jo).get("/staff/").get_data(as_text=True)
    assert "You have no open cases." in page


def test_home_shows_the_due_dates_in_the_cases_calendar(org, login_as, frozen_now):
    # A summer Wednesday, 09:30 in London (BST) and 04:30 in New York (EDT): 08:30 UTC.
    frozen_now(datetime(2026, 7, 15, 8, 30, tzinfo=UTC))
    new_york = Calendar(name="New York office hours", timezone="America/New_York",
                        zone_label="New York time")
    new_york.hours = [WorkingHours(weekday=d, opens=time(9), closes=time(17)) for d in range(5)]
    level = standard_service_level(new_york)
    level.name = "Standard, New York"
    orders = Category(name="US orders", default_team=org.care, service_level=level)
    db.session.add(orders)
    [in_london] = cases_owned_by(org, org.sam, 1)
    in_new_york = factories.case_owned_by(org.sam, orders, email="pat@example.com",
                                          name="Pat Doe")
    db.session.commit()

    page = login_as(org.sam).get("/staff/").get_data(as_text=True)

    # Four working hours to acknowledge, each counted in the case's own calendar and shown
    # in its zone: 13:30 London time (12:30 UTC); New York opens at 09:00, so 13:00 there.
    assert queue_rows(page) == [
        (in_london.reference, "Acknowledge by Wed 15 Jul, 13:30 UK time At risk"),
        (in_new_york.reference, "Acknowledge by Wed 15 Jul, 13:00 New York time At risk"),
    ]


# What each role finds on its home page: the back office's areas it may use, and how many
# cases wait in its own queues. Sam owns the one open case, of Morgan's team.
HOME_BY_ROLE = {
    "sam": (["Cases", "My tasks", "Team problems", "Notifications", "Saved replies",
             "Two-step sign-in"],
            {"My cases": 1, "My team": 1}),
    "manager": (["Cases", "My tasks", "Team problems", "Approvals", "Notifications",
                 "Dashboard", "What complaints tell us", "Saved replies", "Two-step sign-in"],
                {"My cases": 0, "My team": 1}),
    "admin": (["Cases", "My tasks", "Team problems", "Notifications", "Dashboard",
               "What complaints tell us", "Saved replies", "Settings", "Mailbox", "Outbox",
               "Two-step sign-in"],
              {"My cases": 0, "My team": 0}),
}


@pytest.mark.parametrize("who", sorted(HOME_BY_ROLE))
def test_every_staff_role_opens_its_own_home_page(org, login_as, who):
    [case] = cases_owned_by(org, org.sam, 1)
    person = getattr(org, who)
    areas, own_counts = HOME_BY_ROLE[who]

    response = login_as(person).get("/staff/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<h1 class="page-title">\s*My open cases\s*</h1>', page)
    assert f"Sign out {person.first_name}" in page
    assert navigation_labels(page) == areas
    counts = queue_counts(page)
    assert {name: counts[name] for name in own_counts} == own_counts
    if who == "sam":
        assert [reference for reference, _ in queue_rows(page)] == [case.reference]
    else:  # Sam's case is not theirs: it is in no row of their own queue
        assert queue_rows(page) == []
        assert "You have no open cases." in page
        assert case.reference not in page


def test_a_signed_in_customer_gets_403_on_the_back_office(org, login_as):
    customer = factories.make_customer()
    db.session.commit()

    assert login_as(customer).get("/staff/").status_code == 403


def test_only_admins_see_the_mailbox_link(org, login_as):
    assert 'href="/staff/mailbox"' not in login_as(org.sam).get("/staff/").get_data(as_text=True)


def test_admin_sees_the_mailbox_link(org, login_as):
    assert 'href="/staff/mailbox"' in login_as(org.admin).get("/staff/").get_data(as_text=True)


def test_home_runs_the_same_number_of_queries_for_3_and_30_cases(app, org, count_queries):
    # Sign in through the form once; each count then covers one page view on its own.
    client = app.test_client()
    sign_in(client, "sam@example.com")

    def statements_for_home():
        db.session.expire_all()
        with count_queries() as statements:
            response = client.get("/staff/")
        assert response.status_code == 200
        return response.get_data(as_text=True), len(statements)

    few = cases_owned_by(org, org.sam, 3, own_categories=True)
    page, with_few = statements_for_home()
    assert all(case.reference in page for case in few)

    many = few + cases_owned_by(org, org.sam, 27, own_categories=True)
    page, with_many = statements_for_home()
    assert all(case.reference in page for case in many)

    assert with_many == with_few
    # The home page is the queue page: counts, filters and calendars as well as the rows.
    assert with_few <= 13
