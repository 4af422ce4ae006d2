"""A customer's case page: who may see it, the public timeline, replies and the resolution."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import Attachment, CaseStatus, EventKind, Visibility, utcnow
from shared.services import cases as case_actions
from shared.services import ownership, understanding
from shared.services.timeline import record_event
from tests import factories
from tests.support.direction import directions_of
from tests.support.html import (
    between,
    error_summary,
    field_block,
    text_of,
    textarea_text,
)
from tests.support.timeline import events_of

SECRET = "SECRET internal words"
RESOLUTION = "We sent a replacement parcel by tracked courier and refunded the postage."
HTMX_TIMELINE = {"HX-Request": "true", "HX-Target": "timeline"}


@pytest.fixture
def signed_in(login_as, customer):
    return login_as(customer)


def url(case, action=""):
    return f"/cases/{case.reference}" + (f"/{action}" if action else "")



def resolve(case):
    case_actions.resolve_case(case, actor=case.owner, resolution=RESOLUTION,
                              **factories.cause_and_outcome())
    services.commit()


# --- Who may see it --------------------------------------------------------------------------


def test_customer_sees_their_own_case(signed_in, case):
    response = signed_in.get(url(case))

    assert response.status_code == 200
    html = text_of(response)
    assert case.reference in html
    assert "My parcel arrived crushed." in html
    assert case.owner.name in html
    assert "UK time" in html


def test_another_customers_case_is_not_found(client, login_as, org, case):
    login_as(factories.make_customer("blake@example.com", "Blake Moss"))
    db.session.commit()

    assert client.get(url(case)).status_code == 404
    assert client.post(url(case, "reply"), data={"body": "Hello"}).status_code == 404
    assert events_of(case, EventKind.CUSTOMER_REPLY) == []


@pytest.mark.parametrize("path", ["/cases", "case"])
def test_staff_cannot_open_portal_customer_pages(client, login_as, org, case, path):
    login_as(case.owner)

    response = client.get(url(case) if path == "case" else path)

    assert response.status_code == 403


def test_signed_out_visitor_is_sent_to_sign_in(client, case):
    response = client.get(url(case))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    assert case.reference in response.headers["Location"]


# --- The timeline ----------------------------------------------------------------------------


def test_internal_events_never_reach_the_case_page(signed_in, org, case):
    record_event(case, EventKind.NOTE, actor=org.sam, visibility=Visibility.INTERNAL, body=SECRET)
    db.session.commit()

    page = text_of(signed_in.get(url(case)))
    partial = text_of(signed_in.get(url(case), headers=HTMX_TIMELINE))

    for html in (page, partial):
        assert SECRET not in html
        assert "Internal note" not in html
        assert "kept in the mailbox" not in html  # the internal record of the receipt email
        assert "Complaint raised" in html


def test_htmx_timeline_request_returns_only_the_timeline(signed_in, case):
    response = signed_in.get(url(case), headers=HTMX_TIMELINE)

    assert response.status_code == 200
    html = text_of(response).strip()
    assert html.startswith('<section id="timeline"')
    assert html.endswith("</section>")
    assert "Complaint raised" in html
    assert "<html" not in html
    assert "Who is looking after it" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_full_case_page_also_varies_on_htmx(signed_in, case):
    response = signed_in.get(url(case))

    assert "<html" in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]


# --- Replying --------------------------------------------------------------------------------


def test_reply_is_added_to_the_timeline_and_shown(signed_in, case):
    response = signed_in.post(url(case, "reply"), data={"body": "The box is in my hallway."})

    assert response.status_code == 302
    assert response.headers["Location"] == url(case)
    [reply] = events_of(case, EventKind.CUSTOMER_REPLY)
    assert reply.body == "The box is in my hallway."
    assert reply.actor_id == case.customer_id
    assert reply.visibility == Visibility.PUBLIC
    html = text_of(signed_in.get(url(case)))
    assert "Thank you: your message has been sent." in html
    assert "The box is in my hallway." in html


def test_empty_reply_is_refused_with_a_message(signed_in, case):
    response = signed_in.post(url(case, "reply"), data={"body": "   "})

    assert response.status_code == 422
    html = text_of(response)
    assert "Enter your message" in error_summary(html)
    assert "Enter your message" in field_block(html, "body")
    assert events_of(case, EventKind.CUSTOMER_REPLY) == []


def test_reply_with_an_attachment(signed_in, case):
    data = {"body": "A photo of the box.",
            "attachments": (io.BytesIO(factories.PNG_BYTES), "box.png")}

    response = signed_in.post(url(case, "reply"), data=data, content_type="multipart/form-data")

    assert response.status_code == 302
    [reply] = events_of(case, EventKind.CUSTOMER_REPLY)
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert attachment.event_id == reply.id
    assert attachment.original_name == "box.png"
    with signed_in.get(url(case, f"files/{attachment.id}")) as download:
        assert download.status_code == 200
        assert download.data == factories.PNG_BYTES


def test_reply_with_a_disallowed_file_keeps_the_message(signed_in, case):
    data = {"body": "Here is the invoice.", "attachments": (io.BytesIO(b"MZ\x90\x00"), "a.exe")}

    response = signed_in.post(url(case, "reply"), data=data, content_type="multipart/form-data")

    assert response.status_code == 422
    html = text_of(response)
    assert "is not a file type we accept" in field_block(html, "attachments")
    assert textarea_text(html, "body") == "Here is the invoice."
    assert events_of(case, EventKind.CUSTOMER_REPLY) == []


def test_reply_moves_a_case_waiting_on_the_customer_back_to_in_progress(signed_in, org, case):
    case_actions.acknowledge_case(case, actor=case.owner)
    case_actions.change_status(case, CaseStatus.WAITING_ON_CUSTOMER, actor=case.owner)
    services.commit()

    signed_in.post(url(case, "reply"), data={"body": "Here is the photo you asked for."})

    db.session.refresh(case)
    assert case.status == CaseStatus.IN_PROGRESS


# --- Resolution, closing, reopening and rating -----------------------------------------------


def test_resolved_case_thanks_the_customer_and_shows_the_resolution(signed_in, case):
    resolve(case)

    html = text_of(signed_in.get(url(case)))

    assert "Thank you, Alex" in html
    assert RESOLUTION in html
    assert "Yes, close my complaint" in html


def test_confirming_the_resolution_closes_the_case(signed_in, case):
    resolve(case)

    response = signed_in.post(url(case, "confirm"))

    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.CLOSED
    assert case.closed_at is not None
    assert len(events_of(case, EventKind.CLOSED)) == 1
    html = text_of(signed_in.get(url(case)))
    assert "Your complaint is now closed." in html
    assert "Yes, close my complaint" not in html


def test_confirming_an_open_case_is_refused(signed_in, case):
    response = signed_in.post(url(case, "confirm"))

    assert response.status_code == 422
    assert "Only a resolved complaint can be closed." in error_summary(text_of(response))
    db.session.refresh(case)
    assert case.status == CaseStatus.NEW


def test_reopening_within_the_window_works(signed_in, case):
    resolve(case)

    response = signed_in.post(url(case, "reopen"), data={"reason": "The new parcel is crushed."})

    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.resolved_at is None
    [reopened] = events_of(case, EventKind.REOPENED)
    assert reopened.body == "The new parcel is crushed."


def test_a_closed_case_can_be_reopened_within_the_window(signed_in, case):
    resolve(case)
    signed_in.post(url(case, "confirm"))

    response = signed_in.post(url(case, "reopen"), data={"reason": "It broke again."})

    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.closed_at is None


def test_reopening_needs_a_reason(signed_in, case):
    resolve(case)

    response = signed_in.post(url(case, "reopen"), data={"reason": ""})

    assert response.status_code == 422
    html = text_of(response)
    assert "Enter what is still wrong" in error_summary(html)
    assert "Enter what is still wrong" in field_block(html, "reason")
    db.session.refresh(case)
    assert case.status == CaseStatus.RESOLVED


def test_reopening_after_the_window_is_refused(signed_in, case):
    resolve(case)
    case.resolved_at = utcnow() - timedelta(days=15)
    db.session.commit()

    response = signed_in.post(url(case, "reopen"), data={"reason": "Still crushed."})

    assert response.status_code == 422
    assert "can no longer be reopened here. Please raise a new one." in text_of(response)
    db.session.refresh(case)
    assert case.status == CaseStatus.RESOLVED
    assert events_of(case, EventKind.REOPENED) == []


class TestWithoutAReopenWindow:
    @pytest.fixture
    def app_config(self):
        return {"REOPEN_WINDOW_DAYS": 0}

    def test_reopening_is_refused_and_not_offered(self, signed_in, case):
        resolve(case)

        page = text_of(signed_in.get(url(case)))
        response = signed_in.post(url(case, "reopen"), data={"reason": "Still crushed."})

        assert "Reopen my complaint" not in page
        assert response.status_code == 422
        assert "can no longer be reopened here" in error_summary(text_of(response))
        db.session.refresh(case)
        assert case.status == CaseStatus.RESOLVED


def test_rating_is_saved_with_a_comment(signed_in, case):
    resolve(case)

    response = signed_in.post(url(case, "rating"), data={"rating": "4", "comment": " Quick. "})

    assert response.status_code == 302
    db.session.refresh(case)
    assert (case.rating, case.rating_comment) == (4, "Quick.")
    assert case.rated_at is not None
    assert "You rated how we handled this 4 out of 5." in text_of(signed_in.get(url(case)))


def test_rating_without_a_comment(signed_in, case):
    resolve(case)

    signed_in.post(url(case, "rating"), data={"rating": "5"})

    db.session.refresh(case)
    assert (case.rating, case.rating_comment) == (5, None)


def test_rating_is_saved_only_once(signed_in, case):
    resolve(case)
    signed_in.post(url(case, "rating"), data={"rating": "2"})

    response = signed_in.post(url(case, "rating"), data={"rating": "5"})

    assert response.status_code == 422
    assert "You have already rated this complaint" in error_summary(text_of(response))
    db.session.refresh(case)
    assert case.rating == 2
    assert len(events_of(case, EventKind.RATED)) == 1


@pytest.mark.parametrize(
    ("rating", "message"),
    [("0", "Choose a rating from 1 to 5"), ("", "Choose a rating from 1 to 5"),
     ("6", "Not a valid choice")],
)
def test_rating_outside_one_to_five_is_refused(signed_in, case, rating, message):
    resolve(case)

    response = signed_in.post(url(case, "rating"), data={"rating": rating})

    assert response.status_code == 422
    html = text_of(response)
    assert message in error_summary(html)
    assert message in field_block(html, "rating")
    db.session.refresh(case)
    assert case.rating is None
    assert events_of(case, EventKind.RATED) == []


def test_rating_an_open_case_is_refused(signed_in, case):
    response = signed_in.post(url(case, "rating"), data={"rating": "5"})

    assert response.status_code == 422
    assert "once your complaint is resolved" in error_summary(text_of(response))
    db.session.refresh(case)
    assert case.rating is None


# --- The customer's own words: their direction, whatever the language ----------------------

ARABIC = "وصل الطرد مكسورا"  # "The parcel arrived broken", written right to left


def test_the_customers_words_take_their_own_direction_on_their_pages(signed_in, org, customer):
    rtl_case = factories.raise_case(
        org.delivery, customer=customer, description=f"{ARABIC}.", desired_outcome=ARABIC
    )
    case_actions.post_customer_reply(rtl_case, customer=customer, body=ARABIC)
    services.commit()

    for path in ("/cases", url(rtl_case)):
        places = directions_of(text_of(signed_in.get(path)), ARABIC)
        assert places, f"{path} does not show the customer's words"
        undirected = [tag for tag, direction in places if direction != "auto"]
        assert undirected == [], f"{path}: the customer's words in {undirected} have no dir=auto"


# --- Who did what: each piece of work is credited to whoever did it --------------------------


def hand_over(case, actor, new_owner):
    ownership.transfer_owner(case, actor=actor, new_owner=new_owner, reason="Rota change")
    services.commit()


def owner_card(html: str) -> str:
    return between(html, 'class="owner-card"', "</div>\n</div>")


def test_the_owner_card_says_from_start_to_finish_only_until_someone_else_takes_over(
    client, login_as, org, customer, frozen_now
):
    frozen_now(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    handed = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    services.commit()
    signed_in = login_as(customer)
    assert "from start to finish" in owner_card(text_of(signed_in.get(url(handed))))

    hand_over(handed, org.manager, org.priya)
    frozen_now(datetime(2026, 12, 3, 11, 0, tzinfo=UTC))
    hand_over(handed, org.manager, org.manager)
    card = owner_card(text_of(signed_in.get(url(handed))))

    assert "from start to finish" not in card
    assert "Morgan Lee" in card
    assert "has been looking after your complaint since 3 December" in card


def test_the_wording_to_confirm_is_credited_to_whoever_wrote_it_after_a_hand_off(
    signed_in, org, case
):
    case_actions.acknowledge_case(case, actor=org.sam)
    understanding.propose_understanding(
        case, actor=org.sam, text="Your parcel arrived crushed; you want a new one."
    )
    services.commit()
    hand_over(case, org.manager, org.manager)

    page = text_of(signed_in.get(url(case)))

    assert "Sam wrote this to check we have understood you" in page
    assert "Morgan wrote this" not in page
    # Sam made the first contact: it is not Morgan's promise, kept or not.
    assert "We contacted you by" in page
    assert "Morgan will contact you by" not in page
    # The timeline credits each event to whoever did it at the time.
    proposed = between(page, "What we understand</p>", "</li>")
    assert "Sam Taylor" in proposed
