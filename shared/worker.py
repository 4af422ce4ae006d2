"""The RQ side of email delivery.

Run `flask --app wsgi worker` (the app is built once, before the worker starts), or plain
`rq worker --url $REDIS_URL --worker-class rq.SimpleWorker amends-mail` with the same
settings in the environment (the job then builds the app from them, once per process).

Both run jobs in the worker's own process rather than a fork per job: a mail job is short and
bounded by MAIL_TIMEOUT, and a forked child must not share the parent's database connections.
"""

from flask import Flask, has_app_context
from rq import SimpleWorker

from shared.extensions import db
from shared.services import mail
from shared.services.delivery import mail_queue

_app: Flask | None = None


def deliver_outbox(email_ids: list[int]) -> int:
    """The job: send these outbox messages; each is claimed first, so a retry running
    elsewhere at the same time never sends one twice. Returns how many were sent."""
    if has_app_context():
        return mail.deliver(email_ids)
    with _worker_app().app_context():
        try:
            return mail.deliver(email_ids)
        finally:
            db.session.remove()


def _worker_app() -> Flask:
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
