"""Coordinating a case: what we understand, remedies, promises, tasks, merging, the debrief.

The case page (backoffice.case) includes this area's partials; their forms post here. A view
reads the request, calls one service, commits and goes back to the case page; when something
needs fixing, it shows that one section again with the messages and everything typed (422).
"""

from flask import Response, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from backoffice import bp
from backoffice.coordination_forms import (
    CommitmentForm,
    MergeForm,
    OfferOptionsForm,
    SettleCommitmentForm,
    TaskForm,
    TaskUpdateForm,
    UnderstandingForm,
)
from backoffice.navigation import add_nav_item
from shared import debrief, queries, services
from shared.extensions import db
from shared.models import CommitmentState, TaskStatus, Team, User, utcnow
from shared.permissions import can_coordinate, can_work_on_task, staff_required
from shared.services import RuleViolation, merging
from shared.services import commitments as commitment_actions
from shared.services import remedies as remedy_actions
from shared.services import tasks as task_actions
from shared.services import understanding as understanding_actions

add_nav_item("backoffice.my_tasks", "My tasks", order=20)

# Each section of the case page this area owns: its partial, heading and anchor.
SECTIONS = {
    "understanding": ("backoffice/_partials/_understanding.html", "What we understand"),
    "options": ("backoffice/_partials/_options.html", "Ways to put it right"),
    "commitments": ("backoffice/_partials/_commitments.html", "Promises to the customer"),
    "tasks": ("backoffice/_partials/_tasks.html", "Tasks"),
    "case-tools": ("backoffice/_partials/_case_tools.html", "Merge and debrief"),
}


# --- What the partials need, wherever they are included -------------------------------------


@bp.context_processor
def coordination_helpers():
    return {
        "new_understanding_form": lambda case: UnderstandingForm(
            formdata=None, data={"text": case.understanding or ""}
        ),
        "new_options_form": lambda: OfferOptionsForm(formdata=None),
        "new_commitment_form": lambda case: _with_zone_hint(CommitmentForm(formdata=None), case),
        "new_task_form": lambda case: _with_zone_hint(_new_task_form(), case),
        "new_merge_form": lambda: MergeForm(formdata=None),
        # The settle note and the task outcome are written by hand: their limits come from here.
        "new_settle_form": lambda: SettleCommitmentForm(formdata=None),
        "new_task_update_form": lambda: TaskUpdateForm(formdata=None),
        "chosen_option": remedy_actions.chosen_option,
        "commitment_overdue": commitment_actions.is_overdue,
        "task_overdue_words": _task_overdue_words,
        "task_assignee_words": task_actions.assignee_words,
        "task_next_statuses": _next_statuses,
    }


def _with_zone_hint(form, case):
    zone_hint(form.due_at, case)
    return form


def zone_hint(field, case) -> None:
    """Times are typed on the case calendar's wall clock: say which one, beside the field.
    No example format: the browser's own date control shows the day in the reader's format."""
    zone_label = case.category.service_level.calendar.zone_label
    field.description = f"A day and a time, in {zone_label}."


def _new_task_form() -> TaskForm:
    form = TaskForm(formdata=None)
    form.set_choices(*task_choices())
    return form


def task_choices() -> tuple[list[Team], list[User]]:
    # Read once per request however many times the page asks. A team with nobody active in
    # it could not do the work, so the teams on offer are those of the active staff.
    if "task_choices" not in g:
        staff = queries.assignable_staff()
        teams = sorted({p.team for p in staff if p.team is not None}, key=lambda t: t.name)
        g.task_choices = (teams, staff)
    return g.task_choices


def _task_overdue_words(task) -> str | None:
    return task_actions.overdue_words(task.due_at) if task.is_open else None


def _next_statuses(task, user) -> list[TaskStatus]:
    """The statuses this person may move the task to, its current one first (a note only)."""
    current = TaskStatus(task.status)
    allowed = [
        s for s in task_actions.TASK_TRANSITIONS[current]
        if s != TaskStatus.CANCELLED or can_coordinate(user, task.case)
    ]
    return [current, *sorted(allowed, key=list(TaskStatus).index)]


