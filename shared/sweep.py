"""The sweep: what must happen on a timer because nobody will ask for it.

`run_sweep()` proposes escalations for cases whose agreed time frames are at risk or breached,
reminds owners of updates the customer is owed and of promises past due, records new spikes in
complaints (shared/spikes.py, which tells the managers concerned once), and retries email that
is due. Run it at any interval: a SweepMark row per (case, what, due time) records what
is done, so a second run does nothing again, and a reminder comes back only when its due time
moves. Two runs at once are safe too: a run claims the marks first with
INSERT ... ON CONFLICT DO NOTHING, and acts only on the ones it inserted.

Staff are reminded only while the case's calendar is open: a reminder due at 2 a.m. or on a
bank holiday waits for the first run in working hours. Proposing an escalation tells the owner
at once (propose_escalation notifies them), so proposals wait for working hours as well; a
breached case loses nothing by it, since nobody could act on the proposal before then.

How it is run: `flask --app wsgi sweep` once; with REDIS_URL set, as a repeating RQ job
(`flask --app wsgi schedule-sweep`, then `make worker`: rq worker --with-scheduler); without it,
`flask --app wsgi serve` (what `make run` uses) runs it in a thread every
SWEEP_INTERVAL_SECONDS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_app_context
from sqlalchemy import Select, String, and_, cast, exists, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload, selectinload

from shared import services
from shared.clock import BusinessCalendar, describe_due
from shared.extensions import db
from shared.models import (
    OPEN_ESCALATION_STATUSES,
    OPEN_STATUS_VALUES,
    Calendar,
    Case,
    Category,
    Commitment,
    CommitmentState,
    Escalation,
    ServiceLevel,
    ServiceTarget,
    SweepMark,
    utcnow,
)
from shared.queues import NEXT_DUE
from shared.services.attachments import forget_stale_pending_uploads, remove_files
from shared.services.delivery import REDIS_TIMEOUT_SECONDS
from shared.services.escalations import propose_escalation
from shared.services.mail import deliver_due
from shared.services.notifications import notify
from shared.services.sessions import forget_finished_sign_ins
from shared.spikes import record_new_spikes
from shared.worker import worker_app

log = logging.getLogger(__name__)

# Rows read and acted on per transaction: one commit per batch, never one per row.
BATCH_SIZE = 200
# Pending email retried per run; the rest waits for the next run.
MAIL_RETRY_LIMIT = 500
# A time frame is at risk in its last quarter, counted in business minutes of the case's
# calendar: the last hour of a 4-hour acknowledgement, the last 2.5 days of a 10-day
# resolution. A fixed window would flag every new urgent case the minute it is raised.
AT_RISK_SHARE = 0.25

ESCALATION_MARK = "escalation"
UPDATE_MARK = "update_overdue"
COMMITMENT_MARK_PREFIX = "commitment:"  # + the promise's id: two promises due together differ

# The agreed time frames: (words for staff, due column, met column, target minutes column).
TIME_FRAMES = (
    ("the acknowledgement", "acknowledge_due_at", "acknowledged_at", "acknowledge_minutes"),
    ("the full reply", "first_response_due_at", "first_responded_at", "first_response_minutes"),
    ("the resolution", "resolve_due_at", "resolved_at", "resolve_minutes"),
)

_OPEN_ESCALATION_STATUSES = [str(status) for status in OPEN_ESCALATION_STATUSES]


@dataclass
class SweepReport:
    now: datetime
    escalations_proposed: int = 0
    update_reminders: int = 0
    commitment_reminders: int = 0
    emails_delivered: int = 0
    spikes_found: int = 0  # new ones only: a spike already recorded is not counted again
    # Calendars closed at `now`: their cases' reminders wait for the next working hour.
    waiting_for_working_hours: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [
            f"Sweep at {self.now.isoformat(timespec='seconds')}:",
            f"  {self.escalations_proposed} escalation(s) proposed",
            f"  {self.update_reminders} reminder(s) of an update due",
            f"  {self.commitment_reminders} reminder(s) of a promise overdue",
            f"  {self.emails_delivered} waiting email(s) delivered",
            f"  {self.spikes_found} new spike(s) in complaints",
        ]
        if self.waiting_for_working_hours:
            names = ", ".join(self.waiting_for_working_hours)
            lines.append(f"  Outside working hours, so waiting: {names}")
        return lines


@dataclass(frozen=True)
class _CalendarNow:
    """One calendar at the moment of the sweep, and the categories whose cases use it."""

    name: str
    zone_info: ZoneInfo
    zone_label: str
    business: BusinessCalendar
    is_open: bool
    category_ids: tuple[int, ...]
    # Nothing due after this can be in its last quarter yet: the edge of the candidates.
    at_risk_until: datetime


def run_sweep(now: datetime | None = None) -> SweepReport:
    """Do what is due at `now` and commit batch by batch (mail goes after each commit)."""
    now = now or utcnow()
    calendars, targets = _calendars_at(now)
    report = SweepReport(now=now)
    report.waiting_for_working_hours = sorted(
        c.name for c in calendars if c.category_ids and not c.is_open
    )
    working = [c for c in calendars if c.category_ids and c.is_open]
    if working:
        by_category = {cid: calendar for calendar in working for cid in calendar.category_ids}
        report.escalations_proposed = _propose_escalations(working, by_category, targets, now)
        report.update_reminders = _remind_updates_due(working, by_category, now)
        report.commitment_reminders = _remind_promises_overdue(working, by_category, now)
    # Not held for working hours: a spike is this week's or today's, and would be gone by then.
    report.spikes_found = len(record_new_spikes(now))
    stale_upload_files = forget_stale_pending_uploads(now)
    forget_finished_sign_ins(
        now,
        session_lifetime=current_app.permanent_session_lifetime,
        link_max_age=timedelta(days=current_app.config["MAGIC_LINK_MAX_AGE_DAYS"]),
    )
    services.commit()
    remove_files(stale_upload_files)
    report.emails_delivered = deliver_due(limit=MAIL_RETRY_LIMIT)
    return report


# --- Calendars -----------------------------------------------------------------------------------


def _calendars_at(now: datetime) -> tuple[list[_CalendarNow], dict[tuple[int, str], ServiceTarget]]:
    """Every calendar (there are few) with its categories, and every service target."""
    calendars = db.session.scalars(
        select(Calendar).options(selectinload(Calendar.hours), selectinload(Calendar.holidays))
    ).all()
    levels = db.session.scalars(
        select(ServiceLevel).options(selectinload(ServiceLevel.targets))
    ).all()
    category_rows = db.session.execute(
        select(Category.id, Category.service_level_id, ServiceLevel.calendar_id).join(
            ServiceLevel, Category.service_level_id == ServiceLevel.id
        )
    ).all()
    levels_by_id = {level.id: level for level in levels}
    targets = {
        (row.id, target.priority): target
        for row in category_rows
        for target in levels_by_id[row.service_level_id].targets
    }
    longest_frame: dict[int, int] = {}
    for level in levels:
        for t in level.targets:
            longest = max(t.acknowledge_minutes, t.first_response_minutes, t.resolve_minutes)
            longest_frame[level.calendar_id] = max(longest_frame.get(level.calendar_id, 0), longest)
    result = []
    for calendar in calendars:
        business = calendar.business_calendar()
        window = int(longest_frame.get(calendar.id, 0) * AT_RISK_SHARE) + 1
        result.append(
            _CalendarNow(
                name=calendar.name,
                zone_info=calendar.zone,
                zone_label=calendar.zone_label,
                business=business,
                is_open=business.is_open(now),
                category_ids=tuple(
                    sorted(row.id for row in category_rows if row.calendar_id == calendar.id)
                ),
                at_risk_until=business.add_business_minutes(now, window),
            )
        )
    return result, targets


def _due_words(calendar: _CalendarNow, due: datetime) -> str:
    return describe_due(due, calendar.zone_info, calendar.zone_label)


# --- Escalations ---------------------------------------------------------------------------------


def _unmet_due_by(moment: datetime):
    """Some unmet time frame is due by `moment`: written frame by frame, not on the earliest,
    so that an index on (met column, due column) can answer it."""
    return or_(
        *(
            and_(getattr(Case, met_column).is_(None), getattr(Case, due_column) <= moment)
            for _, due_column, met_column, _ in TIME_FRAMES
        )
    )


def _propose_escalations(calendars, by_category, targets, now: datetime) -> int:
    has_open_escalation = exists().where(
        Escalation.case_id == Case.id, Escalation.status.in_(_OPEN_ESCALATION_STATUSES)
    )

    def candidates(after_id: int) -> Select:
        near_a_deadline = or_(
            *(
                and_(Case.category_id.in_(c.category_ids), _unmet_due_by(c.at_risk_until))
                for c in calendars
            )
        )
        return (
            select(
                Case.id, Case.category_id, Case.priority,
                Case.acknowledge_due_at, Case.acknowledged_at,
                Case.first_response_due_at, Case.first_responded_at,
                Case.resolve_due_at, Case.resolved_at,
            )
            .where(
                Case.status.in_(OPEN_STATUS_VALUES),
                Case.id > after_id,
                near_a_deadline,
                ~has_open_escalation,
                ~_marked(Case.id, literal(ESCALATION_MARK), NEXT_DUE),
            )
            .order_by(Case.id)
            .limit(BATCH_SIZE)
        )

    def act(rows) -> int:
        at_risk = {}
        for row in rows:
            frame = _frame_at_risk(row, by_category[row.category_id], targets, now)
            if frame is not None:
                at_risk[row.id] = frame
        # Marked at the case's next due time, as the candidates are looked up (NEXT_DUE).
        claimed = _claim(
            (row.id, ESCALATION_MARK, _next_due(row)) for row in rows if row.id in at_risk
        )
        proposed = 0
        for case in _cases(sorted(key[0] for key in claimed)):
            words, due = at_risk[case.id]
            reason = _escalation_reason(words, due, by_category[case.category_id], now)
            if propose_escalation(case, reason=reason, now=now) is not None:
                proposed += 1
        return proposed

    return _in_batches(candidates, act)


def _next_due(row) -> datetime:
    """NEXT_DUE of an open case's row, in Python."""
    return min(
        getattr(row, due_column)
        for _, due_column, met_column, _ in TIME_FRAMES
        if met_column == "resolved_at" or getattr(row, met_column) is None
    )


