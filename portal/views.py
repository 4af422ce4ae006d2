"""Portal views: read the request, call one service, commit, then redirect or render."""

import secrets
from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from portal import bp
from portal.forms import (
    ChooseOptionForm,
    ConfirmResolutionForm,
    ConfirmUnderstandingForm,
    CorrectUnderstandingForm,
    RaiseCaseForm,
    RatingForm,
    RegisterForm,
    ReopenForm,
    ReplyForm,
    SetPasswordForm,
    SignInForm,
    SignInLinkForm,
)
from shared import queries, ratelimits, services
from shared.clock import describe_due
from shared.extensions import db, htmx
from shared.models import User
from shared.permissions import customer_required
from shared.services import RuleViolation, accounts, redress, remedies, understanding
from shared.services import attachments as uploads
from shared.services import cases as case_actions
from shared.services import commitments as commitment_actions
from shared.services import sessions as sign_in_sessions
from shared.services.attachments import attachment_path, chosen_files
from shared.tokens import (
    SET_PASSWORD,
    SIGN_IN,
    LinkExpired,
    LinkInvalid,
    password_marker_matches,
    read_link_token,
)

# The confirmation page is shown to whoever raised the case in this browser, nobody else.
RAISED_IN_SESSION = "raised_references"
# Fields checked inline (htmx) while the customer fills in the form.
INLINE_CHECKED_FIELDS = {"name", "email", "description", "external_reference"}


def _show_rule_violation(form, violation: RuleViolation) -> None:
    field = getattr(form, violation.field, None) if violation.field else None
    if field is not None:
        field.errors = [*field.errors, violation.message]
    else:
        form.form_errors.append(violation.message)


@bp.get("/")
def home():
    return render_template("portal/home.html", categories=queries.published_commitments())


def _raise_case_form() -> RaiseCaseForm:
    form = RaiseCaseForm()
    categories = queries.active_categories()
    form.category.choices = [(c.id, c.name) for c in categories]
    # Admins describe each category for customers; shown under its name.
    form.category_hints = {c.id: c.description for c in categories if c.description}
    if current_user.is_authenticated and current_user.is_customer and not form.is_submitted():
        form.name.data = form.name.data or current_user.name
        form.email.data = form.email.data or current_user.email
    return form


# A random key in this browser's signed session: files kept for a retry belong to it alone.
UPLOAD_OWNER_IN_SESSION = "upload_owner"
# The checkboxes that carry kept files back, each with a signed token (_macros/forms.html).
KEPT_UPLOADS_FIELD = "kept_uploads"
RAISE_CASE_UPLOADS = "raise_case"


def _reply_uploads(case) -> str:
    return f"reply:{case.reference}"


def _claimed_uploads(form_key: str) -> list:
    """The files this browser kept on this form after an error, still ticked to send."""
    if request.method != "POST":
        return []
    return uploads.claim_pending_uploads(
        request.form.getlist(KEPT_UPLOADS_FIELD),
        owner_key=session.get(UPLOAD_OWNER_IN_SESSION, ""),
        form_key=form_key,
    )


def _forget_unclaimed_uploads(claimed: list, form_key: str) -> list:
    if UPLOAD_OWNER_IN_SESSION not in session:
        return []
    return uploads.forget_unclaimed_pending_uploads(
        owner_key=session[UPLOAD_OWNER_IN_SESSION], form_key=form_key, claimed=claimed
    )


def _keep_chosen_files(form, claimed: list, form_key: str) -> None:
    """After an error, keep the newly chosen files that pass the checks, and list them all."""
    fresh = chosen_files(form.attachments.data)
    kept = list(claimed)
    left_out = _forget_unclaimed_uploads(claimed, form_key)
    if fresh:
        if UPLOAD_OWNER_IN_SESSION not in session:
            session[UPLOAD_OWNER_IN_SESSION] = secrets.token_urlsafe(24)
        newly = uploads.keep_for_retry(
            fresh,
            owner_key=session[UPLOAD_OWNER_IN_SESSION],
            form_key=form_key,
            already_kept=len(claimed),
        )
        kept += newly.uploads
        # A file not kept is named, even when the form came back for another reason.
        form.attachments.errors = list(
            dict.fromkeys([*form.attachments.errors, *newly.refusals])
        )
    services.commit()
    uploads.remove_files(left_out)
    form.kept_uploads = [(uploads.signed_pending_token(pending), pending) for pending in kept]


def _close_all(files) -> None:
    for file in files:
        file.close()


