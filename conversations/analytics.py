"""The analytics page's numbers, counted by the database from the conversation index.

Every figure is over queries.selected (the list's filters) within a TimeRange, in a few
GROUP BY queries: none reads conversations one by one. Buckets are the viewer's days (hours
for the last 24 hours), cut in the viewer's time zone by the database (TruncDate and
TruncHour with the zone, on PostgreSQL and SQLite alike), and a bucket without calls is a
zero, not a gap. What each rate means is in docs/decisions.md ("Analytics").
"""

import dataclasses
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from conversations import queries
from conversations.models import (
    IndexedConversation,
    IndexedEvaluation,
    IndexedValue,
    Review,
    ReviewChange,
)
from conversations.reviews import ReviewFilter, read_text

# The time ranges the page offers; "custom" is the list's own since/until.
RANGES = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "custom": "Custom days",
}
DEFAULT_RANGE = "7d"
RANGE_DAYS = {"7d": 7, "30d": 30}
# A custom range of more days would draw bars thinner than a pixel.
MAX_DAYS = 366
# A custom range with a last day only starts this many days before it.
CUSTOM_DAYS = 30
HOUR = timedelta(hours=1)

# Series a chart draws one by one; the rest is drawn as one ("other agents").
MAX_AGENTS = 6
MAX_CRITERIA = 6
MAX_VALUES = 10
# The criteria drawn and the default collected-data key are chosen among this many calls.
SAMPLE = 1000
RESULTS = queries.RESULTS
# Minutes: [low, high), the last without an end.
DURATION_BINS = ((0, 1), (1, 2), (2, 5), (5, 10), (10, 20), (20, None))

# A review's history records a status by its label (reviews.save_review).
VERDICTS = (Review.Status.PASSED, Review.Status.FLAGGED, Review.Status.FOLLOW_UP)
VERDICT_LABELS = tuple(status.label for status in VERDICTS)
UNREVIEWED = Review.Status.UNREVIEWED


class BadRange(ValueError):
    """A time range the page cannot draw; the message says what to choose instead."""


# The time range


@dataclasses.dataclass(frozen=True)
class TimeRange:
    """[start, end) and its buckets: the viewer's days from `since` to `until`, or hours."""

    name: str
    start: datetime
    end: datetime
    since: date  # the viewer's first and last day it touches, as the list filters days
    until: date
    hourly: bool
    buckets: tuple  # dates, or the aware start of each hour in the viewer's zone

    @property
    def label(self):
        return RANGES[self.name]

    @cached_property
    def places(self):
        """{bucket: its place}: aware datetimes of one instant are equal, whatever their zone."""
        return {bucket: place for place, bucket in enumerate(self.buckets)}


def read_range(params, review_filter, *, now=None):
    """The TimeRange a request asks for: `range` (24h, 7d, 30d, custom), where custom is the
    list's since/until; default 7d, and custom when the list's filters carry days and
    `range` does not name another. An unknown `range` counts as none. Raises BadRange."""
    name = params.get("range", "")
    has_days = bool(review_filter.since or review_filter.until)
    if name not in RANGES:
        name = "custom" if has_days else DEFAULT_RANGE
    today = timezone.localdate(now or timezone.now())
    if name == "24h":
        return last_day(now or timezone.now())
    if name in RANGE_DAYS:
        return day_range(name, today - timedelta(days=RANGE_DAYS[name] - 1), today)
    if not has_days:
        raise BadRange("Choose the first day, the last day or both for a custom range.")
    until = review_filter.until or max(today, review_filter.since)
    since = review_filter.since or until - timedelta(days=CUSTOM_DAYS - 1)
    if until < since:
        raise BadRange("The last day of the range comes before its first day.")
    if (until - since).days >= MAX_DAYS:
        raise BadRange(f"Choose at most {MAX_DAYS} days; for longer, export the list.")
    return day_range("custom", since, until)


def day_range(name, since, until):
    start, end = ReviewFilter(since=since, until=until).start_range()
    days = tuple(since + timedelta(days=n) for n in range((until - since).days + 1))
    return TimeRange(name, start, end, since, until, False, days)


def last_day(now):
    """The last 24 hours of the viewer's clock, the current one included, hour by hour.

    Hours are counted in UTC and shown in the viewer's zone, so that a change of clocks
    makes no hour twice or none.
    """
    zone = timezone.get_current_timezone()
    hour = timezone.localtime(now, zone).replace(minute=0, second=0, microsecond=0)
    end = hour.astimezone(UTC) + HOUR
    start = end - 24 * HOUR
    hours = tuple((start + n * HOUR).astimezone(zone) for n in range(24))
    return TimeRange("24h", start, end, hours[0].date(), hours[-1].date(), True, hours)


