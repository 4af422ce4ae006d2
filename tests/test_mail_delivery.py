"""Email through a real SMTP server on loopback: sent after the commit, once, and never lost."""

import re
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared import services
from shared.extensions import db
from shared.models import (
    Case,
    EmailStatus,
    EventKind,
    OutgoingEmail,
    TimelineEvent,
    Visibility,
    utcnow,
)
from shared.presentation import time_frames_of
from shared.services import RuleViolation
from shared.services import mail as mail_service
from shared.services.mail import MAX_ATTEMPTS, deliver, deliver_due, queue_email
from tests import factories

SIGN_IN_LINK = re.compile(r"http://localhost(/sign-in/[A-Za-z0-9._-]+)")


@pytest.fixture
def app_config(smtp_app_config):
    return smtp_app_config


def raise_through_portal(client, org, email="alex@example.com", name="Alex Carter"):
    return client.post(
        "/complaints/new",
        data={
            "name": name,
            "email": email,
            "category": str(org.delivery.id),
            "description": "My parcel arrived crushed and the driver left.",
        },
    )


def only_case() -> Case:
    return db.session.scalars(select(Case)).one()


def only_email() -> OutgoingEmail:
    return db.session.scalars(select(OutgoingEmail)).one()


def acknowledgement() -> OutgoingEmail:
    """The customer's receipt; raising a case also notifies its new owner by email."""
    return db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == "case_received")
    ).one()


def received_by(messages: list[dict], recipient: str) -> list[dict]:
    return [m for m in messages if m["envelope"].rcpt_tos == [recipient]]


def outbox_count() -> int:
    return db.session.scalar(select(func.count(OutgoingEmail.id)))


def email_events(
    case: Case, kind: EventKind, email: OutgoingEmail | None = None
) -> list[TimelineEvent]:
    events = db.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.case_id == case.id, TimelineEvent.kind == kind)
        .order_by(TimelineEvent.id)
    ).all()
    return [e for e in events if email is None or e.data["email_id"] == email.id]


def make_due(message: OutgoingEmail) -> None:
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def queue_sign_in_email(recipient="alex@example.com") -> OutgoingEmail:
    return queue_email(
        "sign_in_link",
        recipient,
        "Your link to sign in",
        customer_name="Alex Carter",
        sign_in_url="http://localhost/sign-in/abc",
        max_age_days=14,
    )


# --- The acknowledgement email ----------------------------------------------------------------


def test_raising_a_complaint_emails_one_acknowledgement_to_the_customer(client, org, smtp_server):
    response = raise_through_portal(client, org)

    assert response.status_code == 302
    case = only_case()
    [received] = received_by(smtp_server.messages, "alex@example.com")
    message = received["message"]
    assert "alex@example.com" in message["To"]
    assert case.reference in message["Subject"]
    # and its new owner hears of it once, in the app and by email
    [to_owner] = received_by(smtp_server.messages, case.owner.email)
    assert to_owner["message"]["Subject"] == f"A case is now yours: {case.reference}"
    assert len(smtp_server.messages) == 2


