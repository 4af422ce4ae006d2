"""Email: queued in the outbox with the change that causes it, delivered after the commit.

A failed send loses nothing: the row stays pending and is retried with backoff; every
attempt's outcome goes on the case timeline. Each message's failure is its own: one that
cannot be sent never holds up the others, and after its last attempt it is given up, on the
case timeline and the admin's outbox page.

A failure before a message is handed over (the mail server refuses the connection, never
answers, or drops it) is the server's, not the message's: it costs the message no attempt,
and the rest of the batch waits for the next run rather than for one timeout after another.
"""

import logging
import smtplib
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from enum import Enum
from urllib.parse import urlsplit

import idna
from flask import current_app, render_template
from sqlalchemy import func, or_, select, update
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
# While one process sends a message, others (and an admin's Retry) leave it alone for this
# long: far longer than a send can take with MAIL_TIMEOUT, short enough that a message whose
# sender died mid-send is soon tried again.
SEND_LEASE = timedelta(minutes=2)
# After a mail server outage, mail is due again this soon: it goes out on the next run after
# the server comes back.
OUTAGE_RETRY = timedelta(minutes=1)
_QUEUED_KEY = "amends.queued_email_ids"
_DEFERRED_KEY = "amends.deferred_jobs"


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
    subject = clean_header(subject)
    context.update(subject=subject, case=case, organisation=current_app.config["ORGANISATION_NAME"])
    message = OutgoingEmail(
        case=case,
        kind=kind,
        recipient=clean_header(recipient),
        subject=subject,
        text_body=render_template(f"email/{kind}.txt", **context),
        html_body=render_template(f"email/{kind}.html", **context),
    )
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(_QUEUED_KEY, []).append(message.id)
    return message


def clean_header(value: str) -> str:
    """A value fit for an email header: line breaks and other control characters (a task
    title typed over two lines, say) become single spaces."""
    spaced = "".join(
        " " if unicodedata.category(character) in ("Cc", "Zl", "Zp") else character
        for character in value
    )
    return " ".join(spaced.split())


def defer(job: str, **arguments) -> None:
    """Run the service function at dotted path `job` in the background after the commit, with
    its own unit of work: for email whose building must not show in the request's timing."""
    db.session.info.setdefault(_DEFERRED_KEY, []).append((job, arguments))


def take_queued_ids() -> list[int]:
    return db.session.info.pop(_QUEUED_KEY, [])


def take_deferred_jobs() -> list[tuple[str, dict]]:
    return db.session.info.pop(_DEFERRED_KEY, [])


def forget_queued() -> None:
    db.session.info.pop(_QUEUED_KEY, None)
    db.session.info.pop(_DEFERRED_KEY, None)


class Outcome(Enum):
    SENT = "sent"
    FAILED = "failed"  # this message's failure; it is retried after a backoff
    GIVEN_UP = "given up"  # this message's last attempt failed
    SERVER_FAILED = "server failed"  # the mail server's failure; the batch stops


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    server_error: str | None = None  # why the batch stopped early
    left_for_later: int = 0


class MailServerFailed(Exception):
    """The mail server could not be reached or dropped us before the message was handed over."""


class Undeliverable(Exception):
    """This message cannot be sent as it is; the reason is written for the outbox page."""


def deliver_due(limit: int = 50) -> int:
    """Deliver pending messages whose time has come; returns how many were handed over."""
    return deliver_due_report(limit).sent


def deliver_due_report(limit: int = 50) -> DeliveryReport:
    now = utcnow()
    ids = db.session.scalars(
        select(OutgoingEmail.id)
        .where(
            OutgoingEmail.status == EmailStatus.PENDING,
            OutgoingEmail.next_attempt_at <= now,
            _lease_free(now),
        )
        .order_by(OutgoingEmail.next_attempt_at, OutgoingEmail.id)
        .limit(limit)
    ).all()
    return deliver_report(ids)


def deliver(ids: list[int]) -> int:
    return deliver_report(ids).sent


def deliver_report(ids: list[int]) -> DeliveryReport:
    report = DeliveryReport()
    for position, email_id in enumerate(ids):
        if not _claim(email_id):
            continue
        outcome = _send_claimed(email_id)
        if outcome is Outcome.SENT:
            report.sent += 1
        elif outcome is Outcome.FAILED:
            report.failed += 1
        elif outcome is Outcome.GIVEN_UP:
            report.given_up += 1
        else:
            # Every other message would wait for the same timeout: they stay due instead.
            report.server_error = db.session.get(OutgoingEmail, email_id).last_error
            report.left_for_later = len(ids) - position - 1
            break
    return report


def _lease_free(now):
    return or_(OutgoingEmail.claimed_until.is_(None), OutgoingEmail.claimed_until <= now)


