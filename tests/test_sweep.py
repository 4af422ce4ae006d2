"""The sweep: escalations proposed for time frames at risk, reminders of updates and promises
due, email retried; idempotent, in working hours only, bounded in queries, on RQ or in-process."""

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from shared import services, sweep
from shared.extensions import db
from shared.models import (
    CaseStatus,
    Commitment,
    EmailStatus,
    Escalation,
    EscalationStatus,
    Notification,
    OutgoingEmail,
    SweepMark,
)
from shared.sweep import run_sweep
from tests import factories
from tests.support.races import DEADLINE_SECONDS, is_waiting_on, wait_until
from tests.support.services import REDIS_TEST_URL

LONDON = ZoneInfo("Europe/London")


def london(text: str) -> datetime:
    """A wall-clock time in the UK calendar of the test organisation."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


# A Wednesday in working hours, and the same night at 2 a.m.
WEDNESDAY_10 = london("2026-11-25 10:00")
WEDNESDAY_02 = london("2026-11-25 02:00")


def quiet_case(org, owner=None, **fields):
    """An open case with nothing due soon: every time frame met or weeks away."""
    case = factories.case_owned_by(owner or org.sam, org.delivery, email=_next_email())
    case.status = CaseStatus.IN_PROGRESS
    case.acknowledged_at = WEDNESDAY_10 - timedelta(days=2)
    case.first_responded_at = WEDNESDAY_10 - timedelta(days=1)
    case.acknowledge_due_at = WEDNESDAY_10 - timedelta(days=1)
    case.first_response_due_at = WEDNESDAY_10 - timedelta(hours=20)
    case.resolve_due_at = WEDNESDAY_10 + timedelta(days=30)
    case.next_update_due_at = WEDNESDAY_10 + timedelta(days=3)
    for name, value in fields.items():
        setattr(case, name, value)
    db.session.flush()
    return case


_emails = iter(range(1, 10**6))


def _next_email() -> str:
    return f"customer{next(_emails)}@example.com"


def promise(case, due_at, description="Call you back about the refund"):
    # Made directly: the service refuses a due time already past in real time.
    commitment = Commitment(case=case, description=description, due_at=due_at,
                            made_by=case.owner)
    db.session.add(commitment)
    db.session.flush()
    return commitment


SWEEP_KINDS = ("escalation_proposed", "update_overdue", "commitment_overdue")


def notifications(kind=None, user=None):
    """What the sweep told staff (raising a case notifies its owner too: not counted here)."""
    query = select(Notification).order_by(Notification.id)
    query = query.where(Notification.kind.in_([kind] if kind else SWEEP_KINDS))
    if user:
        query = query.where(Notification.user_id == user.id)
    return db.session.scalars(query).all()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def everything_counted() -> dict:
    return {
        "notifications": len(notifications()),
        "emails": count(OutgoingEmail),
        "escalations": count(Escalation),
        "marks": count(SweepMark),
    }


@pytest.fixture
def everything_due(org):
    """One case with an update overdue, a promise overdue and its acknowledgement late."""
    case = quiet_case(
        org,
        acknowledged_at=None,
        acknowledge_due_at=WEDNESDAY_10 - timedelta(hours=1),
        next_update_due_at=WEDNESDAY_10 - timedelta(minutes=30),
    )
    promise(case, WEDNESDAY_10 - timedelta(hours=2))
    services.commit()
    return case


# --- Idempotence -------------------------------------------------------------------------------


def test_running_twice_creates_no_duplicate_notifications_proposals_or_emails(
    org, everything_due
):
    emails_before = count(OutgoingEmail)

    first = run_sweep(now=WEDNESDAY_10)

    assert (first.escalations_proposed, first.update_reminders, first.commitment_reminders) == (
        1, 1, 1,
    )
    kinds = sorted(n.kind for n in notifications(user=org.sam))
    assert kinds == ["commitment_overdue", "escalation_proposed", "update_overdue"]
    assert count(OutgoingEmail) == emails_before + 3
    (proposal,) = db.session.scalars(select(Escalation)).all()
    assert proposal.status == EscalationStatus.PROPOSED
    assert "the acknowledgement was due by Wednesday 25 November, 09:00 UK time" in (
        proposal.reason
    )
    after_first = everything_counted()

    second = run_sweep(now=WEDNESDAY_10)
    later = run_sweep(now=WEDNESDAY_10 + timedelta(hours=3))

    for report in (second, later):
        assert (
            report.escalations_proposed, report.update_reminders, report.commitment_reminders
        ) == (0, 0, 0)
    assert everything_counted() == after_first


def test_reminder_texts_say_what_was_due_and_when(org, everything_due):
    run_sweep(now=WEDNESDAY_10)

    (update,) = notifications("update_overdue")
    assert update.case_id == everything_due.id
    assert update.text.startswith(f"{everything_due.reference}: the customer was due an update")
    assert "Wednesday 25 November, 09:30 UK time" in update.text
    (overdue_promise,) = notifications("commitment_overdue")
    assert "“Call you back about the refund” by Wednesday 25 November, 08:00" in (
        overdue_promise.text
    )
    subjects = db.session.scalars(
        select(OutgoingEmail.subject).where(OutgoingEmail.recipient == org.sam.email)
    ).all()
    assert f"A customer is waiting for an update: {everything_due.reference}" in subjects


def test_a_moved_due_time_gives_a_new_reminder(org, everything_due):
    run_sweep(now=WEDNESDAY_10)
    (first_promise,) = everything_due.commitments

    # An update was sent and the next one fell due again; the promise was given a new date.
    everything_due.next_update_due_at = WEDNESDAY_10 + timedelta(hours=2)
    first_promise.due_at = WEDNESDAY_10 + timedelta(hours=1)
    services.commit()
    report = run_sweep(now=WEDNESDAY_10 + timedelta(hours=3))

    assert (report.update_reminders, report.commitment_reminders) == (1, 1)
    assert len(notifications("update_overdue")) == 2
    assert len(notifications("commitment_overdue")) == 2
    assert "12:00 UK time" in notifications("update_overdue")[-1].text


def test_two_promises_due_at_the_same_time_each_get_a_reminder(org):
    case = quiet_case(org)
    due = WEDNESDAY_10 - timedelta(hours=1)
    promise(case, due, "Call you back")
    promise(case, due, "Send the refund form")
    services.commit()

    assert run_sweep(now=WEDNESDAY_10).commitment_reminders == 2
    assert run_sweep(now=WEDNESDAY_10).commitment_reminders == 0


# --- Working hours -----------------------------------------------------------------------------


def test_at_two_in_the_morning_reminders_and_proposals_wait_for_nine(org):
    tuesday = london("2026-11-24 16:00")
    case = quiet_case(org, acknowledged_at=None, acknowledge_due_at=tuesday,
                      next_update_due_at=tuesday + timedelta(minutes=30))
    promise(case, tuesday - timedelta(hours=1))
    services.commit()

    at_two = run_sweep(now=WEDNESDAY_02)

    assert (at_two.escalations_proposed, at_two.update_reminders,
            at_two.commitment_reminders) == (0, 0, 0)
    assert at_two.waiting_for_working_hours == ["UK office hours"]
    assert notifications() == []
    assert count(SweepMark) == count(Escalation) == 0

    before_nine = run_sweep(now=london("2026-11-25 08:59"))
    at_nine = run_sweep(now=london("2026-11-25 09:00"))

    assert before_nine.update_reminders == 0
    assert (at_nine.escalations_proposed, at_nine.update_reminders,
            at_nine.commitment_reminders) == (1, 1, 1)
    assert at_nine.waiting_for_working_hours == []


def test_on_a_bank_holiday_the_reminder_waits_for_the_next_working_day(org):
    # Christmas Day 2026 is a Friday, then a weekend, then the Boxing Day substitute Monday.
    case = quiet_case(org, next_update_due_at=london("2026-12-24 15:00"),
                      resolve_due_at=london("2027-02-01 17:00"))
    services.commit()

    for moment in ("2026-12-25 10:00", "2026-12-26 11:00", "2026-12-28 12:00",
                   "2026-12-29 08:00"):
        report = run_sweep(now=london(moment))
        assert report.update_reminders == 0, moment
    assert notifications() == []

    assert run_sweep(now=london("2026-12-29 09:00")).update_reminders == 1
    assert notifications("update_overdue")[0].case_id == case.id


# --- Which cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [CaseStatus.RESOLVED, CaseStatus.CLOSED])
def test_resolved_and_closed_cases_are_ignored(org, everything_due, status):
    everything_due.status = status
    everything_due.resolved_at = WEDNESDAY_10 - timedelta(days=1)
    services.commit()

    report = run_sweep(now=WEDNESDAY_10)

    assert (report.escalations_proposed, report.update_reminders,
            report.commitment_reminders) == (0, 0, 0)
    assert notifications() == []
    assert count(SweepMark) == 0


def test_no_proposal_while_an_escalation_is_open_but_reminders_still_come(org, everything_due):
    db.session.add(Escalation(case=everything_due, requested_by=org.sam, reason="Need help",
                              status=EscalationStatus.PENDING))
    services.commit()

    report = run_sweep(now=WEDNESDAY_10)

    assert report.escalations_proposed == 0
    assert count(Escalation) == 1
    assert (report.update_reminders, report.commitment_reminders) == (1, 1)


def test_a_rejected_proposal_is_not_made_again_for_the_same_time_frame(org, everything_due):
    run_sweep(now=WEDNESDAY_10)
    proposal = db.session.scalars(select(Escalation)).one()
    proposal.status = EscalationStatus.REJECTED
    services.commit()

    assert run_sweep(now=WEDNESDAY_10 + timedelta(hours=1)).escalations_proposed == 0

    # Acknowledged now; the full reply is the next time frame, and it is late too.
    everything_due.acknowledged_at = WEDNESDAY_10
    everything_due.first_responded_at = None
    everything_due.first_response_due_at = WEDNESDAY_10 + timedelta(minutes=30)
    services.commit()
    report = run_sweep(now=WEDNESDAY_10 + timedelta(hours=1))

    assert report.escalations_proposed == 1
    newest = db.session.scalars(select(Escalation).order_by(Escalation.id.desc())).first()
    assert newest.reason.startswith("the full reply was due by")


def test_a_time_frame_in_its_last_quarter_is_at_risk_and_earlier_it_is_not(org):
    # The full reply of a normal case takes 2 business days (16 hours): at risk in the last 4.
    at_risk = quiet_case(org, first_responded_at=None,
                         first_response_due_at=london("2026-11-25 13:00"))
    on_track = quiet_case(org, first_responded_at=None,
                          first_response_due_at=london("2026-11-26 12:00"))
    services.commit()

    report = run_sweep(now=WEDNESDAY_10)

    assert report.escalations_proposed == 1
    (proposal,) = db.session.scalars(select(Escalation)).all()
    assert proposal.case_id == at_risk.id
    assert proposal.reason == (
        "the full reply is due by Wednesday 25 November, 13:00 UK time"
        " and is at risk of being late."
    )
    # Thursday 09:00: three business hours left for the other one.
    assert run_sweep(now=london("2026-11-26 09:00")).escalations_proposed == 1
    assert {e.case_id for e in db.session.scalars(select(Escalation))} == {at_risk.id,
                                                                           on_track.id}


def test_an_inactive_owner_gets_nothing_and_the_mark_is_kept(org, everything_due):
    org.sam.active = False
    services.commit()

    report = run_sweep(now=WEDNESDAY_10)

    assert (report.update_reminders, report.commitment_reminders) == (0, 0)
    assert notifications() == []
    assert count(SweepMark) == 3


def test_many_candidates_are_read_in_batches(org, monkeypatch):
    monkeypatch.setattr(sweep, "BATCH_SIZE", 4)
    cases = [quiet_case(org, next_update_due_at=WEDNESDAY_10 - timedelta(hours=1))
             for _ in range(10)]
    for case in cases[:5]:
        promise(case, WEDNESDAY_10 - timedelta(hours=1))
    services.commit()

    report = run_sweep(now=WEDNESDAY_10)

    assert (report.update_reminders, report.commitment_reminders) == (10, 5)
    assert {n.case_id for n in notifications("update_overdue")} == {c.id for c in cases}


# --- Mail --------------------------------------------------------------------------------------


def test_the_sweep_retries_email_that_is_due(org):
    pending = OutgoingEmail(kind="case_update", recipient="alex@example.com", subject="Hello",
                            text_body="Hello", html_body="<p>Hello</p>",
                            status=EmailStatus.PENDING, attempts=1,
                            next_attempt_at=datetime.now(LONDON) - timedelta(minutes=1))
    db.session.add(pending)
    db.session.commit()

    report = run_sweep(now=WEDNESDAY_02)  # mail to customers does not wait for office hours

    assert report.emails_delivered == 1
    db.session.refresh(pending)
    assert pending.status == EmailStatus.KEPT


# --- Bounded queries ---------------------------------------------------------------------------


def _cases_with_everything_due(org, how_many):
    for _ in range(how_many):
        case = quiet_case(org, acknowledged_at=None,
                          acknowledge_due_at=WEDNESDAY_10 - timedelta(hours=1),
                          next_update_due_at=WEDNESDAY_10 - timedelta(hours=1))
        promise(case, WEDNESDAY_10 - timedelta(hours=1))
    services.commit()


@pytest.mark.parametrize("already_swept", [False, True])
def test_queries_do_not_grow_with_the_number_of_cases(org, count_queries, already_swept):
    def statements_for_a_sweep(how_many: int) -> int:
        if already_swept:
            _cases_with_everything_due(org, how_many)
            run_sweep(now=WEDNESDAY_10)
        # Cases with nothing due are never read one by one.
        for _ in range(how_many * 3):
            quiet_case(org)
        services.commit()
        db.session.expire_all()
        with count_queries() as statements:
            report = run_sweep(now=WEDNESDAY_10)
        assert report.update_reminders == report.escalations_proposed == 0
        return len(statements)

    small = statements_for_a_sweep(2)
    large = statements_for_a_sweep(20)

    assert small == large
    # Twelve for the cases and the outbox, two for forgetting finished sign-ins, two for
    # finding spikes (the organisation's zone, one grouped count; none found here).
    assert large <= 16


def test_a_first_sweep_reads_candidates_once_per_batch_not_once_per_case(org, count_queries):
    def candidate_reads(how_many):
        db.session.execute(SweepMark.__table__.delete())
        db.session.execute(Notification.__table__.delete())
        db.session.execute(Escalation.__table__.delete())
        _cases_with_everything_due(org, how_many)
        with count_queries() as statements:
            run_sweep(now=WEDNESDAY_10)
        return [s for s in statements
                if s.lstrip().upper().startswith("SELECT") and "sweep_marks" in s]

    assert len(candidate_reads(2)) == len(candidate_reads(12)) == 3


# --- Commands ----------------------------------------------------------------------------------


def test_the_sweep_command_runs_and_says_what_it_did(app, org, everything_due):
    runner = app.test_cli_runner()

    result = runner.invoke(args=["sweep", "--now", "2026-11-25T10:00:00+00:00"])

    assert result.exit_code == 0, result.output
    assert "Sweep at 2026-11-25T10:00:00+00:00:" in result.output
    assert "1 escalation(s) proposed" in result.output
    assert "1 reminder(s) of an update due" in result.output
    assert "1 reminder(s) of a promise overdue" in result.output
    assert "0 waiting email(s) delivered" in result.output

    again = runner.invoke(args=["sweep", "--now", "2026-11-25T10:00:00"])
    assert "0 reminder(s) of an update due" in again.output


def test_the_sweep_command_says_when_it_waits_for_working_hours(app, org, everything_due):
    result = app.test_cli_runner().invoke(args=["sweep", "--now", "2026-11-25T02:00:00"])

    assert result.exit_code == 0, result.output
    assert "Outside working hours, so waiting: UK office hours" in result.output


def test_the_sweep_command_refuses_a_time_it_cannot_read(app, org):
    result = app.test_cli_runner().invoke(args=["sweep", "--now", "next Tuesday"])

    assert result.exit_code == 2
    assert "not an ISO date and time: next Tuesday" in result.output


def test_schedule_sweep_without_redis_says_what_to_do_instead(app):
    result = app.test_cli_runner().invoke(args=["schedule-sweep"])

    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.output


def test_a_failing_sweep_job_is_logged_and_the_schedule_goes_on(app, monkeypatch, caplog):
    def broken(now=None):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(sweep, "run_sweep", broken)

    assert sweep.sweep_job() == "The sweep failed: see the worker's log."
    assert "the sweep failed; the next run will try again" in caplog.text
    assert "the database went away" in caplog.text


class TestAnIntervalOfZero:
    @pytest.fixture
    def app_config(self):
        return {"SWEEP_INTERVAL_SECONDS": 0, "REDIS_URL": REDIS_TEST_URL}

    def test_is_refused_rather_than_sweeping_in_a_tight_loop(self, app):
        result = app.test_cli_runner().invoke(args=["schedule-sweep"])

        assert result.exit_code == 1
        assert "SWEEP_INTERVAL_SECONDS must be 1 or more, not 0." in result.output


def test_the_in_process_sweep_runs_in_a_thread_until_stopped(app, org):
    pending = OutgoingEmail(kind="case_update", recipient="alex@example.com", subject="Hi",
                            text_body="Hi", html_body="<p>Hi</p>", status=EmailStatus.PENDING,
                            next_attempt_at=datetime.now(LONDON) - timedelta(minutes=1))
    db.session.add(pending)
    db.session.commit()
    email_id = pending.id
    db.session.remove()

    thread = sweep.start_sweep_thread(app, interval_seconds=3600)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = db.session.scalar(select(OutgoingEmail.status)
                                       .where(OutgoingEmail.id == email_id))
            db.session.rollback()
            if status == EmailStatus.KEPT:
                break
            time.sleep(0.05)
        assert status == EmailStatus.KEPT
    finally:
        thread.stop_event.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


# --- Two sweeps at once ------------------------------------------------------------------------

# Claims a sweep makes at most in the test below: escalations, update reminders, promises.
TURNS = 3


class TakingTurns:
    """Two sweeps, "first" and "second", each in a thread and session of its own, made to meet
    at every claim of marks: the first claims a batch and keeps its marks uncommitted until the
    second, having read the same candidates, comes to claim them too. On PostgreSQL the first
    commits only once the second is seen waiting on its marks; SQLite cannot show a waiting
    writer, so there the first commits as the second starts its claim, and the second's
    INSERT waits for SQLite's write lock or finds the first's marks already committed."""

    def __init__(self, app):
        self.app = app
        self.real_claim = sweep._claim
        self.claims = {"first": [], "second": []}  # (marks asked for, marks got) per claim
        self.second_waited = []  # per turn, on PostgreSQL: seen waiting on the first's marks
        self.backends = {}
        self.first_holds = [threading.Event() for _ in range(TURNS)]
        self.second_arrives = [threading.Event() for _ in range(TURNS)]
        self.second_claimed = [threading.Event() for _ in range(TURNS)]
        self.release = [threading.Event() for _ in range(TURNS)]
        self.reports, self.errors = {}, {}

    def claim(self, keys):
        keys = list(keys)
        name = threading.current_thread().name
        turn = len(self.claims[name])
        if name == "first" and turn > 0:
            # Not before the second has had its last turn: SQLite's waiting writer polls for
            # the lock, so the first could take it again and starve the second until SQLite
            # refuses it ("database is locked") after its busy timeout.
            self.second_claimed[turn - 1].wait(timeout=DEADLINE_SECONDS)
        if name == "second":
            # Only once the first holds this turn's marks: the candidates were read before.
            self.first_holds[turn].wait(timeout=DEADLINE_SECONDS)
            self.backends["second"] = self._backend()
            self.second_arrives[turn].set()
        try:
            claimed = self.real_claim(keys)
        finally:
            if name == "second":
                self.second_claimed[turn].set()
        self.claims[name].append((len(set(keys)), len(claimed)))
        if name == "first":
            self.backends["first"] = self._backend()
            self.first_holds[turn].set()
            self.release[turn].wait(timeout=DEADLINE_SECONDS * 2)
        return claimed

    def run(self, now):
        threads = [threading.Thread(target=self._sweep, args=(now,), name=name)
                   for name in ("first", "second")]
        try:
            for thread in threads:
                thread.start()
            for turn in range(TURNS):
                if not wait_until(self.first_holds[turn].is_set, threads[0]):
                    break  # the first has nothing more to claim
                wait_until(self.second_arrives[turn].is_set, threads[1])
                if db.engine.dialect.name == "postgresql":
                    self.second_waited.append(wait_until(self._second_waits_on_first,
                                                          threads[1]))
                self.release[turn].set()
        finally:
            for event in self.release:
                event.set()
            for thread in threads:
                thread.join(timeout=DEADLINE_SECONDS * 3)
        assert not any(thread.is_alive() for thread in threads)
        for error in self.errors.values():
            raise error
        return self.reports

    def _sweep(self, now):
        name = threading.current_thread().name
        with self.app.app_context():
            try:
                self.reports[name] = run_sweep(now=now)
            except Exception as error:  # not swallowed: run() raises it in the test's thread
                self.errors[name] = error
            finally:
                db.session.remove()

    def _backend(self):
        if db.engine.dialect.name != "postgresql":
            return None
        return db.session.execute(text("SELECT pg_backend_pid()")).scalar()

    def _second_waits_on_first(self) -> bool:
        return is_waiting_on(db.engine, self.backends["second"], self.backends["first"])



def test_two_sweeps_at_once_remind_and_propose_once_per_case(app, org, monkeypatch):
    cases = [quiet_case(org, acknowledged_at=None,
                        acknowledge_due_at=WEDNESDAY_10 - timedelta(hours=2),
                        next_update_due_at=WEDNESDAY_10 - timedelta(hours=1))
             for _ in range(30)]
    services.commit()
    case_ids = {c.id for c in cases}
    turns = TakingTurns(app)
    monkeypatch.setattr(sweep, "_claim", turns.claim)

    reports = turns.run(WEDNESDAY_10)

    if db.engine.dialect.name == "postgresql":
        assert turns.second_waited == [True, True], "the second never waited on the first"
    # Each time the second read the same 30 cases as due while the first held them, asked
    # for their marks, and got none: the first, whose marks they were, did the work.
    assert turns.claims == {"first": [(30, 30), (30, 30)], "second": [(30, 0), (30, 0)]}
    done = {name: (report.escalations_proposed, report.update_reminders)
            for name, report in reports.items()}
    assert done == {"first": (30, 30), "second": (0, 0)}
    reminded = [n.case_id for n in notifications("update_overdue")]
    proposed = db.session.scalars(select(Escalation.case_id)).all()
    assert sorted(reminded) == sorted(proposed) == sorted(case_ids)


# --- RQ ----------------------------------------------------------------------------------------

class TestOnRQ:
    @pytest.fixture
    def app_config(self):
        return {"REDIS_URL": REDIS_TEST_URL, "SWEEP_INTERVAL_SECONDS": 1}

    @pytest.fixture
    def redis(self, redis_connection):
        return redis_connection

    def test_schedule_sweep_enqueues_a_repeating_job_that_a_worker_runs(self, app, org, redis):
        from rq import Queue, SimpleWorker
        from rq.job import Job, JobStatus

        pending = OutgoingEmail(kind="case_update", recipient="alex@example.com",
                                subject="Hi", text_body="Hi", html_body="<p>Hi</p>",
                                status=EmailStatus.PENDING,
                                next_attempt_at=datetime.now(LONDON) - timedelta(minutes=1))
        db.session.add(pending)
        db.session.commit()
        runner = app.test_cli_runner()

        result = runner.invoke(args=["schedule-sweep"])

        assert result.exit_code == 0, result.output
        assert "The sweep runs now and then every 1 s" in result.output
        queue = Queue(sweep.SWEEP_QUEUE, connection=redis)
        assert queue.job_ids == [sweep.SWEEP_JOB_ID]
        again = runner.invoke(args=["schedule-sweep"])
        assert "already scheduled" in again.output
        assert queue.job_ids == [sweep.SWEEP_JOB_ID]

        worker = SimpleWorker([queue], connection=redis)
        worker.work(burst=True, with_scheduler=True)

        job = Job.fetch(sweep.SWEEP_JOB_ID, connection=redis)
        # It ran (the email it retried is delivered) and is scheduled to run again.
        db.session.refresh(pending)
        assert pending.status == EmailStatus.KEPT
        assert job.get_status() == JobStatus.SCHEDULED
        assert job.repeats_left == sweep.SWEEP_REPEATS - 1
        assert "Sweep at" in job.latest_result().return_value

        # One interval later the worker's scheduler puts it back on the queue and it runs.
        time.sleep(1.2)
        SimpleWorker([queue], connection=redis).work(burst=True, with_scheduler=True)
        job.refresh()
        assert job.repeats_left == sweep.SWEEP_REPEATS - 2
        assert job.get_status() == JobStatus.SCHEDULED
