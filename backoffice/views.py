"""Back-office views: staff sign-in, their open cases, and the mailbox of kept email."""

import re

from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from markupsafe import Markup, escape

from backoffice import bp
from backoffice.forms import StaffSignInForm
from backoffice.navigation import add_nav_item
from shared import queries, services
from shared.extensions import limiter
from shared.models import Role
from shared.permissions import staff_required
from shared.services import accounts

_URL = re.compile(r"https?://[^\s<>\"']+")

add_nav_item("backoffice.mailbox", "Mailbox", roles={Role.ADMIN}, order=90)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def login():
    form = StaffSignInForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None and user.is_staff:
            services.commit()
            logout_user()
            login_user(user)
            session.permanent = True
            target = request.args.get("next", "")
            if not (target.startswith("/staff") and "//" not in target):
                target = url_for("backoffice.home")
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


@bp.get("/mailbox")
@staff_required(Role.ADMIN)
def mailbox():
    return render_template("backoffice/mailbox.html", messages=queries.mailbox())


@bp.get("/mailbox/<int:email_id>")
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
