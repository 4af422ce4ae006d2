"""Escalations: asking on the case page, and the managers' approvals queue and decisions.

The case page includes the escalation partial; its forms post here. Deciding happens on a
page of its own per escalation, reached from the approvals queue. A view reads the request,
calls one service, commits and redirects; when something needs fixing it shows the form
again with the messages and everything typed (422); when another manager decided first, it
says what they decided and keeps what this one typed (409).
"""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from backoffice import bp
from backoffice.coordination import task_choices, zone_hint
from backoffice.escalation_forms import (
    ApproveEscalationForm,
    RejectEscalationForm,
    RequestEscalationForm,
    WithdrawEscalationForm,
)
from backoffice.navigation import add_nav_item
from shared import presentation, queries, services
from shared.extensions import db
from shared.models import (
    ESCALATION_NEEDS,
    Escalation,
    EscalationStatus,
    EventKind,
    Team,
    User,
)
from shared.permissions import can_coordinate, staff_required
from shared.services import RuleViolation
from shared.services import escalations as escalation_actions
from shared.services import redress as redress_actions
from shared.services.escalations import TaskToGive

add_nav_item(
    "backoffice.approvals", "Approvals", order=25,
    shown_to=escalation_actions.can_decide_escalations, count=escalation_actions.waiting_count,
)

SECTION_TEMPLATE = "backoffice/_partials/_escalation.html"
ESCALATION_EVENT_KINDS = frozenset({
    EventKind.ESCALATION_PROPOSED, EventKind.ESCALATION_REQUESTED,
    EventKind.ESCALATION_APPROVED, EventKind.ESCALATION_REJECTED,
    EventKind.ESCALATION_WITHDRAWN,
})
STATUS_WORDS = {
    EscalationStatus.PROPOSED: ("Suggested", "tag--at-risk"),
    EscalationStatus.PENDING: ("Waiting for a decision", "tag--at-risk"),
    EscalationStatus.APPROVED: ("Approved", "tag--done"),
    EscalationStatus.REJECTED: ("Not approved", "tag--neutral"),
    EscalationStatus.WITHDRAWN: ("Withdrawn", "tag--neutral"),
}


# --- What the partial needs, wherever it is included ------------------------------------------


@bp.context_processor
def escalation_helpers():
    return {
        "escalations_of": _escalations_for_panel,
        "new_escalation_form": lambda: RequestEscalationForm(formdata=None),
        "escalation_needs": ESCALATION_NEEDS,
        "escalation_status_words": lambda escalation: STATUS_WORDS[
            EscalationStatus(escalation.status)
        ],
        "may_decide_escalation": escalation_actions.may_decide,
        "may_withdraw_escalation": _may_withdraw,
    }


def _escalations_for_panel(case, events=None) -> list[Escalation]:
    # The case page has read the whole timeline already, and every escalation step is on it:
    # with none there, there is nothing to load, and the page keeps its query budget.
    if events is not None and not any(
        event.kind in ESCALATION_EVENT_KINDS for event in events
    ):
        return []
    return escalation_actions.escalations_of(case)


def _may_withdraw(user, escalation) -> bool:
    return escalation.is_open and (
        escalation.requested_by_id == user.id or can_coordinate(user, escalation.case)
    )


def _show_rule_violation(form, violation: RuleViolation, field_names: dict | None = None):
    name = (field_names or {}).get(violation.field, violation.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, violation.message]
    else:
        form.form_errors.append(violation.message)


def _case_page(case, anchor: str = "escalation") -> str:
    return url_for("backoffice.case", reference=case.reference, _anchor=anchor)


# --- Asking, on the case page -----------------------------------------------------------------


