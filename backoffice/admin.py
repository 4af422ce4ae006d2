"""Administration pages (admins only): teams, staff (with their redress limits), categories,
root causes and products (shared.services.causes), service levels, calendars.

Each view reads the request, calls one action of shared.services.admin, commits, then
redirects with a notice (PRG), or shows the form again with 422 and everything typed kept.
Also here: the page where staff choose their password from the link we email them.
"""

from datetime import time

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectChoice

from backoffice import bp
from backoffice.admin_forms import (
    ROLE_HINTS,
    CalendarForm,
    CategoryForm,
    CauseAreaForm,
    CauseForm,
    HolidayForm,
    NewCauseForm,
    ProductForm,
    RedressLimitForm,
    ServiceLevelForm,
    StaffMemberForm,
    StaffRoleForm,
    StaffSetPasswordForm,
    TeamManagerForm,
    TeamNameForm,
)
from backoffice.navigation import add_nav_item
from shared import money, services
from shared.demo import STANDARD_TARGETS
from shared.extensions import db
from shared.models import (
    OPEN_STATUSES,
    STAFF_ROLES,
    Calendar,
    Case,
    Category,
    CauseArea,
    Holiday,
    Priority,
    Product,
    Role,
    RootCause,
    ServiceLevel,
    Team,
    User,
    utcnow,
)
from shared.permissions import staff_required
from shared.services import RuleViolation, accounts
from shared.services import admin as admin_actions
from shared.services import causes as cause_actions
from shared.tokens import (
    SET_PASSWORD,
    LinkExpired,
    LinkInvalid,
    password_marker_matches,
    read_link_token,
)

admin_required = staff_required(Role.ADMIN)

add_nav_item("backoffice.admin_overview", "Settings", roles={Role.ADMIN}, order=80)


# --- The shape every admin form shares ------------------------------------------------------


def _status(form) -> int:
    return 422 if form.is_submitted() else 200


def _show_rule_violation(form, violation: RuleViolation) -> None:
    field = getattr(form, violation.field, None) if violation.field else None
    if field is not None:
        field.errors = [*field.errors, violation.message]
    else:
        form.form_errors.append(violation.message)


REFUSED = object()


def _attempt(form, action):
    """Run one service action and commit it, returning what it returned; or, when a rule
    refuses it, roll back, put the message beside its field and return REFUSED."""
    try:
        outcome = action()
    except RuleViolation as violation:
        services.rollback()
        _show_rule_violation(form, violation)
        return REFUSED
    services.commit()
    return outcome


def _perform(form, action) -> bool:
    return _attempt(form, action) is not REFUSED


def _done(message: str, endpoint: str, **values):
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


def _staff_member_or_404(member_id: int) -> User:
    member = db.session.get(User, member_id)
    if member is None or not member.is_staff:
        abort(404)
    return member


def _choices(model, empty_label: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(row.id, row.name) for row in db.session.scalars(
        select(model).order_by(model.name))]
    return [SelectChoice(0, empty_label), *choices] if empty_label else choices


# --- Overview -------------------------------------------------------------------------------


@bp.get("/admin/")
@admin_required
def admin_overview():
    staff = db.session.execute(
        select(
            func.count(User.id).filter(User.active.is_(True)),
            func.count(User.id).filter(User.active.is_(True), User.away.is_(True)),
            func.count(User.id).filter(User.active.is_(False)),
        ).where(User.role.in_(STAFF_ROLES))
    ).one()
    categories = db.session.execute(
        select(func.count(Category.id), func.count(Category.id).filter(Category.active.is_(True)))
    ).one()
    causes = db.session.execute(
        select(func.count(RootCause.id).filter(RootCause.retired_at.is_(None),
                                               CauseArea.retired_at.is_(None)),
               func.count(func.distinct(CauseArea.id)).filter(CauseArea.retired_at.is_(None)))
        .select_from(CauseArea)
        .outerjoin(RootCause, RootCause.area_id == CauseArea.id)
    ).one()
    return render_template(
        "backoffice/admin/overview.html",
        team_count=db.session.scalar(select(func.count(Team.id))),
        active_staff=staff[0],
        away_staff=staff[1],
        deactivated_staff=staff[2],
        category_count=categories[0],
        open_category_count=categories[1],
        cause_count=causes[0],
        cause_area_count=causes[1],
        product_count=db.session.scalar(
            select(func.count(Product.id)).where(Product.retired_at.is_(None))
        ),
        service_level_count=db.session.scalar(select(func.count(ServiceLevel.id))),
        calendar_count=db.session.scalar(select(func.count(Calendar.id))),
    )