def _claim(email_id: int) -> bool:
    """Take the sending lease on a message, so that two senders never send the same one."""
    now = utcnow()
    claimed = db.session.execute(
        update(OutgoingEmail)
        .where(
            OutgoingEmail.id == email_id,
            OutgoingEmail.status == EmailStatus.PENDING,
            OutgoingEmail.next_attempt_at <= now,
            _lease_free(now),
        )
        .values(attempts=OutgoingEmail.attempts + 1, claimed_until=now + SEND_LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _send_claimed(email_id: int) -> Outcome:
    message = db.session.get(OutgoingEmail, email_id, populate_existing=True)
    mail_server = current_app.config.get("MAIL_SERVER")
    try:
        if mail_server:
            _send_over_smtp(message)
    except MailServerFailed as error:
        outcome = _record_server_failure(message, error.__cause__ or error)
    except Exception as error:  # whatever it is, it is this message's alone
        outcome = _record_failure(message, error)
    else:
        outcome = Outcome.SENT
        _record_sent(message, kept=not mail_server)
    message.claimed_until = None
    db.session.commit()
    return outcome


def _record_sent(message: OutgoingEmail, *, kept: bool) -> None:
    message.status = EmailStatus.KEPT if kept else EmailStatus.SENT
    message.sent_at = utcnow()
    message.last_error = None
    if message.case is not None:
        record_event(
            message.case,
            EventKind.EMAIL_SENT,
            actor=None,
            visibility=Visibility.INTERNAL,
            body=f"Email “{message.subject}” kept in the mailbox (no mail server set up)."
            if kept
            else f"Email “{message.subject}” sent to {message.recipient}.",
            data={"email_id": message.id, "kind": message.kind},
        )


def _send_over_smtp(message: OutgoingEmail) -> None:
    """Send one message on a connection of its own. Failures until the server has greeted us
    are the server's (MailServerFailed); from the message's envelope on, they are its own."""
    config = current_app.config
    smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    try:
        # MAIL_TIMEOUT: a server that never answers must not hold the sender for ever.
        smtp = smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        )
    except OSError as error:
        raise MailServerFailed from error
    with smtp:
        try:
            smtp.ehlo()
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
                smtp.ehlo()
            if config.get("MAIL_USERNAME") and config.get("MAIL_PASSWORD"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except OSError as error:
            raise MailServerFailed from error
        smtp.send_message(_email_message(message, international=smtp.has_extn("smtputf8")))


def _email_message(message: OutgoingEmail, *, international: bool) -> EmailMessage:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    email = EmailMessage()
    email["Subject"] = clean_header(message.subject)
    email["From"] = sender
    email["To"] = _deliverable_address(message.recipient, international=international)
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def _deliverable_address(address: str, *, international: bool) -> str:
    """The address as this server can take it: as it is where the server speaks SMTPUTF8;
    otherwise with its domain in IDNA (exämple.com → xn--exmple-cua.com), which needs an
    ASCII name before the @."""
    address = clean_header(address)
    if international or address.isascii():
        return address
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise Undeliverable(
            f"The address {address} has letters beyond ASCII before the @, and the mail "
            "server does not accept such addresses (it does not offer SMTPUTF8)."
        )
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError as error:
        raise Undeliverable(f"The address {address} has a domain that is not valid.") from error


def _error_text(error: BaseException) -> str:
    if isinstance(error, Undeliverable):
        return str(error)
    return f"{type(error).__name__}: {error}"[:2000]


def _record_server_failure(message: OutgoingEmail, error: BaseException) -> Outcome:
    log.warning("mail server failed while sending email %s: %s", message.id, error)
    first_failure = message.last_error is None
    message.attempts -= 1  # the server's outage is not this message's attempt
    message.last_error = f"The mail server could not be reached: {_error_text(error)}"[:2000]
    message.next_attempt_at = utcnow() + OUTAGE_RETRY
    # Said once per message, not once a minute for as long as the outage lasts.
    if first_failure and message.case is not None:
        record_event(
            message.case,
            EventKind.EMAIL_FAILED,
            actor=None,
            visibility=Visibility.INTERNAL,
            body=f"Email “{message.subject}” to {message.recipient} could not be sent: the "
            "mail server did not answer; it will be retried.",
            data={"email_id": message.id, "attempt": message.attempts, "error": message.last_error},
        )
    return Outcome.SERVER_FAILED


def _record_failure(message: OutgoingEmail, error: Exception) -> Outcome:
    log.warning("sending email %s failed: %s", message.id, error)
    message.last_error = _error_text(error)
    gave_up = message.attempts >= MAX_ATTEMPTS
    if gave_up:
        message.status = EmailStatus.FAILED
        message.given_up_at = utcnow()
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
                + (
                    f" and will not be retried. It was given up after {message.attempts} "
                    f"attempts: {message.last_error}"
                    if gave_up
                    else "; it will be retried."
                )
            ),
            data={"email_id": message.id, "attempt": message.attempts, "error": message.last_error},
        )
    return Outcome.GIVEN_UP if gave_up else Outcome.FAILED


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
    A message under a sending lease is being sent at this moment and is left alone: changed
    in one conditional statement, so that a send finishing meanwhile is never undone.
    """
    now = utcnow()
    retried = db.session.execute(
        update(OutgoingEmail)
        .where(
            OutgoingEmail.id == message.id,
            OutgoingEmail.status.in_([EmailStatus.FAILED, EmailStatus.PENDING]),
            _lease_free(now),
        )
        .values(status=EmailStatus.PENDING, next_attempt_at=now, given_up_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(message)
    if retried != 1:
        if message.status in (EmailStatus.FAILED, EmailStatus.PENDING):
            raise RuleViolation(
                "This email is being sent at this moment: see how it went in a minute."
            )
        raise RuleViolation("This email has already gone: there is nothing to retry.")
    log.info("email %s retried by %s", message.id, actor.email)
    db.session.info.setdefault(_QUEUED_KEY, []).append(message.id)
