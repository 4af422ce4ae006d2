"""Charts drawn on the server as SVG: no JavaScript and no style attributes (the CSP forbids
both), only SVG presentation attributes (fill=, stroke=) and classes styled in amends.css.

Each chart is an <svg role="img"> named by its <title> and described by its <desc> through
aria-labelledby. Colour is never the only cue: every bar carries its value in words beside it,
every bar of a group is named beside it, and each series has its own fill pattern as well as
its own colour. The page shows the same numbers in a table after each chart, built from the
same ChartData, so the picture and the table cannot disagree.

The SVG is built with xml.etree, which escapes every text and attribute, so a team called
"R&D <north>" cannot break the markup.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from markupsafe import Markup

# Each series: a dark colour (at least 7:1 against white, so bars and outlines pass the 3:1 asked
# of graphics) and a pattern drawn in it over a light tint of the same hue.
SERIES_STYLES = (
    ("#0b5560", "#0b5560", "solid"),  # teal, solid
    ("#942514", "#fcefed", "diagonal"),  # dark red, diagonal stripes
    ("#4c2c92", "#f1edf8", "dots"),  # purple, dots
    ("#005a30", "#eef7f1", "crosshatch"),  # dark green, cross-hatch
)
TEXT_COLOUR = "#0b0c0c"
MUTED_COLOUR = "#505a5f"  # 7:1 against white
AXIS_COLOUR = "#505a5f"

WIDTH = 640
FONT_SIZE = 14
CHARACTER_WIDTH = 7.6  # a generous average at FONT_SIZE, to size the label column
MAX_LABEL_CHARACTERS = 30


@dataclass(frozen=True)
class Point:
    """One bar: its value on the chart's scale, and what it says in words."""

    value: float | None  # None when there is nothing to measure (no case was due)
    text: str  # "75 % (3 of 4)", "12", "no cases due"


@dataclass(frozen=True)
class Group:
    """A row of a bar chart or a column of a column chart: one point per series."""

    label: str  # "Customer care", "3+", "5 out of 5"
    points: tuple[Point, ...]


@dataclass(frozen=True)
class ChartData:
    chart_id: str  # unique on the page: ids of the title, description and patterns
    title: str  # the accessible name
    description: str  # what it shows, in a sentence or two
    series: tuple[str, ...]  # names of the measures, one per point of every group
    groups: tuple[Group, ...]
    maximum: float | None = None  # the end of the scale; the largest value when None
    row_heading: str = ""  # the table's first column heading: "Team", "Rating"

    def __post_init__(self):
        for group in self.groups:
            if len(group.points) != len(self.series):
                raise ValueError(f"{group.label!r} has {len(group.points)} points for"
                                 f" {len(self.series)} series")

    @property
    def scale(self) -> float:
        values = [p.value for g in self.groups for p in g.points if p.value is not None]
        largest = max(values, default=0)
        return max(self.maximum or 0, largest) or 1


def _element(parent, tag, text=None, **attributes):
    element = ET.SubElement(parent, tag, {
        name.rstrip("_").replace("_", "-"): str(value)
        for name, value in attributes.items() if value is not None
    })
    if text is not None:
        element.text = text
    return element


def _shorten(label: str) -> str:
    if len(label) <= MAX_LABEL_CHARACTERS:
        return label
    return label[: MAX_LABEL_CHARACTERS - 1].rstrip() + "…"


def _start(chart: ChartData, height: float, kind: str) -> ET.Element:
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg",
        "class": f"chart chart--{kind}",
        "viewBox": f"0 0 {WIDTH} {height:g}",
        "role": "img",
        "aria-labelledby": f"{chart.chart_id}-title {chart.chart_id}-desc",
        "id": chart.chart_id,
    })
    _element(svg, "title", chart.title, id=f"{chart.chart_id}-title")
    _element(svg, "desc", chart.description, id=f"{chart.chart_id}-desc")
    defs = _element(svg, "defs")
    for index in range(min(len(chart.series), len(SERIES_STYLES))):
        _pattern(defs, chart.chart_id, index)
    return svg


def _pattern(defs, chart_id: str, index: int) -> None:
    colour, tint, kind = SERIES_STYLES[index]
    if kind == "solid":
        return
    pattern = _element(defs, "pattern", id=f"{chart_id}-fill-{index}", width=8, height=8,
                       patternUnits="userSpaceOnUse")
    _element(pattern, "rect", width=8, height=8, fill=tint)
    if kind == "diagonal":
        _element(pattern, "path", d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4", stroke=colour,
                 stroke_width=2)
    elif kind == "dots":
        _element(pattern, "circle", cx=4, cy=4, r=2, fill=colour)
    else:
        _element(pattern, "path", d="M0,4 h8 M4,0 v8", stroke=colour, stroke_width=1.5)


def _fill(chart_id: str, index: int) -> tuple[str, str]:
    """(fill, outline) of a series' bars."""
    colour, _tint, kind = SERIES_STYLES[index % len(SERIES_STYLES)]
    if kind == "solid":
        return colour, colour
    return f"url(#{chart_id}-fill-{index % len(SERIES_STYLES)})", colour


def _markup(svg: ET.Element) -> Markup:
    # The text is escaped by ElementTree; Markup only stops Jinja escaping it a second time.
    return Markup(ET.tostring(svg, encoding="unicode", short_empty_elements=True))  # noqa: S704


# --- Horizontal bars ----------------------------------------------------------------------------

ROW_HEIGHT = 28
BAR_HEIGHT = 18
HEADING_HEIGHT = 26
MAX_VALUE_SHARE = 0.35  # the most of the width the words after a bar may take


