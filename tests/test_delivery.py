"""Delivery after the commit: every email arrives exactly once, through outages and workers.

The outage test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL. The RQ tests need
Redis (REDIS_TEST_URL, a database of the tests' own); without it they skip, and fail in CI.
"""

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from shared import services
from shared.extensions import db
from shared.models import Case, EmailStatus, OutgoingEmail, User, utcnow
from shared.services import cases as case_actions
from shared.services import delivery
from shared.services import mail as mail_service
from shared.services import tasks as task_actions
from shared.services.mail import deliver_due, queue_email
from tests import factories
from tests.support.services import REDIS_TEST_URL
from tests.support.smtp import RecordingHandler


def all_emails() -> list[OutgoingEmail]:
    db.session.expire_all()
    return db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)).all()


def received_counts(handler: RecordingHandler) -> Counter:
    """How many times each (recipient, subject) arrived."""
    return Counter(
        (tuple(m["envelope"].rcpt_tos), str(m["message"]["Subject"])) for m in handler.messages
    )


def expected_counts(emails: list[OutgoingEmail]) -> Counter:
    return Counter(((e.recipient,), e.subject) for e in emails)


def raise_through_portal(client, org, email):
    response = client.post("/complaints/new", data={
        "name": "Alex Carter", "email": email, "category": str(org.delivery.id),
        "description": f"My parcel to {email} arrived crushed.",
    })
    assert response.status_code == 302
    return db.session.scalars(select(Case).where(Case.contact_email == email)).one()


@pytest.fixture
def smtp(smtp_server):
    """The loopback mail server; the outage test stops and starts it again."""
    return smtp_server


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_TIMEOUT": 5}


# --- The SMTP outage --------------------------------------------------------------------------


def test_an_smtp_outage_loses_nothing_and_duplicates_nothing(
    app, client, org, smtp, frozen_now
):
    first = raise_through_portal(client, org, "alex@example.com")
    assert len(smtp.handler.messages) == 2  # the receipt and the owner's notification

    smtp.stop()
    # Changes that email customers and staff, all while the mail server is down.
    second = raise_through_portal(client, org, "blake@example.com")
    case_actions.post_customer_reply(first, customer=first.customer, body="Any news?")
    services.commit()
    task_actions.create_task(first, actor=first.owner, title="Call the courier",
                             due_at=factories.in_hours(24), assignee=org.jo)
    services.commit()
    queue_email("sign_in_link", "blake@example.com", "Your link to sign in", case=second,
                customer_name="Blake", sign_in_url="http://localhost/sign-in/x",
                max_age_days=14)
    services.commit()

    waiting = [e for e in all_emails() if e.status == EmailStatus.PENDING]
    assert len(waiting) == 5
    # The outage is the server's: it costs no message an attempt, and each batch stopped at
    # its first message rather than wait on the server for every one.
    assert all(e.attempts == 0 for e in waiting)
    assert len([e for e in waiting if e.last_error]) == 4  # one per batch
    assert {e.recipient for e in waiting} >= {"blake@example.com", org.jo.email,
                                              first.owner.email}
    assert len(smtp.handler.messages) == 2

    smtp.start()
    # The next run after the server is back sends everything that is due.
    frozen_now(utcnow() + mail_service.OUTAGE_RETRY)
    result = app.test_cli_runner().invoke(args=["deliver-mail"])
    again = app.test_cli_runner().invoke(args=["deliver-mail"])

    assert result.exit_code == 0, result.output
    assert "Delivered 5 message(s)." in result.output
    assert "Delivered 0 message(s)." in again.output
    emails = all_emails()
    assert all(e.status == EmailStatus.SENT for e in emails)
    counts = received_counts(smtp.handler)
    assert counts == expected_counts(emails)  # none missing, none extra
    assert set(counts.values()) == {1}  # none twice


# --- Redis unreachable: the rows wait for the retry --------------------------------------------


class TestRedisUnreachable:
    @pytest.fixture
    def app_config(self, smtp, reserved_port):
        # The port is ours and nothing listens there: Redis is down.
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_TIMEOUT": 5,
                "REDIS_URL": f"redis://127.0.0.1:{reserved_port.port}/0"}

    def test_the_change_is_saved_and_the_mail_sent_by_the_retry(self, app, client, org, smtp):
        case = raise_through_portal(client, org, "alex@example.com")

        assert case.reference
        emails = all_emails()
        assert len(emails) == 2
        assert all(e.status == EmailStatus.PENDING and e.attempts == 0 for e in emails)
        assert smtp.handler.messages == []

        assert deliver_due() == 2
        assert deliver_due() == 0
        assert received_counts(smtp.handler) == expected_counts(all_emails())


# --- Without Redis: delivered by the web process after the commit ------------------------------


def test_without_redis_the_commit_sends_at_once(app, org, smtp):
    queue_email("sign_in_link", "alex@example.com", "Your link to sign in",
                customer_name="Alex", sign_in_url="http://localhost/sign-in/x", max_age_days=14)
    services.commit()

    assert [e.status for e in all_emails()] == [EmailStatus.SENT]
    assert len(smtp.handler.messages) == 1


def test_the_job_builds_its_own_app_context_outside_one(app, org, smtp, monkeypatch):
    from shared import worker

    message_id = queue_email(
        "sign_in_link", "alex@example.com", "Your link to sign in", customer_name="Alex",
        sign_in_url="http://localhost/sign-in/x", max_age_days=14,
    ).id
    db.session.commit()  # saved, not handed on
    monkeypatch.setattr(worker, "_app", app)  # the app the worker process built
    results = []
    thread = threading.Thread(target=lambda: results.append(worker.deliver_outbox([message_id])))
    thread.start()
    thread.join(timeout=30)

    assert results == [1]
    assert len(smtp.handler.messages) == 1