# --- Teams ----------------------------------------------------------------------------------


def _team_rows():
    """Each team with its manager and how many active people are in it: one query."""
    active_members = (
        select(func.count(User.id))
        .where(User.team_id == Team.id, User.active.is_(True))
        .correlate(Team)
        .scalar_subquery()
    )
    return db.session.execute(
        select(Team, active_members.label("active_members"))
        .options(joinedload(Team.manager))
        .order_by(Team.name)
    ).all()


@bp.route("/admin/teams", methods=["GET", "POST"])
@admin_required
def admin_teams():
    form = TeamNameForm()
    if form.validate_on_submit() and _perform(
        form, lambda: admin_actions.create_team(actor=current_user, name=form.name.data)
    ):
        return _done(f"Team “{form.name.data}” created.", "backoffice.admin_teams")
    return render_template(
        "backoffice/admin/teams.html", teams=_team_rows(), form=form
    ), _status(form)


def _manager_form(team: Team, *, submitted: bool) -> TeamManagerForm:
    form = TeamManagerForm() if submitted else TeamManagerForm(formdata=None)
    candidates = db.session.scalars(
        select(User)
        .where(User.role.in_([Role.MANAGER, Role.ADMIN]), User.active.is_(True))
        .order_by(User.name)
    ).all()
    form.manager.choices = [SelectChoice(0, "No manager")] + [
        SelectChoice(
            person.id, f"{person.name} ({admin_actions.STAFF_ROLE_LABELS[Role(person.role)]})"
        )
        for person in candidates
    ]
    # Keep showing a manager who was deactivated, so the page says who it still names.
    if team.manager is not None and team.manager not in candidates:
        form.manager.choices.append(
            SelectChoice(team.manager.id, f"{team.manager.name} (deactivated)")
        )
    if not submitted:
        form.manager.data = team.manager_id or 0
    return form


def _render_team(team: Team, *, name_form=None, manager_form=None, status=200):
    name_form = name_form or TeamNameForm(formdata=None, data={"name": team.name})
    manager_form = manager_form or _manager_form(team, submitted=False)
    return render_template(
        "backoffice/admin/team.html",
        team=team,
        members=team.members,
        name_form=name_form,
        manager_form=manager_form,
    ), status


@bp.get("/admin/teams/<id:team_id>")
@admin_required
def admin_team(team_id):
    return _render_team(db.get_or_404(Team, team_id))


@bp.post("/admin/teams/<id:team_id>/name")
@admin_required
def admin_rename_team(team_id):
    team = db.get_or_404(Team, team_id)
    form = TeamNameForm()
    if form.validate_on_submit() and _perform(
        form, lambda: admin_actions.rename_team(team, actor=current_user, name=form.name.data)
    ):
        return _done(f"Team renamed to “{form.name.data}”.", "backoffice.admin_team",
                     team_id=team_id)
    return _render_team(team, name_form=form, status=422)


@bp.post("/admin/teams/<id:team_id>/manager")
@admin_required
def admin_team_manager(team_id):
    team = db.get_or_404(Team, team_id)
    form = _manager_form(team, submitted=True)
    if form.validate_on_submit():
        manager = db.session.get(User, form.manager.data) if form.manager.data else None
        if _perform(form, lambda: admin_actions.set_team_manager(
            team, actor=current_user, manager=manager
        )):
            message = (f"{manager.name} now manages {team.name}." if manager
                       else f"{team.name} has no manager now.")
            return _done(message, "backoffice.admin_team", team_id=team_id)
    return _render_team(team, manager_form=form, status=422)


# --- Staff ----------------------------------------------------------------------------------


def _open_cases_count():
    return (
        select(func.count(Case.id))
        .where(Case.owner_id == User.id, Case.status.in_(OPEN_STATUSES))
        .correlate(User)
        .scalar_subquery()
    )


def _staff_rows():
    """Every staff member with their team and open cases: one query, however many there are."""
    return db.session.execute(
        select(User, _open_cases_count().label("open_cases"))
        .where(User.role.in_(STAFF_ROLES))
        .options(joinedload(User.team))
        .order_by(User.active.desc(), User.name, User.id)
    ).all()


