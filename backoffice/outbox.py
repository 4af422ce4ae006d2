"""The outbox for admins: email given up on or still waiting, and a retry for each."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from backoffice import bp
from backoffice.navigation import add_nav_item
from shared import services
from shared.extensions import db
from shared.models import EmailStatus, OutgoingEmail, Role
from shared.permissions import staff_required
from shared.services import RuleViolation
from shared.services import mail as mail_actions

add_nav_item("backoffice.outbox", "Outbox", roles={Role.ADMIN}, order=91)


@bp.get("/admin/outbox")
@staff_required(Role.ADMIN)
def outbox():
    return render_template(
        "backoffice/outbox.html",
        failed=mail_actions.undelivered(EmailStatus.FAILED),
        pending=mail_actions.undelivered(EmailStatus.PENDING),
        counts=mail_actions.undelivered_counts(),
        limit=mail_actions.OUTBOX_PAGE_LIMIT,
    )


@bp.post("/admin/outbox/retry")
@staff_required(Role.ADMIN)
def retry_email():
    email_id = request.form.get("email_id", type=int)
    message = db.session.get(OutgoingEmail, email_id) if email_id is not None else None
    if message is None:
        abort(404)
    try:
        mail_actions.retry_email(message, actor=current_user)
    except RuleViolation as violation:
        services.rollback()
        flash(violation.message, "error")
        return redirect(url_for("backoffice.outbox"))
    services.commit()  # hands the message on: sent now, or by the worker
    db.session.refresh(message)
    if message.status == EmailStatus.SENT:
        flash(f"Sent “{message.subject}” to {message.recipient}.", "success")
    elif message.status == EmailStatus.FAILED:
        flash(f"“{message.subject}” could not be sent again: {message.last_error}", "error")
    else:
        flash(f"“{message.subject}” is on its way to {message.recipient}.", "info")
    return redirect(url_for("backoffice.outbox"))
