"""Rate limits that hold under a burst: a request takes its hit before the work and gives it
back afterwards when it turns out not to count.

Flask-Limiter's `deduct_when` counts a request only once its response is known, so forty
requests sent at once all pass the check before the first of them is counted. Here each
request takes its hit as it starts, with one atomic increment in the limiter's own storage
(RATELIMIT_STORAGE_URI: memory:// for one process, redis:// for several). The increment
itself says whether the allowance is spent, so no two requests can take the last hit. A
request over the limit gives its hit back at once (refusals do not use up the allowance) and
is answered 429 with Retry-After; a request that does not count (a successful sign-in, a
form sent back with its mistakes) gives its hit back when it is done.

The windows are fixed, like Flask-Limiter's default strategy: "5 per minute" is five hits
in a minute that starts with the first of them.
"""

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app, request
from flask.wrappers import Response
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage
from redis.exceptions import RedisError
from werkzeug.exceptions import TooManyRequests

from shared.extensions import limiter
from shared.models.users import normalise_email

log = logging.getLogger(__name__)

# What a refused request is told to wait when a limit cannot say when it resets.
DEFAULT_WAIT_SECONDS = 60

# When the shared store (Redis) cannot be reached, each process counts on its own until it
# is back: the limits then hold per process rather than answering every form with an error.
_WHILE_STORAGE_IS_DOWN = MemoryStorage()

# MemoryStorage adds under its lock but reads the new count after letting go of it, so a
# thread can read a later request's hit as its own and be refused for it: one lock of ours
# around each increment and its read keeps the counts exact within the process.
_MEMORY_COUNTING = threading.Lock()

# Decrement only a counter that still exists: a hit given back after its window has ended
# must not leave a negative count that would add to the next window's allowance.
_GIVE_BACK_IN_REDIS = """
local current = tonumber(redis.call('get', KEYS[1]) or '0')
if current > 0 then
    return redis.call('decr', KEYS[1])
end
return 0
"""


class LimitReached(TooManyRequests):
    """The allowance is spent: wait `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after=retry_after)


@dataclass(frozen=True)
class Allowance:
    """One limit setting, counted separately for each value of `key` (a client, an account).

    Allowances with the same `scope` share their counters: a hit on one form is a hit on all
    of them. `key` returns None when the allowance does not apply to the request."""

    setting: str
    scope: str
    key: Callable[[], str | None]


def client_address() -> str | None:
    """The client's address, as ProxyFix left it when TRUSTED_PROXIES is set."""
    return request.remote_addr


def posted_account() -> str | None:
    """The account named in the posted form, whether or not it exists. Hashed: the store of
    counters never holds anyone's email address."""
    email = normalise_email(request.form.get("email", ""))
    return hashlib.sha256(email.encode()).hexdigest()[:32] if email else None


COMPLAINTS_FROM_CLIENT = Allowance("RAISE_CASE_RATE_LIMIT", "raise-case", client_address)
SIGN_INS_FROM_CLIENT = Allowance("LOGIN_RATE_LIMIT", "sign-in", client_address)
STAFF_SIGN_INS_FROM_CLIENT = Allowance("LOGIN_RATE_LIMIT", "staff-sign-in", client_address)
# One allowance per account, whichever sign-in page the guesses come through.
SIGN_INS_TO_ACCOUNT = Allowance("ACCOUNT_SIGN_IN_RATE_LIMIT", "account-sign-in", posted_account)
# Sign-in links and new accounts both send email: one allowance for both forms.
EMAILED_LINKS_FROM_CLIENT = Allowance("LINK_REQUEST_RATE_LIMIT", "emailed-links", client_address)


def failed(response: Response) -> bool:
    """A sign-in counts when it is refused; a success (or a step towards one) does not."""
    return response.status_code >= 400


def succeeded(response: Response) -> bool:
    """A form counts when it was accepted; one sent back with its mistakes does not."""
    return response.status_code < 400


