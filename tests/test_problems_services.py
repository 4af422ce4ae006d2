"""Problems: opening, linking, the status rules, marking fixed, suggestions and who may see."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import (
    CaseStatus,
    EventKind,
    Notification,
    OutgoingEmail,
    ProblemEvent,
    ProblemEventKind,
    ProblemStatus,
    TimelineEvent,
    Visibility,
    utcnow,
)
from shared.services import RuleViolation
from shared.services import problems as problem_actions
from shared.services.problems import ProblemChangedMeanwhile
from tests import factories


def _case(org, owner, *, category=None, email="alex@example.com", name="Alex Carter"):
    case = factories.case_owned_by(owner, category or org.delivery, email=email, name=name)
    case.team = owner.team or case.team
    return case


def test_opening_a_problem_links_its_cases_on_both_timelines(org):
    first, second = _case(org, org.sam), _case(org, org.sam, email="bo@example.com")

    problem = factories.a_problem(org.manager, team=org.billing, owner=org.jo,
                                  cases=[first, second, first])
    services.commit()

    assert problem.reference == f"PR-{problem.id:05d}"
    assert problem.status == ProblemStatus.INVESTIGATING
    assert {link.case_id for link in problem.links} == {first.id, second.id}
    kinds = [event.kind for event in problem.events]
    assert kinds == [ProblemEventKind.CREATED, ProblemEventKind.CASE_LINKED,
                     ProblemEventKind.CASE_LINKED]
    linked = db.session.scalars(
        select(TimelineEvent).where(TimelineEvent.kind == EventKind.PROBLEM_LINKED)
    ).all()
    assert {event.case_id for event in linked} == {first.id, second.id}
    assert {event.visibility for event in linked} == {Visibility.INTERNAL}


def test_the_owner_must_be_in_the_owning_team(org):
    with pytest.raises(RuleViolation) as refused:
        factories.a_problem(org.manager, team=org.billing, owner=org.sam)
    assert refused.value.field == "owner"
    assert "Sam Taylor is not in the Billing team" in refused.value.message


def test_a_title_is_needed(org):
    with pytest.raises(RuleViolation) as refused:
        factories.a_problem(org.sam, title="  ")
    assert refused.value.field == "title"


def test_linking_needs_someone_who_coordinates_the_case(org):
    priyas = _case(org, org.priya)
    problem = factories.a_problem(org.sam)

    with pytest.raises(RuleViolation) as refused:
        problem_actions.link_case(problem, priyas, actor=org.sam)
    assert "Only Priya Shah" in refused.value.message

    problem_actions.link_case(problem, priyas, actor=org.priya)
    with pytest.raises(RuleViolation, match="already linked"):
        problem_actions.link_case(problem, priyas, actor=org.priya)


def test_unlinking_is_recorded_on_both_timelines(org):
    case = _case(org, org.sam)
    problem = factories.a_problem(org.sam, cases=[case])
    services.commit()

    problem_actions.unlink_case(problem, case, actor=org.sam)
    services.commit()

    assert problem.links == []
    assert problem.events[-1].kind == ProblemEventKind.CASE_UNLINKED
    assert db.session.scalar(select(TimelineEvent.visibility).where(
        TimelineEvent.kind == EventKind.PROBLEM_UNLINKED)) == Visibility.INTERNAL


def test_statuses_move_only_along_the_allowed_edges(org):
    problem = factories.a_problem(org.sam)
    services.commit()

    with pytest.raises(RuleViolation, match="cannot become"):
        problem_actions.change_problem_status(problem, ProblemStatus.CONFIRMED_FIXED,
                                              actor=org.sam, expected_version=problem.version)
    with pytest.raises(RuleViolation) as refused:
        problem_actions.change_problem_status(problem, ProblemStatus.WONT_FIX, actor=org.sam,
                                              expected_version=problem.version)
    assert refused.value.field == "reason"

    problem_actions.change_problem_status(problem, ProblemStatus.WONT_FIX, actor=org.sam,
                                          reason="The courier contract ends next month.",
                                          expected_version=problem.version)
    services.commit()
    assert problem.wont_fix_reason == "The courier contract ends next month."
    assert problem.closed_at is not None and not problem.is_open


def test_a_stale_version_is_refused(org):
    problem = factories.a_problem(org.sam)
    services.commit()
    seen = problem.version
    problem_actions.change_problem_status(problem, ProblemStatus.FIX_PLANNED, actor=org.sam,
                                          expected_version=seen)
    services.commit()

    with pytest.raises(ProblemChangedMeanwhile):
        problem_actions.edit_problem(
            problem, actor=org.priya, title="Another title", description="", customer_summary="",
            root_cause=None, category=None, product=None, expected_version=seen,
        )


def test_only_the_team_the_owner_and_managers_may_change_it(org):
    problem = factories.a_problem(org.manager, team=org.billing, owner=org.jo)
    services.commit()

    assert problem_actions.can_change_problem(org.jo, problem)
    assert problem_actions.can_change_problem(org.manager, problem)
    assert not problem_actions.can_change_problem(org.sam, problem)
    with pytest.raises(RuleViolation, match="Only the Billing team"):
        problem_actions.change_problem_owner(problem, actor=org.sam, team=org.care,
                                             owner=org.sam, expected_version=problem.version)


def test_who_may_see_a_problem(org):
    sams_case = _case(org, org.sam)
    billing_problem = factories.a_problem(org.jo)
    linked_problem = factories.a_problem(org.jo, title="Bills sent twice", cases=[])
    with pytest.raises(RuleViolation, match="no problem with that reference"):
        problem_actions.link_case(linked_problem, sams_case, actor=org.sam)
    problem_actions.link_case(linked_problem, sams_case, actor=org.manager)
    services.commit()

    assert problem_actions.can_see_problem(org.jo, billing_problem)
    assert problem_actions.can_see_problem(org.manager, billing_problem)
    assert problem_actions.can_see_problem(org.admin, billing_problem)
    assert not problem_actions.can_see_problem(org.sam, billing_problem)
    # Linked to a case Sam owns, and so to a case of Priya's team too.
    assert problem_actions.can_see_problem(org.sam, linked_problem)
    assert problem_actions.can_see_problem(org.priya, linked_problem)


def test_marking_fixed_gives_each_open_cases_owner_a_task_and_emails_no_customer(org, frozen_now):
    frozen_now(utcnow())
    sams = _case(org, org.sam, name="Alex Carter")
    priyas = _case(org, org.priya, email="bo@example.com", name="Bo Brown")
    resolved = _case(org, org.priya, email="cy@example.com", name="Cy Cole")
    services.commit()
    # Resolved outside this test's concern: the case is no longer open.
    resolved.status, resolved.resolved_at = CaseStatus.RESOLVED, utcnow()
    problem = factories.a_problem(org.manager, team=org.billing, owner=org.jo,
                                  cases=[sams, priyas, resolved])
    services.commit()
    db.session.query(OutgoingEmail).delete()
    services.commit()

    tasks = problem_actions.change_problem_status(problem, ProblemStatus.FIXED, actor=org.jo,
                                                  expected_version=problem.version)
    services.commit()

    assert {(task.case_id, task.assignee_id) for task in tasks} == {
        (sams.id, org.sam.id), (priyas.id, org.priya.id)}
    by_case = {task.case_id: task for task in tasks}
    assert by_case[sams.id].title == f"Tell the customer about the fix for {problem.reference}"
    assert by_case[sams.id].details == f"Dear Alex Carter, the fault behind {sams.reference}" \
        " is fixed."
    assert by_case[priyas.id].details.startswith("Dear Bo Brown")
    assert all(task.due_at > utcnow() for task in tasks)
    notified = db.session.scalars(
        select(Notification).where(Notification.kind == "problem_fixed")).all()
    assert {n.user_id for n in notified} == {org.sam.id, org.priya.id}
    recipients = set(db.session.scalars(select(OutgoingEmail.recipient)).all())
    assert recipients == {org.sam.email, org.priya.email}
    fixed_events = db.session.scalars(
        select(TimelineEvent).where(TimelineEvent.kind == EventKind.PROBLEM_FIXED)).all()
    assert {e.case_id for e in fixed_events} == {sams.id, priyas.id}
    assert {e.visibility for e in fixed_events} == {Visibility.INTERNAL}
    assert problem.fixed_at is not None
    assert problem.events[-1].kind == ProblemEventKind.OWNERS_TOLD

    problem_actions.change_problem_status(problem, ProblemStatus.CONFIRMED_FIXED,
                                          actor=org.jo, expected_version=problem.version)
    services.commit()
    assert problem.confirmed_fixed_at is not None
    assert problem.closed_at is not None


def test_marking_fixed_needs_the_summary_for_customers(org):
    problem = factories.a_problem(org.sam, customer_summary="")
    services.commit()

    with pytest.raises(RuleViolation, match="summary for customers"):
        problem_actions.change_problem_status(problem, ProblemStatus.FIXED, actor=org.sam,
                                              expected_version=problem.version)


def test_problem_events_are_append_only(org):
    from shared.models import ProblemTimelineIsAppendOnly

    factories.a_problem(org.sam)
    services.commit()
    event = db.session.scalars(select(ProblemEvent)).first()
    event.body = "changed"
    with pytest.raises(ProblemTimelineIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_suggestions_share_the_category_rank_by_recent_cases_and_leave_out_linked(
    org, frozen_now
):
    now = frozen_now(utcnow())
    case = _case(org, org.sam)
    quiet = factories.a_problem(org.sam, title="Quiet", category=org.delivery)
    busy = factories.a_problem(org.sam, title="Busy", category=org.delivery)
    factories.a_problem(org.sam, title="About bills", category=org.bills)
    already = factories.a_problem(org.sam, title="Linked", category=org.delivery, cases=[case])
    for number in range(2):
        other = _case(org, org.sam, email=f"c{number}@example.com")
        problem_actions.link_case(busy, other, actor=org.sam)
    old = _case(org, org.sam, email="old@example.com")
    old.created_at = now - timedelta(days=40)
    problem_actions.link_case(quiet, old, actor=org.sam)
    services.commit()

    suggestions = problem_actions.suggested_problems(case)

    assert [s.problem.title for s in suggestions] == ["Busy", "Quiet"]
    assert [s.recent_matches for s in suggestions] == [2, 0]
    assert suggestions[0].why == "Same category"
    assert already.id not in {s.problem.id for s in suggestions}


def test_suggestions_take_one_query(org, count_queries):
    case = _case(org, org.sam)
    for number in range(3):
        factories.a_problem(org.sam, title=f"P{number}", category=org.delivery)
    services.commit()
    db.session.refresh(case)  # read before counting, as the case page has it

    with count_queries() as statements:
        problem_actions.suggested_problems(case)
    assert len(statements) == 1


def test_the_team_count_counts_open_problems_of_the_team(org, count_queries):
    factories.a_problem(org.jo)
    factories.a_problem(org.jo, title="Second")
    closed = factories.a_problem(org.jo, title="Closed")
    factories.a_problem(org.sam)
    services.commit()
    problem_actions.change_problem_status(closed, ProblemStatus.WONT_FIX, actor=org.jo,
                                          reason="Not ours.", expected_version=closed.version)
    services.commit()
    db.session.refresh(org.jo)  # the signed-in user is read before the navigation

    with count_queries() as statements:
        assert problem_actions.open_problems_for_team_count(org.jo) == 2
    assert len(statements) == 1
    assert problem_actions.open_problems_for_team_count(org.head) == 0


def test_a_spike_gets_the_problem_opened_for_it_once(org):
    from shared.models import Spike

    spike = Spike(dimension="category", subject_id=org.delivery.id, span="week",
                  span_start=utcnow(), count=9, expected=1.5, threshold=6)
    db.session.add(spike)
    problem = factories.a_problem(org.manager, team=org.care, owner=org.sam, spike=spike)
    services.commit()
    assert spike.problem_id == problem.id

    with pytest.raises(RuleViolation, match="already open"):
        factories.a_problem(org.manager, team=org.care, owner=org.sam, spike=spike)


def test_parse_problem_reference():
    assert problem_actions.parse_problem_reference("PR-00012") == 12
    assert problem_actions.parse_problem_reference(" pr12 ") == 12
    assert problem_actions.parse_problem_reference("12") == 12
    assert problem_actions.parse_problem_reference("AM-000012") is None
    assert problem_actions.parse_problem_reference("") is None



def test_the_case_page_reads_linked_problems_and_suggestions_in_one_query(
    org, count_queries
):
    case = _case(org, org.sam)
    linked = factories.a_problem(org.sam, title="Linked", cases=[case])
    suggested = factories.a_problem(org.sam, title="Same category", category=org.delivery)
    factories.a_problem(org.sam, title="Unrelated", category=org.bills)
    services.commit()
    db.session.refresh(case)

    with count_queries() as statements:
        shown, suggestions = problem_actions.problems_for_case_page(case)

    assert len(statements) == 1
    assert [p.id for p in shown] == [linked.id]
    assert [s.problem.id for s in suggestions] == [suggested.id]
    assert [p.id for p in problem_actions.problems_of_case(case)] == [linked.id]