def _frame_at_risk(row, calendar: _CalendarNow, targets, now: datetime):
    """(words, due) of the earliest unmet time frame that is past or in its last quarter."""
    target = targets.get((row.category_id, row.priority))
    unmet = sorted(
        (getattr(row, due_column), words, minutes_column)
        for words, due_column, met_column, minutes_column in TIME_FRAMES
        if getattr(row, met_column) is None
    )
    for due, words, minutes_column in unmet:
        if due <= now:
            return words, due
        if target is None:
            continue
        left = calendar.business.business_minutes_between(now, due)
        if left <= getattr(target, minutes_column) * AT_RISK_SHARE:
            return words, due
    return None


def _escalation_reason(words: str, due: datetime, calendar: _CalendarNow, now: datetime) -> str:
    when = _due_words(calendar, due)
    if due <= now:
        return f"{words} was due by {when} and is late."
    return f"{words} is due by {when} and is at risk of being late."


# --- Reminders -----------------------------------------------------------------------------------


def _remind_updates_due(calendars, by_category, now: datetime) -> int:
    in_working_hours = Case.category_id.in_([cid for c in calendars for cid in c.category_ids])

    def candidates(after_id: int) -> Select:
        # (status, next_update_due_at) is indexed: only the cases gone silent are read.
        return (
            select(Case.id, Case.next_update_due_at)
            .where(
                Case.status.in_(OPEN_STATUS_VALUES),
                Case.next_update_due_at < now,
                Case.id > after_id,
                in_working_hours,
                ~_marked(Case.id, literal(UPDATE_MARK), Case.next_update_due_at),
            )
            .order_by(Case.id)
            .limit(BATCH_SIZE)
        )

    def act(rows) -> int:
        claimed = _claim((row.id, UPDATE_MARK, row.next_update_due_at) for row in rows)
        reminded = 0
        for case in _cases(sorted(key[0] for key in claimed)):
            when = _due_words(by_category[case.category_id], case.next_update_due_at)
            text = (
                f"{case.reference}: the customer was due an update by {when}. "
                "Send one now, even if only to say what happens next."
            )
            if notify(case.owner, "update_overdue", text, case=case) is not None:
                reminded += 1
        return reminded

    return _in_batches(candidates, act)


