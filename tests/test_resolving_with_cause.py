"""Resolving records what we learn from a case: its outcome, its root cause (in words too for
an "Other"), the product affected. Only live causes and products can be chosen for a new
resolution, and the customer never reads any of it: only what was done and the remedies."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared import services
from shared.dashboard import Period
from shared.extensions import db
from shared.models import (
    Case,
    CaseStatus,
    EventKind,
    Outcome,
    OutgoingEmail,
    RedressKind,
    Visibility,
)
from shared.patterns import Filters, pareto
from shared.services import RuleViolation, causes
from shared.services import cases as case_actions
from shared.services import redress as redress_actions
from shared.services.cases import ROOT_CAUSE_WORDS_MAX
from tests.support.html import (
    error_beside,
    error_summary,
    hidden_value,
    text_of,
    textarea_text,
)
from tests.support.pages import page_url, signed_in_client
from tests.support.timeline import events_of

RESOLUTION = "We re-booked your delivery for Saturday morning and checked it arrived."
REMEDY = "A written apology from our delivery manager"
OTHER_WORDS = "The depot's scanner was down for the whole afternoon."
# None of these names is a word the customer's pages or emails use for anything else (the
# case's category is "Delivery", so no area here is called that).
AREA = "Last-mile logistics"
CAUSE = "Carrier missed the slot"


@pytest.fixture
def lists(org):
    """Two areas of causes (one with an "Other" that asks for words) and two products, made
    through the admin's own service and committed, so that requests find them."""
    logistics = causes.create_area(actor=org.admin, name=AREA)
    invoicing = causes.create_area(actor=org.admin, name="Invoicing")
    found = {
        "logistics": logistics,
        "invoicing": invoicing,
        "missed": causes.create_cause(logistics, actor=org.admin, name=CAUSE),
        "damaged": causes.create_cause(logistics, actor=org.admin, name="Damaged in transit"),
        "other": causes.create_cause(logistics, actor=org.admin, name="Other",
                                     asks_for_words=True),
        "tariff": causes.create_cause(invoicing, actor=org.admin,
                                      name="Tariff change not applied"),
        "parcel_plus": causes.create_product(actor=org.admin, name="Premium Parcel Plus"),
        "kettle": causes.create_product(actor=org.admin, name="Travel kettle"),
    }
    db.session.commit()
    return found


def resolve(case, actor, **fields):
    """resolve_case with a resolution, an outcome and a cause unless the test says otherwise."""
    fields = {"resolution": RESOLUTION, "outcome": Outcome.UPHELD, **fields}
    return case_actions.resolve_case(case, actor=actor, **fields)


def refusal(case, actor, **fields) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        resolve(case, actor, **fields)
    services.rollback()
    db.session.expire_all()
    return refused.value


def assert_still_open_and_nothing_recorded(case):
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.is_open
    assert case.outcome is None and case.root_cause_id is None and case.product_id is None
    assert events_of(case, EventKind.RESOLVED) == []
    assert resolved_emails() == []


def resolved_emails() -> list[OutgoingEmail]:
    return db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == "case_resolved")
        .order_by(OutgoingEmail.id)
    ).all()


# --- The service: what must be chosen ---------------------------------------------------------


def test_resolving_without_an_outcome_is_refused_naming_it(org, case, lists):
    for missing in (None, "", "maybe"):
        refused = refusal(case, org.sam, outcome=missing, root_cause=lists["missed"])
        assert refused.field == "outcome"
        assert refused.message.startswith("Choose the outcome")
    assert_still_open_and_nothing_recorded(case)


def test_resolving_without_a_root_cause_is_refused_naming_it(org, case, lists):
    refused = refusal(case, org.sam, root_cause=None)

    assert refused.field == "root_cause"
    assert refused.message.startswith("Choose the root cause")
    assert "“Other”" in refused.message  # what to do when no cause fits
    assert_still_open_and_nothing_recorded(case)


@pytest.mark.parametrize("words", ["", "   \n "])
def test_a_cause_that_asks_for_words_is_refused_without_them(org, case, lists, words):
    refused = refusal(case, org.sam, root_cause=lists["other"], root_cause_words=words)

    assert refused.field == "root_cause_words"
    assert refused.message == "Say in words what caused it: “Other” needs a few words."
    assert_still_open_and_nothing_recorded(case)