def test_acknowledgement_text_and_html_carry_reference_owner_dates_and_link(
    client, org, smtp_server
):
    raise_through_portal(client, org)
    case = only_case()
    message = received_by(smtp_server.messages, "alex@example.com")[0]["message"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()

    frames = time_frames_of(case)
    for body in (text, html):
        assert case.reference in body
        assert case.owner.name in body
        assert "UK time" in body
        for frame in frames:
            assert frame.due_words in body
        assert SIGN_IN_LINK.search(body)
    assert f'href="{SIGN_IN_LINK.search(text).group(0)}"' in html


def test_the_emailed_link_signs_the_customer_in_on_their_case(app, client, org, smtp_server):
    raise_through_portal(client, org)
    reference = only_case().reference
    [received] = received_by(smtp_server.messages, "alex@example.com")
    text = received["message"].get_body(("plain",)).get_content()
    path = SIGN_IN_LINK.search(text).group(1)

    browser = app.test_client()
    landing = browser.get(path)
    assert landing.status_code == 302
    assert landing.headers["Location"] == f"/cases/{reference}"
    page = browser.get(landing.headers["Location"])
    assert page.status_code == 200
    assert reference in page.get_data(as_text=True)


def test_sent_acknowledgement_is_recorded_in_outbox_and_internal_timeline(
    client, org, smtp_server
):
    raise_through_portal(client, org)
    case = only_case()
    message = acknowledgement()
    assert message.status == EmailStatus.SENT
    assert message.attempts == 1
    assert message.sent_at is not None
    [event] = email_events(case, EventKind.EMAIL_SENT, message)
    assert event.visibility == Visibility.INTERNAL
    assert event.data["email_id"] == message.id


# --- Mail follows the commit ------------------------------------------------------------------


def test_a_service_refusing_the_action_sends_nothing(app, org, smtp_server):
    with pytest.raises(RuleViolation):
        factories.raise_case(org.delivery, on_behalf_of="My mother")
    services.rollback()
    services.commit()

    assert outbox_count() == 0
    assert smtp_server.messages == []


def test_rolled_back_unit_of_work_leaves_no_outbox_row_and_sends_nothing(app, org, smtp_server):
    factories.raise_case(org.delivery)
    services.rollback()
    services.commit()

    assert outbox_count() == 0
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert deliver_due() == 0
    assert smtp_server.messages == []


def test_queued_email_in_an_uncommitted_unit_of_work_is_never_sent(app, org, smtp_server):
    queue_sign_in_email()
    db.session.remove()  # the request ends without a commit

    assert deliver_due() == 0
    assert outbox_count() == 0
    assert smtp_server.messages == []


def test_email_queued_before_a_plain_rollback_is_not_sent_by_the_next_commit(
    app, org, smtp_server
):
    queue_sign_in_email()
    db.session.rollback()
    services.commit()

    assert outbox_count() == 0
    assert smtp_server.messages == []


# --- The claim --------------------------------------------------------------------------------


def test_delivering_the_same_message_twice_sends_it_once(app, org, smtp_server):
    message_id = queue_sign_in_email().id
    db.session.commit()  # saved, not yet delivered

    assert deliver([message_id]) == 1
    assert deliver([message_id]) == 0
    assert len(smtp_server.messages) == 1
    assert only_email().status == EmailStatus.SENT


def test_two_workers_racing_for_one_message_send_it_once(app, org, smtp_server):
    message_id = queue_sign_in_email().id
    db.session.commit()
    start = threading.Barrier(2)
    results = []

    def worker():
        with app.app_context():
            start.wait()
            results.append(deliver([message_id]))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [0, 1]
    assert len(smtp_server.messages) == 1
    assert only_email().attempts == 1


# --- A failed send loses nothing --------------------------------------------------------------


class TestMailServerDown:
    @pytest.fixture
    def app_config(self, down_smtp_app_config):
        return down_smtp_app_config

    def test_complaint_is_still_raised_and_the_email_kept_for_a_retry(self, client, org):
        response = raise_through_portal(client, org)

        case = only_case()
        assert response.status_code == 302
        assert response.headers["Location"] == f"/complaints/{case.reference}/received"
        message = acknowledgement()
        assert message.status == EmailStatus.PENDING
        assert message.attempts == 1
        assert message.last_error
        assert message.next_attempt_at > utcnow()
        [event] = email_events(case, EventKind.EMAIL_FAILED, message)
        assert event.visibility == Visibility.INTERNAL
        assert "will be retried" in event.body
        assert email_events(case, EventKind.EMAIL_SENT) == []

    def test_the_retry_is_not_due_at_once(self, client, org, mail_server):
        raise_through_portal(client, org)
        handler = mail_server.start().handler

        assert deliver_due() == 0
        assert handler.messages == []

    def test_a_due_retry_sends_once_when_the_server_is_back(self, client, org, mail_server):
        raise_through_portal(client, org)
        handler = mail_server.start().handler
        make_due(acknowledgement())

        assert deliver_due() == 1
        assert deliver_due() == 0
        assert len(handler.messages) == 1
        message = acknowledgement()
        assert message.status == EmailStatus.SENT
        assert message.attempts == 2
        assert message.last_error is None
        assert len(email_events(only_case(), EventKind.EMAIL_SENT)) == 1

    def test_after_the_last_attempt_it_fails_for_good(self, client, org):
        raise_through_portal(client, org)
        for _ in range(MAX_ATTEMPTS - 1):
            make_due(acknowledgement())
            assert deliver_due() == 0

        message = acknowledgement()
        assert message.status == EmailStatus.FAILED
        assert message.attempts == MAX_ATTEMPTS
        failures = email_events(only_case(), EventKind.EMAIL_FAILED, message)
        assert len(failures) == MAX_ATTEMPTS
        assert "will not be retried" in failures[-1].body
        assert all("will be retried" in event.body for event in failures[:-1])
        make_due(message)
        assert deliver_due() == 0
        assert acknowledgement().attempts == MAX_ATTEMPTS


class TestMailServerThatNeverAnswers:
    @pytest.fixture
    def silent_server(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)  # accepts connections, never greets
        yield listener
        listener.close()

    @pytest.fixture
    def app_config(self, silent_server):
        port = silent_server.getsockname()[1]
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_TIMEOUT": 0.3}

    def test_send_gives_up_after_mail_timeout_and_keeps_the_message(self, client, org):
        response = raise_through_portal(client, org)

        assert response.status_code == 302
        message = acknowledgement()
        assert message.status == EmailStatus.PENDING
        assert "timed out" in message.last_error


def test_commit_delivers_what_the_unit_of_work_queued_and_forgets_it(app, org, smtp_server):
    queue_sign_in_email()
    services.commit()

    assert mail_service.take_queued_ids() == []
    assert len(smtp_server.messages) == 1
