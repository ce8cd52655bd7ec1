"""Server-side SVG charts (conversations/charts.py): accessible, escaped, styled by classes."""

import re

from conversations import charts
from conversations.charts import Chart, Column, Point, Series
from tests.helpers import element, text_of

HOSTILE = '<script>alert(1)</script>"onmouseover="x'


def chart(kind="bar", series=None, categories=("1 Mar", "2 Mar", "3 Mar"), **fields):
    series = series or (
        Series(
            "Support bot",
            (
                Point(2, "Sunday 1 March: 2 calls of Support bot", "/?agent=a&since=2026-03-01"),
                Point(0, "Monday 2 March: 0 calls of Support bot", "/?agent=a&since=2026-03-02"),
                Point(5, "Tuesday 3 March: 5 calls of Support bot", "/?agent=a&since=2026-03-03"),
            ),
        ),
    )
    values = {
        "slug": "calls",
        "kind": kind,
        "title": "Calls per day",
        "description": "Calls that started each day.",
        "x_label": "Day",
        "y_label": "Calls",
        "categories": categories,
        "series": series,
        "columns": (Column("Day", "text"), Column("Calls")),
        "rows": (("2026-03-01", 2), ("2026-03-02", 0), ("2026-03-03", 5)),
        **fields,
    }
    return Chart(**values)


def drawn(some_chart):
    return str(charts.figure(some_chart, "/analytics/calls.csv?range=7d"))


def links(html):
    return re.findall(r'<a class="mark[^"]*" href="([^"]*)" aria-label="([^"]*)"', html)


def test_a_chart_is_a_figure_with_a_caption_and_a_titled_described_svg():
    html = drawn(chart())
    figure = element(html, "figure", id="chart-calls")
    assert text_of(element(figure, "figcaption")) == "Calls per day"
    svg = element(figure, "svg", aria_labelledby="calls-title calls-desc")
    assert text_of(element(svg, "title", id="calls-title")) == "Calls per day"
    assert text_of(element(svg, "desc", id="calls-desc")) == "Calls that started each day."


def test_the_axes_are_labelled():
    svg = element(drawn(chart()), "svg")
    labels = re.findall(r'<text class="axis-label"[^>]*>([^<]*)</text>', svg)
    assert labels == ["Day", "Calls"]


def test_every_bar_is_a_link_to_its_list_with_the_words_it_stands_for():
    found = links(drawn(chart()))
    assert ("/?agent=a&amp;since=2026-03-01", "Sunday 1 March: 2 calls of Support bot") in found
    assert ("/?agent=a&amp;since=2026-03-03", "Tuesday 3 March: 5 calls of Support bot") in found


def test_a_category_with_nothing_is_a_reachable_stub_not_a_missing_bar():
    stubs = (
        Point(0, "Sunday 1 March: no calls", "/?since=2026-03-01"),
        Point(0, "Monday 2 March: no calls", "/?since=2026-03-02"),
        Point(0, "Tuesday 3 March: no calls", "/?since=2026-03-03"),
    )
    html = drawn(chart(stubs=stubs))
    assert ("/?since=2026-03-02", "Monday 2 March: no calls") in links(html)
    assert ("/?since=2026-03-01", "Sunday 1 March: no calls") not in links(html)
    assert html.count('class="stub"') == 1


def test_a_point_with_no_list_is_still_reached_with_the_keyboard_and_named():
    series = (Series("Reviewed", (Point(3, "Sunday 1 March: 3 calls given a verdict"),)),)
    html = drawn(chart(kind="line", series=series, categories=("1 Mar",)))
    mark = element(html, "g", class_="mark s0")
    assert 'tabindex="0"' in mark
    assert 'role="img"' in mark
    assert 'aria-label="Sunday 1 March: 3 calls given a verdict"' in mark
    assert links(html) == []


def test_a_line_breaks_where_a_point_has_no_value():
    points = (
        Point(0.5, "a"),
        Point(0.75, "b"),
        Point(None, "no calls"),
        Point(1.0, "c"),
        Point(0.25, "d"),
    )
    html = drawn(
        chart(
            kind="line",
            series=(Series("Successful calls", points),),
            categories=tuple("abcde"),
            percent=True,
        )
    )
    assert html.count("<polyline") == 2
    assert html.count("<circle") == 4


