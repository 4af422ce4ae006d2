"""Settings, read from the environment once, when the app is created."""

import os
import secrets
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    return int(value) if value not in (None, "") else default


def persistent_secret_key(instance_path: str) -> str:
    """Generate a secret key once and keep it in the instance folder.

    Sessions and magic links then survive restarts without anyone having to set SECRET_KEY.
    """
    key_file = Path(instance_path) / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Created with owner-only permissions: the key signs every magic link.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def settings_from_environment(instance_path: str) -> dict:
    env = os.environ.get
    database_url = env("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'amends.sqlite3'}"
    mail_server = env("MAIL_SERVER") or None
    return {
        "SECRET_KEY": env("SECRET_KEY") or persistent_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # With REDIS_URL, email is sent by an RQ worker (`make worker`); without
        # it, by the web process right after each commit.
        "REDIS_URL": env("REDIS_URL") or None,
        # How often the sweep (escalations at risk, reminders, email retries) runs.
        "SWEEP_INTERVAL_SECONDS": _int(env("SWEEP_INTERVAL_SECONDS"), 60),
        # Mail: without MAIL_SERVER every message is kept in the outbox and shown on the
        # staff mailbox page instead of being sent.
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": _int(env("MAIL_PORT"), 25),
        "MAIL_USE_TLS": _bool(env("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env("MAIL_USE_SSL")),
        "MAIL_USERNAME": env("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER") or "Amends <complaints@amends.example>",
        "MAIL_TIMEOUT": _int(env("MAIL_TIMEOUT"), 10),
        # Flask-Mail silently drops every message when TESTING is on, yet reports success:
        # mail is switched off by leaving MAIL_SERVER unset, never like that.
        "MAIL_SUPPRESS_SEND": False,
        # The address links in emails point to.
        "PUBLIC_BASE_URL": (
            env("PUBLIC_BASE_URL") or f"http://127.0.0.1:{env('PORT') or 5000}"
        ).rstrip("/"),
        "ORGANISATION_NAME": env("ORGANISATION_NAME") or "Amends Demo Ltd",
        # The currency staff redress limits are set in (GBP, EUR or USD).
        "REDRESS_CURRENCY": (env("REDRESS_CURRENCY") or "GBP").upper(),
        "OMBUDSMAN_NAME": env("OMBUDSMAN_NAME") or "the Ombudsman Service",
        "OMBUDSMAN_URL": env("OMBUDSMAN_URL") or "https://www.ombudsman-services.org/",
        "OMBUDSMAN_AFTER_WEEKS": _int(env("OMBUDSMAN_AFTER_WEEKS"), 8),
        "MAGIC_LINK_MAX_AGE_DAYS": _int(env("MAGIC_LINK_MAX_AGE_DAYS"), 14),
        "REOPEN_WINDOW_DAYS": _int(env("REOPEN_WINDOW_DAYS"), 14),
        "UPLOAD_FOLDER": env("UPLOAD_FOLDER") or str(Path(instance_path) / "uploads"),
        "MAX_ATTACHMENT_BYTES": _int(env("MAX_ATTACHMENT_BYTES"), 10 * 1024 * 1024),
        "MAX_ATTACHMENTS": _int(env("MAX_ATTACHMENTS"), 5),
        # Werkzeug refuses larger request bodies before any view runs, losing the text in them.
        # Below it a file over MAX_ATTACHMENT_BYTES is not kept but refused by name on the form,
        # with everything typed kept; so only an absurd body should reach this limit.
        "MAX_CONTENT_LENGTH": _int(
            env("MAX_CONTENT_LENGTH"),
            10
            * _int(env("MAX_ATTACHMENTS"), 5)
            * _int(env("MAX_ATTACHMENT_BYTES"), 10 * 1024 * 1024),
        ),
        "RATELIMIT_ENABLED": _bool(env("RATELIMIT_ENABLED"), True),
        # memory:// counts in each process alone: with several server processes (gunicorn
        # workers, several hosts) use redis://, or each one grants the whole allowance.
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI") or "memory://",
        # Per client address: complaints raised (forms sent back with mistakes do not count).
        "RAISE_CASE_RATE_LIMIT": env("RAISE_CASE_RATE_LIMIT") or "5 per minute;30 per hour",
        # Per client address, on each sign-in page: failed sign-ins.
        "LOGIN_RATE_LIMIT": env("LOGIN_RATE_LIMIT") or "5 per minute;20 per hour",
        # Per account (by the email address typed, known or not), across both sign-in pages:
        # failed sign-ins from any number of addresses.
        "ACCOUNT_SIGN_IN_RATE_LIMIT": env("ACCOUNT_SIGN_IN_RATE_LIMIT") or "10 per hour",
        # Per client address: sign-in links and new accounts together (both send email).
        "LINK_REQUEST_RATE_LIMIT": env("LINK_REQUEST_RATE_LIMIT") or "3 per minute;10 per hour",
        # Staff roles that must sign in with a code from an authenticator app as well as their
        # password; others may choose to. Empty (as `make run` sets it for the demo) for none.
        "TWO_FACTOR_REQUIRED_ROLES": env("TWO_FACTOR_REQUIRED_ROLES", "admin,manager"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env("SESSION_COOKIE_SECURE")),
        # The back office keeps its sign-in in a cookie of its own (sent to /staff only), so
        # that signing in on the portal in the same browser leaves the staff sign-in alone.
        "STAFF_SESSION_COOKIE_NAME": env("STAFF_SESSION_COOKIE_NAME") or "staff_session",
        # A staff sign-in ends after this long without a request (measured to 5 minutes).
        "STAFF_IDLE_TIMEOUT_HOURS": _int(env("STAFF_IDLE_TIMEOUT_HOURS"), 12),
        # A sign-in link works once, then again for this long: mail scanners open links
        # before the person does, and people tap twice.
        "SIGN_IN_LINK_GRACE_MINUTES": _int(env("SIGN_IN_LINK_GRACE_MINUTES"), 10),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # tokens live as long as the session: no lost typing
        "TRUSTED_PROXIES": _int(env("TRUSTED_PROXIES"), 0),
    }