def test_the_words_for_a_cause_that_asks_for_them_are_stored_tidied(org, case, lists):
    resolve(case, org.sam, root_cause=lists["other"], root_cause_words=f"  {OTHER_WORDS}\n")
    services.commit()

    db.session.expire_all()
    assert case.root_cause == lists["other"]
    assert case.root_cause_words == OTHER_WORDS


def test_words_over_the_limit_are_refused(org, case, lists):
    refused = refusal(case, org.sam, root_cause=lists["other"],
                      root_cause_words="x" * (ROOT_CAUSE_WORDS_MAX + 1))

    assert refused.field == "root_cause_words"
    assert "2,000 characters" in refused.message


def test_words_given_for_a_cause_that_does_not_ask_for_them_are_left_out(org, case, lists):
    # Deliberate: the form says to leave them empty for such a cause, and words kept beside
    # a named cause would read in the figures as if the cause needed explaining.
    resolve(case, org.sam, root_cause=lists["missed"], root_cause_words=OTHER_WORDS)
    services.commit()

    db.session.expire_all()
    assert case.status == CaseStatus.RESOLVED
    assert case.root_cause == lists["missed"]
    assert case.root_cause_words is None


# --- The service: retired causes and products -------------------------------------------------


def test_a_retired_cause_cannot_be_chosen_for_a_new_resolution(org, case, lists):
    causes.retire_cause(lists["damaged"], actor=org.admin)
    services.commit()

    refused = refusal(case, org.sam, root_cause=lists["damaged"])

    assert refused.field == "root_cause"
    assert refused.message == "The cause “Damaged in transit” is no longer in use: choose another."
    assert_still_open_and_nothing_recorded(case)


def test_a_live_cause_in_a_retired_area_cannot_be_chosen_either(org, case, lists):
    causes.retire_area(lists["invoicing"], actor=org.admin)
    services.commit()
    assert not lists["tariff"].is_retired

    refused = refusal(case, org.sam, root_cause=lists["tariff"])

    assert refused.field == "root_cause"
    assert "“Tariff change not applied” is no longer in use" in refused.message


def test_a_retired_product_cannot_be_chosen_for_a_new_resolution(org, case, lists):
    causes.retire_product(lists["kettle"], actor=org.admin)
    services.commit()

    refused = refusal(case, org.sam, root_cause=lists["missed"], product=lists["kettle"])

    assert refused.field == "product"
    assert refused.message == (
        "“Travel kettle” is no longer in the list of products: choose another."
    )
    assert_still_open_and_nothing_recorded(case)


def test_a_reopened_case_keeps_the_cause_and_product_it_had_though_retired(
        org, case, lists):
    resolve(case, org.sam, root_cause=lists["damaged"], product=lists["kettle"])
    services.commit()
    causes.retire_cause(lists["damaged"], actor=org.admin)
    causes.retire_product(lists["kettle"], actor=org.admin)
    case_actions.reopen_case(case, customer=case.customer, reason="It came broken again.")
    services.commit()

    resolve(case, org.sam, root_cause=lists["damaged"], product=lists["kettle"],
            resolution="A second replacement went out by courier.")
    services.commit()

    db.session.expire_all()
    assert case.status == CaseStatus.RESOLVED
    assert (case.root_cause, case.product) == (lists["damaged"], lists["kettle"])
    # … but it cannot move to another retired one.
    case_actions.reopen_case(case, customer=case.customer, reason="Still broken.")
    services.commit()
    causes.retire_cause(lists["missed"], actor=org.admin)
    services.commit()
    assert refusal(case, org.sam, root_cause=lists["missed"]).field == "root_cause"


# --- The service: what is stored, and where ---------------------------------------------------


def test_the_outcome_cause_and_product_are_stored_on_the_case(org, case, lists):
    # The form sends the outcome as its value: the service takes that as well as an Outcome.
    resolve(case, org.sam, outcome="not_upheld", root_cause=lists["missed"],
            product=lists["parcel_plus"])
    services.commit()

    db.session.expire_all()
    assert case.status == CaseStatus.RESOLVED
    assert case.outcome == Outcome.NOT_UPHELD.value
    assert case.root_cause.full_name == f"{AREA} → {CAUSE}"
    assert case.product.name == "Premium Parcel Plus"
    assert case.resolution == RESOLUTION


