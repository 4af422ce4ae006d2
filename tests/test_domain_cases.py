"""Domain rules of a case: ownership, time frames, status moves, the timeline."""

from datetime import UTC, datetime, timedelta

import pytest

from shared import services
from shared.extensions import db
from shared.models import (
    ALLOWED_TRANSITIONS,
    CaseStatus,
    EventKind,
    Priority,
    TimelineEvent,
    TimelineIsAppendOnly,
    Visibility,
)
from shared.services import RuleViolation
from shared.services import cases as case_actions
from shared.services.assignment import choose_owner
from tests import factories

MONDAY_10AM_LONDON = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # GMT in November


class TestAutomaticAssignment:
    def test_new_case_goes_to_the_least_loaded_agent_of_the_categorys_team(self, app, org):
        first = factories.raise_case(org.delivery, email="a@example.com")
        second = factories.raise_case(org.delivery, email="b@example.com")
        assert {first.owner, second.owner} == {org.sam, org.priya}

    def test_agents_away_or_inactive_are_skipped(self, app, org):
        org.sam.away = True
        org.priya.active = False
        assert choose_owner(org.care) == org.manager

    def test_a_team_with_nobody_available_falls_back_to_any_manager(self, app, org):
        org.jo.away = True
        assert org.billing.manager is None
        assert choose_owner(org.billing) == org.manager

    def test_an_owner_is_named_from_the_moment_the_case_exists(self, app, org):
        case = factories.raise_case(org.bills)
        assert case.owner == org.jo
        assigned = [e for e in case.events if e.kind == EventKind.ASSIGNED]
        assert assigned[0].visibility == Visibility.PUBLIC
        assert "Jo Evans" in assigned[0].body
        assert case.handoff_count == 0


class TestTimeFrames:
    def test_due_dates_are_counted_in_business_time(self, app, org, frozen_now):
        frozen_now(MONDAY_10AM_LONDON)
        case = factories.raise_case(org.delivery)
        # normal priority: acknowledge in 4 working hours, reply in 2 days, resolve in 10 days
        assert case.acknowledge_due_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
        assert case.first_response_due_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        assert case.resolve_due_at == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
        assert case.next_update_due_at == case.acknowledge_due_at

    def test_a_case_raised_on_friday_evening_counts_from_monday_morning(
        self, app, org, frozen_now
    ):
        frozen_now(datetime(2026, 11, 27, 19, 30, tzinfo=UTC))
        case = factories.raise_case(org.delivery)
        assert case.acknowledge_due_at == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)

    def test_bank_holidays_are_skipped(self, app, org, frozen_now):
        frozen_now(datetime(2026, 12, 24, 16, 0, tzinfo=UTC))  # Christmas Eve, last hour
        case = factories.raise_case(org.delivery)
        # 1 hour on the 24th, then 25th (holiday), 26–27 (weekend), 28th (holiday): 29th 12:00
        assert case.acknowledge_due_at == datetime(2026, 12, 29, 12, 0, tzinfo=UTC)

    def test_a_priority_change_recomputes_the_dates_and_records_why(self, app, org, frozen_now):
        frozen_now(MONDAY_10AM_LONDON)
        case = factories.raise_case(org.delivery)
        services.commit()
        case_actions.change_priority(
            case, Priority.URGENT, actor=org.sam, reason="Customer is without heating"
        )
        assert case.acknowledge_due_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
        assert case.resolve_due_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        changed = [e for e in case.events if e.kind == EventKind.DUE_DATES_CHANGED]
        assert len(changed) == 1
        assert "Customer is without heating" in changed[0].body
        assert changed[0].data["before"]["resolve_due_at"] == "2026-12-07T10:00:00+00:00"

    def test_a_priority_change_needs_a_reason(self, app, org):
        case = factories.raise_case(org.delivery)
        with pytest.raises(RuleViolation):
            case_actions.change_priority(case, Priority.HIGH, actor=org.sam, reason="  ")

    def test_a_category_change_recomputes_against_the_new_service_level(self, app, org):
        from shared.demo import standard_service_level, uk_calendar
        from shared.models import ServiceLevel

        case = factories.raise_case(org.delivery)
        services.commit()
        quicker = standard_service_level(uk_calendar())
        quicker.name = "Quicker"
        quicker.calendar.name = "Quicker calendar"
        for target in quicker.targets:
            target.resolve_minutes = 60
        db.session.add(quicker)
        org.other.service_level = quicker
        db.session.flush()
        case_actions.change_category(case, org.other, actor=org.sam, reason="Mis-filed")
        assert isinstance(case.category.service_level, ServiceLevel)
        assert case.resolve_due_at < case.first_response_due_at
        assert any(e.kind == EventKind.DUE_DATES_CHANGED for e in case.events)


