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

Only one worker works on a job at a time: `claim` takes a lease, with a token of its own, in
one UPDATE that only succeeds when nobody holds it; every item renews it and every write names
the token, so a worker whose lease expired and was taken stops at its next renewal and writes
nothing more; the end of a slice gives it back. A worker that dies leaves a lease that
expires; `stalled` finds such jobs (and jobs whose queued task was lost) for the sweep, which
starts them again as a new chain (`restart`): a slice of the old chain still in the queue
then does nothing. An item already done is never done again, and one whose deletion's outcome
is unknown is settled with deletion.py once that deletion can no longer land.
"""

import hashlib
import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
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
# However often the platform asks us to wait, a job ends this long after it was made: its
# items not done by then are not tried.
JOB_MAX_AGE = 24 * 3600
MESSAGE_MAX = 500

GONE = {
    AuditRecord.Outcome.DELETED: Outcome.DONE,
    AuditRecord.Outcome.ALREADY_GONE: Outcome.ALREADY_GONE,
    AuditRecord.Outcome.FOUND_GONE: Outcome.ALREADY_GONE,
}
SLOW_DOWN = "the platform asked us to slow down"
SKIPPED = "Skipped: deleted, or unknown to the platform."
CRASHED = "Something went wrong on our side; the worker's log has the details."
UNKNOWN = "Whether it was deleted is not known yet."
UNKNOWN_WAIT = "a deletion's outcome is not known yet; it is checked with the platform then"


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
                chain=uuid.uuid4(),
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
    # As the list orders them (queries.rows_after): those without a sort key last, either way.
    field = F(sort.field)
    key = field.desc(nulls_last=True) if sort.descending else field.asc(nulls_last=True)
    ids = "-conversation_id" if sort.descending else "conversation_id"
    conversations = queries.selected(review_filter, user).order_by(key, ids)
    return list(conversations.values_list("conversation_id", flat=True)[: limit + 1])


def digest(ids):
    """A fingerprint of a set of ids: the confirmation carries the one it showed."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def submitted(job_id):
    """Whether a job was already made from this confirmation token."""
    return BulkJob.objects.filter(pk=job_id).exists()


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
    "scorecard": "scorecard",
    "score_min": "score at least (%)",
    "score_max": "score at most (%)",
    "qa_criterion": "scorecard criterion",
    "qa_value": "scorecard answer",
    "disagree": "disagrees with the platform on",
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


def run(job_id, *, chain=None, clock=timezone.now, budget=RUN_SECONDS):
    """Work on a job for up to `budget` seconds. Returns the seconds after which its next
    slice should run, or None when nothing is left for this task to do (the job ended, another
    worker holds it and goes on with it, or `chain` is no longer the job's chain)."""
    owner, delay = claim(job_id, clock(), chain=chain)
    if owner is None:
        return delay
    job = BulkJob.objects.get(pk=job_id)
    job.lease_owner = owner
    try:
        delay = _work(job, clock, time.monotonic() + budget)
    finally:
        # Given back whatever happened, so the next slice (or the sweep) need not wait for it;
        # only if it is still ours: a worker that took an expired lease keeps it.
        _mine(job).update(lease_until=None, lease_owner=None)
    return delay