def test_no_product_is_fine(org, case, lists):
    resolve(case, org.sam, root_cause=lists["missed"], product=None)
    services.commit()

    db.session.expire_all()
    assert case.status == CaseStatus.RESOLVED and case.product is None


def test_the_public_resolved_event_carries_what_was_done_and_never_the_cause(org, case, lists):
    # What the timeline records of resolving: one public event with the resolution and the
    # remedies in words. The outcome, cause and product are on the case only, never here,
    # because the customer reads this event in the portal.
    redress_actions.record_redress(case, actor=org.sam, kind=RedressKind.APOLOGY,
                                   description=REMEDY)
    resolve(case, org.sam, outcome=Outcome.NOT_UPHELD, root_cause=lists["other"],
            root_cause_words=OTHER_WORDS, product=lists["parcel_plus"])
    services.commit()

    [resolved] = events_of(case, EventKind.RESOLVED)
    assert resolved.visibility == Visibility.PUBLIC
    assert resolved.actor == org.sam
    assert resolved.body.startswith(RESOLUTION)
    assert f"Apology: {REMEDY}" in resolved.body
    recorded = resolved.body + repr(resolved.data)
    for secret in never_for_the_customer(lists) + [OTHER_WORDS]:
        assert secret.lower() not in recorded.lower()


def test_what_we_learned_is_written_on_the_internal_timeline(org, case, lists):
    resolve(case, org.sam, outcome=Outcome.NOT_UPHELD, root_cause=lists["other"],
            root_cause_words=OTHER_WORDS, product=lists["parcel_plus"])
    services.commit()

    [learned] = events_of(case, EventKind.LEARNING_RECORDED)
    assert learned.visibility == Visibility.INTERNAL
    assert learned.actor == org.sam
    assert learned.body == (
        f"Outcome: not upheld. Cause: {AREA} → Other ({OTHER_WORDS})."
        " Product: Premium Parcel Plus."
    )
    assert learned.data == {"outcome": "not_upheld", "root_cause_id": lists["other"].id,
                            "product_id": lists["parcel_plus"].id}


def test_resolving_again_keeps_the_earlier_learning_on_record(org, case, lists):
    resolve(case, org.sam, outcome=Outcome.UPHELD, root_cause=lists["missed"])
    services.commit()
    case_actions.reopen_case(case, customer=case.customer, reason="The parcel was crushed.")
    services.commit()
    resolve(case, org.sam, outcome=Outcome.PARTLY_UPHELD, root_cause=lists["damaged"])
    services.commit()

    assert [event.body for event in events_of(case, EventKind.LEARNING_RECORDED)] == [
        f"Outcome: upheld. Cause: {AREA} → {CAUSE}.",
        f"Outcome: partly upheld. Cause: {AREA} → Damaged in transit.",
    ]


def test_the_staff_case_page_shows_what_we_learned_once_resolved(app, org, case, lists):
    resolve(case, org.sam, outcome=Outcome.PARTLY_UPHELD, root_cause=lists["missed"],
            product=lists["kettle"])
    services.commit()

    html = signed_in_client(app, org.sam).get(page_url(case)).get_data(as_text=True)

    start = html.index('class="case-header')
    header = html[start:html.index("</header>", start)]
    assert "What we learned" in header
    assert f"Partly upheld · {AREA} → {CAUSE}" in header
    assert "Travel kettle" in header


def test_resolving_again_after_a_reopening_records_the_new_cause_and_counts_it_alone(
        org, case, lists):
    resolve(case, org.sam, outcome=Outcome.UPHELD, root_cause=lists["missed"],
            product=lists["parcel_plus"])
    services.commit()
    case_actions.reopen_case(case, customer=case.customer, reason="The parcel was crushed.")
    services.commit()

    resolve(case, org.sam, outcome=Outcome.PARTLY_UPHELD, root_cause=lists["damaged"],
            product=None, resolution="We sent a new one, packed properly this time.")
    services.commit()

    db.session.expire_all()
    assert case.outcome == Outcome.PARTLY_UPHELD.value
    assert case.root_cause == lists["damaged"] and case.product is None
    assert len(events_of(case, EventKind.RESOLVED)) == 2
    # The patterns count the case once, under the cause it has now.
    today = datetime.now(UTC).date()
    found = pareto(Period(today - timedelta(days=1), today + timedelta(days=1)), Filters())
    assert [(row.label, row.cases) for row in found.rows] == [
        (f"{AREA} → Damaged in transit", 1)
    ]
    assert (found.total, found.without_cause) == (1, 0)


