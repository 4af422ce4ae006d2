"""Benchmark the pages staff and customers use most, against a ceiling page, at scale.

    .venv/bin/python bench/run.py                      # fresh SQLite database, 100,000 cases
    .venv/bin/python bench/run.py --cases 1000
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --reuse seeded.sqlite3         # a copy of a seeded file
    DATABASE_URL=postgresql+psycopg://.../seeded .venv/bin/python bench/run.py --reuse-database

What it does, in order: makes a fresh database (SQLite in a temporary folder, or a schema of its
own in the PostgreSQL database DATABASE_URL names, dropped at the end), migrates it, seeds it
(`flask seed`), starts gunicorn with 2 sync workers on a free loopback port serving
bench/app.py, signs in a customer and an agent, then for each page, over several rounds:

- server time per request (median, p95), from the X-Bench-Server-Ms header, over sequential
  requests;
- requests per second with N concurrent clients for a fixed time (wrk when installed, else a
  Python loop of threads), and the ratio to the ceiling page's rate measured just before and
  just after it (their mean);
- CPU milliseconds per request of the gunicorn workers (utime + stime from /proc/<pid>/stat);
- SQL statements per request (X-Bench-Queries).

Figures are medians over the rounds. Every request goes to 127.0.0.1 only, and every loop is
bounded in both count and time.
"""

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEMO_PASSWORD = "amends-demo-only"  # shared.demo.DEMO_PASSWORD: every seeded account has it
SEARCH_TERM = "washing machine"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MAX_REQUESTS_PER_MEASURE = 200_000  # a hard stop for any loop, whatever the duration


# --- Processes and the database ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def flask_command(env: dict, *args: str) -> float:
    """Run `flask --app wsgi ...`; returns the seconds it took."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT, env=env, check=True,
    )
    return time.perf_counter() - started


@dataclass
class Database:
    url: str  # what the app is given
    kind: str  # sqlite or postgresql
    cleanup: callable = None


def make_database(workdir: Path, base_url: str | None, reuse: bool = False) -> Database:
    if base_url and base_url.startswith("postgresql") and reuse:
        return Database(base_url, "postgresql")  # already seeded, and kept afterwards
    if base_url and base_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        schema = f"amends_bench_{secrets.token_hex(5)}"
        admin = create_engine(base_url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in base_url else "?"
        url = f"{base_url}{separator}options=" + urllib.parse.quote(f"-csearch_path={schema}")

        def drop_schema():
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        return Database(url, "postgresql", drop_schema)
    return Database(f"sqlite:///{workdir / 'bench.sqlite3'}", "sqlite")


def choose_targets(url: str) -> dict:
    """Who signs in and what they open: the busiest active agent (a full first page of their
    own cases), and the open case with the longest timeline (the heaviest case page)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        agent = connection.execute(
            text(
                "SELECT u.email FROM users u JOIN cases c ON c.owner_id = u.id"
                " WHERE u.role = 'agent' AND u.active"
                " AND c.status IN ('new', 'acknowledged', 'in_progress', 'waiting_on_customer')"
                " GROUP BY u.id, u.email ORDER BY count(*) DESC, u.id LIMIT 1"
            )
        ).scalar_one()
        case = connection.execute(
            text(
                "SELECT c.reference, u.email FROM cases c JOIN users u ON u.id = c.customer_id"
                " JOIN timeline_events e ON e.case_id = c.id"
                " WHERE c.status IN ('acknowledged', 'in_progress', 'waiting_on_customer')"
                " GROUP BY c.id, c.reference, u.email ORDER BY count(*) DESC, c.id LIMIT 1"
            )
        ).one()
        manager = connection.execute(
            text("SELECT email FROM users WHERE role = 'manager' AND active ORDER BY id LIMIT 1")
        ).scalar()
        # The problem with the most linked cases: the heaviest problem page.
        problem = connection.execute(
            text("SELECT problem_id FROM problem_cases GROUP BY problem_id"
                 " ORDER BY count(*) DESC, problem_id LIMIT 1")
        ).scalar()
    engine.dispose()
    return {"agent": agent, "case": case[0], "customer": case[1], "manager": manager,
            "problem": problem}


