"""The staff home: queues of cases with their counts, filtered, searched, next due first."""

from dataclasses import dataclass
from functools import lru_cache

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from backoffice import bp
from backoffice.navigation import add_nav_item
from shared import queues
from shared.extensions import htmx
from shared.permissions import staff_required

add_nav_item("backoffice.home", "Cases", order=10)

# The element htmx swaps when filters change or a page turns.
RESULTS_ID = "queue-results"

STATE_TAGS = {
    "on_track": "tag--on-track",
    "at_risk": "tag--at-risk",
    "breached": "tag--late",
    "done": "tag--done",
}


@bp.get("/", defaults={"name": queues.DEFAULT_QUEUE})
@bp.get("/queues/<name>")
@staff_required()
def home(name):
    queue = queues.QUEUES.get(name)
    if queue is None:
        abort(404)
    settings = queues.staff_settings()
    calendars, options = settings.calendars, settings.options
    filters = queues.parse_filters(request.args, options)
    viewer = queues.viewer_for(current_user, calendars)
    page = queues.queue_page(
        name,
        viewer,
        filters,
        calendars=calendars,
        category_calendars=options.category_calendars,
    )
    case_url = _case_url_builder()
    context = {
        "queue": queue,
        "page": page,
        "rows_html": Markup("").join(_row_html(row, case_url) for row in page.rows),
        "filters": filters,
        "status_text": _status_text(page, filters),
        "results_id": RESULTS_ID,
    }
    if htmx and htmx.target == RESULTS_ID:
        return render_template("backoffice/_partials/_queue_table.html", partial=True, **context)
    tags = _filter_option_tags(options)
    return render_template(
        "backoffice/queue.html",
        queues=list(queues.QUEUES.values()),
        counts=queues.queue_counts(viewer),
        category_options=_options_html(tags.categories, filters.category),
        team_options=_options_html(tags.teams, filters.team),
        owner_options=_options_html(tags.owners, filters.owner),
        statuses=queues.STATUS_LABELS,
        priorities=[p for p in queues.Priority],
        partial=False,
        **context,
    )


def _case_url_builder():
    """Links to the case page, built once per page rather than once per row."""
    if "backoffice.case" not in current_app.view_functions:
        return lambda reference: f"/staff/cases/{reference}"
    placeholder = "AM-000000"
    template = url_for("backoffice.case", reference=placeholder)
    return lambda reference: template.replace(placeholder, reference)


EMPHASISED_PRIORITIES = ("high", "urgent")
DEACTIVATED = Markup(' <span class="small">(deactivated)</span>')


def _row_html(row: queues.QueueRow, case_url) -> Markup:
    """One row of the table, written here rather than cell by cell in the template: with 50
    rows a page, the template's lookups and filters per cell cost more than the rest of the
    page. Every value is escaped."""
    reference = escape(row.reference)
    priority = escape(row.priority.capitalize())
    if row.priority in EMPHASISED_PRIORITIES:
        priority = Markup(f"<strong>{priority}</strong>")
    owner = escape(row.owner_name) + ("" if row.owner_active else DEACTIVATED)
    frame = row.next_frame
    if frame is None:
        due = "–"
    else:
        due = (f'<span class="small">{escape(frame.label)}</span><br>{escape(frame.due_words)}'
               f'<br><strong class="tag {STATE_TAGS[frame.state]}">'
               f"{escape(frame.state_words)}</strong>")
    return Markup(
        "<tr>"
        f'<th scope="row"><a class="case-list__ref" href="{escape(case_url(row.reference))}">'
        f"{reference}</a></th>"
        f'<td class="free-text"><span dir="auto">{escape(row.customer_name)}</span><br>'
        f'<span class="small muted queue-table__email">{escape(row.customer_email)}</span></td>'
        f'<td class="free-text" dir="auto">{escape(row.summary)}</td>'
        f"<td>{escape(row.status_label)}</td>"
        f"<td>{priority}</td>"
        f"<td>{owner}</td>"
        f"<td>{due}</td>"
        "</tr>\n"
    )


# --- The filters' choices ------------------------------------------------------------------------

# (value, the <option> tag, the same tag selected)
OptionTag = tuple[int, Markup, Markup]


@dataclass(frozen=True)
class FilterOptionTags:
    categories: list[OptionTag]
    teams: list[OptionTag]
    owners: list[OptionTag]


def _option_tags(choices) -> list[OptionTag]:
    tags = []
    for value, label in choices:
        value_html, label_html = escape(value), escape(label)
        tags.append((
            value,
            Markup(f'<option value="{value_html}">{label_html}</option>'),
            Markup(f'<option value="{value_html}" selected>{label_html}</option>'),
        ))
    return tags


# The options are one object until a setting changes (queues.staff_settings): their tags are
# written once for it, rather than some sixty escaped tags on every request.
@lru_cache(maxsize=2)
def _filter_option_tags(options: queues.FilterOptions) -> FilterOptionTags:
    return FilterOptionTags(
        categories=_option_tags(options.categories),
        teams=_option_tags(options.teams),
        owners=_option_tags(
            (owner_id, name if active else f"{name} (deactivated)")
            for owner_id, name, active in options.owners
        ),
    )


def _options_html(tags: list[OptionTag], chosen: int | None) -> Markup:
    return Markup("").join(
        selected if value == chosen else plain for value, plain, selected in tags
    )


def _status_text(page: queues.QueuePage, filters: queues.QueueFilters) -> str:
    shown = len(page.rows)
    if shown == 0:
        return "No cases shown."
    cases = "case" if shown == 1 else "cases"
    what = f"{shown} {cases}"
    if filters.search:
        what += f" matching “{filters.search}”"
    more = " More on the next page." if page.next_cursor else ""
    where = "" if page.is_first_page else " (a later page)"
    return f"Showing {what}{where}.{more}"
