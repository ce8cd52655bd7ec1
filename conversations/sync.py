"""Keeping the conversation index current: the worker's jobs, as plain functions.

conversations/tasks.py runs them on the task queue (on a schedule, one run of each job at a
time across all workers); tests call them directly. They read the platform through the client
only, never from its cache, and write the index through conversations/index.py.

    head_sync   the newest conversations, every few seconds; idle, one list call
    refresh     conversations the platform still changes, or whose detail was not read yet
    backfill    the older history, page by page from a checkpoint kept in the database
    reconcile   a sweep of the list that finds conversations deleted elsewhere

Each run is bounded (RUN_SECONDS, pages per run), so that its lock is released regularly. The
platform is respected: SYNC_CONCURRENCY conversations are fetched at a time; a 429 is waited
out once when its Retry-After fits in the run; any other failure (a 5xx, no answer) ends the
run, and the next one tries again. Ending early loses nothing: what was stored stays, a
conversation whose detail was not read stays marked so, and the checkpoints of backfill and
reconcile move only past pages that are done.
"""

import contextlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from conversations import client, index, reviews
from conversations.deletion import resolve_open_attempts, storable
from conversations.models import AuditRecord, IndexedConversation, SyncState

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # the largest page the platform serves
# A run starts no new page or platform call after this many seconds (30 by default).
RUN_SECONDS = settings.SYNC_RUN_SECONDS
# Pages per run. A head sync that finds more than HEAD_PAGES pages of new conversations (a
# burst, a worker that was stopped for a while) leaves the rest to the backfill.
HEAD_PAGES = 10
BACKFILL_PAGES = 10
RECONCILE_PAGES = 20
REFRESH_BATCH = 100
# A Retry-After longer than this ends the run rather than holding its lock.
RATE_LIMIT_WAIT_MAX = 20.0
RATE_LIMIT_WAIT_DEFAULT = 2.0
# Indexed conversations older than the whole list that one sweep asks about at most.
TAIL_CHECKS = 500
# The audit log's user name for what the worker records (no user did it).
WORKER = "worker"

HEAD, BACKFILL, RECONCILE = "head", "backfill", "reconcile"
# Left by a head sync that fell behind, for the backfill (the only writer of its own state).
BACKFILL_AGAIN = "backfill-again"


@dataclass
class Run:
    """What one run of a job did: logged by its task, and read to schedule the next run."""

    pages: int = 0
    stored: int = 0  # conversations whose detail was read and stored
    gone: int = 0  # conversations found deleted elsewhere, and purged
    more: bool = False  # work is left that the next run should start on at once
    error: Exception | None = None  # what ended the run early


class _OutOfTime(Exception):
    """The run's time is up; what is left is the next run's."""


@contextlib.contextmanager
def _until_stopped(run, job):
    """End a run quietly when its time is up or the platform fails; `run` says which."""
    try:
        yield
    except _OutOfTime:
        run.more = True
    except client.XunaError as exc:
        run.error = exc
        log.warning("The %s stopped early: %s", job, exc)


# The jobs


def head_sync(*, pages=HEAD_PAGES):
    """Index the newest conversations: list pages from the top until one holds nothing new.

    A page holds nothing new when each of its conversations is already indexed as final with
    its detail, or is older than where an unfinished backfill began (it is the backfill's).
    Idle, that is the first page: one platform call. When `pages` pages are not enough, the
    backfill is started again from the top to index the rest. The conversations older than
    where a backfill under way began are left to it, so that both do not fetch them at once.
    """
    run = Run()
    deadline = _deadline()
    boundary = _backfill_boundary()
    begun = _backfill_begun()
    cursor = None
    with _until_stopped(run, "head sync"):
        while True:
            page = _list_page(cursor, deadline)
            run.pages += 1
            needed = _take_page(page, run, deadline, leave_before=begun)
            if _is_last(page) or _settled(needed, boundary):
                break
            if run.pages >= pages:
                log.warning("The head sync fell behind the platform: the backfill starts again")
                SyncState.objects.get_or_create(name=BACKFILL_AGAIN)
                break
            cursor = page.next_cursor
        SyncState.objects.update_or_create(name=HEAD, defaults={"finished": True})
    return run


