"""Who is signed in, and how a session is refused."""

from flask import flash, redirect, request, url_for
from flask_login import LoginManager

from shared.extensions import db
from shared.models import User


def init_login_manager(manager: LoginManager) -> None:
    manager.login_message = "Please sign in to see your complaints."
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    @manager.unauthorized_handler
    def unauthorised():
        # Staff pages send people to the staff sign-in; everything else to the portal's.
        if request.blueprint == "backoffice":
            return redirect(url_for("backoffice.login", next=request.full_path))
        flash(manager.login_message, manager.login_message_category)
        return redirect(url_for("portal.login", next=request.full_path))