# What the figures count


@dataclasses.dataclass(frozen=True)
class Scope:
    """The list's filters (less its days, which the range has), whose they are, the range."""

    review_filter: ReviewFilter
    user: object
    period: TimeRange

    @classmethod
    def of(cls, review_filter, user, period):
        undated = dataclasses.replace(review_filter, since=None, until=None)
        return cls(undated, user, period)

    def selected(self):
        """The list's conversations, whenever they started."""
        return queries.selected(self.review_filter, self.user)

    def conversations(self):
        """The list's conversations that started within the range."""
        return self.selected().filter(
            start_time__gte=self.period.start, start_time__lt=self.period.end
        )

    @property
    def filtered(self):
        """Whether the list's filters leave out any conversation."""
        return bool(self.review_filter.params)

    @cached_property
    def newest(self):
        """The ids of the range's newest SAMPLE calls, read once: what the criteria drawn
        and the default key are chosen from, so that choosing costs the same over a day or a
        year (and a list of ids, unlike a subquery, leads the database to their rows)."""
        newest = self.conversations().order_by("-start_time", "-conversation_id")
        return list(newest.values_list("pk", flat=True)[:SAMPLE])

    def bucket(self, field):
        """`field` cut to its bucket, in the viewer's zone, by the database."""
        cut = TruncHour if self.period.hourly else TruncDate
        return cut(field, tzinfo=timezone.get_current_timezone())

    def index_of(self, bucket):
        """A bucket's place among the range's; None for one outside it."""
        return self.period.places.get(bucket)


def per_bucket(scope, rows, *fields):
    """{field: [count per bucket]} from rows that have a `bucket` and each field."""
    counts = {field: [0] * len(scope.period.buckets) for field in fields}
    for row in rows:
        place = scope.index_of(row["bucket"])
        if place is not None:
            for field in fields:
                counts[field][place] += row[field] or 0
    return counts


def rate(part, whole):
    return part / whole if whole else None


# Calls: by agent, by outcome, by duration


@dataclasses.dataclass(frozen=True)
class AgentCalls:
    agent_id: str  # "" for the agents drawn together
    name: str
    counts: tuple[int, ...]  # a bucket each

    @property
    def total(self):
        return sum(self.counts)


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """Verdicts on the calls of one bucket: the platform's on a call (`call_successful`),
    where a call without one counts as unknown, as the list's outcome filter has it; or the
    results of one evaluation criterion."""

    success: int = 0
    failure: int = 0
    unknown: int = 0

    @property
    def calls(self):
        return self.success + self.failure + self.unknown

    @property
    def rate(self):
        """Successes among all the bucket's calls; None when it has none."""
        return rate(self.success, self.calls)


@dataclasses.dataclass(frozen=True)
class DurationBin:
    low: int  # minutes, included
    high: int | None  # minutes, excluded; None: no end
    calls: int


@dataclasses.dataclass(frozen=True)
class Calls:
    agents: tuple[AgentCalls, ...]  # most calls first, at most MAX_AGENTS
    other: AgentCalls | None  # the other agents', and calls of no known agent
    outcomes: tuple[Outcomes, ...]  # a bucket each
    durations: tuple[DurationBin, ...]  # over the whole range

    @property
    def total(self):
        return sum(o.calls for o in self.outcomes)

    @property
    def without_duration(self):
        return self.total - sum(b.calls for b in self.durations)


def calls(scope):
    """The range's calls per bucket by agent and by outcome, and their durations: one query
    grouped by bucket, agent, outcome and duration bin (a few thousand rows at most, folded
    here), and one for the names of the agents drawn."""
    rows = (
        scope.conversations()
        .annotate(bucket=scope.bucket("start_time"), bin=duration_bin())
        .values("bucket", "agent_id", "outcome", "bin")
        .annotate(calls=Count("pk"))
        .order_by()
    )
    size = len(scope.period.buckets)
    by_agent = defaultdict(lambda: [0] * size)
    outcomes = [dict.fromkeys(queries.RESULTS, 0) for _ in range(size)]
    bins = [0] * len(DURATION_BINS)
    for row in rows:
        place = scope.index_of(row["bucket"])
        if place is None:
            continue
        by_agent[row["agent_id"]][place] += row["calls"]
        outcome = row["outcome"] if row["outcome"] in ("success", "failure") else "unknown"
        outcomes[place][outcome] += row["calls"]
        if row["bin"] is not None:
            bins[row["bin"]] += row["calls"]
    shown = sorted((a for a in by_agent if a), key=lambda a: (-sum(by_agent[a]), a))
    shown = shown[:MAX_AGENTS]
    names = agent_names(shown)
    rest = [agent for agent in by_agent if agent not in shown]
    other = None
    if rest:
        other = AgentCalls("", "", tuple(sum(by_agent[a][n] for a in rest) for n in range(size)))
    return Calls(
        agents=tuple(AgentCalls(a, names.get(a) or a, tuple(by_agent[a])) for a in shown),
        other=other,
        outcomes=tuple(Outcomes(**counts) for counts in outcomes),
        durations=tuple(
            DurationBin(low, high, bins[n]) for n, (low, high) in enumerate(DURATION_BINS)
        ),
    )


