"""The staff case page: who, what they want, the clocks, the timeline and one composer, with
the owner's actions beside them.

Every form that changes a case carries the version of the case its writer saw. A save over
someone else's change is refused with 409, the page shows what changed, and everything the
writer typed is kept for a second send.
"""

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from backoffice import bp
from backoffice.case_forms import (
    NOTE,
    UPDATE,
    AcknowledgeForm,
    ComposerForm,
    PriorityForm,
    RedressForm,
    RemoveRedressForm,
    StatusForm,
    TransferForm,
    resolve_form_for,
)
from shared import presentation, queries, services
from shared.extensions import db, htmx
from shared.models import (
    REPRESENTATIVE_RELATIONSHIPS,
    Attachment,
    Case,
    CaseStatus,
    EventKind,
    Priority,
    Product,
    Redress,
    RedressState,
    RootCause,
    User,
)
from shared.permissions import can_coordinate, staff_required
from shared.services import RuleViolation, messages, ownership, presence
from shared.services import cases as case_actions
from shared.services import escalations as escalation_actions
from shared.services import redress as redress_actions
from shared.services.attachments import attachment_path, chosen_files

# The id htmx sends as HX-Target when the timeline refreshes itself.
TIMELINE_TARGET = "staff-timeline"


# --- Reading the case --------------------------------------------------------------------------


@bp.get("/cases/<reference>")
@staff_required()
def case(reference):
    case = queries.staff_case_or_404(reference)
    if htmx and htmx.target == TIMELINE_TARGET:
        return _timeline_partial(case)
    return _render_case(case)


def _timeline_partial(case: Case):
    events = queries.staff_timeline(case.id)
    newest_event_id = events[-1].id if events else 0
    # Nothing new: leave the page alone (a swap would also move keyboard focus).
    if request.args.get("newest", type=int) == newest_event_id:
        return "", 204
    return render_template(
        "backoffice/_partials/_case_timeline.html",
        case=case,
        events=events,
        newest_event_id=newest_event_id,
    )


def _render_case(case: Case, status: int = 200, *, submitted: dict | None = None,
                 conflict: bool = False):
    """The full page. `submitted` holds the form that was sent, with what was typed in it;
    after a conflict its version fields are renewed so that sending it again goes through."""
    events = queries.staff_timeline(case.id)
    newest_event_id = events[-1].id if events else 0
    coordinator = can_coordinate(current_user, case)
    fresh = {"version": str(case.version), "seen_event_id": str(newest_event_id)}

    forms = {"composer_form": ComposerForm(formdata=None, **fresh)}
    if coordinator:
        forms.update(
            acknowledge_form=AcknowledgeForm(formdata=None, **fresh),
            status_form=StatusForm(formdata=None, case=case, **fresh),
            priority_form=PriorityForm(formdata=None, case=case, priority=case.priority, **fresh),
            resolve_form=resolve_form_for(case, formdata=None, **fresh),
            transfer_form=TransferForm(
                formdata=None, candidates=ownership.transfer_candidates(case), **fresh
            ),
        )

    conflict_events = []
    for name, form in (submitted or {}).items():
        form.kept_input = True  # its section opens, showing what was typed
        if conflict:
            seen = form.submitted_seen_event_id()
            if seen is not None:
                conflict_events = [event for event in events if event.id > seen]
            form.refresh_version(case.version, newest_event_id)
        forms[name] = form

    created = next((event for event in events if event.kind == "created"), None)
    return (
        render_template(
            "backoffice/case.html",
            case=case,
            events=events,
            newest_event_id=newest_event_id,
            created_event=created,
            clocks=presentation.staff_clocks(case),
            coordinator=coordinator,
            case_redress=_redress_for_section(case, events),
            representative_words=_representative_words(case),
            priority_label=Priority(case.priority).label,
            conflict=conflict,
            conflict_events=conflict_events,
            **forms,
        ),
        status,
    )


def _representative_words(case: Case) -> str | None:
    """"A relative" -> "a relative": read after the contact's name."""
    if not case.on_behalf_of:
        return None
    words = REPRESENTATIVE_RELATIONSHIPS.get(case.representative_relationship or "", "")
    return words[:1].lower() + words[1:] if words else None


# --- Changing the case -------------------------------------------------------------------------


