"""The review workflow the platform does not know about: status, assignee, tags, notes.

Reviews are keyed by conversation id in the dashboard's own database. Filters on them are
applied to the pages fetched from the platform (which cannot apply them), fetching further
pages until a page is full, within a bound.
"""

import dataclasses
import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.http import QueryDict

from conversations import client
from conversations.models import AuditRecord, Review, ReviewChange, Tag

# How many conversations one list request may search through for a review filter.
MAX_SCAN = 1000
SCAN_PAGE_SIZE = 100
MAX_TAGS = 20
TAG_RE = re.compile(r"[^\s,][^,]{0,49}")


@dataclasses.dataclass(frozen=True)
class ReviewFilter:
    """The list filters the dashboard applies itself, read from (and written to) the URL."""

    agent_id: str | None = None
    status: str | None = None
    mine: bool = False
    tag: str | None = None

    @classmethod
    def from_query(cls, params, *, agent_id=None):
        status = params.get("review", "")
        tag = params.get("tag", "").strip()[:50]
        return cls(
            agent_id=agent_id,
            status=status if status in Review.Status.values else None,
            mine=params.get("assigned") == "me",
            tag=tag or None,
        )

    @property
    def local(self):
        """Whether any filter needs the dashboard's database (not just the platform)."""
        return bool(self.status or self.mine or self.tag)

    def matches(self, review, user):
        status = review.status if review else Review.Status.UNREVIEWED
        if self.status and status != self.status:
            return False
        if self.mine and not (review and review.assignee_id == user.pk):
            return False
        return not (self.tag and not (review and self.tag in review.tags))

    def query_string(self):
        """These filters as a URL query (no cursor), for links that keep the list's context."""
        query = QueryDict(mutable=True)
        for name, value in (
            ("agent", self.agent_id),
            ("review", self.status),
            ("assigned", "me" if self.mine else None),
            ("tag", self.tag),
        ):
            if value:
                query[name] = value
        return query.urlencode()


@dataclasses.dataclass(frozen=True)
class Row:
    conversation: client.Conversation
    review: Review | None


@dataclasses.dataclass(frozen=True)
class ListResult:
    rows: list
    next_cursor: str | None
    has_more: bool
    searched: int
    problems: int = 0


def reviews_for(conversation_ids):
    """The reviews of these conversations, by id: one query for the whole page."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    reviews = Review.objects.filter(conversation_id__in=ids).select_related("assignee")
    return {review.conversation_id: review for review in reviews}


def fetch_page(review_filter, user, *, cursor=None, page_size=50):
    """One page of the list, with reviews; with review filters, searches further pages.

    Without a review filter this is exactly one platform call. With one, whole platform pages
    are fetched until `page_size` rows match, the platform has no more, or MAX_SCAN
    conversations were searched; the cursor then continues after the last page searched.
    """
    rows, searched, problems = [], 0, 0
    size = SCAN_PAGE_SIZE if review_filter.local else page_size
    for page, page_rows in platform_pages(review_filter.agent_id, cursor=cursor, page_size=size):
        searched += len(page.items)
        problems += len(page.problems)
        rows += [r for r in page_rows if review_filter.matches(r.review, user)]
        cursor = page.next_cursor if page.has_more else None
        if not review_filter.local or len(rows) >= page_size or searched >= MAX_SCAN:
            break
    return ListResult(rows, cursor, cursor is not None, searched, problems)


def next_unreviewed(review_filter, user, current_id):
    """The id of the next Unreviewed conversation after `current_id` in this list, if any."""
    unreviewed = dataclasses.replace(review_filter, status=Review.Status.UNREVIEWED)
    seen_current, searched, first = False, 0, None
    for page, rows in platform_pages(review_filter.agent_id):
        for row in rows:
            if row.conversation.id == current_id:
                seen_current = True
            elif unreviewed.matches(row.review, user):
                if seen_current:
                    return row.conversation.id
                first = first or row.conversation.id
        searched += len(page.items)
        if searched >= MAX_SCAN:
            break
    # The current one was not found (or nothing follows it): start from the top.
    return first


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
LABELS = {"status": "Status", "assignee": "Assignee", "tags": "Tags", "notes": "Notes"}


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
        return {"status": Review.Status.UNREVIEWED.value, "assignee": "", "tags": [], "notes": ""}
    return {
        "status": review.status,
        "assignee": review.assignee.get_username() if review.assignee else "",
        "tags": list(review.tags),
        "notes": review.notes,
    }


def shown(field, value):
    """A field's value in words, for a conflict message."""
    if field == "status":
        return Review.Status(value).label
    if field == "assignee":
        return value or "nobody"
    if field == "tags":
        return ", ".join(value) or "none"
    return value or "(empty)"


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

    `changes` sets any of status, assignee, tags and notes. `expected` holds, for fields the
    person changed, the value their page showed; when the stored value has changed since (to
    anything but their new value), nothing is saved and ReviewConflict names each such
    field. Raises ConversationGone for a deleted conversation.
    """
    if changes.keys() - LABELS.keys():
        raise TypeError(f"Not a review field: {', '.join(changes.keys() - LABELS.keys())}")
    status, assignee, tags, notes = (changes.get(field, UNSET) for field in LABELS)
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
    if notes is not UNSET and notes != review.notes:
        change("notes", review.notes, notes)
        review.notes = notes
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
    """Remove everything the dashboard stored about a conversation, except the audit log."""
    Review.objects.filter(conversation_id=conversation_id).delete()
    ReviewChange.objects.filter(conversation_id=conversation_id).delete()


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