def test_rates_are_drawn_from_0_to_100_percent():
    points = (Point(0.5, "half"),)
    html = drawn(chart(kind="line", series=(Series("s", points),), categories=("x",), percent=True))
    ticks = re.findall(r'<text class="tick"[^>]*text-anchor="end">([^<]*)</text>', html)
    assert ticks == ["0%", "25%", "50%", "75%", "100%"]


def test_a_histogram_bar_of_nothing_is_a_stub_link():
    html = drawn(chart(kind="histogram"))
    assert html.count('class="stub"') == 1
    assert len(links(html)) == 3


def test_horizontal_bars_name_each_category_and_give_its_value():
    series = (Series("Calls", (Point(7, "7 calls collected refund = true", "/?x=1"),)),)
    html = drawn(chart(kind="hbar", series=series, categories=("true",)))
    assert re.search(r'<text class="name"[^>]*>true</text>', html)
    assert re.search(r'<text class="value"[^>]*>7</text>', html)


def test_series_are_named_in_a_legend_with_their_colour_class():
    series = (
        Series("Support bot", (Point(1, "a"),)),
        Series("Billing", (Point(2, "b"),)),
        Series("Other agents", (Point(3, "c"),), other=True),
    )
    html = drawn(chart(series=series, categories=("1 Mar",)))
    legend = element(html, "ul", class_="chart-legend")
    assert text_of(legend) == "Support bot Billing Other agents"
    assert re.findall(r'class="swatch ([^"]+)"', legend) == ["s0", "s1", "s-other"]


def test_the_numbers_are_a_table_inside_details():
    html = drawn(chart())
    details = element(html, "details")
    assert text_of(element(details, "summary")) == "The numbers"
    table = element(details, "table")
    assert text_of(table) == "Day Calls 2026-03-01 2 2026-03-02 0 2026-03-03 5"
    assert '<th scope="row">2026-03-03</th>' in table


def test_a_rate_column_is_shown_as_a_percentage_and_a_missing_one_as_a_dash():
    html = drawn(
        chart(
            columns=(Column("Day", "text"), Column("Rate", "percent")),
            rows=(("2026-03-01", 0.8235), ("2026-03-02", None)),
        )
    )
    assert text_of(element(html, "table")) == "Day Rate 2026-03-01 82.3% 2026-03-02 –"


def test_every_chart_links_its_csv():
    html = drawn(chart())
    assert '<a href="/analytics/calls.csv?range=7d" download>Download CSV</a>' in html


def test_a_chart_with_nothing_to_draw_says_so_instead():
    html = drawn(chart(empty="No calls in this range, so no success rate."))
    assert "<svg" not in html
    assert text_of(element(html, "p", class_="empty")) == (
        "No calls in this range, so no success rate."
    )


def test_hostile_names_and_labels_are_escaped_everywhere():
    series = (Series(HOSTILE, (Point(4, f"4 calls of {HOSTILE}", "/?agent=x"),)),)
    html = drawn(
        chart(
            kind="hbar",
            series=series,
            categories=(HOSTILE,),
            title=f"Values of {HOSTILE}",
            description=HOSTILE,
            rows=((HOSTILE, 4),),
        )
    )
    assert "<script>" not in html
    assert 'onmouseover="x' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=&quot;x" in html


def test_no_chart_has_an_inline_style_or_script():
    for kind in ("bar", "line", "histogram"):
        html = drawn(chart(kind=kind))
        assert "style=" not in html
        assert "<script" not in html
        assert "onclick" not in html


def test_series_colours_come_from_classes_of_the_palette():
    html = drawn(chart())
    assert "fill=" not in html
    assert re.search(r'<a class="mark s0"', html)


def test_an_empty_count_axis_still_has_a_scale():
    series = (Series("Calls", (Point(0, "none"),)),)
    html = drawn(chart(kind="histogram", series=series, categories=("0–1 min",)))
    ticks = re.findall(r'<text class="tick"[^>]*text-anchor="end">([^<]*)</text>', html)
    assert ticks == ["0", "1"]


def test_ticks_are_round_numbers():
    assert charts.axis_top(37, percent=False) == 40
    assert charts.axis_ticks(40, percent=False) == [0, 10, 20, 30, 40]
    assert charts.axis_top(1234, percent=False) == 1500