def duration_bin():
    """The number of a call's duration bin (DURATION_BINS); none without a duration."""
    return Case(
        *(
            When(bin_condition(low, high), then=Value(n))
            for n, (low, high) in enumerate(DURATION_BINS)
        ),
        default=None,
        output_field=IntegerField(),
    )


def bin_condition(low, high):
    condition = Q(duration__gte=low * 60)
    return condition if high is None else condition & Q(duration__lt=high * 60)


def agent_names(agent_ids):
    """{id: name} as each agent's newest indexed call names it: one query, of a row each,
    found by the index of agents' calls by start."""
    if not agent_ids:
        return {}
    newest = Q()
    for agent_id in agent_ids:
        latest = IndexedConversation.objects.filter(agent_id=agent_id).order_by("-start_time")
        newest |= Q(pk=Subquery(latest.values("pk")[:1]))
    return dict(IndexedConversation.objects.filter(newest).values_list("agent_id", "agent_name"))


# Evaluation criteria


@dataclasses.dataclass(frozen=True)
class CriterionDays:
    """One criterion's results per bucket: a result each, by the calls' start."""

    criterion: str
    results: tuple[Outcomes, ...]

    @property
    def total(self):
        return sum(r.calls for r in self.results)


@dataclasses.dataclass(frozen=True)
class Criteria:
    criteria: tuple[CriterionDays, ...]  # the most often evaluated first
    more: bool  # some were left out


def criteria(scope):
    """The results per bucket of the MAX_CRITERIA criteria evaluated most often among the
    range's newest calls (Scope.newest): two queries. A criterion scored by a number only
    has no result to pass and is left out."""
    top = list(
        IndexedEvaluation.objects.filter(conversation_id__in=scope.newest, result__in=RESULTS)
        .values("criterion")
        .annotate(calls=Count("pk"))
        .order_by("-calls", "criterion")
        .values_list("criterion", flat=True)[: MAX_CRITERIA + 1]
    )
    shown = top[:MAX_CRITERIA]
    # From the conversations' side: one join, and the list's conditions on them as they are.
    rows = (
        scope.conversations()
        .filter(evaluations__criterion__in=shown, evaluations__result__in=RESULTS)
        .annotate(bucket=scope.bucket("start_time"))
        .values("bucket", "evaluations__criterion", "evaluations__result")
        .annotate(calls=Count("pk"))
        .order_by()
    )
    size = len(scope.period.buckets)
    counts = {name: [dict.fromkeys(RESULTS, 0) for _ in range(size)] for name in shown}
    for row in rows:
        place = scope.index_of(row["bucket"])
        if place is not None:
            counts[row["evaluations__criterion"]][place][row["evaluations__result"]] += row["calls"]
    found = tuple(
        CriterionDays(name, tuple(Outcomes(**day) for day in counts[name])) for name in shown
    )
    return Criteria(found, len(top) > MAX_CRITERIA)


# Collected values


@dataclasses.dataclass(frozen=True)
class ValueCount:
    text: str  # as the index keeps it to filter on (index.value_text)
    calls: int


@dataclasses.dataclass(frozen=True)
class TopValues:
    key: str | None  # None: no call of the range collected anything
    values: tuple[ValueCount, ...]  # most frequent first, at most MAX_VALUES
    chosen: bool  # the key was asked for (not the most common one)


def read_key(params):
    """The collected-data key asked for (`key`), as the index compares it; None for none."""
    return read_text(params.get("key", ""))


def top_values(scope, key=None):
    """The most frequent values of `key` among the range's calls: one query; without a key,
    first the key most of the range's newest calls (Scope.newest) collected."""
    chosen = key is not None
    if key is None:
        keys = (
            IndexedValue.objects.filter(conversation_id__in=scope.newest)
            .values("key")
            .annotate(calls=Count("pk"))
            .order_by("-calls", "key")
        )
        key = next(iter(keys.values_list("key", flat=True)[:1]), None)
        if key is None:
            return TopValues(None, (), False)
    rows = (
        scope.conversations()
        .filter(values__key=key)
        .values("values__text")
        .annotate(calls=Count("pk"))
        .order_by("-calls", "values__text")[:MAX_VALUES]
    )
    found = tuple(ValueCount(r["values__text"], r["calls"]) for r in rows)
    return TopValues(key, found, chosen)


