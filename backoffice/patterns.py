"""What complaints tell us: the patterns across many cases, for managers, and their export.

The figures come from shared.patterns; this module reads the filters (the dashboard's period
form, with a category and a product), draws the charts with the numbers as tables after them,
and hands the same figures, or the cases behind them, to shared.patterns_export.
"""

import io
from typing import BinaryIO

from flask import Response, render_template, request, send_file, url_for
from wtforms import SelectField
from wtforms.validators import ValidationError

from backoffice import bp
from backoffice.dashboard import MANAGERS, PeriodForm, _team_choice, period_words
from backoffice.navigation import add_nav_item
from shared import dashboard as board_figures
from shared import patterns as figures
from shared import patterns_export as export
from shared.charts import ChartData, Group, Point, column_chart, horizontal_bar_chart
from shared.models import OUTCOME_LABELS, ProblemStatus, utcnow
from shared.money import format_money
from shared.permissions import staff_required

PAGE_TITLE = "What complaints tell us"
add_nav_item("backoffice.patterns", PAGE_TITLE, roles=MANAGERS, order=41)

WHAT = {"figures": "figures", "cases": "cases"}
# Beyond this many weeks a column per week is too narrow to read: the table alone says it.
MOST_WEEKS_DRAWN = 16


class PatternsForm(PeriodForm):
    """The dashboard's period and team, and a category and a product."""

    category = SelectField("Category", coerce=_team_choice, validate_choice=False)
    product = SelectField("Product or service", coerce=_team_choice, validate_choice=False)

    def __init__(self, formdata, *, today, teams, categories, products):
        super().__init__(formdata, today=today, teams=teams)
        self.category.choices = [("", "All categories"), *categories]
        self.product.choices = [("", "All products and services"), *products]
        self.category_ids = {key for key, _name in categories}
        self.product_ids = {key for key, _name in products}

    def validate_category(self, field):
        if field.data is not None and field.data not in self.category_ids:
            raise ValidationError("Choose a category from the list, or All categories")

    def validate_product(self, field):
        if field.data is not None and field.data not in self.product_ids:
            raise ValidationError("Choose a product or service from the list, or All products"
                                  " and services")


def _read_filters():
    """The form, read from the address, with what the page needs around it."""
    calendars = board_figures.load_calendars()
    zone, zone_label = board_figures.organisation_zone(calendars)
    teams = figures.team_names()
    categories = figures.category_names()
    products = figures.product_names()
    form = PatternsForm(request.args, today=utcnow().astimezone(zone).date(), teams=teams,
                        categories=categories, products=products)
    return form, zone, zone_label, teams, categories, products


def _filter_args(form: PatternsForm) -> dict:
    """The filters as the address carries them, for the export links."""
    args = {"start": form.start.data.isoformat(), "end": form.end.data.isoformat()}
    for name in ("team", "category", "product"):
        value = getattr(form, name).data
        if value is not None:
            args[name] = value
    return args


def _scope(form, period, zone_label, teams, categories, products) -> list[tuple[str, str]]:
    return [
        ("Period", period_words(period)),
        ("Days", f"Midnight to midnight, {zone_label}"),
        ("Team", dict(teams).get(form.team.data, "All teams")),
        ("Category", dict(categories).get(form.category.data, "All categories")),
        ("Product or service", dict(products).get(form.product.data,
                                                  "All products and services")),
        ("Exported", utcnow().astimezone(period.zone).strftime("%Y-%m-%d %H:%M")),
    ]


# --- The page -----------------------------------------------------------------------------------