# --- The RQ path, with a real Redis ------------------------------------------------------------


class TestWithRedis:
    @pytest.fixture
    def app_config(self, smtp, redis_connection):
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_TIMEOUT": 5,
                "REDIS_URL": REDIS_TEST_URL}

    def work_the_queue(self) -> bool:
        from shared.worker import run_worker

        return run_worker(burst=True)  # what `flask --app wsgi worker --burst` runs

    def test_commit_enqueues_and_a_worker_delivers_exactly_once(self, app, client, org, smtp):
        raise_through_portal(client, org, "alex@example.com")

        queue = delivery.mail_queue()
        assert queue.count == 1
        [job] = queue.get_jobs()
        assert job.func_name == "shared.worker.deliver_outbox"
        emails = all_emails()
        assert sorted(job.args[0]) == [e.id for e in emails]
        assert smtp.handler.messages == []  # nothing sent by the web request itself
        assert all(e.status == EmailStatus.PENDING for e in emails)

        assert self.work_the_queue() is True

        emails = all_emails()
        assert all(e.status == EmailStatus.SENT and e.attempts == 1 for e in emails)
        counts = received_counts(smtp.handler)
        assert counts == expected_counts(emails)
        assert set(counts.values()) == {1}
        assert queue.count == 0

    def test_a_job_repeated_or_raced_by_a_retry_sends_once(self, app, client, org, smtp):
        raise_through_portal(client, org, "alex@example.com")
        [job] = delivery.mail_queue().get_jobs()
        delivery.mail_queue().enqueue(job.func_name, job.args[0])  # the same ids again

        assert deliver_due() == 2  # a retry got there first
        assert self.work_the_queue() is True

        assert len(smtp.handler.messages) == 2
        assert set(received_counts(smtp.handler).values()) == {1}

    def test_a_sign_in_link_is_looked_up_and_built_by_the_worker(self, app, client, org, smtp):
        factories.make_customer("alex@example.com", "Alex Carter")
        db.session.commit()

        response = client.post("/sign-in/link", data={"email": "alex@example.com"})

        assert response.status_code == 200
        assert all_emails() == []  # nothing built in the request
        [job] = delivery.mail_queue().get_jobs()
        assert job.func_name == "shared.worker.run_deferred_job"
        # The job builds the email and queues its sending, which the same run then does.
        assert self.work_the_queue() is True
        [email] = all_emails()
        assert (email.kind, email.status) == ("sign_in_link", EmailStatus.SENT)
        assert [m["envelope"].rcpt_tos for m in smtp.handler.messages] == [["alex@example.com"]]

    def test_an_admins_retry_goes_to_the_worker(self, app, org, smtp, login_as):
        message = queue_email("sign_in_link", "alex@example.com", "Your link to sign in",
                              customer_name="Alex", sign_in_url="http://localhost/sign-in/x",
                              max_age_days=14)
        mail_service.forget_queued()
        message.status, message.attempts = EmailStatus.FAILED, mail_service.MAX_ATTEMPTS
        db.session.commit()  # given up on, as after the last retry

        response = login_as(org.admin).post("/staff/admin/outbox/retry",
                                            data={"email_id": message.id})

        assert response.status_code == 302
        assert delivery.mail_queue().count == 1
        assert smtp.handler.messages == []
        assert self.work_the_queue() is True
        db.session.refresh(message)
        assert message.status == EmailStatus.SENT
        assert len(smtp.handler.messages) == 1


# --- Account emails: the same request for any address -----------------------------------------


class TestAccountEmailsAreBuiltInTheBackground:
    """Whether an address has an account must not show in how long the request takes: the
    request hands the same job to the background for any address, and the job looks the
    address up and builds the email (bench/sign_in_timing.py measures the times)."""

    @pytest.fixture
    def app_config(self):
        return {}  # no mail server: messages are kept for the mailbox

    def outbox_right_after(self, app, client, path, form) -> list[tuple[str, str]]:
        """The outbox as the request leaves it: the background is kept busy meanwhile."""
        sender, busy = delivery.background_sender(app), threading.Event()
        sender.submit(busy.wait, 30)
        client.waits_for_background = False
        response = client.post(path, data=form)
        assert response.status_code == 200
        seen = [(e.kind, e.recipient) for e in all_emails()]
        busy.set()
        assert sender.wait_until_idle()
        return seen

    @pytest.mark.parametrize("email", ["alex@example.com", "nobody@example.com"])
    def test_a_sign_in_link_is_built_after_the_request(self, app, client, org, email):
        factories.make_customer("alex@example.com", "Alex Carter")
        db.session.commit()

        assert self.outbox_right_after(app, client, "/sign-in/link", {"email": email}) == []
        expected = [("sign_in_link", email)] if email == "alex@example.com" else []
        assert [(e.kind, e.recipient) for e in all_emails()] == expected

    @pytest.mark.parametrize("email", ["new@example.com", "alex@example.com", "sam@example.com"])
    def test_a_new_account_is_started_after_the_request(self, app, client, org, email):
        factories.make_customer("alex@example.com", "Alex Carter")
        db.session.commit()
        users = db.session.scalar(select(func.count(User.id)))

        form = {"name": "Someone", "email": email}
        assert self.outbox_right_after(app, client, "/account/new", form) == []
        if email == org.sam.email:  # staff accounts are never started from the portal
            assert all_emails() == []
        else:
            assert [(e.kind, e.recipient) for e in all_emails()] == [("set_password", email)]
        assert db.session.scalar(select(func.count(User.id))) == users + (
            email == "new@example.com")
