"""The customer's side of coordination: confirm or correct what we understand, choose a
remedy, see our promises, and follow a merged case to the one that carries on."""

from datetime import timedelta

import pytest

from shared import services
from shared.clock import describe_due
from shared.extensions import db
from shared.models import EventKind, Understanding, utcnow
from shared.services import commitments as commitment_actions
from shared.services import merging
from shared.services import remedies as remedy_actions
from shared.services import tasks as task_actions
from shared.services import understanding as understanding_actions
from tests import factories
from tests.support.html import error_summary, field_block, text_of
from tests.support.timeline import events_of

PARAPHRASE = "Your parcel arrived crushed and you would like a replacement."


@pytest.fixture
def stranger(org):
    person = factories.make_customer("blake@example.com", "Blake Moss")
    db.session.commit()
    return person


def proposed(case, org):
    understanding_actions.propose_understanding(case, actor=org.sam, text=PARAPHRASE)
    services.commit()
    return case



def url(case, action=""):
    return f"/cases/{case.reference}" + (f"/{action}" if action else "")


# --- What we understand -----------------------------------------------------------------------


def test_the_customer_reads_our_understanding_and_confirms_it(login_as, case, org, customer):
    client = login_as(customer)
    page = text_of(client.get(url(proposed(case, org))))
    assert PARAPHRASE in page and "Waiting for your answer" in page
    assert "Yes, that's right" in page and "Not quite" in page

    response = client.post(url(case, "understanding/confirm"))

    assert response.status_code == 302
    assert response.headers["Location"] == url(case)
    assert case.understanding_state == Understanding.CONFIRMED
    after = text_of(client.get(url(case)))
    assert "Thank you for confirming" in after
    assert "You confirmed this is right" in after and "Yes, that's right" not in after
    assert "Understanding confirmed" in after  # on the timeline too


def test_staff_see_the_customers_answer(login_as, case, org, customer):
    proposed(case, org)
    understanding_actions.correct_understanding(case, customer=customer,
                                                correction="It was two parcels.")
    services.commit()

    html = text_of(login_as(org.sam).get(f"/staff/cases/{case.reference}"))
    section = html[html.index('id="understanding"'):]
    section = section[: section.index("</section>")]
    assert "Corrected by the customer" in section and "It was two parcels." in section


def test_the_customer_corrects_our_understanding(login_as, case, org, customer):
    client = login_as(customer)
    response = client.post(url(proposed(case, org), "understanding/correct"),
                           data={"correction": "  It was two parcels, not one.  "})

    assert response.status_code == 302
    assert case.understanding_state == Understanding.CORRECTED
    assert case.understanding_correction == "It was two parcels, not one."
    page = text_of(client.get(url(case)))
    assert "You corrected this" in page and "It was two parcels, not one." in page


def test_an_empty_correction_shows_a_message_and_keeps_the_form_open(login_as, case, org,
                                                                      customer):
    response = login_as(customer).post(url(proposed(case, org), "understanding/correct"),
                                       data={"correction": ""})

    assert response.status_code == 422
    html = text_of(response)
    assert "Enter what we have got wrong" in error_summary(html)
    assert "Enter what we have got wrong" in field_block(html, "correction")
    assert "<details open>" in html
    assert case.understanding_state == Understanding.PROPOSED


def test_answering_twice_is_refused_politely(login_as, case, org, customer):
    client = login_as(customer)
    client.post(url(proposed(case, org), "understanding/confirm"))

    response = client.post(url(case, "understanding/correct"),
                           data={"correction": "Actually, no."})

    assert response.status_code == 422
    html = text_of(response)
    assert "nothing waiting for your answer" in html
    assert case.understanding_state == Understanding.CONFIRMED


def test_someone_elses_case_is_not_found(login_as, case, org, stranger):
    proposed(case, org)
    [option] = remedy_actions.offer_options(case, actor=org.sam, descriptions=["Refund"])
    services.commit()
    client = login_as(stranger)

    assert client.post(url(case, "understanding/confirm")).status_code == 404
    assert client.post(url(case, "understanding/correct"),
                       data={"correction": "No"}).status_code == 404
    assert client.post(url(case, "options/choose"),
                       data={"option": option.id}).status_code == 404
    assert case.understanding_state == Understanding.PROPOSED
    assert option.chosen_at is None


def test_staff_cannot_answer_for_the_customer(login_as, case, org):
    response = login_as(org.sam).post(url(proposed(case, org), "understanding/confirm"))

    assert response.status_code == 403
    assert case.understanding_state == Understanding.PROPOSED


# --- Ways to put it right ---------------------------------------------------------------------


def test_the_customer_chooses_one_of_the_open_offers(login_as, case, org, customer):
    refund, replacement, withdrawn = remedy_actions.offer_options(
        case, actor=org.sam, descriptions=["A full refund", "A replacement", "A voucher"]
    )
    remedy_actions.withdraw_option(case, withdrawn, actor=org.sam)
    services.commit()
    client = login_as(customer)

    page = text_of(client.get(url(case)))
    assert 'type="radio"' in page and "A full refund" in page and "A replacement" in page
    assert f'value="{withdrawn.id}"' not in page

    response = client.post(url(case, "options/choose"), data={"option": replacement.id})

    assert response.status_code == 302
    assert replacement.chosen_at is not None and refund.chosen_at is None
    after = text_of(client.get(url(case)))
    assert "You chose" in after and "Chosen: A replacement" in after
    assert 'name="option"' not in after


