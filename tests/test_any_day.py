"""The date-sensitive tests pass whatever day the suite runs on.

Each moment below runs a sample of the tests that count in business time, read "today" or
stamp times, in a pytest of its own whose whole process starts at that moment (through
AMENDS_TEST_NOW, as `make test-any-day` does for the whole set). A test that quietly depends
on the real date fails here at the moment that breaks it, not on some day in a future CI run.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.clock import SUITE_MOMENT_VARIABLE

ROOT = Path(__file__).resolve().parent.parent

MOMENTS = {
    "a Saturday": "2026-11-28T12:00Z",
    "Christmas Day": "2026-12-25T10:00Z",
    "a minute before the new year": "2026-12-31T23:59Z",
    "a minute before the clocks go forward": "2027-03-28T00:59Z",
    "a minute after the clocks go back": "2027-10-31T01:01Z",
}

SAMPLE = {
    "test_domain_cases.py": ["TestTimeFrames",
                             "TestStatusLifecycle::test_reopening_is_allowed_only_within_the_window"],
    "test_backoffice_admin_service_levels.py": [
        "test_admin_adds_a_holiday",
        "test_calendars_are_listed_with_zone_hours_and_next_holiday",
    ],
    "test_backoffice_case_page.py": [
        "test_each_time_frame_shows_its_due_time_countdown_and_state_in_words",
    ],
    "test_backoffice_case_actions.py": [
        "test_a_later_update_moves_the_next_update_but_not_the_first_response",
    ],
    "test_queues.py": [
        "test_at_risk_holds_an_unmet_time_frame_due_by_the_end_of_the_next_business_day",
        "test_recently_closed_holds_cases_resolved_or_closed_in_the_last_14_days",
        "test_rows_show_reference_link_customer_owner_and_the_next_time_frame_in_words",
    ],
    "test_sweep.py": ["test_on_a_bank_holiday_the_reminder_waits_for_the_next_working_day"],
    "test_dashboard.py": ["test_the_page_shows_each_chart_with_its_numbers_as_a_table",
                          "test_the_page_says_so_in_words_when_there_is_nothing_to_show"],
}
NODE_IDS = [f"tests/{module}::{name}" for module, names in SAMPLE.items() for name in names]


def run_sample_at(moment, folder) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=",
         "--basetemp", str(folder), *NODE_IDS],
        cwd=ROOT, env={**os.environ, SUITE_MOMENT_VARIABLE: moment},
        capture_output=True, text=True, timeout=600,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The sample's run at every moment, two at a time (each mostly waits on its database)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        started = {moment: pool.submit(run_sample_at, moment, tmp_path_factory.mktemp("run"))
                   for moment in MOMENTS.values()}
        return {moment: run.result() for moment, run in started.items()}


@pytest.mark.skipif(bool(os.environ.get(SUITE_MOMENT_VARIABLE)),
                    reason="already running at a moment of its own")
@pytest.mark.parametrize("moment", MOMENTS.values(), ids=MOMENTS.keys())
def test_the_date_sensitive_sample_passes_at(moment, runs):
    result = runs[moment]

    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"at {moment}:\n{result.stdout[-4000:]}\n{result.stderr}"
    assert f"clock starts at {moment[:10]}" in result.stdout  # it really ran at that moment
    assert " passed" in summary and "skipped" not in summary and "deselected" not in summary
