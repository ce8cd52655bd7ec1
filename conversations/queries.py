"""The list's questions that the platform cannot answer, asked of the conversation index.

reviews.fetch_page sends a list here when a filter needs the dashboard's own data (review
state, dates, duration, outcome, an evaluation result, a collected value) or a sort the
platform lacks. The answer covers the whole indexed history, with exact counts:

- review state is joined by conversation id (a review is not a foreign key: it may exist
  before the index knows its conversation), as EXISTS subqueries on reviews; so is a
  conversation's current score (its scorecard, total, answers, and whether it disagrees with
  the platform's evaluation), and a sort by a score orders by an annotation (_with_sort_key)
  that pages and their cursors read as they read a field;
- a conversation that a deletion through the dashboard removed is never listed, whatever
  the index still holds (the audit log decides, as for the platform's list);
- pages are keyset pages: the cursor holds the last row's sort key and id, so that page 100
  costs what page 1 does. Rows without the sort key (a start or a duration the platform did
  not give) come last, by id, in both directions.

The indexes of IndexedConversation (models.py) serve these queries: agent, outcome and
start narrow a list, start and duration order it, and a page's condition states its sort
key's bound so that the scan starts at the cursor.
"""

import base64
import binascii
import dataclasses
import hashlib
import json
import math
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from conversations import client, search
from conversations.models import (
    AuditRecord,
    IndexedConversation,
    IndexedEvaluation,
    IndexedValue,
    Review,
    Score,
    ScoreAnswer,
    Scorecard,
    ScorecardCriterion,
    SyncState,
)


@dataclasses.dataclass(frozen=True)
class Sort:
    label: str
    field: str
    descending: bool


# The orders an indexed list offers; the first is the default, the platform's own.
SORTS = {
    "newest": Sort("Newest first", "start_time", True),
    "oldest": Sort("Oldest first", "start_time", False),
    "longest": Sort("Longest first", "duration", True),
    "shortest": Sort("Shortest first", "duration", False),
    # By the current score (_with_sort_key): the filtered scorecard's total, else the highest.
    "score_high": Sort("Highest score first", "qa_total", True),
    "score_low": Sort("Lowest score first", "qa_total", False),
    # By the points of the filtered scorecard criterion (`qa_criterion`), offered with one.
    "criterion_best": Sort("Criterion: best first", "qa_points", True),
    "criterion_worst": Sort("Criterion: worst first", "qa_points", False),
}
DEFAULT_SORT = "newest"
CRITERION_SORTS = frozenset(name for name, sort in SORTS.items() if sort.field == "qa_points")
# A scorecard criterion's answers: pass/fail/not applicable, or a 1-5 scale (or na).
QA_VALUES = {
    "pass": "Pass",
    "fail": "Fail",
    "na": "Not applicable",
    **{str(n): f"{n} of 5" for n in range(1, 6)},
}
# A human answer that agrees with the platform's "success", and one that agrees with its
# "failure"; a 3, a "na" and the platform's "unknown" are compared with nothing.
PASSING, FAILING = ("pass", "4", "5"), ("fail", "1", "2")
# The platform's verdict on a call (`call_successful`): "unknown" is also no verdict at all.
OUTCOMES = {"success": ("success",), "failure": ("failure",), "unknown": ("unknown", "")}
# An evaluation criterion's result.
RESULTS = ("success", "failure", "unknown")
UNREVIEWED = Review.Status.UNREVIEWED
# What a row needs of an indexed conversation (the summary and the rest stay unread).
ROW_FIELDS = (
    "conversation_id",
    "agent_id",
    "agent_name",
    "status",
    "start_time",
    "duration",
    "outcome",
)
CURSOR_PREFIX = "ix."
CURSOR_MAX = 1024
# The criteria and collected-data keys offered in the filter form, read at most this often.
CHOICES_SECONDS = 60
CHOICES_MAX = 200
# A search can match most of the history; counting all of it would cost what listing the
# first page does many times over, for a number nobody needs exactly.
SEARCH_COUNT_MAX = 500
# ... and a conversation opened from a search's results finds the count its list has just
# made, instead of counting again (bench S3).
SEARCH_COUNT_SECONDS = 30


