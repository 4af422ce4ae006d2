"""Two-step sign-in for staff: setting up an authenticator app, signing in with its code or a
recovery code, the roles that must use it, and an admin's reset."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from shared.extensions import db
from shared.models import StaffRecoveryCode, StaffTwoFactor
from shared.services import RuleViolation
from shared.services import two_factor as second_step
from tests import factories
from tests.support.html import error_beside, text_of

MOMENT = datetime(2026, 12, 2, 10, 0, 10, tzinfo=UTC)  # 10 s into a 30-second step
STEP = timedelta(seconds=30)
RECOVERY_CODE = re.compile(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>")


@pytest.fixture(autouse=True)
def still_clock(frozen_now):
    """Codes change every 30 seconds: the clock stands still unless a test moves it."""
    frozen_now(MOMENT)
    return frozen_now


def sign_in_with_password(client, user):
    return client.post("/staff/login", data={"email": user.email, "password": factories.PASSWORD})


def code_for(user, at=None) -> str:
    secret = db.session.get(StaffTwoFactor, user.id).secret
    return pyotp.TOTP(secret).at(at or datetime.now(UTC))


def set_up(client, user) -> list[str]:
    """Set up an authenticator app from the staff pages: the recovery codes shown once."""
    page = client.get("/staff/account/two-step/setup")
    assert page.status_code == 200
    response = client.post("/staff/account/two-step/setup", data={"code": code_for(user)})
    assert response.status_code == 200, text_of(response)[:500]
    return RECOVERY_CODE.findall(response.get_data(as_text=True))


def enrolled(user):
    """Set up directly, as if months ago: a code of the current step has not been used."""
    second_step.start_enrolment(user)
    enrolment = db.session.get(StaffTwoFactor, user.id)
    enrolment.confirmed_at = MOMENT - timedelta(days=90)
    codes = second_step.regenerate_recovery_codes(user)
    db.session.commit()
    return codes


def is_signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


# --- Setting up -----------------------------------------------------------------------------


def test_setting_up_shows_a_qr_code_and_the_key_then_ten_recovery_codes(client, org, login_as):
    login_as(org.sam)

    page = client.get("/staff/account/two-step/setup")

    html = page.get_data(as_text=True)
    secret = db.session.get(StaffTwoFactor, org.sam.id).secret
    assert "<svg" in html and "QR code to scan with your authenticator app" in html
    assert secret[:4] in html.replace(" ", "")
    assert not second_step.is_enrolled(org.sam)
    assert client.get("/staff/account/two-step/setup").get_data(as_text=True).count(secret[:4])

    codes = set_up(client, org.sam)

    assert len(set(codes)) == 10
    assert second_step.is_enrolled(org.sam)
    stored = db.session.scalars(
        db.select(StaffRecoveryCode.code_hash).where(StaffRecoveryCode.user_id == org.sam.id)
    ).all()
    assert len(stored) == 10 and not any(code.replace("-", "") in stored for code in codes)
    settings = text_of(client.get("/staff/account/two-step"))
    assert "10 unused" in settings
    assert secret[:4] not in settings.replace(" ", "")


def test_a_wrong_code_does_not_turn_it_on(client, org, login_as):
    login_as(org.sam)
    client.get("/staff/account/two-step/setup")

    response = client.post("/staff/account/two-step/setup", data={"code": "000000"})

    assert response.status_code == 422
    assert "That code is not right" in error_beside(response.get_data(as_text=True), "code")
    assert not second_step.is_enrolled(org.sam)


# --- Signing in -----------------------------------------------------------------------------


def test_with_an_app_set_up_the_password_alone_does_not_sign_in(client, org, still_clock):
    enrolled(org.sam)

    password = sign_in_with_password(client, org.sam)

    assert password.status_code == 302
    assert password.headers["Location"].endswith("/staff/login/code")
    assert not is_signed_in(client)

    code_page = client.get("/staff/login/code")
    assert code_page.status_code == 200
    signed = client.post("/staff/login/code", data={"code": code_for(org.sam)})
    assert signed.status_code == 302
    assert signed.headers["Location"].endswith("/staff/")
    assert is_signed_in(client)


def test_the_code_from_the_step_before_or_after_is_accepted(client, org, still_clock):
    enrolled(org.sam)
    sign_in_with_password(client, org.sam)

    signed = client.post("/staff/login/code", data={"code": code_for(org.sam, MOMENT - STEP)})

    assert signed.status_code == 302
    assert is_signed_in(client)


def wrong_code(user) -> str:
    """A code of the app's, but from minutes ahead: not one accepted now."""
    valid = {code_for(user, MOMENT + offset * STEP) for offset in (-1, 0, 1)}
    return next(
        code_for(user, MOMENT + n * STEP)
        for n in range(3, 20)
        if code_for(user, MOMENT + n * STEP) not in valid
    )