@bp.post("/cases/<reference>/escalations")
@staff_required()
def request_escalation(reference):
    case = queries.staff_case_or_404(reference)
    if not can_coordinate(current_user, case):
        abort(403)
    form = RequestEscalationForm()
    if form.validate_on_submit():
        try:
            escalation_actions.request_escalation(
                case,
                actor=current_user,
                level=form.level.data,
                reason=form.reason.data,
                needs=form.needs.data,
                needs_details=form.needs_details.data or "",
            )
        except RuleViolation as violation:
            services.rollback()
            case = queries.staff_case_or_404(reference)
            _show_rule_violation(form, violation)
        else:
            services.commit()
            flash("Escalation requested: the managers who can decide it have been told.",
                  "success")
            return redirect(_case_page(case))
    return render_template(
        "backoffice/case_section.html",
        case=case,
        section="escalation",
        section_template=SECTION_TEMPLATE,
        heading="Escalation",
        escalation_form=form,
    ), 422


@bp.post("/cases/<reference>/escalations/<id:escalation_id>/withdraw")
@staff_required()
def withdraw_escalation(reference, escalation_id):
    case = queries.staff_case_or_404(reference)
    escalation = db.session.get(Escalation, escalation_id)
    if escalation is None or escalation.case_id != case.id:
        abort(404)
    if not (escalation.requested_by_id == current_user.id or can_coordinate(current_user, case)):
        abort(403)
    if WithdrawEscalationForm().validate_on_submit():
        try:
            escalation_actions.withdraw_escalation(escalation, actor=current_user)
        except RuleViolation as violation:
            services.rollback()
            flash(violation.message, "error")
        else:
            services.commit()
            flash("Escalation withdrawn.", "success")
    else:
        flash("This form expired. Please withdraw it again.", "error")
    return redirect(_case_page(case))


# --- The approvals queue ----------------------------------------------------------------------


def _decider_required():
    if not escalation_actions.can_decide_escalations(current_user):
        abort(403)


@bp.get("/approvals")
@staff_required()
def approvals():
    _decider_required()
    escalations, total = escalation_actions.approvals_for(current_user)
    return render_template(
        "backoffice/approvals.html",
        escalations=escalations,
        total=total,
        clock_of=_resolve_clock,
    )


def _resolve_clock(case):
    """The resolve clock, which is what escalation is about, for the queue's rows."""
    return next(clock for clock in presentation.staff_clocks(case) if clock.label == "Resolve")


# --- Deciding ---------------------------------------------------------------------------------


def _escalation_or_404(escalation_id) -> Escalation:
    escalation = db.session.get(Escalation, escalation_id)
    if escalation is None:
        abort(404)
    return escalation


def _approve_form(escalation, formdata=True) -> ApproveEscalationForm:
    form = ApproveEscalationForm() if formdata else ApproveEscalationForm(
        formdata=None, version=str(escalation.version)
    )
    senior, others = escalation_actions.owner_candidates(escalation)
    form.set_choices(
        senior=senior,
        others=others,
        teams=task_choices()[0],
        current_priority=escalation.case.priority,
    )
    zone_hint(form.task_due_at, escalation.case)
    zone_hint(form.agreed_resolve_by, escalation.case)
    return form


def _decision_page(escalation, status=200, *, approve_form=None, reject_form=None,
                   conflict=None, kept_note=None):
    decidable = escalation.status == EscalationStatus.PENDING and escalation_actions.may_decide(
        current_user, escalation
    )
    # Read here, for this one page, rather than in may_decide, which list pages call per row.
    asked_for_remedy = decidable and redress_actions.asked_for_redress(current_user, escalation)
    decidable = decidable and not asked_for_remedy
    redress_waiting = (
        redress_actions.redress_awaiting_decision(escalation)
        if escalation.status == EscalationStatus.PENDING else []
    )
    # Approving remedies alone is internal (see approve_escalation): the page says so.
    only_remedies = bool(redress_waiting) and escalation.needs == [redress_actions.GOODWILL_NEED]
    if decidable:
        approve_form = approve_form or _approve_form(escalation, formdata=False)
        reject_form = reject_form or RejectEscalationForm(
            formdata=None, version=str(escalation.version)
        )
        if only_remedies:
            approve_form.note.description = "Staff only: the person who asked reads it."
    return render_template(
        "backoffice/escalation_decision.html",
        escalation=escalation,
        case=escalation.case,
        decidable=decidable,
        asked_for_remedy=asked_for_remedy,
        redress_waiting=redress_waiting,
        only_remedies=only_remedies,
        approve_form=approve_form,
        reject_form=reject_form,
        clocks=presentation.staff_clocks(escalation.case),
        conflict=conflict,
        kept_note=kept_note,
        status_words=STATUS_WORDS[EscalationStatus(escalation.status)],
    ), status


