"""An escalation in a real browser, with the customer in a second browser beside the staff.

The owner (an agent) asks for an escalation to the head of service on the case page → the
head of service finds it in Approvals and approves it, taking the case over with a reason →
the customer follows the link in the one email they get, and reads that their complaint is
escalated and who now looks after it, never the internal reason or notes → the agent reads
the decision in their notifications. Only the starting case is made through a service.
"""

import re

from shared import services
from shared.models import EscalationLevel, Role
from shared.services import cases as case_actions
from shared.services import escalations as escalation_actions
from tests import factories
from tests.browser.test_agent_journey import email_about, notice, open_details, pick, plain_texts
from tests.browser.test_customer_journey import assert_accessible

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests then (fails them in CI)
    expect = None

EMAIL = "dana.price@example.com"
REASON = "The courier denies the damage and a goodwill payment of £150 is above my limit."
DETAILS = "Courier claim ref CX-5531."
HANDOFF = "A payment this size needs the head of service; I will see it through myself."
NOTE = "Approved: I take the case and will authorise the goodwill payment."


def sign_in(page, live_server, email, first_name):
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Work email address").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # By name: a session that was still open (or came back) must not pass for this person.
    expect(page.get_by_role("button", name=f"Sign out {first_name}")).to_be_visible()


def tick(page, option: str) -> None:
    """Tick a checkbox by clicking its label, as people do (the label draws the box)."""
    page.locator("label").filter(has_text=re.compile(f"^{re.escape(option)}$")).click()
    expect(page.get_by_role("checkbox", name=option, exact=True)).to_be_checked()


def leave_case_page(page):
    """Let the case page's own request finish first: it reports, as the page loads, that this
    person has the case open, and its answer carries their session. An answer landing while
    the sign-out is under way would sign them in again."""
    expect(page.locator("#presence-shown")).to_be_attached()


def sign_out(page):
    page.get_by_role("navigation", name="Back office").get_by_role(
        "button", name=re.compile("^Sign out")).click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Sign out"))).to_have_count(0)