def test_a_wrong_code_is_refused(client, org):
    enrolled(org.sam)
    sign_in_with_password(client, org.sam)
    wrong = wrong_code(org.sam)

    refused = client.post("/staff/login/code", data={"code": wrong})

    assert refused.status_code == 422
    assert "That code is not right" in error_beside(refused.get_data(as_text=True), "code")
    assert input_kept(refused, wrong)
    assert not is_signed_in(client)


def input_kept(response, typed: str) -> bool:
    return f'value="{typed}"' in response.get_data(as_text=True)


def test_a_code_already_used_is_refused(client, org):
    enrolled(org.sam)
    sign_in_with_password(client, org.sam)
    code = code_for(org.sam)
    assert client.post("/staff/login/code", data={"code": code}).status_code == 302
    client.post("/staff/logout")

    sign_in_with_password(client, org.sam)
    replayed = client.post("/staff/login/code", data={"code": code})

    assert replayed.status_code == 422
    assert "already been used" in error_beside(replayed.get_data(as_text=True), "code")
    assert not is_signed_in(client)


def test_a_recovery_code_signs_in_once(client, org):
    codes = enrolled(org.sam)

    sign_in_with_password(client, org.sam)
    first = client.post("/staff/login/code", data={"code": codes[0].upper()})
    assert first.status_code == 302
    assert is_signed_in(client)
    client.post("/staff/logout")

    sign_in_with_password(client, org.sam)
    again = client.post("/staff/login/code", data={"code": codes[0]})

    assert again.status_code == 422
    assert not is_signed_in(client)
    assert second_step.unused_recovery_code_count(org.sam) == 9


def test_the_code_page_asks_for_the_password_again_after_five_minutes(client, org, still_clock):
    enrolled(org.sam)
    sign_in_with_password(client, org.sam)
    later = still_clock(MOMENT + timedelta(minutes=6))

    response = client.post("/staff/login/code", data={"code": code_for(org.sam, later)})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/login")
    assert not is_signed_in(client)


def test_the_code_page_needs_a_right_password_first(client, org):
    enrolled(org.sam)

    response = client.post("/staff/login/code", data={"code": code_for(org.sam)})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/login")
    assert not is_signed_in(client)


# --- Who must use it ------------------------------------------------------------------------


class TestTheRolesThatMustUseIt:
    @pytest.fixture
    def app_config(self):
        return {"TWO_FACTOR_REQUIRED_ROLES": "admin,manager"}

    def test_a_manager_reaches_no_staff_page_before_setting_it_up(self, client, org):
        sign_in_with_password(client, org.manager)

        for path in ("/staff/", "/staff/approvals", "/staff/account/two-step"):
            response = client.get(path)
            assert response.status_code == 302, path
            assert response.headers["Location"].endswith("/staff/account/two-step/setup")
        assert "must sign in in two steps" in text_of(client.get("/staff/account/two-step/setup"))

        set_up(client, org.manager)

        assert client.get("/staff/").status_code == 200

    def test_htmx_requests_before_setting_it_up_change_nothing_or_go_to_the_setup(
        self, client, org, case
    ):
        sign_in_with_password(client, org.manager)
        htmx = {"HX-Request": "true"}

        polled = client.get("/staff/notifications/count", headers=htmx)
        acted = client.post(f"/staff/cases/{case.reference}/acknowledge", headers=htmx)

        assert polled.status_code == 204 and polled.get_data() == b""
        assert acted.status_code == 204
        assert acted.headers["HX-Redirect"] == "/staff/account/two-step/setup"

    def test_an_agent_may_use_it_or_not(self, client, org):
        sign_in_with_password(client, org.sam)
        assert client.get("/staff/").status_code == 200

        set_up(client, org.sam)
        turned_off = client.post("/staff/account/two-step/off")

        assert turned_off.status_code == 302
        assert not second_step.is_enrolled(org.sam)
        assert client.get("/staff/").status_code == 200

    def test_a_manager_cannot_turn_it_off(self, client, org, login_as):
        enrolled(org.manager)
        login_as(org.manager)

        client.post("/staff/account/two-step/off")

        assert second_step.is_enrolled(org.manager)
        assert "cannot be turned off" in text_of(client.get("/staff/account/two-step"))


