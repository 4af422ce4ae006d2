"""Every password anyone chooses is at least 12 characters and not a common one, wherever it
is chosen: a customer's link, a colleague's invitation, the demo accounts."""

import pytest

from shared.demo import DEMO_PASSWORD
from shared.extensions import db
from shared.models import Role, User
from shared.services import RuleViolation, accounts
from shared.tokens import SET_PASSWORD, make_link_token
from tests import factories
from tests.support.html import error_beside

TOO_SHORT = "eleven char"  # 11 characters
COMMON = "qwerty123456"  # long enough, and among the most used passwords there are
COMMON_MESSAGE = "That password is on a list of common passwords"


@pytest.mark.parametrize("password", [TOO_SHORT, "short"])
def test_a_password_under_twelve_characters_is_refused(password):
    with pytest.raises(RuleViolation, match="Use at least 12 characters") as refused:
        accounts.check_password_rules(password)
    assert refused.value.field == "password"


@pytest.mark.parametrize("password", [COMMON, "QWERTY123456", "1q2w3e4r5t6y", "leavemealone"])
def test_a_common_password_is_refused_whatever_its_capitals(password):
    with pytest.raises(RuleViolation, match=COMMON_MESSAGE):
        accounts.check_password_rules(password)


@pytest.mark.parametrize(
    "password", [DEMO_PASSWORD, factories.PASSWORD, "purple kettle on a bicycle"]
)
def test_long_uncommon_passwords_are_accepted(password):
    accounts.check_password_rules(password)


def choose(client, path, password):
    return client.post(path, data={"password": password, "confirm": password})


@pytest.mark.parametrize(
    ("password", "message"),
    [(TOO_SHORT, "Use at least 12 characters"), (COMMON, COMMON_MESSAGE)],
)
def test_a_customer_choosing_a_password_is_told_the_rule(client, org, password, message):
    casey = factories.make_customer("casey@example.com", "Casey Jones", password=None)
    db.session.commit()
    path = f"/account/password/{make_link_token(SET_PASSWORD, casey)}"

    response = choose(client, path, password)

    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "password").startswith(message)
    assert not User.by_email("casey@example.com").has_password


@pytest.mark.parametrize(
    ("password", "message"),
    [(TOO_SHORT, "Use at least 12 characters"), (COMMON, COMMON_MESSAGE)],
)
def test_a_colleague_choosing_a_password_is_told_the_rule(client, org, password, message):
    kim = factories.make_user("kim@example.com", "Kim Novak", Role.AGENT, org.care, password=None)
    db.session.commit()
    path = f"/staff/account/password/{make_link_token(SET_PASSWORD, kim)}"

    response = choose(client, path, password)

    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "password").startswith(message)
    assert not User.by_email("kim@example.com").has_password
