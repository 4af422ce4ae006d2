"""Problems in the back office: the list, opening one (from a case or a spike), its page with
the linked cases and their clocks, and the actions on it; and the case page's problems section.

Who may see and change a problem is written once, in shared/services/problems.py. A problem
this person may not see answers 404 (as if there were none); one they may see but not change
answers 403 to the change. Every change carries the version its writer saw: a change over
someone else's answers 409 with the page as it is now and what was typed kept.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from backoffice import bp
from backoffice.case_forms import ComposerForm
from backoffice.navigation import add_nav_item
from backoffice.problem_forms import (
    EditProblemForm,
    LinkCaseForm,
    LinkProblemForm,
    NewProblemForm,
    ProblemNoteForm,
    ProblemOwnerForm,
    ProblemStatusForm,
    UnlinkForm,
)
from backoffice.queues import STATE_TAGS
from shared import queries, queues, services
from shared.extensions import db, htmx
from shared.models import (
    OPEN_PROBLEM_STATUS_VALUES,
    OPEN_STATUS_VALUES,
    Case,
    Category,
    Problem,
    ProblemCase,
    ProblemEvent,
    ProblemStatus,
    Product,
    RootCause,
    Spike,
    Team,
    User,
)
from shared.permissions import can_coordinate, is_manager, staff_required
from shared.routing import database_id
from shared.services import RuleViolation
from shared.services import problems as problem_actions
from shared.services.problems import ProblemChangedMeanwhile

add_nav_item(
    "backoffice.problems", "Team problems", order=22,
    count=problem_actions.open_problems_for_team_count, count_words="open",
)

LIST_LIMIT = 200
LINKED_CASES_SHOWN = 200


# --- The case page's section -------------------------------------------------------------------


@bp.context_processor
def problem_helpers():
    return {
        "case_problems": _case_problems,
        "new_problem_link_form": lambda: LinkProblemForm(formdata=None),
        "new_unlink_form": lambda: UnlinkForm(formdata=None),
    }


def _case_problems(case: Case) -> dict:
    """What the case page's problems section shows: the problems the case is linked to, and
    open problems that share its cause, category or product (one statement)."""
    linked, suggestions = problem_actions.problems_for_case_page(case)
    return {"linked": linked, "suggestions": suggestions,
            "update_offered": problem_actions.fix_updates_offered(case, linked)}


# --- The list ----------------------------------------------------------------------------------


@bp.get("/problems")
@staff_required()
def problems():
    show_all = request.args.get("show") == "all" or current_user.team_id is None
    if show_all and not is_manager(current_user):
        show_all = False
    show_closed = request.args.get("closed") == "1"
    rows = _problem_rows(team_id=None if show_all else current_user.team_id,
                         include_closed=show_closed)
    return render_template(
        "backoffice/problems/list.html",
        rows=rows,
        show_all=show_all,
        show_closed=show_closed,
        may_see_all=is_manager(current_user),
        limit=LIST_LIMIT,
    )


def _problem_rows(*, team_id: int | None, include_closed: bool):
    """Problems with their linked and open case counts, in one statement."""
    counts = problem_actions.case_counts_subquery()
    statement = (
        select(Problem, counts.c.linked, counts.c.open_cases)
        .outerjoin(counts, counts.c.problem_id == Problem.id)
        .options(joinedload(Problem.owner), joinedload(Problem.team))
        .order_by(Problem.created_at.desc(), Problem.id.desc())
        .limit(LIST_LIMIT)
    )
    if team_id is not None:
        statement = statement.where(Problem.team_id == team_id)
    if not include_closed:
        statement = statement.where(Problem.status.in_(OPEN_PROBLEM_STATUS_VALUES))
    return [(problem, linked or 0, open_cases or 0)
            for problem, linked, open_cases in db.session.execute(statement).all()]


# --- Opening a problem -------------------------------------------------------------------------


@bp.route("/problems/new", methods=["GET", "POST"])
@staff_required()
def new_problem():
    if request.method == "GET":
        form = NewProblemForm(formdata=None, data=_draft_from_request())
        return _new_page(form)
    form = NewProblemForm()
    if not form.validate_on_submit():
        return _new_page(form, 422)
    spike = None
    if form.spike_id() is not None:
        spike = db.session.get(Spike, form.spike_id())
        if spike is None or not is_manager(current_user):
            abort(404)
    found, missing = _cases_by_reference(form.case_references())
    if missing:
        form.cases.errors = [*form.cases.errors, _missing_words(missing)]
        return _new_page(form, 422)
    try:
        problem = problem_actions.open_problem(
            actor=current_user,
            title=form.title.data,
            description=form.description.data or "",
            customer_summary=form.customer_summary.data or "",
            team=_get(Team, form.team.data),
            owner=_get(User, form.owner.data),
            root_cause=_get(RootCause, form.root_cause.data),
            category=_get(Category, form.category.data),
            product=_get(Product, form.product.data),
            cases=found,
            spike=spike,
        )
        services.commit()
    except RuleViolation as violation:
        services.rollback()
        _show_rule_violation(form, violation)
        return _new_page(form, 422)
    flash(f"{problem.reference} opened and owned by {problem.owner.name}."
          + (f" {len(found)} case{'s' if len(found) != 1 else ''} linked." if found else ""),
          "success")
    return redirect(url_for("backoffice.problem", problem_id=problem.id))


def _draft_from_request() -> dict:
    """What the new-problem form starts with: from a spike (`?spike=<id>`, managers) or a case
    (`?case=<reference>`)."""
    data = {}
    spike_id = request.args.get("spike", type=database_id)
    if spike_id is not None:
        spike = db.session.get(Spike, spike_id)
        if spike is None or not is_manager(current_user):
            abort(404)
        if spike.problem_id is not None:
            flash("A problem is already open for this rise in complaints.", "info")
        from shared.spikes import problem_draft_for

        draft = problem_draft_for(spike)
        references = db.session.scalars(
            select(Case.reference).where(Case.id.in_(draft.get("case_ids") or [])).order_by(Case.id)
        ).all()
        data.update(
            title=draft.get("title", ""),
            description=draft.get("description", ""),
            category=draft.get("category_id"),
            product=draft.get("product_id"),
            team=draft.get("team_id"),
            cases="\n".join(references),
            spike=str(spike.id),
        )
    reference = request.args.get("case", "").strip()
    if reference:
        case = queries.case_by_reference(reference)
        if case is None:
            abort(404)
        data.update(
            cases=case.reference,
            category=case.category_id,
            product=case.product_id,
            root_cause=case.root_cause_id,
        )
    data.setdefault("team", current_user.team_id)
    if data.get("team") == current_user.team_id:
        data.setdefault("owner", current_user.id)
    return data


def _new_page(form: NewProblemForm, status: int = 200):
    return render_template("backoffice/problems/new.html", form=form), status


def _cases_by_reference(references: list[str]) -> tuple[list[Case], list[str]]:
    if not references:
        return [], []
    cases = db.session.scalars(
        select(Case).where(Case.reference.in_(references)).options(joinedload(Case.owner))
    ).all()
    by_reference = {case.reference: case for case in cases}
    missing = [reference for reference in references if reference not in by_reference]
    return [by_reference[r] for r in references if r in by_reference], missing


def _missing_words(missing: list[str]) -> str:
    shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
    return f"We could not find {shown}: check the references, e.g. AM-000123."


# --- The problem page --------------------------------------------------------------------------


def _visible_problem_or_404(problem_id: int) -> Problem:
    problem = db.session.scalars(
        select(Problem)
        .where(Problem.id == problem_id)
        .options(
            joinedload(Problem.owner), joinedload(Problem.team),
            joinedload(Problem.root_cause).joinedload(RootCause.area),
            joinedload(Problem.category), joinedload(Problem.product),
        )
    ).first()
    if problem is None or not problem_actions.can_see_problem(current_user, problem):
        abort(404)
    return problem


def _changeable_problem(problem_id: int) -> Problem:
    problem = _visible_problem_or_404(problem_id)
    if not problem_actions.can_change_problem(current_user, problem):
        abort(403)
    return problem


@bp.get("/problems/<id:problem_id>")
@staff_required()
def problem(problem_id):
    return _render_problem(_visible_problem_or_404(problem_id))


def _render_problem(problem: Problem, status: int = 200, *, submitted: dict | None = None,
                    conflict: bool = False):
    may_change = problem_actions.can_change_problem(current_user, problem)
    fresh = {"version": str(problem.version)}
    forms = {
        "note_form": ProblemNoteForm(formdata=None),
        "link_form": LinkCaseForm(formdata=None),
        "unlink_form": UnlinkForm(formdata=None),
    }
    if may_change:
        forms.update(
            status_form=ProblemStatusForm(formdata=None, problem=problem, **fresh),
            owner_form=ProblemOwnerForm(formdata=None, team=problem.team_id,
                                        owner=problem.owner_id, **fresh),
            edit_form=EditProblemForm(formdata=None, obj=problem, problem=problem,
                                      root_cause=problem.root_cause_id,
                                      category=problem.category_id,
                                      product=problem.product_id, **fresh),
        )
    for name, form in (submitted or {}).items():
        form.kept_input = True
        if conflict and hasattr(form, "version"):
            form.version.data = str(problem.version)  # sending it again goes through
        forms[name] = form
    return render_template(
        "backoffice/problems/problem.html",
        problem=problem,
        may_change=may_change,
        figures=problem_actions.problem_figures(problem),
        linked_cases=_linked_case_rows(problem),
        events=db.session.scalars(
            select(ProblemEvent)
            .where(ProblemEvent.problem_id == problem.id)
            .options(joinedload(ProblemEvent.actor))
            .order_by(ProblemEvent.id)
        ).all(),
        conflict=conflict,
        conflict_message=ProblemChangedMeanwhile.message,
        format_money=_format_money,
        **forms,
    ), status


def _format_money(amount_minor: int, currency: str) -> str:
    from shared.money import format_money

    return format_money(amount_minor, currency)


def _linked_case_rows(problem: Problem) -> list[dict]:
    """The linked cases, open ones first and then by when they were linked, each with its next
    due clock worked out as the queues do: one statement for the cases."""
    cases = db.session.scalars(
        select(Case)
        .join(ProblemCase, ProblemCase.case_id == Case.id)
        .where(ProblemCase.problem_id == problem.id)
        .options(joinedload(Case.owner))
        .order_by(Case.status.in_(OPEN_STATUS_VALUES).desc(), ProblemCase.linked_at, Case.id)
        .limit(LINKED_CASES_SHOWN)
    ).all()
    settings = queues.staff_settings()
    viewer = queues.viewer_for(current_user, settings.calendars)
    rows = []
    for case in cases:
        calendar_id = settings.options.category_calendars.get(case.category_id)
        calendar = settings.calendars.get(calendar_id)
        zone = (calendar.zone, calendar.zone_label) if calendar else None
        frame = queues.next_frame(case, viewer, zone or queues._LONDON, calendar_id)
        rows.append({
            "case": case,
            "status_label": queues.STATUS_LABELS.get(case.status, case.status),
            "frame": frame,
            "frame_tag": STATE_TAGS[frame.state] if frame else None,
            "may_unlink": can_coordinate(current_user, case),
        })
    return rows


# --- Changing the problem ----------------------------------------------------------------------


def _change_problem(problem_id, form_name, make_form, action, *, success, anchor=""):
    """Permission, validation, the version check, one service call, commit, back to the page;
    or the page again with what was typed (422), or with what changed meanwhile (409)."""
    problem = _changeable_problem(problem_id)
    form = make_form(problem)
    valid = form.validate_on_submit()
    if form.submitted_version() != problem.version:
        for field in form:
            field.errors = []
        return _render_problem(problem, 409, submitted={form_name: form}, conflict=True)
    if not valid:
        return _render_problem(problem, 422, submitted={form_name: form})
    try:
        action(problem, form)
        services.commit()
    except RuleViolation as violation:
        services.rollback()
        _show_rule_violation(form, violation)
        return _render_problem(_visible_problem_or_404(problem_id), 422,
                               submitted={form_name: form})
    except (ProblemChangedMeanwhile, StaleDataError):
        services.rollback()
        return _render_problem(_visible_problem_or_404(problem_id), 409,
                               submitted={form_name: form}, conflict=True)
    flash(success(problem) if callable(success) else success, "success")
    return redirect(url_for("backoffice.problem", problem_id=problem_id, _anchor=anchor))


@bp.post("/problems/<id:problem_id>/status")
@staff_required()
def problem_status(problem_id):
    told = []

    def act(problem, form):
        told.extend(problem_actions.change_problem_status(
            problem, form.status.data, actor=current_user, reason=form.reason.data or "",
            expected_version=form.submitted_version(),
        ))

    def success(problem):
        words = f"{problem.reference} is now “{problem.status_label}”."
        if problem.status == ProblemStatus.FIXED:
            words += f" {problem_actions.owners_told_words(told)} No customer has been emailed."
        return words

    return _change_problem(
        problem_id, "status_form", lambda problem: ProblemStatusForm(problem=problem),
        act, success=success,
    )


@bp.post("/problems/<id:problem_id>/owner")
@staff_required()
def problem_owner(problem_id):
    return _change_problem(
        problem_id, "owner_form", lambda problem: ProblemOwnerForm(),
        lambda problem, form: problem_actions.change_problem_owner(
            problem, actor=current_user, team=_get(Team, form.team.data),
            owner=_get(User, form.owner.data), expected_version=form.submitted_version(),
        ),
        success=lambda problem: f"{problem.owner.name} ({problem.team.name}) now owns"
        f" {problem.reference}.",
    )


@bp.post("/problems/<id:problem_id>/edit")
@staff_required()
def edit_problem(problem_id):
    return _change_problem(
        problem_id, "edit_form", lambda problem: EditProblemForm(problem=problem),
        lambda problem, form: problem_actions.edit_problem(
            problem, actor=current_user, title=form.title.data,
            description=form.description.data or "",
            customer_summary=form.customer_summary.data or "",
            root_cause=_get(RootCause, form.root_cause.data),
            category=_get(Category, form.category.data),
            product=_get(Product, form.product.data),
            expected_version=form.submitted_version(),
        ),
        success=lambda problem: f"{problem.reference} saved.",
    )


@bp.post("/problems/<id:problem_id>/notes")
@staff_required()
def problem_note(problem_id):
    problem = _visible_problem_or_404(problem_id)
    form = ProblemNoteForm()
    if form.validate_on_submit():
        try:
            problem_actions.add_problem_note(problem, actor=current_user, body=form.body.data)
            services.commit()
        except RuleViolation as violation:
            services.rollback()
            _show_rule_violation(form, violation)
        else:
            flash("Note added to the problem's timeline.", "success")
            return redirect(url_for("backoffice.problem", problem_id=problem_id,
                                    _anchor="problem-timeline"))
    return _render_problem(_visible_problem_or_404(problem_id), 422,
                           submitted={"note_form": form})


@bp.post("/problems/<id:problem_id>/cases")
@staff_required()
def problem_link_case(problem_id):
    """From the problem page: link a case by its reference."""
    problem = _visible_problem_or_404(problem_id)
    form = LinkCaseForm()
    if form.validate_on_submit():
        case = queries.case_by_reference(form.case_reference.data)
        if case is None:
            form.case_reference.errors = [
                f"We could not find {form.case_reference.data.upper()}: check the reference."
            ]
        elif not can_coordinate(current_user, case):
            form.case_reference.errors = [
                f"Only {case.owner.name}, who looks after {case.reference}, or a manager can"
                " link it."
            ]
        else:
            try:
                problem_actions.link_case(problem, case, actor=current_user)
                services.commit()
            except RuleViolation as violation:
                services.rollback()
                form.case_reference.errors = [violation.message]
            else:
                flash(f"{case.reference} linked to {problem.reference}.", "success")
                return redirect(url_for("backoffice.problem", problem_id=problem_id,
                                        _anchor="linked-cases"))
    return _render_problem(_visible_problem_or_404(problem_id), 422,
                           submitted={"link_form": form})


@bp.post("/problems/<id:problem_id>/cases/<reference>/unlink")
@staff_required()
def problem_unlink_case(problem_id, reference):
    problem = _visible_problem_or_404(problem_id)
    case = queries.case_by_reference(reference)
    if case is None:
        abort(404)
    if not can_coordinate(current_user, case):
        abort(403)
    form = UnlinkForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        problem_actions.unlink_case(problem, case, actor=current_user)
        services.commit()
    except RuleViolation as violation:
        services.rollback()
        flash(violation.message, "error")
    else:
        flash(f"{case.reference} unlinked from {problem.reference}.", "success")
    back = request.form.get("return_to")
    if back == "case":
        return redirect(url_for("backoffice.case", reference=case.reference,
                                _anchor="problems"))
    return redirect(url_for("backoffice.problem", problem_id=problem_id,
                            _anchor="linked-cases"))


# --- From the case page ------------------------------------------------------------------------


@bp.post("/cases/<reference>/problems")
@staff_required()
def case_link_problem(reference):
    """Link this case to a problem: a suggestion's "Link" button, or a reference typed."""
    from backoffice.cases import _render_case

    case = queries.staff_case_or_404(reference)
    if not can_coordinate(current_user, case):
        abort(403)
    form = LinkProblemForm()
    if form.validate_on_submit():
        problem_id = problem_actions.parse_problem_reference(form.problem.data)
        problem = db.session.get(Problem, problem_id)
        if problem is None or not problem_actions.can_see_problem(current_user, problem):
            form.problem.errors = [
                f"We could not find {form.problem.data.upper()}: check the reference."
            ]
        else:
            try:
                problem_actions.link_case(problem, case, actor=current_user)
                services.commit()
            except RuleViolation as violation:
                services.rollback()
                form.problem.errors = [violation.message]
            else:
                flash(f"Linked to {problem.reference}: {problem.title}.", "success")
                return redirect(url_for("backoffice.case", reference=case.reference,
                                        _anchor="problems"))
    return _render_case(queries.staff_case_or_404(reference), 422,
                        submitted={"problem_link_form": form})


