"""The analytics page's charts: each figure of analytics.py as a charts.Chart, with the words
said of each point and the list each point opens.

A point links to the list filtered to it (the page's filters, with the point's agent, day,
duration, criterion or value put in) wherever the list can select just those calls. The
review work counts verdicts by the day they were given, which no filter of the list selects:
its points are focusable marks that open nothing rather than links to a list that would not
hold what they count.
"""

import dataclasses
from datetime import datetime
from functools import cached_property
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from conversations import analytics
from conversations.charts import Chart, Column, Point, Series
from conversations.reviews import read_text

# A duration bin's link ends this many minutes before the next bin begins: the list's
# duration filter includes both ends, a bin includes its start only.
BEFORE_NEXT_BIN = 0.000001

CALL_WORDS = {  # by the page's outcome filter: (one, several)
    "success": ("successful call", "successful calls"),
    "failure": ("failed call", "failed calls"),
    "unknown": ("call of unknown outcome", "calls of unknown outcome"),
}
PLAIN_CALLS = ("call", "calls")


class Figures:
    """The figures of one request, each counted when first asked for: the page asks for all,
    a CSV download for the one it holds."""

    def __init__(self, scope, key=None):
        self.scope = scope
        self.key = key
        self.links = Links.of(scope)

    @cached_property
    def calls(self):
        return analytics.calls(self.scope)

    @cached_property
    def criteria(self):
        return analytics.criteria(self.scope)

    @cached_property
    def values(self):
        return analytics.top_values(self.scope, self.key)

    @cached_property
    def review_days(self):
        return analytics.review_days(self.scope)

    @cached_property
    def backlog(self):
        return analytics.backlog(self.scope, self.calls.total)

    @cached_property
    def reviewers(self):
        return analytics.reviewers(self.scope)


# Words and links


def count(number, words=PLAIN_CALLS):
    return f"{number:,} {words[0] if number == 1 else words[1]}"


def call_words(scope):
    return CALL_WORDS.get(scope.review_filter.outcome, PLAIN_CALLS)


def day_name(day):
    """Tuesday 3 March (and the year, when it is not this one)."""
    name = f"{day:%A} {day.day} {day:%B}"
    return name if day.year == timezone.localdate().year else f"{name} {day.year}"


def bucket_name(bucket):
    if isinstance(bucket, datetime):
        return f"{bucket:%H:%M} on {day_name(bucket.date())}"
    return day_name(bucket)


def bucket_short(bucket):
    if isinstance(bucket, datetime):
        return f"{bucket:%H:%M}"
    return f"{bucket.day} {bucket:%b}"


def bucket_cell(bucket):
    """A bucket in the table and the CSV: its day, or its hour with the viewer's offset."""
    if isinstance(bucket, datetime):
        return bucket.isoformat(timespec="minutes")
    return bucket.isoformat()


def bucket_day(bucket):
    return bucket.date() if isinstance(bucket, datetime) else bucket


def bucket_column(scope):
    return Column("Hour" if scope.period.hourly else "Day", "text")


@dataclasses.dataclass(frozen=True)
class Links:
    """Links to the list: the page's filters with some changed. A chart makes hundreds, so
    the list's path is found once and the query written without a QueryDict (as
    ReviewFilter.query_string writes it)."""

    scope: analytics.Scope
    path: str

    @classmethod
    def of(cls, scope):
        return cls(scope, reverse("conversations:list"))

    def to(self, **changes):
        params = dataclasses.replace(self.scope.review_filter, **changes).params
        return f"{self.path}?{urlencode(params)}" if params else self.path

    def day(self, bucket, **changes):
        """The list of one bucket's day (the list filters days, so an hour opens its day)."""
        day = bucket_day(bucket)
        return self.to(since=day, until=day, **changes)

    def range(self, **changes):
        """The list over the range's days."""
        period = self.scope.period
        return self.to(since=period.since, until=period.until, **changes)


def period_words(period):
    if period.since == period.until:
        return f"{period.label.lower()} ({period.since.isoformat()})"
    return f"{period.label.lower()} ({period.since.isoformat()} to {period.until.isoformat()})"


def duration_words(seconds):
    """A span of time as a reader takes it in at once: 45 s, 12 min, 3 h 20 min, 4.5 days."""
    sign = "−" if seconds < 0 else ""
    minutes = round(abs(seconds) / 60)
    if abs(seconds) < 60:
        return f"{sign}{abs(seconds):.0f} s"
    if minutes < 60:
        return f"{sign}{minutes} min"
    if minutes < 48 * 60:
        return f"{sign}{minutes // 60} h {minutes % 60} min"
    return f"{sign}{minutes / 1440:.1f} days"