def _remind_promises_overdue(calendars, by_category, now: datetime) -> int:
    in_working_hours = Case.category_id.in_([cid for c in calendars for cid in c.category_ids])
    mark_kind = literal(COMMITMENT_MARK_PREFIX) + cast(Commitment.id, String)

    def candidates(after_id: int) -> Select:
        # (state, due_at) is indexed: only the open promises past due are read.
        return (
            select(Commitment.id, Commitment.case_id, Commitment.due_at)
            .join(Case, Commitment.case_id == Case.id)
            .where(
                Commitment.state == CommitmentState.OPEN,
                Commitment.due_at < now,
                Commitment.id > after_id,
                Case.status.in_(OPEN_STATUS_VALUES),
                in_working_hours,
                ~_marked(Commitment.case_id, mark_kind, Commitment.due_at),
            )
            .order_by(Commitment.id)
            .limit(BATCH_SIZE)
        )

    def act(rows) -> int:
        keys = {(row.case_id, f"{COMMITMENT_MARK_PREFIX}{row.id}", row.due_at): row.id
                for row in rows}
        claimed = _claim(keys)
        promises = db.session.scalars(
            select(Commitment)
            .where(Commitment.id.in_(sorted(keys[key] for key in claimed)))
            .options(joinedload(Commitment.case).joinedload(Case.owner))
            .order_by(Commitment.id)
        ).all()
        reminded = 0
        for promise in promises:
            case = promise.case
            when = _due_words(by_category[case.category_id], promise.due_at)
            text = (
                f"{case.reference}: we promised the customer “{promise.description}” by {when}. "
                "Keep the promise now, or tell the customer and mark it broken."
            )
            if notify(case.owner, "commitment_overdue", text, case=case) is not None:
                reminded += 1
        return reminded

    return _in_batches(candidates, act)


