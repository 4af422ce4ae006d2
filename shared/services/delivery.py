"""Getting committed email out: to an RQ worker when REDIS_URL is set, otherwise to a background
thread of this process. The web request never waits on a mail server.

Either way the outbox row was saved with the change that caused it. A message that cannot be
handed on now (Redis down, SMTP down, the process stopped before its thread got to it) stays
pending in the outbox, and `deliver-mail` or the sweep sends it later: nothing is lost, and the
sending lease in mail.deliver means nothing is sent twice.

Deferred jobs (mail.defer) go the same way: a service function run after the commit, in a unit
of work of its own, for email whose building must not show in the request's timing.
"""

import atexit
import importlib
import logging
import queue
import threading
import time
from collections.abc import Callable

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from shared.extensions import db
from shared.services import mail

log = logging.getLogger(__name__)

MAIL_QUEUE = "amends-mail"
# A Redis that does not answer must not hold the request: the mail waits for a retry instead.
REDIS_TIMEOUT_SECONDS = 2
# Sending a batch is quick; a job stuck longer than this is ended and retried from the outbox.
JOB_TIMEOUT_SECONDS = 5 * 60
# Only service functions may be run as deferred jobs.
DEFERRED_JOBS_UNDER = "shared.services."


def dispatch(email_ids: list[int]) -> None:
    """Hand on what a unit of work queued (its messages and deferred jobs), after its commit."""
    jobs = mail.take_deferred_jobs()
    if not email_ids and not jobs:
        return
    if current_app.config.get("REDIS_URL"):
        if email_ids:
            _enqueue(email_ids)
        for job, arguments in jobs:
            _enqueue_deferred(job, arguments)
    else:
        sender = background_sender()
        if email_ids:
            sender.submit(mail.deliver, list(email_ids))
        for job, arguments in jobs:
            sender.submit(run_deferred, job, arguments)


def run_deferred(job: str, arguments: dict) -> None:
    """Run a deferred service function in the current app context and commit its work (which
    hands on the mail it queued)."""
    from shared import services

    module_name, _, function_name = job.rpartition(".")
    if not job.startswith(DEFERRED_JOBS_UNDER):
        raise ValueError(f"not a service function: {job}")
    function = getattr(importlib.import_module(module_name), function_name)
    try:
        function(**arguments)
        services.commit()
    except Exception:
        services.rollback()
        raise


def mail_queue() -> Queue:
    """The RQ queue the mail worker reads, on this app's Redis (one client per app)."""
    redis = current_app.extensions.get("amends_redis")
    if redis is None:
        redis = Redis.from_url(
            current_app.config["REDIS_URL"],
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        current_app.extensions["amends_redis"] = redis
    return Queue(MAIL_QUEUE, connection=redis)


def _enqueue(email_ids: list[int]) -> None:
    from shared.worker import deliver_outbox  # the job the worker runs

    try:
        mail_queue().enqueue(deliver_outbox, list(email_ids), job_timeout=JOB_TIMEOUT_SECONDS)
    except RedisError:
        # The rows are saved and due now: deliver-mail or the sweep will send them.
        log.exception(
            "could not queue %d email(s) for the worker; they wait in the outbox", len(email_ids)
        )


def _enqueue_deferred(job: str, arguments: dict) -> None:
    from shared.worker import run_deferred_job

    try:
        mail_queue().enqueue(run_deferred_job, job, arguments, job_timeout=JOB_TIMEOUT_SECONDS)
    except RedisError:
        # Nothing is saved for it yet: this process does it instead.
        log.exception("could not queue %s for the worker; running it in this process", job)
        background_sender().submit(run_deferred, job, arguments)


# --- The background thread --------------------------------------------------------------------


def background_sender(app: Flask | None = None) -> "BackgroundSender":
    """The app's background sender, made on first use (one app per process in production)."""
    app = app or current_app._get_current_object()
    sender = app.extensions.get("amends_background_sender")
    if sender is None:
        sender = app.extensions.setdefault("amends_background_sender", BackgroundSender(app))
    return sender


class BackgroundSender:
    """One thread that runs jobs one after another, each in an app context and database
    session of its own. It starts with the first job and stops when the process exits; a job
    it never got to leaves its messages pending in the outbox, for the next run."""

    def __init__(self, app: Flask):
        self._app = app
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable, *arguments) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="amends-background-mail", daemon=True
                )
                self._thread.start()
                atexit.register(self.stop)
            self._jobs.put((job, arguments))

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            try:
                if item is None:
                    return
                job, arguments = item
                with self._app.app_context():
                    try:
                        job(*arguments)
                    except Exception:  # the outbox keeps what was not sent, for a retry
                        log.exception("background mail job %s failed", job.__name__)
                    finally:
                        db.session.remove()
            finally:
                self._jobs.task_done()

    def wait_until_idle(self, timeout: float = 30) -> bool:
        """Wait until every job handed in so far is done; whether that happened in time.
        Called from the thread itself, it returns at once (it would wait on itself)."""
        if threading.current_thread() is self._thread:
            return False
        deadline = time.monotonic() + timeout
        with self._jobs.all_tasks_done:
            while self._jobs.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._jobs.all_tasks_done.wait(remaining)
        return True

    def stop(self, timeout: float | None = None) -> None:
        """Let the jobs handed in so far finish (within MAIL_TIMEOUT and a little), then end
        the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None or not thread.is_alive():
            return
        atexit.unregister(self.stop)
        self._jobs.put(None)
        thread.join(timeout if timeout is not None else self._app.config["MAIL_TIMEOUT"] + 5)
