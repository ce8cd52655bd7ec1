"""Sampled review queues: drawing a reproducible sample of a list, handing it out, and
walking it with "Save and next".

A sample is drawn by draw(), a pure function of the candidates, the rule and the seed; a
queue stores the rule and the seed, so the same conversations give the same sample again.
"""

import dataclasses
import random
import secrets
import zoneinfo
from collections import defaultdict
from datetime import date

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from conversations import queries, reviews
from conversations.models import IndexedEvaluation, QueueItem, Review, ReviewQueue

# More than this many calls is a month of work for a team, and a page nobody can read: a rule
# that would draw more is refused (the form says so), rather than silently cut short.
QUEUE_MAX = 2000
MINIMUM_MAX = 1000
SAMPLED, MINIMUM = "sampled", "minimum"
# Why a call is in a queue, as its page shows it.
REASONS = {
    SAMPLED: "Sampled",
    MINIMUM: "Minimum per agent",
    "failed": "Failed call",
    "flagged": "Flagged in review",
    "criterion": "Failed the criterion",
}
# The "always include" rules, in the order a call's reason is named after.
ALWAYS = {
    "failed": "every failed call",
    "flagged": "every call Flagged in review",
    "criterion": "every call that failed the evaluation criterion",
}


class SampleTooLarge(ValueError):
    """The rule would draw more than QUEUE_MAX calls from this list."""


class NoIndex(ValueError):
    """Queues are drawn from the conversation index, which is off or empty."""


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A call a sample may take: its agent and start day (in the current time zone), and the
    "always include" rules (ALWAYS keys) it meets."""

    conversation_id: str
    agent_id: str = ""
    day: date | None = None
    meets: frozenset = frozenset()


@dataclasses.dataclass(frozen=True)
class Rule:
    """How many calls to take of each agent's calls per day: `percent` (1-100, rounded up,
    so any call in a group gives at least one) or `number`; at least `minimum` per agent; and
    every call meeting one of `always` (ALWAYS keys; "criterion" names `criterion`)."""

    percent: int | None = None
    number: int | None = None
    minimum: int = 0
    always: tuple = ()
    criterion: str = ""
    # The time zone whose days group the calls: the lead's when the queue was drawn, kept so
    # that drawing it again from anywhere gives the same sample.
    zone: str = ""

    def __post_init__(self):
        if (self.percent is None) == (self.number is None):
            raise ValueError("A rule takes a percentage or a number, not both or neither.")
        if self.percent is not None and not 1 <= self.percent <= 100:
            raise ValueError("A percentage is from 1 to 100.")
        if self.number is not None and not 1 <= self.number <= QUEUE_MAX:
            raise ValueError(f"A number per agent and day is from 1 to {QUEUE_MAX}.")
        if not 0 <= self.minimum <= MINIMUM_MAX:
            raise ValueError(f"A minimum per agent is from 0 to {MINIMUM_MAX}.")
        if set(self.always) - ALWAYS.keys():
            raise ValueError("Not an “always include” rule.")
        if ("criterion" in self.always) != bool(self.criterion):
            raise ValueError("Choose the evaluation criterion whose failures to include.")
        if self.zone:
            try:
                zoneinfo.ZoneInfo(self.zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError("Not a time zone.") from None

    def as_json(self):
        return dataclasses.asdict(self) | {"always": list(self.always)}

    @classmethod
    def from_json(cls, data):
        return cls(**{**data, "always": tuple(data.get("always", ()))})

    def take(self, size):
        """How many calls to take of a group of `size`."""
        if self.percent is not None:
            return -(-size * self.percent // 100)
        return min(self.number, size)

    def words(self):
        """The rule in words: "10% of each agent's calls per day, at least 2 per agent, plus
        every failed call"."""
        if self.percent is not None:
            parts = [f"{self.percent}% of each agent's calls per day"]
        else:
            parts = [f"{self.number} of each agent's calls per day"]
        if self.minimum:
            parts.append(f"at least {self.minimum} per agent")
        always = [ALWAYS[name] for name in ALWAYS if name in self.always]
        if "criterion" in self.always:
            always[-1] += f" “{self.criterion}”"
        text = ", ".join(parts)
        return f"{text}, plus {' and '.join(always)}" if always else text


