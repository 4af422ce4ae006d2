"""The RQ side of email delivery.

`make worker` runs `rq worker --with-scheduler --worker-class rq.SimpleWorker amends-mail
default` with the app's settings in the environment: the jobs build the app from them, once per
process (worker_app), for mail here and for the sweep (shared/sweep.py).

The worker runs jobs in its own process rather than a fork per job: a mail job is short and
bounded by MAIL_TIMEOUT, and a forked child must not share the parent's database connections.
"""

from flask import Flask, has_app_context
from rq import SimpleWorker

from shared.extensions import db
from shared.services import mail
from shared.services.delivery import mail_queue, run_deferred

_app: Flask | None = None


def deliver_outbox(email_ids: list[int]) -> int:
    """The job: send these outbox messages; each is claimed first, so a retry running
    elsewhere at the same time never sends one twice. Returns how many were sent."""
    if has_app_context():
        return mail.deliver(email_ids)
    with worker_app().app_context():
        try:
            return mail.deliver(email_ids)
        finally:
            db.session.remove()


def run_deferred_job(job: str, arguments: dict) -> None:
    """The job for mail.defer: run the service function `job` and commit its work."""
    if has_app_context():
        return run_deferred(job, arguments)
    with worker_app().app_context():
        try:
            return run_deferred(job, arguments)
        finally:
            db.session.remove()


def worker_app() -> Flask:
    """The app of a worker process, built on first use; every job of the process shares it."""
    global _app
    if _app is None:
        from shared.app import create_app

        _app = create_app()
    return _app


def run_worker(*, burst: bool = False) -> bool:
    """Work the mail queue inside the current app context until stopped (or, with `burst`,
    until it is empty). Returns whether any job was done."""
    queue = mail_queue()
    return SimpleWorker([queue], connection=queue.connection).work(burst=burst)
