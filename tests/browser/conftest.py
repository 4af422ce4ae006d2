"""Real-browser tests: Chromium, driven by Playwright, against the app on a live server.

Every test here is marked `browser`. Without Chromium or the `playwright` package the
tests are skipped, except in CI (CI=true), where that is a failure: CI must never skip
the customer's journey silently. Point CHROMIUM_PATH at another Chromium if needed.
"""

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support.services import cannot_run

HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe.min.js"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


# A page that navigates on before its scripts and styles have arrived drops those connections;
# Werkzeug's development server (the live server here, never production) then leaves the
# static file it was sending to the garbage collector, which reports it as unclosed in
# whichever test runs next. Only that report, for files under static/, is let through.
DROPPED_STATIC_FILE = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <_io.FileIO name='[^']*/static/"
    ":pytest.PytestUnraisableExceptionWarning"
)


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items: mark only those in this folder.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(DROPPED_STATIC_FILE)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures can tell that it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def chromium_executable() -> str | None:
    candidates = [
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        shutil.which("chromium"),
    ]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        cannot_run("the playwright package is not installed")
    executable = chromium_executable()
    if executable is None:
        cannot_run("no Chromium found (set CHROMIUM_PATH, or install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server_url(reserved_port) -> str:
    return f"http://127.0.0.1:{reserved_port.port}"


@pytest.fixture
def app_config(smtp_app_config, live_server_url) -> dict:
    """Mail really goes over SMTP, links in it point at the live server, and every form is
    protected against cross-site requests, as in production: a form or an htmx request
    that lacks its CSRF token fails here as it would for a customer."""
    return {**smtp_app_config, "PUBLIC_BASE_URL": live_server_url, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app, reserved_port, live_server_url):
    """The test app served over HTTP in a background thread; yields its base URL."""
    sock = reserved_port.hand_over()
    sock.listen()
    server = make_server("127.0.0.1", reserved_port.port, app, threaded=True, fd=sock.fileno())
    sock.close()  # the server listens on its own duplicate of the socket
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield live_server_url
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _new_page(browser, **context_options):
    context = browser.new_context(**context_options)
    # The app's CSP allows same-origin scripts only: axe-core is served at /__axe.js.
    context.route(
        "**/__axe.js", lambda route: route.fulfill(path=AXE, content_type="application/javascript")
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def _screenshot_if_failed(request, page, tmp_path):
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not page.is_closed():
        path = tmp_path / "failure.png"
        page.screenshot(path=path, full_page=True)
        print(f"\nScreenshot of the page when {request.node.name} failed: {path}")


@pytest.fixture
def page(browser, live_server, request, tmp_path):
    context, page = _new_page(browser)
    yield page
    _screenshot_if_failed(request, page, tmp_path)
    context.close()


@pytest.fixture
def phone_page(browser, live_server, request, tmp_path):
    """A page the width of a small phone (390 by 844 CSS pixels)."""
    context, page = _new_page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    yield page
    _screenshot_if_failed(request, page, tmp_path)
    context.close()


@pytest.fixture
def no_script_page(browser, live_server, request, tmp_path):
    """A page with JavaScript turned off: every page must work without it."""
    context, page = _new_page(browser, java_script_enabled=False)
    yield page
    _screenshot_if_failed(request, page, tmp_path)
    context.close()


@pytest.fixture
def second_page(browser, live_server, request, tmp_path):
    """A second browser beside `page`, with cookies of its own: two people at once, such as
    a member of staff and the customer whose case they work on."""
    context, page = _new_page(browser)
    yield page
    folder = tmp_path / "second-page"
    folder.mkdir()
    _screenshot_if_failed(request, page, folder)
    context.close()
