"""The learning loop in a real browser: from one goodwill payment to many customers told of a fix.

1. An agent whose redress limit is £50 records a goodwill payment of £80 on their case: it waits
   for a manager, and resolving is refused until then. The manager approves it in Approvals;
   the agent resolves with an outcome, a root cause and a product.
2. With other cases resolved with the same cause, the manager sees that cause at the top of the
   Pareto on "What complaints tell us", and a spike the sweep found; they open a problem for it,
   owned by a product team member, and the spike's cases are linked.
3. The product team member finds it in "Team problems" and marks it fixed.
4. Each linked open case's owner has a task to tell their customer; one of them writes the
   update from it and sends it; the customer reads it in the portal, with no cause, outcome,
   problem reference or internal text in sight.

The history the patterns need (resolved cases, the weeks before the spike) is made through the
services, backdated where it must be; everything in the journey itself goes through the pages.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import Category, CauseArea, Outcome, Product, Role, RootCause, Task, Team, utcnow
from shared.services import cases as case_actions
from tests import factories
from tests.browser.test_agent_journey import (
    email_about,
    notice,
    open_details,
    pick,
    plain_texts,
)
from tests.browser.test_customer_journey import assert_accessible
from tests.browser.test_escalation_journey import leave_case_page, sign_in, sign_out

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests then (fails them in CI)
    expect = None

EMAIL = "dana.price@example.com"
GOODWILL = "A goodwill payment for the missed delivery slot"
RESOLUTION = "We rebooked your delivery for Saturday morning and sent you a goodwill payment."
CAUSE_AREA, CAUSE, OTHER_CAUSE = "Delivery", "Carrier missed the slot", "Tariff change not applied"
PRODUCT = "Kitchen appliances"
SPIKE_CATEGORY = "Online account"
SPIKE_CUSTOMER, SPIKE_EMAIL = "Chris Moss", "chris.moss@example.com"
PROBLEM_DESCRIPTION = "Sign-in codes reach some customers after they have expired (queue backlog)."
CUSTOMER_SUMMARY = (
    "Dear {customer_name}, we found the fault that stopped our sign-in codes arriving in time"
    " and have fixed it: you can now sign in to your account as normal. Thank you for telling"
    " us about it ({reference})."
)


def learning_history(org) -> SimpleNamespace:
    """What the patterns page needs: causes and products, cases resolved with the same cause,
    and a category whose complaints this week are far above the eight weeks before."""
    now = utcnow()
    digital = Team(name="Digital products")
    db.session.add(digital)
    db.session.flush()
    riley = factories.make_user("riley@example.com", "Riley Ng", Role.AGENT, digital)
    org.sam.redress_limit_minor = 50_00

    delivery_area, billing_area = CauseArea(name=CAUSE_AREA, position=1), CauseArea(
        name="Billing", position=2
    )
    missed_slot = RootCause(area=delivery_area, name=CAUSE, position=1)
    tariff = RootCause(area=billing_area, name=OTHER_CAUSE, position=1)
    appliances, broadband = Product(name=PRODUCT, position=1), Product(name="Broadband", position=2)
    online = Category(
        name=SPIKE_CATEGORY, position=3, default_team=org.care, service_level=org.service_level
    )
    db.session.add_all([delivery_area, billing_area, missed_slot, tariff, appliances, broadband,
                        online])
    db.session.flush()

    # Four delivery complaints raised in the weeks before and resolved now with the journey's
    # cause, two billing ones with another: with the journey's own, five of seven.
    earlier_complaints = {
        missed_slot: (org.delivery, "The van never came in the slot I booked.",
                      "We rebooked the delivery.", (2, 3, 4, 5)),
        tariff: (org.bills, "My new tariff was not applied to my bill.",
                 "We applied the tariff and corrected the bill.", (3, 6)),
    }
    for cause, (category, description, resolution, weeks) in earlier_complaints.items():
        for weeks_ago in weeks:
            past = factories.case_owned_by(
                org.priya, category, email=f"{cause.id}.{weeks_ago}@example.com",
                description=description,
            )
            past.created_at = now - timedelta(weeks=weeks_ago)
            case_actions.resolve_case(
                past, actor=org.priya, resolution=resolution, outcome=Outcome.UPHELD,
                root_cause=cause, product=appliances,
            )
    # Online account: two complaints in the eight weeks before this one, then six today,
    # owned by Sam and Priya: far above the usual, this week and today. Those six are the
    # spike, and the sweep's step finds it.
    for number, weeks_ago in enumerate((3, 6)):
        earlier = factories.case_owned_by(
            org.priya, online, email=f"account{number}@example.com",
            description="I could not sign in last month.",
        )
        earlier.created_at = now - timedelta(weeks=weeks_ago)
    spiked = []
    for number in range(6):
        owner = org.sam if number % 2 == 0 else org.priya
        name, email = (
            (SPIKE_CUSTOMER, SPIKE_EMAIL) if number == 0
            else (f"Customer {number}", f"customer{number}@example.com")
        )
        spiked.append(factories.case_owned_by(
            owner, online, email=email, name=name,
            description="My sign-in code arrived after it had already expired.",
        ))
    journey_case = case_actions.raise_case(
        name="Dana Price",
        email=EMAIL,
        description="The carrier never came in my slot and I took a day off work for it.",
        desired_outcome="An apology and something for the lost day.",
        category=org.delivery,
    )
    journey_case.owner = org.sam
    services.commit()

    from shared.spikes import record_new_spikes

    spikes = record_new_spikes(utcnow())
    services.commit()
    assert {(spike.dimension, spike.subject_id) for spike in spikes} == {
        ("category", online.id)
    }, "only Online account rises far above its usual"
    return SimpleNamespace(riley=riley, case=journey_case, spiked=spiked)


def assert_no_learning_codes(text: str) -> None:
    """What a customer reads carries no cause, outcome code or product list of ours."""
    for internal in (CAUSE, OTHER_CAUSE, "upheld", "Upheld", "root cause", "Root cause"):
        assert internal not in text, f"the customer can read “{internal}”"


def resolve(page) -> None:
    """Resolve the journey's case with what we learn from it, as the agent does."""
    open_details(page, "Resolve")
    page.get_by_label("What was done to put it right?").fill(RESOLUTION)
    pick(page, "Upheld")
    page.get_by_label("What caused it?").select_option(label=CAUSE)
    page.get_by_label("Which product or service was affected? (optional)").select_option(
        label=PRODUCT
    )
    page.get_by_role("button", name="Resolve and tell the customer").click()


