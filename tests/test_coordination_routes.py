"""Coordination through the back office: who may do it, what bad input shows, and the pages."""

import re
from datetime import timedelta

import pytest

from shared import services
from shared.extensions import db
from shared.models import (
    CaseStatus,
    EventKind,
    TaskStatus,
    Understanding,
    utcnow,
)
from shared.services import commitments as commitment_actions
from shared.services import remedies as remedy_actions
from shared.services import tasks as task_actions
from tests import factories
from tests.support.html import error_summary, field_block, text_of, textarea_text
from tests.support.timeline import events_of


def local_input(case, hours_from_now: float) -> str:
    """What a datetime-local input sends: the case calendar's wall clock."""
    zone = case.category.service_level.calendar.zone
    return (utcnow() + timedelta(hours=hours_from_now)).astimezone(zone).strftime(
        "%Y-%m-%dT%H:%M"
    )



def a_task(case, org, **fields):
    fields.setdefault("team", org.billing)
    task = task_actions.create_task(
        case, actor=org.sam, title="Refund the postage", due_at=factories.in_hours(24), **fields
    )
    services.commit()
    return task


# Every action of the owner, with valid input: (path after the case, form data).
def coordination_posts(case, org):
    [option] = remedy_actions.offer_options(case, actor=org.sam, descriptions=["Refund"])
    promise = commitment_actions.make_commitment(
        case, actor=org.sam, description="call you", due_at=factories.in_hours(5)
    )
    other = factories.case_owned_by(org.sam, org.delivery, customer=case.customer)
    services.commit()
    return [
        ("understanding", {"understanding-text": "You want a refund."}),
        ("options", {"options-option_1": "A replacement"}),
        (f"options/{option.id}/withdraw", {}),
        ("commitments", {"commitment-description": "write to you",
                         "commitment-due_at": local_input(case, 48)}),
        (f"commitments/{promise.id}", {"settle-outcome": "kept"}),
        ("tasks", {"task-title": "Refund", "task-team": str(org.billing.id),
                   "task-assignee": "0", "task-due_at": local_input(case, 30)}),
        ("merge", {"merge-target_reference": other.reference}),
    ]


# --- Who may coordinate -----------------------------------------------------------------------


def test_signed_out_people_are_sent_to_the_staff_sign_in(client, case, org):
    for path, data in coordination_posts(case, org):
        response = client.post(f"/staff/cases/{case.reference}/{path}", data=data)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/staff/login"), path
    for path in ("/staff/tasks", f"/staff/cases/{case.reference}/debrief",
                 f"/staff/cases/{case.reference}/debrief.csv"):
        assert client.get(path).headers["Location"].startswith("/staff/login")


def test_customers_get_403_on_every_staff_route(login_as, case, org, customer):
    client = login_as(customer)
    for path, data in coordination_posts(case, org):
        assert client.post(f"/staff/cases/{case.reference}/{path}", data=data).status_code == 403
    for path in ("/staff/tasks", f"/staff/cases/{case.reference}/debrief",
                 f"/staff/cases/{case.reference}/debrief.csv"):
        assert client.get(path).status_code == 403


def test_an_agent_who_is_not_the_owner_cannot_coordinate(login_as, case, org):
    client = login_as(org.priya)
    for path, data in coordination_posts(case, org):
        response = client.post(f"/staff/cases/{case.reference}/{path}", data=data)
        assert response.status_code == 403, path
    assert events_of(case, EventKind.UNDERSTANDING_PROPOSED) == []
    assert case.merged_into_id is None


def test_a_manager_covers_for_the_owner(login_as, case, org):
    client = login_as(org.manager)
    for path, data in coordination_posts(case, org):
        response = client.post(f"/staff/cases/{case.reference}/{path}", data=data)
        assert response.status_code == 302, (path, text_of(response)[:500])


def test_the_owner_does_each_action_and_returns_to_the_case_section(login_as, case, org):
    client = login_as(org.sam)
    anchors = {"understanding": "understanding", "options": "options",
               "commitments": "commitments", "tasks": "tasks", "merge": "case-tools"}
    for path, data in coordination_posts(case, org):
        response = client.post(f"/staff/cases/{case.reference}/{path}", data=data)
        assert response.status_code == 302, (path, text_of(response)[:500])
        anchor = anchors[path.split("/")[0]]
        assert response.headers["Location"] == f"/staff/cases/{case.reference}#{anchor}"
    db.session.expire_all()
    assert case.understanding_state == Understanding.PROPOSED
    assert len(events_of(case, EventKind.TASK_CREATED)) == 1
    # The merge came last: this case closed into the other one.
    assert case.status == CaseStatus.CLOSED and case.merged_into_id is not None