@bp.get("/cases/<reference>/problems/<id:problem_id>/update")
@staff_required()
def problem_update_text(reference, problem_id):
    """"Write the update": the problem's summary for customers filled in for this case, put in
    the composer (htmx: the textarea alone, after what was typed; without JavaScript, the case
    page with the composer filled in). Nothing is sent."""
    from backoffice.cases import _render_case
    from backoffice.saved_replies import _presence_url

    case = queries.staff_case_or_404(reference)
    problem = _visible_problem_or_404(problem_id)
    if db.session.get(ProblemCase, (problem.id, case.id)) is None:
        abort(404)
    filled = problem_actions.fix_update_text(problem, case)
    typed = request.args.get("body", "")
    body = "\n\n".join(part for part in (typed.rstrip(), filled) if part)
    if htmx:
        return render_template(
            "backoffice/_partials/_composer_body.html", case=case, body=body,
            presence_url=_presence_url(case), composer_form=ComposerForm(formdata=None),
        )
    events = queries.staff_timeline(case.id)
    newest = events[-1].id if events else 0
    composer = ComposerForm(
        formdata=None, version=str(case.version), seen_event_id=str(newest), body=body,
        kind="update" if can_coordinate(current_user, case) else "note",
    )
    page, _status = _render_case(case, submitted={"composer_form": composer})
    return page


# --- Shared helpers ----------------------------------------------------------------------------


def _get(model, identifier):
    return db.session.get(model, identifier) if identifier else None


def _show_rule_violation(form, violation: RuleViolation) -> None:
    field = getattr(form, violation.field, None) if violation.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, violation.message]
    else:
        form.form_errors.append(violation.message)
