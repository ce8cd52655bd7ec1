"""Bulk jobs: a deletion, a status or an assignment over many conversations, run by the worker.

A job is made when someone confirms a bulk action (`create_job`). Its conversations are
fixed then, one item each, in the list's order: the selection, or the ids a whole filter
matched at that moment (docs/decisions.md). The worker's `tasks.run_job` calls `run`, which
works through the pending items in order for up to RUN_SECONDS and says when to go on:

- a deletion goes through `deletion.delete_conversation`, one item at a time, so each item
  has its attempt and outcome records in the audit log as soon as it is done;
- a status or an assignment goes through `reviews.save_reviews`, BATCH items at a time, with
  its semantics: deleted conversations and ids the platform does not know are skipped;
- when the platform asks us to slow down, the item stays pending and the job waits as long
  as its Retry-After says (up to WAIT_MAX), scheduled for then: nobody sleeps in a request,
  and a rate limit is not a failed try. Other failures are tried ITEM_TRIES times, waiting
  longer after each, then the item is recorded as failed.

Only one worker works on a job at a time: `claim` takes a lease with one UPDATE that only
succeeds when nobody holds it, every item renews it, and the end of a slice gives it back.
A worker that dies leaves a lease that expires; `stalled` finds such jobs (and jobs whose
queued task was lost) for the sweep, which starts them again. An item already done is never
done again, and one interrupted in the middle of its deletion is settled by deletion.py.
"""

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from conversations import client, deletion, queries, reviews
from conversations.errors import error_for
from conversations.models import AuditRecord, BulkJob, BulkJobItem, Review

log = logging.getLogger(__name__)

State, Kind, Outcome = BulkJob.State, BulkJob.Kind, BulkJobItem.Outcome
ACTIVE = (State.QUEUED, State.RUNNING, State.WAITING)

# How long one slice works before the task queues the next one, which lets other tasks in.
RUN_SECONDS = 20
# Longer than a slice and the platform calls of its last item, each within its deadline.
LEASE_SECONDS = RUN_SECONDS + 3 * int(settings.XUNA_API_TIMEOUT) + 30
# A job nobody touched for this long past its lease or its wait is resumed by the sweep.
STALE_SECONDS = 60
# The longest wait a Retry-After gets; a platform asking for more is asked again then.
WAIT_MAX = 15 * 60
# Tries of an item that fails for another reason than a rate limit, and the first wait.
ITEM_TRIES = 3
BACKOFF_SECONDS = 2
# Status and assignment items saved per call of reviews.save_reviews.
BATCH = 20
# The most conversations a job over a whole filter may hold.
FILTER_MAX = 5000
ITEMS_SHOWN = 500
MESSAGE_MAX = 500

GONE = {
    AuditRecord.Outcome.DELETED: Outcome.DONE,
    AuditRecord.Outcome.ALREADY_GONE: Outcome.ALREADY_GONE,
    AuditRecord.Outcome.FOUND_GONE: Outcome.ALREADY_GONE,
}
SLOW_DOWN = "the platform asked us to slow down"
SKIPPED = "Skipped: deleted, or unknown to the platform."


class JobTaken(ValueError):
    """A confirmation token that names someone else's job."""


# Making a job


def create_job(*, job_id, user, conversation_ids, **fields):
    """The job for a confirmed bulk action, and whether it was made now (False: this
    confirmation was sent before, and made the job returned). `fields` are the job's kind
    and its reason, changes or filter_query."""
    existing = BulkJob.objects.filter(pk=job_id).first()
    if existing is not None:
        return _same_submit(existing, user), False
    now = timezone.now()
    try:
        with transaction.atomic():
            job = BulkJob.objects.create(
                id=job_id,
                user=user,
                username=deletion.storable(user.get_username(), 150),
                heartbeat=now,
                **fields,
            )
            BulkJobItem.objects.bulk_create(
                BulkJobItem(job=job, position=position, conversation_id=conversation_id)
                for position, conversation_id in enumerate(conversation_ids)
            )
    except IntegrityError:
        # The same confirmation, sent twice at once: the other request made it.
        return _same_submit(BulkJob.objects.get(pk=job_id), user), False
    log.info("Bulk %s job %s by %s: %d item(s)", job.kind, job.pk, job.username, job.items.count())
    return job, True


def _same_submit(job, user):
    if job.user_id != user.pk:
        raise JobTaken(str(job.pk))
    return job


def new_token():
    """A confirmation form's token, which becomes its job's id."""
    return uuid.uuid4()


def filter_ids(review_filter, user, *, limit=FILTER_MAX):
    """The ids a whole filter selects now, in the list's order, at most `limit` + 1 (one
    more than allowed says there are too many)."""
    sort = queries.SORTS[review_filter.sort or queries.DEFAULT_SORT]
    key = F(sort.field).desc(nulls_last=True) if sort.descending else F(sort.field).asc()
    ids = "-conversation_id" if sort.descending else "conversation_id"
    conversations = queries.selected(review_filter, user).order_by(key, ids)
    return list(conversations.values_list("conversation_id", flat=True)[: limit + 1])


