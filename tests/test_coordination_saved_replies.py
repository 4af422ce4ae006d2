"""Saved replies: managers and admins maintain them, every agent uses them in the composer."""

import re

import pytest
from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import SavedReply
from tests import factories
from tests.support.html import error_summary, field_block, text_of, textarea_text

HTMX = {"HX-Request": "true", "HX-Target": "composer-body"}


@pytest.fixture
def reply(org):
    saved = factories.make_saved_reply(
        "Refund on its way",
        "Dear {customer_name},\nyour refund for {reference} is on its way. {owner_name}\n"
        "Kind regards {signature}",
        updated_by=org.manager,
    )
    db.session.commit()
    return saved


@pytest.fixture
def case_with_markup_in_name(org):
    """Alex's delivery complaint, owned by Sam, from a customer whose name holds markup:
    `Alex <b>Carter</b>`, to be shown as text wherever a saved reply fills it in."""
    customer = factories.make_customer("alex@example.com", "Alex <b>Carter</b>")
    owned = factories.case_owned_by(org.sam, org.delivery, customer=customer,
                                    name="Alex <b>Carter</b>")
    services.commit()
    return owned


def replies():
    return db.session.scalars(select(SavedReply).order_by(SavedReply.id)).all()


# --- Who may maintain them --------------------------------------------------------------------


def test_agents_read_the_list_but_cannot_change_it(login_as, org, reply):
    client = login_as(org.sam)

    listing = client.get("/staff/saved-replies")
    assert listing.status_code == 200
    html = text_of(listing)
    assert "Refund on its way" in html and "/edit" not in html and "/delete" not in html
    assert client.get("/staff/saved-replies/new").status_code == 403
    assert client.post("/staff/saved-replies/new",
                       data={"title": "Mine", "body": "Text"}).status_code == 403
    assert client.get(f"/staff/saved-replies/{reply.id}/edit").status_code == 403
    assert client.post(f"/staff/saved-replies/{reply.id}/edit",
                       data={"title": "Changed", "body": "Text"}).status_code == 403
    assert client.post(f"/staff/saved-replies/{reply.id}/delete").status_code == 403
    assert [r.title for r in replies()] == ["Refund on its way"]


def test_customers_and_signed_out_people_never_reach_them(
    client, login_as, org, reply, case_with_markup_in_name
):
    paths = ["/staff/saved-replies", "/staff/saved-replies/new",
             f"/staff/saved-replies/{reply.id}/edit",
             f"/staff/cases/{case_with_markup_in_name.reference}/saved-reply?saved_reply={reply.id}"]
    for path in paths:
        assert client.get(path).headers["Location"].startswith("/staff/login")
    login_as(case_with_markup_in_name.customer)
    for path in paths:
        assert client.get(path).status_code == 403
    assert client.post(f"/staff/saved-replies/{reply.id}/delete").status_code == 403


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_add_edit_and_delete(login_as, org, role):
    client = login_as(getattr(org, role))

    created = client.post("/staff/saved-replies/new",
                          data={"title": "Apology", "body": "Sorry, {customer_name}."})
    assert created.status_code == 302
    assert created.headers["Location"] == "/staff/saved-replies"
    [saved] = replies()
    assert (saved.title, saved.body) == ("Apology", "Sorry, {customer_name}.")

    edited = client.post(f"/staff/saved-replies/{saved.id}/edit",
                         data={"title": "Apology", "body": "We are sorry, {customer_name}."})
    assert edited.status_code == 302
    db.session.expire_all()
    assert replies()[0].body == "We are sorry, {customer_name}."

    assert client.post(f"/staff/saved-replies/{saved.id}/delete").status_code == 302
    assert replies() == []


def test_a_duplicate_title_is_refused_and_the_text_kept(login_as, org, reply):
    response = login_as(org.manager).post(
        "/staff/saved-replies/new",
        data={"title": "refund on its way", "body": "Another text, {reference}."},
    )

    assert response.status_code == 422
    html = text_of(response)
    assert "Another saved reply has this title" in field_block(html, "title")
    assert textarea_text(html, "body") == "Another text, {reference}."
    assert len(replies()) == 1


