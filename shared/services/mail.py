"""Email: queued in the outbox with the change that causes it, delivered after the commit.

A failed send loses nothing: the row stays pending and is retried with backoff; every
attempt's outcome goes on the case timeline.
"""

import logging
import smtplib
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_mail import Connection, Message
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from shared.extensions import db
from shared.models import (
    Case,
    EmailStatus,
    EventKind,
    OutgoingEmail,
    User,
    Visibility,
    utcnow,
)
from shared.services.errors import RuleViolation
from shared.services.timeline import record_event

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# While one process sends a message, others leave it alone for this long.
SEND_LEASE = timedelta(minutes=2)
_QUEUED_KEY = "amends.queued_email_ids"


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an email, built on the configured public address.

    Never on the request's Host header: a forged Host would otherwise send a customer's
    sign-in link to someone else's site.
    """
    base = current_app.config["PUBLIC_BASE_URL"]
    # Built from the URL map directly, so it works in commands and workers too.
    path = current_app.url_map.bind(urlsplit(base).netloc).build(endpoint, values)
    return base + path


def queue_email(
    kind: str, recipient: str, subject: str, *, case: Case | None = None, **context
) -> OutgoingEmail:
    """Render templates/email/<kind>.txt and .html and add the message to the outbox."""
    context.update(subject=subject, case=case, organisation=current_app.config["ORGANISATION_NAME"])
    message = OutgoingEmail(
        case=case,
        kind=kind,
        recipient=recipient,
        subject=subject,
        text_body=render_template(f"email/{kind}.txt", **context),
        html_body=render_template(f"email/{kind}.html", **context),
    )
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(_QUEUED_KEY, []).append(message.id)
    return message


def take_queued_ids() -> list[int]:
    return db.session.info.pop(_QUEUED_KEY, [])


def forget_queued() -> None:
    db.session.info.pop(_QUEUED_KEY, None)


def deliver_due(limit: int = 50) -> int:
    """Deliver pending messages whose time has come; returns how many were handed over."""
    ids = db.session.scalars(
        select(OutgoingEmail.id)
        .where(
            OutgoingEmail.status == EmailStatus.PENDING,
            OutgoingEmail.next_attempt_at <= utcnow(),
        )
        .order_by(OutgoingEmail.next_attempt_at)
        .limit(limit)
    ).all()
    return deliver(ids)


def deliver(ids: list[int]) -> int:
    delivered = 0
    for email_id in ids:
        if _claim(email_id):
            delivered += _send_claimed(email_id)
    return delivered


def _claim(email_id: int) -> bool:
    """Take a message for sending, so that two processes never send the same one."""
    now = utcnow()
    claimed = db.session.execute(
        update(OutgoingEmail)
        .where(
            OutgoingEmail.id == email_id,
            OutgoingEmail.status == EmailStatus.PENDING,
            OutgoingEmail.next_attempt_at <= now,
        )
        .values(attempts=OutgoingEmail.attempts + 1, next_attempt_at=now + SEND_LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _send_claimed(email_id: int) -> int:
    message = db.session.get(OutgoingEmail, email_id, populate_existing=True)
    mail_server = current_app.config.get("MAIL_SERVER")
    try:
        if mail_server:
            with _TimedConnection(current_app.extensions["mail"]) as connection:
                connection.send(
                    Message(
                        subject=message.subject,
                        recipients=[message.recipient],
                        body=message.text_body,
                        html=message.html_body,
                    )
                )
    except (smtplib.SMTPException, OSError) as error:
        _record_failure(message, error)
        db.session.commit()
        return 0
    message.status = EmailStatus.SENT if mail_server else EmailStatus.KEPT
    message.sent_at = utcnow()
    message.last_error = None
    if message.case is not None:
        record_event(
            message.case,
            EventKind.EMAIL_SENT,
            actor=None,
            visibility=Visibility.INTERNAL,
            body=f"Email “{message.subject}” sent to {message.recipient}."
            if mail_server
            else f"Email “{message.subject}” kept in the mailbox (no mail server set up).",
            data={"email_id": message.id, "kind": message.kind},
        )
    db.session.commit()
    return 1


class _TimedConnection(Connection):
    """Flask-Mail's connection with MAIL_TIMEOUT: a mail server that never answers must not
    hold the request (or the worker) forever; the send fails and is retried later."""

    def configure_host(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp(self.mail.server, self.mail.port, timeout=current_app.config["MAIL_TIMEOUT"])
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def _record_failure(message: OutgoingEmail, error: Exception) -> None:
    log.warning("sending email %s failed: %s", message.id, error)
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    gave_up = message.attempts >= MAX_ATTEMPTS
    if gave_up:
        message.status = EmailStatus.FAILED
    else:
        # 1, 2, 4, 8, 16 minutes: a mail server that hiccups gets time to recover.
        message.next_attempt_at = utcnow() + timedelta(minutes=2 ** (message.attempts - 1))
    if message.case is not None:
        record_event(
            message.case,
            EventKind.EMAIL_FAILED,
            actor=None,
            visibility=Visibility.INTERNAL,
            body=(
                f"Email “{message.subject}” to {message.recipient} could not be sent"
                + (" and will not be retried." if gave_up else "; it will be retried.")
            ),
            data={"email_id": message.id, "attempt": message.attempts, "error": message.last_error},
        )


# --- The admin's view of the outbox -----------------------------------------------------------

OUTBOX_PAGE_LIMIT = 100


def undelivered(status: EmailStatus, limit: int = OUTBOX_PAGE_LIMIT) -> list[OutgoingEmail]:
    """Messages given up on (newest first) or still waiting (next due first), with their case."""
    order = (
        OutgoingEmail.id.desc() if status == EmailStatus.FAILED else OutgoingEmail.next_attempt_at
    )
    return db.session.scalars(
        select(OutgoingEmail)
        .where(OutgoingEmail.status == status)
        .options(joinedload(OutgoingEmail.case))
        .order_by(order, OutgoingEmail.id)
        .limit(limit)
    ).all()


def undelivered_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(OutgoingEmail.status, func.count(OutgoingEmail.id))
        .where(OutgoingEmail.status.in_([EmailStatus.FAILED, EmailStatus.PENDING]))
        .group_by(OutgoingEmail.status)
    ).all()
    return {EmailStatus.FAILED: 0, EmailStatus.PENDING: 0, **dict(rows)}


def retry_email(message: OutgoingEmail, *, actor: User) -> None:
    """Make a message due again now, even one given up on, and hand it on with the commit.

    Its attempts are not reset: if this try fails too, it is given up on again at once, and
    the timeline says so, rather than starting another round of retries nobody asked for.
    """
    if message.status not in (EmailStatus.FAILED, EmailStatus.PENDING):
        raise RuleViolation("This email has already gone: there is nothing to retry.")
    log.info("email %s retried by %s", message.id, actor.email)
    message.status = EmailStatus.PENDING
    message.next_attempt_at = utcnow()
    db.session.flush()
    db.session.info.setdefault(_QUEUED_KEY, []).append(message.id)
