"""Two-step sign-in for staff: the code asked for after a right password, setting up an
authenticator app, recovery codes, and an admin's reset for someone who lost their phone.

Between the password and the code nobody is signed in: the session only remembers, for a few
minutes, whose password was right. Staff whose role must use the second step (the
TWO_FACTOR_REQUIRED_ROLES setting) and have not set it up are sent to set it up before any
other back-office page.
"""

from datetime import timedelta

import segno
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from backoffice import bp
from backoffice.navigation import add_nav_item
from backoffice.two_factor_forms import ConfirmAppForm, SignInCodeForm
from shared import ratelimits, services
from shared.extensions import db
from shared.models import Role, User, utcnow
from shared.permissions import staff_required
from shared.services import RuleViolation
from shared.services import two_factor as second_step

# Whose password was right, where they were going, and since when (signed, like the session).
PENDING_SIGN_IN = "staff_password_passed"
PENDING_SIGN_IN_LIFETIME = timedelta(minutes=5)

# Pages someone who must set up the second step can still reach before they have.
_OPEN_BEFORE_SET_UP = frozenset(
    {
        "backoffice.login",
        "backoffice.login_code",
        "backoffice.logout",
        "backoffice.sign_out_everywhere",
        "backoffice.staff_set_password",
        "backoffice.two_factor_setup",
    }
)

add_nav_item("backoffice.two_factor_settings", "Two-step sign-in", order=95)


def _pending_account() -> str | None:
    return (session.get(PENDING_SIGN_IN) or {}).get("account")


# Wrong codes count against the same per-account allowance as wrong passwords.
CODES_FOR_ACCOUNT = ratelimits.Allowance(
    ratelimits.SIGN_INS_TO_ACCOUNT.setting, ratelimits.SIGN_INS_TO_ACCOUNT.scope, _pending_account
)


def needs_second_step(user: User) -> bool:
    return second_step.is_enrolled(user)


def begin_second_step(user: User, target: str):
    """The password was right: ask for the code before signing in (called by the login view)."""
    session[PENDING_SIGN_IN] = {
        "user_id": user.id,
        "account": ratelimits.posted_account(),
        "started": utcnow().timestamp(),
        "next": target,
    }
    return redirect(url_for("backoffice.login_code"))


def _password_passed() -> tuple[User, str] | None:
    """Whose password was right a moment ago, and where they were going; None once stale."""
    pending = session.get(PENDING_SIGN_IN)
    if not isinstance(pending, dict):
        return None
    age = utcnow().timestamp() - float(pending.get("started", 0))
    user = db.session.get(User, int(pending.get("user_id", 0)))
    if (
        age > PENDING_SIGN_IN_LIFETIME.total_seconds()
        or user is None
        or not (user.is_staff and user.active)
    ):
        session.pop(PENDING_SIGN_IN, None)
        return None
    return user, pending.get("next") or url_for("backoffice.home")


@bp.before_request
def require_second_step_where_the_role_needs_it():
    if request.endpoint in _OPEN_BEFORE_SET_UP:
        return None
    if not (current_user.is_authenticated and current_user.is_staff):
        return None
    if second_step.is_required_for(current_user) and not second_step.is_enrolled(current_user):
        setup = url_for("backoffice.two_factor_setup")
        if request.headers.get("HX-Request"):
            # A count polled in the header changes nothing; an action reloads to the setup.
            return ("", 204) if request.method == "GET" else ("", 204, {"HX-Redirect": setup})
        return redirect(setup)
    return None


# --- Signing in -----------------------------------------------------------------------------


@bp.route("/login/code", methods=["GET", "POST"])
@ratelimits.limited(
    ratelimits.STAFF_SIGN_INS_FROM_CLIENT, CODES_FOR_ACCOUNT, counts=ratelimits.failed
)
def login_code():
    passed = _password_passed()
    if passed is None:
        flash(
            "Please sign in again: it was more than a few minutes since you gave your password.",
            "info",
        )
        return redirect(url_for("backoffice.login"))
    user, target = passed
    form = SignInCodeForm()
    if form.validate_on_submit():
        try:
            second_step.check_sign_in_code(user, form.code.data)
        except RuleViolation as violation:
            services.rollback()
            form.code.errors = [*form.code.errors, violation.message]
        else:
            services.commit()
            session.pop(PENDING_SIGN_IN, None)
            logout_user()
            login_user(user)
            session.permanent = True
            return redirect(target)
    return render_template("backoffice/login_code.html", form=form), (
        422 if form.is_submitted() else 200
    )


