"""Customer accounts: guests, passwords and sign-in links.

Nothing here tells a caller whether an address is known: the same answer is given either way.
"""

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from shared.extensions import db
from shared.models import Role, User, normalise_email, utcnow
from shared.services.errors import RuleViolation
from shared.services.mail import external_url, queue_email
from shared.tokens import SET_PASSWORD, SIGN_IN, make_link_token

MIN_PASSWORD_LENGTH = 10


def find_or_create_customer(*, email: str, name: str) -> User:
    """Cases raised with an address belong to that address's person, account or not."""
    user = User.by_email(email)
    if user is None:
        user = User(email=normalise_email(email), name=name.strip(), role=Role.CUSTOMER)
        db.session.add(user)
        db.session.flush()
    return user


def request_sign_in_link(email: str) -> None:
    """Email a sign-in link to a customer we know; silently nothing otherwise."""
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
    complaints. Staff accounts are managed in the back office, never from here.
    """
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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for your password.", field="password"
        )
    user.set_password(password)
    mark_email_verified(user)


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