class TestStatusLifecycle:
    def test_only_allowed_transitions_are_possible(self, app, org):
        case = factories.raise_case(org.delivery)
        with pytest.raises(RuleViolation):
            case_actions.confirm_resolution(case, customer=case.customer)  # new -> closed
        case_actions.acknowledge_case(case, actor=case.owner)
        case_actions.change_status(case, CaseStatus.WAITING_ON_CUSTOMER, actor=case.owner)
        case_actions.change_status(case, CaseStatus.IN_PROGRESS, actor=case.owner)
        with pytest.raises(RuleViolation):
            case_actions.change_status(case, CaseStatus.NEW, actor=case.owner)

    def test_every_status_can_be_left_except_by_going_back_to_new(self):
        for status, targets in ALLOWED_TRANSITIONS.items():
            assert targets, status
            assert CaseStatus.NEW not in targets

    def test_acknowledging_records_the_time_and_starts_the_update_clock(self, app, org):
        case = factories.raise_case(org.delivery)
        case_actions.acknowledge_case(case, actor=case.owner)
        assert case.status == CaseStatus.ACKNOWLEDGED
        assert case.acknowledged_at is not None
        assert case.next_update_due_at > case.acknowledged_at

    def test_resolving_thanks_the_customer_by_email_and_stops_the_update_clock(self, app, org):
        case = factories.raise_case(org.delivery)
        case_actions.resolve_case(case, actor=case.owner, resolution="New parcel sent.",
                                  **factories.cause_and_outcome())
        services.commit()
        assert case.status == CaseStatus.RESOLVED
        assert case.next_update_due_at is None
        from shared.models import OutgoingEmail

        resolved_mail = db.session.query(OutgoingEmail).filter_by(kind="case_resolved").one()
        assert "thank you" in resolved_mail.subject.lower()
        assert "New parcel sent." in resolved_mail.text_body

    def test_reopening_is_allowed_only_within_the_window(self, app, org):
        case = factories.raise_case(org.delivery)
        case_actions.resolve_case(case, actor=case.owner, resolution="Done.",
                                  **factories.cause_and_outcome())
        case_actions.reopen_case(case, customer=case.customer, reason="Still broken")
        assert case.status == CaseStatus.IN_PROGRESS
        case_actions.resolve_case(case, actor=case.owner, resolution="Done again.",
                                  **factories.cause_and_outcome())
        case.resolved_at -= timedelta(days=app.config["REOPEN_WINDOW_DAYS"] + 1)
        with pytest.raises(RuleViolation):
            case_actions.reopen_case(case, customer=case.customer, reason="Still broken")

    def test_a_rating_is_given_once_and_only_after_resolution(self, app, org):
        case = factories.raise_case(org.delivery)
        with pytest.raises(RuleViolation):
            case_actions.rate_case(case, customer=case.customer, rating=5)
        case_actions.resolve_case(case, actor=case.owner, resolution="Done.",
                                  **factories.cause_and_outcome())
        case_actions.rate_case(case, customer=case.customer, rating=4, comment="Quick")
        assert (case.rating, case.rating_comment) == (4, "Quick")
        with pytest.raises(RuleViolation):
            case_actions.rate_case(case, customer=case.customer, rating=5)


class TestRepresentatives:
    def test_a_case_raised_on_someones_behalf_records_the_relationship(self, app, org):
        case = factories.raise_case(
            org.delivery, on_behalf_of="Edith Carter", representative_relationship="relative"
        )
        assert (case.on_behalf_of, case.representative_relationship) == ("Edith Carter", "relative")

    def test_the_relationship_is_required_when_acting_for_someone(self, app, org):
        with pytest.raises(RuleViolation) as error:
            factories.raise_case(org.delivery, on_behalf_of="Edith Carter")
        assert error.value.field == "representative_relationship"


class TestTimeline:
    def test_events_cannot_be_changed_or_deleted(self, app, org):
        case = factories.raise_case(org.delivery)
        services.commit()
        event = db.session.query(TimelineEvent).filter_by(case_id=case.id).first()
        event.body = "rewritten history"
        with pytest.raises(TimelineIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(TimelineEvent, event.id))
        with pytest.raises(TimelineIsAppendOnly):
            db.session.flush()
        db.session.rollback()

    def test_each_event_records_who_what_and_when(self, app, org):
        case = factories.raise_case(org.delivery)
        case_actions.acknowledge_case(case, actor=case.owner)
        services.commit()
        kinds = [(e.kind, e.actor_id) for e in case.events]
        assert kinds[:3] == [
            (EventKind.CREATED, case.customer_id),
            (EventKind.ASSIGNED, None),
            (EventKind.ACKNOWLEDGED, case.owner_id),
        ]
        assert all(e.created_at is not None for e in case.events)


class TestAttachments:
    def test_files_are_stored_outside_static_under_random_names(self, app, org):
        case = factories.raise_case(org.delivery, attachments=[factories.upload()])
        services.commit()
        from shared.models import Attachment
        from shared.services.attachments import attachment_path

        stored = db.session.query(Attachment).filter_by(case_id=case.id).one()
        path = attachment_path(stored)
        assert path.read_bytes() == factories.PNG_BYTES
        assert stored.stored_name != "photo.png" and "static" not in str(path)
        assert stored.original_name == "photo.png"

    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("run.exe", b"MZ\x90\x00", "not a file type we accept"),
            ("photo.png", b"<script>alert(1)</script>", "does not look like a PNG"),
            ("empty.pdf", b"", "is empty"),
            ("notes.txt", b"binary\x00data", "not a plain text file"),
        ],
    )
    def test_unsafe_or_mislabelled_files_are_refused(self, app, org, name, data, message):
        with pytest.raises(RuleViolation) as error:
            factories.raise_case(org.delivery, attachments=[factories.upload(name, data)])
        assert message in error.value.message

    def test_too_many_or_too_large_files_are_refused(self, app, org):
        too_many = [factories.upload(f"p{i}.png") for i in range(app.config["MAX_ATTACHMENTS"] + 1)]
        with pytest.raises(RuleViolation):
            factories.raise_case(org.delivery, attachments=too_many)
        app.config["MAX_ATTACHMENT_BYTES"] = 10
        with pytest.raises(RuleViolation) as error:
            factories.raise_case(org.delivery, attachments=[factories.upload()])
        assert "larger than" in error.value.message
