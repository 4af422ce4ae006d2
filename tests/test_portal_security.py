"""Security of the portal: CSRF on every form, rate limits, headers, downloads, email links."""

import re

import pytest
from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import Attachment, OutgoingEmail
from shared.services import cases as case_actions
from shared.tokens import SET_PASSWORD, make_link_token
from tests import factories
from tests.support.html import csrf_token_of, text_of

CSRF_REFUSAL = "This form has expired"


def complaint(org, number=1):
    return {
        "name": "Alex Carter",
        "email": f"alex{number}@example.com",
        "category": str(org.delivery.id),
        "description": f"Parcel number {number} arrived crushed.",
    }


def attach(case, upload):
    case_actions.post_customer_reply(case, customer=case.customer, body="A file for you.",
                                     attachments=[upload])
    services.commit()


# --- CSRF ------------------------------------------------------------------------------------


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @pytest.fixture
    def real_values(self, app, org, case):
        """A real object for every URL argument, so that nothing is refused for being missing."""
        customer_without_password = factories.make_user("new@example.com", "Nia New", password=None)
        attach(case, factories.upload())
        stored = db.session.scalars(select(Attachment)).one()
        email = db.session.scalars(select(OutgoingEmail)).first()
        return {
            "reference": case.reference,
            "field_name": "email",
            "token": make_link_token(SET_PASSWORD, customer_without_password),
            "attachment_id": stored.id,
            "email_id": email.id,
            "case_id": case.id,
            # Coordination routes: the token is checked before the object is looked up.
            "option_id": 1,
            "commitment_id": 1,
            "task_id": 1,
            "reply_id": 1,
            # Admin routes (backoffice/admin.py): likewise.
            "team_id": 1,
            "member_id": 1,
            "area_id": 1,
            "cause_id": 1,
            "product_id": 1,
            "problem_id": 1,
            "redress_id": 1,
            "category_id": 1,
            "level_id": 1,
            "calendar_id": 1,
            "holiday_id": 1,
            "escalation_id": 1,
        }

    def post_rules(self, app):
        return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]

    def test_every_post_without_a_token_is_refused(self, app, client, login_as, case,
                                                   real_values):
        rules = self.post_rules(app)
        assert {"portal.raise_case", "portal.reply", "portal.rate", "portal.set_password",
                "backoffice.login"} <= {rule.endpoint for rule in rules}

        for rule in rules:
            missing = set(rule.arguments) - set(real_values)
            assert not missing, f"{rule.rule}: give the test a real value for {missing}"
            path = rule.build({name: real_values[name] for name in rule.arguments})[1]
            # Signed in as whoever the page is for, so that only the missing token can refuse.
            login_as(case.owner if rule.endpoint.startswith("backoffice.") else case.customer)

            response = client.post(path, data={"body": "Hello", "rating": "5"})

            assert response.status_code == 400, rule.rule
            assert CSRF_REFUSAL in text_of(response), rule.rule

    def test_a_wrong_token_is_refused(self, client, login_as, case):
        login_as(case.customer)

        response = client.post(f"/cases/{case.reference}/reply",
                               data={"body": "Hello", "csrf_token": "forged"})

        assert response.status_code == 400
        assert CSRF_REFUSAL in text_of(response)

    def test_the_token_from_the_form_is_accepted(self, client, org):
        token = csrf_token_of(client.get("/complaints/new").get_data(as_text=True))

        response = client.post("/complaints/new", data={**complaint(org), "csrf_token": token})

        assert response.status_code == 302

    def test_the_inline_check_sends_the_page_token(self, client, org):
        page = client.get("/complaints/new")
        token = csrf_token_of(page.get_data(as_text=True))

        response = client.post("/complaints/new/check/email",
                               data={"email": "bad", "csrf_token": token},
                               headers={"HX-Request": "true"})

        assert 'hx-include="[name=csrf_token]"' in page.get_data(as_text=True)
        assert response.status_code == 200
        assert "Enter an email address like name@example.com" in text_of(response)


# --- Rate limits -----------------------------------------------------------------------------


