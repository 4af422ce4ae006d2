"""Email through a real SMTP server on loopback: sent after the commit, once, and never lost."""

import re
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
from shared.services import tasks as task_actions
from shared.services.delivery import background_sender
from shared.services.mail import MAX_ATTEMPTS, OUTAGE_RETRY, deliver, deliver_due, queue_email
from tests import factories
from tests.support.smtp import SilentServer, SmtpServer

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


def all_emails() -> list[OutgoingEmail]:
    db.session.expire_all()
    return db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)).all()


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

    def test_complaint_is_still_raised_and_the_mail_kept_for_the_next_run(self, client, org):
        response = raise_through_portal(client, org)

        case = only_case()
        assert response.status_code == 302
        assert response.headers["Location"] == f"/complaints/{case.reference}/received"
        tried, untried = all_emails()  # the owner's notice, then the receipt
        assert tried.status == untried.status == EmailStatus.PENDING
        # The server's outage costs no attempt; the rest of the batch is not even tried.
        assert tried.attempts == untried.attempts == 0
        assert "The mail server could not be reached: ConnectionRefusedError" in tried.last_error
        assert tried.next_attempt_at > utcnow()
        assert untried.last_error is None and untried.next_attempt_at <= utcnow()
        [event] = email_events(case, EventKind.EMAIL_FAILED, tried)
        assert event.visibility == Visibility.INTERNAL
        assert "will be retried" in event.body
        assert email_events(case, EventKind.EMAIL_SENT) == []

    def test_the_next_run_after_the_server_is_back_sends_what_is_due(
        self, app, client, org, mail_server, frozen_now
    ):
        raise_through_portal(client, org)
        handler = mail_server.start().handler
        frozen_now(utcnow() + OUTAGE_RETRY)

        result = app.test_cli_runner().invoke(args=["deliver-mail"])

        assert result.exit_code == 0, result.output
        assert "Delivered 2 message(s)." in result.output
        assert len(handler.messages) == 2
        assert [(e.status, e.attempts, e.last_error) for e in all_emails()] == [
            (EmailStatus.SENT, 1, None), (EmailStatus.SENT, 1, None)
        ]
        assert len(email_events(only_case(), EventKind.EMAIL_SENT)) == 2

    def test_a_long_outage_gives_up_on_nothing_and_says_so_once(self, client, org, mail_server):
        raise_through_portal(client, org)
        receipt = acknowledgement()
        for _ in range(MAX_ATTEMPTS * 2):
            make_due(receipt)
            assert deliver_due() == 0

        receipt = acknowledgement()
        assert receipt.status == EmailStatus.PENDING
        assert receipt.attempts == 0
        assert len(email_events(only_case(), EventKind.EMAIL_FAILED, receipt)) == 1
        handler = mail_server.start().handler
        for message in all_emails():
            make_due(message)
        assert deliver_due() == 2
        assert len(handler.messages) == 2

    def test_deliver_mail_stops_at_a_server_that_is_down_and_fails(self, app, org):
        for number in range(3):
            queue_sign_in_email(f"customer{number}@example.com")
        db.session.commit()  # saved, not handed on

        result = app.test_cli_runner().invoke(args=["deliver-mail"])

        assert result.exit_code == 1
        assert "The mail server could not be reached" in result.output
        assert "2 more left for the next run" in result.output
        first, *others = all_emails()
        assert first.last_error
        assert all(e.last_error is None and e.attempts == 0 for e in others)
        assert all(e.status == EmailStatus.PENDING for e in all_emails())


class TestMessageRefused:
    """The server is up, and refuses this message's recipient."""

    @pytest.fixture
    def app_config(self, smtp_server, smtp_app_config):
        smtp_server.handler.refuse_recipients = True
        return smtp_app_config

    def test_after_the_last_attempt_it_is_given_up_on_the_timeline(self, client, org):
        raise_through_portal(client, org)
        for _ in range(MAX_ATTEMPTS - 1):
            make_due(acknowledgement())
            deliver_due()

        message = acknowledgement()
        assert message.status == EmailStatus.FAILED
        assert message.attempts == MAX_ATTEMPTS
        assert message.given_up_at is not None
        assert "SMTPRecipientsRefused" in message.last_error
        failures = email_events(only_case(), EventKind.EMAIL_FAILED, message)
        assert len(failures) == MAX_ATTEMPTS
        assert "will not be retried" in failures[-1].body
        assert f"given up after {MAX_ATTEMPTS} attempts" in failures[-1].body
        assert all("will be retried" in event.body for event in failures[:-1])
        make_due(message)
        assert deliver_due() == 0
        assert acknowledgement().attempts == MAX_ATTEMPTS


# --- Messages that used to stall delivery ------------------------------------------------------


def test_a_task_title_with_a_line_break_is_sent_on_one_line(app, case, org, smtp_server):
    smtp_server.messages.clear()
    task_actions.create_task(case, actor=org.sam, title="Call the courier\r\nabout the box",
                             due_at=factories.in_hours(24), assignee=org.jo)
    services.commit()

    [received] = received_by(smtp_server.messages, org.jo.email)
    assert received["message"]["Subject"] == (
        f"A task for you on case {case.reference}: Call the courier about the box"
    )
    assert db.session.scalars(
        select(OutgoingEmail.status).where(OutgoingEmail.kind == "task_assigned")
    ).all() == [EmailStatus.SENT]


