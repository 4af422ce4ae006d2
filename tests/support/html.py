"""Reading the HTML a request returned, the way a person reads the page."""

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

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


def error_beside(page: str, field_id: str) -> str:
    """The message shown beside a field (not the summary at the top)."""
    match = re.search(rf'<p class="field__error" id="{re.escape(field_id)}-error">'
                      r'<span class="visually-hidden">Error:</span> ([^<]*)</p>', page)
    assert match, f"no message beside {field_id}"
    return match.group(1)


def input_value(page: str, field_id: str) -> str:
    """What a text input shows: after a refusal, what the person typed."""
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', page)
    assert tag, f"no input {field_id}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def between(html: str, start_marker: str, end_marker: str) -> str:
    start = html.index(start_marker)
    return html[start: html.index(end_marker, start)]


def hidden_value(html: str, name: str, form_action: str) -> str:
    """A hidden field's value inside the form that posts to `form_action`."""
    start = html.index(f'action="{form_action}"')
    form = html[start: html.index("</form>", start)]
    match = re.search(rf'<input name="{name}" type="hidden" value="([^"]*)">', form)
    assert match, f"no hidden {name} in the form posting to {form_action}"
    return match.group(1)


# --- Forms and links, as a browser reads them --------------------------------------------------


@dataclass
class Form:
    """A form as the page renders it: how and where it posts, its controls in page order."""

    method: str
    action: str
    enctype: str
    controls: list[dict] = field(default_factory=list)


class FormsAndLinks(HTMLParser):
    """The links of a page and its forms, each with its controls: input, button, textarea
    (with its text) and select (with its options), as dicts of their attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: dict | None = None
        self._select: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            self._form = Form(attrs.get("method", "get").lower(), attrs.get("action", ""),
                              attrs.get("enctype", ""))
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "button"):
            self._form.controls.append({"tag": tag, **attrs})
        elif tag == "textarea":
            self._textarea = {"tag": tag, **attrs, "text": ""}
            self._form.controls.append(self._textarea)
        elif tag == "select":
            self._select = {"tag": tag, **attrs, "options": []}
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"] += data


def read_page(html: str) -> FormsAndLinks:
    page = FormsAndLinks()
    page.feed(html)
    page.close()
    return page


def csrf_token_of(html: str, action: str | None = None) -> str:
    """The CSRF token a form on the page carries: the form posting to `action`, or else the
    first form that has one."""
    forms = [form for form in read_page(html).forms if action is None or form.action == action]
    assert forms, f"no form posting to {action}"
    tokens = [control.get("value", "") for form in forms for control in form.controls
              if control.get("name") == "csrf_token"]
    assert tokens and tokens[0], f"no CSRF token in the form posting to {action or 'anywhere'}"
    return tokens[0]