@pytest.mark.parametrize(
    ("setting", "agent_must", "manager_must", "admin_must"),
    [
        ("admin,manager", False, True, True),
        ("", False, False, False),
        ("agent, admin", True, False, True),
        ("none", False, False, False),
    ],
)
def test_the_setting_says_which_roles_must_use_it(
    app, org, setting, agent_must, manager_must, admin_must
):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = setting

    assert second_step.is_required_for(org.sam) is agent_must
    assert second_step.is_required_for(org.manager) is manager_must
    assert second_step.is_required_for(org.admin) is admin_must


def test_a_setting_naming_no_staff_role_is_refused(app, org):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = "admins"

    with pytest.raises(ValueError, match="admins"):
        second_step.is_required_for(org.sam)


def test_with_the_setting_empty_a_manager_signs_in_with_the_password_alone(client, org):
    sign_in_with_password(client, org.manager)

    assert client.get("/staff/").status_code == 200


# --- Recovery codes and an admin's reset ----------------------------------------------------


def test_new_recovery_codes_replace_the_old_ones(client, org, login_as):
    old = enrolled(org.sam)
    login_as(org.sam)

    response = client.post("/staff/account/two-step/recovery-codes")

    new = RECOVERY_CODE.findall(response.get_data(as_text=True))
    assert response.status_code == 200 and len(new) == 10
    assert response.headers["Cache-Control"] == "no-store"
    client.post("/staff/logout")
    sign_in_with_password(client, org.sam)
    assert client.post("/staff/login/code", data={"code": old[0]}).status_code == 422
    assert client.post("/staff/login/code", data={"code": new[0]}).status_code == 302


def test_an_admin_resets_someones_second_step(client, org, login_as):
    enrolled(org.sam)
    login_as(org.admin)
    page = text_of(client.get(f"/staff/admin/staff/{org.sam.id}"))
    assert "Reset two-step sign-in" in page

    response = client.post(f"/staff/admin/staff/{org.sam.id}/two-step/reset")

    assert response.status_code == 302
    assert "two-step sign-in is reset" in text_of(client.get(response.headers["Location"]))
    assert db.session.get(StaffTwoFactor, org.sam.id) is None
    assert second_step.unused_recovery_code_count(org.sam) == 0


def test_only_an_admin_may_reset(client, org, login_as):
    enrolled(org.sam)
    login_as(org.manager)

    response = client.post(f"/staff/admin/staff/{org.sam.id}/two-step/reset")

    assert response.status_code == 403
    assert second_step.is_enrolled(org.sam)
    with pytest.raises(RuleViolation):
        second_step.reset(org.sam, actor=org.manager)


# --- Guessing codes -------------------------------------------------------------------------


class TestGuessingCodes:
    @pytest.fixture
    def app_config(self):
        return {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "50 per minute",
            "ACCOUNT_SIGN_IN_RATE_LIMIT": "3 per hour",
        }

    def test_wrong_codes_count_against_the_accounts_failed_sign_ins(self, client, org):
        enrolled(org.sam)
        assert sign_in_with_password(client, org.sam).status_code == 302

        answers = [
            client.post("/staff/login/code", data={"code": wrong_code(org.sam)}).status_code
            for _ in range(4)
        ]

        assert answers == [422, 422, 422, 429]
        # The account's allowance is spent from any address, on the password page too.
        from_elsewhere = client.post(
            "/staff/login",
            data={"email": org.sam.email, "password": factories.PASSWORD},
            environ_base={"REMOTE_ADDR": "203.0.113.7"},
        )
        assert from_elsewhere.status_code == 429
