"""The review workflow the platform does not know about: status, assignee, tags (what people
say about a conversation is its comment thread, comments.py).

Reviews are keyed by conversation id in the dashboard's own database. The list's filters are
read here (ReviewFilter). A list with no filter but the agent is the platform's own list, one
call a page. Any other filter is answered by the conversation index (queries.py) over the
whole indexed history; while the index is off or empty, by searching the platform's pages
for matches, within a bound.
"""

import contextlib
import dataclasses
import math
import re
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date

from conversations import client, index, queries, search
from conversations.models import (
    AuditRecord,
    CalibrationCall,
    Comment,
    QueueItem,
    Review,
    ReviewChange,
    Score,
    Tag,
)

# How many conversations one list request may search through for a review filter.
MAX_SCAN = 1000
SCAN_PAGE_SIZE = 100
MAX_TAGS = 20
TAG_RE = re.compile(r"[^\s,][^,]{0,49}")
UNREVIEWED = Review.Status.UNREVIEWED
# Days outside these are not ones a call has, and a day after the last one still exists.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9000, 1, 1)
MAX_MINUTES = 100_000
TEXT_MAX = 200


def read_text(value):
    """Typed text as the index compares it: trimmed, no NUL (PostgreSQL refuses one), within
    the index's columns."""
    return value.replace("\x00", "").strip()[:TEXT_MAX] or None


def read_tag(value):
    """A tag as parse_tags stores it."""
    return " ".join(value.replace("\x00", "").split())[:50] or None


def read_day(value):
    """An ISO date (2026-03-01); none for anything else, also a day that does not exist."""
    try:
        day = parse_date(value.strip()[:10])
    except ValueError:
        return None
    return day if day and FIRST_DAY <= day <= LAST_DAY else None


def read_minutes(value):
    """A number of minutes, 0 or more ("2", "0.5"); none for anything else."""
    try:
        minutes = float(value.strip()[:20])
    except ValueError:
        return None
    return minutes if math.isfinite(minutes) and 0 <= minutes <= MAX_MINUTES else None


def read_query(value):
    """A search as typed, if it searches anything (search.parse): not "OR" or "-"."""
    query = search.parse(value)
    return query.text if query else None


def write_minutes(minutes):
    return str(int(minutes)) if minutes.is_integer() else repr(minutes)


def read_percent(value):
    """A score's total, 0 to 100 ("80", "62.5"); none for anything else."""
    percent = read_minutes(value)
    return percent if percent is not None and percent <= 100 else None


def read_pk(value):
    """A row's id as a link carries it ("12"); none for anything else."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def one_of(choices):
    return lambda value: value if value in choices else None


# Each filter of the list but the agent (agents.agent_filter reads that one): its query
# parameter, its field, how it is read (None: not given, or unreadable, and then ignored, as
# if it had not been given) and how it is written back.
PARAMETERS = (
    ("q", "query", read_query, str),
    ("review", "status", one_of(Review.Status.values), str),
    ("assigned", "mine", lambda value: value == "me", lambda mine: "me"),
    ("tag", "tag", read_tag, str),
    ("since", "since", read_day, date.isoformat),
    ("until", "until", read_day, date.isoformat),
    ("min_minutes", "min_minutes", read_minutes, write_minutes),
    ("max_minutes", "max_minutes", read_minutes, write_minutes),
    ("outcome", "outcome", one_of(queries.OUTCOMES), str),
    ("criterion", "criterion", read_text, str),
    ("result", "result", one_of(queries.RESULTS), str),
    ("data_key", "data_key", read_text, str),
    ("data_value", "data_value", read_text, str),
    ("scorecard", "scorecard", read_pk, str),
    ("score_min", "score_min", read_percent, write_minutes),
    ("score_max", "score_max", read_percent, write_minutes),
    ("qa_criterion", "qa_criterion", read_text, str),
    ("qa_value", "qa_value", one_of(queries.QA_VALUES), str),
    ("disagree", "disagree", read_text, str),
    ("sort", "sort", one_of(queries.SORTS.keys() - {queries.DEFAULT_SORT}), str),
)
# What only the index can answer: the platform's list pages hold no evaluation results and
# no collected data, and come in one order.
INDEX_ONLY = (
    ("query", "search"),
    ("criterion", "evaluation criterion"),
    ("result", "evaluation result"),
    ("data_key", "collected data"),
    ("data_value", "collected value"),
    ("scorecard", "scorecard"),
    ("score_min", "score"),
    ("score_max", "score"),
    ("qa_criterion", "scorecard criterion"),
    ("qa_value", "scorecard answer"),
    ("disagree", "disagreement with the platform"),
    ("sort", "sort order"),
)


def given(value):
    """Whether a filter's value filters: 0 minutes does, "not assigned to me" does not."""
    return value is not None and value is not False