@bp.get("/admin/staff")
@admin_required
def admin_staff():
    return render_template(
        "backoffice/admin/staff.html",
        staff=_staff_rows(),
        role_labels=admin_actions.STAFF_ROLE_LABELS,
    )


def _staff_form(form_class, **kwargs):
    form = form_class(**kwargs)
    form.team.choices = _choices(Team, "No team")
    return form


def _chosen_team(form) -> Team | None:
    return db.session.get(Team, form.team.data) if form.team.data else None


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@admin_required
def admin_new_staff_member():
    form = _staff_form(StaffMemberForm)
    if not form.is_submitted():
        form.role.data = Role.AGENT.value
    if form.validate_on_submit() and _perform(
        form,
        lambda: admin_actions.create_staff_member(
            actor=current_user,
            name=form.name.data,
            email=form.email.data,
            role=form.role.data,
            team=_chosen_team(form),
        ),
    ):
        return _done(
            f"{form.name.data} can now use the back office: we have emailed them a link to"
            " choose their password.",
            "backoffice.admin_staff",
        )
    return render_template(
        "backoffice/admin/staff_new.html",
        form=form,
        role_hints=ROLE_HINTS,
        invitation_days=admin_actions.INVITATION_MAX_AGE_HOURS // 24,
    ), _status(form)


def _render_staff_member(member: User, *, form=None, limit_form=None, action_error=None,
                         status=200):
    if form is None:
        form = _staff_form(StaffRoleForm, formdata=None,
                           data={"role": member.role, "team": member.team_id or 0})
    currency = money.organisation_currency()
    if limit_form is None:
        limit_form = RedressLimitForm(formdata=None, data={
            "redress_limit": money.format_number(member.redress_limit_minor or 0),
        })
    limit_form.redress_limit.label.text = f"Redress limit, {money.currency_symbol(currency)}"
    open_cases = db.session.scalar(
        select(func.count(Case.id)).where(
            Case.owner_id == member.id, Case.status.in_(OPEN_STATUSES)
        )
    )
    managed = db.session.scalars(
        select(Team).where(Team.manager_id == member.id).order_by(Team.name)
    ).all()
    return render_template(
        "backoffice/admin/staff_member.html",
        member=member,
        form=form,
        limit_form=limit_form,
        redress_limit=money.format_money(member.redress_limit_minor or 0, currency),
        open_cases=open_cases,
        managed_teams=managed,
        action_error=action_error,
        role_labels=admin_actions.STAFF_ROLE_LABELS,
        role_hints=ROLE_HINTS,
    ), status


@bp.get("/admin/staff/<id:member_id>")
@admin_required
def admin_staff_member(member_id):
    return _render_staff_member(_staff_member_or_404(member_id))


@bp.post("/admin/staff/<id:member_id>")
@admin_required
def admin_change_staff_member(member_id):
    member = _staff_member_or_404(member_id)
    form = _staff_form(StaffRoleForm)
    if form.validate_on_submit() and _perform(
        form,
        lambda: admin_actions.change_staff_role_or_team(
            member, actor=current_user, role=form.role.data, team=_chosen_team(form)
        ),
    ):
        return _done(f"{member.name}’s role and team are saved.", "backoffice.admin_staff_member",
                     member_id=member_id)
    return _render_staff_member(member, form=form, status=422)


@bp.post("/admin/staff/<id:member_id>/redress-limit")
@admin_required
def admin_staff_redress_limit(member_id):
    member = _staff_member_or_404(member_id)
    form = RedressLimitForm()
    if form.validate_on_submit() and _perform(
        form,
        lambda: cause_actions.set_redress_limit(
            member, actor=current_user, amount_minor=form.redress_limit.amount_minor
        ),
    ):
        limit = money.format_money(member.redress_limit_minor, money.organisation_currency())
        return _done(
            f"{member.name} may now give up to {limit} on a case without approval."
            if member.redress_limit_minor
            else f"Every payment {member.name} records now needs a manager’s approval.",
            "backoffice.admin_staff_member", member_id=member_id,
        )
    return _render_staff_member(member, limit_form=form, status=422)


def _staff_action(member_id: int, action, success_message):
    """The buttons on a person's page: act, commit, and say what happened."""
    member = _staff_member_or_404(member_id)
    try:
        outcome = action(member)
    except RuleViolation as violation:
        services.rollback()
        return _render_staff_member(member, action_error=violation.message, status=422)
    services.commit()
    return _done(success_message(member, outcome), "backoffice.admin_staff_member",
                 member_id=member_id)