# --- Shared shape of the actions --------------------------------------------------------------


def _case_for(reference):
    """A case this person coordinates (its owner, or a manager): anyone else gets 403."""
    case = queries.staff_case_or_404(reference)
    if not can_coordinate(current_user, case):
        abort(403)
    return case


def _case_page(case, section: str) -> str:
    return url_for("backoffice.case", reference=case.reference, _anchor=section)


def _show_rule_violation(form, violation: RuleViolation) -> None:
    field = getattr(form, violation.field, None) if violation.field else None
    if field is not None:
        field.errors = [*field.errors, violation.message]
    else:
        form.form_errors.append(violation.message)


def _section_page(case, section: str, status: int = 422, **context):
    template, heading = SECTIONS[section]
    return render_template(
        "backoffice/case_section.html",
        case=case,
        section=section,
        section_template=template,
        heading=heading,
        **context,
    ), status


def _act(reference, section, form_name, form, action, success, *, prepare=None):
    """Validate, act, commit and go back to the case; or show the section again to fix."""
    case = _case_for(reference)
    if prepare:
        prepare(case)
    if form.validate_on_submit():
        try:
            action(case)
        except RuleViolation as violation:
            services.rollback()
            case = _case_for(reference)
            _show_rule_violation(form, violation)
        else:
            services.commit()
            flash(success, "success")
            return redirect(_case_page(case, section))
    return _section_page(case, section, **{form_name: form})


def _zone_of(case):
    return case.category.service_level.calendar.zone


# --- What we understand -----------------------------------------------------------------------


@bp.post("/cases/<reference>/understanding")
@staff_required()
def propose_understanding(reference):
    form = UnderstandingForm()
    return _act(
        reference, "understanding", "understanding_form", form,
        lambda case: understanding_actions.propose_understanding(
            case, actor=current_user, text=form.text.data
        ),
        "Sent to the customer to confirm.",
    )


# --- Resolution options -----------------------------------------------------------------------


@bp.post("/cases/<reference>/options")
@staff_required()
def offer_options(reference):
    form = OfferOptionsForm()
    return _act(
        reference, "options", "options_form", form,
        lambda case: remedy_actions.offer_options(
            case, actor=current_user, descriptions=form.descriptions()
        ),
        "Offered to the customer: they have been emailed to choose.",
    )


@bp.post("/cases/<reference>/options/<id:option_id>/withdraw")
@staff_required()
def withdraw_option(reference, option_id):
    case = _case_for(reference)
    option = next((o for o in case.resolution_options if o.id == option_id), None)
    if option is None:
        abort(404)
    try:
        remedy_actions.withdraw_option(case, option, actor=current_user)
    except RuleViolation as violation:
        services.rollback()
        flash(violation.message, "error")
    else:
        services.commit()
        flash("The offer is withdrawn; the customer can see that on their timeline.", "success")
    return redirect(_case_page(case, "options"))


# --- Commitments ------------------------------------------------------------------------------


@bp.post("/cases/<reference>/commitments")
@staff_required()
def make_commitment(reference):
    form = CommitmentForm()
    return _act(
        reference, "commitments", "commitment_form", form,
        lambda case: commitment_actions.make_commitment(
            case,
            actor=current_user,
            description=form.description.data,
            due_at=form.due_at.in_zone(_zone_of(case)),
        ),
        "Promise recorded: the customer can see it.",
        prepare=lambda case: _with_zone_hint(form, case),
    )