def rounded(fraction):
    """A rate as the table and the CSV give it: four decimals are a hundredth of a percent."""
    return None if fraction is None else round(fraction, 4)


def share(part, whole):
    return f"{part / whole:.0%}" if whole else "–"


# The charts


def calls_chart(figures):
    scope, figure = figures.scope, figures.calls
    buckets, words = scope.period.buckets, call_words(scope)
    series = [
        Series(
            agent.name,
            tuple(
                Point(
                    number,
                    f"{bucket_name(b)}: {count(number, words)} of {agent.name}",
                    figures.links.day(b, agent_id=agent.agent_id),
                )
                for b, number in zip(buckets, agent.counts, strict=True)
            ),
        )
        for agent in figure.agents
    ]
    if figure.other:
        series.append(
            Series(
                "Other agents",
                tuple(
                    Point(number, f"{bucket_name(b)}: {count(number, words)} of other agents")
                    for b, number in zip(buckets, figure.other.counts, strict=True)
                ),
                other=True,
            )
        )
    shown = [*figure.agents, *([figure.other] if figure.other else [])]
    rows = tuple(
        (bucket_cell(b), *(agent.counts[n] for agent in shown), figure.outcomes[n].calls)
        for n, b in enumerate(buckets)
    )
    return Chart(
        slug="calls",
        kind="bar",
        title="Calls per hour" if scope.period.hourly else "Calls per day",
        description=(
            f"{count(figure.total, words).capitalize()} that started in the "
            f"{period_words(scope.period)}, a bar per {bucket_column(scope).name.lower()}, "
            "stacked by agent."
        ),
        x_label=bucket_column(scope).name,
        y_label=words[1].capitalize(),
        categories=tuple(bucket_short(b) for b in buckets),
        series=tuple(series),
        columns=(
            bucket_column(scope),
            *(Column(s.name) for s in series),
            Column("All agents"),
        ),
        rows=rows,
        stubs=tuple(
            Point(0, f"{bucket_name(b)}: no {words[1]}", figures.links.day(b)) for b in buckets
        ),
        note=(
            f"The {analytics.MAX_AGENTS} agents with the most calls have a colour each; "
            "the others share one."
            if figure.other
            else ""
        ),
    )


def success_chart(figures):
    scope, figure = figures.scope, figures.calls
    buckets = scope.period.buckets
    points = tuple(
        Point(
            o.rate,
            f"{bucket_name(b)}: "
            + (
                f"{share(o.success, o.calls)} of {count(o.calls)} successful "
                f"({o.success:,} successful, {o.failure:,} failed, {o.unknown:,} unknown)"
                if o.calls
                else "no calls"
            ),
            figures.links.day(b),
        )
        for b, o in zip(buckets, figure.outcomes, strict=True)
    )
    return Chart(
        slug="success",
        kind="line",
        title="Success rate",
        description=(
            f"The share of each {bucket_column(scope).name.lower()}'s calls that the platform "
            f"judged successful, in the {period_words(scope.period)}; a "
            f"{bucket_column(scope).name.lower()} without calls has no point."
        ),
        x_label=bucket_column(scope).name,
        y_label="Successful calls",
        categories=tuple(bucket_short(b) for b in buckets),
        series=(Series("Successful calls", points),),
        columns=(
            bucket_column(scope),
            Column("Calls"),
            Column("Successful"),
            Column("Failed"),
            Column("Unknown"),
            Column("Success rate", "percent"),
        ),
        rows=tuple(
            (bucket_cell(b), o.calls, o.success, o.failure, o.unknown, rounded(o.rate))
            for b, o in zip(buckets, figure.outcomes, strict=True)
        ),
        percent=True,
        empty="" if figure.total else "No calls in this range, so no success rate.",
        note="Successful calls among all calls; a call the platform gave no verdict counts as "
        "unknown.",
    )


def durations_chart(figures):
    scope, figure = figures.scope, figures.calls
    words, unknown = call_words(scope), figure.without_duration
    points = tuple(
        Point(b.calls, f"{count(b.calls, words)} lasted {bin_words(b)}", bin_link(figures.links, b))
        for b in figure.durations
    )
    total = sum(b.calls for b in figure.durations)
    return Chart(
        slug="durations",
        kind="histogram",
        title="Call durations",
        description=(
            f"How long the {count(total, words)} of the {period_words(scope.period)} lasted, "
            "in bins of minutes."
        ),
        x_label="Minutes",
        y_label=words[1].capitalize(),
        categories=tuple(bin_name(b) for b in figure.durations),
        series=(Series(words[1].capitalize(), points),),
        columns=(
            Column("Duration", "text"),
            Column("From (minutes)"),
            Column("Under (minutes)"),
            Column("Calls"),
        ),
        rows=tuple((bin_name(b), b.low, b.high, b.calls) for b in figure.durations),
        note=(
            f"{count(unknown, words).capitalize()} without a duration "
            f"{'is' if unknown == 1 else 'are'} not shown."
            if unknown
            else ""
        ),
    )