def _cases_words(count: int) -> str:
    return f"{count} open case{'s' if count != 1 else ''}"


@bp.post("/admin/staff/<id:member_id>/deactivate")
@admin_required
def admin_deactivate_staff_member(member_id):
    return _staff_action(
        member_id,
        lambda member: admin_actions.deactivate_staff_member(member, actor=current_user),
        lambda member, cases: (
            f"{member.name} is deactivated and can no longer sign in."
            + (f" Their {_cases_words(cases)} now show in the Unassigned queue, each with a"
               " note on its timeline." if cases else "")
        ),
    )


@bp.post("/admin/staff/<id:member_id>/reactivate")
@admin_required
def admin_reactivate_staff_member(member_id):
    return _staff_action(
        member_id,
        lambda member: admin_actions.reactivate_staff_member(member, actor=current_user),
        lambda member, _: f"{member.name} is active again and can sign in.",
    )


@bp.post("/admin/staff/<id:member_id>/away")
@admin_required
def admin_mark_away(member_id):
    return _staff_action(
        member_id,
        lambda member: admin_actions.mark_away(member, actor=current_user),
        lambda member, _: f"{member.name} is marked away: new cases will not go to them.",
    )


@bp.post("/admin/staff/<id:member_id>/back")
@admin_required
def admin_mark_back(member_id):
    return _staff_action(
        member_id,
        lambda member: admin_actions.mark_back(member, actor=current_user),
        lambda member, _: f"{member.name} is back: new cases can go to them again.",
    )


@bp.post("/admin/staff/<id:member_id>/invitation")
@admin_required
def admin_send_invitation(member_id):
    return _staff_action(
        member_id,
        lambda member: admin_actions.send_staff_invitation(member, actor=current_user),
        lambda member, _: f"We have emailed {member.name} a new link to choose their password.",
    )


# --- Staff choose their password ------------------------------------------------------------


def _link_refused(title: str, status: int):
    return render_template("backoffice/admin/staff_link_refused.html", title=title), status


@bp.route("/account/password/<token>", methods=["GET", "POST"])
def staff_set_password(token):
    """From the invitation email: choose a password, once; the link then stops working."""
    try:
        claims = read_link_token(
            SET_PASSWORD, token, admin_actions.INVITATION_MAX_AGE_HOURS * 3600
        )
    except LinkExpired:
        return _link_refused("This link has expired", 410)
    except LinkInvalid:
        return _link_refused("This link is not valid", 400)
    member = db.session.get(User, claims.user_id)
    if member is None or not member.is_staff or not member.active:
        return _link_refused("This link is not valid", 400)
    # Once a password is set with it, the link's marker no longer matches: one use only.
    if not password_marker_matches(claims, member):
        return _link_refused("This link has already been used", 400)
    form = StaffSetPasswordForm()
    if form.validate_on_submit() and _perform(
        form, lambda: accounts.set_password(member, form.password.data)
    ):
        logout_user()
        login_user(member)
        session.permanent = True
        return _done("Your password is set. You are signed in.", "backoffice.home")
    return render_template(
        "backoffice/admin/staff_set_password.html", form=form, member=member
    ), _status(form)


# --- Categories -----------------------------------------------------------------------------


@bp.get("/admin/categories")
@admin_required
def admin_categories():
    categories = db.session.scalars(
        select(Category)
        .options(joinedload(Category.default_team), joinedload(Category.service_level))
        .order_by(Category.position, Category.name)
    ).all()
    return render_template("backoffice/admin/categories.html", categories=categories)


def _category_form(**kwargs) -> CategoryForm:
    form = CategoryForm(**kwargs)
    form.default_team.choices = _choices(Team)
    form.service_level.choices = _choices(ServiceLevel)
    return form


def _category_fields(form: CategoryForm) -> dict:
    return {
        "name": form.name.data,
        "description": form.description.data,
        "default_team": db.session.get(Team, form.default_team.data),
        "service_level": db.session.get(ServiceLevel, form.service_level.data),
        "position": form.position.data,
        "active": form.active.data,
    }


