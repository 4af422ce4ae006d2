"""Date and time inputs: the browser draws the control in the reader's own format (24/11/2026
in the UK, 11/24/2026 in the US), so a hint beside it never shows a format of its own."""

import re

from shared import services
from shared.models import EscalationLevel
from shared.services import escalations as escalation_actions
from tests.support.html import field_block, text_of
from tests.support.pages import page_url

# A written date: 24/11/2026, 2026-11-01, 11.24.2026 ...
WRITTEN_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")


def date_hints(html: str, *field_ids: str) -> dict[str, str]:
    """Each date field's hint, as a person reads it."""
    hints = {}
    for field_id in field_ids:
        block = field_block(html, field_id)
        assert re.search(r'type="(date|datetime-local)"', block), f"{field_id} is not a date input"
        hint = re.search(r'class="field__hint hint"[^>]*>(.*?)</p>', block, re.S)
        hints[field_id] = hint.group(1) if hint else ""
    return hints


def test_the_dashboards_period_hints_show_no_date_format(login_as, org):
    html = text_of(login_as(org.manager).get("/staff/dashboard"))

    for field_id, hint in date_hints(html, "start", "end").items():
        assert not WRITTEN_DATE.search(hint), f"{field_id}: “{hint}”"


def test_the_escalation_decisions_date_hints_say_the_time_zone_and_no_format(login_as, org, case):
    escalation = escalation_actions.request_escalation(
        case,
        actor=org.sam,
        level=EscalationLevel.TEAM_MANAGER,
        reason="Waited three weeks.",
        needs=["goodwill"],
    )
    services.commit()
    html = text_of(login_as(org.manager).get(f"/staff/approvals/{escalation.id}"))

    hints = date_hints(html, "approve-task_due_at", "approve-agreed_resolve_by")
    for field_id, hint in hints.items():
        assert "UK time" in hint, field_id
        assert not WRITTEN_DATE.search(hint), f"{field_id}: “{hint}”"


def test_the_case_pages_due_time_hints_show_no_date_format(login_as, org, case):
    html = text_of(login_as(org.sam).get(page_url(case)))

    for field_id, hint in date_hints(html, "task-due_at", "commitment-due_at").items():
        assert not WRITTEN_DATE.search(hint), f"{field_id}: “{hint}”"
