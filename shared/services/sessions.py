"""Sign-in sessions and single-use sign-in links: starting, ending, and following them.

A session lives on the server, so that signing out, "sign out everywhere" and a new password
end it wherever its cookie has been copied. Nothing here commits: the caller does.
"""

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.extensions import db
from shared.models import SignInSession, UsedSignInLink, User, utcnow
from shared.tokens import password_marker

# Browsers and systems worth naming on a session, most specific first ("Edg" also says
# "Chrome"; Chrome also says "Safari").
_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def describe_user_agent(user_agent: str) -> str:
    """A few words on the browser ("Firefox on Windows"), or the start of what it sent."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return _UNPRINTABLE.sub("", browser or system or user_agent)[:200]


def start_session(user: User, face: str, *, user_agent: str = "") -> str:
    """A new session for `user` on one face; returns the token its cookie carries."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        SignInSession(
            token_hash=token_hash(token),
            user_id=user.id,
            face=face,
            password_marker=password_marker(user.password_hash),
            user_agent=describe_user_agent(user_agent),
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


def end_session(token: str) -> None:
    db.session.execute(
        update(SignInSession)
        .where(SignInSession.token_hash == token_hash(token), SignInSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def sign_out_everywhere(user: User) -> None:
    """End every session of the person, this one included, and close the grace of the links
    they have followed."""
    db.session.execute(
        update(SignInSession)
        .where(SignInSession.user_id == user.id, SignInSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    close_link_grace(user)


def close_link_grace(user: User) -> None:
    """Signing out ends the grace of the links that signed the person in: on a shared
    computer, the next person cannot open the same link again from the browser's history."""
    now = utcnow()
    db.session.execute(
        update(UsedSignInLink)
        .where(UsedSignInLink.user_id == user.id, UsedSignInLink.reusable_until > now)
        .values(reusable_until=now)
    )


def follow_sign_in_link(nonce: str, user: User, *, grace: timedelta) -> bool:
    """Record that the link `nonce` was followed; True if it may still sign `user` in.

    A link works once, and then again for `grace` after its first use: mail scanners open
    the links in a message before the person does, and a person may tap a link twice."""
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # Two requests following the link at once both find it unused: the database decides.
    db.session.execute(
        insert(UsedSignInLink)
        .values(nonce=nonce, user_id=user.id, first_used_at=now, reusable_until=now + grace)
        .on_conflict_do_nothing(index_elements=["nonce"])
    )
    used = db.session.scalars(
        select(UsedSignInLink)
        .where(UsedSignInLink.nonce == nonce)
        .execution_options(populate_existing=True)
    ).one()
    return used.user_id == user.id and now <= used.reusable_until


# Ended sessions stay a week, for whoever looks into a sign-in that went wrong.
ENDED_SESSIONS_KEPT = timedelta(days=7)


def forget_finished_sign_ins(now, *, session_lifetime: timedelta, link_max_age: timedelta) -> None:
    """Delete sessions no cookie can use any more and links whose signature has expired.

    A session cookie older than `session_lifetime` is refused when it is read, so its row can
    go; a link older than `link_max_age` is refused by its signature, so its nonce can go."""
    db.session.execute(
        delete(SignInSession).where(
            or_(
                SignInSession.ended_at < now - ENDED_SESSIONS_KEPT,
                SignInSession.last_seen_at < now - session_lifetime,
            )
        )
    )
    db.session.execute(
        delete(UsedSignInLink).where(UsedSignInLink.first_used_at < now - link_max_age)
    )
