"""Profile one page of an already seeded database, in process, through Flask's test client.

    DATABASE_URL=sqlite:////path/to/seeded.sqlite3 .venv/bin/python bench/profile_page.py my-cases
    ... bench/profile_page.py staff-case --repeat 50 --sort tottime --limit 40
    ... bench/profile_page.py at-risk --explain   # the SQL of one request, with its query plans

Signs in the same people bench/run.py chooses (the busiest agent, the customer of the case with
the longest timeline, the first manager) by writing the session directly, requests the page a
few times to warm up, then reports the CPU milliseconds per request, profiles `--repeat`
requests with cProfile and prints the heaviest functions, and lists the SQL statements of one
request with their CPU time (SQLite) and, with --explain, their plans (EXPLAIN ANALYZE on
PostgreSQL).
"""

import argparse
import cProfile
import os
import pstats
import re
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import event  # noqa: E402

from bench.run import DEMO_PASSWORD, SEARCH_TERM, choose_targets  # noqa: E402

PAGES = {
    "ceiling": ("/bench/ceiling", None),
    "portal-case": ("/cases/{case}", "customer"),
    "my-cases": ("/staff/", "agent"),
    "at-risk": ("/staff/queues/at-risk", "agent"),
    "search": ("/staff/queues/all?" + urllib.parse.urlencode({"q": SEARCH_TERM}), "agent"),
    "staff-case": ("/staff/cases/{case}", "agent"),
    "dashboard": ("/staff/dashboard", "manager"),
    "patterns": ("/staff/patterns", "manager"),
    "problems": ("/staff/problems?show=all", "manager"),
    "problem": ("/staff/problems/{problem}", "manager"),
    # A small staff page: mostly the work every staff request does around its view.
    "notifications": ("/staff/notifications", "agent"),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", choices=sorted(PAGES))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--limit", type=int, default=35)
    parser.add_argument("--explain", action="store_true", help="show each statement's plan")
    parser.add_argument("--callers", metavar="PATTERN", help="also list who calls the functions"
                        " matching this regular expression")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        parser.error("set DATABASE_URL to a seeded database")

    os.environ.setdefault("SECRET_KEY", "profile")
    os.environ.pop("MAIL_SERVER", None)
    from bench.app import app
    from shared.extensions import db

    targets = choose_targets(url)
    path, who = PAGES[args.page]
    path = path.format(case=targets["case"], problem=targets["problem"])
    client = app.test_client()
    if who is not None:
        # Through the real sign-in form: staff and customers keep sessions of their own.
        sign_in_path = "/sign-in" if who == "customer" else "/staff/login"
        form_page = client.get(sign_in_path).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form_page).group(1)
        answer = client.post(sign_in_path, data={
            "csrf_token": token, "email": targets[who], "password": DEMO_PASSWORD,
        })
        if answer.status_code != 302:
            print(f"signing in as {targets[who]} failed ({answer.status_code})")
            return 1

    for _ in range(3):
        response = client.get(path)
        if response.status_code != 200:
            print(f"{response.status_code} from {path}")
            return 1

    statements = []
    with app.app_context():
        engine = db.engine

    def started(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("started", []).append(time.perf_counter())

    def finished(conn, cursor, statement, parameters, context, executemany):
        began = conn.info["started"].pop()
        statements.append(((time.perf_counter() - began) * 1000, statement, parameters))

    event.listen(engine, "before_cursor_execute", started)
    event.listen(engine, "after_cursor_execute", finished)
    began = time.perf_counter()
    client.get(path)
    single = (time.perf_counter() - began) * 1000
    event.remove(engine, "before_cursor_execute", started)
    event.remove(engine, "after_cursor_execute", finished)

    cpu = []
    for _ in range(args.repeat):
        began = time.process_time()
        client.get(path)
        cpu.append((time.process_time() - began) * 1000)

    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for _ in range(args.repeat):
        client.get(path)
    profiler.disable()
    per_request = (time.perf_counter() - began) * 1000 / args.repeat

    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.limit)
    if args.callers:
        pstats.Stats(profiler).sort_stats(args.sort).print_callers(args.callers)
    print(f"{path}: {single:.1f} ms once, unprofiled; {statistics.median(cpu):.2f} CPU ms per"
          f" request, unprofiled (median of {args.repeat}); {per_request:.1f} ms profiled")
    print(f"{len(statements)} statements, {sum(s[0] for s in statements):.1f} ms in SQL"
          " (wall clock, once); CPU ms of each, the median of --repeat runs:")
    with engine.connect() as connection:
        for elapsed, statement, parameters in statements:
            cpu = []
            for _ in range(args.repeat):
                began = time.process_time()
                connection.exec_driver_sql(statement, parameters).fetchall()
                cpu.append((time.process_time() - began) * 1000)
            print(f"\n-- {elapsed:.2f} ms once, {statistics.median(cpu):.2f} CPU ms"
                  f"\n{statement}\n{parameters}")
            if args.explain:
                sqlite = engine.dialect.name == "sqlite"
                prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ANALYZE "
                for row in connection.exec_driver_sql(prefix + statement, parameters):
                    print("   ", row[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
