"""The application factory: reads as a table of contents."""

import os
import sqlite3
from pathlib import Path

from flask import Flask, render_template, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.config import settings_from_environment
from shared.extensions import csrf, db, htmx, limiter, login_manager, mail, migrate
from shared.upload_streams import CappedUploadRequest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        "amends",
        instance_path=os.environ.get("INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    # Files over the size limit are refused by name on their form, not with a bare 413.
    app.request_class = CappedUploadRequest
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(settings_from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)

    if app.config["TRUSTED_PROXIES"]:
        count = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    from shared.models.types import render_migration_item
    from shared.search import FTS_OBJECT_NAMES

    migrate.init_app(
        app,
        db,
        directory=str(PROJECT_ROOT / "migrations"),
        render_as_batch=True,  # SQLite alters tables by copying them
        render_item=render_migration_item,
        # The full-text search objects are made by hand in their migration, not by models.
        include_name=lambda name, type_, parent_names: name not in FTS_OBJECT_NAMES,
    )
    login_manager.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)

    from shared import auth
    from shared.models.service_levels import forget_settings_stamp

    auth.init_login_manager(login_manager)
    # Each request reads the settings stamp afresh (once), whatever transaction it joins.
    app.before_request(lambda: forget_settings_stamp(db.session))
    auth.init_app(app)  # a session cookie per face, each naming a session kept on the server


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, let readers and a writer work side by side, cache."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        # The default 2 MB page cache is too small for the queue indexes of a large database:
        # each request would read the same pages from the operating system again. 64 MB of
        # cache and memory-mapped reads keep the hot indexes in the process.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    from backoffice import bp as backoffice_bp
    from portal import bp as portal_bp
    from shared import routing

    routing.init_app(app)  # before the blueprints: their rules use its <id:...> converter
    app.register_blueprint(portal_bp)
    app.register_blueprint(backoffice_bp, url_prefix="/staff")

    # Browsers, bookmarks and feed readers ask for the icon at the root, whatever the page says.
    @app.get("/favicon.ico")
    def favicon():
        return app.send_static_file("favicon.ico")


def register_error_handlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    def render_error(status: int, title: str, message: str):
        return render_template("errors/error.html", title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return render_error(
            400,
            "This form has expired",
            "For your security the form could not be sent. Go back, refresh the page and try"
            " again: what you typed is still in your browser's back page.",
        )

    handled = {
        400: ("Something in that request was not right", "Please go back and try again."),
        403: ("You cannot open this page", "Your account does not have access to this page."),
        404: ("Page not found", "Check the address, or go back to the page you came from."),
        405: ("That action is not available here", "Please go back and try again."),
        # Only a body far larger than any form may carry gets here: files over the limit are
        # otherwise refused on the form itself, with the text kept.
        413: (
            "That was too much to send at once",
            "Nothing was sent, and nothing has been saved. Use your browser's Back button: what"
            " you typed is still there. Then attach fewer or smaller files and send it again.",
        ),
        500: ("Sorry, something went wrong on our side", "Please try again in a few minutes."),
    }
    for status, (title, message) in handled.items():
        app.register_error_handler(
            status, lambda error, s=status, t=title, m=message: render_error(s, t, m)
        )

    @app.errorhandler(429)
    def too_many_requests(error):
        from shared.ratelimits import describe_wait, retry_after_seconds

        seconds = retry_after_seconds(error)
        # Staff are refused inside the back office, in its own layout.
        staff = request.blueprint == "backoffice"
        page = render_template(
            "errors/staff_error.html" if staff else "errors/error.html",
            title="Please wait a moment",
            message="You have tried this several times in a short time. Please wait"
            f" {describe_wait(seconds)} and try again.",
        )
        return page, 429, {"Retry-After": str(seconds)}


# No inline script or style anywhere: the policy can stay strict.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Magic links carry a token in the URL: never leak it to another site.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
            response.vary.add("HX-Request")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def register_template_helpers(app: Flask) -> None:
    from shared import presentation

    presentation.init_app(app)


def register_commands(app: Flask) -> None:
    from shared import commands

    commands.init_app(app)