@bp.route("/admin/categories/new", methods=["GET", "POST"])
@admin_required
def admin_new_category():
    form = _category_form()
    if form.validate_on_submit() and _perform(
        form,
        lambda: admin_actions.create_category(actor=current_user, **_category_fields(form)),
    ):
        return _done(f"Category “{form.name.data}” created.", "backoffice.admin_categories")
    return render_template(
        "backoffice/admin/category_form.html", form=form, category=None
    ), _status(form)


@bp.route("/admin/categories/<id:category_id>", methods=["GET", "POST"])
@admin_required
def admin_category(category_id):
    category = db.get_or_404(Category, category_id)
    form = _category_form() if request.method == "POST" else _category_form(data={
        "name": category.name,
        "description": category.description,
        "default_team": category.default_team_id,
        "service_level": category.service_level_id,
        "position": category.position,
        "active": category.active,
    })
    if form.validate_on_submit() and _perform(
        form,
        lambda: admin_actions.update_category(
            category, actor=current_user, **_category_fields(form)
        ),
    ):
        return _done(f"Category “{form.name.data}” saved.", "backoffice.admin_categories")
    return render_template(
        "backoffice/admin/category_form.html", form=form, category=category
    ), _status(form)


# --- Root causes and products ---------------------------------------------------------------


def _render_causes(form=None, status=200):
    return render_template(
        "backoffice/admin/causes.html",
        areas=cause_actions.areas_with_causes(),
        ordered_causes=cause_actions.ordered_causes,
        form=form or CauseAreaForm(formdata=None),
    ), status


@bp.route("/admin/causes", methods=["GET", "POST"])
@admin_required
def admin_causes():
    if request.method != "POST":
        return _render_causes()
    form = CauseAreaForm()
    if form.validate_on_submit():
        area = _attempt(form, lambda: cause_actions.create_area(
            actor=current_user, name=form.name.data
        ))
        if area is not REFUSED:
            return _done(f"Area “{area.name}” added. Add its causes below.",
                         "backoffice.admin_cause_area", area_id=area.id)
    return _render_causes(form, status=422)


def _render_cause_area(area: CauseArea, *, name_form=None, cause_form=None,
                       action_error=None, status=200):
    return render_template(
        "backoffice/admin/causes_area.html",
        area=area,
        causes=cause_actions.ordered_causes(area),
        name_form=name_form or CauseAreaForm(formdata=None, data={"name": area.name}),
        cause_form=cause_form or NewCauseForm(formdata=None),
        action_error=action_error,
    ), status


@bp.get("/admin/causes/areas/<id:area_id>")
@admin_required
def admin_cause_area(area_id):
    return _render_cause_area(db.get_or_404(CauseArea, area_id))


@bp.post("/admin/causes/areas/<id:area_id>/name")
@admin_required
def admin_rename_cause_area(area_id):
    area = db.get_or_404(CauseArea, area_id)
    form = CauseAreaForm()
    if form.validate_on_submit() and _perform(
        form, lambda: cause_actions.rename_area(area, actor=current_user, name=form.name.data)
    ):
        return _done(f"Area renamed to “{area.name}”.", "backoffice.admin_cause_area",
                     area_id=area_id)
    return _render_cause_area(area, name_form=form, status=422)


@bp.post("/admin/causes/areas/<id:area_id>/causes")
@admin_required
def admin_new_cause(area_id):
    area = db.get_or_404(CauseArea, area_id)
    form = NewCauseForm()
    if form.validate_on_submit():
        cause = _attempt(form, lambda: cause_actions.create_cause(
            area, actor=current_user, name=form.name.data,
            asks_for_words=form.asks_for_words.data,
        ))
        if cause is not REFUSED:
            return _done(f"Cause “{cause.name}” added to {area.name}.",
                         "backoffice.admin_cause_area", area_id=area_id)
    return _render_cause_area(area, cause_form=form, status=422)


def _list_action(item, action, success_message: str, on_refusal, endpoint: str, **values):
    """Retire or restore one item: act, commit and say so; or show its page with the reason."""
    try:
        action(item)
    except RuleViolation as violation:
        services.rollback()
        return on_refusal(item, violation.message)
    services.commit()
    return _done(success_message, endpoint, **values)


def _area_action(area_id: int, action, success_message):
    area = db.get_or_404(CauseArea, area_id)
    return _list_action(
        area, action, success_message(area),
        lambda area, message: _render_cause_area(area, action_error=message, status=422),
        "backoffice.admin_cause_area", area_id=area_id,
    )


