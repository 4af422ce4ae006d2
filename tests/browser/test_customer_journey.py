"""The customer's whole journey in a real browser, with axe-core on every page they see.

Guest complaint (with one mistake on the way) → confirmation → acknowledgement email over
SMTP → magic link → reply → resolution → rating → sign out.
"""

import os
import re
import time
from pathlib import Path

from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import Case
from shared.services import cases as case_actions
from tests import factories

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests then (fails them in CI)
    expect = None

AXE_RUN = "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
# Set to a folder to keep a full-page screenshot of every page checked (for a visual review).
SCREENSHOT_DIR = os.environ.get("BROWSER_SCREENSHOT_DIR")
EMAIL = "alex.carter@example.com"


def assert_accessible(page, name: str) -> None:
    """Run axe-core on the page: nothing serious or critical is allowed."""
    if SCREENSHOT_DIR:
        page.screenshot(path=Path(SCREENSHOT_DIR) / f"{name}.png", full_page=True)
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        origin = re.match(r"https?://[^/]+", page.url).group(0)
        page.add_script_tag(url=f"{origin}/__axe.js")
    violations = page.evaluate(AXE_RUN)
    findings = f"axe-core on the {name} page ({page.url}):\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}; "
        f"nodes: {[node['target'] for node in v['nodes']]}"
        for v in violations
    )
    if violations:
        print(findings)  # minor and moderate ones too, for whoever reads the output
    assert not [v for v in violations if v["impact"] in ("serious", "critical")], findings


def wait_for_email(smtp_server, recipient: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in smtp_server.messages:
            if recipient in received["envelope"].rcpt_tos:
                return received["message"]
        time.sleep(0.05)
    raise AssertionError(f"no email to {recipient} within {timeout} s")


def choose(page, option: str) -> None:
    """Choose a radio by its label, as people do: the label draws the radio they click."""
    page.locator("label").filter(has_text=re.compile(f"^{re.escape(option)}$")).click()
    expect(page.get_by_role("radio", name=option)).to_be_checked()


def fill_all_but_the_name(page) -> None:
    page.get_by_label("Your email address").fill(EMAIL)
    choose(page, "Delivery")
    page.get_by_label("What happened?").fill("The new front door arrived with a cracked panel.")
    page.get_by_label("What would put it right? (optional)").fill("Replace the door, please.")


def test_a_guest_complains_follows_the_emailed_link_replies_and_rates_the_resolution(
    page, live_server, org, smtp_server, tmp_path
):
    js_errors = []
    page.on("pageerror", lambda error: js_errors.append(error))

    page.goto(live_server)
    assert_accessible(page, "home")
    page.get_by_role("link", name="Make a complaint").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Make a complaint")
    assert_accessible(page, "complaint form")

    # One mistake: the name is missing. The summary takes focus; nothing typed is lost.
    fill_all_but_the_name(page)
    page.get_by_role("button", name="Send my complaint").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Enter your name")
    page.wait_for_function("() => document.activeElement.matches('.error-summary')")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.get_by_label("What happened?")).to_have_value(
        "The new front door arrived with a cracked panel."
    )
    expect(page.get_by_role("radio", name="Delivery")).to_be_checked()
    assert_accessible(page, "complaint form with errors")

    photo = tmp_path / "door.png"
    photo.write_bytes(factories.PNG_BYTES)
    page.get_by_label("Your name", exact=True).fill("Alex Carter")
    page.get_by_label("Attach files (optional)").set_input_files(photo)
    page.get_by_role("button", name="Send my complaint").click()

    # The confirmation: reference, the named owner, and dates in UK time.
    expect(page.get_by_role("heading", level=1)).to_have_text("We have received your complaint")
    reference = page.locator(".panel__reference").inner_text()
    assert re.fullmatch(r"AM-\d{6}", reference)
    owner_name = page.locator(".owner-card__name").inner_text()
    assert owner_name in (org.sam.name, org.priya.name)
    expect(page.locator(".timeframe__due").first).to_contain_text("UK time")
    assert_accessible(page, "confirmation")

    # The acknowledgement email, really sent over SMTP, carries a personal sign-in link.
    email = wait_for_email(smtp_server, EMAIL)
    assert reference in email["Subject"]
    text = email.get_body(preferencelist=("plain",)).get_content()
    link = re.search(re.escape(live_server) + r"/sign-in/\S+", text).group(0)

    page.goto(link)
    expect(page.get_by_text(f"Complaint {reference}")).to_be_visible()
    expect(page.locator(".owner-card__name")).to_have_text(owner_name)
    assert_accessible(page, "case")
    with page.expect_download() as download:
        page.get_by_role("link", name="door.png").click()
    assert Path(download.value.path()).read_bytes() == factories.PNG_BYTES

    page.get_by_label("Your message").fill("Thank you, here is more detail")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("status")).to_have_text("Thank you: your message has been sent.")
    expect(page.locator("#timeline")).to_contain_text("Thank you, here is more detail")
    assert_accessible(page, "case after a reply")

    # Staff put it right (through the service layer); the customer sees it and rates it.
    case = db.session.scalar(select(Case).where(Case.reference == reference))
    case_actions.resolve_case(case, actor=case.owner, resolution="We replaced the door.",
                              **factories.cause_and_outcome())
    services.commit()
    page.reload()
    thank_you = page.locator(".thank-you")
    expect(thank_you.get_by_role("heading", level=2)).to_have_text("Thank you, Alex")
    expect(thank_you).to_contain_text("We replaced the door.")
    assert_accessible(page, "case after resolution")

    choose(page, "5 Very well")
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Quick and kind.")
    page.get_by_role("button", name="Send my rating").click()
    expect(page.get_by_role("status")).to_have_text("Thank you for your rating.")
    expect(thank_you).to_contain_text("You rated how we handled this 5 out of 5")
    assert_accessible(page, "case after rating")
    db.session.expire_all()
    rated = db.session.scalar(select(Case).where(Case.reference == reference))
    assert (rated.rating, rated.rating_comment) == (5, "Quick and kind.")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.get_by_role("link", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow your complaint")
    assert_accessible(page, "sign-in")

    assert js_errors == []


def test_the_complaint_form_fits_a_phone_screen(phone_page, live_server, org):
    page = phone_page
    page.goto(f"{live_server}/complaints/new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("button", name="Send my complaint").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page, "complaint form with errors on a phone")


def test_a_complaint_can_be_made_with_javascript_turned_off(no_script_page, live_server, org):
    page = no_script_page
    page.goto(f"{live_server}/complaints/new")
    fill_all_but_the_name(page)
    page.get_by_role("button", name="Send my complaint").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter your name")
    expect(page.get_by_label("What happened?")).to_have_value(
        "The new front door arrived with a cracked panel."
    )

    page.get_by_label("Your name", exact=True).fill("Alex Carter")
    page.get_by_role("button", name="Send my complaint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("We have received your complaint")
    expect(page.locator(".panel__reference")).to_have_text(re.compile(r"^AM-\d{6}$"))