def draw(candidates, rule, seed):
    """The sample, as [(conversation_id, reason)]: the same for the same candidates (in any
    order), rule and seed.

    Each agent's calls of each day are a group, and `rule.take` of each group are picked at
    random ("sampled"); an agent with fewer than `rule.minimum` picked is topped up from its
    other calls ("minimum"); then every call not yet picked that meets an "always include"
    rule is added, its reason the first rule it meets.
    """
    rng = random.Random(seed)
    ordered = sorted(candidates, key=lambda c: c.conversation_id)
    groups = defaultdict(list)
    for candidate in ordered:
        groups[(candidate.agent_id or "", candidate.day or date.min)].append(candidate)
    picked = {}
    for key in sorted(groups):
        group = groups[key]
        for candidate in rng.sample(group, rule.take(len(group))):
            picked[candidate.conversation_id] = SAMPLED
    if rule.minimum:
        by_agent = defaultdict(list)
        for candidate in ordered:
            by_agent[candidate.agent_id or ""].append(candidate)
        for agent in sorted(by_agent):
            calls = by_agent[agent]
            missing = rule.minimum - sum(c.conversation_id in picked for c in calls)
            rest = [c for c in calls if c.conversation_id not in picked]
            for candidate in rng.sample(rest, max(0, min(missing, len(rest)))):
                picked[candidate.conversation_id] = MINIMUM
    for candidate in ordered:
        met = [name for name in ALWAYS if name in rule.always and name in candidate.meets]
        if met and candidate.conversation_id not in picked:
            picked[candidate.conversation_id] = met[0]
    return list(picked.items())


def candidates(review_filter, user, rule):
    """The list's conversations as Candidates, in one query (the always-include rules are
    EXISTS subqueries)."""
    rows = queries.selected(review_filter, user)
    zone = zoneinfo.ZoneInfo(rule.zone) if rule.zone else timezone.get_current_timezone()
    checks = {}
    if "flagged" in rule.always:
        flagged = Review.objects.filter(
            conversation_id=OuterRef("conversation_id"), status=Review.Status.FLAGGED
        )
        checks["flagged"] = Exists(flagged)
    if "criterion" in rule.always:
        failed = IndexedEvaluation.objects.filter(
            conversation=OuterRef("pk"), criterion=rule.criterion, result="failure"
        )
        checks["criterion"] = Exists(failed)
    rows = rows.annotate(**{f"meets_{name}": check for name, check in checks.items()})
    fields = ("conversation_id", "agent_id", "start_time", "outcome")
    found = []
    for conversation_id, agent_id, start, outcome, *met in rows.values_list(
        *fields, *(f"meets_{name}" for name in checks)
    ):
        meets = {name for name, yes in zip(checks, met, strict=True) if yes}
        if outcome in queries.OUTCOMES["failure"]:
            meets.add("failed")
        day = timezone.localtime(start, zone).date() if start else None
        found.append(Candidate(conversation_id, agent_id or "", day, frozenset(meets)))
    return found


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a lead chose for a new queue, besides the list it samples."""

    name: str
    rule: Rule
    assignment: str = ReviewQueue.Assignment.ROUND_ROBIN
    reviewers: tuple = ()
    scorecard: object = None  # a Scorecard, or None


def create_queue(*, user, review_filter, plan, seed=None):
    """Draw a sample of the list (review_filter, as `user` sees it) by the plan's rule and
    store it as a queue (Plan: name, rule, assignment, reviewers, scorecard).

    Round-robin gives item i to the i-th reviewer (mod their number) in an order shuffled by
    the seed; "claim" leaves every item nobody's. Raises NoIndex without the conversation
    index and SampleTooLarge when the rule would draw more than QUEUE_MAX calls.
    """
    rule = plan.rule
    if not rule.zone:
        rule = dataclasses.replace(rule, zone=timezone.get_current_timezone_name())
    round_robin = plan.assignment == ReviewQueue.Assignment.ROUND_ROBIN
    if round_robin and not plan.reviewers:
        raise ValueError("Round-robin needs at least one reviewer.")
    if not queries.available():
        raise NoIndex("Queues are drawn from the conversation index, which is off or empty.")
    seed = secrets.randbits(62) if seed is None else seed
    found = candidates(review_filter, user, rule)
    sample = draw(found, rule, seed)
    if len(sample) > QUEUE_MAX:
        raise SampleTooLarge(
            f"This rule draws {len(sample)} calls from {len(found)}; a queue holds at most "
            f"{QUEUE_MAX}. Take a smaller share, or narrow the list."
        )
    reviewers = sorted(plan.reviewers, key=lambda reviewer: reviewer.pk)
    random.Random(seed).shuffle(reviewers)
    with transaction.atomic():
        queue = ReviewQueue.objects.create(
            name=plan.name,
            filter_query=review_filter.query_string()[:1000],
            rule=rule.as_json(),
            seed=seed,
            scorecard=plan.scorecard,
            assignment=plan.assignment,
            matched=len(found),
            user=user,
            username=user.get_username(),
        )
        queue.reviewers.set(reviewers)
        QueueItem.objects.bulk_create(
            QueueItem(
                queue=queue,
                position=position,
                conversation_id=conversation_id,
                reason=reason,
                reviewer=reviewers[position % len(reviewers)] if round_robin else None,
            )
            for position, (conversation_id, reason) in enumerate(sample)
        )
        # Checked after the items are written and before they are committed: a call whose
        # deletion began meanwhile is left out (its deletion wipes any that remain).
        drawn = [conversation_id for conversation_id, _ in sample]
        gone = set(drawn) - reviews.writable_ids(drawn)
        queue.items.filter(conversation_id__in=gone).delete()
        queue.description = describe(queue, rule, len(sample) - len(gone), review_filter)
        queue.save(update_fields=["description"])
    return queue


def describe(queue, rule, drawn, review_filter):
    """How the sample was drawn, in words: "10% of each agent's calls per day, plus every
    failed call: 37 of 412 calls matching agent=… since=2026-11-01; seed 8121…"."""
    shown = " ".join(f"{name}={value}" for name, value in review_filter.params.items())
    scope = f"matching {shown}" if shown else "in the whole list"
    calls = "call" if queue.matched == 1 else "calls"
    days = f", days in {rule.zone}" if rule.zone else ""
    return f"{rule.words()}: {drawn} of {queue.matched} {calls} {scope}; seed {queue.seed}{days}"


