"""The debrief CSV disarms every formula prefix on OWASP's CSV injection list."""

import csv
import io

import pytest

from shared import debrief, queries, services
from shared.models import EventKind
from shared.services.timeline import record_event


@pytest.mark.parametrize(
    "text",
    [
        "=1+2",
        "+1",
        "-1",
        "@SUM(A1)",
        "\tTabbed",
        "\rReturn",
        "\nNew line",
        "\uff1d1+2",  # full-width equals
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
        ' "=1+2',
        "  =1+2",
        "\u3000=1+2",
    ],
)
def test_a_cell_that_could_start_a_formula_is_disarmed(text):
    assert debrief.safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["", "Fine", "Refund of £20", "a;b", "email@example.com", ";"])
def test_ordinary_text_is_left_alone(text):
    assert debrief.safe_cell(text) == text


def test_every_csv_cell_is_quoted_so_a_separator_stays_inside_it(case, customer):
    record_event(case, EventKind.CUSTOMER_REPLY, actor=customer, body="Hello;=1+2")
    record_event(case, EventKind.CUSTOMER_REPLY, actor=customer, body=";=1+2")
    services.commit()

    text = debrief.debrief_csv(case, debrief.timeline_rows(case, queries.staff_timeline(case.id)))

    for line in text.splitlines():
        assert line.startswith('"') and line.endswith('"')
    # Read with ";" as the separator, as a spreadsheet in many locales would: no cell starts
    # with a formula sign.
    for row in csv.reader(io.StringIO(text), delimiter=";"):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row
    bodies = [row[-1] for row in csv.reader(io.StringIO(text))][-2:]
    assert bodies == ["Hello;'=1+2", ";'=1+2"]


@pytest.mark.parametrize(
    ("text", "disarmed"),
    [
        (";=1+2", ";'=1+2"),  # a new cell in a ";" locale
        (",=1+2", ",'=1+2"),
        ("Hello;=1+2", "Hello;'=1+2"),
        ("Hello, +44 7700 900123", "Hello, '+44 7700 900123"),
        ("Line one\n=1+2", "Line one\n'=1+2"),
        ("Line one\r\n\uff1d1+2", "Line one\r\n'\uff1d1+2"),
        ("Para one\r\n\r\nPara two", "Para one\r\n\r\nPara two"),
    ],
)
def test_a_formula_after_a_separator_or_line_break_is_disarmed(text, disarmed):
    assert debrief.safe_cell(text) == disarmed