@bp.route("/complaints/new", methods=["GET", "POST"])
@ratelimits.limited(ratelimits.COMPLAINTS_FROM_CLIENT, counts=ratelimits.succeeded)
def raise_case():
    form = _raise_case_form()
    claimed = _claimed_uploads(RAISE_CASE_UPLOADS)
    if form.validate_on_submit():
        categories = {c.id: c for c in queries.active_categories()}
        signed_in = current_user if current_user.is_authenticated else None
        if signed_in is not None and not signed_in.is_customer:
            signed_in = None  # staff raising a complaint do it as a guest would
        kept_files = uploads.pending_as_files(claimed)
        try:
            case = case_actions.raise_case(
                name=form.name.data,
                email=signed_in.email if signed_in else form.email.data,
                description=form.description.data,
                category=categories[form.category.data],
                desired_outcome=form.desired_outcome.data,
                external_reference=form.external_reference.data,
                on_behalf_of=form.on_behalf_of.data,
                representative_relationship=form.representative_relationship.data or None,
                attachments=[*kept_files, *chosen_files(form.attachments.data)],
                signed_in_customer=signed_in,
            )
        except RuleViolation as violation:
            services.rollback()
            _show_rule_violation(form, violation)
        else:
            attached = uploads.release_pending_uploads(claimed)
            attached += _forget_unclaimed_uploads(claimed, RAISE_CASE_UPLOADS)
            services.commit()
            uploads.remove_files(attached)
            session[RAISED_IN_SESSION] = [*session.get(RAISED_IN_SESSION, [])[-4:], case.reference]
            return redirect(url_for("portal.case_received", reference=case.reference))
        finally:
            _close_all(kept_files)
    if form.is_submitted():
        _keep_chosen_files(form, claimed, RAISE_CASE_UPLOADS)
    status = 422 if form.is_submitted() else 200
    return render_template("portal/raise_case.html", form=form), status


@bp.post("/complaints/new/check/<field_name>")
def check_raise_case_field(field_name):
    """htmx: check one field as the customer leaves it, and return it with any message."""
    if field_name not in INLINE_CHECKED_FIELDS:
        abort(404)
    form = _raise_case_form()
    field = form[field_name]
    field.validate(form)
    return render_template("portal/_partials/_raise_case_field.html", form=form, field=field)


@bp.get("/complaints/<reference>/received")
def case_received(reference):
    if reference.upper() not in session.get(RAISED_IN_SESSION, []):
        abort(404)
    case = queries.raised_case_or_404(reference)
    return render_template("portal/case_received.html", case=case)


@bp.get("/cases")
@customer_required
def my_cases():
    return render_template("portal/my_cases.html", cases=queries.customer_cases(current_user.id))


def _render_case(case, status=200, **forms):
    forms.setdefault("reply_form", ReplyForm(formdata=None))
    forms.setdefault("reopen_form", ReopenForm(formdata=None))
    forms.setdefault("rating_form", RatingForm(formdata=None))
    forms.setdefault("confirm_form", ConfirmResolutionForm(formdata=None))
    forms.setdefault("confirm_understanding_form", ConfirmUnderstandingForm(formdata=None))
    forms.setdefault("correct_understanding_form", CorrectUnderstandingForm(formdata=None))
    forms.setdefault("choose_option_form", ChooseOptionForm(formdata=None))
    events = queries.public_timeline(case.id)
    if htmx and htmx.target == "timeline":
        return render_template("portal/_partials/_timeline.html", case=case, events=events)
    queries.load_case_collections(case, "commitments", "resolution_options", "escalations")
    return (
        render_template(
            "portal/case.html",
            case=case,
            events=events,
            can_reopen=case_actions.can_reopen(case),
            reopen_until=case_actions.reopen_deadline(case),
            # The remedies given, in words: never their states, limits or approvals.
            remedies=redress.remedies_in_words(case) if case.resolved_at else [],
            **forms,
        ),
        status,
    )


@bp.get("/cases/<reference>")
@customer_required
def case(reference):
    case = queries.customer_case_or_404(reference, current_user.id)
    # A merged case's reference keeps working: it leads to the case that carries on.
    survivor = queries.surviving_case_for_customer(case, current_user.id)
    if survivor is not None:
        return redirect(url_for("portal.case", reference=survivor.reference))
    return _render_case(case)


def _case_action(reference, form_name, form, action, success_message):
    """Shared shape of the case page's forms: validate, act, commit, or show what to fix."""
    case = queries.customer_case_or_404(reference, current_user.id)
    if form.validate_on_submit():
        try:
            action(case)
        except RuleViolation as violation:
            services.rollback()
            case = queries.customer_case_or_404(reference, current_user.id)
            _show_rule_violation(form, violation)
        else:
            services.commit()
            flash(success_message, "success")
            return redirect(url_for("portal.case", reference=case.reference))
    return _render_case(case, 422, **{form_name: form})


