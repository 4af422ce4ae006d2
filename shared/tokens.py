"""Signed, expiring tokens for links sent by email (sign-in links, setting a password)."""

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SIGN_IN = "sign-in"
SET_PASSWORD = "set-password"


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


@dataclass(frozen=True)
class LinkClaims:
    user_id: int
    case_reference: str | None
    # A fingerprint of the password hash: changing the password voids set-password links.
    password_marker: str | None


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"amends.{purpose}")


def _password_marker(password_hash: str | None) -> str:
    return (password_hash or "none")[-12:]


def make_link_token(purpose: str, user, case_reference: str | None = None) -> str:
    payload = {"u": user.id, "m": _password_marker(user.password_hash)}
    if case_reference:
        payload["c"] = case_reference
    return _serializer(purpose).dumps(payload)


def read_link_token(purpose: str, token: str, max_age_seconds: int) -> LinkClaims:
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as error:
        raise LinkExpired from error
    except BadSignature as error:
        raise LinkInvalid from error
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise LinkInvalid
    return LinkClaims(payload["u"], payload.get("c"), payload.get("m"))


def password_marker_matches(claims: LinkClaims, user) -> bool:
    return claims.password_marker == _password_marker(user.password_hash)
