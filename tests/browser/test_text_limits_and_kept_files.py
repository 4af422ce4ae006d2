"""In a real browser: the character counter, the file size check before sending, and a file
kept for the retry after the complaint form came back with an error."""

import re

import pytest
from sqlalchemy import select

from shared.extensions import db
from shared.models import Attachment, Case
from tests import factories

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests then (fails them in CI)
    expect = None

MEGABYTE = 1024 * 1024


@pytest.fixture
def app_config(app_config):
    # A small limit, so the browser is handed a file over it without megabytes of test data.
    return {**app_config, "MAX_ATTACHMENT_BYTES": MEGABYTE}


@pytest.fixture
def js_errors(page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A form sent back answers 422, which the console reports; that is not a script error.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 422" not in m.text else None
        ),
    )
    return errors


def choose(page, option: str) -> None:
    page.locator("label").filter(has_text=re.compile(f"^{re.escape(option)}$")).click()


def test_the_counter_shows_what_is_left_and_speaks_only_near_the_limit(
    page, live_server, org, js_errors
):
    page.goto(f"{live_server}/complaints/new")
    what_happened = page.get_by_label("What happened?")
    counter = page.locator("#description-count")
    spoken = page.locator("#description-count-status")
    expect(counter).to_have_text("You can enter up to 10,000 characters")

    what_happened.fill("The parcel was left in the rain.")
    expect(counter).to_have_text("You have 9,968 characters remaining")
    page.wait_for_timeout(1200)  # past the pause after which the count is spoken
    expect(spoken).to_have_text("")

    what_happened.fill("x" * 9_995)
    expect(counter).to_have_text("You have 5 characters remaining")
    expect(spoken).to_have_text("You have 5 characters remaining")

    what_happened.fill("x" * 10_002)  # nothing stops or cuts the text: the counter says so
    expect(counter).to_have_text("You have 2 characters too many")
    expect(counter).to_have_class(re.compile("char-count--over"))
    assert len(what_happened.input_value()) == 10_002
    assert js_errors == []


def test_a_file_over_the_limit_is_named_before_sending_and_nothing_is_cleared(
    page, live_server, org, js_errors
):
    page.goto(f"{live_server}/complaints/new")
    page.get_by_label("Your name", exact=True).fill("Alex Carter")
    page.get_by_label("What happened?").fill("The door arrived cracked.")
    page.get_by_label("Attach files (optional)").set_input_files(
        [
            {
                "name": "video.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.7\n" + b"0" * (2 * MEGABYTE),
            }
        ]
    )
    warning = page.locator("#attachments-too-large")
    expect(warning).to_have_text(re.compile("“video.pdf” is larger than 1 MB"))

    page.get_by_role("button", name="Send my complaint").click()

    expect(warning).to_be_visible()
    assert page.url == f"{live_server}/complaints/new"  # not sent
    expect(page.get_by_label("What happened?")).to_have_value("The door arrived cracked.")
    expect(page.get_by_label("Your name", exact=True)).to_have_value("Alex Carter")
    assert js_errors == []


def test_a_chosen_file_is_kept_when_the_form_comes_back_and_goes_with_the_retry(
    page, live_server, org, js_errors
):
    page.goto(f"{live_server}/complaints/new")
    page.get_by_label("Your email address").fill("alex.carter@example.com")
    choose(page, "Delivery")
    page.get_by_label("What happened?").fill("The new front door arrived with a cracked panel.")
    page.get_by_label("Attach files (optional)").set_input_files(
        [{"name": "door.png", "mimeType": "image/png", "buffer": factories.PNG_BYTES}]
    )
    page.get_by_role("button", name="Send my complaint").click()  # the name is missing

    expect(page.locator(".error-summary")).to_contain_text("Enter your name")
    expect(page.get_by_role("group", name="Already attached")).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile("door.png"))).to_be_checked()

    page.get_by_label("Your name", exact=True).fill("Alex Carter")
    page.get_by_role("button", name="Send my complaint").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("We have received your complaint")
    case = db.session.scalars(select(Case)).one()
    [attachment] = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id))
    assert attachment.original_name == "door.png"
    assert js_errors == []