def redraw(queue, review_filter, user):
    """The queue's sample drawn again from its stored rule and seed over the list as it is
    now: the same calls while the list holds the same conversations."""
    rule = Rule.from_json(queue.rule)
    return draw(candidates(review_filter, user, rule), rule, queue.seed)


# Who works on a queue, and how far they are


@dataclasses.dataclass(frozen=True)
class Progress:
    """`done` of `total` items (of one reviewer, or of everyone); `free`: nobody's yet."""

    done: int
    total: int
    free: int = 0

    @property
    def left(self):
        return self.total - self.done


def progress(queue, user=None):
    """How far the queue is: for one reviewer (their items) or for everyone (Progress)."""
    items = queue.items.all()
    counts = items.aggregate(
        total=Count("pk", filter=Q(reviewer=user) if user else Q()),
        done=Count("pk", filter=Q(done_at__isnull=False, **({"reviewer": user} if user else {}))),
        free=Count("pk", filter=Q(reviewer__isnull=True)),
    )
    return Progress(counts["done"], counts["total"], counts["free"])


def progress_of_queues(queues, user):
    """Each queue's Progress for everyone and for this reviewer, by queue id, in one query:
    {id: (everyone's, theirs)}."""
    done, theirs = Q(done_at__isnull=False), Q(reviewer=user)
    rows = (
        QueueItem.objects.filter(queue__in=queues)
        .values("queue_id")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=done),
            free=Count("pk", filter=Q(reviewer__isnull=True)),
            own=Count("pk", filter=theirs),
            own_done=Count("pk", filter=theirs & done),
        )
        .order_by()
    )
    empty = (Progress(0, 0), Progress(0, 0))
    found = {
        r["queue_id"]: (
            Progress(r["done"], r["total"], r["free"]),
            Progress(r["own_done"], r["own"], r["free"]),
        )
        for r in rows
    }
    return {queue.pk: found.get(queue.pk, empty) for queue in queues}


@dataclasses.dataclass(frozen=True)
class ReviewerProgress:
    username: str
    done: int
    total: int


def reviewer_progress(queue):
    """Each reviewer's done and total, by name, in one query."""
    rows = (
        queue.items.filter(reviewer__isnull=False)
        .values("reviewer__username")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(done_at__isnull=False)))
        .order_by("reviewer__username")
    )
    return [ReviewerProgress(r["reviewer__username"], r["done"], r["total"]) for r in rows]


