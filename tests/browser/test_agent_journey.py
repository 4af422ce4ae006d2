"""The agent's journey in a real browser, with the customer in a second browser beside them.

A new case → acknowledged → an update and an internal note → "what we understand" sent to
confirm → a task for Billing and a promise, each with a due time → two remedies offered; the
customer confirms the wording and chooses the second remedy in the portal, and never sees the
note or the task → the promise is kept → resolved, and the customer reads the resolution.
Every staff step goes through the pages; only the starting case is made through a service.
"""

import re
from datetime import datetime, timedelta

from shared import services
from shared.services import cases as case_actions
from shared.services.delivery import background_sender
from tests import factories
from tests.browser.test_customer_journey import assert_accessible

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests then (fails them in CI)
    expect = None

EMAIL = "dana.price@example.com"
UPDATE = "We have found your order and are looking into the damage today."
NOTE = "Warehouse camera shows the parcel dropped at loading bay 4."
UNDERSTANDING = "Your parcel arrived crushed and the kettle inside is broken; you want a new one."
TASK = "Refund the delivery charge"
PROMISE = "call you with the courier's findings"
OPTIONS = ("A full refund of £42.50", "A replacement kettle sent by next-day delivery")
RESOLUTION = "We sent a replacement kettle by next-day delivery and refunded the delivery charge."


def open_details(page, summary: str) -> None:
    """Open a folded section as a person does: by clicking its summary."""
    page.locator("summary").filter(has_text=re.compile(f"^{re.escape(summary)}")).click()


def pick(page, option: str) -> None:
    """Choose a radio by clicking its label, as people do (the label draws the radio)."""
    page.locator("label").filter(has_text=re.compile(f"^{re.escape(option)}$")).click()
    expect(page.get_by_role("radio", name=option, exact=True)).to_be_checked()


def item(page, section: str, text: str):
    """One task, promise or remedy in a section of the staff case page."""
    return page.locator(f"#{section} .coordination__item").filter(has_text=text)


def notice(page):
    return page.locator(".notice[role=status]")


def five_pm_in(days: int, zone) -> datetime:
    """A due time some days ahead, on the wall clock of the case's calendar."""
    return (datetime.now(zone) + timedelta(days=days)).replace(hour=17, minute=0)


