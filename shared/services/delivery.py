"""Getting committed email out: to an RQ worker when REDIS_URL is set, in-process otherwise.

Either way the outbox row was saved with the change that caused it. A message that cannot be
handed on now (Redis down, SMTP down) stays pending in the outbox, and `deliver-mail` or the
sweep sends it later: nothing is lost, and the claim in mail.deliver means nothing is sent
twice.
"""

import logging

from flask import current_app
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


def dispatch(email_ids: list[int]) -> None:
    """Hand the messages a unit of work queued to whoever sends them, after its commit."""
    if not email_ids:
        return
    if current_app.config.get("REDIS_URL"):
        _enqueue(email_ids)
    else:
        _deliver_now(email_ids)


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
        log.exception("could not queue %d email(s) for the worker; they wait in the outbox",
                      len(email_ids))


def _deliver_now(email_ids: list[int]) -> None:
    try:
        mail.deliver(email_ids)
    except Exception:  # the data is saved; the outbox keeps the message for a retry
        log.exception("delivering queued email failed")
        db.session.rollback()
