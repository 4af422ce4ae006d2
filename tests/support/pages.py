"""Addresses of pages, and clients signed in as someone."""


def page_url(case, action=""):
    """The staff case page, or one of its actions."""
    return f"/staff/cases/{case.reference}" + (f"/{action}" if action else "")


def signed_in_client(app, user):
    """A browser of its own for `user`: two people can have pages open at once."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    return client