def _change_case(reference, form_name, make_form, action, *, success, field_names=None,
                 coordinate=True):
    """The shape of every change on the case page: permission, validation, the version
    check, one service call, commit, then back to the page (or the page again, with input).

    `make_form(case)` builds the submitted form; `action(case, form)` calls the service and
    may return the id of the element to show (an anchor) when the page is loaded again.
    """
    case = queries.staff_case_or_404(reference)
    if coordinate and not can_coordinate(current_user, case):
        abort(403)
    form = make_form(case)
    valid = form.validate_on_submit()
    if form.submitted_version() != case.version:
        # The form was written against a case that has since changed: that comes first. Its
        # own errors may only come from the change (a status that is no longer a choice).
        _forget_errors(form)
        return _render_case(case, 409, submitted={form_name: form}, conflict=True)
    if not valid:
        return _render_case(case, 422, submitted={form_name: form})
    try:
        anchor = action(case, form)
        services.commit()
    except RuleViolation as violation:
        services.rollback()
        _show_rule_violation(form, violation, field_names or {})
        return _render_case(queries.staff_case_or_404(reference), 422,
                            submitted={form_name: form})
    except StaleDataError:
        # Someone saved between our read and our write: the version column caught it.
        services.rollback()
        return _render_case(queries.staff_case_or_404(reference), 409,
                            submitted={form_name: form}, conflict=True)
    message = success(case, form) if callable(success) else success
    flash(message, "success")
    return redirect(url_for("backoffice.case", reference=case.reference, _anchor=anchor))


def _forget_errors(form) -> None:
    for field in form:
        field.errors = []
    form.form_errors.clear()


def _show_rule_violation(form, violation: RuleViolation, field_names: dict) -> None:
    name = field_names.get(violation.field, violation.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, violation.message]
    else:
        form.form_errors.append(violation.message)


def _composer_form(case: Case) -> ComposerForm:
    form = ComposerForm()
    # Browsers cannot keep chosen files when the page comes back with a problem: say so.
    form.dropped_files = [upload.filename for upload in chosen_files(form.attachments.data)]
    return form


def _write(case: Case, form: ComposerForm) -> str:
    files = chosen_files(form.attachments.data)
    if form.kind.data == NOTE:
        event = messages.add_internal_note(
            case, actor=current_user, body=form.body.data, attachments=files
        )
    else:
        event = messages.post_update(
            case, actor=current_user, body=form.body.data, attachments=files
        )
    presence.report_presence(case, current_user, composing=False)
    db.session.flush()
    return f"event-{event.id}"


@bp.post("/cases/<reference>/messages")
@staff_required()
def case_compose(reference):
    """One composer: an update to the customer (owner or manager) or an internal note
    (any staff). The refusal of an update comes first, whatever was typed."""
    writing_update = ComposerForm.kind_sent(request.form) == UPDATE
    return _change_case(
        reference,
        "composer_form",
        _composer_form,
        _write,
        success=lambda case, form: (
            "Internal note added. The customer cannot see it."
            if form.kind.data == NOTE
            else f"Update sent to {case.contact_name}."
        ),
        coordinate=writing_update,
    )


@bp.post("/cases/<reference>/acknowledge")
@staff_required()
def case_acknowledge(reference):
    return _change_case(
        reference,
        "acknowledge_form",
        lambda case: AcknowledgeForm(),
        lambda case, form: case_actions.acknowledge_case(case, actor=current_user),
        success="Acknowledged. The customer sees this in the portal.",
    )


@bp.post("/cases/<reference>/status")
@staff_required()
def case_status(reference):
    return _change_case(
        reference,
        "status_form",
        lambda case: StatusForm(case=case),
        lambda case, form: case_actions.change_status(
            case, CaseStatus(form.status.data), actor=current_user
        ),
        success="Status changed. The customer sees the new status in the portal.",
    )


@bp.post("/cases/<reference>/priority")
@staff_required()
def case_priority(reference):
    return _change_case(
        reference,
        "priority_form",
        lambda case: PriorityForm(case=case),
        lambda case, form: case_actions.change_priority(
            case, Priority(form.priority.data), actor=current_user,
            reason=form.priority_reason.data,
        ),
        success="Priority changed. If the dates moved, the customer has been emailed the new"
        " ones.",
        field_names={"reason": "priority_reason"},
    )


@bp.post("/cases/<reference>/resolve")
@staff_required()
def case_resolve(reference):
    return _change_case(
        reference,
        "resolve_form",
        resolve_form_for,
        lambda case, form: case_actions.resolve_case(
            case,
            actor=current_user,
            resolution=form.resolution.data,
            outcome=form.outcome.data,
            root_cause=db.session.get(RootCause, form.root_cause.data)
            if form.root_cause.data else None,
            root_cause_words=form.root_cause_words.data or "",
            product=db.session.get(Product, form.product.data) if form.product.data else None,
            promises=form.settlements("promise"),
            tasks=form.settlements("task"),
        ),
        success=lambda case, form: f"Resolved. {case.contact_name} has been thanked and told"
        " what was done.",
    )


# --- Redress: the remedies given ---------------------------------------------------------------


@bp.context_processor
def redress_helpers():
    """What the redress section and the escalation decision page read, wherever included."""
    return {
        "redress_of": _redress_for_section,
        "can_decide_escalations": escalation_actions.can_decide_escalations,
        "redress_words": redress_actions.redress_words,
        "redress_state_words": redress_actions.state_words,
        "redress_amount_words": redress_actions.amount_words,
        "redress_limit_words": redress_actions.limit_words,
        "redress_approval_needed_words": redress_actions.approval_needed_words,
        "new_redress_form": lambda: RedressForm(formdata=None),
    }


