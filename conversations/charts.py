"""Charts drawn on the server as SVG, built with format_html only: platform text (an agent's
name, a collected value) is escaped wherever it lands, in a label, a tooltip or an attribute.

A Chart is data: series of Points over categories, each point with the sentence a screen
reader says of it and the list it opens (or none). `figure` renders a chart as a <figure>:
its caption, the SVG (titled and described, axes labelled, every point a link or at least a
focusable mark, reached with Tab), a legend in words, the numbers as a table, and a link to
the same numbers as CSV. Colours come from classes in static/app.css, not from here.

Kinds: "bar" (stacked bars, a series each), "line" (a line a series; a point without a value
breaks the line), "histogram" (one series, bars side by side) and "hbar" (one series,
horizontal bars with their category's name before each).
"""

import dataclasses
import math

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 52
# Horizontal bars: the names' column and each bar's height.
HBAR_LEFT, HBAR_ROW = 220, 26
MAX_X_LABELS = 12
NAME_MAX = 30  # characters of a name written in the chart; the table has it whole
# Series get the palette's classes s0, s1, ... in order; "other" is grey.
PALETTE_SIZE = 8


@dataclasses.dataclass(frozen=True)
class Point:
    value: float | None  # None: nothing to draw (a rate of no calls)
    label: str  # what it says to a screen reader and in its tooltip
    href: str | None = None  # the list filtered to it; None: a mark that opens nothing


@dataclasses.dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]  # a point a category
    other: bool = False  # several things drawn together, in grey


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    kind: str = "number"  # "text", "number" or "percent" (a fraction)


@dataclasses.dataclass(frozen=True)
class Chart:
    slug: str
    kind: str
    title: str
    description: str  # what it shows, in a sentence (the SVG's <desc>)
    x_label: str
    y_label: str
    categories: tuple[str, ...]  # short names on the axis
    series: tuple[Series, ...]
    columns: tuple[Column, ...]  # its numbers as a table, and as CSV
    rows: tuple[tuple, ...]
    percent: bool = False  # values are fractions, drawn from 0 to 100 %
    # For stacked bars: what a category with nothing in any series says and opens.
    stubs: tuple[Point, ...] = ()
    empty: str = ""  # said instead of the picture when there is nothing to draw
    note: str = ""  # said under the title (what was left out, how to read it)


# The figure


def figure(chart, csv_url):
    """The chart as a <figure>: caption, picture (or why there is none), legend, table, CSV."""
    picture = format_html('<p class="empty">{}</p>', chart.empty) if chart.empty else svg(chart)
    return format_html(
        '<figure class="chart" id="chart-{slug}">'
        '<figcaption><h3 id="{slug}-heading">{title}</h3>{note}</figcaption>'
        "{picture}{legend}"
        "<details><summary>The numbers</summary>{table}</details>"
        '<p class="small"><a href="{csv}" download>Download CSV</a> of {title_lower}</p>'
        "</figure>",
        slug=chart.slug,
        title=chart.title,
        title_lower=chart.title[:1].lower() + chart.title[1:],
        note=format_html('<p class="small muted">{}</p>', chart.note) if chart.note else "",
        picture=picture,
        legend=legend(chart) if not chart.empty else "",
        table=table(chart),
        csv=csv_url,
    )


def legend(chart):
    """The series by name, with their colour: a chart of one series needs none."""
    if len(chart.series) < 2:
        return ""
    return format_html(
        '<ul class="chart-legend" aria-label="Legend">{}</ul>',
        format_html_join(
            "",
            '<li><span class="swatch {}" aria-hidden="true"></span><bdi>{}</bdi></li>',
            ((series_class(s, n), s.name) for n, s in enumerate(chart.series)),
        ),
    )


def table(chart):
    """The chart's numbers, as the CSV has them; the first column names each row."""
    head = format_html_join(
        "", '<th scope="col" class="{}">{}</th>', ((cell_class(c), c.name) for c in chart.columns)
    )
    # One format a row, not one a cell: a month of criteria is hundreds of rows. Only the
    # column classes, which are ours, are written into the format; every value is an
    # argument, escaped.
    row = '<tr><th scope="row">{}</th>' + "".join(
        f'<td class="{cell_class(column)}">{{}}</td>' for column in chart.columns[1:]
    )
    body = format_html_join(
        "",
        row + "</tr>",
        (tuple(cell_text(c, v) for c, v in zip(chart.columns, r, strict=True)) for r in chart.rows),
    )
    return format_html(
        '<table class="chart-numbers"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        head,
        body,
    )


def cell_class(column):
    return "" if column.kind == "text" else "num"


def cell_text(column, value):
    """A value as the table shows it (the CSV has it raw)."""
    if value is None:
        return "–"
    if column.kind == "percent":
        return percent(value)
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percent(fraction):
    """82.3%, and 25% rather than 25.0%."""
    return f"{fraction:.1%}".replace(".0%", "%")


# The picture


