"""The manager's dashboard: approvals waiting, risk now, and how we kept our word over a period.

The figures come from shared.dashboard; this module reads the period form, and turns each set of
figures into a chart and the table shown after it, both from the same ChartData.
"""

from datetime import date

from flask import render_template, request, url_for
from flask_login import current_user
from wtforms import DateField, Form, SelectField
from wtforms.validators import ValidationError

from backoffice import bp
from backoffice.navigation import add_nav_item
from shared import dashboard as figures
from shared.charts import ChartData, Group, Point, column_chart, horizontal_bar_chart
from shared.clock import describe_due
from shared.models import EscalationLevel, Role, utcnow
from shared.permissions import staff_required
from shared.services import escalations as escalation_actions

MANAGERS = (Role.MANAGER, Role.ADMIN)
add_nav_item("backoffice.dashboard", "Dashboard", roles=MANAGERS, order=40)

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]  # what a date input sends, and what people type


# --- The period form ----------------------------------------------------------------------------


class DayField(DateField):
    """A date with our own message when what was typed is not one."""

    def __init__(self, label, *, invalid_message, **kwargs):
        super().__init__(label, format=DATE_FORMATS, **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(self.invalid_message) from error

    def _value(self):
        # A date understood is shown as a date input expects it (01/11/2026 -> 2026-11-01);
        # one not understood is shown as it was typed, to be corrected.
        if self.data is not None and not self.process_errors:
            return self.data.isoformat()
        return super()._value()


NOT_A_TEAM = -1


def _team_choice(value) -> int | None:
    """"" (all teams) is None; anything that is not a whole number cannot be a team."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else NOT_A_TEAM


class PeriodForm(Form):
    """Read from the address (GET), so a period can be bookmarked and shared."""

    start = DayField("From", invalid_message="Enter the first day as a date, like 2026-11-01",
                     description="The first day counted.")
    end = DayField("To", invalid_message="Enter the last day as a date, like 2026-11-30",
                   description="The last day counted, included.")
    team = SelectField("Team", coerce=_team_choice, validate_choice=False)

    def __init__(self, formdata, *, today: date, teams: list[tuple[int, str]]):
        default = figures.Period.last_days(today)
        super().__init__(formdata, start=default.first_day, end=default.last_day)
        self.team.choices = [("", "All teams"), *teams]
        self.team_ids = {team_id for team_id, _name in teams}

    def validate_team(self, field):
        if field.data is not None and field.data not in self.team_ids:
            raise ValidationError("Choose a team from the list, or All teams")

    def validate_end(self, field):
        start, end = self.start.data, field.data
        if start is None or end is None:
            return
        if end < start:
            raise ValidationError("The last day must be the same as or after the first day")
        days = (end - start).days + 1
        if days > figures.MAX_PERIOD_DAYS:
            raise ValidationError(
                f"Choose a period of at most {figures.MAX_PERIOD_DAYS} days; this one is {days}"
            )


# --- The page -----------------------------------------------------------------------------------


@bp.get("/dashboard")
@staff_required(*MANAGERS)
def dashboard():
    calendars = figures.load_calendars()
    zone, zone_label = figures.organisation_zone(calendars)
    teams = figures.team_names()
    form = PeriodForm(request.args, today=utcnow().astimezone(zone).date(), teams=teams)
    context = {"form": form, "zone_label": zone_label, "max_days": figures.MAX_PERIOD_DAYS,
               "level_labels": _level_labels(), "share_words": share_words,
               "number": "{:,}".format}
    if not form.validate():
        return render_template("backoffice/dashboard.html", board=None, **context), 422
    period = figures.Period(form.start.data, form.end.data, zone)
    board = figures.build_dashboard(period, team_id=form.team.data, calendars=calendars,
                                    teams=teams)
    return render_template(
        "backoffice/dashboard.html",
        board=board,
        team_name=dict(teams).get(form.team.data),
        period_words=period_words(period),
        oldest_words=_moment_words(board.approvals.oldest_requested_at, zone, zone_label),
        charts=_charts(board),
        queue_links=_queue_links(form.team.data),
        approvals_url=_approvals_url(),
        **context,
    )


# Spelt out rather than strftime("%B"), so the server's locale cannot change them.
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def period_words(period: figures.Period) -> str:
    """"1 November 2026 to 30 November 2026 (30 days)"."""
    first, last = (f"{day.day} {MONTHS[day.month - 1]} {day.year}"
                   for day in (period.first_day, period.last_day))
    days = "1 day" if period.days == 1 else f"{period.days} days"
    return f"{first} to {last} ({days})"


def _moment_words(moment, zone, zone_label) -> str | None:
    return describe_due(moment, zone, zone_label) if moment is not None else None


def _level_labels() -> dict[int, str]:
    return {level.value: level.label for level in EscalationLevel}


def _approvals_url() -> str | None:
    # Only for those who may decide: for anyone else the approvals page answers 403.
    if not escalation_actions.can_decide_escalations(current_user):
        return None
    return url_for("backoffice.approvals")


def _queue_links(team_id: int | None) -> dict[str, str]:
    extra = {"team": team_id} if team_id is not None else {}
    return {key: url_for("backoffice.home", name=key, **extra) for key in ("at-risk", "breached")}


# --- Figures as charts --------------------------------------------------------------------------

MEASURE_NAMES = {
    "acknowledge": "Acknowledged in time",
    "first_response": "Full reply in time",
    "resolve": "Put right in time",
    "update": "Updates not overdue (now)",
}


def percent_words(share: figures.Share) -> str:
    """"83 % (5 of 6)"; never 100 % unless every one was kept, never 0 % if any was."""
    if not share.counted:
        return "none due"
    percent = round(100 * share.ratio)
    if percent == 100 and share.kept < share.counted:
        percent = 99
    if percent == 0 and share.kept:
        percent = 1
    return f"{percent} % ({share.kept:,} of {share.counted:,})"


def share_words(share: figures.Share, what: str) -> str:
    """For a sentence: "83 % of acknowledgements (5 of 6)", or "no acknowledgements due"."""
    if not share.counted:
        return f"no {what} due"
    percent, counts = percent_words(share).split(" (", 1)
    return f"{percent} of {what} ({counts}"


def _share_point(share: figures.Share) -> Point:
    return Point(None if share.ratio is None else 100 * share.ratio, percent_words(share))


def _count_point(count: int) -> Point:
    return Point(count, f"{count:,}")


def compliance_chart(chart_id: str, title: str, heading: str, total_label: str, rows, total
                     ) -> ChartData:
    groups = [Group(row.label, tuple(_share_point(row.shares[m]) for m in figures.MEASURES))
              for row in rows]
    if len(rows) > 1:
        groups.append(Group(total_label,
                            tuple(_share_point(total.shares[m]) for m in figures.MEASURES)))
    return ChartData(
        chart_id=chart_id,
        title=title,
        description=(f"For each {heading.lower()}, the share of deadlines kept: acknowledgements,"
                     " full replies and putting things right due in the period, and open cases"
                     " whose next update is not overdue now."),
        series=tuple(MEASURE_NAMES[m] for m in figures.MEASURES),
        groups=tuple(groups),
        maximum=100,
        row_heading=heading,
    )


def _charts(board: figures.Dashboard) -> dict:
    """Each chart's data and its SVG, by name; a chart with nothing to show is left out."""
    made = {}

    def add(name, data: ChartData, draw):
        made[name] = (data, draw(data))

    if board.risk:
        add("risk", ChartData(
            chart_id="chart-risk",
            title="Open cases at risk and breached, by team",
            description="For each team, how many open cases have a time frame due by the end of"
                        " the next working day, and how many have missed one.",
            series=("At risk", "Breached"),
            groups=tuple(Group(row.label, (_count_point(row.at_risk), _count_point(row.breached)))
                         for row in board.risk),
            row_heading="Team",
        ), horizontal_bar_chart)
    if board.compliance_by_team:
        add("compliance_team", compliance_chart(
            "chart-compliance-team", "Time frames kept, by team", "Team", "All teams",
            board.compliance_by_team, board.compliance_total,
        ), horizontal_bar_chart)
    if board.compliance_by_category:
        add("compliance_category", compliance_chart(
            "chart-compliance-category", "Time frames kept, by category", "Category",
            "All categories",
            board.compliance_by_category, board.compliance_total,
        ), horizontal_bar_chart)
    if board.handoffs.cases:
        add("handoffs", ChartData(
            chart_id="chart-handoffs",
            title="Cases raised in the period, by number of hand-offs",
            description="How many cases were handed from one owner to another never, once,"
                        " twice, or three times or more. Fewer is better.",
            series=("Cases",),
            groups=tuple(Group(bucket, (_count_point(count),))
                         for bucket, count in board.handoffs.distribution.items()),
            row_heading="Hand-offs",
        ), column_chart)
    if board.promises.total:
        promises = board.promises
        add("promises", ChartData(
            chart_id="chart-promises",
            title="Promises to customers due in the period",
            description="How many were kept, broken, are still open past their time, or are"
                        " open and not yet due.",
            series=("Promises",),
            groups=(
                Group("Kept", (_count_point(promises.kept),)),
                Group("Broken", (_count_point(promises.broken),)),
                Group("Open, past their time", (_count_point(promises.open_overdue),)),
                Group("Open, not yet due", (_count_point(promises.open_not_due),)),
            ),
            row_heading="Promises",
        ), horizontal_bar_chart)
    if board.ratings.count:
        add("ratings", ChartData(
            chart_id="chart-ratings",
            title="Satisfaction ratings given in the period",
            description="How many customers rated their case 1 (very unhappy) to 5 (very"
                        " happy) out of 5.",
            series=("Ratings",),
            groups=tuple(Group(f"{rating} out of 5", (_count_point(count),))
                         for rating, count in board.ratings.counts.items()),
            row_heading="Rating",
        ), column_chart)
    return made