# --- Bad input: 422, the message beside the field, everything typed kept ----------------------


def test_an_empty_understanding_is_shown_again_with_a_message(login_as, case, org):
    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/understanding", data={"understanding-text": "   "}
    )

    assert response.status_code == 422
    html = text_of(response)
    assert "Write what you understand the complaint to be" in field_block(
        html, "understanding-text"
    )


def test_a_task_with_bad_input_keeps_what_was_typed(login_as, case, org):
    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/tasks",
        data={"task-title": "Refund the postage", "task-details": "£4.20 to the card",
              "task-team": "0", "task-assignee": "0", "task-due_at": "next Tuesday"},
    )

    assert response.status_code == 422
    html = text_of(response)
    summary = error_summary(html)
    assert "Choose a team or a person to do this" in summary
    assert "Enter a date and time like 24/11/2026 17:00" in summary
    assert 'value="next Tuesday"' in field_block(html, "task-due_at")
    assert 'value="Refund the postage"' in field_block(html, "task-title")
    assert textarea_text(html, "task-details") == "£4.20 to the card"
    assert events_of(case, EventKind.TASK_CREATED) == []


def test_a_task_for_a_deactivated_person_is_refused_beside_the_field(login_as, case, org):
    org.jo.active = False
    db.session.commit()
    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/tasks",
        data={"task-title": "Refund", "task-team": "0", "task-assignee": str(org.jo.id),
              "task-due_at": local_input(case, 30)},
    )

    assert response.status_code == 422
    # Deactivated people are not even offered: the choice itself is refused.
    assert "task-assignee-error" in field_block(text_of(response), "task-assignee")


def test_a_promise_in_the_past_is_refused_and_its_words_kept(login_as, case, org):
    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/commitments",
        data={"commitment-description": "call you back",
              "commitment-due_at": local_input(case, -3)},
    )

    assert response.status_code == 422
    html = text_of(response)
    assert "That time has already passed" in field_block(html, "commitment-due_at")
    assert 'value="call you back"' in field_block(html, "commitment-description")
    assert "UK time" in field_block(html, "commitment-due_at")


def test_a_promise_due_time_is_read_on_the_case_calendars_clock(login_as, case, org):
    due = local_input(case, 50)
    login_as(org.sam).post(
        f"/staff/cases/{case.reference}/commitments",
        data={"commitment-description": "call you", "commitment-due_at": due},
    )

    [commitment] = case.commitments
    zone = case.category.service_level.calendar.zone
    assert commitment.due_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M") == due
    assert commitment.due_at.utcoffset() == timedelta(0)


def test_offering_no_option_is_refused(login_as, case, org):
    response = login_as(org.sam).post(f"/staff/cases/{case.reference}/options", data={})

    assert response.status_code == 422
    assert "Describe at least one way to put things right" in error_summary(text_of(response))


def test_merging_into_an_unknown_case_keeps_the_reference_typed(login_as, case, org):
    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/merge", data={"merge-target_reference": "AM-999999"}
    )

    assert response.status_code == 422
    html = text_of(response)
    assert "There is no case with that reference." in field_block(html, "merge-target_reference")
    assert 'value="AM-999999"' in html


def test_merging_into_itself_is_refused(login_as, case, org):
    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/merge",
        data={"merge-target_reference": case.reference.lower()},
    )

    assert response.status_code == 422
    assert "cannot be merged into itself" in text_of(response)


def test_settling_without_an_answer_shows_that_promise_open(login_as, case, org):
    promise = commitment_actions.make_commitment(
        case, actor=org.sam, description="call you", due_at=factories.in_hours(5)
    )
    services.commit()
    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/commitments/{promise.id}",
        data={"settle-note": "We tried twice."},
    )

    assert response.status_code == 422
    html = text_of(response)
    assert "Choose kept or not kept" in html
    assert "We tried twice." in html