def claim(job_id, now, *, chain=None):
    """(this worker's lease token, None) when it now holds the job; else (None, seconds until
    it may run, or None when it is not to be run by this task). A `chain` other than the
    job's own never takes it."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = Q(wait_until__isnull=True) | Q(wait_until__lte=now)
    ours = Q(chain=chain) if chain is not None else Q()
    owner = uuid.uuid4()
    taken = BulkJob.objects.filter(free, due, ours, pk=job_id, state__in=ACTIVE).update(
        state=State.RUNNING,
        wait_until=None,
        note="",
        lease_until=now + timedelta(seconds=LEASE_SECONDS),
        lease_owner=owner,
        heartbeat=now,
    )
    if taken:
        BulkJob.objects.filter(pk=job_id, started__isnull=True).update(started=now)
        return owner, None
    job = BulkJob.objects.filter(free, ours, pk=job_id, state__in=ACTIVE).first()
    if job is not None and job.wait_until and job.wait_until > now:
        # Woken early (the queue's clock and ours differ): sleep again until it is due.
        return None, (job.wait_until - now).total_seconds()
    return None, None


def restart(job_id, now=None):
    """A new chain for a stalled job (the sweep's), or None when it is no longer stalled.
    Any slice still queued for its old chain then ends without working."""
    chain = uuid.uuid4()
    restarted = BulkJob.objects.filter(_stale(now or timezone.now()), pk=job_id).update(chain=chain)
    return str(chain) if restarted else None


def _mine(job):
    """The job, as long as this worker's lease on it has not been taken by another."""
    return BulkJob.objects.filter(pk=job.pk, lease_owner=job.lease_owner)


def _work(job, clock, deadline):
    step, size = (_delete_next, 1) if job.kind == Kind.DELETE else (_save_next, BATCH)
    while True:
        # Renewed before each item: a job cancelled, or taken by a worker after our lease
        # expired, is left alone from here on.
        if not _renew(job, clock()):
            return None
        stop = _refusal(job, clock())
        if stop:
            _end(job, clock(), stop)
            return None
        if time.monotonic() >= deadline:
            return 0
        items = list(job.items.filter(outcome=Outcome.PENDING).order_by("position")[:size])
        if not items:
            _end(job, clock(), "")
            return None
        try:
            wait = step(job, items, clock)
        except Exception:
            # A bug or a database error is a failed try of these items, not the end of the
            # task: otherwise the sweep would start the job again every minute, for ever.
            log.exception("Bulk job %s: an item failed unexpectedly", job.pk)
            wait = _failed_try(job, items, CRASHED, clock)
        if wait is not None:
            return wait


def _renew(job, now):
    renewed = (
        _mine(job)
        .filter(state=State.RUNNING)
        .update(lease_until=now + timedelta(seconds=LEASE_SECONDS), heartbeat=now)
    )
    return bool(renewed)


def _refusal(job, now):
    """Why the job may not go on (its time ran out, or its person lost the right), else ""."""
    if now >= job.created + timedelta(seconds=JOB_MAX_AGE):
        return f"Stopped: the job was still not done {JOB_MAX_AGE // 3600} hours after it started."
    # Read again before each item: permissions cached on an object read minutes ago would let
    # a person whose role was taken away go on deleting.
    job.user = get_user_model().objects.filter(pk=job.user_id).first()
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


def _delete_next(job, items, clock):
    """Delete the next item; the seconds to wait before the next one, or None to go on."""
    item = items[0]
    unsettled = _unsettled(job, item, clock)
    if unsettled is not False:
        return unsettled
    result = deletion.delete_conversation(
        user=job.user, conversation_id=item.conversation_id, reason=job.reason
    )
    if result.done:
        _record(job, item, GONE[result.outcome], result.message)
        return None
    if result.rate_limited:
        _record(job, item, Outcome.PENDING, f"Waiting: {SLOW_DOWN}.")
        return _wait(job, result.retry_after, clock, SLOW_DOWN)
    if result.outcome == AuditRecord.Outcome.ATTEMPTED:
        _record(job, item, Outcome.PENDING, f"{UNKNOWN} {result.message}")
        return _wait(job, deletion.resolve_after().total_seconds(), clock, UNKNOWN_WAIT)
    return _failed_try(job, [item], result.message, clock)


def _unsettled(job, item, clock):
    """For an item whose deletion's outcome is unknown (an open attempt in the audit log):
    the wait until it can be settled, None once it is settled as gone (and recorded), or
    False when there is none, or it failed, and the item is to be deleted (again)."""
    attempts = AuditRecord.objects.open_attempts().filter(conversation_id=item.conversation_id)
    attempt = attempts.order_by("-created_at").first()
    if attempt is None:
        return False
    due = attempt.created_at + deletion.resolve_after()
    if clock() < due:
        # The request may still be under way: asking now could see it before it lands.
        return _wait(job, (due - clock()).total_seconds(), clock, UNKNOWN_WAIT)
    deletion.resolve_open_attempts(conversation_id=item.conversation_id)
    settled = AuditRecord.objects.filter(attempt=attempt).first()
    if settled is None:
        return _failed_try(job, [item], f"{UNKNOWN} The platform did not say.", clock)
    if settled.outcome in GONE:
        _record(job, item, GONE[settled.outcome], "Gone: checked with the platform afterwards.")
        return None
    return False


def _save_next(job, items, clock):
    """Save the next batch of a status or an assignment; a wait, or None to go on."""
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
            _record(job, item, Outcome.DONE, "Saved.")
        else:
            _record(job, item, Outcome.SKIPPED, SKIPPED)
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
            _record(job, item, Outcome.FAILED, message, tries=tries)
        return None
    for item in items:
        note = f"Try {tries} of {ITEM_TRIES} failed: {message}"
        _record(job, item, Outcome.PENDING, note, tries=tries)
    return _wait(job, BACKOFF_SECONDS * 2 ** (tries - 1), clock, "an item failed; trying it again")


def _wait(job, seconds, clock, why):
    """Hold the job for `seconds` (the platform's figure, capped at WAIT_MAX) and say why;
    None when the job is no longer this worker's to hold."""
    seconds = min(max(float(seconds or BACKOFF_SECONDS), 0.0), WAIT_MAX)
    until = clock() + timedelta(seconds=seconds)
    note = f"Waiting {round(seconds)} s: {why}."
    # A job scheduled ahead is not a stalled one: its heartbeat is when it will run.
    held = (
        _mine(job)
        .filter(state=State.RUNNING)
        .update(state=State.WAITING, wait_until=until, heartbeat=until, note=note)
    )
    return seconds if held else None


def _record(job, item, outcome, message, *, tries=None):
    """Write an item's outcome, if this worker still holds the job. A pending item (tried
    again later) stays as cancel left it; a final outcome is written over "not tried", as the
    item was done even though the job was cancelled meanwhile."""
    fields = {"outcome": outcome, "message": message[:MESSAGE_MAX], "updated": timezone.now()}
    if tries is not None:
        fields["tries"] = tries
    if outcome == Outcome.PENDING:
        before = [Outcome.PENDING]
    else:
        before = [Outcome.PENDING, Outcome.NOT_TRIED]
    written = BulkJobItem.objects.filter(
        pk=item.pk,
        outcome__in=before,
        job__lease_owner=job.lease_owner,
    ).update(**fields)
    if written:
        item.tries = fields.get("tries", item.tries)


def _end(job, now, note):
    """The job is over: done, or stopped with the reason in `note` (its pending items are
    then not tried)."""
    with transaction.atomic():
        ended = (
            _mine(job)
            .filter(state__in=ACTIVE)
            .update(state=State.DONE, finished=now, wait_until=None, note=note)
        )
        if ended and note:
            job.items.filter(outcome=Outcome.PENDING).update(
                outcome=Outcome.NOT_TRIED, message=f"Not tried. {note}"
            )
    if ended:
        log.info("Bulk job %s ended%s", job.pk, f": {note}" if note else "")


def drop_old(now=None):
    """Delete the jobs that ended more than JOBS_KEEP_DAYS ago, with their items; returns
    how many. Their deletions stay in the audit log, which is kept for good."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.JOBS_KEEP_DAYS)
    ended = BulkJob.objects.filter(finished__lt=cutoff).exclude(state__in=ACTIVE)
    _, deleted = ended.delete()
    return deleted.get(BulkJob._meta.label, 0)


def stalled(now=None):
    """The ids of unfinished jobs that nobody holds and nobody touched for STALE_SECONDS:
    their worker died, or their queued task was lost. The sweep starts them again."""
    found = BulkJob.objects.filter(_stale(now or timezone.now())).values_list("pk", flat=True)
    return [str(pk) for pk in found]


# An unfinished job that no worker has touched for this long, though its time has come, has
# no worker to run it: the sweep would have restarted it within a minute of STALE_SECONDS.
UNATTENDED_SECONDS = STALE_SECONDS + 90


def unattended(job, now=None):
    """Whether a job has waited for a worker far longer than one takes to come: then no worker
    is running, and its page says so rather than "Queued" for ever."""
    now = now or timezone.now()
    if job.state not in ACTIVE or (job.lease_until is not None and job.lease_until > now):
        return False
    due = max(moment for moment in (job.heartbeat, job.created, job.wait_until) if moment)
    return (now - due).total_seconds() > UNATTENDED_SECONDS


def _stale(now):
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    old = Q(heartbeat__isnull=True) | Q(heartbeat__lt=now - timedelta(seconds=STALE_SECONDS))
    return free & old & Q(state__in=ACTIVE)