@bp.get("/patterns")
@staff_required(*MANAGERS)
def patterns():
    form, zone, zone_label, teams, categories, products = _read_filters()
    context = {"form": form, "zone_label": zone_label, "max_days": board_figures.MAX_PERIOD_DAYS,
               "number": "{:,}".format, "page_title": PAGE_TITLE}
    if not form.validate():
        return render_template("backoffice/patterns.html", found=None, **context), 422
    from shared.spikes import SPIKE_RULE, spikes_for_page

    period = board_figures.Period(form.start.data, form.end.data, zone)
    now = utcnow()
    found = figures.build_patterns(
        period, now, team_id=form.team.data, category_id=form.category.data,
        product_id=form.product.data, categories=categories, products=products,
    )
    spikes = spikes_for_page(period.starts_at, period.ends_at, team_id=form.team.data,
                             category_id=form.category.data, product_id=form.product.data)
    names = {"team": dict(teams).get(form.team.data),
             "category": dict(categories).get(form.category.data),
             "product": dict(products).get(form.product.data)}
    filter_args = _filter_args(form)
    return render_template(
        "backoffice/patterns.html",
        found=found,
        scope_words=_scope_words(names),
        period_words=period_words(period),
        charts=_charts(found),
        week_words=[_week_words(week, now) for week in found.trends.weeks],
        earlier_week_words=[_week_words(week, now) for week in found.trends.earlier_weeks],
        percent=percent_words,
        change_words=change_words,
        money=money_words,
        rating_words=rating_words,
        average_words=average_words,
        status_label=lambda status: ProblemStatus(status).label,
        local_day=lambda moment: _day(moment, zone),
        spikes=spikes,
        spike_rule=SPIKE_RULE,
        exports={(what, kind): url_for("backoffice.patterns_export", file_type=kind,
                                       what=what, **filter_args)
                 for what in WHAT for kind in ("csv", "xlsx")},
        outcome_labels=OUTCOME_LABELS,
        **context,
    )


def _scope_words(names: dict) -> str:
    chosen = [name for name in (names["team"], names["category"], names["product"]) if name]
    return ", ".join(chosen) if chosen else "all teams, categories and products"


MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec")


def _short_day(day) -> str:
    return f"{day.day} {MONTHS_SHORT[day.month - 1]} {day.year}"


def _week_words(week: figures.Week, now) -> str:
    """"Week of 9 Nov 2026", with "(so far)" for the week under way and "(to come)" after."""
    words = f"Week of {_short_day(week.starts_on)}"
    if week.holds(now):
        return words + " (so far)"
    if week.starts_at > now:
        return words + " (to come)"
    return words


def _day(moment, zone) -> str:
    return _short_day(moment.astimezone(zone).date())


def percent_words(ratio: float | None) -> str:
    """0.4567 -> "46 %"; never 0 % for something, nor 100 % for less than all."""
    if ratio is None:
        return "–"
    value = round(100 * ratio)
    if value == 0 and ratio > 0:
        return "under 1 %"
    if value == 100 and ratio < 1:
        return "99 %"
    return f"{value} %"


def change_words(row: figures.TrendRow) -> str:
    """"+4 (up 50 %)", "−2 (down 20 %)", "no change", "+3 (none before)"."""
    if row.change == 0:
        return "no change"
    sign = "+" if row.change > 0 else "−"
    if row.change_ratio is None:
        return f"{sign}{abs(row.change):,} (none before)"
    direction = "up" if row.change > 0 else "down"
    return f"{sign}{abs(row.change):,} ({direction} {percent_words(abs(row.change_ratio))})"


def money_words(amounts: dict[str, int]) -> str:
    if not amounts:
        return "none"
    return " + ".join(format_money(amount, currency) for currency, amount in amounts.items())


def average_words(value: float) -> str:
    """An average to one decimal: "1.4"; "none" for none, and "under 0.1" for a few that would
    read as "0.0"."""
    if value <= 0:
        return "none"
    if value < 0.05:
        return "under 0.1"
    return f"{value:.1f}"


def rating_words(row: figures.CauseRow) -> str:
    if row.average_rating is None:
        return "not rated"
    return f"{row.average_rating:.1f} out of 5 ({row.rated:,} rated)"


# --- Charts -------------------------------------------------------------------------------------


