"""A manager's first sign-in where managers must use two-step sign-in, in a real browser: the
password, then setting up an authenticator app from the key on the page, the recovery codes;
then signing in again with the password and a code from the app."""

import re
import time

import pyotp
import pytest

from tests import factories
from tests.browser.test_customer_journey import assert_accessible

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests then (fails them in CI)
    expect = None


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TWO_FACTOR_REQUIRED_ROLES": "admin,manager"}


def sign_in_with_password(page, live_server, email):
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Work email address").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_manager_sets_up_an_authenticator_app_then_signs_in_with_its_code(page, live_server, org):
    email = org.manager.email
    js_errors = []
    page.on("pageerror", lambda error: js_errors.append(error))

    # 1. The password is right, but a manager must set up the second step before anything else.
    sign_in_with_password(page, live_server, email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step sign-in")
    qr_code = page.get_by_role("img", name="QR code to scan with your authenticator app")
    expect(qr_code).to_be_visible()
    assert_accessible(page, "two-step-setup")
    page.goto(f"{live_server}/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step sign-in")

    # 2. Their app is given the key by hand, and they type back the code it shows.
    app = pyotp.TOTP(page.locator(".secret-key").inner_text().replace(" ", ""))
    page.get_by_label("Code from your app").fill(app.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator(".recovery-codes li")
    expect(codes).to_have_count(10)
    assert re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", codes.first.inner_text())
    page.get_by_role("link", name="I have saved my codes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My open cases")

    # 3. Next time: the password, then the code the app shows (its next one: each works once).
    page.get_by_role("button", name=re.compile("^Sign out")).first.click()
    sign_in_with_password(page, live_server, email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    assert_accessible(page, "two-step-code")
    page.get_by_label("Code").fill("000000" if app.now() != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#code-error")).to_contain_text("That code is not right")
    page.get_by_label("Code").fill(app.at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My open cases")
    assert js_errors == []
