"""An admin follows a customer's sign-in link from the Mailbox, in the same browser.

The portal and the back office keep their sign-ins in cookies of their own: the admin is
still signed in to the back office afterwards, and signing out of one leaves the other.
"""

from shared import services
from shared.services import accounts
from tests import factories

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests then (fails them in CI)
    expect = None


def test_an_admin_follows_a_customers_link_from_the_mailbox_and_stays_signed_in(
    page, live_server, org, customer
):
    accounts.request_sign_in_link(customer.email)
    services.commit()

    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email address").fill(org.admin.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=f"Sign out {org.admin.first_name}")).to_be_visible()

    page.get_by_role("link", name="Mailbox").click()
    page.get_by_role("link", name="Your link to sign in").click()
    page.get_by_role("link", name="/sign-in/").click()
    expect(page.get_by_role("heading", name="My complaints", level=1)).to_be_visible()

    page.goto(f"{live_server}/staff/")
    expect(page.get_by_role("button", name=f"Sign out {org.admin.first_name}")).to_be_visible()
    expect(page.get_by_text("You cannot open this page")).to_have_count(0)

    # Signing out of the portal leaves the back office signed in, and the other way round.
    page.goto(f"{live_server}/cases")
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()
    page.goto(f"{live_server}/staff/")
    expect(page.get_by_role("button", name=f"Sign out {org.admin.first_name}")).to_be_visible()