def test_a_goodwill_payment_a_pattern_a_problem_fixed_and_the_customers_told(
    page, second_page, live_server, org, smtp_server
):
    history = learning_history(org)
    # Read now what the journey needs, so the test's own session stays out of the way.
    reference, summary = history.case.reference, history.case.summary
    spiked_references = sorted(c.reference for c in history.spiked)
    spiked_owners = [(c.reference, c.owner_id) for c in history.spiked]
    told_case = next(c for c in history.spiked if c.contact_name == SPIKE_CUSTOMER)
    told_reference = told_case.reference
    sam = (org.sam.email, org.sam.first_name)
    morgan = (org.manager.email, org.manager.first_name)
    riley = (history.riley.email, history.riley.first_name)
    customer_page = second_page
    js_errors = []
    page.on("pageerror", lambda error: js_errors.append(error))
    customer_page.on("pageerror", lambda error: js_errors.append(error))

    # 1. Sam records a goodwill payment above their limit: it waits for a manager, and the
    #    case cannot be resolved until one decides.
    sign_in(page, live_server, *sam)
    page.goto(f"{live_server}/staff/cases/{reference}")
    expect(page.get_by_role("heading", level=1)).to_have_text(summary)
    redress = page.locator("#redress")
    open_details(page, "Record a remedy")
    redress.get_by_label("What kind of remedy?").select_option(label="Goodwill gesture")
    redress.get_by_label("What was given, in words the customer can read").fill(GOODWILL)
    redress.get_by_label(re.compile("^Amount")).fill("80")
    redress.get_by_role("button", name="Record this remedy").click()
    expect(notice(page)).to_contain_text("It is above your limit of £50.00")
    remedy = redress.locator(".coordination__item").filter(has_text=GOODWILL)
    expect(remedy).to_contain_text("£80.00")
    expect(remedy).to_contain_text("Awaiting a manager's approval")
    expect(page.locator("#escalation")).to_contain_text("Waiting for a decision")

    resolve(page)
    expect(page.locator(".error-summary")).to_contain_text(
        "A manager must approve the goodwill gesture"
    )
    expect(page.locator(".case-header")).not_to_contain_text("resolved")
    # Nothing typed is lost.
    expect(page.get_by_label("What was done to put it right?")).to_have_value(RESOLUTION)
    expect(page.get_by_role("radio", name="Upheld", exact=True)).to_be_checked()
    leave_case_page(page)
    sign_out(page)

    sign_in(page, live_server, *morgan)
    page.locator(".site-nav").get_by_role("link", name=re.compile("^Approvals")).click()
    page.get_by_role("link", name=f"Decide {reference}").click()
    expect(page.locator("main")).to_contain_text("£80.00")
    expect(page.locator("main")).to_contain_text(GOODWILL)
    assert_accessible(page, "escalation decision with a goodwill payment")
    page.get_by_label("Note for the person who asked (optional)").fill("Fair: a day off work.")
    # Approving money alone is internal: the customer reads it with the resolution.
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(notice(page)).to_contain_text("Approving money is internal")
    sign_out(page)

    sign_in(page, live_server, *sam)
    page.goto(f"{live_server}/staff/cases/{reference}")
    expect(remedy).to_contain_text("Approved")
    resolve(page)
    expect(notice(page)).to_contain_text("Resolved.")
    expect(page.locator(".case-header")).to_contain_text("resolved")
    leave_case_page(page)
    sign_out(page)

    # Dana reads what was done and the payment, in words; never the outcome or the cause.
    email = email_about(smtp_server, EMAIL, f"Your complaint {reference} is resolved")
    text = email.get_body(preferencelist=("plain",)).get_content()
    customer_page.goto(re.search(re.escape(live_server) + r"/sign-in/\S+", text).group(0))
    thank_you = customer_page.locator(".thank-you")
    expect(thank_you).to_contain_text(RESOLUTION)
    expect(customer_page.locator("main")).to_contain_text(GOODWILL)
    assert_accessible(customer_page, "portal case resolved with a goodwill payment")
    assert_no_learning_codes(customer_page.content())
    assert_no_learning_codes(text)
    customer_page.get_by_role("button", name="Sign out").click()
    expect(customer_page.get_by_role("status")).to_have_text("You have signed out.")

    # 2. The manager sees the cause at the top of the Pareto and the spike, and opens a
    #    problem for the spike, owned by the product team.
    sign_in(page, live_server, *morgan)
    page.locator(".site-nav").get_by_role("link", name="What complaints tell us").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What complaints tell us")
    top_cause = page.locator("section[aria-labelledby=pareto-heading] tbody tr").first
    expect(top_cause.locator("th")).to_contain_text(CAUSE)
    expect(top_cause.locator("td").first).to_have_text("5")
    expect(top_cause).to_contain_text("Vital few")
    spike_rows = page.locator("#spikes tbody tr").filter(has_text=SPIKE_CATEGORY)
    expect(spike_rows.first.locator("td.num").first).to_have_text(str(len(spiked_references)))
    assert_accessible(page, "what complaints tell us")
    spike_rows.first.get_by_role("link", name=re.compile("^Open a problem for this")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Open a problem")
    linked_field = page.get_by_label("Cases to link (optional)")
    for spiked in spiked_references:
        expect(linked_field).to_have_value(re.compile(re.escape(spiked)))
    expect(page.get_by_label("Title")).not_to_have_value("")
    page.get_by_label("Description (optional)").fill(PROBLEM_DESCRIPTION)
    page.get_by_label("Summary for customers (needed before it is marked fixed)").fill(
        CUSTOMER_SUMMARY
    )
    page.get_by_label("Team that can fix it").select_option(label="Digital products")
    page.get_by_label("Owner", exact=True).select_option(label="Riley Ng (Digital products)")
    assert_accessible(page, "new problem from a spike")
    page.get_by_role("button", name="Open the problem").click()
    expect(notice(page)).to_contain_text(
        f"opened and owned by Riley Ng. {len(spiked_references)} cases linked."
    )
    problem_reference = re.search(r"PR-\d+", notice(page).inner_text()).group(0)
    problem_url = page.url
    linked = page.locator("#linked-cases")
    for spiked in spiked_references:
        expect(linked.locator(f"#linked-{spiked}")).to_be_visible()
    assert_accessible(page, "problem page")
    page.goto(f"{live_server}/staff/patterns")
    expect(page.locator("#spikes")).to_contain_text(problem_reference)
    sign_out(page)

    # 3. The product team member finds it in "Team problems" and marks it fixed.
    sign_in(page, live_server, *riley)
    team_problems = page.locator(".site-nav").get_by_role(
        "link", name=re.compile("^Team problems"))
    expect(team_problems).to_have_text(re.compile(r"^Team problems\s+1 open$"))
    team_problems.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("My team's problems")
    page.get_by_role("link", name=problem_reference).click()
    assert page.url == problem_url
    pick(page, "Fixed")
    page.get_by_role("button", name="Change the status").click()
    expect(notice(page)).to_contain_text(f"{problem_reference} is now “Fixed”.")
    expect(notice(page)).to_contain_text("No customer has been emailed.")
    sign_out(page)

    # 4. Each linked open case's owner has a task; Sam writes the update from it and sends
    #    it; the customer reads it in the portal and nothing internal.
    sign_in(page, live_server, *sam)
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    told_of_fix = page.locator(".notification").filter(has_text=problem_reference)
    expect(told_of_fix.filter(has_text=told_reference)).to_contain_text(
        f"{problem_reference} is fixed: tell {SPIKE_CUSTOMER} about the fix on {told_reference}"
    )
    page.goto(f"{live_server}/staff/cases/{told_reference}")
    fix_task = page.locator("#tasks .coordination__item").filter(has_text=problem_reference)
    expect(fix_task).to_contain_text("Tell the customer about the fix")
    page.locator("#problems").get_by_role("link", name=re.compile("^Write the update")).click()
    body = page.get_by_label("Your message")
    expect(body).to_have_value(re.compile(re.escape(f"Dear {SPIKE_CUSTOMER}, we found the fault")))
    expect(body).to_have_value(re.compile(re.escape(f"({told_reference})")))
    expect(page.get_by_role("radio", name="Update to the customer")).to_be_checked()
    page.get_by_role("button", name="Send update to customer").click()
    expect(notice(page)).to_have_text(f"Update sent to {SPIKE_CUSTOMER}.")
    # The task stays open until its owner says it is done.
    fix_task.locator("summary").filter(has_text="Update this task").click()
    fix_task.get_by_label(re.compile("^Status")).select_option(label="Done")
    fix_task.get_by_label("Progress or outcome").fill("Told the customer in an update.")
    fix_task.get_by_role("button", name=re.compile("^Update the task")).click()
    expect(notice(page)).to_contain_text(f"Tell the customer about the fix for {problem_reference}")
    expect(fix_task).to_contain_text("Done")
    assert_accessible(page, "staff case after telling the customer of the fix")
    leave_case_page(page)

    email = email_about(smtp_server, SPIKE_EMAIL, f"An update on your complaint {told_reference}")
    text = email.get_body(preferencelist=("plain",)).get_content()
    customer_page.goto(re.search(re.escape(live_server) + r"/sign-in/\S+", text).group(0))
    expect(customer_page.get_by_text(f"Complaint {told_reference}")).to_be_visible()
    expect(customer_page.locator("#timeline")).to_contain_text(
        f"Dear {SPIKE_CUSTOMER}, we found the fault"
    )
    assert_accessible(customer_page, "portal case told of the fix")
    portal_html = customer_page.content()
    assert_no_learning_codes(portal_html)
    for internal in (problem_reference, "PR-", PROBLEM_DESCRIPTION,
                     "Tell the customer about the fix", "Digital products", "Riley"):
        assert internal not in portal_html, internal
    for sent in plain_texts(smtp_server, SPIKE_EMAIL):
        assert_no_learning_codes(sent)
        assert "PR-" not in sent and PROBLEM_DESCRIPTION not in sent

    # Every linked open case's owner had their task, and nobody else.
    db.session.expire_all()
    tasks = db.session.scalars(select(Task).where(Task.title.contains(problem_reference))).all()
    assert sorted((task.case.reference, task.assignee_id) for task in tasks) == sorted(
        (c_reference, owner_id) for c_reference, owner_id in spiked_owners
    )
    assert js_errors == []
