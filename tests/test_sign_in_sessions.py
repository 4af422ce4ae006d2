"""Sessions kept on the server, single-use sign-in links, and a sign-in per face.

A session ends when its person signs out, signs out everywhere or gets a new password, and a
staff session when left idle; a copy of its cookie then signs nobody in. A sign-in link works
once (and again for a short grace), and not at all after a new password. The portal and the
back office keep their sign-ins apart, in the same browser.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared import services
from shared.config import settings_from_environment
from shared.extensions import db
from shared.models import Face, SignInSession, UsedSignInLink
from shared.services import accounts
from shared.services.cases import sign_in_url_for
from shared.sweep import run_sweep
from shared.tokens import SET_PASSWORD, make_link_token
from tests import factories
from tests.support.html import text_of
from tests.support.signing_in import sign_in

PORTAL_COOKIE = "session"
STAFF_COOKIE = "staff_session"
MONDAY_MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def link_path(url: str) -> str:
    return url.removeprefix("http://localhost")


def copy_of(app, client, cookie: str, path: str):
    """Another browser holding a copy of `client`'s cookie, as a thief would."""
    value = client.get_cookie(cookie, path=path).value
    thief = app.test_client()
    thief.set_cookie(cookie, value, path=path)
    return thief


def sees_my_complaints(client) -> bool:
    return client.get("/cases").status_code == 200


def sees_the_back_office(client) -> bool:
    return client.get("/staff/").status_code == 200