class TestRateLimits:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True}

    def test_sixth_complaint_within_a_minute_is_refused(self, client, org):
        statuses = [client.post("/complaints/new", data=complaint(org, n)).status_code
                    for n in range(1, 7)]

        assert statuses == [302] * 5 + [429]
        assert "Please wait a moment" in text_of(client.post("/complaints/new",
                                                             data=complaint(org, 7)))

    def test_complaints_refused_for_mistakes_do_not_count(self, client, org):
        for _ in range(6):
            assert client.post("/complaints/new", data={"name": "Alex"}).status_code == 422

        assert client.post("/complaints/new", data=complaint(org)).status_code == 302

    def test_sixth_failed_sign_in_is_refused(self, client, customer):
        wrong = {"email": "alex@example.com", "password": "not my password"}
        statuses = [client.post("/sign-in", data=wrong).status_code for _ in range(6)]

        assert statuses == [422] * 5 + [429]
        right = {"email": "alex@example.com", "password": factories.PASSWORD}
        assert client.post("/sign-in", data=right).status_code == 429

    def test_successful_sign_ins_do_not_count(self, client, customer):
        right = {"email": "alex@example.com", "password": factories.PASSWORD}
        for _ in range(6):
            assert client.post("/sign-in", data=right).status_code == 302
            client.post("/sign-out")


# --- Headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/complaints/new", "/sign-in", "/no-such-page", "case"])
def test_security_headers_are_set(client, login_as, case, path):
    login_as(case.customer)

    response = client.get(f"/cases/{case.reference}" if path == "case" else path)

    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")


@pytest.mark.parametrize("path", ["/", "/complaints/new", "/sign-in", "case"])
def test_pages_need_no_inline_script_or_style(client, login_as, case, path):
    """The strict policy would block them, so there must be none."""
    login_as(case.customer)

    html = client.get(f"/cases/{case.reference}" if path == "case" else path).get_data(
        as_text=True)

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_attachment_is_downloaded_as_a_file_in_a_sandbox(client, login_as, case):
    attach(case, factories.upload("notes.txt", b"<script>alert(1)</script>", "text/html"))
    attachment = db.session.scalars(select(Attachment)).one()
    login_as(case.customer)

    with client.get(f"/cases/{case.reference}/files/{attachment.id}") as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "notes.txt" in response.headers["Content-Disposition"]
        assert response.mimetype == "text/plain"
        csp = response.headers["Content-Security-Policy"]
        assert "sandbox" in csp
        assert "default-src 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_attachment_of_someone_elses_case_is_not_found(client, login_as, org, case):
    attach(case, factories.upload())
    other = factories.make_customer("blake@example.com", "Blake Moss")
    db.session.commit()
    attachment = db.session.scalars(select(Attachment)).one()
    login_as(other)

    assert client.get(f"/cases/{case.reference}/files/{attachment.id}").status_code == 404


# --- Links in emails -------------------------------------------------------------------------


class TestLinksInEmails:
    PUBLIC = "https://complaints.amends.example"
    FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}

    @pytest.fixture
    def app_config(self):
        return {"PUBLIC_BASE_URL": self.PUBLIC}

    def links_in(self, kind):
        message = db.session.scalars(
            select(OutgoingEmail).where(OutgoingEmail.kind == kind)).one()
        return re.findall(r"https?://\S+", message.text_body + message.html_body)

    def test_acknowledgement_links_ignore_a_forged_host(self, client, org):
        response = client.post("/complaints/new", data=complaint(org), headers=self.FORGED)

        assert response.status_code == 302
        links = self.links_in("case_received")
        assert any(link.startswith(f"{self.PUBLIC}/sign-in/") for link in links)
        assert not any("evil.example" in link for link in links)

    @pytest.mark.parametrize(
        ("path", "kind"), [("/sign-in/link", "sign_in_link"), ("/account/new", "set_password")]
    )
    def test_account_links_ignore_a_forged_host(self, client, customer, path, kind):
        client.post(path, data={"name": "Alex", "email": "alex@example.com"},
                    headers=self.FORGED)

        links = self.links_in(kind)
        assert links
        assert all(link.startswith(f"{self.PUBLIC}/") for link in links)
        assert not any("evil.example" in link for link in links)