@bp.post("/cases/<reference>/commitments/<id:commitment_id>")
@staff_required()
def settle_commitment(reference, commitment_id):
    case = _case_for(reference)
    commitment = next((c for c in case.commitments if c.id == commitment_id), None)
    if commitment is None:
        abort(404)
    form = SettleCommitmentForm()
    if form.validate_on_submit():
        try:
            commitment_actions.settle_commitment(
                case, commitment, actor=current_user,
                kept=form.outcome.data == CommitmentState.KEPT, note=form.note.data or "",
            )
        except RuleViolation as violation:
            services.rollback()
            case = _case_for(reference)
            _show_rule_violation(form, violation)
        else:
            services.commit()
            flash("Recorded: the customer can see it on their timeline.", "success")
            return redirect(_case_page(case, "commitments"))
    return _section_page(
        case, "commitments", settle_form=form, failed_commitment_id=commitment_id
    )


# --- Tasks ------------------------------------------------------------------------------------


@bp.post("/cases/<reference>/tasks")
@staff_required()
def create_task(reference):
    form = TaskForm()

    def create(case):
        team = db.session.get(Team, form.team.data) if form.team.data else None
        assignee = db.session.get(User, form.assignee.data) if form.assignee.data else None
        task_actions.create_task(
            case,
            actor=current_user,
            title=form.title.data,
            details=form.details.data or "",
            due_at=form.due_at.in_zone(_zone_of(case)),
            team=team,
            assignee=assignee,
        )

    return _act(
        reference, "tasks", "task_form", form, create,
        "Task given: whoever does it has been emailed. You stay the owner.",
        prepare=lambda case: _with_zone_hint(form, case).set_choices(*task_choices()),
    )


@bp.post("/cases/<reference>/tasks/<id:task_id>")
@staff_required()
def update_task(reference, task_id):
    case = queries.staff_case_or_404(reference)
    task = queries.task_of_case_or_404(case, task_id)
    if not can_work_on_task(current_user, task):
        abort(403)
    form = TaskUpdateForm()
    back_to_tasks = form.return_to.data == "tasks"
    if form.validate_on_submit():
        try:
            task_actions.update_task(
                task, actor=current_user, status=TaskStatus(form.status.data),
                outcome=form.outcome.data or "",
            )
        except RuleViolation as violation:
            services.rollback()
            case = queries.staff_case_or_404(reference)
            _show_rule_violation(form, violation)
        else:
            services.commit()
            flash(f"Task “{task.title}” updated.", "success")
            if back_to_tasks:
                return redirect(url_for("backoffice.my_tasks", _anchor=f"task-{task_id}"))
            return redirect(_case_page(case, f"task-{task_id}"))
    return _section_page(case, "tasks", task_update_form=form, failed_task_id=task_id)


@bp.get("/tasks")
@staff_required()
def my_tasks():
    tasks = queries.tasks_for_staff(current_user)
    return render_template(
        "backoffice/my_tasks.html",
        open_tasks=[t for t in tasks if t.is_open],
        finished_tasks=[t for t in tasks if not t.is_open],
        now=utcnow(),
    )


# --- Merge ------------------------------------------------------------------------------------


@bp.post("/cases/<reference>/merge")
@staff_required()
def merge_case(reference):
    form = MergeForm()

    def merge(case):
        target = queries.case_by_reference(form.target_reference.data)
        merging.merge_case(case, target, actor=current_user)

    return _act(
        reference, "case-tools", "merge_form", form, merge,
        "Merged. This case is closed and its reference now leads to the case that carries on.",
    )


# --- Debrief ----------------------------------------------------------------------------------


@bp.get("/cases/<reference>/debrief")
@staff_required()
def debrief_page(reference):
    case = queries.staff_case_or_404(reference)
    events = queries.staff_timeline(case.id)
    return render_template(
        "backoffice/debrief.html",
        case=case,
        frames=debrief.time_frame_rows(case),
        rows=debrief.timeline_rows(case, events),
    )


@bp.get("/cases/<reference>/debrief.csv")
@staff_required()
def debrief_csv(reference):
    case = queries.staff_case_or_404(reference)
    rows = debrief.timeline_rows(case, queries.staff_timeline(case.id))
    return Response(
        debrief.debrief_csv(case, rows),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{case.reference}-debrief.csv"'
        },
    )
