"""Helpers shared by the portal request tests (this module holds no tests of its own)."""

import re
from html import unescape

FIELD_WRAPPER = re.compile(r'<div class="field(?: field--error)?" id=')


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