# --- The customer never reads the cause -------------------------------------------------------


def never_for_the_customer(lists) -> list[str]:
    """What resolving records for us alone: cause and area names, the outcome (as stored and
    as staff read it) and the products."""
    return [
        CAUSE, AREA, "Damaged in transit", "Other", "Invoicing",
        Outcome.NOT_UPHELD.value, Outcome.NOT_UPHELD.label, "upheld",
        "Premium Parcel Plus", "Travel kettle",
    ]


def assert_none_of(secrets, text, where):
    for secret in secrets:
        # Case-blind ("upheld" within a sentence); "Other" as a word only ("another" is fine).
        pattern = r"\bother\b" if secret == "Other" else re.escape(secret)
        assert not re.search(pattern, text, re.I), (
            f"{secret!r} is shown to the customer in {where}"
        )


def test_the_customer_reads_what_was_done_and_the_remedies_never_the_cause(app, org, case,
                                                                           lists):
    redress_actions.record_redress(case, actor=org.sam, kind=RedressKind.APOLOGY,
                                   description=REMEDY)
    services.commit()
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)
    response = sam.post(page_url(case, "resolve"), data={
        **version_fields(page, case), "resolution": RESOLUTION, "outcome": "not_upheld",
        "root_cause": str(lists["missed"].id), "product": str(lists["parcel_plus"].id),
    })
    assert response.status_code == 302
    db.session.expire_all()
    assert case.root_cause == lists["missed"] and case.outcome == "not_upheld"

    customer = signed_in_client(app, case.customer)
    portal_page = text_of(customer.get(f"/cases/{case.reference}"))
    portal_timeline = text_of(customer.get(
        f"/cases/{case.reference}", headers={"HX-Request": "true", "HX-Target": "timeline"}))
    [mail] = resolved_emails()
    assert mail.recipient == case.customer.email
    readings = {"the portal page": portal_page, "the portal timeline": portal_timeline,
                "the email's subject": mail.subject, "the email's text": mail.text_body,
                "the email's HTML": mail.html_body}
    for where, text in readings.items():
        assert_none_of(never_for_the_customer(lists), text, where)
    for where, text in readings.items():
        if where != "the email's subject":
            assert "Saturday morning" in text, where
    for text in (portal_page, mail.text_body, mail.html_body):
        assert RESOLUTION in text and f"Apology: {REMEDY}" in text


def test_the_words_given_for_other_stay_with_us(app, org, case, lists):
    resolve(case, org.sam, root_cause=lists["other"], root_cause_words=OTHER_WORDS)
    services.commit()

    portal_page = text_of(signed_in_client(app, case.customer).get(f"/cases/{case.reference}"))
    [mail] = resolved_emails()
    assert RESOLUTION in portal_page and RESOLUTION in mail.text_body
    for text in (portal_page, mail.text_body, mail.html_body):
        assert "scanner" not in text


# --- The resolve form -------------------------------------------------------------------------


def version_fields(page, case) -> dict:
    action = page_url(case, "resolve")
    return {"version": hidden_value(page, "version", action),
            "seen_event_id": hidden_value(page, "seen_event_id", action)}


def select_html(html: str, field_id: str) -> str:
    match = re.search(rf'<select[^>]*\bid="{field_id}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select {field_id}"
    return match.group(1)


def option_groups(html: str, field_id: str) -> list[tuple[str, list[str]]]:
    """The select's <optgroup>s in page order, each with the names of its options."""
    return [(label, re.findall(r"<option[^>]*>([^<]*)</option>", options))
            for label, options in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>',
                                             select_html(html, field_id), re.S)]


def option_names(html: str, field_id: str) -> list[str]:
    return re.findall(r"<option[^>]*>([^<]*)</option>", select_html(html, field_id))


def chosen_option(html: str, field_id: str) -> str | None:
    """The value of the option shown as chosen in the select."""
    for tag in re.findall(r"<option[^>]*>", select_html(html, field_id)):
        if re.search(r"\bselected\b", tag):
            return re.search(r'value="([^"]*)"', tag).group(1)
    return None