def _charts(found: figures.Patterns) -> dict:
    made = {}
    pareto, trends = found.pareto, found.trends
    if pareto.rows:
        data = ChartData(
            chart_id="chart-pareto",
            title="Resolved cases by root cause, most first",
            description="How many cases resolved in the period had each root cause, with its"
                        " share of all of them. The vital few are marked in the table after"
                        " the chart.",
            series=("Cases",),
            groups=tuple(Group(row.label, (Point(row.cases, f"{row.cases:,}"
                                                            f" ({percent_words(row.share)})"),))
                         for row in pareto.rows),
            row_heading="Root cause",
        )
        made["pareto"] = (data, horizontal_bar_chart(data))
    if trends.total.total or trends.total.earlier_total:
        span = len(trends.weeks)
        span_words = "week" if span == 1 else f"{span} weeks"
        if span <= MOST_WEEKS_DRAWN:
            data = ChartData(
                chart_id="chart-weeks",
                title="Complaints raised per week",
                description="How many complaints were raised in each week of the period,"
                            " Monday to Sunday.",
                series=("Complaints",),
                groups=tuple(Group(_short_day(week.starts_on).rsplit(" ", 1)[0],
                                   (Point(count, f"{count:,}"),))
                             for week, count in zip(trends.weeks, trends.total.weekly,
                                                    strict=True)),
                row_heading="Week",
            )
            made["weeks"] = (data, column_chart(data))
        for name, rows, heading in (("categories", trends.by_category, "Category"),
                                    ("products", trends.by_product, "Product or service")):
            if not rows:
                continue
            data = ChartData(
                chart_id=f"chart-trend-{name}",
                title=f"Complaints by {heading.lower()}: the period's {span_words} against"
                      f" the {span_words} before",
                description=f"For each {heading.lower()}, how many complaints were raised in"
                            f" the period's {span_words}, and in the same number of weeks just"
                            " before.",
                series=(f"These {span_words}" if span > 1 else "This week",
                        f"The {span_words} before" if span > 1 else "The week before"),
                groups=tuple(Group(row.label, (Point(row.total, f"{row.total:,}"),
                                               Point(row.earlier_total,
                                                     f"{row.earlier_total:,}")))
                             for row in rows),
                row_heading=heading,
            )
            made[name] = (data, horizontal_bar_chart(data))
    return made


# --- Export -------------------------------------------------------------------------------------


@bp.get("/patterns/export.<any(csv, xlsx):file_type>")
@staff_required(*MANAGERS)
def patterns_export(file_type):
    what = request.args.get("what", "figures")
    if what not in WHAT:
        return Response("Choose what to export: what=figures or what=cases.\n", status=400,
                        mimetype="text/plain")
    form, zone, zone_label, teams, categories, products = _read_filters()
    if not form.validate():
        context = {"form": form, "zone_label": zone_label,
                   "max_days": board_figures.MAX_PERIOD_DAYS, "number": "{:,}".format,
                   "page_title": PAGE_TITLE}
        return render_template("backoffice/patterns.html", found=None, **context), 422
    period = board_figures.Period(form.start.data, form.end.data, zone)
    filters = figures.Filters(form.team.data, form.category.data, form.product.data)
    scope = _scope(form, period, zone_label, teams, categories, products)
    name = f"complaints-{what}-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}"
    if what == "figures":
        found = figures.build_patterns(
            period, utcnow(), team_id=filters.team_id,
            category_id=filters.category_id, product_id=filters.product_id,
            categories=categories, products=products,
        )
        tables = export.figure_tables(found, scope, zone)
        if file_type == "csv":
            return _download(io.BytesIO(export.figures_csv(tables).encode("utf-8-sig")), name,
                             file_type)
        return _download(export.to_xlsx(tables), name, file_type)
    total = figures.count_case_lines(period, filters)
    limit = figures.CASE_EXPORT_LIMIT
    note = export.capped_note(total, limit)
    lines = figures.case_lines(period, filters, limit=limit)
    if file_type == "csv":
        return _download(export.cases_csv(lines, zone, note), name, file_type)
    about = export.Table("About", "What complaints tell us: the cases", ("", ""),
                         [*([label, value] for label, value in scope),
                          ["Cases", f"{min(total, limit):,} of {total:,}"
                                    " raised or resolved in the period"]])
    return _download(export.to_xlsx([about, export.cases_table(lines, zone)], note), name,
                     file_type)


MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _download(body: BinaryIO, name: str, file_type: str) -> Response:
    response = send_file(body, mimetype=MIMETYPES[file_type], as_attachment=True,
                         download_name=f"{name}.{file_type}", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response