def as_typed(moment: datetime) -> str:
    """What a datetime-local input takes."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def as_shown_to_staff(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}, 17:00"


def as_shown_to_customers(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B}, 17:00 UK time"


def plain_texts(smtp_server, recipient: str) -> list[str]:
    """The plain-text bodies of every email sent to `recipient` so far."""
    background_sender().wait_until_idle()
    return [
        received["message"].get_body(preferencelist=("plain",)).get_content()
        for received in smtp_server.messages
        if recipient in received["envelope"].rcpt_tos
    ]


def email_about(smtp_server, recipient: str, subject_start: str):
    """The email to `recipient` whose subject starts so. Mail goes out in the background
    after the page that sent it answers: what was handed on so far is waited for first."""
    background_sender().wait_until_idle()
    for received in smtp_server.messages:
        message = received["message"]
        if recipient in received["envelope"].rcpt_tos and message["Subject"].startswith(
            subject_start
        ):
            return message
    raise AssertionError(f"no email to {recipient} about “{subject_start}…”")


def test_an_agent_takes_a_case_from_new_to_resolved_while_the_customer_follows_in_the_portal(
    page, second_page, live_server, org, smtp_server
):
    case = case_actions.raise_case(
        name="Dana Price",
        email=EMAIL,
        description="My parcel arrived crushed and the kettle inside is broken.",
        desired_outcome="A new kettle, please.",
        category=org.delivery,
    )
    cause = factories.a_root_cause("Parcel crushed in transit")
    services.commit()
    # Read now what the journey needs, so the test's own session stays out of the way.
    reference, summary, agent_email = case.reference, case.summary, case.owner.email
    zone, billing_email = case.category.service_level.calendar.zone, org.jo.email
    cause_name = cause.name
    customer_page = second_page
    js_errors = []
    page.on("pageerror", lambda error: js_errors.append(error))
    customer_page.on("pageerror", lambda error: js_errors.append(error))

    # 1. The agent signs in; their queue shows the new case; they open it and acknowledge it.
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Work email address").fill(agent_email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My open cases")
    expect(page.get_by_role("row").filter(has_text=reference)).to_contain_text("Dana Price")
    assert_accessible(page, "staff queue")
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(summary)
    page.get_by_role("button", name="Acknowledge (the customer sees this)").click()
    expect(notice(page)).to_have_text("Acknowledged. The customer sees this in the portal.")
    timeline = page.locator("#staff-timeline")
    expect(timeline).to_contain_text("acknowledged your complaint")

    # 2. A public update, then an internal note that looks unmistakably internal.
    page.get_by_label("Your message").fill(UPDATE)
    page.get_by_role("button", name="Send update to customer").click()
    expect(notice(page)).to_have_text("Update sent to Dana Price.")
    update_event = timeline.locator(".timeline__event").filter(has_text=UPDATE)
    expect(update_event).to_contain_text("Visible to the customer")

    pick(page, "Internal note")
    page.get_by_label("Your message").fill(NOTE)
    page.get_by_role("button", name="Add internal note").click()
    expect(notice(page)).to_have_text("Internal note added. The customer cannot see it.")
    note_event = timeline.locator(".timeline__event").filter(has_text=NOTE)
    expect(note_event).to_have_class(re.compile(r"\btimeline__event--internal\b"))
    expect(note_event).to_contain_text("Internal note — not visible to the customer")
    expect(note_event).to_have_css("border-top-style", "dashed")

    # 3. What we understand, sent to the customer to confirm.
    open_details(page, "Write what we understand")
    page.get_by_role("textbox", name="What we understand", exact=True).fill(UNDERSTANDING)
    page.get_by_role("button", name="Send to the customer to confirm").click()
    expect(notice(page)).to_have_text("Sent to the customer to confirm.")
    understanding = page.locator("#understanding")
    expect(understanding).to_contain_text("Waiting for the customer to confirm")

    # 4. A task for the Billing team and a promise to the customer, each with a due time.
    open_details(page, "Give someone a task")
    page.get_by_role("textbox", name="Task", exact=True).fill(TASK)
    page.get_by_label("Details (optional)").fill("Order 5531, delivery charge £4.99.")
    page.get_by_label("Team", exact=True).select_option(label="Billing")
    task_due = five_pm_in(2, zone)
    page.get_by_label("Due by").fill(as_typed(task_due))
    page.get_by_role("button", name="Give the task (they are emailed)").click()
    expect(notice(page)).to_contain_text("Task given")
    expect(item(page, "tasks", TASK)).to_contain_text(
        f"For the Billing team · due {as_shown_to_staff(task_due)}"
    )

    open_details(page, "Record a promise")
    page.get_by_label("What did you promise?").fill(PROMISE)
    promise_due = five_pm_in(3, zone)
    page.get_by_label("By when?").fill(as_typed(promise_due))
    page.get_by_role("button", name="Record the promise (the customer sees it)").click()
    expect(notice(page)).to_have_text("Promise recorded: the customer can see it.")
    expect(item(page, "commitments", PROMISE)).to_contain_text(
        f"By {as_shown_to_staff(promise_due)} UK time Open"
    )

    # 5. Two ways to put it right.
    open_details(page, "Offer ways to put it right")
    page.get_by_label("Option 1", exact=True).fill(OPTIONS[0])
    page.get_by_label("Option 2 (optional)").fill(OPTIONS[1])
    page.get_by_role("button", name="Offer these to the customer").click()
    expect(notice(page)).to_contain_text("Offered to the customer")
    for option in OPTIONS:
        expect(item(page, "options", option)).to_contain_text("Waiting for the customer's choice")
    # axe-core skips what is folded away: unfold every section so that its forms are checked.
    folded = page.locator("details:not([open]) > summary")
    while folded.count():
        folded.first.click()
    assert_accessible(page, "staff case, every section unfolded")

    # 6. The customer follows the link in the "have we understood" email, sees every public
    #    step, never the note or the task, confirms the wording and chooses the second remedy.
    email = email_about(smtp_server, EMAIL, "Have we understood")
    text = email.get_body(preferencelist=("plain",)).get_content()
    customer_page.goto(re.search(re.escape(live_server) + r"/sign-in/\S+", text).group(0))
    expect(customer_page.get_by_text(f"Complaint {reference}")).to_be_visible()
    expect(customer_page.locator("#timeline")).to_contain_text("acknowledged your complaint")
    expect(customer_page.locator("#timeline")).to_contain_text(UPDATE)
    expect(customer_page.locator("#understanding blockquote")).to_have_text(UNDERSTANDING)
    expect(customer_page.locator("#promises")).to_contain_text(
        f"We promised: {PROMISE} by {as_shown_to_customers(promise_due)}"
    )
    for option in OPTIONS:
        expect(customer_page.get_by_role("radio", name=option)).to_be_visible()
    portal_html = customer_page.content()
    assert NOTE not in portal_html
    assert TASK not in portal_html and "Billing team" not in portal_html

    customer_page.get_by_role("button", name="Yes, that's right").click()
    expect(notice(customer_page)).to_have_text(
        "Thank you for confirming. We will keep working on exactly that."
    )
    expect(customer_page.locator("#understanding")).to_contain_text("You confirmed this is right")
    pick(customer_page, OPTIONS[1])
    customer_page.get_by_role("button", name="Choose this way").click()
    expect(notice(customer_page)).to_contain_text("Thank you for choosing.")
    expect(customer_page.locator("#options")).to_contain_text(f"You chose {OPTIONS[1]}")

    # 7. The agent sees both answers, keeps the promise and resolves the case.
    page.reload()
    expect(understanding).to_contain_text("Confirmed by the customer")
    expect(item(page, "options", OPTIONS[1])).to_contain_text("Chosen by the customer")
    open_details(page, "Mark kept or broken")
    # Scoped: the resolve form asks about the same promise with the same words.
    commitments = page.locator("#commitments")
    commitments.locator("label").filter(has_text=re.compile("^Kept$")).click()
    expect(commitments.get_by_role("radio", name="Kept", exact=True)).to_be_checked()
    page.get_by_label("Note for the customer (optional)").fill("We called with the findings.")
    page.get_by_role("button", name="Record it and tell the customer").click()
    expect(notice(page)).to_have_text("Recorded: the customer can see it on their timeline.")
    expect(item(page, "commitments", PROMISE)).to_contain_text("Kept")

    open_details(page, "Resolve")
    page.get_by_label("What was done to put it right?").fill(RESOLUTION)
    pick(page, "Upheld")
    page.get_by_label("What caused it?").select_option(label=cause_name)
    # Billing's task is still open: resolving asks what happens to it.
    resolving = page.locator(".resolve-open-work")
    expect(resolving).to_contain_text("Still open: 1 task")
    resolving.locator("label").filter(has_text=re.compile("^Done$")).click()
    resolving.get_by_label("What was done, or why it is cancelled").fill("Refunded by Billing.")
    page.get_by_role("button", name="Resolve and tell the customer").click()
    expect(notice(page)).to_have_text(
        "Resolved. Dana Price has been thanked and told what was done."
    )
    expect(page.locator(".case-header")).to_contain_text("resolved")
    assert_accessible(page, "staff case after resolution")

    # 8. The customer reads the thank-you with what was done.
    customer_page.reload()
    thank_you = customer_page.locator(".thank-you")
    expect(thank_you.get_by_role("heading", level=2)).to_have_text("Thank you, Dana")
    expect(thank_you).to_contain_text(RESOLUTION)
    expect(customer_page.locator("#timeline")).to_contain_text(f"We kept our promise: {PROMISE}")
    expect(customer_page.locator("#timeline")).to_contain_text("We called with the findings.")
    assert NOTE not in customer_page.content()

    # By email too: the customer had the update and never the note; Billing had the task.
    to_customer = plain_texts(smtp_server, EMAIL)
    assert any(UPDATE in text for text in to_customer)
    assert not any(NOTE in text or TASK in text for text in to_customer)
    assert any(TASK in text for text in plain_texts(smtp_server, billing_email))

    assert js_errors == []