@bp.post("/cases/<reference>/reply")
@customer_required
def reply(reference):
    case = queries.customer_case_or_404(reference, current_user.id)
    form = ReplyForm()
    claimed = _claimed_uploads(_reply_uploads(case))
    if form.validate_on_submit():
        kept_files = uploads.pending_as_files(claimed)
        try:
            case_actions.post_customer_reply(
                case,
                customer=current_user,
                body=form.body.data,
                attachments=[*kept_files, *chosen_files(form.attachments.data)],
            )
        except RuleViolation as violation:
            services.rollback()
            case = queries.customer_case_or_404(reference, current_user.id)
            _show_rule_violation(form, violation)
        else:
            attached = uploads.release_pending_uploads(claimed)
            attached += _forget_unclaimed_uploads(claimed, _reply_uploads(case))
            services.commit()
            uploads.remove_files(attached)
            flash("Thank you: your message has been sent.", "success")
            return redirect(url_for("portal.case", reference=case.reference))
        finally:
            _close_all(kept_files)
    _keep_chosen_files(form, claimed, _reply_uploads(case))
    return _render_case(case, 422, reply_form=form)


@bp.post("/cases/<reference>/confirm")
@customer_required
def confirm_resolution(reference):
    form = ConfirmResolutionForm()
    return _case_action(
        reference,
        "confirm_form",
        form,
        lambda case: case_actions.confirm_resolution(case, customer=current_user),
        "Thank you for confirming. Your complaint is now closed.",
    )


@bp.post("/cases/<reference>/reopen")
@customer_required
def reopen(reference):
    form = ReopenForm()
    return _case_action(
        reference,
        "reopen_form",
        form,
        lambda case: case_actions.reopen_case(case, customer=current_user, reason=form.reason.data),
        "We have reopened your complaint and told the person looking after it.",
    )


@bp.post("/cases/<reference>/rating")
@customer_required
def rate(reference):
    form = RatingForm()
    return _case_action(
        reference,
        "rating_form",
        form,
        lambda case: case_actions.rate_case(
            case, customer=current_user, rating=form.rating.data, comment=form.comment.data or ""
        ),
        "Thank you for your rating.",
    )


@bp.get("/cases/<reference>/files/<id:attachment_id>")
@customer_required
def attachment(reference, attachment_id):
    case = queries.customer_case_or_404(reference, current_user.id)
    stored = queries.customer_attachment_or_404(case, attachment_id)
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


# --- Signing in -----------------------------------------------------------------------------


def _safe_next(default_endpoint="portal.my_cases") -> str:
    target = request.args.get("next", "")
    # Only paths on this site: "//evil.example" and "https://…" are refused, and so is any
    # control character: browsers drop tabs and newlines, so "/\t/evil.example" is "//evil…".
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        return target
    return url_for(default_endpoint)


@bp.route("/sign-in", methods=["GET", "POST"])
@ratelimits.limited(
    ratelimits.SIGN_INS_FROM_CLIENT, ratelimits.SIGN_INS_TO_ACCOUNT, counts=ratelimits.failed
)
def login():
    form = SignInForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None and user.is_customer:
            services.commit()
            login_user(user)
            session.permanent = True
            return redirect(_safe_next())
        services.rollback()
        form.form_errors.append("That email address and password do not match our records.")
    return render_template(
        "portal/sign_in.html", form=form, link_form=SignInLinkForm(formdata=None)
    ), (422 if form.is_submitted() else 200)


@bp.route("/sign-in/link", methods=["GET", "POST"])
@ratelimits.limited(ratelimits.EMAILED_LINKS_FROM_CLIENT, counts=ratelimits.succeeded)
def request_sign_in_link():
    form = SignInLinkForm()
    if form.validate_on_submit():
        accounts.request_sign_in_link(form.email.data)
        services.commit()
        return render_template("portal/link_sent.html", email=form.email.data)
    return render_template("portal/sign_in_link.html", form=form), (
        422 if form.is_submitted() else 200
    )


def _link_max_age() -> int:
    return current_app.config["MAGIC_LINK_MAX_AGE_DAYS"] * 24 * 3600


