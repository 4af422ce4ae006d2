"""Text limits: named in the message, shown in the page from the validator, nothing cut."""

import re

from flask import render_template_string
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField

from backoffice.case_forms import ComposerForm
from backoffice.coordination_forms import SettleCommitmentForm, TaskUpdateForm
from shared import services
from shared.extensions import db
from shared.form_limits import MaxLength
from shared.models import Case
from shared.services import commitments as commitment_actions
from shared.services import tasks as task_actions
from tests import factories
from tests.support.html import (
    error_beside,
    error_summary,
    field_block,
    hidden_value,
    text_of,
    textarea_text,
)
from tests.support.pages import page_url


def complaint(org, **changes):
    data = {
        "name": "Alex Carter",
        "email": "alex@example.com",
        "category": str(org.delivery.id),
        "description": "The parcel was left in the rain.",
    }
    data.update(changes)
    return data


def test_a_text_over_its_limit_is_refused_by_name_and_kept_whole(client, org):
    too_long = "The courier left it in the rain. " * 303 + "End."  # 10,003 characters

    response = client.post("/complaints/new", data=complaint(org, description=too_long))

    assert response.status_code == 422
    html = text_of(response)
    message = "What happened can be at most 10,000 characters."
    assert error_beside(html, "description") == message
    assert message in error_summary(html)
    assert textarea_text(html, "description") == too_long.strip()  # nothing cut
    assert db.session.scalars(select(Case)).first() is None


def test_an_optional_field_is_named_without_its_optional_mark(client, org):
    response = client.post(
        "/complaints/new", data=complaint(org, desired_outcome="x" * 5001, on_behalf_of="y" * 121)
    )

    html = text_of(response)
    assert error_beside(html, "desired_outcome") == (
        "What would put it right can be at most 5,000 characters."
    )
    assert error_beside(html, "on_behalf_of") == "Their name can be at most 120 characters."


def test_the_complaint_form_shows_each_limit_from_its_validator(client, org):
    html = text_of(client.get("/complaints/new"))

    description = field_block(html, "description")
    textarea = re.search(r"<textarea[^>]*>", description).group(0)
    assert 'data-maxlength="10000"' in textarea
    # No hard maxlength on a textarea: the browser would cut pasted text without a word.
    assert " maxlength=" not in textarea
    assert "description-count" in re.search(r'aria-describedby="([^"]*)"', textarea).group(1)
    assert "You can enter up to 10,000 characters" in description
    assert 'id="description-count-status" aria-live="polite"' in description
    assert 'maxlength="120"' in field_block(html, "name")


def test_the_limit_shown_follows_the_validator_and_no_template_repeats_it(app):
    class NoteForm(FlaskForm):
        note = TextAreaField("Your note (optional)", validators=[MaxLength(1234)])
        title = StringField("Title", validators=[MaxLength(56)])

    with app.test_request_context():
        html = render_template_string(
            '{% from "_macros/forms.html" import field %}{{ field(form.note) }}'
            "{{ field(form.title) }}",
            form=NoteForm(formdata=None),
        )

    assert 'data-maxlength="1234"' in html
    assert "You can enter up to 1,234 characters" in html
    assert 'maxlength="56"' in html


def test_the_reply_box_counts_towards_its_limit(login_as, customer, case):
    html = text_of(login_as(customer).get(f"/cases/{case.reference}"))

    assert 'data-maxlength="10000"' in field_block(html, "body")
    assert "You can enter up to 10,000 characters" in field_block(html, "body")


# --- Back office textareas written by hand: the same limit, counter and refusal -----------------


def promise_and_task(case, org):
    promise = commitment_actions.make_commitment(
        case, actor=org.sam, description="call you", due_at=factories.in_hours(5)
    )
    task = task_actions.create_task(
        case,
        actor=org.sam,
        title="Refund the postage",
        due_at=factories.in_hours(24),
        team=org.billing,
    )
    services.commit()
    return promise, task


def composer_fields(client, case, **fields):
    page = text_of(client.get(page_url(case)))
    action = page_url(case, "messages")
    return {
        "version": hidden_value(page, "version", action),
        "seen_event_id": hidden_value(page, "seen_event_id", action),
        **fields,
    }


