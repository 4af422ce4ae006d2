"""Helpers shared by the portal request tests (this module holds no tests of its own)."""

import re
from html import unescape

from flask import Flask, g

FIELD_WRAPPER = re.compile(r'<div class="field(?: field--error)?" id=')


def forget_request_globals(app: Flask) -> None:
    """Give every request an empty `g`, as a real server does.

    The `app` fixture keeps one app context pushed for the whole test, and Flask reuses it for
    each test-client request, so `g` would otherwise outlive a request: Flask-Login would
    remember the first request's user, and Flask-WTF the first session's CSRF token.
    """

    def empty_g():
        g.__dict__.clear()

    app.before_request_funcs.setdefault(None, []).insert(0, empty_g)


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def field_block(html: str, field_id: str) -> str:
    """The HTML of one form field's wrapper: label, hint, message and control."""
    start = html.index(f'id="{field_id}-field"')
    following = FIELD_WRAPPER.search(html, start + 1)
    return html[start: following.start() if following else len(html)]


def error_summary(html: str) -> str:
    start = html.index('class="error-summary"')
    return html[start: html.index("</div>", start)]


def textarea_text(html: str, field_id: str) -> str:
    match = re.search(rf'<textarea[^>]*id="{field_id}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {field_id}"
    return match.group(1).strip()
