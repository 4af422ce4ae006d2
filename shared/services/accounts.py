"""Customer accounts: guests, passwords and sign-in links.

Nothing here tells a caller whether an address is known: the same answer is given either way.
"""

from functools import cache

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from shared.extensions import db
from shared.models import Role, User, normalise_email, utcnow
from shared.services.errors import RuleViolation
from shared.services.mail import defer, external_url, queue_email
from shared.tokens import SET_PASSWORD, SIGN_IN, make_link_token

MIN_PASSWORD_LENGTH = 12


def find_or_create_customer(*, email: str, name: str) -> User:
    """Cases raised with an address belong to that address's person, account or not.

    One address, one person: an address is a customer's or a staff member's, never both (the
    back office refuses a staff account for a customer's address, too). A complaint raised with
    a staff address is refused, with a request for a personal one: attached to the staff
    account, it would be handled, and read in the portal, as that colleague's own complaint.
    The message does not say whose address it is.
    """
    user = User.by_email(email)
    if user is not None and not user.is_customer:
        raise RuleViolation(
            "This email address cannot be used to raise a complaint. Please use your personal"
            " email address: we will write to you there.",
            field="email",
        )
    if user is None:
        user = User(email=normalise_email(email), name=name.strip(), role=Role.CUSTOMER)
        db.session.add(user)
        db.session.flush()
    return user


def request_sign_in_link(email: str) -> None:
    """Email a sign-in link to a customer we know; silently nothing otherwise.

    The address is looked up, and the email built, after the request: it then takes as long
    for an address we know as for one we don't, and its timing tells nobody who has an account.
    """
    defer("shared.services.accounts.email_sign_in_link", email=email)


def email_sign_in_link(email: str) -> None:
    """The work of request_sign_in_link, run in the background."""
    user = User.by_email(email)
    if user is None or not user.is_customer or not user.active:
        return
    queue_email(
        "sign_in_link",
        user.email,
        "Your link to sign in",
        customer_name=user.name,
        sign_in_url=external_url("portal.magic_link", token=make_link_token(SIGN_IN, user)),
        max_age_days=current_app.config["MAGIC_LINK_MAX_AGE_DAYS"],
    )


def register_customer(*, name: str, email: str) -> None:
    """Start an account, or reset a forgotten password: both by a link sent to the address.

    Only whoever reads that inbox can choose the password, so nobody can claim someone else's
    complaints. Staff accounts are managed in the back office, never from here. As with
    sign-in links, the work is done after the request, the same for any address.
    """
    defer("shared.services.accounts.email_set_password_link", name=name, email=email)


def email_set_password_link(*, name: str, email: str) -> None:
    """The work of register_customer, run in the background."""
    user = User.by_email(email)
    if user is not None and not user.is_customer:
        return
    user = user or find_or_create_customer(email=email, name=name)
    queue_email(
        "set_password",
        user.email,
        "Choose your password",
        customer_name=name.strip() or user.name,
        set_password_url=external_url(
            "portal.set_password", token=make_link_token(SET_PASSWORD, user)
        ),
    )


def set_password(user: User, password: str) -> None:
    check_password_rules(password)
    user.set_password(password)
    mark_email_verified(user)


def check_password_rules(password: str) -> None:
    """Every password anyone chooses: long enough, and not one that attackers try first."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for your password.", field="password"
        )
    if password.strip().lower() in _common_passwords():
        raise RuleViolation(
            "That password is on a list of common passwords, so it is easy to guess. Choose"
            " another: a few unrelated words together are long and easy to remember.",
            field="password",
        )


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from leaked lists, as zxcvbn ships them; loaded once,
    on first use, as the list is large."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def mark_email_verified(user: User) -> None:
    """Following a link sent to the address proves the person reads that inbox."""
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()


# Checked when the address is unknown, so that a wrong address takes as long as a wrong password.
_UNKNOWN_USER_HASH = generate_password_hash("no such user")


def authenticate(email: str, password: str) -> User | None:
    user = User.by_email(email)
    if user is None or user.password_hash is None:
        check_password_hash(_UNKNOWN_USER_HASH, password)
        return None
    if not user.active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    return user