def filter_count(review_filter, user):
    return queries.selected(review_filter, user).count()


# Each filter of the list in words, in the order the form shows them (the sort is no filter).
FILTER_WORDS = {
    "agent": "agent",
    "review": "review",
    "assigned": "assigned to",
    "tag": "tag",
    "since": "started from",
    "until": "started until",
    "min_minutes": "at least (minutes)",
    "max_minutes": "at most (minutes)",
    "outcome": "outcome",
    "criterion": "evaluation criterion",
    "result": "evaluation result",
    "data_key": "collected data",
    "data_value": "collected value",
}


def describe_filter(review_filter):
    """The filters as a person reads them: "outcome failure, started from 2026-03-01"."""
    params = review_filter.params
    words = [f"{words} {params[name]}" for name, words in FILTER_WORDS.items() if name in params]
    return ", ".join(words)


def describe_changes(job):
    """What a status or assignment job sets, in words."""
    if job.kind == Kind.STATUS:
        return f"Set the review status to “{Review.Status(job.changes['status']).label}”"
    assignee = job.changes.get("assignee")
    return f"Assign to {assignee}" if assignee else "Unassign"


# Reading a job


def tally(job):
    """How many of the job's items have each outcome: {outcome: count}, all outcomes given."""
    counted = job.items.values("outcome").annotate(n=Count("id")).order_by()
    counts = dict.fromkeys(Outcome.values, 0)
    counts.update({row["outcome"]: row["n"] for row in counted})
    return counts


def items_shown(job):
    return list(job.items.all()[:ITEMS_SHOWN])


def visible_jobs(user, *, limit=50):
    """The jobs a person may see, newest first: their own; everyone's for those who may read
    the audit log."""
    jobs = BulkJob.objects.all()
    if not user.has_perm("conversations.view_auditrecord"):
        jobs = jobs.filter(user=user)
    return jobs[:limit]


def may_see(user, job):
    return job.user_id == user.pk or user.has_perm("conversations.view_auditrecord")


# Cancelling


def cancel(job):
    """Stop a job: its pending items are not tried. An item a worker is on at this moment
    still gets its outcome. Returns whether it was still running."""
    now = timezone.now()
    with transaction.atomic():
        stopped = BulkJob.objects.filter(pk=job.pk, state__in=ACTIVE).update(
            state=State.CANCELLED, finished=now, wait_until=None, note="Cancelled."
        )
        if stopped:
            job.items.filter(outcome=Outcome.PENDING).update(
                outcome=Outcome.NOT_TRIED, message="Not tried: the job was cancelled."
            )
    return bool(stopped)


# Running


def run(job_id, *, clock=timezone.now, budget=RUN_SECONDS):
    """Work on a job for up to `budget` seconds. Returns the seconds after which its next
    slice should run, or None when nothing is left for this task to do (the job ended, or
    another worker holds it and goes on with it)."""
    claimed, delay = claim(job_id, clock())
    if not claimed:
        return delay
    job = BulkJob.objects.select_related("user").get(pk=job_id)
    try:
        delay = _work(job, clock, time.monotonic() + budget)
    finally:
        # Given back whatever happened, so the next slice (or the sweep) need not wait for it.
        BulkJob.objects.filter(pk=job_id).update(lease_until=None)
    return delay


