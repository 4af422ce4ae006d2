"""Addresses of pages, and clients signed in as someone."""

from tests.support.signing_in import sign_in


def page_url(case, action=""):
    """The staff case page, or one of its actions."""
    return f"/staff/cases/{case.reference}" + (f"/{action}" if action else "")


def signed_in_client(app, user):
    """A browser of its own for `user`: two people can have pages open at once."""
    return sign_in(app.test_client(), user)