def may_work_on(queue, user):
    """Whether this reviewer has, or may claim, items of this queue: a round-robin queue's
    items are its reviewers'; a claim queue is open to its chosen reviewers, or to everyone
    who may review when none were chosen."""
    if queue.items.filter(reviewer=user).exists():
        return True
    if queue.assignment != ReviewQueue.Assignment.CLAIM:
        return False
    chosen = queue.reviewers.all()
    return not chosen.exists() or chosen.filter(pk=user.pk).exists()


def open_queues_for(user):
    """The open queues this reviewer has work in, or may claim from, newest first."""
    open_queues = ReviewQueue.objects.filter(closed_at__isnull=True)
    theirs = Q(Exists(QueueItem.objects.filter(queue=OuterRef("pk"), reviewer=user)))
    claimable = Q(assignment=ReviewQueue.Assignment.CLAIM) & (
        Q(reviewers=user) | Q(reviewers__isnull=True)
    )
    return open_queues.filter(theirs | claimable).distinct()


def queue_in(queue_id, user):
    """The open queue a conversation page was opened in (?queue=<pk>), if this user works
    on it; None for anything else."""
    if not str(queue_id or "").isdigit() or len(str(queue_id)) > 18:
        return None
    queue = ReviewQueue.objects.filter(pk=int(queue_id), closed_at__isnull=True).first()
    return queue if queue is not None and may_work_on(queue, user) else None


@dataclasses.dataclass(frozen=True)
class QueueBar:
    """What a conversation page opened from a queue shows above its header."""

    queue: ReviewQueue
    progress: Progress


def queue_bar(queue_id, user):
    """The queue bar of a conversation page opened with ?queue=<pk>, or None."""
    queue = queue_in(queue_id, user)
    return QueueBar(queue, progress(queue, user)) if queue else None


# Walking a queue


def mark_done(*, user, conversation_id):
    """A reviewer scored or reviewed this conversation: it is done in every open queue where it
    is theirs, or nobody's yet (which makes it theirs)."""
    open_items = QueueItem.objects.filter(
        conversation_id=conversation_id, done_at__isnull=True, queue__closed_at__isnull=True
    )
    now = timezone.now()
    open_items.filter(reviewer=user).update(done_at=now)
    # A free item only in a claim queue this reviewer may claim from (may_work_on): scoring a
    # call elsewhere takes nothing from a queue they are not part of.
    claimable = Q(queue__assignment=ReviewQueue.Assignment.CLAIM) & (
        Q(queue__reviewers=user) | Q(queue__reviewers__isnull=True)
    )
    free = open_items.filter(claimable, reviewer__isnull=True).values_list("pk", flat=True)
    QueueItem.objects.filter(pk__in=list(free), reviewer__isnull=True).update(
        reviewer=user, done_at=now
    )


def mark_reviewed(*, user, conversation_id):
    """The review panel saved: the conversation is done for this reviewer when its review now
    has a verdict (Passed, Flagged, Needs follow-up)."""
    verdict = Review.objects.filter(conversation_id=conversation_id).exclude(
        status=Review.Status.UNREVIEWED
    )
    if verdict.exists():
        mark_done(user=user, conversation_id=conversation_id)


def next_in_queue(*, queue_id, user, current_id=None):
    """The URL of the next conversation of this reviewer's part of the queue after
    `current_id`, claiming one when none is theirs; None when nothing is left for them."""
    queue = ReviewQueue.objects.filter(pk=queue_id, closed_at__isnull=True).first()
    if queue is None:
        return None
    todo = queue.items.filter(done_at__isnull=True).exclude(conversation_id=current_id or "")
    item = todo.filter(reviewer=user).order_by("position").first()
    while item is None:
        if not may_work_on(queue, user):
            return None
        free = todo.filter(reviewer__isnull=True).order_by("position").first()
        if free is None:
            return None
        with transaction.atomic():
            # Two reviewers may reach for the same item: only one update finds it free.
            if QueueItem.objects.filter(pk=free.pk, reviewer__isnull=True).update(reviewer=user):
                item = free
    url = reverse("conversations:detail", args=[item.conversation_id])
    return f"{url}?queue={queue.pk}"