@dataclasses.dataclass(frozen=True)
class ReviewFilter:
    """The list's filters, read from (and written to) the URL; all but the agent are the
    dashboard's own (`local`)."""

    agent_id: str | None = None
    query: str | None = None  # a search (search.py), as typed
    status: str | None = None
    mine: bool = False
    tag: str | None = None
    since: date | None = None  # days in the viewer's time zone, both included
    until: date | None = None
    min_minutes: float | None = None  # duration, both included
    max_minutes: float | None = None
    outcome: str | None = None
    criterion: str | None = None
    result: str | None = None
    data_key: str | None = None
    data_value: str | None = None
    scorecard: int | None = None  # the current score's (queries._score_conditions)
    score_min: float | None = None  # its total, in percent, both included
    score_max: float | None = None
    qa_criterion: str | None = None  # a scorecard criterion's key
    qa_value: str | None = None  # an answer: pass, fail, na, 1 to 5
    disagree: str | None = None  # a platform criterion the score disagrees with
    sort: str | None = None  # None: newest first

    @classmethod
    def from_query(cls, params, *, agent_id=None):
        fields = {field: read(params.get(name, "")) for name, field, read, _ in PARAMETERS}
        if fields["sort"] in queries.CRITERION_SORTS and not fields["qa_criterion"]:
            # A criterion's order without a criterion orders nothing: the default one.
            fields["sort"] = None
        return cls(agent_id=agent_id, **fields)

    @property
    def local(self):
        """Whether any filter (or the sort) needs the dashboard's database."""
        return any(given(getattr(self, field)) for _, field, _, _ in PARAMETERS)

    @property
    def unscannable(self):
        """What of this filter a search of the platform's pages cannot apply."""
        labels = [label for field, label in INDEX_ONLY if getattr(self, field)]
        return list(dict.fromkeys(labels))

    def start_range(self):
        """The days as [start, end) in the viewer's time zone (ViewerTimezoneMiddleware)."""
        zone = timezone.get_current_timezone()
        start = self.since and datetime.combine(self.since, time.min, zone)
        end = self.until and datetime.combine(self.until + timedelta(days=1), time.min, zone)
        return start, end

    def duration_range(self):
        """The durations as [shortest, longest] in seconds, either None for no bound."""
        return tuple(None if m is None else m * 60 for m in (self.min_minutes, self.max_minutes))

    def matches(self, row, user):
        """Whether a Row from the platform's list passes the filters a search of its pages
        can apply: all but `unscannable`, as the index applies them (queries.py)."""
        return self.review_matches(row.review, user) and self.summary_matches(row.conversation)

    def review_matches(self, review, user):
        status = review.status if review else UNREVIEWED
        if self.status and status != self.status:
            return False
        if self.mine and not (review and review.assignee_id == user.pk):
            return False
        return not (self.tag and not (review and self.tag in review.tags))

    def summary_matches(self, conversation):
        start, end = self.start_range()
        shortest, longest = self.duration_range()
        moment, duration = conversation.start_time, conversation.duration
        outcome = conversation.call_successful or ""
        return not (
            ((start or end) and moment is None)
            or (start and moment < start)
            or (end and moment >= end)
            or ((shortest is not None or longest is not None) and duration is None)
            or (shortest is not None and duration < shortest)
            or (longest is not None and duration > longest)
            or (self.outcome and outcome not in queries.OUTCOMES[self.outcome])
        )

    @property
    def more_filters(self):
        """Whether a filter beyond the first row of the form is set (it then shows them)."""
        return any(given(getattr(self, field)) for _, field, _, _ in PARAMETERS[4:])

    @property
    def params(self):
        """The query parameters of these filters, as written in a link and in the form."""
        params = {"agent": self.agent_id} if self.agent_id else {}
        for name, field, _, write in PARAMETERS:
            value = getattr(self, field)
            if given(value):
                params[name] = write(value)
        return params

    def query_string(self):
        """These filters as a URL query (no cursor), for links that keep the list's context."""
        query = QueryDict(mutable=True)
        query.update(self.params)
        return query.urlencode()


@dataclasses.dataclass(frozen=True)
class Row:
    conversation: client.Conversation
    review: Review | None
    hit: search.Hit | None = None  # where a search matched it


