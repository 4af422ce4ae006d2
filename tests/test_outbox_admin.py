"""The admin outbox: email given up on or waiting, visible with its error, and retried."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import EmailStatus, EventKind, OutgoingEmail, TimelineEvent, utcnow
from shared.presentation import local_datetime
from shared.services.mail import MAX_ATTEMPTS, deliver_due, queue_email
from tests import factories
from tests.support.html import csrf_token_of


@pytest.fixture
def app_config(smtp_server, smtp_app_config):
    """The mail server refuses every recipient: `case`'s receipt, and its owner's notice,
    cannot be sent. Set `refuse_recipients` back to False for the server to take them."""
    smtp_server.handler.refuse_recipients = True
    return smtp_app_config


def receipt_of(case) -> OutgoingEmail:
    db.session.expire_all()
    return db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.case_id == case.id,
                                    OutgoingEmail.kind == "case_received")
    ).one()


def give_up_on(message: OutgoingEmail) -> None:
    """Run the retries to the last one, each failing."""
    for _ in range(MAX_ATTEMPTS):
        if message.status != EmailStatus.PENDING:
            break
        message.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        deliver_due()
        db.session.refresh(message)
    assert message.status == EmailStatus.FAILED


def failures_of(case, message) -> list[TimelineEvent]:
    events = db.session.scalars(
        select(TimelineEvent).where(TimelineEvent.case_id == case.id,
                                    TimelineEvent.kind == EventKind.EMAIL_FAILED)
        .order_by(TimelineEvent.id)
    ).all()
    return [e for e in events if e.data["email_id"] == message.id]


# --- The page ---------------------------------------------------------------------------------


def test_admin_sees_given_up_and_waiting_email_with_its_error_and_case(case, org, login_as):
    receipt = receipt_of(case)
    give_up_on(receipt)

    page = login_as(org.admin).get("/staff/admin/outbox").get_data(as_text=True)

    given_up = page[page.index("Given up"):page.index("Waiting")]
    waiting = page[page.index("Waiting"):]
    assert receipt.subject in given_up and receipt.recipient in given_up
    assert f">{MAX_ATTEMPTS}</td>" in given_up
    assert "SMTPRecipientsRefused" in given_up
    assert f"None: given up on {local_datetime(receipt.given_up_at)}" in given_up
    assert f'href="/staff/cases/{case.reference}"' in given_up
    # the owner's notification is still waiting for its next try
    assert f"A case is now yours: {case.reference}" in waiting
    assert f'name="email_id" value="{receipt.id}"' in given_up


def test_after_the_last_retry_the_failure_is_on_the_case_timeline(case, org, login_as):
    receipt = receipt_of(case)
    give_up_on(receipt)

    failures = failures_of(case, receipt)
    assert len(failures) == MAX_ATTEMPTS
    assert "will not be retried" in failures[-1].body
    page = login_as(org.sam).get(f"/staff/cases/{case.reference}").get_data(as_text=True)
    assert f"Email “{receipt.subject}” to {receipt.recipient} could not be sent and will not" \
           " be retried." in page


def test_the_page_reads_a_fixed_number_of_queries_for_few_or_many(
    app, org, case, login_as, count_queries
):
    client = login_as(org.admin)

    def statements():
        db.session.expire_all()
        with count_queries() as seen:
            assert client.get("/staff/admin/outbox").status_code == 200
        return len(seen)

    few = statements()
    for number in range(30):
        factories.raise_case(org.delivery, email=f"customer{number}@example.com")
        services.commit()
    many = statements()

    assert few == many
    assert many <= 6


def test_the_outbox_is_in_the_admins_navigation_only(org, login_as):
    assert 'href="/staff/admin/outbox"' in login_as(org.admin).get("/staff/").get_data(
        as_text=True)
    assert 'href="/staff/admin/outbox"' not in login_as(org.manager).get("/staff/").get_data(
        as_text=True)


# --- Retry ------------------------------------------------------------------------------------


def test_retry_sends_a_given_up_message_once_the_server_is_back(
    case, org, login_as, smtp_server
):
    receipt = receipt_of(case)
    give_up_on(receipt)
    smtp_server.handler.refuse_recipients = False
    handler = smtp_server.handler

    response = login_as(org.admin).post("/staff/admin/outbox/retry",
                                        data={"email_id": receipt.id})

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/admin/outbox"
    message = receipt_of(case)
    assert message.status == EmailStatus.SENT
    assert message.attempts == MAX_ATTEMPTS + 1
    assert [m["envelope"].rcpt_tos for m in handler.messages] == [[receipt.recipient]]
    page = login_as(org.admin).get("/staff/admin/outbox").get_data(as_text=True)
    assert f"“{receipt.subject}” is on its way to {receipt.recipient}" in page
    assert receipt.subject not in page[page.index("Given up"):]
    assert deliver_due() == 0  # and never again


def test_a_retry_that_fails_again_is_given_up_at_once_and_says_so(case, org, login_as):
    receipt = receipt_of(case)
    give_up_on(receipt)

    login_as(org.admin).post("/staff/admin/outbox/retry", data={"email_id": receipt.id})

    message = receipt_of(case)
    assert message.status == EmailStatus.FAILED
    assert message.attempts == MAX_ATTEMPTS + 1
    failures = failures_of(case, message)
    assert len(failures) == MAX_ATTEMPTS + 1
    assert "will not be retried" in failures[-1].body
    page = login_as(org.admin).get("/staff/admin/outbox").get_data(as_text=True)
    given_up = page[page.index("Given up"):page.index("Waiting")]
    assert f'name="email_id" value="{receipt.id}"' in given_up
    assert f">{MAX_ATTEMPTS + 1}</td>" in given_up


def test_a_waiting_message_can_be_hurried(case, org, login_as, smtp_server):
    notice = db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == "staff_notification")
    ).one()
    assert notice.next_attempt_at > utcnow()  # waiting for its backoff
    smtp_server.handler.refuse_recipients = False
    handler = smtp_server.handler

    login_as(org.admin).post("/staff/admin/outbox/retry", data={"email_id": notice.id})

    db.session.refresh(notice)
    assert notice.status == EmailStatus.SENT
    assert len(handler.messages) == 1


def test_a_sent_message_is_not_sent_again(org, login_as, smtp_server):
    smtp_server.handler.refuse_recipients = False
    handler = smtp_server.handler
    message = queue_email("sign_in_link", "alex@example.com", "Your link to sign in",
                          customer_name="Alex", sign_in_url="http://localhost/sign-in/x",
                          max_age_days=14)
    services.commit()
    assert len(handler.messages) == 1

    client = login_as(org.admin)
    response = client.post("/staff/admin/outbox/retry", data={"email_id": message.id})

    assert response.status_code == 302
    assert "nothing to retry" in client.get("/staff/admin/outbox").get_data(as_text=True)
    assert len(handler.messages) == 1


def test_retrying_an_unknown_message_is_not_found(org, login_as):
    client = login_as(org.admin)
    assert client.post("/staff/admin/outbox/retry", data={"email_id": 999}).status_code == 404
    assert client.post("/staff/admin/outbox/retry", data={}).status_code == 404


# --- Who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sam", "manager", "head"])
def test_agents_and_managers_are_refused(case, org, login_as, who):
    receipt = receipt_of(case)
    give_up_on(receipt)
    client = login_as(getattr(org, who))

    assert client.get("/staff/admin/outbox").status_code == 403
    assert client.post("/staff/admin/outbox/retry",
                       data={"email_id": receipt.id}).status_code == 403
    assert receipt_of(case).status == EmailStatus.FAILED


def test_customers_are_refused_and_visitors_sent_to_sign_in(case, org, app, login_as):
    customer = case.customer
    client = login_as(customer)
    assert client.get("/staff/admin/outbox").status_code == 403
    assert client.post("/staff/admin/outbox/retry", data={"email_id": 1}).status_code == 403
    visitor = app.test_client()
    for response in (visitor.get("/staff/admin/outbox"),
                     visitor.post("/staff/admin/outbox/retry", data={"email_id": 1})):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/login")


class TestWithCsrf:
    @pytest.fixture
    def app_config(self, smtp_server, smtp_app_config):
        smtp_server.handler.refuse_recipients = True
        return {**smtp_app_config, "WTF_CSRF_ENABLED": True}

    def test_a_retry_needs_the_pages_token(self, case, org, login_as):
        receipt = receipt_of(case)
        give_up_on(receipt)
        client = login_as(org.admin)

        assert client.post("/staff/admin/outbox/retry",
                           data={"email_id": receipt.id}).status_code == 400
        assert receipt_of(case).attempts == MAX_ATTEMPTS

        page = client.get("/staff/admin/outbox").get_data(as_text=True)
        token = csrf_token_of(page)
        response = client.post("/staff/admin/outbox/retry",
                               data={"email_id": receipt.id, "csrf_token": token})
        assert response.status_code == 302
        assert receipt_of(case).attempts == MAX_ATTEMPTS + 1
