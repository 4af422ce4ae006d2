"""Two staff changing the same case at once: the second is shown the conflict, with what they
typed kept, whether they sent an update to the customer or a new status."""

from datetime import UTC, datetime, time, timedelta

import pytest

from shared import services
from shared.extensions import db
from shared.models import Case, CaseStatus, EventKind, OutgoingEmail
from shared.services import cases as case_actions
from shared.services import messages
from tests.support.html import hidden_value, text_of, textarea_text
from tests.support.pages import page_url, signed_in_client
from tests.support.races import HeldAtCommit
from tests.support.timeline import events_of

CONFLICT = "Someone else changed this case while you were writing"


@pytest.fixture
def answered_case(case, org, frozen_now):
    """Answered once already, with the clock stopped: another update changes none of its
    dates, so nothing but the version can tell that the case changed."""
    today = datetime.now(UTC).date()
    frozen_now(datetime.combine(today + timedelta(days=1), time(12), tzinfo=UTC))
    messages.post_update(case, actor=org.sam, body="We are looking into it.")
    services.commit()
    return case


def composer_fields(page, case, body):
    action = page_url(case, "messages")
    return {"version": hidden_value(page, "version", action),
            "seen_event_id": hidden_value(page, "seen_event_id", action),
            "kind": "update", "body": body}


def update_emails():
    return db.session.query(OutgoingEmail).filter_by(kind="case_update").count()


def test_the_second_of_two_updates_that_change_no_date_gets_the_conflict(
        app, org, answered_case):
    case = answered_case
    sam, morgan = signed_in_client(app, org.sam), signed_in_client(app, org.manager)
    sams_page = sam.get(page_url(case)).get_data(as_text=True)
    morgans_page = morgan.get(page_url(case)).get_data(as_text=True)

    first = sam.post(page_url(case, "messages"),
                     data=composer_fields(sams_page, case, "Sam's words."))
    second = morgan.post(page_url(case, "messages"),
                         data=composer_fields(morgans_page, case, "Morgan's words, kept."))

    assert first.status_code == 302
    assert second.status_code == 409
    html = text_of(second)
    assert CONFLICT in html and "Sam's words." in html
    assert textarea_text(html, "composer-body") == "Morgan's words, kept."
    assert [event.body for event in events_of(case, EventKind.UPDATE)][-1] == "Sam's words."
    assert update_emails() == 2  # the first update, then Sam's


def test_a_status_change_over_someone_elses_gets_the_conflict_not_an_invalid_choice(
        app, org, case):
    case_actions.acknowledge_case(case, actor=org.sam)
    services.commit()
    sam, morgan = signed_in_client(app, org.sam), signed_in_client(app, org.manager)
    action = page_url(case, "status")
    sams_page = sam.get(page_url(case)).get_data(as_text=True)
    morgans_page = morgan.get(page_url(case)).get_data(as_text=True)

    def status_fields(page, status):
        return {"version": hidden_value(page, "version", action),
                "seen_event_id": hidden_value(page, "seen_event_id", action), "status": status}

    assert morgan.post(action, data=status_fields(morgans_page, "in_progress")).status_code == 302
    second = sam.post(action, data=status_fields(sams_page, "in_progress"))

    assert second.status_code == 409
    html = text_of(second)
    assert CONFLICT in html
    assert "Not a valid choice" not in html
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == CaseStatus.IN_PROGRESS


@pytest.mark.postgres
def test_two_updates_sent_at_the_same_moment_let_only_the_first_through(
        app, org, answered_case):
    case = answered_case
    clients = {"sam": signed_in_client(app, org.sam), "morgan": signed_in_client(app, org.manager)}
    pages = {name: client.get(page_url(case)).get_data(as_text=True)
             for name, client in clients.items()}

    def send(name, body):
        return lambda: clients[name].post(page_url(case, "messages"),
                                          data=composer_fields(pages[name], case, body))

    race = HeldAtCommit(app)
    responses = race.run(send("sam", "Sam's words."), send("morgan", "Morgan's words, kept."))

    assert race.second_waited_on_first, "the second update never waited on the first's lock"
    assert responses["first"].status_code == 302
    assert responses["second"].status_code == 409
    html = text_of(responses["second"])
    assert CONFLICT in html
    assert textarea_text(html, "composer-body") == "Morgan's words, kept."
    db.session.expire_all()
    bodies = [event.body for event in events_of(case, EventKind.UPDATE)]
    assert bodies == ["We are looking into it.", "Sam's words."]
    assert update_emails() == 2


@pytest.mark.postgres
def test_two_status_changes_at_the_same_moment_let_only_the_first_through(app, org, case):
    case_actions.acknowledge_case(case, actor=org.sam)
    services.commit()
    clients = {"sam": signed_in_client(app, org.sam), "morgan": signed_in_client(app, org.manager)}
    action = page_url(case, "status")
    pages = {name: client.get(page_url(case)).get_data(as_text=True)
             for name, client in clients.items()}

    def change(name, status):
        fields = {"version": hidden_value(pages[name], "version", action),
                  "seen_event_id": hidden_value(pages[name], "seen_event_id", action),
                  "status": status}
        return lambda: clients[name].post(action, data=fields)

    race = HeldAtCommit(app)
    responses = race.run(change("morgan", "in_progress"), change("sam", "waiting_on_customer"))

    assert race.second_waited_on_first, "the second change never waited on the first's lock"
    assert responses["first"].status_code == 302
    assert responses["second"].status_code == 409
    assert CONFLICT in text_of(responses["second"])
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == CaseStatus.IN_PROGRESS
