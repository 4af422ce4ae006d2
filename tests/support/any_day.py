"""Run the date-sensitive tests (marked `dates`) once per moment, the whole process starting
at that moment: `python -m tests.support.any_day MOMENT [MOMENT ...]`.

Two runs go at once, each on a SQLite file and a Redis database of its own; each run's output
is printed whole as it ends, and the exit status is 1 if any run failed.
"""

import os
import queue
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.support.clock import SUITE_MOMENT_VARIABLE, parse_moment

AT_ONCE = 2
REDIS_DATABASES = (13, 14)  # one per run going at once


def run_at(moment: str, free_databases: queue.Queue) -> tuple[str, int, str]:
    database = free_databases.get()
    try:
        environment = {**os.environ, SUITE_MOMENT_VARIABLE: moment,
                       "TEST_REDIS_DATABASE": str(database)}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "dates", "-p", "no:cacheprovider"],
            env=environment, capture_output=True, text=True,
        )
        return moment, result.returncode, result.stdout + result.stderr
    finally:
        free_databases.put(database)


def main(moments: list[str]) -> int:
    for moment in moments:
        parse_moment(moment)  # refuse a moment without a zone before anything runs
    free_databases = queue.Queue()
    for database in REDIS_DATABASES[:AT_ONCE]:
        free_databases.put(database)
    failed = []
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        runs = [pool.submit(run_at, moment, free_databases) for moment in moments]
        for run in runs:
            moment, status, output = run.result()
            print(f"== the date-sensitive tests at {moment} ==\n{output}", flush=True)
            if status != 0:
                failed.append(moment)
    if failed:
        print(f"Failed at: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
