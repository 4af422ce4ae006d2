"""Staff notifications: the list, marking read, and the unread count in the header.

Each person sees and marks only their own; anyone else's is a 404, as if it did not exist.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from backoffice import bp
from backoffice.navigation import add_nav_item
from shared import services
from shared.extensions import htmx
from shared.permissions import staff_required
from shared.routing import database_id
from shared.services import notifications as notification_actions
from shared.services import problems as problem_actions
from shared.spikes import patterns_address_for_notice

add_nav_item(
    "backoffice.notifications", "Notifications", order=30,
    count=notification_actions.unread_count, count_words="unread",
    count_refresh="backoffice.unread_notification_count",
)

# What each kind is about, in words, beside the notification's own text.
KIND_WORDS = {
    "case_assigned": "Case assigned to you",
    "task_assigned": "Task for you",
    "escalation_requested": "Escalation to decide",
    "escalation_decided": "Escalation decided",
    "escalation_proposed": "Escalation proposed",
    "customer_replied": "Customer replied",
    "update_overdue": "Update overdue",
    "commitment_overdue": "Promise overdue",
    "spike_detected": "Spike in complaints",
    "problem_fixed": "Problem fixed: tell your customer",
}


@bp.context_processor
def notification_helpers():
    return {
        "notification_kind_words": lambda kind: KIND_WORDS.get(kind, "Notification"),
    }


@bp.get("/notifications")
@staff_required()
def notifications():
    before = request.args.get("before", type=database_id)
    page, next_before = notification_actions.notifications_page(current_user, before=before)
    return render_template(
        "backoffice/notifications.html",
        notifications=page,
        next_before=next_before,
        first_page=before is None,
        unread=notification_actions.unread_count(current_user),
    )


@bp.get("/notifications/count")
def unread_notification_count():
    """What the header polls; without htmx there is nothing to poll, so go to the list."""
    if htmx and not current_user.is_authenticated:
        # Signed out meanwhile (in another tab, or the session ended): 286 tells htmx to stop
        # polling, instead of following the redirect and drawing the sign-in page in the header.
        return "", 286
    return _unread_notification_count()


@staff_required()
def _unread_notification_count():
    if not htmx:
        return redirect(url_for("backoffice.notifications"))
    response = render_template(
        "backoffice/_partials/_nav_count.html",
        count=notification_actions.unread_count(current_user),
        words="unread",
    )
    return response, 200, {"Vary": "HX-Request", "Cache-Control": "no-store"}


@bp.get("/notifications/<id:notification_id>/open")
@staff_required()
def open_notification(notification_id):
    """Follow a notification to what it is about, marking it read on the way: its case (at
    the task, for a fixed problem), or the patterns page at the spike.

    A GET that changes something, deliberately: it is a link (open in a new tab works), and
    the only thing another site could make it do is mark one of your own notices read.
    """
    notification = notification_actions.notification_of_user_or_404(
        current_user, notification_id
    )
    notification_actions.mark_read(notification, actor=current_user)
    services.commit()
    return redirect(_destination(notification))


def _destination(notification) -> str:
    if notification.kind == "spike_detected":
        return patterns_address_for_notice(notification.text)
    if notification.case is None:
        return url_for("backoffice.notifications")
    anchor = None
    if notification.kind == "problem_fixed":
        task = problem_actions.open_fix_task(notification.case, current_user)
        anchor = f"task-{task.id}" if task is not None else "problems"
    return url_for("backoffice.case", reference=notification.case.reference, _anchor=anchor)


@bp.post("/notifications/read")
@staff_required()
def mark_notification_read():
    notification_id = request.form.get("notification_id", type=database_id)
    if notification_id is None:
        abort(404)
    notification = notification_actions.notification_of_user_or_404(
        current_user, notification_id
    )
    notification_actions.mark_read(notification, actor=current_user)
    services.commit()
    return redirect(_back_to_list(f"notification-{notification_id}"))


@bp.post("/notifications/read-all")
@staff_required()
def mark_all_notifications_read():
    marked = notification_actions.mark_all_read(current_user)
    services.commit()
    flash(
        f"Marked {marked} notification{'s' if marked != 1 else ''} read." if marked
        else "Nothing was unread.",
        "success",
    )
    return redirect(_back_to_list())


def _back_to_list(anchor: str | None = None) -> str:
    # Stay on the page of the list the person was reading.
    before = request.form.get("before", type=database_id)
    return url_for("backoffice.notifications", before=before, _anchor=anchor)