def test_an_agent_escalates_the_head_of_service_approves_and_the_customer_sees_it(
    page, second_page, live_server, org, smtp_server
):
    case = case_actions.raise_case(
        name="Dana Price",
        email=EMAIL,
        description="My parcel arrived crushed and the kettle inside is broken.",
        category=org.delivery,
    )
    services.commit()
    # Read now what the journey needs, so the test's own session stays out of the way.
    reference, summary = case.reference, case.summary
    agent = case.owner
    assert agent.role == Role.AGENT
    agent_email, agent_name, agent_first_name = agent.email, agent.name, agent.first_name
    head_email, head_first_name = org.head.email, org.head.first_name
    customer_page = second_page
    js_errors = []
    page.on("pageerror", lambda error: js_errors.append(error))
    customer_page.on("pageerror", lambda error: js_errors.append(error))

    # 1. The owner asks for an escalation to the head of service, from the case page. Agents
    #    have no Approvals entry: they never decide.
    sign_in(page, live_server, agent_email, agent_first_name)
    expect(page.get_by_role("link", name="Approvals")).to_have_count(0)
    page.goto(f"{live_server}/staff/cases/{reference}")
    expect(page.get_by_role("heading", level=1)).to_have_text(summary)
    open_details(page, "Request an escalation")
    pick(page, "Head of service")
    page.get_by_label("Why does this case need escalating?").fill(REASON)
    tick(page, "More people")
    tick(page, "A goodwill payment above my limit")
    page.get_by_label("More about what you need (optional)").fill(DETAILS)
    assert_accessible(page, "staff case with the escalation request form")
    page.get_by_role("button", name="Ask a manager to decide (the customer is not told)").click()
    expect(notice(page)).to_contain_text("Escalation requested")
    escalation = page.locator("#escalation")
    expect(escalation).to_contain_text("Waiting for a decision")
    expect(escalation).to_contain_text(f"To a head of service, asked by {agent_name}")
    expect(page.locator("#staff-timeline")).to_contain_text("Escalation requested")
    leave_case_page(page)
    sign_out(page)

    # 2. The head of service finds it in Approvals, with its count, and approves it, taking
    #    the case over.
    sign_in(page, live_server, head_email, head_first_name)
    approvals_entry = page.locator(".site-nav").get_by_role("link", name=re.compile("^Approvals"))
    expect(approvals_entry).to_have_text(re.compile(r"^Approvals\s+1 waiting$"))
    approvals_entry.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approvals 1")
    assert_accessible(page, "approvals queue")
    page.get_by_role("link", name=f"Decide {reference}").click()
    expect(page.locator("#request-title + dl")).to_contain_text(REASON)
    assert_accessible(page, "escalation decision")
    page.get_by_label("Note for the person who asked (optional)").fill(NOTE)
    page.get_by_label("Hand the case to").select_option(label="Harper Quinn (manager)")
    page.get_by_label("Why does it move to them?").fill(HANDOFF)
    page.get_by_role("button", name="Approve and tell the customer").click()
    expect(notice(page)).to_contain_text(f"Approved: {reference} is escalated")
    expect(page.get_by_role("heading", level=1)).to_have_text("Approvals 0")
    expect(approvals_entry).to_have_text("Approvals")

    page.goto(f"{live_server}/staff/cases/{reference}")
    expect(page.locator(".case-header")).to_contain_text("Harper Quinn")
    expect(page.locator("#escalation")).to_contain_text("Approved by Harper Quinn")
    leave_case_page(page)
    sign_out(page)

    # 3. The customer gets one email about it, follows its link and reads, in plain words,
    #    that the complaint is escalated and who now looks after it; nothing internal.
    email = email_about(smtp_server, EMAIL, f"Your complaint {reference} has been escalated")
    text = email.get_body(preferencelist=("plain",)).get_content()
    assert "our head of service, Harper Quinn, who now looks after it" in text
    customer_page.goto(re.search(re.escape(live_server) + r"/sign-in/\S+", text).group(0))
    escalated = customer_page.locator("#escalated")
    expect(escalated).to_contain_text("Your complaint has been escalated")
    expect(escalated).to_contain_text(
        "We have escalated your complaint to our head of service, Harper Quinn, who now looks"
        " after it."
    )
    expect(customer_page.locator(".owner-card__name")).to_have_text("Harper Quinn")
    assert_accessible(customer_page, "portal case after escalation")
    portal_html = customer_page.content()
    for internal in (REASON, DETAILS, HANDOFF, NOTE, "Head of service", "goodwill"):
        assert internal not in portal_html
    to_customer = plain_texts(smtp_server, EMAIL)
    assert not any(kind in body for body in to_customer
                   for kind in ("taking over from", "changed the dates"))
    assert not any(internal in body for body in to_customer for internal in (REASON, NOTE))

    # 4. The agent who asked reads the decision, by whom and with the note.
    sign_in(page, live_server, agent_email, agent_first_name)
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    decided = page.locator(".notification").filter(has_text="Escalation decided")
    expect(decided).to_contain_text(f"Harper Quinn approved your escalation of case {reference}")
    expect(decided).to_contain_text(NOTE)

    assert js_errors == []


def test_a_manager_rejects_without_javascript_and_a_missing_note_keeps_the_form(
    no_script_page, live_server, org, smtp_server
):
    page = no_script_page
    case = factories.case_owned_by(org.sam, org.delivery, email=EMAIL)
    escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER, reason=REASON,
        needs=["decision"],
    )
    services.commit()
    reference, manager_email, manager_first_name = (
        case.reference, org.manager.email, org.manager.first_name
    )

    sign_in(page, live_server, manager_email, manager_first_name)
    page.get_by_role("link", name="Approvals").click()
    page.get_by_role("link", name=f"Decide {reference}").click()
    page.get_by_role("button", name="Reject (the person who asked is told why)").click()
    expect(page.locator(".error-summary")).to_contain_text(
        "Say why: the person who asked reads this"
    )
    page.get_by_label("Why not?").fill("The courier has agreed to pay: no need.")
    page.get_by_role("button", name="Reject (the person who asked is told why)").click()
    expect(notice(page)).to_contain_text("Not approved: Sam Taylor has been told why.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Approvals 0")
