"""What complaints tell us, as CSV and XLSX: the figures, or the cases behind them.

Both formats are written from the same tables (a title, column names and rows), so they hold
the same cells. Every text cell goes through shared.debrief.safe_cell, so a cause, a reason or a
product named "=HYPERLINK(...)" is shown as text by a spreadsheet, never run as a formula.
XLSX is written by openpyxl (in its write-only mode, which keeps memory flat); the cases are
read a thousand at a time, and at most CASE_EXPORT_LIMIT of them go in one download.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from shared.debrief import safe_cell
from shared.models import OUTCOME_LABELS, Outcome, ProblemStatus, RedressKind
from shared.money import format_money
from shared.patterns import CASE_EXPORT_LIMIT, CaseLine, Patterns

Cell = str | int | float | Decimal | date | datetime | None


@dataclass(frozen=True)
class Table:
    title: str  # a sheet's name: at most 31 characters, none of []:*?/\
    heading: str  # what it shows, in a sentence
    columns: tuple[str, ...]
    rows: Iterable[list[Cell]]


def percent(ratio: float | None) -> float | None:
    """0.4567 -> 45.7 (a share written as a percentage, to one place)."""
    return None if ratio is None else round(100 * ratio, 1)


def major_units(amount_minor: int) -> Decimal:
    return Decimal(amount_minor).scaleb(-2)


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    # Spreadsheets have no time zones: the organisation's wall clock, as the page shows.
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


# --- The figures --------------------------------------------------------------------------------


def figure_tables(patterns: Patterns, scope: list[tuple[str, str]], zone: ZoneInfo
                  ) -> list[Table]:
    """Each figure of the page as a table, after one saying what they cover."""
    pareto, trends = patterns.pareto, patterns.trends
    week_names = tuple(f"Week of {week.starts_on.isoformat()}" for week in trends.weeks)

    def trend_rows(rows):
        return [[row.label, *row.weekly, row.total, row.earlier_total, row.change,
                 percent(row.change_ratio)] for row in rows]

    trend_columns = (*week_names, "Total", "Same weeks before", "Change",
                     "Change (%)")
    repeats = patterns.repeats
    return [
        Table("About", "What complaints tell us", ("", ""),
              [[label, value] for label, value in scope]),
        Table(
            "Root causes",
            "Cases resolved in the period, by root cause, most first (a Pareto); the vital few"
            " are the causes that together reach 80 % of them",
            ("Cause area", "Root cause", "Cases", "Share (%)", "Cumulative share (%)",
             "Vital few", "Retired cause", "Ratings", "Average rating (1 to 5)",
             "Average hand-offs"),
            [[row.area, row.cause, row.cases, percent(row.share), percent(row.cumulative_share),
              "Yes" if row.vital else "No", "Yes" if row.retired else "No", row.rated,
              None if row.average_rating is None else round(row.average_rating, 2),
              round(row.average_handoffs, 2)] for row in pareto.rows]
            + ([["", "No cause recorded", pareto.without_cause, None, None, "", "", None,
                 None, None]] if pareto.without_cause else []),
        ),
        Table("Trends by category",
              "Complaints raised per week, by category, against the same number of weeks"
              " just before", ("Category", *trend_columns),
              trend_rows([*trends.by_category, trends.total])),
        Table("Trends by product",
              "Complaints raised per week, by product or service, against the same number of"
              " weeks just before", ("Product or service", *trend_columns),
              trend_rows([*trends.by_product, trends.total])),
        Table("Repeat complainants",
              "Complaints raised in the period by a customer who had raised another in the"
              " 90 days before",
              ("Customer", "Email", "Complaints in the period", "Of which repeats",
               "Latest raised"),
              [["All customers", "", repeats.complaints, repeats.repeat_complaints, None],
               [f"Customers: {repeats.complainants:,}, of whom"
                f" {repeats.repeat_complainants:,} complained again", "", None, None, None],
               *([person.name, person.email, person.complaints, person.repeats,
                  _local(person.latest_at, zone)] for person in repeats.top)]),
        Table("Reopened",
              f"Why customers reopened their case: the newest {len(patterns.reopens.latest)}"
              f" of {patterns.reopens.count:,} in the period",
              ("When", "Case", "Category", "Reason"),
              [[_local(reason.at, zone), reason.reference, reason.category, reason.reason]
               for reason in patterns.reopens.latest]),
        Table("Redress by cause",
              "Remedies given on the cases resolved in the period, by root cause",
              ("Root cause", "Currency", "Amount", "Remedies given", "More than asked for"),
              _redress_rows(patterns.redress_by_cause)),
        Table("Redress by product",
              "Remedies given on the cases resolved in the period, by product or service",
              ("Product or service", "Currency", "Amount", "Remedies given",
               "More than asked for"),
              _redress_rows(patterns.redress_by_product)),
        Table("Problems open longest",
              f"The oldest open problems: {len(patterns.problems.oldest)} of"
              f" {patterns.problems.count:,}",
              ("Problem", "Title", "Status", "Team", "Owner", "Opened", "Linked cases",
               "Linked cases still open"),
              [[problem.reference, problem.title, _status_label(problem.status), problem.team,
                problem.owner, _local(problem.opened_at, zone), problem.linked_cases,
                problem.open_cases] for problem in patterns.problems.oldest]),
    ]


def _status_label(status: str) -> str:
    return ProblemStatus(status).label


def _redress_rows(lines) -> list[list[Cell]]:
    rows = []
    for line in lines:
        if not line.amounts:
            rows.append([line.label, "", None, line.remedies, line.beyond_request])
        for position, (currency, amount) in enumerate(line.amounts.items()):
            # The counts once per line, on its first currency, so a column adds up.
            first = position == 0
            rows.append([line.label, currency, major_units(amount),
                         line.remedies if first else None,
                         line.beyond_request if first else None])
    return rows


# --- The cases ----------------------------------------------------------------------------------

CASE_COLUMNS = (
    "Reference", "Raised", "Resolved", "Category", "Product or service", "Team", "Outcome",
    "Cause area", "Root cause", "Cause in words", "Redress given", "Redress total",
)


def redress_words(remedies) -> str:
    """"Refund of £25.00: the delivery charge; Apology (more than asked for)"."""
    parts = []
    for kind, description, amount, currency, beyond in remedies:
        words = RedressKind(kind).label
        if amount is not None:
            words += f" of {format_money(amount, currency)}"
        if description:
            words += f": {description}"
        if beyond:
            words += " (more than asked for)"
        parts.append(words)
    return "; ".join(parts)


def redress_total(remedies) -> str:
    totals: dict[str, int] = {}
    for _kind, _description, amount, currency, _beyond in remedies:
        if amount is not None:
            totals[currency] = totals.get(currency, 0) + amount
    return " + ".join(format_money(amount, currency) for currency, amount in totals.items())


def case_row(line: CaseLine, zone: ZoneInfo) -> list[Cell]:
    return [
        line.reference,
        _local(line.raised_at, zone),
        _local(line.resolved_at, zone),
        line.category,
        line.product,
        line.team,
        OUTCOME_LABELS[Outcome(line.outcome)] if line.outcome else "",
        line.cause_area,
        line.root_cause,
        line.root_cause_words,
        redress_words(line.redress),
        redress_total(line.redress),
    ]


def capped_note(total: int, limit: int = CASE_EXPORT_LIMIT) -> str | None:
    """What to say when there are more cases than one download holds."""
    if total <= limit:
        return None
    return (f"Only the first {limit:,} of {total:,} cases are here, oldest first:"
            " choose a shorter period, or a team, category or product, for the rest.")


# --- Writing ------------------------------------------------------------------------------------


def _csv_cell(value: Cell) -> str | int | float | Decimal:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_cell(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv_line(values: Iterable[Cell]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_csv_cell(value) for value in values])
    return buffer.getvalue()


def figures_csv(tables: list[Table]) -> str:
    """One section per table: its title and heading, its columns, its rows, a blank line."""
    lines = []
    for table in tables:
        lines.append(_csv_line([table.title, table.heading]))
        if any(table.columns):
            lines.append(_csv_line(table.columns))
        lines.extend(_csv_line(row) for row in table.rows)
        lines.append("\r\n")
    return "".join(lines)


def cases_csv(lines: Iterable[CaseLine], zone: ZoneInfo, note: str | None) -> BinaryIO:
    """The cases, a row each, the note (when capped) last, ready to send. The export's limit
    on cases bounds its size (about 25 MB at 100,000 cases)."""
    spool = io.BytesIO()
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(CASE_COLUMNS)
    for line in lines:
        writer.writerow([_csv_cell(value) for value in case_row(line, zone)])
    if note:
        writer.writerow([note])
    text.flush()
    text.detach()
    spool.seek(0)
    return spool


def _xlsx_cell(sheet, value: Cell, bold: bool = False):
    if isinstance(value, str):
        # A spreadsheet file cannot hold control characters: they are dropped, not refused.
        value = ILLEGAL_CHARACTERS_RE.sub("", safe_cell(value))
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, Decimal):
        cell.number_format = "#,##0.00"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _add_sheet(workbook: Workbook, table: Table, note: str | None = None) -> None:
    sheet = workbook.create_sheet(table.title[:31])
    if table.title == "About":
        sheet.append([_xlsx_cell(sheet, table.heading, bold=True)])
    elif any(table.columns):
        sheet.append([_xlsx_cell(sheet, name, bold=True) for name in table.columns])
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    if note:
        sheet.append([])
        sheet.append([_xlsx_cell(sheet, note)])


def to_xlsx(tables: list[Table], note: str | None = None) -> BinaryIO:
    """Each table a sheet, its column names in the first row (the About sheet: its lines)."""
    workbook = Workbook(write_only=True)
    for table in tables:
        _add_sheet(workbook, table, note if table.title == "Cases" else None)
    spool = io.BytesIO()
    workbook.save(spool)
    spool.seek(0)
    return spool


def cases_table(lines: Iterable[CaseLine], zone: ZoneInfo) -> Table:
    return Table("Cases", "The cases raised or resolved in the period", CASE_COLUMNS,
                 (case_row(line, zone) for line in lines))
