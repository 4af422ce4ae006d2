"""One clock for the whole app in tests.

Everything that asks for the time (the services, the models' column defaults, signed links,
the sweep) reads it from the process's clock, so the suite moves all of it at once with
time-machine rather than patching module by module.

- `AMENDS_TEST_NOW=2026-12-23T09:00Z make test` runs the whole suite as if it started at that
  moment (time then moves on from there as usual); `make test-any-day` runs the tests marked
  `dates` at several such moments.
- The `frozen_now` fixture stops a single test's clock at a moment of its own. Set it before
  anyone signs in: a session signed later than "now" is refused, as it would be in production.
"""

import os
from datetime import UTC, datetime

SUITE_MOMENT_VARIABLE = "AMENDS_TEST_NOW"

# Modules whose tests count business time, read "today" or compare stamped times: their tests
# are marked `dates`, and `make test-any-day` runs them at moments that have broken them before.
DATE_SENSITIVE_MODULES = frozenset({
    "test_backoffice_admin_service_levels",
    "test_backoffice_case_actions",
    "test_backoffice_case_page",
    "test_backoffice_staff",
    "test_clock",
    "test_coordination_services",
    "test_dashboard",
    "test_domain_cases",
    "test_escalation_services",
    "test_mail_delivery",
    "test_portal_case_page",
    "test_portal_coordination",
    "test_queues",
    "test_staff_settings_cache",
    "test_sweep",
    "test_agent_journey",
    "test_customer_journey",
    "test_escalation_journey",
})


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment; 'Z' or an offset is required so that nobody guesses a zone."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: end it with Z or an offset")
    return moment.astimezone(UTC)


def suite_moment() -> datetime | None:
    text = os.environ.get(SUITE_MOMENT_VARIABLE, "").strip()
    return parse_moment(text) if text else None
