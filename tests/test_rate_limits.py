"""Rate limits on the staff sign-in, sign-in links and new accounts: what each one counts, what
the person over the limit is told (and for how long, in Retry-After), and that the form works
again once the minute is over. Also the per-account limit on failed sign-ins.

The limits on raising complaints and on the customers' sign-in are tested beside the other
defences of the portal, in test_portal_security.py; bursts of requests sent at once, against a
real server, in test_rate_limits_burst.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared import ratelimits
from shared.extensions import db
from shared.models import OutgoingEmail, User
from shared.ratelimits import describe_wait
from tests import factories
from tests.support.html import text_of
from tests.support.services import REDIS_TEST_URL

LIMIT = "2 per minute"
# The clock stands still, so a slow run cannot cross into the next minute's allowance.
MOMENT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
A_MINUTE_LATER = MOMENT + timedelta(seconds=61)
ANOTHER_CLIENT = {"REMOTE_ADDR": "203.0.113.7"}

WAIT_TITLE = "Please wait a moment"
WAIT_ADVICE = (
    "You have tried this several times in a short time. Please wait a minute and try again."
)
ACCOUNT_LIMIT = "3 per hour"
STAFF_REFUSAL = "That email address and password do not match a staff account."

RIGHT_STAFF_PASSWORD = {"email": "sam@example.com", "password": factories.PASSWORD}
WRONG_STAFF_PASSWORD = {"email": "sam@example.com", "password": "not my password"}


@pytest.fixture
def app_config():
    return {
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": LIMIT,
        "LINK_REQUEST_RATE_LIMIT": LIMIT,
        "ACCOUNT_SIGN_IN_RATE_LIMIT": ACCOUNT_LIMIT,
    }


@pytest.fixture(autouse=True)
def still_clock(frozen_now):
    frozen_now(MOMENT)


def assert_asked_to_wait(response, advice=WAIT_ADVICE, retry_after="60"):
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == retry_after
    assert f"<title>{WAIT_TITLE} – " in html
    assert f'<h1 class="page-title">{WAIT_TITLE}</h1>' in html
    assert advice in text_of(response)
    if response.request.path.startswith("/staff/"):
        assert "Amends back office" in html  # the staff layout, not the customers'
        assert '<a href="/staff/">Go to the back office</a>' in html
    else:
        assert "Amends back office" not in html
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

    statuses = [
        client.post(path, data=data(f"person{n}@example.com")).status_code for n in range(2)
    ]
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
    statuses = [
        client.post("/staff/login", data=WRONG_STAFF_PASSWORD).status_code for _ in range(3)
    ]

    assert statuses == [422, 422, 429]


def test_the_staff_limit_counts_failures_against_any_account(client, org):
    client.post("/staff/login", data=WRONG_STAFF_PASSWORD)
    client.post("/staff/login", data={"email": "priya@example.com", "password": "a guess"})

    refused = client.post(
        "/staff/login", data={"email": "jo@example.com", "password": factories.PASSWORD}
    )

    assert refused.status_code == 429


# --- Links by email: every request counts, whatever the address --------------------------------


def emails_sent(kind):
    return sorted(
        db.session.scalars(select(OutgoingEmail.recipient).where(OutgoingEmail.kind == kind))
    )


def test_sign_in_links_for_different_addresses_share_one_allowance(client, org):
    for email in ("alex@example.com", "blake@example.com", "casey@example.com"):
        factories.make_customer(email, "A customer")
    db.session.commit()

    sent = [
        client.post("/sign-in/link", data=link_request(email))
        for email in ("alex@example.com", "blake@example.com")
    ]
    refused = client.post("/sign-in/link", data=link_request("casey@example.com"))

    assert [response.status_code for response in sent] == [200, 200]
    assert "Check your email" in text_of(sent[0])
    assert "<strong>blake@example.com</strong>" in text_of(sent[1])
    assert_asked_to_wait(refused)
    assert emails_sent("sign_in_link") == ["alex@example.com", "blake@example.com"]


def test_new_accounts_for_different_addresses_share_one_allowance(client, org):
    started = [
        client.post("/account/new", data=registration(email))
        for email in ("alex@example.com", "blake@example.com")
    ]
    refused = client.post("/account/new", data=registration("casey@example.com"))

    assert [response.status_code for response in started] == [200, 200]
    assert "<strong>alex@example.com</strong>" in text_of(started[0])
    assert_asked_to_wait(refused)
    assert emails_sent("set_password") == ["alex@example.com", "blake@example.com"]
    assert User.by_email("casey@example.com") is None


def test_links_and_new_accounts_share_one_allowance(client, org):
    client.post("/sign-in/link", data=link_request("alex@example.com"))
    client.post("/account/new", data=registration("blake@example.com"))

    refused = client.post("/sign-in/link", data=link_request("casey@example.com"))

    assert_asked_to_wait(refused)


@pytest.mark.parametrize("form", ["sign-in link", "new account"])
def test_a_form_sent_back_with_its_mistakes_does_not_count(client, org, form):
    path, data, served = FORMS[form]
    mistakes = [client.post(path, data=data("not an address")).status_code for _ in range(3)]

    statuses = [
        client.post(path, data=data(f"person{n}@example.com")).status_code for n in range(2)
    ]

    assert mistakes == [422] * 3
    assert statuses == [served, served]


# --- How long to wait ---------------------------------------------------------------------------


def test_the_wait_counts_down_to_the_end_of_the_window(client, org, frozen_now):
    for n in range(2):
        client.post("/sign-in/link", data=link_request(f"person{n}@example.com"))

    frozen_now(MOMENT + timedelta(seconds=20))
    refused = client.post("/sign-in/link", data=link_request("person2@example.com"))

    assert_asked_to_wait(
        refused,
        "You have tried this several times in a short time. Please wait 40 seconds and try again.",
        retry_after="40",
    )


# --- Failed sign-ins to one account, from anywhere ------------------------------------------------


# Each attempt from an address of its own: only the account's allowance can refuse it.
def from_address(n):
    return {"REMOTE_ADDR": f"198.51.100.{n}"}


def sign_in(client, n, path, email, password="not my password"):
    return client.post(
        path, data={"email": email, "password": password}, environ_base=from_address(n)
    )


def test_failed_sign_ins_to_one_account_are_refused_whatever_the_address(client, customer):
    failed = [
        sign_in(client, 1, "/sign-in", "alex@example.com"),
        sign_in(client, 2, "/sign-in", " ALEX@example.com "),  # the same account
        sign_in(client, 3, "/staff/login", "alex@example.com"),  # through either page
    ]

    refused = sign_in(client, 4, "/sign-in", "alex@example.com", password=factories.PASSWORD)
    other_account = sign_in(client, 5, "/sign-in", "blake@example.com")

    assert [response.status_code for response in failed] == [422, 422, 422]
    assert_asked_to_wait(
        refused,
        "You have tried this several times in a short time. Please wait 60 minutes and try again.",
        retry_after="3600",
    )
    assert other_account.status_code == 422


def test_staff_accounts_have_the_same_allowance(client, org):
    failed = [sign_in(client, n, "/staff/login", "sam@example.com") for n in range(3)]

    refused = sign_in(client, 3, "/staff/login", "sam@example.com", password=factories.PASSWORD)

    assert [response.status_code for response in failed] == [422, 422, 422]
    assert_asked_to_wait(
        refused,
        "You have tried this several times in a short time. Please wait 60 minutes and try again.",
        retry_after="3600",
    )


def test_an_unknown_address_is_limited_like_a_known_one(client, customer):
    # The answers must not tell which addresses have an account.
    known = [sign_in(client, n, "/sign-in", "alex@example.com").status_code for n in range(4)]
    unknown = [
        sign_in(client, n, "/sign-in", "nobody@example.com").status_code for n in range(4, 8)
    ]

    assert known == unknown == [422, 422, 422, 429]


def test_successful_sign_ins_do_not_use_up_the_accounts_allowance(client, customer):
    for n in range(3):
        client.post("/sign-out")
        signed_in = sign_in(client, n, "/sign-in", "alex@example.com", factories.PASSWORD)
        assert signed_in.status_code == 302

    client.post("/sign-out")
    statuses = [sign_in(client, n, "/sign-in", "alex@example.com").status_code for n in range(3, 7)]

    assert statuses == [422, 422, 422, 429]


# --- Counted in Redis, shared by every server process --------------------------------------------


class TestInRedis:
    @pytest.fixture
    def app_config(self, redis_connection):
        return {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": REDIS_TEST_URL,
            "LOGIN_RATE_LIMIT": LIMIT,
            "LINK_REQUEST_RATE_LIMIT": LIMIT,
            "ACCOUNT_SIGN_IN_RATE_LIMIT": ACCOUNT_LIMIT,
        }

    def test_hits_given_back_are_not_counted(self, client, org):
        for _ in range(3):  # successes and mistakes give their hit back
            assert client.post("/staff/login", data=RIGHT_STAFF_PASSWORD).status_code == 302
            client.post("/staff/logout")
            assert client.post("/sign-in/link", data=link_request("no")).status_code == 422

        statuses = [
            client.post("/staff/login", data=WRONG_STAFF_PASSWORD).status_code for _ in range(3)
        ]

        assert statuses == [422, 422, 429]

    def test_the_refusal_says_when_the_window_ends(self, client, org):
        for n in range(2):
            client.post("/sign-in/link", data=link_request(f"person{n}@example.com"))

        refused = client.post("/sign-in/link", data=link_request("p@example.com"))

        assert refused.status_code == 429
        # Redis keeps time itself: the window started a moment ago, on its clock.
        assert 50 <= int(refused.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "a minute"),
        (61, "2 minutes"),
        (5400, "90 minutes"),
        (5401, "2 hours"),
    ],
)
def test_the_wait_is_described_rounded_up(seconds, words):
    assert describe_wait(seconds) == words


# --- When the shared store is down ------------------------------------------------------------


class TestWhileRedisIsDown:
    @pytest.fixture
    def app_config(self, reserved_port):
        ratelimits._WHILE_STORAGE_IS_DOWN.reset()  # counts of earlier tests in this process
        # A port that refuses connections, as a Redis that is down does.
        return {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{reserved_port.port}",
            "LOGIN_RATE_LIMIT": LIMIT,
            "ACCOUNT_SIGN_IN_RATE_LIMIT": ACCOUNT_LIMIT,
        }

    def test_the_forms_still_work_and_the_limits_hold_in_the_process(self, client, org, caplog):
        assert client.post("/staff/login", data=RIGHT_STAFF_PASSWORD).status_code == 302
        client.post("/staff/logout")

        statuses = [
            client.post("/staff/login", data=WRONG_STAFF_PASSWORD).status_code for _ in range(3)
        ]

        assert statuses == [422, 422, 429]
        assert "Rate limits counted in this process" in caplog.text