@dataclasses.dataclass(frozen=True)
class Counts:
    """A list's exact size and, for a queue, how far it is.

    A queue is a list that is not of one verdict (Flagged, Passed, Needs follow-up): its
    conversations are those of its filters less the review state, and `reviewed` of those
    `queue` have a verdict. The Unreviewed list is what is left of its queue.
    """

    total: int
    reviewed: int | None = None
    queue: int | None = None
    capped: bool = False  # a search's count stops at SEARCH_COUNT_MAX: "1000+"


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a conversation opened from a list is in it, and the list's Counts."""

    number: int | None  # 1 for the first; None when it is not in the list (any more)
    counts: Counts
    # In a search's list, past its first `beyond` (SEARCH_COUNT_MAX; then `number` is None).
    beyond: int = 0


@dataclasses.dataclass(frozen=True)
class Position:
    """Where a row is in an order: its sort key (None: it has none) and its id."""

    key: object
    conversation_id: str


@dataclasses.dataclass(frozen=True)
class IndexState:
    """How fresh the index is (the end of the last good head sync) and whether the backfill
    has reached the end of the history, so that counts cover all of it."""

    as_of: datetime | None
    complete: bool

    @property
    def seconds_ago(self):
        return max(0, int((timezone.now() - self.as_of).total_seconds())) if self.as_of else None


def available():
    """Whether the index is on and holds anything: else the list searches the platform."""
    return settings.INDEX_ENABLED and IndexedConversation.objects.exists()


def serves(cursor):
    """Whether a filtered list's page comes from the index: a first page when it is
    available, a later page when its link was made here."""
    if cursor is None:
        return available()
    return settings.INDEX_ENABLED and cursor.startswith(CURSOR_PREFIX)


# The filters


def selected(review_filter, user):
    """The indexed conversations a reviews.ReviewFilter selects for this user, unordered."""
    conversations = IndexedConversation.objects.filter(~Exists(_gone()))
    for condition in (
        *_search_conditions(review_filter),
        *_platform_conditions(review_filter),
        *_review_conditions(review_filter, user),
        *_detail_conditions(review_filter),
        *_score_conditions(review_filter),
    ):
        conversations = conversations.filter(condition)
    if user is not None and asks_scores(review_filter):
        # Imported here: calibration imports scorecards, which imports reviews and this.
        from conversations.calibration import blind_ids

        # Which list a call is in, or where it sorts, would tell someone scoring it blind
        # what others scored: such calls are left out of lists that ask about scores.
        conversations = conversations.exclude(conversation_id__in=blind_ids(user))
    return _with_sort_key(conversations, review_filter)


def asks_scores(review_filter):
    """Whether a list's filters or sort are about scores."""
    sort = SORTS[review_filter.sort or DEFAULT_SORT]
    return sort.field in ("qa_total", "qa_points") or any(
        given is not None and given is not False and given != ""
        for given in (
            review_filter.scorecard,
            review_filter.score_min,
            review_filter.score_max,
            review_filter.qa_criterion,
            review_filter.qa_value,
            review_filter.disagree,
        )
    )


def _gone():
    return AuditRecord.objects.filter(
        conversation_id=OuterRef("conversation_id"), outcome__in=AuditRecord.GONE
    )


def _search_conditions(review_filter):
    query = search.parse(review_filter.query)
    if query:
        yield search.condition(query)


def _platform_conditions(review_filter):
    """What the platform's list says of a call: agent, start, duration, outcome."""
    if review_filter.agent_id:
        yield Q(agent_id=review_filter.agent_id)
    start, end = review_filter.start_range()
    if start:
        yield Q(start_time__gte=start)
    if end:
        yield Q(start_time__lt=end)
    shortest, longest = review_filter.duration_range()
    if shortest is not None:
        yield Q(duration__gte=shortest)
    if longest is not None:
        yield Q(duration__lte=longest)
    if review_filter.outcome:
        yield Q(outcome__in=OUTCOMES[review_filter.outcome])


def _review_conditions(review_filter, user):
    """Review state, assignee and tag: one review per conversation, so one EXISTS each."""
    if review_filter.status == UNREVIEWED:
        yield ~_has_verdict()
    elif review_filter.status:
        yield _reviewed(Q(status=review_filter.status))
    if review_filter.mine:
        yield _reviewed(Q(assignee=user))
    if review_filter.tag:
        yield _reviewed(_tagged(review_filter.tag))