@bp.get("/approvals/<id:escalation_id>")
@staff_required()
def escalation_decision(escalation_id):
    _decider_required()
    return _decision_page(_escalation_or_404(escalation_id))


def _decidable_or_403(escalation_id) -> Escalation:
    escalation = _escalation_or_404(escalation_id)
    if not escalation_actions.may_decide(current_user, escalation) or (
        escalation.status == EscalationStatus.PENDING
        and redress_actions.asked_for_redress(current_user, escalation)
    ):
        abort(403)
    return escalation


def _decide(escalation, form, form_name, action, success):
    """Validate, decide, commit; or the page again: 422 to fix, 409 when someone else
    decided first (their decision shown, this manager's note kept)."""
    escalation_id = escalation.id
    if not form.validate_on_submit():
        return _decision_page(escalation, 422, **{form_name: form})
    try:
        action(escalation, form)
        services.commit()
    except (RuleViolation, StaleDataError) as problem:
        services.rollback()
        escalation = _escalation_or_404(escalation_id)
        db.session.refresh(escalation)
        if (isinstance(problem, StaleDataError)
                or escalation.status != EscalationStatus.PENDING
                or escalation.version != form.submitted_version()):
            if escalation.status == EscalationStatus.PENDING:
                form.version.data = str(escalation.version)
                conflict = ("This escalation changed while you were deciding it: read it "
                            "again, then decide.")
                return _decision_page(escalation, 409, conflict=conflict, **{form_name: form})
            return _decision_page(
                escalation, 409,
                conflict=escalation_actions.already_decided_words(escalation),
                kept_note=form.note.data,
            )
        _show_rule_violation(form, problem, {"task_assignee": "task_team"})
        return _decision_page(escalation, 422, **{form_name: form})
    flash(success(escalation), "success")
    return redirect(url_for("backoffice.approvals"))


@bp.post("/approvals/<id:escalation_id>/approve")
@staff_required()
def approve_escalation(escalation_id):
    escalation = _decidable_or_403(escalation_id)
    form = _approve_form(escalation)
    customer_told = []

    def approve(escalation, form):
        case = escalation.case
        zone = case.category.service_level.calendar.zone
        tasks = []
        if form.task_title.data:
            tasks.append(TaskToGive(
                title=form.task_title.data,
                team=db.session.get(Team, form.task_team.data),
                due_at=form.task_due_at.in_zone(zone),
                details=form.task_details.data or "",
            ))
        customer_told.append(escalation_actions.approve_escalation(
            escalation,
            actor=current_user,
            note=form.note.data or "",
            expected_version=form.submitted_version(),
            new_owner=db.session.get(User, form.new_owner.data) if form.new_owner.data else None,
            handoff_reason=form.handoff_reason.data,
            tasks=tasks,
            new_priority=form.new_priority.data or None,
            agreed_resolve_by=form.agreed_resolve_by.in_zone(zone),
        ))

    def success(escalation):
        if customer_told[-1]:
            return (f"Approved: {escalation.case.reference} is escalated and the customer has"
                    " been told.")
        return (f"Approved: {_requester_name(escalation)} has been told. Approving money is"
                " internal: the customer reads the remedies given when the case is resolved.")

    return _decide(escalation, form, "approve_form", approve, success)


@bp.post("/approvals/<id:escalation_id>/reject")
@staff_required()
def reject_escalation(escalation_id):
    escalation = _decidable_or_403(escalation_id)
    form = RejectEscalationForm()
    return _decide(
        escalation, form, "reject_form",
        lambda escalation, form: escalation_actions.reject_escalation(
            escalation, actor=current_user, note=form.note.data,
            expected_version=form.submitted_version(),
        ),
        lambda escalation: f"Not approved: {_requester_name(escalation)} has been told why.",
    )


def _requester_name(escalation) -> str:
    return escalation.requested_by.name if escalation.requested_by else "The case owner"
