"""The staff back office: signing in, the agent's own open cases, and a bounded page."""

import uuid

import pytest

from shared.demo import standard_service_level, uk_calendar
from shared.extensions import db
from shared.models import CaseStatus, Category
from shared.services import cases as case_actions
from tests import factories

GENERIC_REFUSAL = "That email address and password do not match a staff account."


def sign_in(client, email, password=factories.PASSWORD, query=""):
    return client.post(f"/staff/login{query}", data={"email": email, "password": password})


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
    case_actions.resolve_case(resolved, actor=org.sam, resolution="Refunded in full.")
    db.session.commit()
    assert resolved.status == CaseStatus.RESOLVED

    page = login_as(org.sam).get("/staff/").get_data(as_text=True)
    assert open_case.reference in page
    assert resolved.reference not in page


def test_home_says_so_when_the_agent_has_no_open_cases(org, login_as):
    page = login_as(org.jo).get("/staff/").get_data(as_text=True)
    assert "You have no open cases." in page


def test_home_shows_the_due_dates_in_the_cases_calendar(org, login_as):
    cases_owned_by(org, org.sam, 1)
    page = login_as(org.sam).get("/staff/").get_data(as_text=True)
    assert "UK time" in page
    assert "Alex Carter" in page


@pytest.mark.parametrize("who", ["sam", "manager", "admin"])
def test_every_staff_role_can_open_the_home_page(org, login_as, who):
    assert login_as(getattr(org, who)).get("/staff/").status_code == 200


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
    assert with_few <= 12