def vacuum_analyze(url: str) -> None:
    """PostgreSQL: do now what autovacuum does on any database in use, rather than whenever it
    gets to the freshly seeded tables: the planner's statistics, and the visibility map that
    lets index-only scans skip the table."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


class Server:
    """gunicorn with 2 sync workers on a free loopback port, serving bench.app."""

    def __init__(self, env: dict, workers: int = 2):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers),
             "--worker-class", "sync", "--bind", f"{HOST}:{self.port}",
             "--log-level", "warning", "bench.app:app"],
            cwd=PROJECT_ROOT, env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn stopped while starting")
            try:
                if request("GET", self.port, "/bench/ceiling").status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError("gunicorn did not answer within 60 s")
        self.workers = self._worker_pids(workers)

    def _worker_pids(self, expected: int) -> list[int]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    children.append(int(stat.parent.name))
            if len(children) >= expected:
                return children
            time.sleep(0.2)
        raise RuntimeError("could not find the gunicorn workers")

    def cpu_ticks(self) -> int:
        total = 0
        for pid in self.workers:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    cookies: dict = field(default_factory=dict)


def request(method, port, path, *, cookie=None, form=None, timeout=30) -> Response:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        raw = connection.getresponse()
        data = raw.read()
        cookies = {}
        for name, value in raw.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, cookie_value = pair.partition("=")
                cookies[key] = cookie_value
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data, cookies)
    finally:
        connection.close()


def sign_in(port: int, path: str, email: str) -> str:
    """Sign in through the real form (CSRF token and all); returns the Cookie header."""
    page = request("GET", port, path)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.body)
    if token is None:
        raise RuntimeError(f"no CSRF token on {path}")
    cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    answer = request("POST", port, path, cookie=cookie, form={
        "csrf_token": token.group(1).decode(), "email": email, "password": DEMO_PASSWORD,
    })
    # Staff and customers have session cookies of their own names ("staff_session" and
    # "session"): whichever the answer sets is the one signed in.
    name = next((key for key in answer.cookies if key.endswith("session")), None)
    if answer.status != 302 or name is None:
        raise RuntimeError(f"signing in as {email} at {path} failed ({answer.status})")
    return f"{name}={answer.cookies[name]}"


# --- Measuring ----------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    path: str
    cookie: str | None = None
    queries: int | None = None
    bytes: int = 0
    rounds: list = field(default_factory=list)  # one dict per round


def latency(port: int, page: Page, count: int, max_seconds: float) -> list[float]:
    """Server milliseconds of `count` sequential requests (stops early at max_seconds)."""
    times = []
    deadline = time.monotonic() + max_seconds
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        answer = request("GET", port, page.path, cookie=page.cookie)
        if answer.status != 200:
            raise RuntimeError(f"{page.name}: {answer.status} from {page.path}")
        times.append(float(answer.headers["x-bench-server-ms"]))
        if "x-bench-queries" in answer.headers:
            page.queries = int(answer.headers["x-bench-queries"])
        page.bytes = len(answer.body)
    return times


def throughput_python(port: int, page: Page, clients: int, seconds: float) -> tuple[int, float]:
    """(requests completed, elapsed seconds) with `clients` threads, each looping."""
    done = [0] * clients
    failures = []
    stop_at = time.monotonic() + seconds
    per_client_cap = MAX_REQUESTS_PER_MEASURE // clients

    def client(slot):
        for _ in range(per_client_cap):
            if time.monotonic() >= stop_at:
                return
            try:
                answer = request("GET", port, page.path, cookie=page.cookie)
            except OSError as error:
                failures.append(error)
                return
            if answer.status != 200:
                failures.append(answer.status)
                return
            done[slot] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    if failures:
        raise RuntimeError(f"{page.name}: requests failed under load: {failures[:3]}")
    return sum(done), elapsed


def throughput_wrk(port: int, page: Page, clients: int, seconds: float) -> tuple[int, float]:
    command = ["wrk", "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{seconds:g}s",
               "--timeout", "10s"]
    if page.cookie:
        command += ["-H", f"Cookie: {page.cookie}"]
    output = subprocess.run(
        command + [f"http://{HOST}:{port}{page.path}"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"{page.name}: wrk saw errors:\n{output}")
    completed = int(re.search(r"(\d+) requests in ([\d.]+)(m?s)", output).group(1))
    duration = re.search(r"requests in ([\d.]+)(ms|s|m)", output)
    value, unit = float(duration.group(1)), duration.group(2)
    elapsed = value / 1000 if unit == "ms" else value * 60 if unit == "m" else value
    return completed, elapsed


def measure_round(server: Server, pages: list[Page], args, use_wrk: bool) -> None:
    """One round: every page measured between two measurements of the ceiling (the first
    page), its ratio taken against their mean. The machine's speed drifts within a round, so a
    ceiling measured once at its start would be compared with pages measured a minute later."""

    def measure(page: Page) -> dict:
        times = latency(server.port, page, args.latency_requests, max_seconds=60)
        ticks_before = server.cpu_ticks()
        load = throughput_wrk if use_wrk else throughput_python
        completed, elapsed = load(server.port, page, args.clients, args.duration)
        ticks = server.cpu_ticks() - ticks_before
        return {
            "median_ms": statistics.median(times),
            "p95_ms": percentile(times, 95),
            "rps": completed / elapsed,
            "cpu_ms": ticks * 1000 / CLOCK_TICKS / max(completed, 1),
        }

    ceiling, *others = pages
    before = measure(ceiling)
    ceilings = [before]
    for page in others:
        result = measure(page)
        after = measure(ceiling)
        ceilings.append(after)
        result["ceiling_rps"] = (before["rps"] + after["rps"]) / 2
        page.rounds.append(result)
        before = after
    ceiling.rounds.append({
        key: statistics.median(measured[key] for measured in ceilings)
        for key in ("median_ms", "p95_ms", "rps", "cpu_ms")
    } | {"ceiling_rps": statistics.median(measured["rps"] for measured in ceilings)})


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarise(pages: list[Page]) -> list[dict]:
    rows = []
    for page in pages:
        ratios = [measured["rps"] / measured["ceiling_rps"] for measured in page.rounds]
        rows.append(
            {
                "page": page.name,
                "path": page.path,
                "median_ms": statistics.median(r["median_ms"] for r in page.rounds),
                "p95_ms": statistics.median(r["p95_ms"] for r in page.rounds),
                "rps": statistics.median(r["rps"] for r in page.rounds),
                "ratio": statistics.median(ratios),
                "cpu_ms": statistics.median(r["cpu_ms"] for r in page.rounds),
                "queries": page.queries,
                "kb": page.bytes / 1024,
            }
        )
    return rows


def markdown(rows: list[dict], skipped: list[str]) -> str:
    lines = [
        "| page | server ms median | p95 | req/s | vs ceiling | CPU ms/req | SQL | KB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        queries = "–" if row["queries"] is None else str(row["queries"])
        lines.append(
            f"| {row['page']} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} |"
            f" {row['rps']:.0f} | {row['ratio'] * 100:.0f} % | {row['cpu_ms']:.1f} |"
            f" {queries} | {row['kb']:.0f} |"
        )
    for note in skipped:
        lines.append(f"\n{note}")
    return "\n".join(lines)


# --- Main ---------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=5.0,
                        help="seconds of load per page per round")
    parser.add_argument("--latency-requests", type=int, default=100,
                        help="sequential requests per page per round")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load loop")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database folder")
    parser.add_argument("--reuse", type=Path, metavar="SQLITE_FILE",
                        help="benchmark a copy of an already seeded SQLite file (no seeding)")
    parser.add_argument("--reuse-database", action="store_true",
                        help="PostgreSQL: benchmark the database DATABASE_URL names as it is,"
                        " already seeded (it is migrated, not seeded, and kept)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not (0 < args.duration <= 60 and 0 < args.rounds <= 20 and 0 < args.clients <= 64):
        parser.error("duration (s) must be in (0, 60], rounds in 1..20, clients in 1..64")
    if args.reuse_database and not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        parser.error("--reuse-database needs DATABASE_URL to name a seeded PostgreSQL database")

    workdir = Path(tempfile.mkdtemp(prefix="amends-bench-"))
    database = make_database(workdir, os.environ.get("DATABASE_URL"), args.reuse_database)
    env = {
        **os.environ,
        "DATABASE_URL": database.url,
        "INSTANCE_PATH": str(workdir / "instance"),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "BENCH_COUNT_QUERIES": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
        # The bench signs in with a password alone, as `make run` does.
        "TWO_FACTOR_REQUIRED_ROLES": "",
    }
    env.pop("MAIL_SERVER", None)
    server = None
    try:
        print(f"Database: {database.kind}; workdir {workdir}", flush=True)
        seed_seconds = None
        if args.reuse and database.kind == "sqlite":
            shutil.copyfile(args.reuse, workdir / "bench.sqlite3")
            flask_command(env, "db", "upgrade")
            print(f"Reusing a copy of {args.reuse}")
        elif args.reuse_database and database.kind == "postgresql":
            flask_command(env, "db", "upgrade")
            print("Reusing the seeded database DATABASE_URL names")
        else:
            flask_command(env, "db", "upgrade")
            seed_seconds = flask_command(env, "seed", "--cases", str(args.cases),
                                         "--seed", str(args.seed))
            print(f"Seeded {args.cases} cases in {seed_seconds:.1f} s (wall clock, with start-up)")
        if database.kind == "postgresql":
            vacuum_analyze(database.url)
        targets = choose_targets(database.url)
        print(f"Agent {targets['agent']}; case {targets['case']} of {targets['customer']}")

        server = Server(env)
        customer = sign_in(server.port, "/sign-in", targets["customer"])
        agent = sign_in(server.port, "/staff/login", targets["agent"])
        search = urllib.parse.urlencode({"q": SEARCH_TERM})
        pages = [
            Page("ceiling (no database)", "/bench/ceiling"),
            Page("portal case page", f"/cases/{targets['case']}", customer),
            Page("my cases queue", "/staff/", agent),
            Page("at-risk queue", "/staff/queues/at-risk", agent),
            Page(f"search “{SEARCH_TERM}”", f"/staff/queues/all?{search}", agent),
            Page("staff case page", f"/staff/cases/{targets['case']}", agent),
        ]
        skipped = []
        probe = request("GET", server.port, pages[-1].path, cookie=agent)
        if probe.status == 404:
            skipped.append("The staff case page (/staff/cases/<ref>) does not exist yet: skipped.")
            pages.pop()
        # The manager's dashboard: not one of the pages the target is set for, measured beside
        # them because it reads every case of the period.
        if targets["manager"] is not None:
            manager = sign_in(server.port, "/staff/login", targets["manager"])
            dashboard = Page("manager's dashboard", "/staff/dashboard", manager)
            # What complaints tell us (the default period, as the dashboard), the list of
            # problems and the busiest problem's page, all read by managers.
            manager_pages = [dashboard, Page("patterns page", "/staff/patterns", manager),
                             Page("problems list", "/staff/problems?show=all", manager)]
            if targets["problem"] is not None:
                manager_pages.append(
                    Page("busiest problem page", f"/staff/problems/{targets['problem']}",
                         manager))
            for page in manager_pages:
                if request("GET", server.port, page.path, cookie=manager).status == 200:
                    pages.append(page)
                else:
                    skipped.append(f"The {page.name} ({page.path}) did not answer 200: skipped.")
        use_wrk = shutil.which("wrk") is not None and not args.no_wrk
        print(f"Load: {'wrk' if use_wrk else 'Python threads'}, {args.clients} clients,"
              f" {args.duration:g} s per page, {args.rounds} rounds", flush=True)
        for number in range(args.rounds):
            measure_round(server, pages, args, use_wrk)
            print(f"  round {number + 1} done", flush=True)
        rows = summarise(pages)
        table = markdown(rows, skipped)
        print()
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()},"
              f" {os.cpu_count()} cores, {database.kind}, {args.cases} cases")
        print(table)
        if args.json:
            args.json.write_text(json.dumps({
                "date": datetime.now(UTC).isoformat(), "database": database.kind,
                "cases": args.cases, "seed_seconds": seed_seconds, "load": "wrk"
                if use_wrk else "python", "clients": args.clients, "rounds": args.rounds,
                "pages": rows, "skipped": skipped,
            }, indent=2))
        return 0
    finally:
        if server is not None:
            server.stop()
        if database.cleanup is not None:
            database.cleanup()
        if args.keep and database.kind == "sqlite":
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