def svg(chart):
    draw = {"bar": bars, "line": lines, "histogram": histogram, "hbar": hbars}[chart.kind]
    height, body = draw(chart)
    return format_html(
        '<svg class="chart-svg chart-{kind}" viewBox="0 0 {width} {height}" '
        'aria-labelledby="{slug}-title {slug}-desc">'
        '<title id="{slug}-title">{title}</title><desc id="{slug}-desc">{desc}</desc>'
        "{body}</svg>",
        kind=chart.kind,
        width=WIDTH,
        height=height,
        slug=chart.slug,
        title=chart.title,
        desc=chart.description,
        body=body,
    )


@dataclasses.dataclass(frozen=True)
class Plot:
    """The plotting area of a chart with categories across and values up."""

    count: int  # categories
    top: float  # the value at the top of the axis
    left: float = LEFT
    right: float = WIDTH - RIGHT
    upper: float = TOP
    lower: float = HEIGHT - BOTTOM

    @property
    def band(self):
        return (self.right - self.left) / max(self.count, 1)

    def x(self, index):
        """The middle of a category's band."""
        return self.left + self.band * (index + 0.5)

    def y(self, value):
        return self.lower - (self.lower - self.upper) * (value / self.top if self.top else 0)


def bars(chart):
    """Stacked bars: each category's series on top of each other, in the series' order."""
    totals = [sum(s.points[i].value or 0 for s in chart.series) for i in range(n_of(chart))]
    plot = Plot(n_of(chart), axis_top(max(totals, default=0), chart.percent))
    width = plot.band * 0.7
    marks = []
    for index, total in enumerate(totals):
        x = plot.x(index) - width / 2
        if not total and index < len(chart.stubs):
            marks.append(mark(chart.stubs[index], stub(x, plot.lower, width, chart.stubs[index])))
        bottom = 0
        for number, series in enumerate(chart.series):
            point = series.points[index]
            if point.value:
                top = bottom + point.value
                box = (x, plot.y(top), width, plot.y(bottom) - plot.y(top))
                shape = rect(box, point)
                marks.append(mark(point, shape, series_class(series, number)))
                bottom = top
    return HEIGHT, frame(chart, plot, marks)


def histogram(chart):
    """One series as bars side by side; a bar of nothing is a stub one can still reach."""
    (series,) = chart.series
    values = [p.value or 0 for p in series.points]
    plot = Plot(n_of(chart), axis_top(max(values, default=0), chart.percent))
    width = plot.band - 2
    marks = []
    for index, point in enumerate(series.points):
        x = plot.x(index) - width / 2
        if point.value:
            height = plot.lower - plot.y(point.value)
            shape = rect((x, plot.y(point.value), width, height), point)
        else:
            shape = stub(x, plot.lower, width, point)
        marks.append(mark(point, shape, series_class(series, 0)))
    return HEIGHT, frame(chart, plot, marks)


def lines(chart):
    """A line a series through its points; a point without a value leaves a gap."""
    values = [p.value for s in chart.series for p in s.points if p.value is not None]
    plot = Plot(n_of(chart), axis_top(max(values, default=0), chart.percent))
    drawn = []
    for number, series in enumerate(chart.series):
        css = series_class(series, number)
        for run in runs(series.points):
            if len(run) > 1:
                joined = " ".join(f"{num(plot.x(i))},{num(plot.y(v))}" for i, v in run)
                drawn.append(format_html('<polyline class="line {}" points="{}"/>', css, joined))
        for index, point in enumerate(series.points):
            if point.value is not None:
                shape = format_html(
                    '<circle class="dot" cx="{}" cy="{}" r="4"><title>{}</title></circle>',
                    num(plot.x(index)),
                    num(plot.y(point.value)),
                    point.label,
                )
                drawn.append(mark(point, shape, css))
    return HEIGHT, frame(chart, plot, drawn)


def runs(points):
    """The stretches of consecutive points that have a value, as [(index, value), ...]."""
    run = []
    for index, point in enumerate(points):
        if point.value is None:
            if run:
                yield run
            run = []
        else:
            run.append((index, point.value))
    if run:
        yield run