def test_an_unknown_promise_option_or_task_is_not_found(login_as, case, org, customer):
    other = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    [foreign_option] = remedy_actions.offer_options(other, actor=org.sam, descriptions=["X"])
    foreign_task = a_task(other, org)
    client = login_as(org.sam)

    assert client.post(f"/staff/cases/{case.reference}/options/{foreign_option.id}/withdraw"
                       ).status_code == 404
    assert client.post(f"/staff/cases/{case.reference}/commitments/999",
                       data={"settle-outcome": "kept"}).status_code == 404
    assert client.post(f"/staff/cases/{case.reference}/tasks/{foreign_task.id}",
                       data={"task-update-status": "done"}).status_code == 404
    assert foreign_option.withdrawn_at is None


# --- Tasks: the people given them update them -------------------------------------------------


def test_a_member_of_the_team_updates_the_task(login_as, case, org):
    task = a_task(case, org)
    response = login_as(org.jo).post(
        f"/staff/cases/{case.reference}/tasks/{task.id}",
        data={"task-update-status": "in_progress", "task-update-outcome": "On it",
              "task-update-return_to": "tasks"},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/tasks#task-{task.id}"
    assert task.status == TaskStatus.IN_PROGRESS and task.outcome == "On it"
    assert case.owner_id == org.sam.id


def test_someone_outside_the_task_cannot_update_it(login_as, case, org):
    task = a_task(case, org)
    response = login_as(org.priya).post(
        f"/staff/cases/{case.reference}/tasks/{task.id}",
        data={"task-update-status": "done", "task-update-outcome": "Done"},
    )

    assert response.status_code == 403
    assert task.status == TaskStatus.OPEN


def test_only_the_owner_cancels_a_task_and_the_note_is_kept(login_as, case, org):
    task = a_task(case, org)
    response = login_as(org.jo).post(
        f"/staff/cases/{case.reference}/tasks/{task.id}",
        data={"task-update-status": "cancelled", "task-update-outcome": "Not for us"},
    )

    assert response.status_code == 422
    html = text_of(response)
    assert "Only the case owner or a manager can cancel a task." in html
    assert textarea_text(html, f"task-update-{task.id}-outcome") == "Not for us"
    assert task.status == TaskStatus.OPEN


def test_finishing_a_task_needs_an_outcome(login_as, case, org):
    task = a_task(case, org)
    response = login_as(org.jo).post(
        f"/staff/cases/{case.reference}/tasks/{task.id}",
        data={"task-update-status": "done", "task-update-outcome": ""},
    )

    assert response.status_code == 422
    assert "Say what was done" in text_of(response)


# --- My tasks ---------------------------------------------------------------------------------


def test_my_tasks_lists_mine_and_my_teams_open_first_by_due_time(login_as, case, org):
    later = task_actions.create_task(case, actor=org.sam, title="Later team task",
                                     due_at=factories.in_hours(50), team=org.billing)
    sooner = task_actions.create_task(case, actor=org.sam, title="Sooner personal task",
                                      due_at=factories.in_hours(2), assignee=org.jo)
    finished = task_actions.create_task(case, actor=org.sam, title="Finished task",
                                        due_at=factories.in_hours(1), assignee=org.jo)
    task_actions.update_task(finished, actor=org.jo, status=TaskStatus.DONE, outcome="Done it")
    task_actions.create_task(case, actor=org.sam, title="Someone else's task",
                             due_at=factories.in_hours(1), assignee=org.priya)
    services.commit()

    response = login_as(org.jo).get("/staff/tasks")

    assert response.status_code == 200
    html = text_of(response)
    assert html.index(sooner.title) < html.index(later.title) < html.index("Finished task")
    assert "Someone else's task" not in html
    assert case.reference in html and "Done it" in html
    assert 'href="/staff/tasks" aria-current="page"' in html


def test_overdue_tasks_say_so_in_words(login_as, case, org):
    task = a_task(case, org)
    task.due_at = utcnow() - timedelta(days=2, hours=1)
    db.session.commit()

    html = text_of(login_as(org.jo).get("/staff/tasks"))
    assert "2 days overdue" in html


def _tasks_for_billing(org, customer, how_many):
    for number in range(how_many):
        owner = (org.sam, org.priya, org.manager)[number % 3]
        case = factories.case_owned_by(owner, org.delivery, customer=customer)
        task_actions.create_task(case, actor=owner, title=f"Task {number}",
                                 due_at=factories.in_hours(number + 1),
                                 team=org.billing if number % 2 else None,
                                 assignee=None if number % 2 else org.jo)
    services.commit()


def test_my_tasks_reads_the_same_number_of_queries_at_two_sizes(
    login_as, org, customer, count_queries
):
    client = login_as(org.jo)
    _tasks_for_billing(org, customer, 2)
    with count_queries() as few:
        assert client.get("/staff/tasks").status_code == 200
    _tasks_for_billing(org, customer, 24)
    with count_queries() as many:
        assert client.get("/staff/tasks").status_code == 200

    assert len(few) == len(many)
    assert len(many) <= 6


# --- The case page shows each section ---------------------------------------------------------


def test_the_case_page_shows_progress_promises_and_offers(login_as, case, org, customer):
    task = a_task(case, org)
    task_actions.update_task(task, actor=org.jo, status=TaskStatus.IN_PROGRESS,
                             outcome="Asked the bank")
    task.due_at = utcnow() - timedelta(hours=3)
    promise = commitment_actions.make_commitment(
        case, actor=org.sam, description="call you back", due_at=factories.in_hours(1)
    )
    promise.due_at = utcnow() - timedelta(minutes=10)
    remedy_actions.offer_options(case, actor=org.sam, descriptions=["A full refund"])
    services.commit()

    html = text_of(login_as(org.sam).get(f"/staff/cases/{case.reference}"))

    task_item = html[html.index(f'id="task-{task.id}"'):]
    task_item = task_item[: task_item.index("</li>")]
    assert "the Billing team" in task_item and "In progress" in task_item
    assert "3 hours overdue" in task_item and "Asked the bank" in task_item
    promise_item = html[html.index(f'id="commitment-{promise.id}"'):]
    assert "coordination__item--overdue" in html[html.index(f'id="commitment-{promise.id}"')
                                                 - 60: html.index(f'id="commitment-{promise.id}"')]
    assert "Overdue: not yet kept" in promise_item[: promise_item.index("</li>")]
    assert "Waiting for the customer's choice" in html
    assert "Debrief" in html


def test_a_colleague_sees_the_sections_without_the_owners_forms(login_as, case, org):
    a_task(case, org)
    html = text_of(login_as(org.priya).get(f"/staff/cases/{case.reference}"))

    assert 'id="tasks-title"' in html and 'id="understanding-title"' in html
    for action in ("understanding", "options", "commitments", "tasks", "merge"):
        assert f'action="/staff/cases/{case.reference}/{action}"' not in html


# --- Debrief ----------------------------------------------------------------------------------


def test_the_debrief_page_shows_internal_events_and_elapsed_times(login_as, case, org):
    a_task(case, org)
    response = login_as(org.priya).get(f"/staff/cases/{case.reference}/debrief")

    assert response.status_code == 200
    html = text_of(response)
    assert "timeline__event--internal" in html and "Staff only" in html
    assert "working time" in html and "calendar time" in html
    assert "Put right" in html and "Not yet due" in html


def test_the_debrief_csv_is_an_attachment_with_disarmed_formulas(login_as, case, org, customer):
    from shared.services.timeline import record_event

    record_event(case, EventKind.CUSTOMER_REPLY, actor=customer, body="=1+2")
    services.commit()

    response = login_as(org.sam).get(f"/staff/cases/{case.reference}/debrief.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{case.reference}-debrief.csv"'
    )
    text = response.get_data(as_text=True)
    assert "'=1+2" in text
    assert not re.search(r"(^|,)=1\+2", text, re.M)


# --- CSRF: the prefixed forms carry a token the app accepts ------------------------------------


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_post_without_a_token_is_refused(self, login_as, case, org):
        response = login_as(org.sam).post(
            f"/staff/cases/{case.reference}/understanding",
            data={"understanding-text": "You want a refund."},
        )
        assert response.status_code == 400

    def test_the_token_on_the_case_page_is_accepted(self, login_as, case, org):
        client = login_as(org.sam)
        html = client.get(f"/staff/cases/{case.reference}").get_data(as_text=True)
        token = re.search(
            r'name="understanding-csrf_token" type="hidden" value="([^"]+)"', html
        ).group(1)

        response = client.post(
            f"/staff/cases/{case.reference}/understanding",
            data={"understanding-text": "You want a refund.", "understanding-csrf_token": token},
        )
        assert response.status_code == 302