def test_empty_fields_are_refused_with_messages(login_as, org, reply):
    response = login_as(org.manager).post(
        f"/staff/saved-replies/{reply.id}/edit", data={"title": "Kept title", "body": ""}
    )

    assert response.status_code == 422
    html = text_of(response)
    assert "Write the text of the reply" in error_summary(html)
    assert 'value="Kept title"' in field_block(html, "title")
    db.session.expire_all()
    assert replies()[0].title == "Refund on its way"


# --- Using one --------------------------------------------------------------------------------


def test_htmx_gets_the_composer_textarea_with_the_reply_below_what_was_typed(
    login_as, org, reply, case_with_markup_in_name
):
    response = login_as(org.priya).get(
        f"/staff/cases/{case_with_markup_in_name.reference}/saved-reply",
        query_string={"saved_reply": reply.id, "body": "Thanks for your call.\n"},
        headers=HTMX,
    )

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.match(r'\s*<textarea id="composer-body" name="body"', html)
    assert html.count("<textarea") == 1 and "<html" not in html
    assert textarea_text(text_of(response), "composer-body") == (
        "Thanks for your call.\n\nDear Alex <b>Carter</b>,\nyour refund for "
        f"{case_with_markup_in_name.reference} is on its way. Sam Taylor\nKind regards "
        "{signature}"
    )
    # The customer's words are text, never markup.
    assert "&lt;b&gt;Carter&lt;/b&gt;" in html and "<b>" not in html


def test_without_javascript_the_filled_reply_is_shown_to_copy(
    login_as, org, reply, case_with_markup_in_name
):
    response = login_as(org.sam).get(
        f"/staff/cases/{case_with_markup_in_name.reference}/saved-reply",
        query_string={"saved_reply": reply.id, "body": "", "kind": "update"},
    )

    assert response.status_code == 200
    html = text_of(response)
    assert "<html" in html and "Copy this text" in html
    assert textarea_text(html, "filled-reply").startswith("Dear Alex <b>Carter</b>,")


def test_without_a_choice_the_typed_text_is_kept(login_as, org, reply, case_with_markup_in_name):
    client = login_as(org.sam)

    page = client.get(f"/staff/cases/{case_with_markup_in_name.reference}/saved-reply",
                      query_string={"saved_reply": "", "body": "My draft"})
    assert page.status_code == 422
    assert textarea_text(text_of(page), "filled-reply") == "My draft"

    swap = client.get(f"/staff/cases/{case_with_markup_in_name.reference}/saved-reply",
                      query_string={"saved_reply": "", "body": "My draft"}, headers=HTMX)
    assert textarea_text(text_of(swap), "composer-body") == "My draft"


def test_an_unknown_saved_reply_is_not_found(login_as, org, case_with_markup_in_name):
    response = login_as(org.sam).get(
        f"/staff/cases/{case_with_markup_in_name.reference}/saved-reply",
        query_string={"saved_reply": 999},
    )
    assert response.status_code == 404


def test_the_picker_in_the_composer_inserts_with_or_without_javascript(
    login_as, org, reply, case_with_markup_in_name
):
    html = text_of(login_as(org.sam).get(f"/staff/cases/{case_with_markup_in_name.reference}"))

    fill_url = f"/staff/cases/{case_with_markup_in_name.reference}/saved-reply"
    picker = html[html.index('class="field saved-reply-picker"'):]
    picker = picker[: picker.index("</button>")]
    assert f'<option value="{reply.id}">Refund on its way</option>' in picker
    assert f'hx-get="{fill_url}"' in picker and 'hx-target="#composer-body"' in picker
    assert f'formaction="{fill_url}" formmethod="get"' in picker
    # It sits inside the composer's form, before the message box it fills.
    composer = html[html.index('id="composer"'):]
    assert composer.index("saved-reply-picker") < composer.index('id="composer-body"')