def refresh(*, limit=REFRESH_BATCH, grace=0):
    """Fetch again the conversations the platform may still change (not final) and those whose
    detail was not read yet, the longest unchanged first, `limit` per run.

    One whose detail was not read is left alone for `grace` seconds after its summary was
    stored: the head sync or backfill run that stored it may be reading it right now. The
    worker passes the length of its runs' lock, which no run outlasts.
    """
    run = Run()
    unread = Q(detailed=False, indexed_at__lte=timezone.now() - timedelta(seconds=grace))
    stale = IndexedConversation.objects.filter(Q(final=False, detailed=True) | unread)
    ids = list(stale.order_by("indexed_at").values_list("conversation_id", flat=True)[:limit])
    with _until_stopped(run, "refresh"):
        run.stored = fetch_details(ids, _deadline())
    return run


def backfill(*, pages=BACKFILL_PAGES):
    """Index the older history, `pages` list pages per run, from the checkpoint kept in
    SyncState("backfill").

    The checkpoint (the next page's cursor) moves only past a page that is fully indexed, so a
    run that is stopped, killed or rate limited is taken up from there. It ends at the first
    conversation older than SYNC_BACKFILL_DAYS (0: at the end of the history), and is marked
    finished. The returned run's `more` says whether to go on.
    """
    run = Run()
    state = _backfill_state()
    if state.finished:
        return run
    deadline = _deadline()
    with _until_stopped(run, "backfill"):
        for page, _ in _walk(state, pages, run, deadline, last=_reached_cutoff):
            _take_page(page, run, deadline)
    return run


def reconcile(*, pages=RECONCILE_PAGES):
    """Find the conversations deleted elsewhere (the platform's console, a retention policy),
    and purge them.

    A sweep walks the whole list, `pages` pages per run, from a checkpoint kept in
    SyncState("reconcile"); a new sweep starts SYNC_RECONCILE_MINUTES after the last one
    started. Each page spans a range of start times: an indexed conversation in that range
    that the page does not hold is asked for, and if the platform answers 404 it is gone (see
    `record_found_gone`). Each run also settles interrupted deletions and drops transcripts
    past their retention.
    """
    run = Run()
    resolve_open_attempts()
    index.drop_old_transcripts()
    state = _state(RECONCILE)
    if not _sweep_due(state):
        return run
    deadline = _deadline()
    with _until_stopped(run, "reconcile sweep"):
        for page, before in _walk(state, pages, run, deadline):
            run.gone += _sweep_span(page.items, before, deadline)
            if _is_last(page):
                run.gone += _sweep_tail(_oldest(page.items) or before, deadline)
    return run


def record_found_gone(conversation_id):
    """Record that the platform no longer has a conversation, and purge what we kept of it.

    One transaction writes the audit record (found gone, by the worker) and wipes the review,
    its history and the index rows, as a deletion through the dashboard does. Nothing is done
    when the dashboard's own deletion recorded it, or may have (an open attempt: settled by
    resolve_open_attempts). Returns whether it was recorded.
    """
    if AuditRecord.objects.deleted_or_pending_among([conversation_id]):
        return False
    row = IndexedConversation.objects.filter(conversation_id=conversation_id).first()
    with transaction.atomic():
        AuditRecord.objects.create(
            conversation_id=conversation_id,
            agent_id=storable(row.agent_id, 128) if row else "",
            conversation_start=row.start_time if row else None,
            username=WORKER,
            outcome=AuditRecord.Outcome.FOUND_GONE,
            upstream_status=404,
            detail="the worker's sweep found it deleted on the platform",
        )
        reviews.wipe_local_traces(conversation_id)
    log.info("Conversation %s was deleted elsewhere: purged", conversation_id)
    return True


# Progress, for the dashboard