def bin_name(duration_bin):
    if duration_bin.high is None:
        return f"{duration_bin.low}+ min"
    return f"{duration_bin.low}–{duration_bin.high} min"


def bin_words(duration_bin):
    if duration_bin.high is None:
        return f"{duration_bin.low} minutes or more"
    if duration_bin.low == 0:
        return f"under {count(duration_bin.high, ('minute', 'minutes'))}"
    return f"{duration_bin.low} to under {duration_bin.high} minutes"


def bin_link(links, duration_bin):
    """The list of the range's calls of one bin, within the page's own duration filter."""
    review_filter = links.scope.review_filter
    low = max(duration_bin.low, review_filter.min_minutes or 0)
    high = None if duration_bin.high is None else duration_bin.high - BEFORE_NEXT_BIN
    if review_filter.max_minutes is not None:
        high = review_filter.max_minutes if high is None else min(high, review_filter.max_minutes)
    return links.range(min_minutes=float(low), max_minutes=high)


def criteria_chart(figures):
    scope, figure = figures.scope, figures.criteria
    buckets = scope.period.buckets
    series = tuple(
        Series(
            criterion.criterion,
            tuple(
                Point(
                    o.rate,
                    f"{bucket_name(b)}: {criterion.criterion} "
                    + (
                        f"passed in {share(o.success, o.calls)} of {count(o.calls)} "
                        f"({o.success:,} passed, {o.failure:,} failed, {o.unknown:,} unknown)"
                        if o.calls
                        else "was not evaluated"
                    ),
                    figures.links.day(b, criterion=criterion.criterion, result=None),
                )
                for b, o in zip(buckets, criterion.results, strict=True)
            ),
        )
        for criterion in figure.criteria
    )
    note = "Passed among the calls evaluated on the criterion, by the calls' start."
    if figure.more:
        note += f" Only the {analytics.MAX_CRITERIA} criteria evaluated most often are drawn."
    return Chart(
        slug="criteria",
        kind="line",
        title="Evaluation criteria: pass rate",
        description=(
            f"The share of calls that passed each evaluation criterion, per "
            f"{bucket_column(scope).name.lower()} of the {period_words(scope.period)}; a line "
            "a criterion."
        ),
        x_label=bucket_column(scope).name,
        y_label="Passed",
        categories=tuple(bucket_short(b) for b in buckets),
        series=series,
        columns=(
            bucket_column(scope),
            Column("Criterion", "text"),
            Column("Evaluated"),
            Column("Passed"),
            Column("Failed"),
            Column("Unknown"),
            Column("Pass rate", "percent"),
        ),
        rows=tuple(
            (bucket_cell(b), c.criterion, o.calls, o.success, o.failure, o.unknown, rounded(o.rate))
            for c in figure.criteria
            for b, o in zip(buckets, c.results, strict=True)
        ),
        percent=True,
        empty="" if figure.criteria else "No call of this range has an evaluation result.",
        note=note,
    )


def values_chart(figures):
    scope, figure = figures.scope, figures.values
    key = figure.key
    points = tuple(
        Point(
            v.calls,
            f"{count(v.calls)} collected {key} = {v.text or '(empty)'}",
            value_link(figures.links, key, v.text),
        )
        for v in figure.values
    )
    if key is None:
        empty = "No call of this range collected any data."
    elif not figure.values:
        empty = f"No call of this range collected “{key}”."
    else:
        empty = ""
    return Chart(
        slug="values",
        kind="hbar",
        title=f"Most frequent values of “{key}”" if key else "Most frequent collected values",
        description=(
            f"The {analytics.MAX_VALUES} values of the collected-data key “{key}” found in the "
            f"most calls of the {period_words(scope.period)}, with their calls."
            if key
            else "No collected data in this range."
        ),
        x_label="Calls",
        y_label="Value",
        categories=tuple(v.text or "(empty)" for v in figure.values),
        series=(Series("Calls", points),),
        columns=(Column("Value", "text"), Column("Calls")),
        rows=tuple((v.text, v.calls) for v in figure.values),
        empty=empty,
        note="" if figure.chosen or not key else "The key most calls of the range collected.",
    )