def _detail_conditions(review_filter):
    """An evaluation result and a collected value. A criterion alone selects the calls it
    was evaluated on, a result alone the calls with any criterion of that result; a key
    alone the calls that collected it, a value alone any key of that value."""
    results = _given(criterion=review_filter.criterion, result=review_filter.result)
    if results:
        yield Exists(IndexedEvaluation.objects.filter(conversation=OuterRef("pk"), **results))
    values = _given(key=review_filter.data_key, text=review_filter.data_value)
    if values:
        yield Exists(IndexedValue.objects.filter(conversation=OuterRef("pk"), **values))


def _given(**lookups):
    return {name: value for name, value in lookups.items() if value}


def _score_conditions(review_filter):
    """The current score's scorecard, total and answers, as one EXISTS: the same score meets
    them all. A criterion alone selects the calls scored on it, a value alone the calls with
    any answer of that value. Then the disagreement with the platform, if asked."""
    scores = _current_scores(review_filter)
    bounds = {"total__gte": review_filter.score_min, "total__lte": review_filter.score_max}
    bounds = {lookup: value for lookup, value in bounds.items() if value is not None}
    answers = _given(criterion__key=review_filter.qa_criterion, value=review_filter.qa_value)
    if bounds:
        scores = scores.filter(**bounds)
    if answers:
        scores = scores.filter(Exists(ScoreAnswer.objects.filter(score=OuterRef("pk"), **answers)))
    if review_filter.scorecard or bounds or answers:
        yield Exists(scores)
    if review_filter.disagree:
        yield _disagreeing(review_filter)


def _current_scores(review_filter):
    """The current scores of the outer conversation, on the filtered scorecard if any."""
    scores = Score.objects.filter(current=True, conversation_id=OuterRef("conversation_id"))
    if review_filter.scorecard:
        scores = scores.filter(scorecard_id=review_filter.scorecard)
    return scores


def _current_answers(review_filter):
    """The answers of the outer conversation's current scores (as _current_scores)."""
    answers = ScoreAnswer.objects.filter(
        score__current=True, score__conversation_id=OuterRef("conversation_id")
    )
    if review_filter.scorecard:
        answers = answers.filter(score__scorecard_id=review_filter.scorecard)
    return answers


def _disagreeing(review_filter):
    """Calls whose current score passes a criterion linked to the platform's criterion
    `disagree` where the platform's result is a failure, or fails one where it is a success."""
    criterion = review_filter.disagree
    linked = _current_answers(review_filter).filter(criterion__platform_criterion=criterion)
    results = IndexedEvaluation.objects.filter(conversation=OuterRef("pk"), criterion=criterion)

    def human(values):
        return Exists(linked.filter(value__in=values))

    def platform(result):
        return Exists(results.filter(result=result))

    return (human(PASSING) & platform("failure")) | (human(FAILING) & platform("success"))


def _with_sort_key(conversations, review_filter):
    """The conversations with the sort's key when it is a score's, not a field: `qa_total`,
    the current total (the filtered scorecard's, else the highest), or `qa_points`, the
    filtered criterion's points (the highest, when several scorecards have it)."""
    field = SORTS[review_filter.sort or DEFAULT_SORT].field
    if field == "qa_total":
        totals = _current_scores(review_filter).filter(total__isnull=False)
        totals = totals.order_by("-total").values("total")[:1]
        return conversations.annotate(qa_total=Subquery(totals))
    if field == "qa_points":
        points = _current_answers(review_filter).filter(
            criterion__key=review_filter.qa_criterion, points__isnull=False
        )
        points = points.order_by("-points").values("points")[:1]
        return conversations.annotate(qa_points=Subquery(points))
    return conversations


def _reviewed(condition):
    """Whether the conversation's review meets the condition (no review meets none)."""
    return Exists(Review.objects.filter(condition, conversation_id=OuterRef("conversation_id")))


def _has_verdict():
    return _reviewed(~Q(status=UNREVIEWED))


