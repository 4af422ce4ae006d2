"""Signed, expiring tokens for links sent by email (sign-in links, setting a password)."""

import hashlib
import secrets
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
    # A fingerprint of the password hash: setting or changing the password voids every link
    # issued before, sign-in links and set-password links alike.
    password_marker: str | None
    # Names this one link, so that following it can be recorded: sign-in links work once.
    nonce: str | None


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"amends.{purpose}")


def password_marker(password_hash: str | None) -> str:
    """A short fingerprint of the password hash that changes with the password.

    Links are signed, not encrypted: the fingerprint is a digest, so no part of the hash
    itself travels in an email or sits in the sessions table."""
    return hashlib.sha256((password_hash or "none").encode()).hexdigest()[:16]


def make_link_token(purpose: str, user, case_reference: str | None = None) -> str:
    payload = {
        "u": user.id,
        "m": password_marker(user.password_hash),
        "n": secrets.token_urlsafe(16),
    }
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
    nonce = payload.get("n")
    return LinkClaims(
        payload["u"],
        payload.get("c"),
        payload.get("m"),
        nonce if isinstance(nonce, str) and 0 < len(nonce) <= 32 else None,
    )


def password_marker_matches(claims: LinkClaims, user) -> bool:
    return claims.password_marker == password_marker(user.password_hash)