@bp.post("/admin/causes/areas/<id:area_id>/retire")
@admin_required
def admin_retire_cause_area(area_id):
    return _area_action(
        area_id,
        lambda area: cause_actions.retire_area(area, actor=current_user),
        lambda area: f"“{area.name}” is retired: its causes are no longer offered when"
        " resolving a case. Cases resolved with them keep them.",
    )


@bp.post("/admin/causes/areas/<id:area_id>/restore")
@admin_required
def admin_restore_cause_area(area_id):
    return _area_action(
        area_id,
        lambda area: cause_actions.restore_area(area, actor=current_user),
        lambda area: f"“{area.name}” is restored: its causes that are not retired are offered"
        " again.",
    )


def _render_cause(cause: RootCause, *, form=None, action_error=None, status=200):
    form = form or CauseForm(formdata=None, data={
        "name": cause.name, "asks_for_words": cause.asks_for_words,
    })
    return render_template(
        "backoffice/admin/causes_cause.html", cause=cause, form=form, action_error=action_error
    ), status


@bp.route("/admin/causes/<id:cause_id>", methods=["GET", "POST"])
@admin_required
def admin_cause(cause_id):
    cause = db.get_or_404(RootCause, cause_id)
    if request.method != "POST":
        return _render_cause(cause)
    form = CauseForm()
    if form.validate_on_submit() and _perform(
        form,
        lambda: cause_actions.update_cause(
            cause, actor=current_user, name=form.name.data,
            asks_for_words=form.asks_for_words.data,
        ),
    ):
        return _done(f"Cause “{cause.name}” saved.", "backoffice.admin_cause_area",
                     area_id=cause.area_id)
    return _render_cause(cause, form=form, status=422)


def _cause_action(cause_id: int, action, success_message):
    cause = db.get_or_404(RootCause, cause_id)
    return _list_action(
        cause, action, success_message(cause),
        lambda cause, message: _render_cause(cause, action_error=message, status=422),
        "backoffice.admin_cause_area", area_id=cause.area_id,
    )


@bp.post("/admin/causes/<id:cause_id>/retire")
@admin_required
def admin_retire_cause(cause_id):
    return _cause_action(
        cause_id,
        lambda cause: cause_actions.retire_cause(cause, actor=current_user),
        lambda cause: f"“{cause.name}” is retired: it is no longer offered when resolving a"
        " case. Cases resolved with it keep it.",
    )


@bp.post("/admin/causes/<id:cause_id>/restore")
@admin_required
def admin_restore_cause(cause_id):
    return _cause_action(
        cause_id,
        lambda cause: cause_actions.restore_cause(cause, actor=current_user),
        lambda cause: f"“{cause.name}” is restored: it is offered again when resolving a case.",
    )


def _render_products(form=None, status=200):
    return render_template(
        "backoffice/admin/products.html",
        products=cause_actions.all_products(),
        form=form or ProductForm(formdata=None),
    ), status


@bp.route("/admin/products", methods=["GET", "POST"])
@admin_required
def admin_products():
    if request.method != "POST":
        return _render_products()
    form = ProductForm()
    if form.validate_on_submit():
        product = _attempt(form, lambda: cause_actions.create_product(
            actor=current_user, name=form.name.data
        ))
        if product is not REFUSED:
            return _done(f"“{product.name}” added.", "backoffice.admin_products")
    return _render_products(form, status=422)


def _render_product(product: Product, *, form=None, action_error=None, status=200):
    return render_template(
        "backoffice/admin/products_product.html",
        product=product,
        form=form or ProductForm(formdata=None, data={"name": product.name}),
        action_error=action_error,
    ), status


@bp.route("/admin/products/<id:product_id>", methods=["GET", "POST"])
@admin_required
def admin_product(product_id):
    product = db.get_or_404(Product, product_id)
    if request.method != "POST":
        return _render_product(product)
    form = ProductForm()
    if form.validate_on_submit() and _perform(
        form,
        lambda: cause_actions.rename_product(product, actor=current_user, name=form.name.data),
    ):
        return _done(f"“{product.name}” saved.", "backoffice.admin_products")
    return _render_product(product, form=form, status=422)


def _product_action(product_id: int, action, success_message):
    product = db.get_or_404(Product, product_id)
    return _list_action(
        product, action, success_message(product),
        lambda product, message: _render_product(product, action_error=message, status=422),
        "backoffice.admin_products",
    )


