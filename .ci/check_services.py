"""Say at once, and loudly, which service the tests need is missing, before any test runs."""

import os
import shutil
import sys

problems = []

chromium = next((path for path in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium",
                                   shutil.which("chromium")) if path and os.path.exists(path)),
                None)
if chromium is None:
    problems.append("Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")

try:
    import psycopg

    url = os.environ["TEST_POSTGRES_URL"].replace("postgresql+psycopg://", "postgresql://")
    psycopg.connect(url, connect_timeout=5).close()
except Exception as error:  # any failure to connect is the message we want to show
    problems.append(f"PostgreSQL does not answer at {os.environ['TEST_POSTGRES_URL']}: {error}")

try:
    import redis

    redis.Redis.from_url(os.environ["TEST_REDIS_URL"], socket_connect_timeout=5).ping()
except Exception as error:
    problems.append(f"Redis does not answer at {os.environ['TEST_REDIS_URL']}: {error}")

if problems:
    print("CI cannot run every test; these services are missing:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    sys.exit(1)
print(f"Services: Chromium ({chromium}), PostgreSQL and Redis answer.")