# --- Batches and marks ---------------------------------------------------------------------------


def _in_batches(candidates: Callable[[int], Select], act: Callable[[Sequence], int]) -> int:
    """Read candidates a batch at a time (keyset on id), act, commit; returns the total."""
    done = 0
    after_id = 0
    while True:
        rows = db.session.execute(candidates(after_id)).all()
        if not rows:
            return done
        done += act(rows)
        services.commit()
        if len(rows) < BATCH_SIZE:
            return done
        after_id = rows[-1].id


def _marked(case_id, kind, due_at):
    return exists().where(
        SweepMark.case_id == case_id, SweepMark.kind == kind, SweepMark.due_at == due_at
    )


def _claim(keys: Iterable[tuple[int, str, datetime]]) -> set[tuple[int, str, datetime]]:
    """Insert the marks; return those this run inserted. A mark another run holds (committed,
    or still being written: PostgreSQL waits for it) is skipped, so nothing is done twice."""
    # Sorted, so that two runs lock the same keys in the same order.
    rows = [
        {"case_id": case_id, "kind": kind, "due_at": due_at, "created_at": utcnow()}
        for case_id, kind, due_at in sorted(set(keys))
    ]
    if not rows:
        return set()
    # Amends runs on PostgreSQL and SQLite, and both have INSERT ... ON CONFLICT DO NOTHING.
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = db.session.execute(
        insert(SweepMark)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(SweepMark.case_id, SweepMark.kind, SweepMark.due_at)
    ).all()
    return {tuple(row) for row in inserted}


def _cases(case_ids: list[int]) -> list[Case]:
    if not case_ids:
        return []
    return db.session.scalars(
        select(Case).where(Case.id.in_(case_ids)).options(joinedload(Case.owner)).order_by(Case.id)
    ).all()


# --- Running it: RQ job, in-process thread ------------------------------------------------------

SWEEP_JOB_ID = "amends-sweep"
SWEEP_QUEUE = "default"  # what a plain `rq worker` listens to
# RQ repeats a job a set number of times: at a minute apart this lasts years, and
# schedule-sweep (run at each deploy) starts a new series if one has ended.
SWEEP_REPEATS = 1_000_000


def run_sweep_once(app: Flask) -> SweepReport | None:
    """One sweep in its own app context; a failure is logged, never raised, so that the next
    scheduled run still happens."""
    with app.app_context():
        try:
            return run_sweep()
        except Exception:
            log.exception("the sweep failed; the next run will try again")
            services.rollback()
            return None
        finally:
            db.session.remove()


def sweep_job() -> str:
    """The RQ job. A worker has no app: it builds one from the environment (DATABASE_URL...);
    inside an app context (a test, a command) it uses that one."""
    app = current_app._get_current_object() if has_app_context() else worker_app()
    report = run_sweep_once(app)
    return "\n".join(report.lines()) if report else "The sweep failed: see the worker's log."


def redis_connection(url: str):
    from redis import Redis

    # Bounded like the mail queue's client: an unreachable Redis must not hang start-up.
    return Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )


def schedule_sweep(connection, interval_seconds: int) -> tuple[bool, object]:
    """Start the repeating sweep job on RQ unless it is already queued, scheduled or running.

    Returns (whether a new series was started, the job)."""
    from rq import Queue, Repeat
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        existing = Job.fetch(SWEEP_JOB_ID, connection=connection)
        status = existing.get_status(refresh=True)
    except NoSuchJobError:
        existing, status = None, None
    alive = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}
    if existing is not None and status in alive:
        return False, existing
    queue = Queue(SWEEP_QUEUE, connection=connection)
    job = queue.enqueue(
        sweep_job,
        job_id=SWEEP_JOB_ID,
        repeat=Repeat(times=SWEEP_REPEATS, interval=interval_seconds),
        # A sweep longer than the interval is still allowed to finish.
        job_timeout=max(600, interval_seconds * 5),
        result_ttl=max(3600, interval_seconds * 2),
        description="The sweep: escalations at risk, reminders, email retries",
    )
    return True, job


def start_sweep_thread(app: Flask, interval_seconds: int,
                       stop: threading.Event | None = None) -> threading.Thread:
    """Without Redis: sweep in a daemon thread of the web process, every interval_seconds."""
    stop = stop or threading.Event()

    def sweep_forever():
        while not stop.is_set():
            report = run_sweep_once(app)
            if report is not None:
                log.info("; ".join(line.strip() for line in report.lines()))
            stop.wait(interval_seconds)

    thread = threading.Thread(target=sweep_forever, name="amends-sweep", daemon=True)
    thread.stop_event = stop
    thread.start()
    return thread