def horizontal_bar_chart(chart: ChartData) -> Markup:
    """One row per group when there is one series; with several, each group gets a heading and
    one named row per series (so no legend is needed)."""
    several = len(chart.series) > 1
    rows = []  # (kind, label, point, series index)
    for group in chart.groups:
        if several:
            rows.append(("heading", group.label, None, None))
            rows.extend(("bar", name, point, index)
                        for index, (name, point) in enumerate(zip(chart.series, group.points,
                                                                  strict=True)))
        else:
            rows.append(("bar", group.label, group.points[0], 0))
    labels = [_shorten(label) for kind, label, _, _ in rows if kind == "bar"]
    indent = 12 if several else 0
    label_width = min(WIDTH * 0.4, indent + CHARACTER_WIDTH * max(map(len, labels), default=4))
    bar_left = label_width + 10
    # Room after the longest bar for the longest words ("85 % (12,173 of 14,349)"), so no
    # value runs off the edge of the picture.
    texts = [point.text for kind, _, point, _ in rows if kind == "bar"]
    longest_text = max(map(len, texts), default=4)
    value_room = min(WIDTH * MAX_VALUE_SHARE, 10 + CHARACTER_WIDTH * longest_text)
    bar_room = WIDTH - bar_left - value_room
    height = 10 + sum(HEADING_HEIGHT if kind == "heading" else ROW_HEIGHT
                      for kind, *_ in rows)
    svg = _start(chart, height, "bars")
    scale = chart.scale
    y = 5.0
    # The axis the bars grow from.
    body = _element(svg, "g", class_="chart__body")
    _element(body, "line", x1=f"{bar_left:g}", y1=y, x2=f"{bar_left:g}", y2=f"{height - 5:g}",
             stroke=AXIS_COLOUR, stroke_width=1)
    for kind, label, point, index in rows:
        if kind == "heading":
            _element(body, "text", _shorten(label), x=0, y=f"{y + HEADING_HEIGHT / 2 + 2:g}",
                     class_="chart__group", fill=TEXT_COLOUR, font_size=FONT_SIZE,
                     font_weight="bold", dominant_baseline="middle")
            y += HEADING_HEIGHT
            continue
        middle = y + ROW_HEIGHT / 2
        row = _element(body, "g", class_="chart__row")
        _element(row, "text", _shorten(label), x=indent, y=f"{middle:g}", class_="chart__label",
                 fill=TEXT_COLOUR, font_size=FONT_SIZE, dominant_baseline="middle")
        length = 0.0
        if point.value is not None and point.value > 0:
            length = max(2.0, bar_room * point.value / scale)
            fill, outline = _fill(chart.chart_id, index)
            _element(row, "rect", x=f"{bar_left:g}", y=f"{middle - BAR_HEIGHT / 2:g}",
                     width=f"{length:.1f}", height=BAR_HEIGHT, fill=fill, stroke=outline,
                     stroke_width=1.5, class_="chart__bar")
        _element(row, "text", point.text, x=f"{bar_left + length + 6:.1f}", y=f"{middle:g}",
                 class_="chart__value" if point.value is not None else "chart__value--none",
                 fill=TEXT_COLOUR if point.value is not None else MUTED_COLOUR,
                 font_size=FONT_SIZE, dominant_baseline="middle")
        y += ROW_HEIGHT
    return _markup(svg)


# --- Columns ------------------------------------------------------------------------------------

COLUMN_CHART_HEIGHT = 220
COLUMN_TOP = 30  # room above the tallest column for its value
COLUMN_BOTTOM = 40  # room below the baseline for the labels


def column_chart(chart: ChartData) -> Markup:
    """Vertical columns, one per group, of a single series: a distribution."""
    if len(chart.series) != 1:
        raise ValueError("a column chart shows one series")
    count = max(len(chart.groups), 1)
    baseline = COLUMN_CHART_HEIGHT - COLUMN_BOTTOM
    room = baseline - COLUMN_TOP
    slot = WIDTH / count
    column_width = min(80.0, slot * 0.6)
    svg = _start(chart, COLUMN_CHART_HEIGHT, "columns")
    body = _element(svg, "g", class_="chart__body")
    _element(body, "line", x1=0, y1=baseline, x2=WIDTH, y2=baseline, stroke=AXIS_COLOUR,
             stroke_width=1)
    scale = chart.scale
    fill, outline = _fill(chart.chart_id, 0)
    for position, group in enumerate(chart.groups):
        point = group.points[0]
        centre = slot * position + slot / 2
        column = _element(body, "g", class_="chart__column")
        height = 0.0
        if point.value is not None and point.value > 0:
            height = max(2.0, room * point.value / scale)
            _element(column, "rect", x=f"{centre - column_width / 2:.1f}",
                     y=f"{baseline - height:.1f}", width=f"{column_width:.1f}",
                     height=f"{height:.1f}", fill=fill, stroke=outline, stroke_width=1.5,
                     class_="chart__bar")
        _element(column, "text", point.text, x=f"{centre:.1f}", y=f"{baseline - height - 8:.1f}",
                 class_="chart__value", fill=TEXT_COLOUR, font_size=FONT_SIZE,
                 text_anchor="middle")
        _element(column, "text", _shorten(group.label), x=f"{centre:.1f}",
                 y=f"{baseline + 22:g}", class_="chart__label", fill=TEXT_COLOUR,
                 font_size=FONT_SIZE, text_anchor="middle")
    return _markup(svg)