def staff_signs_in(client, member):
    response = client.post(
        "/staff/login", data={"email": member.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302, text_of(response)
    return client


# --- Signing out ends the session, wherever its cookie is -----------------------------------


def test_a_copied_portal_cookie_is_refused_once_the_customer_signs_out(app, client, customer):
    assert client.get(link_path(sign_in_url_for(customer))).status_code == 302
    thief = copy_of(app, client, PORTAL_COOKIE, "/")
    assert sees_my_complaints(thief)

    client.post("/sign-out")

    assert not sees_my_complaints(thief)
    assert not sees_my_complaints(client)


def test_a_copied_staff_cookie_is_refused_once_the_member_signs_out(app, client, org):
    staff_signs_in(client, org.sam)
    thief = copy_of(app, client, STAFF_COOKIE, "/staff")
    assert sees_the_back_office(thief)

    client.post("/staff/logout")

    assert not sees_the_back_office(thief)
    assert db.session.scalars(select(SignInSession.ended_at)).one() is not None


# --- A new password ends the other sessions ----------------------------------------------------


def test_setting_a_password_ends_the_customers_other_sessions_and_keeps_this_one(app, customer):
    elsewhere = sign_in(app.test_client(), customer)
    here = app.test_client()
    link = make_link_token(SET_PASSWORD, customer)

    new_password = "a brand new passphrase"
    response = here.post(
        f"/account/password/{link}", data={"password": new_password, "confirm": new_password}
    )

    assert response.status_code == 302, text_of(response)
    assert sees_my_complaints(here)
    assert not sees_my_complaints(elsewhere)


def test_a_staff_password_changed_anywhere_ends_the_members_sessions(app, client, org):
    staff_signs_in(client, org.sam)
    accounts.set_password(org.sam, "another long passphrase")
    services.commit()

    assert not sees_the_back_office(client)


# --- Sign out everywhere ------------------------------------------------------------------------


def test_a_customer_signs_out_everywhere(app, customer):
    phone, laptop = sign_in(app.test_client(), customer), sign_in(app.test_client(), customer)

    response = laptop.post("/sign-out/everywhere")

    assert response.status_code == 302
    assert "You have signed out on every device and browser." in text_of(
        laptop.get(response.headers["Location"])
    )
    assert not sees_my_complaints(phone)
    assert not sees_my_complaints(laptop)


def test_a_staff_member_signs_out_everywhere_and_others_stay_signed_in(app, org):
    phone, laptop = sign_in(app.test_client(), org.sam), sign_in(app.test_client(), org.sam)
    colleague = sign_in(app.test_client(), org.priya)

    response = laptop.post("/staff/sign-out/everywhere")

    assert response.headers["Location"] == "/staff/login"
    assert not sees_the_back_office(phone)
    assert not sees_the_back_office(laptop)
    assert sees_the_back_office(colleague)


def test_sign_out_everywhere_is_offered_on_my_complaints_and_every_staff_page(app, customer, org):
    assert 'action="/sign-out/everywhere"' in text_of(
        sign_in(app.test_client(), customer).get("/cases")
    )
    assert 'action="/staff/sign-out/everywhere"' in text_of(
        sign_in(app.test_client(), org.sam).get("/staff/")
    )


# --- Idle staff sessions end ----------------------------------------------------------------


def test_staff_sessions_end_after_twelve_idle_hours_unless_told(monkeypatch, tmp_path):
    monkeypatch.delenv("STAFF_IDLE_TIMEOUT_HOURS", raising=False)
    monkeypatch.setenv("SECRET_KEY", "a key")

    assert settings_from_environment(str(tmp_path))["STAFF_IDLE_TIMEOUT_HOURS"] == 12


@pytest.mark.parametrize("app_config", [{"STAFF_IDLE_TIMEOUT_HOURS": 12}])
def test_a_staff_session_ends_after_twelve_idle_hours_and_lives_while_used(
    app, client, org, customer, frozen_now
):
    frozen_now(MONDAY_MORNING)
    sign_in(client, org.sam)
    customer_browser = sign_in(app.test_client(), customer)

    frozen_now(MONDAY_MORNING + timedelta(hours=11, minutes=55))
    assert sees_the_back_office(client)  # in use: idle from here on
    frozen_now(MONDAY_MORNING + timedelta(hours=23, minutes=50))
    assert sees_the_back_office(client)
    frozen_now(MONDAY_MORNING + timedelta(hours=35, minutes=51))

    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    assert sees_my_complaints(customer_browser)  # customers are not timed out


@pytest.mark.parametrize("app_config", [{"STAFF_IDLE_TIMEOUT_HOURS": 12}])
def test_a_page_left_open_refreshing_itself_does_not_keep_a_staff_session_alive(
    app, client, org, frozen_now
):
    frozen_now(MONDAY_MORNING)
    sign_in(client, org.sam)
    refresh = {"HX-Request": "true"}

    for hours in (4, 8, 11):
        frozen_now(MONDAY_MORNING + timedelta(hours=hours))
        assert client.get("/staff/notifications/count", headers=refresh).status_code == 200
    frozen_now(MONDAY_MORNING + timedelta(hours=12, minutes=1))

    assert client.get("/staff/notifications/count", headers=refresh).status_code == 286
    assert not sees_the_back_office(client)


class TestAnIdleTimeoutOfOneHour:
    @pytest.fixture
    def app_config(self):
        return {"STAFF_IDLE_TIMEOUT_HOURS": 1}

    def test_the_timeout_is_a_setting(self, client, org, frozen_now):
        frozen_now(MONDAY_MORNING)
        sign_in(client, org.sam)

        frozen_now(MONDAY_MORNING + timedelta(minutes=59))
        assert sees_the_back_office(client)
        frozen_now(MONDAY_MORNING + timedelta(minutes=59 + 61))
        assert not sees_the_back_office(client)


# --- Sign-in links work once ---------------------------------------------------------------


def test_a_sign_in_link_works_once_again_within_ten_minutes_and_never_after(app, case, frozen_now):
    frozen_now(MONDAY_MORNING)
    link = link_path(sign_in_url_for(case.customer, case))
    # A mail scanner opens the link first; then the customer, in their own browser.
    scanner, customer_browser, later = (app.test_client() for _ in range(3))
    assert scanner.get(link).status_code == 302

    frozen_now(MONDAY_MORNING + timedelta(minutes=9))
    response = customer_browser.get(link)
    assert response.headers["Location"] == f"/cases/{case.reference}"
    assert sees_my_complaints(customer_browser)

    frozen_now(MONDAY_MORNING + timedelta(minutes=11))
    refused = later.get(link)
    assert refused.status_code == 410
    assert "This link has already been used" in text_of(refused)
    assert 'action="/sign-in/link"' in text_of(refused)
    assert not sees_my_complaints(later)
    # Followed again in the browser it signed in, it simply opens the case.
    assert customer_browser.get(link).headers["Location"] == f"/cases/{case.reference}"


def test_after_signing_out_the_link_does_not_sign_in_again(client, case):
    link = link_path(sign_in_url_for(case.customer, case))
    client.get(link)
    client.post("/sign-out")

    assert client.get(link).status_code == 410
    assert not sees_my_complaints(client)


def test_links_sent_before_a_new_password_are_refused(app, client, customer):
    sign_in_link = link_path(sign_in_url_for(customer))
    set_password_link = f"/account/password/{make_link_token(SET_PASSWORD, customer)}"
    accounts.set_password(customer, "a brand new passphrase")
    services.commit()

    refused = client.get(sign_in_link)
    assert refused.status_code == 410
    assert "This link is no longer valid" in text_of(refused)
    assert not sees_my_complaints(client)
    assert client.get(set_password_link).status_code == 400
    # A link sent after the new password works.
    assert client.get(link_path(sign_in_url_for(customer))).status_code == 302
    assert sees_my_complaints(client)


# --- The two faces keep their own sign-in ----------------------------------------------------


def test_a_customers_link_followed_in_an_admins_browser_leaves_the_admin_signed_in(
    client, org, customer
):
    staff_signs_in(client, org.admin)
    assert client.get("/staff/mailbox").status_code == 200

    assert client.get(link_path(sign_in_url_for(customer))).status_code == 302

    assert sees_the_back_office(client)
    assert client.get("/staff/mailbox").status_code == 200
    assert sees_my_complaints(client)
    # Signing out of one face leaves the other signed in.
    client.post("/sign-out")
    assert sees_the_back_office(client)
    assert not sees_my_complaints(client)


def test_a_portal_cookie_is_not_sent_to_the_back_office_as_its_own(app, client, org, customer):
    """The back office's cookie is its own, and a portal session is refused there even if
    its cookie is copied into the back office's."""
    sign_in(client, customer)
    portal_cookie = client.get_cookie(PORTAL_COOKIE).value
    client.set_cookie(STAFF_COOKIE, portal_cookie, path="/staff")

    response = client.get("/staff/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_each_session_notes_its_browser_in_a_few_words(client, customer):
    firefox_on_windows = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
    )

    client.get(link_path(sign_in_url_for(customer)), headers={"User-Agent": firefox_on_windows})

    assert db.session.scalars(select(SignInSession.user_agent)).one() == "Firefox on Windows"


# --- The sweep forgets what can no longer sign anyone in ----------------------------------


def test_the_sweep_forgets_ended_and_expired_sessions_and_links_past_their_age(
    app, case, frozen_now
):
    frozen_now(MONDAY_MORNING)
    signs_out, stays = app.test_client(), app.test_client()
    signs_out.get(link_path(sign_in_url_for(case.customer, case)))
    signs_out.post("/sign-out")
    sign_in(stays, case.customer, faces=[Face.PORTAL])

    def left(now):
        run_sweep(now)
        return (
            len(db.session.scalars(select(SignInSession)).all()),
            len(db.session.scalars(select(UsedSignInLink)).all()),
        )

    assert left(MONDAY_MORNING + timedelta(days=6)) == (2, 1)
    # The ended session has been kept a week; the other was last seen within 31 days.
    assert left(MONDAY_MORNING + timedelta(days=8)) == (1, 1)
    # The link's signature expires after 14 days: its nonce is no longer needed.
    assert left(MONDAY_MORNING + timedelta(days=15)) == (1, 0)
    # No cookie of the other session can be read after 31 days without a visit.
    assert left(MONDAY_MORNING + timedelta(days=32)) == (0, 0)