def test_choosing_nothing_asks_again(login_as, case, org, customer):
    remedy_actions.offer_options(case, actor=org.sam, descriptions=["Refund", "Replacement"])
    services.commit()

    response = login_as(customer).post(url(case, "options/choose"), data={})

    assert response.status_code == 422
    assert "Choose one of the ways to put it right" in error_summary(text_of(response))


def test_an_offer_of_another_case_cannot_be_chosen(login_as, case, org, customer):
    other = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    [theirs] = remedy_actions.offer_options(other, actor=org.sam, descriptions=["Refund"])
    remedy_actions.offer_options(case, actor=org.sam, descriptions=["Replacement"])
    services.commit()
    client = login_as(customer)

    assert client.post(url(case, "options/choose"), data={"option": theirs.id}).status_code == 404
    assert client.post(url(case, "options/choose"), data={"option": 99999}).status_code == 404
    assert theirs.chosen_at is None
    assert events_of(case, EventKind.OPTION_CHOSEN) == []


def test_a_withdrawn_offer_is_refused_with_a_message(login_as, case, org, customer):
    refund, replacement = remedy_actions.offer_options(
        case, actor=org.sam, descriptions=["Refund", "Replacement"]
    )
    remedy_actions.withdraw_option(case, refund, actor=org.sam)
    services.commit()

    response = login_as(customer).post(url(case, "options/choose"), data={"option": refund.id})

    assert response.status_code == 422
    assert "no longer on offer" in text_of(response)
    assert refund.chosen_at is None


# --- Promises ---------------------------------------------------------------------------------


def test_the_customer_sees_our_promises_and_how_each_went(login_as, case, org, customer):
    calendar = case.category.service_level.calendar
    upcoming = commitment_actions.make_commitment(
        case, actor=org.sam, description="call you to arrange a collection",
        due_at=factories.in_hours(26),
    )
    kept = commitment_actions.make_commitment(
        case, actor=org.sam, description="email the courier", due_at=factories.in_hours(2)
    )
    commitment_actions.settle_commitment(case, kept, actor=org.sam, kept=True,
                                         note="They replied the same day.")
    late = commitment_actions.make_commitment(
        case, actor=org.sam, description="send a label", due_at=factories.in_hours(1)
    )
    late.due_at = utcnow() - timedelta(hours=2)
    services.commit()

    html = text_of(login_as(customer).get(url(case)))

    section = html[html.index('id="promises"'):]
    section = section[: section.index("</section>")]
    due_words = describe_due(upcoming.due_at, calendar.zone, calendar.zone_label)
    assert f"We promised: call you to arrange a collection by {due_words}" in section
    assert due_words.endswith("UK time")
    assert "On track" in section
    assert "Done" in section and "They replied the same day." in section
    assert "Late: we have not done this yet; Sam has been told" in section


# --- Internal work stays internal -------------------------------------------------------------


def test_tasks_never_show_in_the_portal(login_as, case, org, customer):
    task = task_actions.create_task(case, actor=org.sam, title="Chase the depot manager",
                                    details="SECRET depot notes", due_at=factories.in_hours(5),
                                    team=org.billing)
    task_actions.update_task(task, actor=org.jo, status=task.status, outcome="SECRET outcome")
    services.commit()

    html = text_of(login_as(customer).get(url(case)))

    assert "Chase the depot manager" not in html
    assert "SECRET" not in html


# --- A merged case leads to the one that carries on -------------------------------------------


def test_a_merged_reference_leads_to_the_surviving_case(login_as, case, org, customer):
    duplicate = factories.case_owned_by(org.sam, org.delivery, customer=customer,
                                        description="Same parcel again.")
    merging.merge_case(duplicate, case, actor=org.sam)
    services.commit()
    client = login_as(customer)

    response = client.get(url(duplicate))

    assert response.status_code == 302
    assert response.headers["Location"] == url(case)
    page = text_of(client.get(response.headers["Location"]))
    assert f"Complaint {duplicate.reference} is now handled together with this one." in page


def test_a_merge_into_someone_elses_case_does_not_lead_there(login_as, case, org, stranger):
    theirs = factories.case_owned_by(org.sam, org.delivery, customer=stranger)
    merging.merge_case(theirs, case, actor=org.manager)
    services.commit()
    client = login_as(stranger)

    response = client.get(url(theirs))

    assert response.status_code == 200
    html = text_of(response)
    assert "handled together with a related complaint" in html
    assert case.reference not in html
    assert client.get(url(case)).status_code == 404


def test_the_merged_case_takes_no_more_messages(login_as, case, org, customer):
    duplicate = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    merging.merge_case(duplicate, case, actor=org.sam)
    services.commit()

    response = login_as(customer).post(url(duplicate, "reply"), data={"body": "Hello?"})

    assert response.status_code == 422
    assert "This complaint is closed" in text_of(response)
    assert events_of(duplicate, EventKind.CUSTOMER_REPLY) == []