@bp.post("/admin/products/<id:product_id>/retire")
@admin_required
def admin_retire_product(product_id):
    return _product_action(
        product_id,
        lambda product: cause_actions.retire_product(product, actor=current_user),
        lambda product: f"“{product.name}” is retired: it is no longer offered when resolving"
        " a case. Cases resolved with it keep it.",
    )


@bp.post("/admin/products/<id:product_id>/restore")
@admin_required
def admin_restore_product(product_id):
    return _product_action(
        product_id,
        lambda product: cause_actions.restore_product(product, actor=current_user),
        lambda product: f"“{product.name}” is restored: it is offered again when resolving a"
        " case.",
    )


# --- Service levels -------------------------------------------------------------------------


def _service_level_rows():
    used_by = (
        select(func.count(Category.id))
        .where(Category.service_level_id == ServiceLevel.id)
        .correlate(ServiceLevel)
        .scalar_subquery()
    )
    return db.session.execute(
        select(ServiceLevel, used_by.label("categories"))
        .options(
            selectinload(ServiceLevel.targets),
            joinedload(ServiceLevel.calendar).selectinload(Calendar.hours),
        )
        .order_by(ServiceLevel.name)
    ).all()


@bp.get("/admin/service-levels")
@admin_required
def admin_service_levels():
    rows = _service_level_rows()
    return render_template(
        "backoffice/admin/service_levels.html",
        rows=rows,
        priorities=list(Priority),
        day_minutes={
            level.id: admin_actions.working_day_minutes(level.calendar) for level, _ in rows
        },
    )


def _service_level_form(**kwargs) -> ServiceLevelForm:
    form = ServiceLevelForm(**kwargs)
    form.calendar.choices = _choices(Calendar)
    return form


def _save_service_level(form: ServiceLevelForm, level: ServiceLevel | None) -> bool:
    calendar = db.session.get(Calendar, form.calendar.data)
    targets = form.targets_in_minutes(calendar)
    # Every time frame out of order is shown at once, each beside its field.
    problems = admin_actions.target_problems(targets)
    for field, message in problems:
        form[field].errors.append(message)
    if problems:
        return False

    def action():
        if level is None:
            admin_actions.create_service_level(
                actor=current_user, name=form.name.data, calendar=calendar, targets=targets
            )
        else:
            admin_actions.update_service_level(
                level, actor=current_user, name=form.name.data, calendar=calendar,
                targets=targets,
            )

    return _perform(form, action)


def _render_service_level(form, level):
    return render_template(
        "backoffice/admin/service_level_form.html",
        form=form,
        level=level,
        priorities=list(Priority),
    ), _status(form)


@bp.route("/admin/service-levels/new", methods=["GET", "POST"])
@admin_required
def admin_new_service_level():
    form = _service_level_form()
    if not form.is_submitted():
        _suggest_standard_targets(form)
    if form.validate_on_submit() and _save_service_level(form, None):
        return _done(f"Service level “{form.name.data}” created.",
                     "backoffice.admin_service_levels")
    return _render_service_level(form, None)


def _suggest_standard_targets(form: ServiceLevelForm) -> None:
    """A new service level starts from the standard time frames, in the first calendar."""
    calendar = db.session.scalars(select(Calendar).order_by(Calendar.name).limit(1)).first()
    if calendar is None:
        return
    form.calendar.data = calendar.id
    for priority, minutes in STANDARD_TARGETS.items():
        for (amount, unit), value in zip(form.target_fields(priority), minutes, strict=True):
            amount.data, unit.data = admin_actions.as_amount_and_unit(value, calendar)


@bp.route("/admin/service-levels/<id:level_id>", methods=["GET", "POST"])
@admin_required
def admin_service_level(level_id):
    level = db.get_or_404(ServiceLevel, level_id)
    form = _service_level_form()
    if not form.is_submitted():
        form.name.data = level.name
        form.calendar.data = level.calendar_id
        form.show_targets(level)
    if form.validate_on_submit() and _save_service_level(form, level):
        return _done(
            f"Service level “{form.name.data}” saved. Complaints raised from now on get the"
            " new time frames; existing ones keep the dates they were given.",
            "backoffice.admin_service_levels",
        )
    return _render_service_level(form, level)


# --- Business calendars ---------------------------------------------------------------------