@bp.get("/sign-in/<token>")
def magic_link(token):
    """A link from one of our emails: it signs the customer in without a password."""
    try:
        claims = read_link_token(SIGN_IN, token, _link_max_age())
    except LinkExpired:
        return _link_refused("This link has expired", 410)
    except LinkInvalid:
        return _link_refused("This link is not valid", 400)
    user = db.session.get(User, claims.user_id)
    if user is None or not user.active or not user.is_customer:
        return _link_refused("This link is not valid", 400)
    if claims.case_reference:
        destination = url_for("portal.case", reference=claims.case_reference)
    else:
        destination = url_for("portal.my_cases")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(destination)  # followed again in the browser it signed in
    # A password set or changed since the link was sent voids it; so does the link's first use,
    # after a short grace (see shared/services/sessions.py).
    if claims.nonce is None or not password_marker_matches(claims, user):
        return _link_refused("This link is no longer valid", 410)
    grace = timedelta(minutes=current_app.config["SIGN_IN_LINK_GRACE_MINUTES"])
    if not sign_in_sessions.follow_sign_in_link(claims.nonce, user, grace=grace):
        services.rollback()
        return _link_refused("This link has already been used", 410)
    accounts.mark_email_verified(user)
    services.commit()
    logout_user()
    login_user(user)
    return redirect(destination)


def _link_refused(title: str, status: int):
    return render_template(
        "portal/link_refused.html", title=title, form=SignInLinkForm(formdata=None)
    ), status


@bp.post("/sign-out")
def logout():
    logout_user()
    session.pop(RAISED_IN_SESSION, None)
    flash("You have signed out.", "info")
    return redirect(url_for("portal.home"))


@bp.post("/sign-out/everywhere")
@customer_required
def sign_out_everywhere():
    """For a lost phone or a shared computer: every browser signed in as this customer."""
    sign_in_sessions.sign_out_everywhere(current_user)
    services.commit()
    logout_user()
    session.pop(RAISED_IN_SESSION, None)
    flash("You have signed out on every device and browser.", "info")
    return redirect(url_for("portal.home"))


@bp.route("/account/new", methods=["GET", "POST"])
@ratelimits.limited(ratelimits.EMAILED_LINKS_FROM_CLIENT, counts=ratelimits.succeeded)
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        accounts.register_customer(name=form.name.data, email=form.email.data)
        services.commit()
        return render_template("portal/link_sent.html", email=form.email.data, registering=True)
    return render_template("portal/register.html", form=form), (422 if form.is_submitted() else 200)


@bp.route("/account/password/<token>", methods=["GET", "POST"])
def set_password(token):
    try:
        claims = read_link_token(SET_PASSWORD, token, 24 * 3600)
    except LinkExpired:
        return _link_refused("This link has expired", 410)
    except LinkInvalid:
        return _link_refused("This link is not valid", 400)
    user = db.session.get(User, claims.user_id)
    # Once a password is set with it, the link's marker no longer matches: one use only.
    if user is None or not user.is_customer or not password_marker_matches(claims, user):
        return _link_refused("This link has already been used", 400)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_password(user, form.password.data)
        except RuleViolation as violation:
            services.rollback()
            _show_rule_violation(form, violation)
        else:
            services.commit()
            logout_user()
            login_user(user)
            flash("Your password is set. You are signed in.", "success")
            return redirect(url_for("portal.my_cases"))
    return render_template("portal/set_password.html", form=form, user=user), (
        422 if form.is_submitted() else 200
    )


# --- What we understand, and ways to put it right ---------------------------------------------


@bp.context_processor
def coordination_words():
    """Promises read as "by Tuesday 24 November, 17:00 UK time", with their state."""
    return {"commitment_overdue": commitment_actions.is_overdue, "describe_due": describe_due}


@bp.post("/cases/<reference>/understanding/confirm")
@customer_required
def confirm_understanding(reference):
    form = ConfirmUnderstandingForm()
    return _case_action(
        reference,
        "confirm_understanding_form",
        form,
        lambda case: understanding.confirm_understanding(case, customer=current_user),
        "Thank you for confirming. We will keep working on exactly that.",
    )


@bp.post("/cases/<reference>/understanding/correct")
@customer_required
def correct_understanding(reference):
    form = CorrectUnderstandingForm()
    return _case_action(
        reference,
        "correct_understanding_form",
        form,
        lambda case: understanding.correct_understanding(
            case, customer=current_user, correction=form.correction.data
        ),
        "Thank you: we have your correction and will work from it.",
    )


@bp.post("/cases/<reference>/options/choose")
@customer_required
def choose_option(reference):
    form = ChooseOptionForm()

    def choose(case):
        # Only this case's own offers can be chosen: any other id is not found.
        option = next((o for o in case.resolution_options if o.id == form.option.data), None)
        if option is None:
            abort(404)
        remedies.choose_option(case, option, customer=current_user)

    return _case_action(
        reference,
        "choose_option_form",
        form,
        choose,
        "Thank you for choosing. We will put it right this way and keep you informed.",
    )