def _tagged(tag):
    """Reviews that carry this tag. PostgreSQL answers JSON containment; SQLite has none, so
    its own JSON function reads each list."""
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    table = connection.ops.quote_name(Review._meta.db_table)
    # The table's name is ours and the tag a parameter: nothing typed becomes SQL.
    tagged = f"SELECT r.id FROM {table} r, json_each(r.tags) t WHERE t.value = %s"  # noqa: S608
    return Q(pk__in=RawSQL(tagged, [tag]))  # noqa: S611


# Pages


def page(conversations, sort, *, cursor=None, size):
    """A page of these conversations in this sort after `cursor` (a link made by this
    function): the rows as client.Conversation, and the link to the next page or None."""
    after = read_cursor(cursor, sort) if cursor else None
    found = rows_after(conversations, sort, after, size + 1)
    next_cursor = make_cursor(sort, found[size - 1]) if len(found) > size else None
    return [as_conversation(row) for row in found[:size]], next_cursor


def rows_after(conversations, sort, after, size):
    """Up to `size` rows after the position `after` (None: from the top).

    Rows with a sort key come first, then those without, by id; each part is one query, in
    an order an index serves.
    """
    sort = SORTS[sort or DEFAULT_SORT]
    field, ids = sort.field, "-conversation_id" if sort.descending else "conversation_id"
    conversations = conversations.only(*ROW_FIELDS)
    rows = []
    if after is None or after.key is not None:
        known = conversations.filter(**{f"{field}__isnull": False})
        if after is not None:
            known = known.filter(_after(sort, after))
        order = f"-{field}" if sort.descending else field
        rows = list(known.order_by(order, ids)[:size])
    if len(rows) < size:
        unknown = conversations.filter(**{f"{field}__isnull": True})
        if after is not None and after.key is None:
            unknown = unknown.filter(_after(sort, after))
        rows += unknown.order_by(ids)[: size - len(rows)]
    return rows


def _after(sort, after):
    """The rows after a position, among those with a sort key as it has or has not."""
    beyond = "lt" if sort.descending else "gt"
    ties = Q(**{f"conversation_id__{beyond}": after.conversation_id})
    if after.key is None:
        return ties
    field = sort.field
    # The first condition follows from the second; it lets the database start its index scan
    # at the position instead of reading every row before it.
    return Q(**{f"{field}__{beyond}e": after.key}) & (
        Q(**{f"{field}__{beyond}": after.key}) | Q(ties, **{field: after.key})
    )


def _before(sort, position):
    """The rows before a position: those that _after() would not give, but itself."""
    beyond = "gt" if sort.descending else "lt"
    ties = Q(**{f"conversation_id__{beyond}": position.conversation_id})
    field = sort.field
    if position.key is None:
        return Q(**{f"{field}__isnull": False}) | Q(ties, **{f"{field}__isnull": True})
    return Q(**{f"{field}__{beyond}": position.key}) | Q(ties, **{field: position.key})


def position_of(row, sort):
    return Position(getattr(row, SORTS[sort or DEFAULT_SORT].field), row.conversation_id)


def as_conversation(row):
    """An indexed conversation as a row of the list shows it (the rows read client data)."""
    return client.Conversation(
        id=row.conversation_id,
        agent_id=row.agent_id or None,
        agent_name=row.agent_name or None,
        status=row.status or None,
        start_time=row.start_time,
        duration=row.duration,
        call_successful=row.outcome or None,
    )


# Page links: opaque to people, checked here as anything typed is.


def make_cursor(sort, row):
    position = position_of(row, sort)
    key = position.key.isoformat() if isinstance(position.key, datetime) else position.key
    data = json.dumps([sort or DEFAULT_SORT, key, position.conversation_id])
    return CURSOR_PREFIX + base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def read_cursor(cursor, sort):
    """The position a page link holds; InvalidIdentifier (a 400) for one we did not make for
    this sort."""
    try:
        if len(cursor) > CURSOR_MAX or not cursor.startswith(CURSOR_PREFIX):
            raise ValueError(cursor)
        data = cursor.removeprefix(CURSOR_PREFIX)
        named, key, conversation_id = json.loads(base64.urlsafe_b64decode(data + "=" * 3))
        if named != (sort or DEFAULT_SORT):
            raise ValueError(named)
        return Position(_sort_key(key, SORTS[named].field), client.validate_id(conversation_id))
    except (ValueError, TypeError, binascii.Error, client.InvalidIdentifier):
        raise client.InvalidIdentifier("That page link is not valid.") from None