def hbars(chart):
    """One series as horizontal bars, a category a row, its name before it, its value after."""
    (series,) = chart.series
    values = [p.value or 0 for p in series.points]
    top = axis_top(max(values, default=0), chart.percent)
    height = TOP + HBAR_ROW * max(len(values), 1) + BOTTOM
    plot = Plot(1, top, left=HBAR_LEFT, right=WIDTH - RIGHT - 48, lower=height - BOTTOM)
    scale = (plot.right - plot.left) / top if top else 0
    rows = []
    for index, (name, point) in enumerate(zip(chart.categories, series.points, strict=True)):
        y = TOP + HBAR_ROW * index + 4
        length = (point.value or 0) * scale
        if length:
            shape = rect((plot.left, y, length, HBAR_ROW - 8), point)
        else:
            shape = rect((plot.left, y, 2, HBAR_ROW - 8), point, css="stub")
        rows.append(
            format_html(
                '<text class="name" x="{}" y="{}" text-anchor="end">{}</text>{}'
                '<text class="value" x="{}" y="{}">{}</text>',
                HBAR_LEFT - 8,
                num(y + HBAR_ROW / 2),
                shorten(name),
                mark(point, shape, series_class(series, 0)),
                num(plot.left + length + 6),
                num(y + HBAR_ROW / 2),
                value_text(point.value, chart.percent),
            )
        )
    ticks = axis_ticks(top, chart.percent)
    grid = format_html_join(
        "",
        '<line class="grid" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>'
        '<text class="tick" x="{0}" y="{3}" text-anchor="middle">{4}</text>',
        (
            (num(plot.left + t * scale), TOP, num(plot.lower), num(plot.lower + 16), tick(t, chart))
            for t in ticks
        ),
    )
    labels = format_html(
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
        num((plot.left + plot.right) / 2),
        num(height - 8),
        chart.x_label,
    )
    drawn = format_html_join("", "{}", ((row,) for row in rows))
    return height, format_html("{}{}{}", grid, drawn, labels)


# Shapes and their marks


def mark(point, shape, css=""):
    """A shape as one stop of the keyboard: a link to its list, or, where no list holds
    just it, a focusable image with the same words."""
    if point.href:
        return format_html(
            '<a class="{}" href="{}" aria-label="{}">{}</a>',
            classes("mark", css),
            point.href,
            point.label,
            shape,
        )
    return format_html(
        '<g class="{}" tabindex="0" role="img" aria-label="{}">{}</g>',
        classes("mark", css),
        point.label,
        shape,
    )


def rect(box, point, css="bar"):
    """A rectangle (x, y, width, height) with the point's words as its tooltip."""
    x, y, width, height = box
    return format_html(
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
        css,
        num(x),
        num(y),
        num(max(width, 0)),
        num(max(height, 0)),
        point.label,
    )


def stub(x, baseline, width, point):
    """A sliver on the axis for a value of nothing: a day of no calls is a bar of 0, there
    to see and to reach, not a missing day."""
    return rect((x, baseline - 2, width, 2), point, css="stub")


def frame(chart, plot, marks):
    """Grid, ticks, category names and axis titles around the marks."""
    ticks = axis_ticks(plot.top, chart.percent)
    grid = format_html_join(
        "",
        '<line class="grid" x1="{0}" x2="{1}" y1="{2}" y2="{2}"/>'
        '<text class="tick" x="{3}" y="{4}" text-anchor="end">{5}</text>',
        (
            (plot.left, plot.right, num(y), plot.left - 6, num(y + 4), tick(t, chart))
            for t, y in ((t, plot.y(t)) for t in ticks)
        ),
    )
    step = math.ceil(plot.count / MAX_X_LABELS) or 1
    names = format_html_join(
        "",
        '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (num(plot.x(i)), num(plot.lower + 16), shorten(name))
            for i, name in enumerate(chart.categories)
            if i % step == 0
        ),
    )
    middle = (plot.upper + plot.lower) / 2
    titles = format_html(
        '<line class="axis" x1="{left}" x2="{right}" y1="{lower}" y2="{lower}"/>'
        '<text class="axis-label" x="{cx}" y="{bottom}" text-anchor="middle">{x_label}</text>'
        '<text class="axis-label" x="14" y="{cy}" text-anchor="middle" '
        'transform="rotate(-90 14 {cy})">{y_label}</text>',
        left=plot.left,
        right=plot.right,
        lower=num(plot.lower),
        cx=num((plot.left + plot.right) / 2),
        bottom=HEIGHT - 8,
        x_label=chart.x_label,
        cy=num(middle),
        y_label=chart.y_label,
    )
    body = format_html_join("", "{}", ((m,) for m in marks))
    return format_html("{}{}{}{}", grid, titles, names, body)


# Scales and words


def axis_top(largest, percent):
    """The value at the top of the axis: 100 % for rates, else a round number at or above
    the largest value (at least 1, so that an empty chart still has an axis)."""
    if percent:
        return 1
    step = tick_step(largest)
    return max(step * math.ceil(largest / step), step)


def tick_step(largest):
    """A round step (1, 2 or 5 times a power of ten, at least 1) giving about four ticks."""
    rough = max(largest / 4, 1)
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough)


def axis_ticks(top, percent):
    step = 0.25 if percent else tick_step(top)
    count = round(top / step)
    return [step * n for n in range(count + 1)]


def tick(value, chart):
    return percent(value) if chart.percent else f"{value:,.0f}"


def value_text(value, is_percent):
    if value is None:
        return "–"
    return percent(value) if is_percent else f"{value:,.0f}"


def series_class(series, number):
    return "s-other" if series.other else f"s{number % PALETTE_SIZE}"


def classes(*names):
    return " ".join(name for name in names if name)


def shorten(name):
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


def num(value):
    """A coordinate as SVG takes it: one decimal, no exponent."""
    return f"{value:.1f}"


def n_of(chart):
    return len(chart.categories)
