"""Making two transactions really meet: PostgreSQL shows who waits on whose lock."""

import threading
import time

from sqlalchemy import event, text

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


class HeldAtCommit:
    """Two units of work, each in a thread with an app context and session of its own: "first"
    stops at its commit, locks taken, until PostgreSQL shows "second" waiting on one of them.

    `run(first, second)` returns {"first": what first returned, "second": ...}, and
    `second_waited_on_first` says whether the two really met."""

    def __init__(self, app):
        self.app = app
        self.outcomes, self.errors, self.backends = {}, {}, {}
        self.first_holds, self.release = threading.Event(), threading.Event()
        self.second_waited_on_first = False

    def run(self, first, second):
        from shared.extensions import db

        event.listen(db.session, "after_begin", self._note_backend)
        event.listen(db.session, "before_commit", self._hold_first)
        threads = {name: threading.Thread(target=self._work, args=(name, work), name=name)
                   for name, work in (("first", first), ("second", second))}
        try:
            threads["first"].start()
            if wait_until(self.first_holds.is_set, threads["first"]):
                threads["second"].start()
                self.second_waited_on_first = wait_until(
                    lambda: "second" in self.backends and is_waiting_on(
                        db.engine, self.backends["second"], self.backends["first"]),
                    threads["second"])
        finally:
            self.release.set()
            for thread in threads.values():
                if thread.ident is not None:
                    thread.join(timeout=DEADLINE_SECONDS * 3)
            event.remove(db.session, "before_commit", self._hold_first)
            event.remove(db.session, "after_begin", self._note_backend)
        assert not any(thread.is_alive() for thread in threads.values())
        for error in self.errors.values():
            raise error
        assert self.first_holds.is_set(), f"the first never reached its commit: {self.outcomes}"
        return self.outcomes

    def _work(self, name, work):
        from shared.extensions import db

        with self.app.app_context():
            try:
                self.outcomes[name] = work()
            except Exception as error:  # raised again in the test's thread by run()
                self.errors[name] = error
            finally:
                db.session.remove()

    def _note_backend(self, session, transaction, connection):
        name = threading.current_thread().name
        if name in ("first", "second"):  # the transaction it is in now
            self.backends[name] = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    def _hold_first(self, session):
        if threading.current_thread().name == "first" and not self.first_holds.is_set():
            session.flush()  # before_commit comes before commit's own flush: take the locks now
            self.first_holds.set()
            self.release.wait(timeout=DEADLINE_SECONDS * 2)
