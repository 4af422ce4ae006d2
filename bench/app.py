"""The application as the benchmark serves it: `gunicorn bench.app:app`.

It is the real app from create_app(), plus what only a benchmark needs:

- a ceiling page, /bench/ceiling: a table of the same shape and size as a queue page, rendered
  by Jinja from constant data on every request, with no database and no session: what a page
  costs when the database costs nothing;
- response headers with the server time of each request (X-Bench-Server-Ms) and, when
  BENCH_COUNT_QUERIES is set, the number of SQL statements it ran (X-Bench-Queries).

Never served outside the benchmark.
"""

import os
import time
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Flask, g, has_app_context, render_template
from sqlalchemy import event

from shared.app import create_app
from shared.extensions import db

# Constant rows shaped like a queue page's: built once, at import.
_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CEILING_ROWS = [
    {
        "reference": f"AM-{100000 + number:06d}",
        "customer_name": "Jasmine Okafor",
        "customer_email": f"jasmine.okafor.{70000 + number}@example.org",
        "summary": "My washing machine arrived damaged on Tuesday.",
        "status_label": ("New", "Acknowledged", "In progress", "Waiting on customer")[number % 4],
        "priority": ("low", "normal", "high", "urgent")[number % 4],
        "owner_name": "Finn Martin",
        "owner_active": number % 11 != 3,
        "frame_label": ("Acknowledge by", "Full reply by", "Put right by")[number % 3],
        "due_at": _START + timedelta(hours=7 * number),
        "state": ("on_track", "at_risk", "breached")[number % 3],
        "state_words": ("On track", "At risk", "Breached")[number % 3],
    }
    for number in range(50)
]
CEILING_QUEUES = [
    ("My cases", 301), ("Promises overdue", 6), ("My team", 827), ("Going silent", 902),
    ("At risk", 1206), ("Breached", 336), ("Waiting on customer", 539), ("Unassigned", 191),
    ("Recently closed", 4482), ("All cases", None),
]

bench = Blueprint("bench", __name__, template_folder="templates")


@bench.get("/bench/ceiling")
def ceiling():
    return render_template("bench/ceiling.html", rows=CEILING_ROWS, queues=CEILING_QUEUES)


def create_bench_app() -> Flask:
    app = create_app()
    app.register_blueprint(bench)
    count_queries = bool(os.environ.get("BENCH_COUNT_QUERIES"))

    @app.before_request
    def start_clock():
        g.bench_started = time.perf_counter()
        g.bench_queries = 0

    @app.after_request
    def report(response):
        started = g.get("bench_started")
        if started is not None:
            elapsed = (time.perf_counter() - started) * 1000
            response.headers["X-Bench-Server-Ms"] = f"{elapsed:.3f}"
        if count_queries:
            response.headers["X-Bench-Queries"] = str(g.get("bench_queries", 0))
        return response

    if count_queries:
        with app.app_context():
            engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def count(conn, cursor, statement, parameters, context, executemany):
            if has_app_context() and "bench_queries" in g:
                g.bench_queries += 1

    return app


app = create_bench_app()