def _redress_for_section(case: Case, events=None) -> list[Redress]:
    # The case page has read the whole timeline already, and every remedy recorded is on it:
    # with none there, there is nothing to load, and the page keeps its query budget.
    if events is not None and not any(
        event.kind == EventKind.REDRESS_RECORDED for event in events
    ):
        return []
    return redress_actions.redress_of(case)


@bp.post("/cases/<reference>/redress")
@staff_required()
def add_redress(reference):
    """Record a remedy; above the recorder's limit it goes to a manager for approval."""
    case = queries.staff_case_or_404(reference)
    if not can_coordinate(current_user, case):
        abort(403)
    form = RedressForm()
    if form.validate_on_submit():
        try:
            redress = redress_actions.record_redress(
                case,
                actor=current_user,
                kind=form.kind.data,
                description=form.description.data,
                amount_minor=form.amount_minor,
                currency=form.currency.data if form.amount_minor is not None else None,
                beyond_request=form.beyond_request.data,
            )
            services.commit()
        except RuleViolation as violation:
            services.rollback()
            _show_rule_violation(form, violation, {})
        else:
            if redress.state == RedressState.AWAITING_APPROVAL:
                flash(
                    f"Recorded: {redress_actions.redress_words(redress)}. It is above your limit"
                    f" of {redress_actions.limit_words(current_user)}, so a manager must approve"
                    " it before you can resolve the case; they have been asked.",
                    "success",
                )
            else:
                flash(f"Recorded: {redress_actions.redress_words(redress)}. The customer reads"
                      " it when the case is resolved.", "success")
            return redirect(url_for("backoffice.case", reference=case.reference,
                                    _anchor="redress"))
    case = queries.staff_case_or_404(reference)
    return _render_case(case, 422, submitted={"redress_form": form})


@bp.post("/cases/<reference>/redress/<id:redress_id>/remove")
@staff_required()
def remove_redress(reference, redress_id):
    case = queries.staff_case_or_404(reference)
    if not can_coordinate(current_user, case):
        abort(403)
    redress = db.session.get(Redress, redress_id)
    if redress is None or redress.case_id != case.id:
        abort(404)
    form = RemoveRedressForm()
    if not form.validate_on_submit():
        flash("This form expired. Please remove the remedy again.", "error")
        return redirect(url_for("backoffice.case", reference=case.reference, _anchor="redress"))
    words = redress_actions.redress_words(redress)
    try:
        redress_actions.remove_redress(redress, actor=current_user)
        services.commit()
    except RuleViolation as violation:
        services.rollback()
        flash(violation.message, "error")
    else:
        flash(f"Removed: {words}.", "success")
    return redirect(url_for("backoffice.case", reference=case.reference, _anchor="redress"))


@bp.post("/cases/<reference>/owner")
@staff_required()
def case_transfer(reference):
    return _change_case(
        reference,
        "transfer_form",
        lambda case: TransferForm(candidates=ownership.transfer_candidates(case)),
        lambda case, form: ownership.transfer_owner(
            case,
            actor=current_user,
            new_owner=db.session.get(User, form.new_owner.data),
            reason=form.transfer_reason.data,
        ),
        success=lambda case, form: f"{case.owner.name} now looks after this case. The customer"
        " has been told.",
        field_names={"reason": "transfer_reason"},
    )


# --- Someone else is here ----------------------------------------------------------------------


@bp.post("/cases/<reference>/presence")
@staff_required()
def case_presence(reference):
    """htmx: note that this person has the case open (and whether they are writing), and
    show who else has. 204 when that is what the page already shows."""
    case = _case_or_404(reference)
    composing = request.form.get("composing")
    presence.report_presence(
        case, current_user, composing=None if composing is None else composing == "1"
    )
    services.commit()
    others = presence.others_present(case, current_user)
    shown = "; ".join(person.words for person in others)
    if request.form.get("shown") == shown:
        return "", 204
    return render_template("backoffice/_partials/_presence.html", others=others, shown=shown)


def _case_or_404(reference: str) -> Case:
    case = db.session.scalars(select(Case).where(Case.reference == reference.upper())).first()
    if case is None:
        abort(404)
    return case


# --- Files -------------------------------------------------------------------------------------


@bp.get("/cases/<reference>/files/<id:attachment_id>")
@staff_required()
def case_attachment(reference, attachment_id):
    stored = db.session.scalars(
        select(Attachment)
        .join(Case, Attachment.case_id == Case.id)
        .where(Attachment.id == attachment_id, Case.reference == reference.upper())
    ).first()
    if stored is None:
        abort(404)
    response = send_file(
        attachment_path(stored),
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.original_name,
        max_age=0,
    )
    # Never rendered as a page of ours, whatever is inside it.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