@dataclasses.dataclass(frozen=True)
class ListResult:
    rows: list
    next_cursor: str | None
    has_more: bool
    searched: int
    problems: int = 0
    # Where the rows come from: "platform" (its list), "scan" (its pages searched for
    # matches, within MAX_SCAN), "index", or none: "unsearchable" (a search without the index).
    source: str = "platform"
    # The exact size of an indexed list, on its first page (queries.Counts).
    counts: queries.Counts | None = None
    # The filters a scan could not apply (ReviewFilter.unscannable).
    unapplied: tuple = ()


def reviews_for(conversation_ids):
    """The reviews of these conversations, by id: one query for the whole page."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    reviews = Review.objects.filter(conversation_id__in=ids).select_related("assignee")
    return {review.conversation_id: review for review in reviews}


def fetch_page(review_filter, user, *, cursor=None, page_size=50):
    """One page of the list, with reviews.

    Without a filter beyond the agent, exactly one platform call (platform_page). With one,
    from the index when it is on and holds anything (index_page), and for every page link it
    made; else by searching the platform's pages (platform_page).
    """
    if review_filter.local and queries.serves(cursor):
        return index_page(review_filter, user, cursor=cursor, page_size=page_size)
    if review_filter.query:
        # The platform's pages hold no transcripts: a search of them would find nothing true.
        return ListResult([], None, False, 0, source="unsearchable")
    return platform_page(review_filter, user, cursor=cursor, page_size=page_size)


def index_page(review_filter, user, *, cursor, page_size):
    """A page of an indexed list after `cursor`; the first page has the list's counts."""
    conversations = queries.selected(review_filter, user)
    with search.planned() if review_filter.query else contextlib.nullcontext():
        found, next_cursor = queries.page(
            conversations, review_filter.sort, cursor=cursor, size=page_size
        )
    by_id = reviews_for(c.id for c in found)
    if review_filter.query and not cursor:
        queries.remember_first_page(review_filter, user, (c.id for c in found))
    hits = search.hits(search.parse(review_filter.query), [c.id for c in found])
    rows = [Row(c, by_id.get(c.id), hits.get(c.id)) for c in found]
    counts = None if cursor else queries.counts(review_filter, user)
    return ListResult(rows, next_cursor, next_cursor is not None, 0, source="index", counts=counts)


def platform_page(review_filter, user, *, cursor=None, page_size=50):
    """One page of the platform's list; with local filters, a search of its pages.

    Without a local filter this is exactly one platform call. With one, whole platform pages
    are fetched until `page_size` rows match, the platform has no more, or MAX_SCAN
    conversations were searched; the cursor then continues after the last page searched.
    """
    rows, searched, problems = [], 0, 0
    size = SCAN_PAGE_SIZE if review_filter.local else page_size
    for page, page_rows in platform_pages(review_filter.agent_id, cursor=cursor, page_size=size):
        searched += len(page.items)
        problems += len(page.problems)
        rows += [r for r in page_rows if review_filter.matches(r, user)]
        cursor = page.next_cursor if page.has_more else None
        if not review_filter.local or len(rows) >= page_size or searched >= MAX_SCAN:
            break
    source = "scan" if review_filter.local else "platform"
    unapplied = tuple(review_filter.unscannable)
    return ListResult(rows, cursor, cursor is not None, searched, problems, source, None, unapplied)


def next_to_review(review_filter, user, current_id):
    """The id of the conversation "Save and next" opens after `current_id`, in its list.

    In a list of one review state (Flagged, Unreviewed, ...), the next one of that list after
    the current one, whatever was just saved on it; in any other list, the next one of the
    list still Unreviewed. When none follows, the Unreviewed queue starts again from the top
    (one skipped earlier is still to do); a list of a verdict ends there: None.
    """
    queue = review_filter
    if not review_filter.status:
        queue = dataclasses.replace(review_filter, status=UNREVIEWED)
    wrap = queue.status == UNREVIEWED
    if review_filter.local and queries.available():
        return queries.next_after(queue, user, current_id, wrap=wrap)
    return scan_next(queue, user, current_id, wrap=wrap)


def scan_next(queue, user, current_id, *, wrap):
    """next_to_review from the platform's pages, within MAX_SCAN."""
    seen_current, searched, first = False, 0, None
    for page, rows in platform_pages(queue.agent_id):
        for row in rows:
            if row.conversation.id == current_id:
                seen_current = True
            elif queue.matches(row, user):
                if seen_current:
                    return row.conversation.id
                first = first or row.conversation.id
        searched += len(page.items)
        if searched >= MAX_SCAN:
            break
    # The current one was not found, or nothing follows it.
    return first if wrap or not seen_current else None