def test_an_over_long_composer_message_is_refused_by_name_and_kept(login_as, case, org):
    client = login_as(org.sam)
    too_long = "We have asked the courier. " * 371  # 10,017 characters

    response = client.post(
        page_url(case, "messages"), data=composer_fields(client, case, kind="note", body=too_long)
    )

    assert response.status_code == 422
    html = text_of(response)
    assert error_beside(html, "composer-body") == "Your message can be at most 10,000 characters."
    assert textarea_text(html, "composer-body") == too_long.strip()


def test_an_over_long_settle_note_is_refused_by_name_and_kept(login_as, case, org):
    promise, _ = promise_and_task(case, org)
    too_long = "We called twice. " * 118  # 2,006 characters

    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/commitments/{promise.id}",
        data={"settle-outcome": "kept", "settle-note": too_long},
    )

    assert response.status_code == 422
    html = text_of(response)
    assert error_beside(html, f"settle-note-{promise.id}") == (
        "Note for the customer can be at most 2,000 characters."
    )
    assert textarea_text(html, f"settle-note-{promise.id}") == too_long.strip()


def test_an_over_long_task_outcome_is_refused_by_name_and_kept(login_as, case, org):
    _, task = promise_and_task(case, org)
    too_long = "Refunded the postage. " * 228  # 5,016 characters

    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/tasks/{task.id}",
        data={"task-update-status": "done", "task-update-outcome": too_long},
    )

    assert response.status_code == 422
    html = text_of(response)
    assert error_beside(html, f"task-update-{task.id}-outcome") == (
        "Progress or outcome can be at most 5,000 characters."
    )
    assert textarea_text(html, f"task-update-{task.id}-outcome") == too_long.strip()




def counted_textarea(html: str, textarea_id: str) -> tuple[str, str]:
    """The textarea's limit, and the text of the counter its aria-describedby names."""
    tag = re.search(rf'<textarea[^>]*\bid="{re.escape(textarea_id)}"[^>]*>', html)
    assert tag, f"no textarea {textarea_id}"
    limit = re.search(r'data-maxlength="(\d+)"', tag.group(0))
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    counter_id = f"{textarea_id}-count"
    assert described and counter_id in described.group(1).split()
    counter = re.search(rf'<p class="char-count" id="{counter_id}">([^<]*)</p>', html)
    assert counter, f"no counter {counter_id}"
    assert f'id="{counter_id}-status" aria-live="polite"' in html
    return (limit.group(1) if limit else ""), counter.group(1)


def test_the_case_page_textareas_written_by_hand_count_towards_their_limits(
    app, login_as, case, org
):
    promise, task = promise_and_task(case, org)
    with app.test_request_context():
        limits = {
            "composer-body": ComposerForm(formdata=None).body.flags.maxlength,
            f"settle-note-{promise.id}": SettleCommitmentForm(formdata=None).note.flags.maxlength,
            f"task-update-{task.id}-outcome": TaskUpdateForm(
                formdata=None
            ).outcome.flags.maxlength,
        }

    html = text_of(login_as(org.sam).get(page_url(case)))

    for textarea_id, limit in limits.items():
        shown, counter = counted_textarea(html, textarea_id)
        assert shown == str(limit), textarea_id
        assert counter == f"You can enter up to {limit:,} characters"


def test_a_saved_reply_swapped_into_the_composer_keeps_its_counter(login_as, case, org):
    client = login_as(org.sam)
    swap = client.get(
        page_url(case, "saved-reply"),
        query_string={"saved_reply": "", "body": "My draft"},
        headers={"HX-Request": "true", "HX-Target": "composer-body"},
    )

    tag = re.search(r'<textarea[^>]*\bid="composer-body"[^>]*>', text_of(swap)).group(0)
    assert 'data-maxlength="10000"' in tag
    # The counter stays in the page, outside the swapped textarea, and the new one names it.
    assert "composer-body-count" in re.search(r'aria-describedby="([^"]*)"', tag).group(1)