def claim(job_id, now):
    """(True, None) when this worker now holds the job; else (False, seconds until it may run,
    or None when it is not to be run by this task)."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = Q(wait_until__isnull=True) | Q(wait_until__lte=now)
    taken = BulkJob.objects.filter(free, due, pk=job_id, state__in=ACTIVE).update(
        state=State.RUNNING,
        wait_until=None,
        note="",
        lease_until=now + timedelta(seconds=LEASE_SECONDS),
        heartbeat=now,
    )
    if taken:
        BulkJob.objects.filter(pk=job_id, started__isnull=True).update(started=now)
        return True, None
    job = BulkJob.objects.filter(free, pk=job_id, state__in=ACTIVE).first()
    if job is not None and job.wait_until and job.wait_until > now:
        # Woken early (the queue's clock and ours differ): sleep again until it is due.
        return False, (job.wait_until - now).total_seconds()
    return False, None


def _work(job, clock, deadline):
    stop = _refusal(job)
    if stop:
        _end(job, clock(), stop)
        return None
    step = _delete_next if job.kind == Kind.DELETE else _save_next
    while True:
        if not _still_active(job):
            return None
        if time.monotonic() >= deadline:
            _set(job, heartbeat=clock())
            return 0
        pending = job.items.filter(outcome=Outcome.PENDING).order_by("position")
        if not pending.exists():
            _end(job, clock(), "")
            return None
        wait = step(job, pending, clock)
        _set(job, lease_until=clock() + timedelta(seconds=LEASE_SECONDS), heartbeat=clock())
        if wait is not None:
            return wait


def _refusal(job):
    """Why the job may not go on (its person lost the right to do it), else ""."""
    user = job.user
    if user is None or not user.is_active:
        return "Stopped: the person who started this job no longer has an account."
    if job.kind == Kind.DELETE and not deletion.can_delete(user):
        return f"Stopped: {job.username} may no longer delete conversations."
    if job.kind != Kind.DELETE and not user.has_perm("conversations.assign_conversation"):
        return f"Stopped: {job.username} may no longer change many conversations at once."
    if job.kind == Kind.ASSIGN and _assignee(job) is False:
        return f"Stopped: {job.changes['assignee']} can no longer be assigned conversations."
    return ""


def _still_active(job):
    """Whether the job is still to be worked on: someone may have cancelled it meanwhile."""
    return BulkJob.objects.filter(pk=job.pk, state=State.RUNNING).exists()


def _delete_next(job, pending, clock):
    """Delete the next item; the seconds to wait before the next one, or None to go on."""
    item = pending.first()
    result = deletion.delete_conversation(
        user=job.user, conversation_id=item.conversation_id, reason=job.reason
    )
    if result.done:
        _record(item, GONE[result.outcome], result.message)
        return None
    if result.rate_limited:
        _record(item, Outcome.PENDING, f"Waiting: {SLOW_DOWN}.")
        return _wait(job, result.retry_after, clock, SLOW_DOWN)
    return _failed_try(job, [item], result.message, clock)


def _save_next(job, pending, clock):
    """Save the next batch of a status or an assignment; a wait, or None to go on."""
    items = list(pending[:BATCH])
    ids = [item.conversation_id for item in items]
    try:
        saved = reviews.save_reviews(user=job.user, conversation_ids=ids, changes=_changes(job))
    except client.RateLimited as exc:
        return _wait(job, exc.retry_after, clock, SLOW_DOWN)
    except client.XunaError as exc:
        _, title, hint = error_for(exc)
        return _failed_try(job, items, f"{title}; nothing was changed. {hint}", clock)
    done = {review.conversation_id for review in saved}
    for item in items:
        if item.conversation_id in done:
            _record(item, Outcome.DONE, "Saved.")
        else:
            _record(item, Outcome.SKIPPED, SKIPPED)
    return None


def _changes(job):
    if job.kind == Kind.STATUS:
        return {"status": job.changes["status"]}
    return {"assignee": _assignee(job)}


def _assignee(job):
    """The user to assign, None to unassign, False when that person may no longer be."""
    username = job.changes.get("assignee")
    if not username:
        return None
    return reviews.assignable_users().filter(username=username).first() or False


def _failed_try(job, items, message, clock):
    """A try that failed for another reason than a rate limit: again after a wait, or, after
    ITEM_TRIES, the items are failed and the job goes on."""
    tries = items[0].tries + 1
    if tries >= ITEM_TRIES:
        for item in items:
            _record(item, Outcome.FAILED, message, tries=tries)
        return None
    for item in items:
        note = f"Try {tries} of {ITEM_TRIES} failed: {message}"
        _record(item, Outcome.PENDING, note, tries=tries)
    return _wait(job, BACKOFF_SECONDS * 2 ** (tries - 1), clock, "an item failed; trying it again")


def _wait(job, seconds, clock, why):
    """Hold the job for `seconds` (the platform's figure, capped at WAIT_MAX) and say why."""
    seconds = min(max(float(seconds or BACKOFF_SECONDS), 0.0), WAIT_MAX)
    until = clock() + timedelta(seconds=seconds)
    note = f"Waiting {round(seconds)} s: {why}."
    # A job scheduled ahead is not a stalled one: its heartbeat is when it will run.
    BulkJob.objects.filter(pk=job.pk, state=State.RUNNING).update(
        state=State.WAITING, wait_until=until, heartbeat=until, note=note
    )
    return seconds


def _record(item, outcome, message, *, tries=None):
    item.outcome = outcome
    item.message = message[:MESSAGE_MAX]
    fields = ["outcome", "message", "updated"]
    if tries is not None:
        item.tries = tries
        fields.append("tries")
    item.save(update_fields=fields)


def _set(job, **fields):
    BulkJob.objects.filter(pk=job.pk, state=State.RUNNING).update(**fields)


def _end(job, now, note):
    """The job is over: done, or stopped with the reason in `note` (its pending items are
    then not tried)."""
    with transaction.atomic():
        ended = BulkJob.objects.filter(pk=job.pk, state__in=ACTIVE).update(
            state=State.DONE, finished=now, wait_until=None, note=note
        )
        if ended and note:
            job.items.filter(outcome=Outcome.PENDING).update(
                outcome=Outcome.NOT_TRIED, message=f"Not tried. {note}"
            )
    log.info("Bulk job %s ended%s", job.pk, f": {note}" if note else "")


def stalled(now=None):
    """The ids of unfinished jobs that nobody holds and nobody touched for STALE_SECONDS:
    their worker died, or their queued task was lost. The sweep starts them again."""
    now = now or timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    old = Q(heartbeat__isnull=True) | Q(heartbeat__lt=now - timedelta(seconds=STALE_SECONDS))
    found = BulkJob.objects.filter(free, old, state__in=ACTIVE).values_list("pk", flat=True)
    return [str(pk) for pk in found]