# Review work


@dataclasses.dataclass(frozen=True)
class ReviewDays:
    """Calls given a verdict per bucket (by when it was given), and flagged or needing
    follow-up among them; a call judged twice in a bucket counts once in each it got."""

    reviewed: tuple[int, ...]
    flagged: tuple[int, ...]
    follow_up: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Backlog:
    unreviewed: int  # calls of the range with no verdict now
    assigned: int  # of those, assigned to someone


@dataclasses.dataclass(frozen=True)
class ReviewerWork:
    username: str
    calls: int  # calls they gave a verdict in the range
    median_seconds: float | None  # from a call's end to their first verdict on it


def verdicts_given(scope):
    """The verdicts given within the range: status changes to Passed, Flagged or Needs
    follow-up, on any call."""
    return ReviewChange.objects.filter(
        field="status",
        new_value__in=VERDICT_LABELS,
        changed_at__gte=scope.period.start,
        changed_at__lt=scope.period.end,
    )


def verdicts(scope):
    """The verdicts given within the range on the list's conversations, whenever those
    started. Without a filter, every verdict: a conversation deleted takes its review
    history with it (reviews.wipe_local_traces), so none is left to leave out."""
    if not scope.filtered:
        return verdicts_given(scope)
    listed = scope.selected().filter(conversation_id=OuterRef("conversation_id"))
    return verdicts_given(scope).filter(Exists(listed))


def review_days(scope):
    """ReviewDays: one query."""
    distinct = {"distinct": True}
    rows = (
        verdicts(scope)
        .annotate(bucket=scope.bucket("changed_at"))
        .values("bucket")
        .annotate(
            reviewed=Count("conversation_id", **distinct),
            flagged=Count(
                "conversation_id", filter=Q(new_value=Review.Status.FLAGGED.label), **distinct
            ),
            follow_up=Count(
                "conversation_id", filter=Q(new_value=Review.Status.FOLLOW_UP.label), **distinct
            ),
        )
        .order_by()
    )
    counts = per_bucket(scope, rows, "reviewed", "flagged", "follow_up")
    return ReviewDays(**{name: tuple(values) for name, values in counts.items()})


def backlog(scope, calls_in_range):
    """Backlog, counted from the reviews' side (there are fewer reviews than calls): one
    query. Without a review, a call of the range has no verdict."""
    listed = scope.conversations().filter(conversation_id=OuterRef("conversation_id"))
    found = Review.objects.filter(Exists(listed)).aggregate(
        verdicts=Count("pk", filter=~Q(status=UNREVIEWED)),
        assigned=Count("pk", filter=Q(status=UNREVIEWED, assignee__isnull=False)),
    )
    return Backlog(calls_in_range - found["verdicts"], found["assigned"])


def reviewers(scope):
    """Each reviewer's calls and median time to a verdict, most calls first: two queries,
    each reviewer's first verdict on each call, and the ends of those calls (among the
    list's, with a filter). The medians are taken here (SQLite has no median), over a row
    per call reviewed in the range; times come from the database as seconds since 1970,
    which read far faster than datetimes."""
    given = verdicts_given(scope)
    firsts = (
        given.values("username", "conversation_id")
        .annotate(first=Min(Epoch("changed_at")))
        .order_by()
        .values_list("username", "conversation_id", "first")
    )
    listed = scope.selected() if scope.filtered else IndexedConversation.objects.all()
    ends = dict(
        listed.filter(pk__in=given.values("conversation_id"))
        .annotate(end=Epoch("start_time") + F("duration"))
        .values_list("pk", "end")
    )
    delays = defaultdict(list)
    for username, conversation_id, first in firsts:
        if conversation_id in ends or not scope.filtered:
            end = ends.get(conversation_id)
            delays[username].append(None if end is None else first - end)
    work = [
        ReviewerWork(name, len(found), median([d for d in found if d is not None]))
        for name, found in delays.items()
    ]
    return tuple(sorted(work, key=lambda w: (-w.calls, w.username)))


class Epoch(Func):
    """A datetime as seconds since 1970, in the database (PostgreSQL and SQLite)."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "EXTRACT(EPOCH FROM %(expressions)s)::float8"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps datetimes in SQLite as UTC text, which julianday() reads.
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, **extra)


def median(values):
    return statistics.median(values) if values else None
