"""Coordination rules, at the service level: understanding, remedies, promises, tasks, merging,
saved replies and the debrief."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from shared import debrief, queries, services
from shared.clock import describe_due
from shared.extensions import db
from shared.models import (
    CaseStatus,
    CommitmentState,
    EscalationLevel,
    EscalationStatus,
    EventKind,
    OutgoingEmail,
    TaskStatus,
    Understanding,
    Visibility,
    utcnow,
)
from shared.services import RuleViolation, merging
from shared.services import cases as case_actions
from shared.services import commitments as commitment_actions
from shared.services import escalations as escalation_actions
from shared.services import remedies as remedy_actions
from shared.services import saved_replies as reply_actions
from shared.services import tasks as task_actions
from shared.services import understanding as understanding_actions
from shared.services.timeline import record_event
from tests import factories
from tests.support.timeline import events_of


def emails_of(kind):
    return db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == kind).order_by(OutgoingEmail.id)
    ).all()


def violation(call, *args, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        call(*args, **kwargs)
    services.rollback()
    return caught.value


# --- What we understand -----------------------------------------------------------------------


def test_proposing_an_understanding_asks_the_customer_by_email(case, org, customer):
    understanding_actions.propose_understanding(
        case, actor=org.sam, text="  Your parcel came crushed and you want a replacement.  "
    )
    services.commit()

    assert case.understanding == "Your parcel came crushed and you want a replacement."
    assert case.understanding_state == Understanding.PROPOSED
    [event] = events_of(case, EventKind.UNDERSTANDING_PROPOSED)
    assert event.visibility == Visibility.PUBLIC
    assert event.body == case.understanding
    [email] = emails_of("understanding_to_confirm")
    assert email.recipient == customer.email
    assert "you want a replacement" in email.text_body
    assert "http://localhost/sign-in/" in email.text_body


def test_the_customer_confirms_the_understanding(case, org, customer):
    understanding_actions.propose_understanding(case, actor=org.sam, text="A crushed parcel.")
    understanding_actions.confirm_understanding(case, customer=customer)
    services.commit()

    assert case.understanding_state == Understanding.CONFIRMED
    [event] = events_of(case, EventKind.UNDERSTANDING_CONFIRMED)
    assert (event.actor_id, event.visibility) == (customer.id, Visibility.PUBLIC)


def test_the_customer_corrects_the_understanding_in_their_own_words(case, org, customer):
    understanding_actions.propose_understanding(case, actor=org.sam, text="A crushed parcel.")
    understanding_actions.correct_understanding(
        case, customer=customer, correction="It was two parcels, and one never came."
    )
    services.commit()

    assert case.understanding_state == Understanding.CORRECTED
    assert case.understanding_correction == "It was two parcels, and one never came."
    [event] = events_of(case, EventKind.UNDERSTANDING_CORRECTED)
    assert event.body == "It was two parcels, and one never came."


def test_a_correction_needs_words_and_something_to_correct(case, org, customer):
    assert violation(
        understanding_actions.correct_understanding, case, customer=customer, correction="x"
    ).field == "correction"  # nothing proposed yet
    understanding_actions.propose_understanding(case, actor=org.sam, text="A crushed parcel.")
    services.commit()
    assert violation(
        understanding_actions.correct_understanding, case, customer=customer, correction="  "
    ).field == "correction"


def test_an_answered_understanding_cannot_be_answered_again(case, org, customer):
    understanding_actions.propose_understanding(case, actor=org.sam, text="A crushed parcel.")
    understanding_actions.confirm_understanding(case, customer=customer)
    services.commit()

    violation(understanding_actions.confirm_understanding, case, customer=customer)
    assert case.understanding_state == Understanding.CONFIRMED


def test_a_new_wording_after_a_correction_asks_again(case, org, customer):
    understanding_actions.propose_understanding(case, actor=org.sam, text="A crushed parcel.")
    understanding_actions.correct_understanding(case, customer=customer, correction="Two.")
    understanding_actions.propose_understanding(case, actor=org.sam, text="Two crushed parcels.")
    services.commit()

    assert case.understanding_state == Understanding.PROPOSED
    assert case.understanding_correction is None
    assert len(events_of(case, EventKind.UNDERSTANDING_PROPOSED)) == 2
    assert events_of(case, EventKind.UNDERSTANDING_CORRECTED)[0].body == "Two."


def test_an_empty_understanding_is_refused(case, org):
    assert violation(
        understanding_actions.propose_understanding, case, actor=org.sam, text="   "
    ).field == "text"


# --- Resolution options -----------------------------------------------------------------------


def test_offering_options_lists_them_on_the_timeline_and_emails_the_customer(case, org):
    remedy_actions.offer_options(
        case, actor=org.sam, descriptions=["A full refund", "", "  A replacement  "]
    )
    services.commit()

    assert [o.description for o in case.resolution_options] == ["A full refund", "A replacement"]
    [event] = events_of(case, EventKind.OPTIONS_OFFERED)
    assert event.visibility == Visibility.PUBLIC
    assert "• A full refund\n• A replacement" in event.body
    [email] = emails_of("options_offered")
    assert "A full refund" in email.text_body and "A replacement" in email.text_body


def test_options_can_be_offered_one_at_a_time(case, org):
    remedy_actions.offer_options(case, actor=org.sam, descriptions=["A full refund"])
    remedy_actions.offer_options(case, actor=org.sam, descriptions=["A replacement"])
    services.commit()

    assert len(remedy_actions.open_options(case)) == 2
    latest = events_of(case, EventKind.OPTIONS_OFFERED)[-1]
    assert "• A full refund\n• A replacement" in latest.body


def test_offering_nothing_is_refused(case, org):
    assert violation(
        remedy_actions.offer_options, case, actor=org.sam, descriptions=["", "  "]
    ).field == "options"


def test_the_customer_chooses_exactly_one_and_the_others_close(case, org, customer):
    refund, replacement = remedy_actions.offer_options(
        case, actor=org.sam, descriptions=["A full refund", "A replacement"]
    )
    remedy_actions.choose_option(case, replacement, customer=customer)
    services.commit()

    assert replacement.chosen_at is not None
    assert refund.chosen_at is None and refund.withdrawn_at is not None
    assert remedy_actions.open_options(case) == []
    [event] = events_of(case, EventKind.OPTION_CHOSEN)
    assert (event.actor_id, event.body) == (customer.id, "Chosen: A replacement")
    # Once chosen, no second choice and no new offers.
    violation(remedy_actions.choose_option, case, refund, customer=customer)
    violation(remedy_actions.offer_options, case, actor=org.sam, descriptions=["More"])


def test_an_option_of_another_case_cannot_be_chosen(case, org, customer):
    other = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    [foreign] = remedy_actions.offer_options(other, actor=org.sam, descriptions=["Refund"])
    remedy_actions.offer_options(case, actor=org.sam, descriptions=["Replacement"])
    services.commit()

    violation(remedy_actions.choose_option, case, foreign, customer=customer)
    assert foreign.chosen_at is None


def test_a_withdrawn_option_can_no_longer_be_chosen(case, org, customer):
    refund, replacement = remedy_actions.offer_options(
        case, actor=org.sam, descriptions=["A full refund", "A replacement"]
    )
    remedy_actions.withdraw_option(case, refund, actor=org.sam)
    services.commit()

    assert remedy_actions.open_options(case) == [replacement]
    assert "no longer able to offer: A full refund" in (
        events_of(case, EventKind.OPTIONS_OFFERED)[-1].body
    )
    assert violation(
        remedy_actions.choose_option, case, refund, customer=customer
    ).field == "option"


def test_the_offers_of_a_closed_case_cannot_be_chosen(case, org, customer):
    [refund] = remedy_actions.offer_options(case, actor=org.sam, descriptions=["A refund"])
    case_actions.resolve_case(case, actor=org.sam, resolution="Sorted by phone.",
                              **factories.cause_and_outcome())
    services.commit()

    assert "closed" in violation(remedy_actions.choose_option, case, refund,
                                 customer=customer).message
    assert refund.chosen_at is None


def test_a_chosen_option_cannot_be_withdrawn(case, org, customer):
    [refund] = remedy_actions.offer_options(case, actor=org.sam, descriptions=["A refund"])
    remedy_actions.choose_option(case, refund, customer=customer)
    services.commit()

    violation(remedy_actions.withdraw_option, case, refund, actor=org.sam)
    assert refund.withdrawn_at is None


# --- Commitments ------------------------------------------------------------------------------


def test_a_promise_is_recorded_publicly_with_its_date_in_words(case, org):
    due = factories.in_hours(30)
    commitment = commitment_actions.make_commitment(
        case, actor=org.sam, description="call you about the refund", due_at=due
    )
    services.commit()

    assert commitment.state == CommitmentState.OPEN
    [event] = events_of(case, EventKind.COMMITMENT_MADE)
    assert event.visibility == Visibility.PUBLIC
    calendar = org.delivery.service_level.calendar
    assert event.body == (
        f"We promised: call you about the refund by"
        f" {describe_due(due, calendar.zone, calendar.zone_label)}."
    )


def test_a_promise_in_the_past_is_refused(case, org):
    assert violation(
        commitment_actions.make_commitment, case, actor=org.sam,
        description="call you", due_at=factories.in_hours(-1),
    ).field == "due_at"


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "broken"])
def test_a_promise_is_marked_kept_or_broken_in_the_open(case, org, kept):
    commitment = commitment_actions.make_commitment(
        case, actor=org.sam, description="call you", due_at=factories.in_hours(5)
    )
    commitment_actions.settle_commitment(
        case, commitment, actor=org.sam, kept=kept, note="We spoke at 3pm."
    )
    services.commit()

    assert commitment.state == (CommitmentState.KEPT if kept else CommitmentState.BROKEN)
    assert commitment.settled_note == "We spoke at 3pm."
    kind = EventKind.COMMITMENT_KEPT if kept else EventKind.COMMITMENT_BROKEN
    [event] = events_of(case, kind)
    assert event.visibility == Visibility.PUBLIC
    assert "We spoke at 3pm." in event.body
    violation(commitment_actions.settle_commitment, case, commitment, actor=org.sam, kept=True)


def test_overdue_promises_are_found_for_their_owner_only(case, org, customer):
    late = commitment_actions.make_commitment(
        case, actor=org.sam, description="call you", due_at=factories.in_hours(1)
    )
    commitment_actions.make_commitment(
        case, actor=org.sam, description="write to you", due_at=factories.in_hours(2)
    )
    kept = commitment_actions.make_commitment(
        case, actor=org.sam, description="visit", due_at=factories.in_hours(1)
    )
    commitment_actions.settle_commitment(case, kept, actor=org.sam, kept=True)
    priyas = factories.case_owned_by(org.priya, org.delivery, customer=customer)
    hers = commitment_actions.make_commitment(
        priyas, actor=org.priya, description="email you", due_at=factories.in_hours(1)
    )
    services.commit()
    # Time passes: two promises fall due without being kept.
    later = utcnow() + timedelta(hours=1, minutes=30)

    assert queries.overdue_commitments_for_owner(org.sam.id, now=later) == [late]
    assert queries.overdue_commitments_for_owner(org.priya.id, now=later) == [hers]
    assert commitment_actions.is_overdue(late, now=later)


# --- Tasks ------------------------------------------------------------------------------------


def test_a_task_for_a_person_is_internal_and_emails_them(case, org):
    task = task_actions.create_task(
        case, actor=org.sam, title="Refund the postage", details="£4.20 to the card",
        due_at=factories.in_hours(24), assignee=org.jo,
    )
    services.commit()

    assert (task.status, task.assignee_id, task.team_id) == (TaskStatus.OPEN, org.jo.id, None)
    [event] = events_of(case, EventKind.TASK_CREATED)
    assert event.visibility == Visibility.INTERNAL
    assert "Jo Evans" in event.body and "Refund the postage" in event.body
    [email] = emails_of("task_assigned")
    assert email.recipient == org.jo.email
    assert "Refund the postage" in email.text_body
    assert "http://localhost/staff/tasks" in email.text_body


def test_a_task_for_a_team_emails_each_active_member_but_not_its_author(case, org):
    leaver = factories.make_user("lee@example.com", "Lee Gone", "agent", org.care, active=False)
    task_actions.create_task(
        case, actor=org.sam, title="Check the depot camera", due_at=factories.in_hours(8),
        team=org.care,
    )
    services.commit()

    recipients = sorted(email.recipient for email in emails_of("task_assigned"))
    assert recipients == sorted([org.manager.email, org.priya.email])
    assert leaver.email not in recipients


def test_a_task_needs_someone_active_a_title_and_a_future_time(case, org):
    org.jo.active = False
    db.session.commit()
    due = factories.in_hours(4)
    assert violation(task_actions.create_task, case, actor=org.sam, title="X",
                     due_at=due).field == "assignee"
    assert violation(task_actions.create_task, case, actor=org.sam, title="X", due_at=due,
                     assignee=org.jo).field == "assignee"
    customer = case.customer
    assert violation(task_actions.create_task, case, actor=org.sam, title="X", due_at=due,
                     assignee=customer).field == "assignee"
    assert violation(task_actions.create_task, case, actor=org.sam, title=" ", due_at=due,
                     team=org.billing).field == "title"
    assert violation(task_actions.create_task, case, actor=org.sam, title="X",
                     due_at=factories.in_hours(-2), team=org.billing).field == "due_at"


def test_task_progress_is_recorded_and_the_owner_never_changes(case, org):
    task = task_actions.create_task(
        case, actor=org.sam, title="Refund", due_at=factories.in_hours(24), team=org.billing
    )
    services.commit()

    task_actions.update_task(task, actor=org.jo, status=TaskStatus.IN_PROGRESS,
                             outcome="Asked the bank")
    task_actions.update_task(task, actor=org.jo, status=TaskStatus.IN_PROGRESS,
                             outcome="Bank replied")
    task_actions.update_task(task, actor=org.jo, status=TaskStatus.DONE,
                             outcome="Refunded £4.20")
    services.commit()

    assert task.status == TaskStatus.DONE and task.completed_at is not None
    assert task.outcome == "Refunded £4.20"
    updates = events_of(case, EventKind.TASK_UPDATED)
    assert [e.data["to"] for e in updates] == ["in_progress", "in_progress", "done"]
    assert all(e.visibility == Visibility.INTERNAL for e in updates)
    assert case.owner_id == org.sam.id and case.handoff_count == 0


def test_task_status_moves_only_along_its_edges(case, org):
    task = task_actions.create_task(
        case, actor=org.sam, title="Refund", due_at=factories.in_hours(24), team=org.billing
    )
    services.commit()

    assert violation(task_actions.update_task, task, actor=org.jo,
                     status=TaskStatus.DONE).field == "outcome"  # done says what was done
    assert violation(task_actions.update_task, task, actor=org.jo,
                     status=TaskStatus.OPEN).field == "outcome"  # no change, no note
    assert violation(task_actions.update_task, task, actor=org.jo,
                     status=TaskStatus.CANCELLED, outcome="Not ours").field == "status"
    task_actions.update_task(task, actor=org.sam, status=TaskStatus.CANCELLED,
                             outcome="Customer refunded by the courier")
    services.commit()
    assert violation(task_actions.update_task, task, actor=org.sam,
                     status=TaskStatus.OPEN).field == "status"


def test_overdue_words_say_how_late_in_calendar_time():
    now = utcnow()
    assert task_actions.overdue_words(now + timedelta(hours=1), now) is None
    assert task_actions.overdue_words(now - timedelta(minutes=1), now) == "1 minute overdue"
    assert task_actions.overdue_words(now - timedelta(hours=5), now) == "5 hours overdue"
    assert task_actions.overdue_words(now - timedelta(days=2, hours=3), now) == "2 days overdue"


# --- Merging ----------------------------------------------------------------------------------


def test_a_duplicate_is_merged_into_the_surviving_case(case, org, customer):
    duplicate = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    task = task_actions.create_task(duplicate, actor=org.sam, title="Call depot",
                                    due_at=factories.in_hours(3), team=org.billing)
    promise = commitment_actions.make_commitment(duplicate, actor=org.sam, description="call",
                                                 due_at=factories.in_hours(3))
    services.commit()
    timeline_before = len(events_of(duplicate, EventKind.CREATED))

    merging.merge_case(duplicate, case, actor=org.sam)
    services.commit()

    assert duplicate.status == CaseStatus.CLOSED and duplicate.closed_at is not None
    assert duplicate.merged_into_id == case.id
    assert len(events_of(duplicate, EventKind.CREATED)) == timeline_before
    [on_duplicate] = events_of(duplicate, EventKind.MERGED)
    [on_target] = events_of(case, EventKind.MERGED)
    assert case.reference in on_duplicate.body and duplicate.reference in on_target.body
    assert on_duplicate.visibility == on_target.visibility == Visibility.PUBLIC
    # Work owed to the customer carries on where the case carries on.
    assert task.case_id == case.id and promise.case_id == case.id
    [email] = emails_of("case_merged")
    assert email.recipient == customer.email


def test_merging_withdraws_the_duplicates_open_escalation(case, org, customer):
    duplicate = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    escalation = escalation_actions.request_escalation(
        duplicate, actor=org.sam, level=EscalationLevel.TEAM_MANAGER,
        reason="The courier will not answer.", needs=["supplier"],
    )
    services.commit()

    merging.merge_case(duplicate, case, actor=org.sam)
    services.commit()

    # Nobody is asked to commit more to a case that is closed: the work goes on in the target.
    assert escalation.status == EscalationStatus.WITHDRAWN
    assert case.reference in escalation.decision_note
    assert events_of(duplicate, EventKind.ESCALATION_WITHDRAWN)


def test_merging_refuses_itself_a_merged_case_a_closed_case_and_a_missing_one(case, org,
                                                                               customer):
    first = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    second = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    merging.merge_case(first, case, actor=org.sam)
    services.commit()

    for target in (second, first, None):
        assert violation(merging.merge_case, second, target,
                         actor=org.sam).field == "target_reference"
    case_actions.resolve_case(case, actor=org.sam, resolution="Refunded.",
                              **factories.cause_and_outcome())
    services.commit()
    assert "not open" in violation(merging.merge_case, second, case, actor=org.sam).message


def test_only_a_manager_merges_across_customers(case, org):
    stranger = factories.make_customer("blake@example.com", "Blake Moss")
    theirs = factories.case_owned_by(org.sam, org.delivery, customer=stranger)
    services.commit()

    assert "another customer" in violation(
        merging.merge_case, theirs, case, actor=org.sam
    ).message
    merging.merge_case(theirs, case, actor=org.manager)
    services.commit()

    assert theirs.merged_into_id == case.id
    [on_target] = events_of(case, EventKind.MERGED)
    [on_duplicate] = events_of(theirs, EventKind.MERGED)
    # Neither customer reads the other's reference.
    assert on_target.visibility == Visibility.INTERNAL
    assert case.reference not in on_duplicate.body
    assert emails_of("case_merged") == []


def test_the_survivor_is_found_only_when_both_cases_are_the_customers(case, org, customer):
    duplicate = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    stranger = factories.make_customer("blake@example.com", "Blake Moss")
    theirs = factories.case_owned_by(org.sam, org.delivery, customer=stranger)
    merging.merge_case(duplicate, case, actor=org.sam)
    merging.merge_case(theirs, case, actor=org.manager)
    services.commit()

    assert queries.surviving_case_for_customer(duplicate, customer.id) == case
    assert queries.surviving_case_for_customer(case, customer.id) is None
    assert queries.surviving_case_for_customer(theirs, stranger.id) is None


# --- Saved replies ----------------------------------------------------------------------------


def test_placeholders_are_filled_with_the_cases_details(case, org):
    calendar = org.delivery.service_level.calendar
    body = ("Dear {customer_name}, {reference} is with {owner_name}. Put right by {resolve_by};"
            " next update by {next_update_by}.")

    filled = reply_actions.fill(body, case)

    resolve_by = describe_due(case.resolve_due_at, calendar.zone, calendar.zone_label)
    next_by = describe_due(case.next_update_due_at, calendar.zone, calendar.zone_label)
    assert filled == (f"Dear Alex Carter, {case.reference} is with Sam Taylor. Put right by"
                      f" {resolve_by}; next update by {next_by}.")


@pytest.mark.parametrize(
    "typed",
    [
        "Hello {unknown_name}",
        "A lone { brace and a } closing one",
        "Positional {0} and {}",
        "Attribute {customer_name.__class__} and index {reference[0]}",
        "Format {reference!r} {reference:>30}",
        "Jinja {{ config }} {% if true %}",
    ],
)
def test_anything_but_a_known_placeholder_stays_as_typed(case, typed):
    assert reply_actions.fill(typed, case) == typed


def test_values_are_not_filled_a_second_time(case, org):
    case.contact_name = "{reference}"
    assert reply_actions.fill("Dear {customer_name}", case) == "Dear {reference}"


def test_saved_reply_titles_are_unique_whatever_their_case(org):
    reply_actions.create_saved_reply(actor=org.manager, title="Refund", body="Text")
    services.commit()

    assert violation(reply_actions.create_saved_reply, actor=org.manager, title="REFUND",
                     body="Other").field == "title"
    assert violation(reply_actions.create_saved_reply, actor=org.manager, title="New",
                     body="  ").field == "body"


# --- Debrief ----------------------------------------------------------------------------------


def _event_at(case, moment, body, *, kind=EventKind.UPDATE, actor=None,
              visibility=Visibility.PUBLIC):
    event = record_event(case, kind, actor=actor, visibility=visibility, body=body)
    event.created_at = moment
    return event


def test_debrief_rows_count_business_and_calendar_time_since_raised(org, customer):
    calendar = org.delivery.service_level.calendar
    # Raised on a Friday at 16:00 UK time; answered on Monday at 10:00.
    from datetime import datetime

    raised = datetime(2026, 11, 20, 16, 0, tzinfo=calendar.zone)
    case = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    case.created_at = raised
    _event_at(case, datetime(2026, 11, 23, 10, 0, tzinfo=calendar.zone), "Hello",
              actor=org.sam)
    _event_at(case, datetime(2026, 11, 23, 10, 30, tzinfo=calendar.zone), "Secret",
              kind=EventKind.NOTE, actor=org.sam, visibility=Visibility.INTERNAL)
    services.commit()

    rows = debrief.timeline_rows(case, queries.staff_timeline(case.id))
    [update] = [row for row in rows if row.body == "Hello"]
    [note] = [row for row in rows if row.body == "Secret"]

    assert (update.business_minutes, update.business_words) == (120, "2 hours")
    assert (update.calendar_minutes, update.calendar_words) == (2 * 24 * 60 + 18 * 60,
                                                                "2 days 18 hours")
    assert update.by == "Sam Taylor" and not update.is_internal
    assert note.is_internal and note.business_minutes == 150


def test_debrief_time_frames_say_whether_each_was_met(case, org):
    case.acknowledged_at = case.acknowledge_due_at - timedelta(minutes=5)
    case.first_responded_at = case.first_response_due_at + timedelta(hours=2)
    frames = debrief.time_frame_rows(case, now=case.first_response_due_at + timedelta(hours=3))

    assert [f.verdict for f in frames] == ["met", "missed", "pending"]
    assert frames[1].verdict_words == "Missed by 2 hours"


def test_debrief_csv_disarms_spreadsheet_formulas(case, org, customer):
    for body in ["=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "\tTabbed", "Fine"]:
        record_event(case, EventKind.CUSTOMER_REPLY, actor=customer, body=body)
    services.commit()

    text = debrief.debrief_csv(case, debrief.timeline_rows(case, queries.staff_timeline(case.id)))
    rows = list(csv.reader(io.StringIO(text)))

    assert rows[0] == debrief.CSV_COLUMNS
    bodies = [row[-1] for row in rows[1:]][-6:]
    assert bodies == ["'=HYPERLINK(\"http://evil\")", "'+1+1", "'-2", "'@SUM(A1)", "'\tTabbed",
                      "Fine"]