def checked_radio(html: str, name: str) -> str | None:
    for tag in re.findall(rf'<input[^>]*\bname="{name}"[^>]*>', html):
        if re.search(r"\bchecked\b", tag):
            return re.search(r'value="([^"]*)"', tag).group(1)
    return None


def test_the_form_lists_live_causes_by_area_and_live_products(app, org, case, lists):
    causes.retire_cause(lists["damaged"], actor=org.admin)
    causes.retire_product(lists["kettle"], actor=org.admin)
    gone = causes.create_area(actor=org.admin, name="Field engineering")
    causes.create_cause(gone, actor=org.admin, name="Engineer did not arrive")
    causes.retire_area(gone, actor=org.admin)
    services.commit()

    html = text_of(signed_in_client(app, org.sam).get(page_url(case)))

    assert option_groups(html, "root_cause") == [
        ("Invoicing", ["Tariff change not applied"]),
        (AREA, [CAUSE, "Other"]),  # "Other" last in its area
    ]
    assert option_names(html, "root_cause")[0] == "Choose the cause"
    assert option_names(html, "product") == ["None in particular", "Premium Parcel Plus"]
    assert "Damaged in transit" not in html and "Engineer did not arrive" not in html
    assert "Needed when the cause is “Other”" in html
    assert chosen_option(html, "root_cause") == "0" and checked_radio(html, "outcome") is None


def test_a_retired_cause_or_product_sent_by_a_stale_page_is_refused(app, org, case, lists):
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)
    # Retired while the page was open.
    causes.retire_cause(lists["damaged"], actor=org.admin)
    causes.retire_product(lists["kettle"], actor=org.admin)
    services.commit()

    response = sam.post(page_url(case, "resolve"), data={
        **version_fields(page, case), "resolution": RESOLUTION, "outcome": "upheld",
        "root_cause": str(lists["damaged"].id), "product": str(lists["kettle"].id),
    })

    assert response.status_code == 422
    html = text_of(response)
    assert error_beside(html, "root_cause") == "Choose the root cause from the list"
    assert error_beside(html, "product") == "Choose the product or service from the list"
    assert textarea_text(html, "resolution") == RESOLUTION
    assert_still_open_and_nothing_recorded(case)


@pytest.mark.parametrize("sent, field, message", [
    ({"outcome": None}, "outcome", "Choose the outcome"),
    ({"outcome": "maybe"}, "outcome", "Choose the outcome from the list"),
    ({"root_cause": None}, "root_cause", "Choose the root cause: choose “Other” and say in"
                                         " words if none fits"),
    ({"root_cause": "0"}, "root_cause", "Choose the root cause: choose “Other” and say in"
                                        " words if none fits"),
    ({"root_cause": "not a number"}, "root_cause", "Choose the root cause: choose “Other”"
                                                   " and say in words if none fits"),
    ({"root_cause": "other", "root_cause_words": "  "}, "root_cause_words",
     "Say in words what caused it"),
    ({"resolution": ""}, "resolution", "Describe what was done to put things right"),
])
def test_bad_input_is_shown_beside_its_field_and_what_was_typed_is_kept(
        app, org, case, lists, sent, field, message):
    typed = {"resolution": RESOLUTION, "outcome": "partly_upheld",
             "root_cause": str(lists["missed"].id), "product": str(lists["parcel_plus"].id)}
    if sent.get("root_cause") == "other":
        sent = {**sent, "root_cause": str(lists["other"].id)}
    typed.update(sent)
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)

    response = sam.post(page_url(case, "resolve"), data={
        **version_fields(page, case), **{k: v for k, v in typed.items() if v is not None}})

    assert response.status_code == 422
    html = text_of(response)
    assert error_beside(html, field) == message
    assert message in error_summary(html)
    # The resolve section is open again, with everything as it was sent.
    assert re.search(r'<details class="case-actions__item" open>\s*<summary>Resolve', html)
    if field != "resolution":
        assert textarea_text(html, "resolution") == RESOLUTION
    if field != "outcome":
        assert checked_radio(html, "outcome") == "partly_upheld"
    if field != "root_cause":
        assert chosen_option(html, "root_cause") == typed["root_cause"]
    assert chosen_option(html, "product") == str(lists["parcel_plus"].id)
    assert_still_open_and_nothing_recorded(case)