def limited(*allowances: Allowance, counts: Callable[[Response], bool]):
    """Limit a view's POSTs: take a hit from each allowance before the view runs (or refuse
    with 429), and give them back afterwards unless `counts(response)`. A view that raises
    keeps its hits."""

    def decorate(view):
        @wraps(view)
        def limited_view(*args, **kwargs):
            if request.method != "POST" or not current_app.config["RATELIMIT_ENABLED"]:
                return view(*args, **kwargs)
            taken = take_hits(allowances)
            response = current_app.make_response(view(*args, **kwargs))
            if not counts(response):
                give_back(taken)
            return response

        return limited_view

    return decorate


def take_hits(allowances) -> list[tuple[Storage, str]]:
    """Take one hit from every limit of every allowance that applies, all or none: the
    counters taken, or LimitReached once they are given back."""
    storage = limiter.storage
    try:
        return _take_hits_in(storage, allowances)
    except RedisError as error:
        log.warning("Rate limits counted in this process: %s cannot be reached (%s)",
                    type(storage).__name__, error)
        return _take_hits_in(_WHILE_STORAGE_IS_DOWN, allowances)


def _take_hits_in(storage: Storage, allowances) -> list[tuple[Storage, str]]:
    taken: list[tuple[Storage, str]] = []
    for allowance in allowances:
        identity = allowance.key()
        if not identity:
            continue
        for item in _longest_window_first(current_app.config[allowance.setting]):
            counter = item.key_for("amends", allowance.scope, identity)
            count = _add_hit(storage, counter, item.get_expiry())
            taken.append((storage, counter))
            if count > item.amount:
                wait = _seconds_until_reset(storage, counter)
                give_back(taken)
                raise LimitReached(wait)
    return taken


def _add_hit(storage: Storage, counter: str, expiry: int) -> int:
    if isinstance(storage, MemoryStorage):
        with _MEMORY_COUNTING:
            return storage.incr(counter, expiry)
    return storage.incr(counter, expiry)


def give_back(taken: list[tuple[Storage, str]]) -> None:
    for storage, counter in taken:
        try:
            _give_back_one(storage, counter)
        except RedisError as error:  # the hit lapses with its window instead
            log.warning("A rate-limit hit could not be given back: %s", error)


def _give_back_one(storage: Storage, counter: str) -> None:
    if isinstance(storage, MemoryStorage):
        with _MEMORY_COUNTING:
            storage.decr(counter)  # never below zero
    elif isinstance(storage, RedisStorage):
        script = storage.get_connection().register_script(_GIVE_BACK_IN_REDIS)
        script(keys=[storage.prefixed_key(counter)])
    else:
        raise RuntimeError(
            f"Rate limits need memory:// or redis:// storage, not {type(storage).__name__}"
        )


def _longest_window_first(setting: str) -> list[RateLimitItem]:
    # When the hour and the minute are both spent, the hour is the wait worth reporting.
    return sorted(parse_many(setting), key=lambda item: item.get_expiry(), reverse=True)


def _seconds_until_reset(storage: Storage, counter: str) -> int:
    return max(1, math.ceil(storage.get_expiry(counter) - time.time()))


def retry_after_seconds(error: TooManyRequests) -> int:
    """How long the client should wait, for our refusals and Flask-Limiter's alike."""
    if isinstance(error.retry_after, int):
        return max(1, error.retry_after)
    request_limit = limiter.current_limit if limiter.enabled else None
    if request_limit is not None:
        return max(1, math.ceil(request_limit.reset_at - time.time()))
    return DEFAULT_WAIT_SECONDS


def describe_wait(seconds: int) -> str:
    """'45 seconds', 'a minute', '12 minutes', '2 hours': rounded up, never less."""
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes == 1:
        return "a minute"
    if minutes <= 90:
        return f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    return f"{hours} hours"
