"""Rate limits on the staff sign-in, sign-in links and new accounts: what each one counts, what
the person over the limit is told, and that the form works again once the minute is over.

The limits on raising complaints and on the customers' sign-in are tested beside the other
defences of the portal, in test_portal_security.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.extensions import db
from shared.models import OutgoingEmail, User
from tests import factories
from tests.support.html import text_of

LIMIT = "2 per minute"
# The clock stands still, so a slow run cannot cross into the next minute's allowance.
MOMENT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
A_MINUTE_LATER = MOMENT + timedelta(seconds=61)
ANOTHER_CLIENT = {"REMOTE_ADDR": "203.0.113.7"}

WAIT_TITLE = "Please wait a moment"
WAIT_ADVICE = (
    "You have tried this several times in a short time. Please wait a minute and try again."
)
STAFF_REFUSAL = "That email address and password do not match a staff account."

RIGHT_STAFF_PASSWORD = {"email": "sam@example.com", "password": factories.PASSWORD}
WRONG_STAFF_PASSWORD = {"email": "sam@example.com", "password": "not my password"}


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": LIMIT,
            "LINK_REQUEST_RATE_LIMIT": LIMIT}


@pytest.fixture(autouse=True)
def still_clock(frozen_now):
    frozen_now(MOMENT)


def assert_asked_to_wait(response):
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert f"<title>{WAIT_TITLE} – " in html
    assert f'<h1 class="page-title">{WAIT_TITLE}</h1>' in html
    assert WAIT_ADVICE in text_of(response)
    assert '<a href="/">Go to the start page</a>' in html


def link_request(email):
    return {"email": email}


def registration(email):
    return {"name": "Alex Carter", "email": email}


# --- Every limited form -----------------------------------------------------------------------

# (address, what a request within the limit sends, and what the server answers to it)
FORMS = {
    "staff sign-in": ("/staff/login", lambda _email: WRONG_STAFF_PASSWORD, 422),
    "sign-in link": ("/sign-in/link", link_request, 200),
    "new account": ("/account/new", registration, 200),
}


@pytest.mark.parametrize("form", FORMS)
def test_the_request_over_the_limit_is_asked_to_wait_a_minute(client, org, form):
    path, data, served = FORMS[form]

    statuses = [client.post(path, data=data(f"person{n}@example.com")).status_code
                for n in range(2)]
    refused = client.post(path, data=data("person2@example.com"))

    assert statuses == [served, served]
    assert_asked_to_wait(refused)


@pytest.mark.parametrize("form", FORMS)
def test_a_minute_later_the_form_is_served_again(client, org, frozen_now, form):
    path, data, served = FORMS[form]
    for n in range(2):
        client.post(path, data=data(f"person{n}@example.com"))
    assert client.post(path, data=data("person2@example.com")).status_code == 429

    frozen_now(A_MINUTE_LATER)

    assert client.post(path, data=data("person3@example.com")).status_code == served


@pytest.mark.parametrize("form", FORMS)
def test_the_limit_is_per_client(client, org, form):
    path, data, served = FORMS[form]
    for n in range(2):
        client.post(path, data=data(f"person{n}@example.com"))

    elsewhere = client.post(path, data=data("person2@example.com"), environ_base=ANOTHER_CLIENT)
    here = client.post(path, data=data("person3@example.com"))

    assert elsewhere.status_code == served
    assert here.status_code == 429


# --- Staff sign-in: failed attempts count, successful ones do not ------------------------------


def test_after_two_failed_sign_ins_even_the_right_password_waits(client, org):
    failed = [client.post("/staff/login", data=WRONG_STAFF_PASSWORD) for _ in range(2)]

    refused = client.post("/staff/login", data=RIGHT_STAFF_PASSWORD)

    assert [response.status_code for response in failed] == [422, 422]
    assert all(STAFF_REFUSAL in text_of(response) for response in failed)
    assert_asked_to_wait(refused)
    assert client.get("/staff/").headers["Location"].startswith("/staff/login?")  # signed out


def test_successful_staff_sign_ins_do_not_count(client, org):
    for _ in range(3):
        signed_in = client.post("/staff/login", data=RIGHT_STAFF_PASSWORD)
        assert signed_in.status_code == 302
        assert signed_in.headers["Location"] == "/staff/"
        client.post("/staff/logout")

    # The whole allowance of failures is still there: two are answered, the third waits.
    statuses = [client.post("/staff/login", data=WRONG_STAFF_PASSWORD).status_code
                for _ in range(3)]

    assert statuses == [422, 422, 429]


def test_the_staff_limit_counts_failures_against_any_account(client, org):
    client.post("/staff/login", data=WRONG_STAFF_PASSWORD)
    client.post("/staff/login", data={"email": "priya@example.com", "password": "a guess"})

    refused = client.post("/staff/login", data={"email": "jo@example.com",
                                                "password": factories.PASSWORD})

    assert refused.status_code == 429


# --- Links by email: every request counts, whatever the address --------------------------------


def emails_sent(kind):
    return sorted(db.session.scalars(
        select(OutgoingEmail.recipient).where(OutgoingEmail.kind == kind)))


def test_sign_in_links_for_different_addresses_share_one_allowance(client, org):
    for email in ("alex@example.com", "blake@example.com", "casey@example.com"):
        factories.make_customer(email, "A customer")
    db.session.commit()

    sent = [client.post("/sign-in/link", data=link_request(email))
            for email in ("alex@example.com", "blake@example.com")]
    refused = client.post("/sign-in/link", data=link_request("casey@example.com"))

    assert [response.status_code for response in sent] == [200, 200]
    assert "Check your email" in text_of(sent[0])
    assert "<strong>blake@example.com</strong>" in text_of(sent[1])
    assert_asked_to_wait(refused)
    assert emails_sent("sign_in_link") == ["alex@example.com", "blake@example.com"]


def test_new_accounts_for_different_addresses_share_one_allowance(client, org):
    started = [client.post("/account/new", data=registration(email))
               for email in ("alex@example.com", "blake@example.com")]
    refused = client.post("/account/new", data=registration("casey@example.com"))

    assert [response.status_code for response in started] == [200, 200]
    assert "<strong>alex@example.com</strong>" in text_of(started[0])
    assert_asked_to_wait(refused)
    assert emails_sent("set_password") == ["alex@example.com", "blake@example.com"]
    assert User.by_email("casey@example.com") is None