def test_words_for_other_typed_beside_another_problem_are_kept(app, org, case, lists):
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)

    response = sam.post(page_url(case, "resolve"), data={
        **version_fields(page, case), "resolution": "", "outcome": "withdrawn",
        "root_cause": str(lists["other"].id), "root_cause_words": OTHER_WORDS,
    })

    assert response.status_code == 422
    html = text_of(response)
    assert textarea_text(html, "root_cause_words") == OTHER_WORDS
    assert checked_radio(html, "outcome") == "withdrawn"
    assert chosen_option(html, "root_cause") == str(lists["other"].id)


def test_resolving_through_the_form_stores_the_learning(app, org, case, lists):
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)

    response = sam.post(page_url(case, "resolve"), data={
        **version_fields(page, case), "resolution": RESOLUTION, "outcome": "withdrawn",
        "root_cause": str(lists["other"].id), "root_cause_words": OTHER_WORDS,
        "product": "0",
    })

    assert response.status_code == 302
    db.session.expire_all()
    assert case.status == CaseStatus.RESOLVED
    assert (case.outcome, case.root_cause, case.root_cause_words, case.product) == (
        "withdrawn", lists["other"], OTHER_WORDS, None)


def test_words_sent_with_a_cause_that_does_not_ask_for_them_are_not_stored(app, org, case,
                                                                         lists):
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)

    response = sam.post(page_url(case, "resolve"), data={
        **version_fields(page, case), "resolution": RESOLUTION, "outcome": "upheld",
        "root_cause": str(lists["missed"].id), "root_cause_words": OTHER_WORDS,
    })

    assert response.status_code == 302
    db.session.expire_all()
    assert case.root_cause == lists["missed"] and case.root_cause_words is None


def test_a_reopened_case_s_form_starts_from_what_was_recorded_and_takes_a_new_cause(
        app, org, case, lists):
    resolve(case, org.sam, outcome=Outcome.NOT_UPHELD, root_cause=lists["missed"],
            product=lists["parcel_plus"])
    services.commit()
    case_actions.change_status(case, CaseStatus.IN_PROGRESS, actor=org.sam)
    services.commit()
    sam = signed_in_client(app, org.sam)

    page = sam.get(page_url(case)).get_data(as_text=True)

    assert checked_radio(page, "outcome") == "not_upheld"
    assert chosen_option(page, "root_cause") == str(lists["missed"].id)
    assert chosen_option(page, "product") == str(lists["parcel_plus"].id)

    response = sam.post(page_url(case, "resolve"), data={
        **version_fields(page, case), "resolution": "Refunded after all.", "outcome": "upheld",
        "root_cause": str(lists["tariff"].id), "product": "0",
    })

    assert response.status_code == 302
    db.session.expire_all()
    assert case.status == CaseStatus.RESOLVED and case.resolution == "Refunded after all."
    assert (case.outcome, case.root_cause, case.product) == ("upheld", lists["tariff"], None)


# --- Who may resolve --------------------------------------------------------------------------


def complete_form(app, case, lists) -> dict:
    """Everything a valid resolution sends, read from the owner's page."""
    page = signed_in_client(app, case.owner).get(page_url(case)).get_data(as_text=True)
    return {**version_fields(page, case), "resolution": RESOLUTION, "outcome": "upheld",
            "root_cause": str(lists["missed"].id), "product": str(lists["parcel_plus"].id)}


def test_a_colleague_who_does_not_own_the_case_cannot_resolve_it(app, org, case, lists):
    form = complete_form(app, case, lists)
    priya = signed_in_client(app, org.priya)

    page = text_of(priya.get(page_url(case)))
    response = priya.post(page_url(case, "resolve"), data=form)

    assert "Resolve and tell the customer" not in page
    assert 'id="root_cause"' not in page
    assert response.status_code == 403
    assert_still_open_and_nothing_recorded(case)


def test_a_manager_can_resolve_a_case_they_do_not_own(app, org, case, lists):
    form = complete_form(app, case, lists)

    response = signed_in_client(app, org.manager).post(page_url(case, "resolve"), data=form)

    assert response.status_code == 302
    db.session.expire_all()
    assert case.status == CaseStatus.RESOLVED
    assert (case.root_cause, case.product, case.outcome) == (
        lists["missed"], lists["parcel_plus"], "upheld")
    [resolved] = events_of(case, EventKind.RESOLVED)
    assert resolved.actor == org.manager
    assert len(resolved_emails()) == 1
