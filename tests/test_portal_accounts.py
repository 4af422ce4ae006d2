"""Customer accounts: sign-in links, registering, setting a password and signing in."""

import re
import time

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import OutgoingEmail, User
from shared.services.cases import sign_in_url_for
from shared.tokens import SET_PASSWORD, SIGN_IN, make_link_token
from tests import factories
from tests.support.html import error_summary, text_of

BASE = "http://localhost"
NEW_PASSWORD = "purple kettle on a bicycle"
WRONG_CREDENTIALS = "That email address and password do not match our records."


def path_of(link: str) -> str:
    assert link.startswith(BASE + "/"), link
    return link.removeprefix(BASE)


def link_in_email(kind: str, recipient: str) -> str:
    message = db.session.scalars(
        select(OutgoingEmail)
        .where(OutgoingEmail.kind == kind, OutgoingEmail.recipient == recipient)
        .order_by(OutgoingEmail.id.desc())
    ).first()
    assert message is not None, f"no {kind} email to {recipient}"
    return path_of(re.search(r"http://\S+", message.text_body).group(0))


def signed_in_user_sees_my_cases(client) -> bool:
    return client.get("/cases").status_code == 200


def token_made_days_ago(monkeypatch, user, days, case=None, purpose=SIGN_IN):
    stamp = int(time.time()) - days * 24 * 3600
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: stamp)
        return make_link_token(purpose, user, case.reference if case else None)


# --- Sign-in links ---------------------------------------------------------------------------


def test_sign_in_link_signs_the_customer_in_and_opens_the_case(client, case):
    link = path_of(sign_in_url_for(case.customer, case))

    response = client.get(link)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.reference}"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert case.reference in page.get_data(as_text=True)
    db.session.refresh(case.customer)
    assert case.customer.email_verified_at is not None


def test_sign_in_link_without_a_case_opens_my_complaints(client, case):
    response = client.get(path_of(sign_in_url_for(case.customer)))

    assert response.headers["Location"] == "/cases"
    assert case.reference in client.get("/cases").get_data(as_text=True)


def test_tampered_sign_in_link_is_refused(client, case):
    link = path_of(sign_in_url_for(case.customer, case))
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")

    response = client.get(tampered)

    assert response.status_code == 400
    assert "This link is not valid" in text_of(response)
    assert not signed_in_user_sees_my_cases(client)


def test_expired_sign_in_link_is_gone_and_offers_a_new_one(client, case, monkeypatch):
    token = token_made_days_ago(monkeypatch, case.customer, 15, case)

    response = client.get(f"/sign-in/{token}")

    assert response.status_code == 410
    html = text_of(response)
    assert "This link has expired" in html
    assert 'action="/sign-in/link"' in html
    assert "Email me a new link" in html
    assert not signed_in_user_sees_my_cases(client)


def test_sign_in_link_still_works_near_the_end_of_its_life(client, case, monkeypatch):
    token = token_made_days_ago(monkeypatch, case.customer, 13, case)

    assert client.get(f"/sign-in/{token}").status_code == 302
    assert signed_in_user_sees_my_cases(client)


class TestLinksThatLastNoTime:
    @pytest.fixture
    def app_config(self):
        return {"MAGIC_LINK_MAX_AGE_DAYS": 0}

    def test_a_second_old_link_has_expired(self, client, case, monkeypatch):
        token = token_made_days_ago(monkeypatch, case.customer, 0, case)
        # One second later, as the link is followed.
        now = int(time.time()) + 1
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now)

        response = client.get(f"/sign-in/{token}")

        assert response.status_code == 410


def test_staff_members_sign_in_link_is_refused(client, org):
    response = client.get(path_of(sign_in_url_for(org.sam)))

    assert response.status_code == 400
    assert client.get("/staff/").status_code == 302  # not signed in as Sam either


def test_deactivated_customers_sign_in_link_is_refused(client, case):
    link = path_of(sign_in_url_for(case.customer, case))
    case.customer.active = False
    db.session.commit()

    assert client.get(link).status_code == 400
    assert not signed_in_user_sees_my_cases(client)