def _sort_key(value, field):
    if value is None:
        return None
    if field == "start_time":
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(value)
        return moment
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


# What a list knows of itself


def counts(review_filter, user):
    """The list's exact size and, for a queue, its progress (Counts).

    Two counts, not one with a filtered aggregate: PostgreSQL joins the reviews for a count
    of the reviewed, but runs a filter's EXISTS once a row (150 ms against 35 over 100,000).
    """
    if review_filter.query:
        return cache.get_or_set(
            search_key("count", review_filter, user),
            lambda: search_counts(review_filter, user),
            SEARCH_COUNT_SECONDS,
        )
    if review_filter.status not in (None, UNREVIEWED):
        return Counts(selected(review_filter, user).count())
    queue = selected(dataclasses.replace(review_filter, status=None), user)
    size, reviewed = queue.count(), queue.filter(_has_verdict()).count()
    return Counts(size - reviewed if review_filter.status else size, reviewed, size)


def search_counts(review_filter, user):
    """A search's Counts: no further than SEARCH_COUNT_MAX, no queue progress."""
    with search.planned():
        found = selected(review_filter, user)[: SEARCH_COUNT_MAX + 1].count()
    return Counts(min(found, SEARCH_COUNT_MAX), capped=found > SEARCH_COUNT_MAX)


def search_key(kind, review_filter, user):
    """The cache key of what a search's list keeps for a while for this user."""
    digest = hashlib.sha256(f"{user.pk}?{review_filter.query_string()}".encode()).hexdigest()
    return f"conversations:search-{kind}:{digest}"


def remember_first_page(review_filter, user, conversation_ids):
    """Keep a search's first page, so that a conversation opened from it knows its place
    without asking the texts again (place())."""
    cache.set(search_key("page", review_filter, user), list(conversation_ids), SEARCH_COUNT_SECONDS)


def place(review_filter, user, conversation_id):
    """Where a conversation is in the list, with the list's counts (Place)."""
    if review_filter.query:
        shown = cache.get(search_key("page", review_filter, user)) or []
        if conversation_id in shown:
            return Place(shown.index(conversation_id) + 1, counts(review_filter, user))
    conversations = selected(review_filter, user)
    row = conversations.filter(pk=conversation_id).only(*ROW_FIELDS).first()
    number, beyond = None, 0
    if row is not None:
        before = conversations.filter(
            _before(SORTS[review_filter.sort or DEFAULT_SORT], position_of(row, review_filter.sort))
        )
        if review_filter.query:
            # A search counts no further than its list does (counts()).
            with search.planned():
                ahead = before[:SEARCH_COUNT_MAX].count()
            beyond = SEARCH_COUNT_MAX if ahead >= SEARCH_COUNT_MAX else 0
            number = None if beyond else ahead + 1
        else:
            number = before.count() + 1
    return Place(number, counts(review_filter, user), beyond)


def next_after(review_filter, user, current_id, *, wrap):
    """The id of the list's next conversation after `current_id`, which need no longer be in
    the list (it was just reviewed); from the top when `wrap` and none follows, or when the
    index does not have it yet."""
    conversations = selected(review_filter, user).exclude(pk=current_id)
    current = IndexedConversation.objects.filter(pk=current_id)
    current = _with_sort_key(current, review_filter).only(*ROW_FIELDS).first()
    found = []
    if current is not None:
        after = position_of(current, review_filter.sort)
        found = rows_after(conversations, review_filter.sort, after, 1)
    if not found and (wrap or current is None):
        found = rows_after(conversations, review_filter.sort, None, 1)
    return found[0].conversation_id if found else None


def index_state():
    """How fresh and how complete the index is (IndexState)."""
    # Imported here: the worker's module imports reviews, which imports this one.
    from conversations.sync import BACKFILL, HEAD

    states = {s.name: s for s in SyncState.objects.filter(name__in=[HEAD, BACKFILL])}
    head, backfill = states.get(HEAD), states.get(BACKFILL)
    if head is not None:
        as_of = head.updated_at
    else:
        as_of = IndexedConversation.objects.aggregate(newest=Max("indexed_at"))["newest"]
    return IndexState(as_of, bool(backfill and backfill.finished))


