"""Does the time a request takes tell who has an account? Known against unknown addresses.

    .venv/bin/python bench/sign_in_timing.py                  # 200 requests of each kind
    .venv/bin/python bench/sign_in_timing.py --requests 500 --no-mail

Makes a fresh SQLite database with the demo data (`flask demo-data`), serves it with gunicorn
(1 sync worker, no Redis: mail goes to the worker's background thread) on loopback, with a
loopback SMTP server that accepts everything (unless --no-mail), and posts the two forms that
take any address:

- /sign-in/link with a customer's address (alex@example.com) and with unknown ones;
- /account/new with a customer's, a member of staff's (sam@example.com) and unknown ones.

Each request is timed by the client, from sending to the last byte of the answer: what someone
probing addresses sees. The kinds are interleaved in a shuffled order, with a short pause
between requests so that one request's background work does not land in the next one's time.
Prints the median and 90th percentile of each kind. Rate limits are switched off for the run.
Every request goes to 127.0.0.1 only.
"""

import argparse
import http.client
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CUSTOMER = "alex@example.com"  # in the demo data
STAFF = "sam@example.com"  # in the demo data
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_smtp_sink():
    """A loopback SMTP server that accepts every message and keeps none."""
    from aiosmtpd.controller import Controller  # in the test extra

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 Message accepted"

    controller = Controller(Sink(), hostname=HOST, port=free_port(), enable_SMTPUTF8=True)
    controller.start()
    return controller


def flask_command(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def start_server(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn stopped while starting")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


class Browser:
    """One visitor: keeps its cookies and the form's CSRF token, on one connection."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def csrf_token(self, path: str) -> str:
        status, page = self.request("GET", path)
        match = CSRF_FIELD.search(page)
        if status != 200 or match is None:
            raise RuntimeError(f"no form on {path} (HTTP {status})")
        return match.group(1)


def measure(port: int, requests: int, pause: float) -> dict[tuple[str, str], list[float]]:
    browser = Browser(port)
    token = browser.csrf_token("/sign-in/link")
    kinds = [
        ("/sign-in/link", "known customer"),
        ("/sign-in/link", "unknown"),
        ("/account/new", "known customer"),
        ("/account/new", "staff"),
        ("/account/new", "unknown"),
    ]
    address = {
        "known customer": lambda: CUSTOMER,
        "staff": lambda: STAFF,
        "unknown": lambda: f"nobody.{secrets.token_hex(6)}@example.com",
    }
    plan = [kind for kind in kinds for _ in range(requests)]
    random.shuffle(plan)
    for path, _ in kinds[:2] + kinds[3:4]:  # warm up every code path once
        browser.request("POST", path, {"csrf_token": token, "name": "A visitor", "email": CUSTOMER})
    times: dict[tuple[str, str], list[float]] = {kind: [] for kind in kinds}
    for path, who in plan:
        form = {"csrf_token": token, "email": address[who](), "name": "A visitor"}
        started = time.perf_counter()
        status, _ = browser.request("POST", path, form)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"POST {path} for a {who} address answered HTTP {status}")
        times[(path, who)].append(elapsed * 1000)
        time.sleep(pause)
    return times


def report(times: dict[tuple[str, str], list[float]]) -> None:
    print(f"{'page':<15} {'address':<16} {'requests':>8} {'median ms':>10} {'p90 ms':>8}")
    for (path, who), values in times.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(
            f"{path:<15} {who:<16} {len(values):>8} {statistics.median(values):>10.2f} {p90:>8.2f}"
        )
    for path in ("/sign-in/link", "/account/new"):
        unknown = statistics.median(times[(path, "unknown")])
        for (other_path, who), values in times.items():
            if other_path == path and who != "unknown":
                difference = statistics.median(values) - unknown
                print(f"{path}: {who} minus unknown = {difference:+.2f} ms (medians)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.03,
        help="seconds between requests (lets background mail finish)",
    )
    parser.add_argument(
        "--no-mail",
        action="store_true",
        help="no mail server: messages are kept for the mailbox instead",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="amends-timing-") as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/timing.sqlite3",
            "INSTANCE_PATH": folder,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "RATELIMIT_ENABLED": "0",
            "REDIS_URL": "",
            "MAIL_SERVER": "",
        }
        sink = None if args.no_mail else start_smtp_sink()
        if sink is not None:
            env.update(MAIL_SERVER=HOST, MAIL_PORT=str(sink.port))
        flask_command(env, "db", "upgrade")
        flask_command(env, "demo-data")
        port = free_port()
        server = start_server(env, port)
        try:
            times = measure(port, args.requests, args.pause)
        finally:
            server.terminate()
            server.wait(timeout=30)
            if sink is not None:
                sink.stop()
    print(f"{args.requests} requests of each kind, mail {'kept' if args.no_mail else 'sent'}:")
    report(times)


if __name__ == "__main__":
    main()
