"""Saved replies: managers and admins keep the shared wording; everyone on staff uses it.

The picker on the case page asks `fill_saved_reply` for a reply with the case's details
filled in. With htmx it gets the composer's textarea back, the agent's own text kept above
the inserted reply; without JavaScript it gets a small page with the text to copy.
"""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from backoffice import bp
from backoffice.case_forms import ComposerForm
from backoffice.coordination_forms import SavedReplyForm
from backoffice.navigation import add_nav_item
from shared import queries, queues, services
from shared.extensions import htmx
from shared.models import Role, SavedReply
from shared.permissions import staff_required
from shared.routing import database_id
from shared.services import RuleViolation
from shared.services import saved_replies as reply_actions

add_nav_item("backoffice.saved_replies", "Saved replies", order=60)


def _show_rule_violation(form, violation: RuleViolation) -> None:
    field = getattr(form, violation.field, None) if violation.field else None
    if field is not None:
        field.errors = [*field.errors, violation.message]
    else:
        form.form_errors.append(violation.message)


@bp.context_processor
def saved_reply_helpers():
    # Called by the picker only when it is on the page: (id, title) pairs, kept in memory
    # with the other staff settings until one of them changes.
    return {"saved_reply_choices": lambda: queues.staff_settings().saved_reply_titles}


@bp.get("/saved-replies")
@staff_required()
def saved_replies():
    return render_template(
        "backoffice/saved_replies.html",
        replies=queries.saved_replies(),
        may_maintain=current_user.role in (Role.MANAGER, Role.ADMIN),
        placeholders=reply_actions.PLACEHOLDERS,
    )


@bp.route("/saved-replies/new", methods=["GET", "POST"])
@staff_required(Role.MANAGER, Role.ADMIN)
def new_saved_reply():
    form = SavedReplyForm()
    if form.validate_on_submit():
        try:
            reply_actions.create_saved_reply(
                actor=current_user, title=form.title.data, body=form.body.data
            )
        except RuleViolation as violation:
            services.rollback()
            _show_rule_violation(form, violation)
        else:
            services.commit()
            flash(f"Saved reply “{form.title.data}” added.", "success")
            return redirect(url_for("backoffice.saved_replies"))
    return _form_page(form, None)


@bp.route("/saved-replies/<id:reply_id>/edit", methods=["GET", "POST"])
@staff_required(Role.MANAGER, Role.ADMIN)
def edit_saved_reply(reply_id):
    reply = queries.saved_reply_or_404(reply_id)
    form = SavedReplyForm(obj=reply)
    if form.validate_on_submit():
        try:
            reply_actions.update_saved_reply(
                reply, actor=current_user, title=form.title.data, body=form.body.data
            )
        except RuleViolation as violation:
            services.rollback()
            reply = queries.saved_reply_or_404(reply_id)
            _show_rule_violation(form, violation)
        else:
            services.commit()
            flash(f"Saved reply “{reply.title}” updated.", "success")
            return redirect(url_for("backoffice.saved_replies"))
    return _form_page(form, reply)


@bp.post("/saved-replies/<id:reply_id>/delete")
@staff_required(Role.MANAGER, Role.ADMIN)
def delete_saved_reply(reply_id):
    reply = queries.saved_reply_or_404(reply_id)
    title = reply.title
    reply_actions.delete_saved_reply(reply, actor=current_user)
    services.commit()
    flash(f"Saved reply “{title}” deleted.", "success")
    return redirect(url_for("backoffice.saved_replies"))


def _form_page(form: SavedReplyForm, reply: SavedReply | None):
    return render_template(
        "backoffice/saved_reply_form.html",
        form=form,
        reply=reply,
        placeholders=reply_actions.PLACEHOLDERS,
    ), (422 if form.is_submitted() else 200)


@bp.get("/cases/<reference>/saved-reply")
@staff_required()
def fill_saved_reply(reference):
    """The chosen reply filled in for this case, after whatever the agent already typed."""
    case = queries.staff_case_or_404(reference)
    typed = request.args.get("body", "")
    reply_id = request.args.get("saved_reply", type=database_id)
    reply = queries.saved_reply_or_404(reply_id) if reply_id else None
    filled = reply_actions.fill(reply.body, case) if reply else ""
    combined = "\n\n".join(part for part in (typed.rstrip(), filled) if part)
    if htmx:
        return render_template(
            "backoffice/_partials/_composer_body.html",
            case=case,
            body=combined,
            presence_url=_presence_url(case),
            composer_form=ComposerForm(formdata=None),  # the textarea's limit
        )
    if reply is None:
        return render_template(
            "backoffice/saved_reply_filled.html", case=case, reply=None, body=typed,
            replies=queries.saved_replies(),
        ), 422
    return render_template(
        "backoffice/saved_reply_filled.html", case=case, reply=reply, body=combined,
        replies=queries.saved_replies(),
    )


def _presence_url(case) -> str | None:
    """The case page's "someone is writing" signal, kept on the replaced textarea."""
    if "backoffice.case_presence" not in current_app.view_functions:
        return None
    return url_for("backoffice.case_presence", reference=case.reference)