@bp.get("/admin/calendars")
@admin_required
def admin_calendars():
    calendars = db.session.scalars(
        select(Calendar)
        .options(selectinload(Calendar.hours), selectinload(Calendar.holidays))
        .order_by(Calendar.name)
    ).all()
    return render_template(
        "backoffice/admin/calendars.html",
        calendars=calendars,
        next_holidays={calendar.id: _upcoming(calendar)[:1] for calendar in calendars},
    )


def _upcoming(calendar: Calendar) -> list[Holiday]:
    today = utcnow().astimezone(calendar.zone).date()
    return [holiday for holiday in calendar.holidays if holiday.day >= today]


def _calendar_fields(form: CalendarForm) -> dict:
    return {
        "name": form.name.data,
        "timezone": form.timezone.data,
        "zone_label": form.zone_label.data,
        "hours": form.opening_hours(),
    }


@bp.route("/admin/calendars/new", methods=["GET", "POST"])
@admin_required
def admin_new_calendar():
    form = CalendarForm()
    if not form.is_submitted():
        form.timezone.data, form.zone_label.data = "Europe/London", "UK time"
        for weekday in range(5):
            is_open, opens, closes = form.day_fields(weekday)
            is_open.data, opens.data, closes.data = True, time(9), time(17)
    if form.validate_on_submit():
        calendar = _attempt(form, lambda: admin_actions.create_calendar(
            actor=current_user, **_calendar_fields(form)
        ))
        if calendar is not REFUSED:
            return _done(f"Calendar “{form.name.data}” created. Add its holidays below.",
                         "backoffice.admin_calendar", calendar_id=calendar.id)
    return render_template(
        "backoffice/admin/calendar.html", form=form, calendar=None
    ), _status(form)


def _render_calendar(calendar: Calendar, *, form=None, holiday_form=None, status=200):
    if form is None:
        form = CalendarForm(formdata=None, data={
            "name": calendar.name,
            "timezone": calendar.timezone,
            "zone_label": calendar.zone_label,
        })
        form.show_hours(calendar)
    upcoming = _upcoming(calendar)
    past = [holiday for holiday in reversed(calendar.holidays) if holiday not in upcoming]
    return render_template(
        "backoffice/admin/calendar.html",
        form=form,
        holiday_form=holiday_form or HolidayForm(formdata=None, prefix="holiday"),
        calendar=calendar,
        upcoming_holidays=upcoming,
        past_holidays=past,
    ), status


@bp.route("/admin/calendars/<id:calendar_id>", methods=["GET", "POST"])
@admin_required
def admin_calendar(calendar_id):
    calendar = db.get_or_404(Calendar, calendar_id)
    if request.method != "POST":
        return _render_calendar(calendar)
    form = CalendarForm()
    if form.validate_on_submit() and _perform(
        form,
        lambda: admin_actions.update_calendar(
            calendar, actor=current_user, **_calendar_fields(form)
        ),
    ):
        return _done(
            f"Calendar “{form.name.data}” saved. Complaints raised from now on are counted in"
            " these hours; existing ones keep the dates they were given.",
            "backoffice.admin_calendar",
            calendar_id=calendar_id,
        )
    return _render_calendar(calendar, form=form, status=422)


@bp.post("/admin/calendars/<id:calendar_id>/holidays")
@admin_required
def admin_add_holiday(calendar_id):
    calendar = db.get_or_404(Calendar, calendar_id)
    form = HolidayForm(prefix="holiday")
    if form.validate_on_submit() and _perform(
        form,
        lambda: admin_actions.add_holiday(
            calendar, actor=current_user, day=form.day.data, name=form.name.data
        ),
    ):
        return _done(
            f"{form.name.data} ({form.day.data:%d %B %Y}) added as a holiday.",
            "backoffice.admin_calendar",
            calendar_id=calendar_id,
        )
    return _render_calendar(calendar, holiday_form=form, status=422)


@bp.post("/admin/calendars/<id:calendar_id>/holidays/<id:holiday_id>/remove")
@admin_required
def admin_remove_holiday(calendar_id, holiday_id):
    holiday = db.get_or_404(Holiday, holiday_id)
    if holiday.calendar_id != calendar_id:
        abort(404)
    description = f"{holiday.name} ({holiday.day:%d %B %Y})"
    admin_actions.remove_holiday(holiday, actor=current_user)
    services.commit()
    return _done(f"{description} is no longer a holiday.", "backoffice.admin_calendar",
                 calendar_id=calendar_id)
