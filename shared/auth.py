"""Who is signed in, and how a session is refused."""

from flask import flash, redirect, request, url_for
from flask_login import LoginManager
from sqlalchemy import bindparam, select

from shared.extensions import db
from shared.models import User

# Built once: run on every signed-in request, where building it (as session.get does each
# time) would cost more than running it.
_USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


def init_login_manager(manager: LoginManager) -> None:
    manager.login_message = "Please sign in to see your complaints."
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        return db.session.scalars(_USER_BY_ID, {"user_id": int(user_id)}).first()

    @manager.unauthorized_handler
    def unauthorised():
        # Staff pages send people to the staff sign-in; everything else to the portal's.
        if request.blueprint == "backoffice":
            return redirect(url_for("backoffice.login", next=request.full_path))
        flash(manager.login_message, manager.login_message_category)
        return redirect(url_for("portal.login", next=request.full_path))
