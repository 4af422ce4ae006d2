"""Back-office views: staff sign-in, their open cases, and the mailbox of kept email."""

import re

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup, escape

from backoffice import bp, two_factor
from backoffice.forms import StaffSignInForm
from backoffice.navigation import add_nav_item
from shared import queries, ratelimits, services
from shared.models import Role
from shared.permissions import staff_required
from shared.services import accounts
from shared.services import sessions as sign_in_sessions

_URL = re.compile(r"https?://[^\s<>\"']+")

add_nav_item("backoffice.mailbox", "Mailbox", roles={Role.ADMIN}, order=90)


@bp.route("/login", methods=["GET", "POST"])
@ratelimits.limited(
    ratelimits.STAFF_SIGN_INS_FROM_CLIENT, ratelimits.SIGN_INS_TO_ACCOUNT, counts=ratelimits.failed
)
def login():
    form = StaffSignInForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None and user.is_staff:
            services.commit()
            target = request.args.get("next", "")
            if not (target.startswith("/staff") and "//" not in target):
                target = url_for("backoffice.home")
            if two_factor.needs_second_step(user):
                return two_factor.begin_second_step(user, target)
            logout_user()
            login_user(user)
            session.permanent = True
            return redirect(target)
        services.rollback()
        form.form_errors.append("That email address and password do not match a staff account.")
    return render_template("backoffice/login.html", form=form), (
        422 if form.is_submitted() else 200
    )


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("backoffice.login"))


@bp.post("/sign-out/everywhere")
@staff_required()
def sign_out_everywhere():
    """For a lost laptop or a shared computer: every browser signed in as this person."""
    sign_in_sessions.sign_out_everywhere(current_user)
    services.commit()
    logout_user()
    flash("You have signed out on every device and browser.", "info")
    return redirect(url_for("backoffice.login"))


@bp.get("/mailbox")
@staff_required(Role.ADMIN)
def mailbox():
    return render_template("backoffice/mailbox.html", messages=queries.mailbox())


@bp.get("/mailbox/<id:email_id>")
@staff_required(Role.ADMIN)
def mailbox_message(email_id):
    message = queries.mailbox_message_or_404(email_id)
    return render_template(
        "backoffice/mailbox_message.html", message=message, body=_linkify(message.text_body)
    )


def _linkify(text: str) -> Markup:
    """Escape the text, then make its web addresses clickable (sign-in links in demo mail)."""
    escaped = str(escape(text))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))