def test_one_undeliverable_message_does_not_hold_up_the_others(app, org, smtp_server):
    """The server does not offer SMTPUTF8, so an address with letters beyond ASCII before
    the @ cannot be sent to it: that message fails, alone, with the reason."""
    first = queue_sign_in_email("alex@example.com")
    bad = queue_sign_in_email("jösé@exämple.com")
    last = queue_sign_in_email("blake@example.com")
    db.session.commit()  # saved, not handed on

    result = app.test_cli_runner().invoke(args=["deliver-mail"])

    assert result.exit_code == 0, result.output
    assert "Delivered 2 message(s)." in result.output
    assert "1 could not be sent and will be retried." in result.output
    assert [m["envelope"].rcpt_tos for m in smtp_server.messages] == [
        ["alex@example.com"], ["blake@example.com"]
    ]
    for message in (first, last):
        db.session.refresh(message)
        assert message.status == EmailStatus.SENT
    db.session.refresh(bad)
    assert bad.status == EmailStatus.PENDING
    assert bad.attempts == 1
    assert "does not offer SMTPUTF8" in bad.last_error
    assert bad.next_attempt_at > utcnow()


class TestInternationalAddresses:
    @pytest.fixture
    def smtputf8_server(self):
        server = SmtpServer(smtputf8=True).start()
        yield server
        server.close()

    @pytest.fixture
    def app_config(self, smtputf8_server):
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtputf8_server.port, "MAIL_TIMEOUT": 5}

    def test_an_address_beyond_ascii_is_sent_with_smtputf8(self, client, org, smtputf8_server):
        response = raise_through_portal(client, org, email="jösé@exämple.com", name="José")

        assert response.status_code == 302
        [received] = received_by(smtputf8_server.messages, "jösé@exämple.com")
        assert received["envelope"].smtp_utf8
        assert received["message"]["To"] == "jösé@exämple.com"
        assert acknowledgement().status == EmailStatus.SENT


def test_a_domain_beyond_ascii_goes_as_idna_to_a_server_without_smtputf8(app, org, smtp_server):
    queue_sign_in_email("jose@exämple.com")
    services.commit()

    [received] = smtp_server.messages
    assert received["envelope"].rcpt_tos == ["jose@xn--exmple-cua.com"]
    assert only_email().status == EmailStatus.SENT


# --- A server that accepts the connection and never answers -------------------------------------


class TestMailServerThatNeverAnswers:
    @pytest.fixture
    def silent_server(self):
        server = SilentServer()
        yield server
        server.close()

    @pytest.fixture
    def app_config(self, silent_server):
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": silent_server.port, "MAIL_TIMEOUT": 60}

    def test_the_request_answers_while_the_server_holds_the_connection(
        self, app, client, org, silent_server
    ):
        client.waits_for_background = False
        form = {"name": "Alex Carter", "email": "alex@example.com",
                "category": str(org.delivery.id), "description": "My parcel arrived crushed."}
        responses = []
        request = threading.Thread(
            target=lambda: responses.append(client.post("/complaints/new", data=form))
        )
        request.start()
        assert silent_server.connected.wait(timeout=10)

        request.join(timeout=10)  # the server still holds the sender's connection meanwhile
        answered_while_held = not request.is_alive()
        silent_server.release()
        request.join(timeout=70)

        assert answered_while_held
        [response] = responses
        assert response.status_code == 302
        assert background_sender(app).wait_until_idle()
        tried, untried = all_emails()
        assert tried.status == EmailStatus.PENDING and tried.attempts == 0
        assert "could not be reached" in tried.last_error
        assert tried.claimed_until is None  # the lease is handed back
        assert untried.last_error is None

    def test_the_sender_gives_up_after_mail_timeout_and_keeps_the_message(
        self, app, client, org
    ):
        app.config["MAIL_TIMEOUT"] = 0.3
        response = raise_through_portal(client, org)

        assert response.status_code == 302
        tried, untried = all_emails()
        assert tried.status == untried.status == EmailStatus.PENDING
        assert "timed out" in tried.last_error


# --- The sending lease and an admin's Retry -------------------------------------------------------


def test_a_retry_while_the_message_is_being_sent_does_not_send_it_twice(
    app, org, smtp_server, login_as
):
    message_id = queue_sign_in_email().id
    db.session.commit()  # saved, not handed on
    release = smtp_server.handler.hold_next_message()
    results = []

    def send():
        with app.app_context():
            results.append(deliver([message_id]))
            db.session.remove()

    sending = threading.Thread(target=send)
    sending.start()
    assert smtp_server.handler.holding.wait(timeout=10)  # mid-send, lease taken

    client = login_as(org.admin)
    response = client.post("/staff/admin/outbox/retry", data={"email_id": message_id})
    release.set()
    sending.join(timeout=30)

    assert response.status_code == 302
    assert "being sent at this moment" in client.get("/staff/admin/outbox").get_data(
        as_text=True)
    assert results == [1]
    assert len(smtp_server.messages) == 1
    assert only_email().status == EmailStatus.SENT
    assert deliver_due() == 0


def test_a_lease_left_by_a_sender_that_died_runs_out(app, org, smtp_server, frozen_now):
    message = queue_sign_in_email()
    message.claimed_until = utcnow() + mail_service.SEND_LEASE
    db.session.commit()  # as a sender that stopped mid-send leaves it

    assert deliver_due() == 0
    frozen_now(utcnow() + mail_service.SEND_LEASE + timedelta(seconds=1))
    assert deliver_due() == 1
    assert len(smtp_server.messages) == 1


def test_commit_delivers_what_the_unit_of_work_queued_and_forgets_it(app, org, smtp_server):
    queue_sign_in_email()
    services.commit()

    assert mail_service.take_queued_ids() == []
    assert len(smtp_server.messages) == 1