def criteria():
    """The evaluation criteria the index knows, for the filter form."""
    return _choices("conversations:index-criteria", IndexedEvaluation, "criterion")


def data_keys():
    """The collected-data keys the index knows, for the filter form."""
    return _choices("conversations:index-data-keys", IndexedValue, "key")


def _choices(cache_key, model, field):
    if not settings.INDEX_ENABLED:
        return []

    def read():
        names = model.objects.order_by(field).values_list(field, flat=True).distinct()
        return list(names[:CHOICES_MAX])

    return cache.get_or_set(cache_key, read, CHOICES_SECONDS)


# Scores, as a list's rows and an export show them


@dataclasses.dataclass(frozen=True)
class CurrentScore:
    """A conversation's current score on one scorecard (models.Score.current)."""

    pk: int
    conversation_id: str
    scorecard_id: int
    scorecard: str
    version: int
    total: float | None  # None: every criterion was not applicable
    auto_failed: bool
    scored_by: str


def current_scores(conversation_ids, *, scorecard=None):
    """The current scores of these conversations, by id, the highest total first (the one
    a score sort orders by), then by scorecard: one query. Only `scorecard`'s, if given."""
    scores = Score.objects.filter(current=True, conversation_id__in=list(conversation_ids))
    if scorecard:
        scores = scores.filter(scorecard_id=scorecard)
    found = defaultdict(list)
    for values in scores.order_by(
        F("total").desc(nulls_last=True), "scorecard__name", "pk"
    ).values_list(
        "pk",
        "conversation_id",
        "scorecard_id",
        "scorecard__name",
        "version__number",
        "total",
        "auto_failed",
        "username",
    ):
        found[values[1]].append(CurrentScore(*values))
    return found


def scorecard_choices():
    """The active scorecards, for the filter form: (id, name)."""
    return list(Scorecard.objects.filter(active=True).values_list("pk", "name")[:CHOICES_MAX])


def criterion_choices():
    """The criteria of the active scorecards, for the filter form: (key, name), by name; a
    key's name is its newest version's."""
    criteria = ScorecardCriterion.objects.filter(version__scorecard__active=True)
    names = {}
    for key, name in criteria.order_by("key", "-version__created_at", "-pk").values_list(
        "key", "name"
    ):
        names.setdefault(key, name)
    return sorted(names.items(), key=lambda item: (item[1].casefold(), item[0]))[:CHOICES_MAX]


# Exports
#
# An export (conversations/export.py) reads the list's conversations from the index in the
# list's order, a batch at a time, with a few queries a batch and none a row.


@dataclasses.dataclass(frozen=True)
class ExportScope:
    """The evaluation criteria and collected-data keys that get a CSV column each: the most
    frequent among an export's conversations, then by name. `more_criteria` and `more_keys`
    say whether some were left out (their values go to one column each)."""

    criteria: tuple[str, ...]
    keys: tuple[str, ...]
    more_criteria: bool = False
    more_keys: bool = False
    # Scorecard criteria, as (key, column name), and whether some were left out.
    qa_criteria: tuple[tuple[str, str], ...] = ()
    more_qa: bool = False


def export_selected(review_filter, user):
    """The conversations an export of this list holds: the list's, less any whose deletion
    is under way or ended unknown (its data may be gone from the platform already)."""
    pending = AuditRecord.objects.open_attempts().filter(
        conversation_id=OuterRef("conversation_id")
    )
    return selected(review_filter, user).filter(~Exists(pending))


def export_scope(conversations, *, most, scorecard=None):
    """The criteria and keys of these conversations (ExportScope), at most `most` of each:
    one query each, and one more for the scorecard criteria's names.

    Platform data can hold any number of distinct keys; a column each would make a file
    nobody can open. One more than `most` is read to know whether any were left out.
    """
    criteria = most_frequent(IndexedEvaluation, "criterion", conversations, most + 1)
    keys = most_frequent(IndexedValue, "key", conversations, most + 1)
    qa_keys = most_answered(conversations, most + 1, scorecard=scorecard)
    return ExportScope(
        criteria[:most],
        keys[:most],
        len(criteria) > most,
        len(keys) > most,
        qa_columns(qa_keys[:most]),
        len(qa_keys) > most,
    )