def value_link(links, key, text):
    """The list of the range's calls that collected this value; none for a value the list's
    filter would read differently (blank, or with spaces around it)."""
    if not text or read_text(text) != text:
        return None
    return links.range(data_key=key, data_value=text)


def reviews_chart(figures):
    scope, figure = figures.scope, figures.review_days
    buckets = scope.period.buckets
    series = tuple(
        Series(
            name,
            tuple(
                Point(number, f"{bucket_name(b)}: {count(number)} {verb}")
                for b, number in zip(buckets, numbers, strict=True)
            ),
        )
        for name, verb, numbers in (
            ("Reviewed", "given a verdict", figure.reviewed),
            ("Flagged", "flagged", figure.flagged),
            ("Needs follow-up", "marked as needing follow-up", figure.follow_up),
        )
    )
    return Chart(
        slug="reviews",
        kind="line",
        title="Review work",
        description=(
            f"Calls given a verdict each {bucket_column(scope).name.lower()} of the "
            f"{period_words(scope.period)}, by when it was given, and how many of them were "
            "flagged or marked as needing follow-up."
        ),
        x_label=bucket_column(scope).name,
        y_label="Calls",
        categories=tuple(bucket_short(b) for b in buckets),
        series=series,
        columns=(
            bucket_column(scope),
            Column("Reviewed"),
            Column("Flagged"),
            Column("Needs follow-up"),
        ),
        rows=tuple(
            (bucket_cell(b), figure.reviewed[n], figure.flagged[n], figure.follow_up[n])
            for n, b in enumerate(buckets)
        ),
        note="By the day of the verdict, whenever the call was: the list cannot select calls "
        "by when they were reviewed, so these points open no list.",
    )


def backlog_chart(figures):
    scope, figure = figures.scope, figures.backlog
    points = (
        Point(
            figure.unreviewed,
            f"{count(figure.unreviewed)} of the range without a verdict",
            figures.links.range(status=analytics.UNREVIEWED),
        ),
        Point(figure.assigned, f"{count(figure.assigned)} of those assigned to someone"),
    )
    return Chart(
        slug="backlog",
        kind="hbar",
        title="Backlog now",
        description=(
            f"Calls of the {period_words(scope.period)} that have no verdict yet, and how many "
            "of them are assigned to someone."
        ),
        x_label="Calls",
        y_label="Review state",
        categories=("Unreviewed", "Assigned, not reviewed"),
        series=(Series("Calls", points),),
        columns=(Column("Review state", "text"), Column("Calls")),
        rows=(("Unreviewed", figure.unreviewed), ("Assigned, not reviewed", figure.assigned)),
    )


def reviewers_chart(figures):
    scope, figure = figures.scope, figures.reviewers
    points = tuple(
        Point(
            w.calls,
            f"{w.username}: {count(w.calls)} reviewed"
            + (
                f", {duration_words(w.median_seconds)} from a call's end to the verdict (median)"
                if w.median_seconds is not None
                else ""
            ),
        )
        for w in figure
    )
    return Chart(
        slug="reviewers",
        kind="hbar",
        title="Calls reviewed per reviewer",
        description=(
            f"Calls each reviewer gave a verdict in the {period_words(scope.period)}, most first."
        ),
        x_label="Calls reviewed",
        y_label="Reviewer",
        categories=tuple(w.username for w in figure),
        series=(Series("Calls reviewed", points),),
        columns=(
            Column("Reviewer", "text"),
            Column("Calls reviewed"),
            Column("Median hours from call end to verdict"),
        ),
        rows=tuple(
            (
                w.username,
                w.calls,
                None if w.median_seconds is None else round(w.median_seconds / 3600, 2),
            )
            for w in figure
        ),
        empty="" if figure else "Nobody gave a verdict in this range.",
        note="The median runs from a call's end to the reviewer's first verdict on it.",
    )


CHARTS = {
    "calls": calls_chart,
    "success": success_chart,
    "durations": durations_chart,
    "criteria": criteria_chart,
    "values": values_chart,
    "reviews": reviews_chart,
    "backlog": backlog_chart,
    "reviewers": reviewers_chart,
}
# The page's sections: a heading and its charts.
SECTIONS = (
    ("Calls", ("calls", "success", "durations")),
    ("Evaluation", ("criteria",)),
    ("Collected data", ("values",)),
    ("Review work", ("reviews", "backlog", "reviewers")),
)


def chart(figures, slug):
    return CHARTS[slug](figures)