def place_in_list(review_filter, user, conversation_id):
    """Where a conversation opened from a list the index answers is in it (queries.Place);
    None for any other list."""
    if not (review_filter.local and queries.available()):
        return None
    return queries.place(review_filter, user, conversation_id)


def platform_pages(agent_id, *, cursor=None, page_size=SCAN_PAGE_SIZE):
    """The platform's pages of the list from `cursor` on, each with its rows, until the last.

    Yields (page, rows): the rows are the page's conversations less those a deletion through
    the dashboard removed, with their reviews (one query a page). The caller stops when it
    has seen enough; no page is fetched before it is asked for.
    """
    while True:
        page = client.list_conversations(agent_id=agent_id, cursor=cursor, page_size=page_size)
        reviews = reviews_for(c.id for c in page.items)
        yield page, [Row(c, reviews.get(c.id)) for c in without_deleted(page.items)]
        if not (page.has_more and page.next_cursor):
            return
        cursor = page.next_cursor


# What a deletion through the dashboard removed stays hidden, whatever the platform's list or
# a cache still shows: the audit log, in the database every instance shares, says it is gone.


def without_deleted(conversations):
    conversations = list(conversations)
    gone = AuditRecord.objects.gone_among(c.id for c in conversations)
    return [c for c in conversations if c.id not in gone]


def get_conversation(conversation_id):
    """client.get_conversation, unless a deletion through the dashboard removed it (a 404)."""
    if AuditRecord.objects.gone_among([client.validate_id(conversation_id)]):
        raise client.ConversationNotFound("This conversation was deleted.")
    return client.get_conversation(conversation_id)


def parse_tags(text):
    """Comma-separated tags, trimmed, without duplicates, at most MAX_TAGS of 50 characters."""
    tags = []
    for part in str(text).split(","):
        tag = " ".join(part.split())[:50]
        if tag and TAG_RE.fullmatch(tag) and tag not in tags:
            tags.append(tag)
    return tags[:MAX_TAGS]


def tag_suggestions(limit=200):
    return list(Tag.objects.values_list("name", flat=True)[:limit])


UNSET = object()
LABELS = {"status": "Status", "assignee": "Assignee", "tags": "Tags"}


class ConversationGone(Exception):
    """A deletion through the dashboard removed this conversation: nothing of it may be stored."""


@dataclasses.dataclass(frozen=True)
class Conflict:
    """A field someone else changed since the page was shown: this person's value and theirs."""

    field: str
    yours: str
    current: str

    @property
    def label(self):
        return LABELS[self.field]


class ReviewConflict(Exception):
    """A save based on a stale value of a field that someone else changed since; nothing saved."""

    def __init__(self, conflicts):
        super().__init__(", ".join(c.field for c in conflicts))
        self.conflicts = conflicts


def writable_ids(conversation_ids):
    """The ids, of those given, that reviews may be written for: not deleted, and with no
    deletion attempt whose outcome is still unknown.

    The one place that says which conversations are gone for reviews: writing a review,
    note or tag for one would bring back what its deletion erased.
    """
    ids = set(conversation_ids)
    return ids - AuditRecord.objects.deleted_or_pending_among(ids)


def unknown_among(conversation_ids):
    """The ids, of those given, that have no review yet and that the platform does not know.

    A first review is stored only for a conversation the platform has (client.get_conversation
    is cached, so this is cheap for one just opened). Other platform errors propagate.
    """
    ids = list(conversation_ids)
    reviewed = set(
        Review.objects.filter(conversation_id__in=ids).values_list("conversation_id", flat=True)
    )
    unknown = set()
    for conversation_id in ids:
        if conversation_id in reviewed:
            continue
        try:
            client.get_conversation(conversation_id)
        except client.ConversationNotFound:
            unknown.add(conversation_id)
    return unknown


def save_reviews(*, user, conversation_ids, changes):
    """Save the same changes on each conversation that may have a review; the reviews saved.

    Deleted ones, and ones the platform does not know (checked for those with no review yet,
    before anything is written), are skipped.
    """
    writable = writable_ids(conversation_ids)
    targets = writable - unknown_among(writable)
    saved = []
    for conversation_id in (c for c in conversation_ids if c in targets):
        try:
            saved.append(save_review(conversation_id=conversation_id, user=user, **changes)[0])
        except ConversationGone:
            # Deleted since the check above.
            continue
    return saved