@dataclass(frozen=True)
class Progress:
    """Where the index stands: "Indexed 42,100 conversations; about 3 min to go"."""

    indexed: int
    finished: bool  # the backfill has reached the end of the history (or its bound)
    walked: int  # conversations the backfill has walked so far
    reached: datetime | None  # the oldest start time the backfill has reached
    per_minute: float | None  # conversations walked per minute
    seconds_left: float | None  # None when not known: no bound on days, or not started
    as_of: datetime | None  # when the last head sync ended well

    @property
    def sentence(self):
        """The backfill's progress in words: "Indexed 42,100 conversations; about 3 min to go."."""
        indexed = f"Indexed {self.indexed:,} conversation{'' if self.indexed == 1 else 's'}"
        if self.finished:
            return f"{indexed}: the whole history."
        if self.reached is None:
            return f"{indexed}; the older history has not been walked yet."
        if self.seconds_left is None:
            # No bound on the days: the platform does not say how long its history is.
            pace = f", about {roughly(self.per_minute):,} a minute" if self.per_minute else ""
            return f"{indexed}; older ones are still being indexed{pace}."
        return f"{indexed}; {time_left(self.seconds_left)}."


def roughly(number):
    """A number to two significant digits, as an estimate is told: 1,187.4 is 1,200."""
    digits = len(str(int(number)))
    return int(round(number, -max(0, digits - 2)))


