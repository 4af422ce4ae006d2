"""What a first-time visitor notices before reading a word: a page wider than the phone, and
errors in the browser's console.

A customer may paste a long link into "What happened"; it must wrap, on their pages and on
the staff case page alike. Every case page loads without a console error or a refused
inline style, and the browser finds the site's icon.
"""

import re

from shared import services
from shared.services import cases as case_actions
from tests import factories

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests then (fails them in CI)
    expect = None

LONG_URL = "https://example.com/orders/" + "a1b2c3d4e5" * 28  # 306 characters, no break
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# Records what the page's Content Security Policy refused, before any script of the page runs.
CSP_WATCH = """
window.__refused = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__refused.push(event.violatedDirective + ' ' + (event.blockedURI || 'inline'));
});
"""


def long_text_case(org, customer):
    case = factories.case_owned_by(
        org.sam,
        org.delivery,
        customer=customer,
        description=f"The tracking page {LONG_URL} says delivered, but nothing came.",
        desired_outcome=f"Send it again; see {LONG_URL}",
    )
    case_actions.post_customer_reply(
        case, customer=customer, body=f"Here is the link again: {LONG_URL}", attachments=[]
    )
    services.commit()
    return case.reference


def customer_signs_in(page, live_server):
    page.goto(f"{live_server}/sign-in")
    page.get_by_role("textbox", name="Email address").fill("alex@example.com")
    page.get_by_role("textbox", name="Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My complaints")


def staff_signs_in(page, live_server):
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Work email address").fill("sam@example.com")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My open cases")


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def new_page(browser, **options):
    context = browser.new_context(**options)
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def test_a_long_link_wraps_on_a_phone_for_the_customer_and_for_staff(
    browser, live_server, org, customer
):
    reference = long_text_case(org, customer)
    customer_context, customer_page = new_page(browser, **PHONE)
    staff_context, staff_page = new_page(browser, **PHONE)
    try:
        customer_signs_in(customer_page, live_server)
        assert overflow(customer_page) <= 0, "My complaints is wider than the phone"
        customer_page.goto(f"{live_server}/cases/{reference}")
        expect(customer_page.locator("#timeline")).to_contain_text("Here is the link again")
        assert overflow(customer_page) <= 0, "the customer's case page is wider than the phone"

        staff_signs_in(staff_page, live_server)
        staff_page.goto(f"{live_server}/staff/cases/{reference}")
        expect(staff_page.locator("#staff-timeline")).to_contain_text("Here is the link again")
        assert overflow(staff_page) <= 0, "the staff case page is wider than the phone"
    finally:
        customer_context.close()
        staff_context.close()


def test_case_pages_load_without_console_errors_or_refused_styles(
    browser, live_server, org, customer
):
    reference = long_text_case(org, customer)
    context, page = new_page(browser)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        staff_signs_in(page, live_server)
        with page.expect_response(re.compile(r"/presence$")):
            page.goto(f"{live_server}/staff/cases/{reference}")
        page.get_by_label("Message").fill("Looking into it now.")  # typing reports presence
        with page.expect_response(re.compile(r"/presence$")):
            page.get_by_label("Message").press("End")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => window.__refused") == []
        assert errors == [], f"console errors on the staff case page: {errors}"
        context.clear_cookies()

        customer_signs_in(page, live_server)
        page.goto(f"{live_server}/cases/{reference}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => window.__refused") == []
        assert errors == [], f"console errors on the customer's case page: {errors}"

        icons = page.locator("link[rel=icon]").evaluate_all("links => links.map(l => l.href)")
        assert icons
        for icon in [*icons, f"{live_server}/favicon.ico"]:
            assert page.request.get(icon).ok, f"{icon} is not there"
    finally:
        context.close()