# --- Your own second step -------------------------------------------------------------------


@bp.get("/account/two-step")
@staff_required()
def two_factor_settings():
    return render_template(
        "backoffice/two_factor/settings.html",
        enrolled=second_step.is_enrolled(current_user),
        enrolment=second_step.enrolment_of(current_user),
        required=second_step.is_required_for(current_user),
        unused_codes=second_step.unused_recovery_code_count(current_user),
    )


def _qr_code(uri: str) -> Markup:
    """The QR code as inline SVG, drawn here: no image service ever sees the secret."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5,
        dark="#000",
        light="#fff",
        title="QR code to scan with your authenticator app",
        svgclass="qr-code",
    )
    return Markup(svg)


@bp.route("/account/two-step/setup", methods=["GET", "POST"])
@staff_required()
def two_factor_setup():
    if second_step.is_enrolled(current_user):
        return redirect(url_for("backoffice.two_factor_settings"))
    enrolment = second_step.start_enrolment(current_user)
    services.commit()  # the same secret on every visit until it is confirmed
    form = ConfirmAppForm()
    if form.validate_on_submit():
        try:
            codes = second_step.confirm_enrolment(current_user, form.code.data)
        except RuleViolation as violation:
            services.rollback()
            form.code.errors = [*form.code.errors, violation.message]
        else:
            services.commit()
            return _show_recovery_codes(codes, just_set_up=True)
    uri = second_step.provisioning_uri(current_user, enrolment)
    return render_template(
        "backoffice/two_factor/setup.html",
        form=form,
        qr_code=_qr_code(uri),
        secret=" ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)),
        required=second_step.is_required_for(current_user),
    ), (422 if form.is_submitted() else 200)


def _show_recovery_codes(codes: list[str], *, just_set_up: bool):
    # Shown in this response only: they are kept hashed and cannot be shown again.
    response = render_template(
        "backoffice/two_factor/recovery_codes.html", codes=codes, just_set_up=just_set_up
    )
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/account/two-step/recovery-codes")
@staff_required()
def two_factor_new_recovery_codes():
    try:
        codes = second_step.regenerate_recovery_codes(current_user)
    except RuleViolation as violation:
        services.rollback()
        flash(violation.message, "error")
        return redirect(url_for("backoffice.two_factor_settings"))
    services.commit()
    return _show_recovery_codes(codes, just_set_up=False)


@bp.post("/account/two-step/off")
@staff_required()
def two_factor_turn_off():
    try:
        second_step.turn_off(current_user)
    except RuleViolation as violation:
        services.rollback()
        flash(violation.message, "error")
    else:
        services.commit()
        flash("Two-step sign-in is off: your password alone signs you in.", "success")
    return redirect(url_for("backoffice.two_factor_settings"))


# --- An admin's reset -----------------------------------------------------------------------


@bp.app_template_global()
def has_two_step_sign_in(member: User) -> bool:
    return second_step.is_enrolled(member)


@bp.post("/admin/staff/<id:member_id>/two-step/reset")
@staff_required(Role.ADMIN)
def admin_reset_two_factor(member_id):
    member = db.session.get(User, member_id)
    if member is None or not member.is_staff:
        abort(404)
    try:
        second_step.reset(member, actor=current_user)
    except RuleViolation as violation:
        services.rollback()
        flash(violation.message, "error")
    else:
        services.commit()
        flash(
            f"{member.name}’s two-step sign-in is reset: they set it up again with their"
            " authenticator app the next time they sign in.",
            "success",
        )
    return redirect(url_for("backoffice.admin_staff_member", member_id=member_id))