def most_answered(conversations, limit, *, scorecard=None):
    """The `limit` scorecard criteria (keys) the current scores of most of these
    conversations answered, then by key; only `scorecard`'s, if given."""
    answers = ScoreAnswer.objects.filter(
        score__current=True, score__conversation_id__in=conversations.values("conversation_id")
    )
    if scorecard:
        answers = answers.filter(score__scorecard_id=scorecard)
    keys = (
        answers.values("criterion__key")
        .annotate(conversations=Count("pk"))
        .order_by("-conversations", "criterion__key")
        .values_list("criterion__key", flat=True)
    )
    return tuple(keys[:limit])


def qa_columns(keys):
    """Each key with the name of its newest criterion, and its key too where two share one."""
    names = {}
    newest = ScorecardCriterion.objects.filter(key__in=keys).order_by(
        "key", "-version__created_at", "-pk"
    )
    for key, name in newest.values_list("key", "name"):
        names.setdefault(key, name)
    named = [names.get(key, key) for key in keys]
    return tuple(
        (key, f"{name} ({key})" if named.count(name) > 1 else name)
        for key, name in zip(keys, named, strict=True)
    )


def most_frequent(model, field, conversations, limit):
    """The `limit` values of `field` most of these conversations have, then by name."""
    names = (
        model.objects.filter(conversation__in=conversations)
        .values(field)
        .annotate(conversations=Count("pk"))
        .order_by("-conversations", field)
        .values_list(field, flat=True)
    )
    return tuple(names[:limit])


def export_batches(conversations, sort, *, size):
    """The conversations in this sort, as lists of at most `size` rows: keyset pages
    (rows_after), so that the last batch costs what the first does.

    rows_after loads the list's fields only; the message count and whether the detail was
    read ride along as annotations (`messages`, `has_detail`), since a deferred field read
    later is a query a row.
    """
    conversations = conversations.annotate(messages=F("message_count"), has_detail=F("detailed"))
    after = None
    while True:
        rows = rows_after(conversations, sort, after, size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = position_of(rows[-1], sort)


def export_details(conversation_ids):
    """The evaluation results and collected values of a batch of conversations, as the client
    gives them: ({id: (EvaluationResult, ...)}, {id: (CollectedValue, ...)}), by name, in
    two queries. The index keeps no rationale for a collected value."""
    evaluations, values = defaultdict(list), defaultdict(list)
    results = IndexedEvaluation.objects.filter(conversation_id__in=conversation_ids)
    for conversation_id, criterion, result, score, rationale in results.order_by(
        "criterion"
    ).values_list("conversation_id", "criterion", "result", "score", "rationale"):
        evaluations[conversation_id].append(
            client.EvaluationResult(criterion, result or None, score, rationale)
        )
    collected = IndexedValue.objects.filter(conversation_id__in=conversation_ids)
    for conversation_id, key, value in collected.order_by("key").values_list(
        "conversation_id", "key", "value"
    ):
        values[conversation_id].append(client.CollectedValue(key, value, ""))
    return evaluations, values


def export_scores(conversation_ids, *, scorecard=None):
    """The current scores of a batch of conversations as an export writes them, by id, the
    highest total first (current_scores), each with its answers by criterion key: two
    queries. Only `scorecard`'s, if given."""
    scores = current_scores(conversation_ids, scorecard=scorecard)
    answers = defaultdict(dict)
    found = ScoreAnswer.objects.filter(
        score_id__in=[score.pk for listed in scores.values() for score in listed]
    )
    for score_id, key, value, note in found.order_by("criterion__position").values_list(
        "score_id", "criterion__key", "value", "note"
    ):
        answers[score_id][key] = {"value": value, "note": note}
    return {
        conversation_id: [
            {
                "scorecard": score.scorecard,
                "version": score.version,
                "total": score.total,
                "auto_failed": score.auto_failed,
                "scored_by": score.scored_by,
                "answers": answers.get(score.pk, {}),
            }
            for score in listed
        ]
        for conversation_id, listed in scores.items()
    }
