"""Making two transactions really meet: PostgreSQL shows who waits on whose lock."""

import time

from sqlalchemy import text

# How long a test waits for either side: well inside the suite's PostgreSQL lock_timeout.
DEADLINE_SECONDS = 10


def is_waiting_on(engine, waiter_pid: int, holder_pid: int) -> bool:
    """Whether the backend `waiter_pid` is waiting on a lock that `holder_pid` holds, as a third
    connection sees it."""
    with engine.connect() as observer:
        row = observer.execute(
            text("SELECT wait_event_type, :holder = ANY(pg_blocking_pids(pid)) "
                 "FROM pg_stat_activity WHERE pid = :waiter"),
            {"holder": holder_pid, "waiter": waiter_pid},
        ).one_or_none()
    return row is not None and tuple(row) == ("Lock", True)


def wait_until(condition, thread) -> bool:
    """Whether `condition` came true before the deadline, or before `thread` ended."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline or not thread.is_alive():
            return condition()
        time.sleep(0.01)
    return True