def review_values(review):
    """A review's fields as the panel shows and sends them back: the assignee by user name."""
    if review is None:
        return {"status": Review.Status.UNREVIEWED.value, "assignee": "", "tags": []}
    return {
        "status": review.status,
        "assignee": review.assignee.get_username() if review.assignee else "",
        "tags": list(review.tags),
    }


def shown(field, value):
    """A field's value in words, for a conflict message."""
    if field == "status":
        return Review.Status(value).label
    if field == "assignee":
        return value or "nobody"
    return ", ".join(value) or "none"


def find_conflicts(review, changes, expected):
    """The changed fields whose stored value is neither the one the page showed nor the new one."""
    current = review_values(review)
    conflicts = []
    for field, new in changes.items():
        if field not in expected:
            continue
        if field == "assignee":
            new = new.get_username() if new else ""
        if current[field] not in (expected[field], new):
            conflicts.append(Conflict(field, shown(field, new), shown(field, current[field])))
    return conflicts


@transaction.atomic
def save_review(*, conversation_id, user, expected=None, **changes):
    """Apply the given changes and record each one; returns the review and its changes.

    `changes` sets any of status, assignee and tags. `expected` holds, for fields the
    person changed, the value their page showed; when the stored value has changed since (to
    anything but their new value), nothing is saved and ReviewConflict names each such
    field. Raises ConversationGone for a deleted conversation.
    """
    if changes.keys() - LABELS.keys():
        raise TypeError(f"Not a review field: {', '.join(changes.keys() - LABELS.keys())}")
    status, assignee, tags = (changes.get(field, UNSET) for field in LABELS)
    review, _ = Review.objects.select_for_update().get_or_create(conversation_id=conversation_id)
    # Checked with the row locked: a deletion's wipe of an existing row waits for this commit.
    if not writable_ids([conversation_id]):
        raise ConversationGone(conversation_id)
    conflicts = find_conflicts(review, changes, expected or {})
    if conflicts:
        raise ReviewConflict(conflicts)
    recorded = []

    def change(field, old, new):
        recorded.append(
            ReviewChange(
                conversation_id=conversation_id,
                user=user,
                username=user.get_username(),
                field=field,
                old_value=old,
                new_value=new,
            )
        )

    if status is not UNSET and status != review.status:
        change("status", review.get_status_display(), Review.Status(status).label)
        review.status = status
    if assignee is not UNSET and (assignee.pk if assignee else None) != review.assignee_id:
        old = review.assignee.get_username() if review.assignee else ""
        change("assignee", old, assignee.get_username() if assignee else "")
        review.assignee = assignee
    if tags is not UNSET and tags != review.tags:
        change("tags", ", ".join(review.tags), ", ".join(tags))
        added = set(tags) - set(review.tags)
        review.tags = tags
        remember_tags(added)
    if recorded:
        review.save()
        ReviewChange.objects.bulk_create(recorded)
    return review, recorded


def remember_tags(tags):
    for name in tags:
        Tag.objects.get_or_create(name=name)
    Tag.objects.filter(name__in=tags).update(uses=F("uses") + 1)


def history(conversation_id, limit=100):
    return list(ReviewChange.objects.filter(conversation_id=conversation_id)[:limit])


def wipe_local_traces(conversation_id):
    """Remove everything the dashboard stored about a conversation, except the audit log:
    its review, the review's history, its comments, scores (with their answers), places in
    sampled queues and calibration rounds, and its index records."""
    Review.objects.filter(conversation_id=conversation_id).delete()
    ReviewChange.objects.filter(conversation_id=conversation_id).delete()
    Comment.objects.filter(conversation_id=conversation_id).delete()
    Score.objects.filter(conversation_id=conversation_id).delete()
    QueueItem.objects.filter(conversation_id=conversation_id).delete()
    CalibrationCall.objects.filter(conversation_id=conversation_id).delete()
    index.purge(conversation_id)


def assignable_users():
    """People who may review, the only ones a conversation can be assigned to.

    The review permission counts through a role (group) or given to the user directly in the
    admin site, as it does for every permission check (roles.RoleBackend).
    """
    return (
        get_user_model()
        .objects.filter(
            Q(is_superuser=True)
            | Q(
                groups__permissions__codename="review_conversation",
                groups__permissions__content_type__app_label="conversations",
            )
            | Q(
                user_permissions__codename="review_conversation",
                user_permissions__content_type__app_label="conversations",
            ),
            is_active=True,
        )
        .distinct()
        .order_by("username")
    )
