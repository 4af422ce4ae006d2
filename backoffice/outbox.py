"""The outbox for admins: email given up on or still waiting, and a retry for each."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from backoffice import bp
from backoffice.navigation import add_nav_item
from shared import services
from shared.extensions import db
from shared.models import EmailStatus, OutgoingEmail, Role, utcnow
from shared.permissions import staff_required
from shared.routing import database_id
from shared.services import RuleViolation
from shared.services import mail as mail_actions

add_nav_item("backoffice.outbox", "Outbox", roles={Role.ADMIN}, order=91)


@bp.get("/admin/outbox")
@staff_required(Role.ADMIN)
def outbox():
    return render_template(
        "backoffice/outbox.html",
        now=utcnow(),
        failed=mail_actions.undelivered(EmailStatus.FAILED),
        pending=mail_actions.undelivered(EmailStatus.PENDING),
        counts=mail_actions.undelivered_counts(),
        limit=mail_actions.OUTBOX_PAGE_LIMIT,
    )


@bp.post("/admin/outbox/retry")
@staff_required(Role.ADMIN)
def retry_email():
    email_id = request.form.get("email_id", type=database_id)
    message = db.session.get(OutgoingEmail, email_id) if email_id is not None else None
    if message is None:
        abort(404)
    try:
        mail_actions.retry_email(message, actor=current_user)
    except RuleViolation as violation:
        services.rollback()
        flash(violation.message, "error")
        return redirect(url_for("backoffice.outbox"))
    services.commit()  # hands the message on, to be sent in the background
    flash(
        f"“{message.subject}” is on its way to {message.recipient}. If it cannot be sent, "
        "it shows here again with the reason.",
        "info",
    )
    return redirect(url_for("backoffice.outbox"))
