"""Raising a complaint through the portal: the form, its checks, and the confirmation page."""

import io
import re

import pytest
from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import Attachment, Case, EventKind, TimelineEvent
from tests import factories
from tests.support.html import (
    error_summary,
    field_block,
    text_of,
    textarea_text,
)

DESCRIPTION = "The courier left my parcel in the rain and the box was soaked through."


def complaint(org, **changes):
    data = {
        "name": "Alex Carter",
        "email": "alex@example.com",
        "category": str(org.delivery.id),
        "description": DESCRIPTION,
        "desired_outcome": "A replacement, please.",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def only_case() -> Case:
    return db.session.scalars(select(Case)).one()


def test_form_shows_labels_and_the_categories(client, org):
    response = client.get("/complaints/new")

    assert response.status_code == 200
    html = text_of(response)
    for label in ("Your name", "Your email address", "What is your complaint about?",
                  "What happened?", "Attach files (optional)"):
        assert label in html
    for category in (org.delivery, org.bills, org.other):
        assert f'value="{category.id}"' in html
        assert category.name in html


def test_valid_complaint_redirects_to_the_confirmation_page(client, org):
    response = client.post("/complaints/new", data=complaint(org))

    case = only_case()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/complaints/{case.reference}/received"

    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    html = text_of(page)
    assert case.reference in html
    assert case.owner.name in html
    assert html.count("UK time") >= 3
    assert "Full reply by" in html and "Put right by" in html


def test_case_goes_to_the_least_loaded_agent_of_the_category_team(client, org):
    factories.raise_case(org.delivery, email="first@example.com")  # goes to Sam (tie, lowest id)
    services.commit()

    client.post("/complaints/new", data=complaint(org))

    case = db.session.scalars(select(Case).where(Case.contact_email == "alex@example.com")).one()
    assert case.owner == org.priya
    assert case.team == org.care


def test_billing_complaint_goes_to_the_billing_team(client, org):
    client.post("/complaints/new", data=complaint(org, category=str(org.bills.id)))

    case = only_case()
    assert case.owner == org.jo
    assert case.team == org.billing


def test_new_case_has_created_and_assigned_events(client, org):
    client.post("/complaints/new", data=complaint(org))

    case = only_case()
    kinds = [event.kind for event in case.events]
    assert kinds[:2] == [EventKind.CREATED, EventKind.ASSIGNED]
    assert case.events[0].body == DESCRIPTION
    assert case.owner.name in case.events[1].body
    assert case.customer.email == "alex@example.com"
    assert case.desired_outcome == "A replacement, please."


def test_attachment_is_stored_and_the_owner_customer_can_download_it(client, org, login_as):
    data = complaint(org, attachments=(io.BytesIO(factories.PNG_BYTES), "photo.png"))

    response = client.post("/complaints/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 302
    case = only_case()
    attachment = db.session.scalars(select(Attachment)).one()
    assert attachment.case_id == case.id
    assert attachment.original_name == "photo.png"
    assert attachment.event.kind == EventKind.CREATED

    login_as(case.customer)
    page = client.get(f"/cases/{case.reference}")
    assert f"/cases/{case.reference}/files/{attachment.id}" in page.get_data(as_text=True)
    with client.get(f"/cases/{case.reference}/files/{attachment.id}") as download:
        assert download.status_code == 200
        assert download.data == factories.PNG_BYTES
        assert download.mimetype == "image/png"


@pytest.mark.parametrize(
    ("missing", "field_id", "message"),
    [
        ("name", "name", "Enter your name"),
        ("email", "email", "Enter your email address"),
        ("description", "description", "Enter what happened"),
        ("category", "category", "Choose what your complaint is about"),
    ],
)
def test_missing_required_field_is_refused_beside_the_field(client, org, missing, field_id,
                                                             message):
    response = client.post("/complaints/new", data=complaint(org, **{missing: None}))

    assert response.status_code == 422
    html = text_of(response)
    anchor = "category-0" if missing == "category" else field_id  # radios: the first one
    assert f'<a href="#{anchor}">{message}</a>' in error_summary(html)
    assert message in field_block(html, field_id)
    if missing != "description":
        assert textarea_text(html, "description") == DESCRIPTION
    assert db.session.scalars(select(Case)).first() is None


def test_bad_email_is_refused_and_everything_typed_is_kept(client, org):
    data = complaint(org, email="alex-at-example", external_reference="ORD-4411",
                     on_behalf_of="Pat Carter", representative_relationship="relative")

    response = client.post("/complaints/new", data=data)

    assert response.status_code == 422
    html = text_of(response)
    assert "Enter an email address like name@example.com" in error_summary(html)
    assert "Enter an email address like name@example.com" in field_block(html, "email")
    assert 'value="alex-at-example"' in field_block(html, "email")
    assert 'value="Alex Carter"' in field_block(html, "name")
    assert textarea_text(html, "description") == DESCRIPTION
    assert textarea_text(html, "desired_outcome") == "A replacement, please."
    assert 'value="ORD-4411"' in field_block(html, "external_reference")
    assert 'value="Pat Carter"' in field_block(html, "on_behalf_of")
    assert re.search(r'<option selected value="relative">', html)
    assert re.search(rf'<input checked [^>]*name="category"[^>]*value="{org.delivery.id}">', html)


def test_representative_name_without_relationship_is_refused(client, org):
    response = client.post("/complaints/new", data=complaint(org, on_behalf_of="Pat Carter"))

    assert response.status_code == 422
    html = text_of(response)
    assert "person you are complaining for" in error_summary(html)
    assert "person you are complaining for" in field_block(html, "representative_relationship")
    assert 'value="Pat Carter"' in field_block(html, "on_behalf_of")
    assert textarea_text(html, "description") == DESCRIPTION
    assert db.session.scalars(select(Case)).first() is None


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("setup.exe", b"MZ\x90\x00 not a program you want", "is not a file type we accept"),
        ("photo.png", b"%PDF-1.7 a pdf pretending to be a picture", "does not look like a PNG"),
    ],
)
def test_unacceptable_file_is_refused_beside_the_field(client, org, filename, content, message):
    data = complaint(org, attachments=(io.BytesIO(content), filename))

    response = client.post("/complaints/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 422
    html = text_of(response)
    assert message in error_summary(html)
    assert message in field_block(html, "attachments")
    assert textarea_text(html, "description") == DESCRIPTION
    assert "Already attached" not in html  # a refused file is not kept for the retry
    assert db.session.scalars(select(Case)).first() is None
    assert db.session.scalars(select(TimelineEvent)).first() is None


def test_more_than_five_files_are_refused(client, org):
    files = [(io.BytesIO(factories.PNG_BYTES), f"photo{n}.png") for n in range(6)]

    response = client.post("/complaints/new", data=complaint(org, attachments=files),
                           content_type="multipart/form-data")

    assert response.status_code == 422
    assert "Attach 5 files at most." in field_block(text_of(response), "attachments")
    assert db.session.scalars(select(Case)).first() is None


def test_confirmation_page_is_not_found_in_another_browser(app, client, org):
    response = client.post("/complaints/new", data=complaint(org))
    location = response.headers["Location"]

    assert client.get(location).status_code == 200
    assert app.test_client().get(location).status_code == 404


def test_signed_in_customer_case_joins_their_account(client, org, login_as):
    customer = factories.make_customer("casey@example.com", "Casey Jones")
    db.session.commit()
    login_as(customer)

    form = client.get("/complaints/new")
    assert 'value="Casey Jones"' in form.get_data(as_text=True)

    response = client.post("/complaints/new",
                           data=complaint(org, name="Casey Jones", email="other@example.com"))

    assert response.status_code == 302
    case = only_case()
    assert case.customer_id == customer.id
    assert case.contact_email == "casey@example.com"
    assert case.reference in client.get("/cases").get_data(as_text=True)


# --- htmx inline checks ----------------------------------------------------------------------


def test_inline_check_shows_the_error_for_a_bad_email(client, org):
    response = client.post("/complaints/new/check/email", data={"email": "not-an-email"},
                           headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = text_of(response)
    assert html.strip().startswith('<div class="field field--error" id="email-field"')
    assert "Enter an email address like name@example.com" in html
    assert 'value="not-an-email"' in html
    assert "<html" not in html


def test_inline_check_shows_no_error_for_a_good_email(client, org):
    response = client.post("/complaints/new/check/email", data={"email": "alex@example.com"},
                           headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = text_of(response)
    assert 'id="email-field"' in html
    assert "field--error" not in html
    assert "field__error" not in html


def test_inline_check_of_an_unknown_field_is_not_found(client, org):
    assert client.post("/complaints/new/check/password", data={"password": "x"}).status_code == 404