def time_left(seconds):
    """The time left in words: "about 3 min to go", "about 2 h 5 min to go"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute to go"
    if minutes < 60:
        return f"about {minutes} min to go"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min to go" if minutes else f"about {hours} h to go"


def progress(now=None):
    """How far the backfill is, how fast it goes, and how fresh the index is."""
    now = now or timezone.now()
    states = {state.name: state for state in SyncState.objects.filter(name__in=[HEAD, BACKFILL])}
    head, state = states.get(HEAD), states.get(BACKFILL)
    indexed = IndexedConversation.objects.count()
    as_of = head.updated_at if head else None
    if state is None or state.started_at is None:
        return Progress(indexed, False, 0, None, None, None, as_of)
    _, reached = _position(state)
    elapsed = (now - state.started_at).total_seconds()
    per_minute = state.seen * 60 / elapsed if elapsed > 0 and state.seen else None
    seconds_left = 0.0 if state.finished else _seconds_left(state.started_at, reached, now)
    return Progress(indexed, state.finished, state.seen, reached, per_minute, seconds_left, as_of)


def _seconds_left(started_at, reached, now):
    """The time to walk what is left of the bounded history, at the pace so far."""
    cutoff = _cutoff()
    if cutoff is None or reached is None:
        return None
    walked = (started_at - reached).total_seconds()
    left = (reached - cutoff).total_seconds()
    if walked <= 0:
        return None
    return max(0.0, left) * (now - started_at).total_seconds() / walked


# Pages and details


def _list_page(cursor, deadline):
    """A list page as the platform has it now (never from the cache)."""
    if time.monotonic() > deadline:
        raise _OutOfTime
    read = partial(client.list_conversations, cursor=cursor, page_size=PAGE_SIZE, cached=False)
    return _patiently(read, deadline)


def _walk(state, pages, run, deadline, *, last=lambda items: False):
    """The list pages from a job's checkpoint, `pages` at most, each with the oldest start
    time reached before it (None for the list's first page).

    The checkpoint moves past a page only once the caller is done with it: when the caller
    raises, it stays where it was. At the list's end, or at a page whose items `last` says
    end the walk, the job is marked finished; otherwise `run.more` says that pages are left.
    """
    cursor, reached = _position(state)
    for _ in range(pages):
        page, cursor = _page_from(state, cursor, deadline)
        reached = reached if cursor else None
        run.pages += 1
        yield page, reached
        state.seen += len(page.items)
        if _is_last(page) or last(page.items):
            _finish(state)
            return
        cursor, reached = page.next_cursor, _oldest(page.items) or reached
        _save_position(state, cursor, reached)
    run.more = True


def _is_last(page):
    return not page.has_more or not page.next_cursor


def _page_from(state, cursor, deadline):
    """(page, cursor) at a checkpoint's cursor; from the top again if the platform no longer
    takes the cursor (a checkpoint from another workspace, or too old)."""
    try:
        return _list_page(cursor, deadline), cursor
    except client.InvalidIdentifier:
        if cursor is None:
            raise
        log.warning("The %s checkpoint is no longer a valid page link: from the top", state.name)
        _save_position(state, None, None)
        return _list_page(None, deadline), None


def _take_page(page, run, deadline, *, leave_before=None):
    """Store a page's summaries, then read and store the detail of those that need it.

    Returns the conversations that needed it. Left out: those deleted through the dashboard
    (or whose deletion may have happened), those older than SYNC_BACKFILL_DAYS and those that
    started before `leave_before`.
    """
    items = [item for item in page.items if _within_bound(item) and not _older(item, leave_before)]
    gone = AuditRecord.objects.deleted_or_pending_among(item.id for item in items)
    with transaction.atomic():
        needed = [item for item in items if item.id not in gone and index.store_summary(item)]
    run.stored += fetch_details([item.id for item in needed], deadline)
    return needed


def fetch_details(conversation_ids, deadline):
    """Read each conversation (SYNC_CONCURRENCY at a time) and store its detail; returns how
    many were stored.

    One that is gone meanwhile is skipped (the reconcile sweep settles it). A 429 is waited out
    once, then the rest are asked again; any other failure is raised once the calls under way
    have ended and their answers are stored.
    """
    left, stored, waited = list(conversation_ids), 0, False
    while left:
        settled, count, error = _fetch_round(left, deadline)
        stored += count
        left = [conversation_id for conversation_id in left if conversation_id not in settled]
        if error is None and left:
            raise _OutOfTime
        if error is not None and (waited or not isinstance(error, client.RateLimited)):
            raise error
        if error is not None:
            _wait_out(error, deadline)
            waited = True
    return stored


_SKIPPED = object()


def _fetch_round(conversation_ids, deadline):
    """(ids settled, how many stored, the first platform failure or None) of one round.

    The threads only read the platform: the index is written from this thread, so no
    database connection is opened per thread. After a failure, or once the run's time is up,
    no new call is made.
    """
    stop = threading.Event()

    def fetch(conversation_id):
        if stop.is_set() or time.monotonic() > deadline:
            return _SKIPPED
        try:
            return _limited(partial(client.get_conversation, conversation_id, cached=False))
        except client.ConversationNotFound:
            return None
        except client.XunaError:
            stop.set()
            raise

    settled, stored, error = set(), 0, None
    with ThreadPoolExecutor(settings.SYNC_CONCURRENCY, thread_name_prefix="sync") as pool:
        futures = [(cid, pool.submit(fetch, cid)) for cid in conversation_ids]
        for conversation_id, future in futures:
            try:
                conversation = future.result()
            except client.XunaError as exc:
                error = error or exc
                continue
            if conversation is _SKIPPED:
                continue
            settled.add(conversation_id)
            if conversation is not None and _store(conversation):
                stored += 1
    return settled, stored, error


def _store(conversation):
    """Store a conversation's detail unless a deletion removed it (or may have) meanwhile."""
    if AuditRecord.objects.deleted_or_pending_among([conversation.id]):
        return False
    index.store(conversation)
    return True


def _patiently(call, deadline):
    """call(); after a 429, call() once more if its Retry-After fits in the run."""
    try:
        return _limited(call)
    except client.RateLimited as exc:
        _wait_out(exc, deadline)
    return _limited(call)


# The platform refuses (429) a workspace's calls past its limit of calls at once, and each
# refusal costs the job a Retry-After of waiting. The jobs of one worker run side by side (the
# head sync beside the backfill, a sweep, a refresh), so their calls share SYNC_CONCURRENCY
# places rather than each job taking that many.
_places_lock = threading.Lock()
_places = {}


def _limited(call):
    """call() in one of the worker's SYNC_CONCURRENCY places for platform calls."""
    with _places_lock:
        places = _places.setdefault(
            settings.SYNC_CONCURRENCY, threading.BoundedSemaphore(settings.SYNC_CONCURRENCY)
        )
    with places:
        return call()


def _wait_out(error, deadline):
    """Sleep for a 429's Retry-After, or raise it when that does not fit in the run."""
    wait = error.retry_after or RATE_LIMIT_WAIT_DEFAULT
    if wait > RATE_LIMIT_WAIT_MAX or time.monotonic() + wait > deadline:
        raise error
    log.info("The platform asks the worker to wait %.1f s", wait)
    time.sleep(wait)


# The reconcile sweep


def _sweep_due(state):
    """Whether a sweep is under way, or the next one is due (and then start it)."""
    now = timezone.now()
    if state.started_at is not None:
        if not state.finished:
            return True
        if now - state.started_at < timedelta(minutes=settings.SYNC_RECONCILE_MINUTES):
            return False
    state.started_at, state.finished, state.seen, state.cursor = now, False, 0, ""
    state.save()
    return True


def _sweep_span(items, before, deadline):
    """Ask about the indexed conversations in a page's span of start times that the page does
    not hold: from its oldest start up to the previous page's oldest (for the first page, up
    to its newest). Returns how many were found gone."""
    starts = [item.start_time for item in items if item.start_time is not None]
    if not starts:
        return 0
    suspects = IndexedConversation.objects.filter(start_time__gte=min(starts))
    if before is None:
        suspects = suspects.filter(start_time__lte=max(starts))
    else:
        suspects = suspects.filter(start_time__lt=before)
    suspects = suspects.exclude(conversation_id__in=[item.id for item in items])
    return _ask_about(suspects, deadline)


def _sweep_tail(before, deadline):
    """Past the list's last page: the indexed conversations older than all of it, or with no
    start time, are asked about too."""
    older = Q(start_time__isnull=True)
    if before is not None:
        older |= Q(start_time__lt=before)
    suspects = IndexedConversation.objects.filter(older).order_by("start_time")
    return _ask_about(suspects[:TAIL_CHECKS], deadline)


def _ask_about(suspects, deadline):
    """Ask the platform for each; a 404 is recorded and purged. Returns how many were gone."""
    gone = 0
    for conversation_id in list(suspects.values_list("conversation_id", flat=True)):
        if time.monotonic() > deadline:
            raise _OutOfTime
        try:
            _patiently(partial(client.get_conversation, conversation_id, cached=False), deadline)
        except client.ConversationNotFound:
            gone += record_found_gone(conversation_id)
    return gone


# Checkpoints


def _state(name):
    return SyncState.objects.get_or_create(name=name)[0]


def _position(state):
    """(cursor, oldest start time reached) of a checkpoint."""
    if not state.cursor:
        return None, None
    position = json.loads(state.cursor)
    reached = position.get("reached")
    return position.get("cursor"), datetime.fromisoformat(reached) if reached else None


def _save_position(state, cursor, reached):
    position = {"cursor": cursor, "reached": reached.isoformat() if reached else None}
    state.cursor = json.dumps(position) if cursor else ""
    state.save()


def _finish(state):
    state.finished, state.cursor = True, ""
    state.save()
    log.info("The %s is finished: %d conversations walked", state.name, state.seen)


def _backfill_state():
    """The backfill's state; a new pass from the top when none began yet, or when a head sync
    fell behind (pages already indexed then cost one list call each, no detail)."""
    state = _state(BACKFILL)
    again = SyncState.objects.filter(name=BACKFILL_AGAIN).delete()[0]
    if state.started_at is None or again:
        state.started_at, state.finished, state.seen, state.cursor = timezone.now(), False, 0, ""
        state.save()
    return state


def _backfill_boundary():
    """Where an unfinished backfill began (older conversations are its to index), else None."""
    state = SyncState.objects.filter(name=BACKFILL).first()
    if state is not None and state.finished:
        return None
    return state.started_at if state is not None and state.started_at else timezone.now()


def _backfill_begun():
    """Where a backfill under way began, or None: none began, or it is finished."""
    state = SyncState.objects.filter(name=BACKFILL, finished=False).first()
    return state.started_at if state is not None else None


def _settled(needed, boundary):
    """Whether a page needed nothing, but conversations the backfill will index."""
    return all(_older(item, boundary) for item in needed)


def _older(item, moment):
    """Whether a conversation started before `moment` (never when either is unknown)."""
    return moment is not None and item.start_time is not None and item.start_time < moment


def _cutoff():
    days = settings.SYNC_BACKFILL_DAYS
    return timezone.now() - timedelta(days=days) if days else None


def _within_bound(item):
    cutoff = _cutoff()
    return cutoff is None or item.start_time is None or item.start_time >= cutoff


def _reached_cutoff(items):
    return any(not _within_bound(item) for item in items)


def _oldest(items):
    starts = [item.start_time for item in items if item.start_time is not None]
    return min(starts) if starts else None


def _deadline():
    return time.monotonic() + RUN_SECONDS
