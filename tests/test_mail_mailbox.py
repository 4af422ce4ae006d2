"""Without MAIL_SERVER mail is kept, not sent, and admins read it on /staff/mailbox."""

import re

import pytest
from flask_mail import email_dispatched
from sqlalchemy import func, select

from shared import services
from shared.extensions import db
from shared.models import EmailStatus, EventKind, OutgoingEmail, TimelineEvent, User, Visibility
from shared.services.mail import queue_email
from tests import factories

SIGN_IN_LINK = re.compile(r"http://localhost/sign-in/[A-Za-z0-9._-]+")


def _receipt() -> OutgoingEmail:
    """The customer's acknowledgement (the new owner's notification is kept beside it)."""
    return db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == "case_received")
    ).one()


def raise_through_portal(client, org):
    response = client.post(
        "/complaints/new",
        data={
            "name": "Alex Carter",
            "email": "alex@example.com",
            "category": str(org.delivery.id),
            "description": "My parcel arrived crushed.",
        },
    )
    assert response.status_code == 302
    return _receipt()


@pytest.fixture
def kept(app, org):
    """A kept acknowledgement. Raised through the service, not a request: within one test the
    app context (and so flask-login's cached user in `g`) outlives requests, so a request
    before `login_as` would pin the anonymous user."""
    factories.raise_case(org.delivery)
    services.commit()
    return _receipt()


def test_raising_through_the_portal_keeps_the_mail_unsent_without_a_mail_server(
    app, client, org
):
    dispatched = []
    with email_dispatched.connected_to(lambda app, message: dispatched.append(message), app):
        kept = raise_through_portal(client, org)

    assert kept.status == EmailStatus.KEPT
    assert kept.recipient == "alex@example.com"
    assert dispatched == []


def test_kept_mail_is_recorded_on_the_internal_timeline(kept):
    assert kept.status == EmailStatus.KEPT
    assert kept.attempts == 1
    assert kept.last_error is None
    [event] = [
        event
        for event in db.session.scalars(
            select(TimelineEvent).where(
                TimelineEvent.case_id == kept.case_id, TimelineEvent.kind == EventKind.EMAIL_SENT
            )
        )
        if event.data["email_id"] == kept.id
    ]
    assert event.visibility == Visibility.INTERNAL
    assert "kept in the mailbox" in event.body


def test_admin_sees_kept_mail_listed_in_the_mailbox(kept, org, login_as):
    response = login_as(org.admin).get("/staff/mailbox")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "alex@example.com" in page
    assert kept.subject in page
    assert f'href="/staff/mailbox/{kept.id}"' in page
    assert "No mail server is set up" in page


def test_admin_opens_a_kept_message_with_a_clickable_sign_in_link(kept, org, login_as):
    response = login_as(org.admin).get(f"/staff/mailbox/{kept.id}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert kept.subject in page
    assert kept.case.reference in page
    link = SIGN_IN_LINK.search(kept.text_body).group(0)
    assert f'<a href="{link}">{link}</a>' in page


def test_a_mailbox_message_that_does_not_exist_is_404(org, login_as):
    assert login_as(org.admin).get("/staff/mailbox/999999").status_code == 404


def test_mailbox_text_is_escaped_before_links_are_made(app, org, login_as):
    message = queue_email(
        "sign_in_link",
        "alex@example.com",
        "Your link to sign in",
        customer_name='<script>alert("x")</script>',
        sign_in_url="http://localhost/sign-in/abc",
        max_age_days=14,
    )
    db.session.commit()

    page = login_as(org.admin).get(f"/staff/mailbox/{message.id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert '<a href="http://localhost/sign-in/abc">' in page


@pytest.mark.parametrize("who", ["sam", "manager"])
def test_agents_and_managers_cannot_open_the_mailbox(kept, org, login_as, who):
    client = login_as(getattr(org, who))
    assert client.get("/staff/mailbox").status_code == 403
    assert client.get(f"/staff/mailbox/{kept.id}").status_code == 403


def test_customers_cannot_open_the_mailbox(kept, org, login_as):
    customer = db.session.get(User, kept.case.customer_id)
    client = login_as(customer)
    assert client.get("/staff/mailbox").status_code == 403
    assert client.get(f"/staff/mailbox/{kept.id}").status_code == 403


def test_signed_out_visitors_are_sent_to_the_staff_sign_in(kept, client):
    for path in ("/staff/mailbox", f"/staff/mailbox/{kept.id}"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/login?next=")


# --- Commands ---------------------------------------------------------------------------------


def test_deliver_mail_command_delivers_what_is_due_and_reports_the_count(app, org):
    message = queue_email(
        "sign_in_link",
        "alex@example.com",
        "Your link to sign in",
        customer_name="Alex Carter",
        sign_in_url="http://localhost/sign-in/abc",
        max_age_days=14,
    )
    db.session.commit()  # saved but not yet delivered
    runner = app.test_cli_runner()

    first = runner.invoke(args=["deliver-mail"])
    assert first.exit_code == 0, first.output
    assert "Delivered 1 message(s)." in first.output
    assert db.session.get(OutgoingEmail, message.id, populate_existing=True).status == (
        EmailStatus.KEPT
    )

    again = runner.invoke(args=["deliver-mail"])
    assert again.exit_code == 0, again.output
    assert "Delivered 0 message(s)." in again.output


def test_demo_data_command_loads_once(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["demo-data"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.output
    users = db.session.scalar(select(func.count(User.id)))
    emails = db.session.scalar(select(func.count(OutgoingEmail.id)))
    assert users > 0

    second = runner.invoke(args=["demo-data"])
    assert second.exit_code == 0, second.output
    assert "Demo data already present." in second.output
    assert db.session.scalar(select(func.count(User.id))) == users
    assert db.session.scalar(select(func.count(OutgoingEmail.id))) == emails