@pytest.mark.parametrize("path", ["/sign-in/link", "/account/new"])
def test_link_requests_give_the_same_page_for_known_and_unknown_addresses(client, customer,
                                                                          path):
    known = client.post(path, data={"name": "Alex Carter", "email": "alex@example.com"})
    unknown = client.post(path, data={"name": "Nobody", "email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert "Check your email" in text_of(known)
    assert (text_of(known).replace("alex@example.com", "ADDRESS")
            == text_of(unknown).replace("nobody@example.com", "ADDRESS"))


def test_sign_in_link_is_emailed_only_to_a_known_customer(client, customer, org):
    for address in ("alex@example.com", "nobody@example.com", "sam@example.com"):
        client.post("/sign-in/link", data={"email": address})

    recipients = db.session.scalars(select(OutgoingEmail.recipient)).all()
    assert recipients == ["alex@example.com"]
    link = link_in_email("sign_in_link", "alex@example.com")
    assert client.get(link).headers["Location"] == "/cases"


def test_registering_with_a_staff_address_sends_nothing(client, org):
    response = client.post("/account/new", data={"name": "Sam", "email": "sam@example.com"})

    assert response.status_code == 200
    assert db.session.scalars(select(OutgoingEmail)).all() == []


# --- Registering and choosing a password -----------------------------------------------------


def register(client, email="casey@example.com", name="Casey Jones") -> str:
    response = client.post("/account/new", data={"name": name, "email": email})
    assert response.status_code == 200
    return link_in_email("set_password", email)


def choose_password(client, link, password=NEW_PASSWORD, confirm=None):
    return client.post(link, data={"password": password, "confirm": confirm or password})


def test_register_then_set_password_shows_cases_raised_as_a_guest(client, org):
    guest_case = factories.raise_case(org.delivery, email="casey@example.com", name="Casey Jones")
    services.commit()

    link = register(client)
    form = client.get(link)
    response = choose_password(client, link)

    assert form.status_code == 200
    assert "For casey@example.com." in text_of(form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/cases"
    cases_page = text_of(client.get("/cases"))
    assert "Your password is set. You are signed in." in cases_page
    assert guest_case.reference in cases_page
    user = User.by_email("casey@example.com")
    assert user.check_password(NEW_PASSWORD)
    assert user.email_verified_at is not None


def test_set_password_link_works_only_once(client, org):
    link = register(client)
    choose_password(client, link)
    client.post("/sign-out")

    again = client.get(link)
    reuse = choose_password(client, link, password="another long password")

    assert again.status_code == 400
    assert "This link has already been used" in text_of(again)
    assert reuse.status_code == 400
    assert User.by_email("casey@example.com").check_password(NEW_PASSWORD)


def test_set_password_refuses_mismatched_or_short_passwords(client, org):
    link = register(client)

    mismatch = choose_password(client, link, confirm="something else entirely")
    short = choose_password(client, link, password="short")

    assert mismatch.status_code == 422
    assert "The two passwords do not match" in error_summary(text_of(mismatch))
    assert short.status_code == 422
    assert "Use at least 12 characters" in error_summary(text_of(short))
    assert not User.by_email("casey@example.com").has_password


def test_set_password_link_expires_after_a_day(client, customer, monkeypatch):
    token = token_made_days_ago(monkeypatch, customer, 2, purpose=SET_PASSWORD)

    response = client.get(f"/account/password/{token}")

    assert response.status_code == 410
    assert "This link has expired" in text_of(response)


def test_tampered_set_password_link_is_refused(client, org):
    link = register(client)

    assert client.get(link + "x").status_code == 400


# --- Signing in with a password --------------------------------------------------------------


def sign_in(client, email, password, query=""):
    return client.post(f"/sign-in{query}", data={"email": email, "password": password})


def test_customer_signs_in_with_a_password(client, customer):
    response = sign_in(client, "Alex@Example.com", factories.PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/cases"
    assert signed_in_user_sees_my_cases(client)


def test_wrong_password_gets_a_generic_message(client, customer):
    wrong_password = sign_in(client, "alex@example.com", "not my password")
    unknown_address = sign_in(client, "nobody@example.com", "not my password")

    assert wrong_password.status_code == unknown_address.status_code == 422
    assert WRONG_CREDENTIALS in error_summary(text_of(wrong_password))
    assert WRONG_CREDENTIALS in error_summary(text_of(unknown_address))
    assert not signed_in_user_sees_my_cases(client)


def test_staff_cannot_sign_in_through_the_portal(client, org):
    response = sign_in(client, "sam@example.com", factories.PASSWORD)

    assert response.status_code == 422
    assert WRONG_CREDENTIALS in error_summary(text_of(response))
    assert client.get("/staff/").status_code == 302


def test_sign_in_returns_to_a_page_on_this_site(client, case):
    response = sign_in(client, "alex@example.com", factories.PASSWORD,
                       f"?next=/cases/{case.reference}")

    assert response.headers["Location"] == f"/cases/{case.reference}"


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
     "/\n/evil.example", "evil.example"],
)
def test_sign_in_never_redirects_to_another_site(client, customer, target):
    response = client.post("/sign-in", query_string={"next": target},
                           data={"email": "alex@example.com", "password": factories.PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/cases"


def test_sign_out_ends_the_session(client, customer):
    sign_in(client, "alex@example.com", factories.PASSWORD)

    response = client.post("/sign-out")

    assert response.headers["Location"] == "/"
    assert not signed_in_user_sees_my_cases(client)
