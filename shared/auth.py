"""Who is signed in, and how a session is refused.

Each face keeps its own sign-in: the back office (under /staff) in a cookie of its own, the
portal in the usual one, so that a customer's sign-in link followed in an admin's browser
leaves the admin signed in. A cookie only names a sign-in session kept on the server
(shared/services/sessions.py): a session counts while its row is live, was started with the
person's current password and, for staff, has not been idle too long.
"""

from datetime import timedelta

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, user_logged_in, user_logged_out
from sqlalchemy import bindparam, select, update

from shared import services
from shared.extensions import db
from shared.models import Face, SignInSession, User, utcnow
from shared.services import sessions as sign_in_sessions
from shared.tokens import password_marker

STAFF_PATH_PREFIX = "/staff"
# Where the cookie session keeps the token that names the sign-in session.
SESSION_TOKEN_KEY = "_sign_in"
# How stale `last_seen_at` may get before a request writes it again: often enough to time
# idle staff sessions out, rarely enough that pages do not write on every request.
LAST_SEEN_PRECISION = timedelta(minutes=5)

# Built once: run on every signed-in request, where building it (as session.get does each
# time) would cost more than running it. One statement reads the person and their session.
_LIVE_SESSION = (
    select(User, SignInSession)
    .join(SignInSession, SignInSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        SignInSession.token_hash == bindparam("token_hash"),
        SignInSession.face == bindparam("face"),
        SignInSession.ended_at.is_(None),
    )
)


def face_of_request() -> Face:
    path = request.path
    if path == STAFF_PATH_PREFIX or path.startswith(STAFF_PATH_PREFIX + "/"):
        return Face.STAFF
    return Face.PORTAL


class FaceSessionInterface(SecureCookieSessionInterface):
    """The back office's session in a cookie of its own, sent to /staff only."""

    def get_cookie_name(self, app: Flask) -> str:
        if face_of_request() == Face.STAFF:
            return app.config["STAFF_SESSION_COOKIE_NAME"]
        return super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        path = super().get_cookie_path(app)
        if face_of_request() == Face.STAFF:
            return path.rstrip("/") + STAFF_PATH_PREFIX
        return path


def init_app(app: Flask) -> None:
    app.session_interface = FaceSessionInterface()

    @app.before_request
    def load_who_is_signed_in():
        # Read the session before the view changes anything: a stale session is then ended,
        # and a live one marked as seen, in a transaction of its own that waits on nothing.
        if request.endpoint != "static":
            current_user._get_current_object()


def init_login_manager(manager: LoginManager) -> None:
    manager.login_message = "Please sign in to see your complaints."
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        token = session.get(SESSION_TOKEN_KEY)
        if not user_id.isdigit() or not isinstance(token, str):
            return _forget_sign_in()
        row = db.session.execute(
            _LIVE_SESSION,
            {
                "user_id": int(user_id),
                "token_hash": sign_in_sessions.token_hash(token),
                "face": face_of_request().value,
            },
        ).first()
        if row is None:
            return _forget_sign_in()
        user, sign_in = row
        now = utcnow()
        if _has_lapsed(user, sign_in, now):
            _write_apart(sign_in, ended_at=now)
            return _forget_sign_in()
        if now - sign_in.last_seen_at >= LAST_SEEN_PRECISION and _someone_at_work():
            _write_apart(sign_in, last_seen_at=now)
        return user

    @manager.unauthorized_handler
    def unauthorised():
        # Staff pages send people to the staff sign-in; everything else to the portal's.
        if request.blueprint == "backoffice":
            return redirect(url_for("backoffice.login", next=request.full_path))
        flash(manager.login_message, manager.login_message_category)
        return redirect(url_for("portal.login", next=request.full_path))

    # Weak references would let blinker forget receivers defined in a function.
    user_logged_in.connect(_start_sign_in_session, weak=False)
    user_logged_out.connect(_end_sign_in_session, weak=False)


def _has_lapsed(user: User, sign_in: SignInSession, now) -> bool:
    """A new password ends the sessions started with the old one; staff sessions end when
    left idle."""
    if sign_in.password_marker != password_marker(user.password_hash):
        return True
    if sign_in.face == Face.STAFF:
        idle_limit = timedelta(hours=current_app.config["STAFF_IDLE_TIMEOUT_HOURS"])
        return now - sign_in.last_seen_at > idle_limit
    return False


def _someone_at_work() -> bool:
    """Staff pages left open refresh themselves through htmx (header counts, the timeline, who
    is viewing a case): that is nobody at work, and must not keep an idle session alive. Page
    loads, forms sent, and typing in the composer (which reports it as `composing`) are."""
    if request.headers.get("HX-Request") != "true":
        return True
    # Only small form posts are read here: a request carrying files is left to its view.
    typing = request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded"
    return typing and request.form.get("composing") == "1"


def _write_apart(sign_in: SignInSession, **values) -> None:
    """Write the session row in a transaction of its own: the request's own unit of work
    commits or rolls back as its view decides, and pages that only read never commit."""
    table = SignInSession.__table__
    with db.engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == sign_in.id).values(**values))


def _forget_sign_in() -> None:
    """Drop a refused sign-in from the cookie, so that later requests do not look it up."""
    for key in ("_user_id", "_fresh", "_id", SESSION_TOKEN_KEY):
        session.pop(key, None)
    return None


def _start_sign_in_session(app, user, **extra) -> None:
    """Every sign-in (password, link, new password) starts a session on the server."""
    previous = session.pop(SESSION_TOKEN_KEY, None)
    if isinstance(previous, str):
        sign_in_sessions.end_session(previous)
    session[SESSION_TOKEN_KEY] = sign_in_sessions.start_session(
        user, face_of_request(), user_agent=request.user_agent.string
    )
    # The view has committed its own work before signing the person in; the session is
    # saved now, whatever the view does next.
    services.commit()


def _end_sign_in_session(app, user, **extra) -> None:
    token = session.pop(SESSION_TOKEN_KEY, None)
    signed_in = getattr(user, "is_authenticated", False)
    if not isinstance(token, str) and not signed_in:
        return
    if isinstance(token, str):
        sign_in_sessions.end_session(token)
    if signed_in:
        sign_in_sessions.close_link_grace(user)
    services.commit()
