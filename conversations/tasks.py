"""The worker's schedule: the jobs of conversations/sync.py as Huey tasks (`manage.py run_huey`).

Huey's periodic tasks run at most once a minute, and the head sync must run every
SYNC_INTERVAL_SECONDS. So each job runs as a chain: a link runs the job once, under the job's
lock, then schedules the next link: SYNC_INTERVAL_SECONDS later for the head sync, at once while
the backfill or a reconcile sweep has work left, later and later after failures (backoff). The
backfill and reconcile chains end when there is nothing left to do.

A chain can die (a worker killed between two links, a queue that lost its entries), so each
worker starts every chain when it starts, and once a minute `keep_chains` starts a new one for
each job whose chain has not run a link for STALE_SECONDS. Chains cannot multiply: each one
carries a token, the token of the newest chain of each job is kept in Huey's storage, and a link
whose token is not the newest ends its chain without running. Two workers that start a chain at
the same moment leave one, the chain whose token was written last.

The lock keeps two runs of one job from overlapping, across every worker that shares the queue
(docs/deploy.md). On Redis it expires after LOCK_SECONDS, so that the lock of a killed worker
frees itself; every run ends well before (sync.RUN_SECONDS, then the calls under way). A SQLite
queue has one worker, which clears stale locks when it starts (settings.HUEY, flush_locks).
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from huey import crontab
from huey.api import TaskLock
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, lock_task
from huey.exceptions import TaskLockedException
from huey.storage import RedisExpireStorage

from conversations import search, sync

log = logging.getLogger(__name__)
SEARCH_FILL_BATCH = 2000

# Longer than any run: its time, then the platform calls under way, each within its deadline,
# and a margin as long as the run again (90 s by default).
LOCK_SECONDS = 2 * sync.RUN_SECONDS + 3 * int(settings.XUNA_API_TIMEOUT)
STALE_SECONDS = LOCK_SECONDS + settings.SYNC_INTERVAL_SECONDS
BACKOFF_MAX_SECONDS = 300
# The pause between two links of the backfill or a sweep: none. The next link is queued
# behind the tasks already waiting, which lets them in; a link scheduled for later would wait
# for Huey's scheduler too (a second more), which is a tenth of the backfill's pace.
CONTINUE_SECONDS = 0
# The pause of a link that found another worker's link of its job running.
LOCKED_SECONDS = 1


def _lock(name):
    ttl = LOCK_SECONDS if isinstance(HUEY.storage, RedisExpireStorage) else None
    return lock_task(f"sync-{name}", ttl=ttl)


@dataclass(frozen=True)
class Job:
    run: Callable[[], sync.Run]
    lock: TaskLock
    endless: bool  # the head sync runs forever; the others while they have work left

    def pause(self):
        return settings.SYNC_INTERVAL_SECONDS if self.endless else CONTINUE_SECONDS


JOBS = {
    sync.HEAD: Job(sync.head_sync, _lock(sync.HEAD), endless=True),
    sync.BACKFILL: Job(sync.backfill, _lock(sync.BACKFILL), endless=False),
    sync.RECONCILE: Job(sync.reconcile, _lock(sync.RECONCILE), endless=False),
}
REFRESH_LOCK = _lock("refresh")


@db_task()
def chain_link(name, token, failures=0):
    """One link of a job's chain: run the job, unless a newer chain replaced this one, then
    schedule the next link."""
    if not settings.INDEX_ENABLED or not _is_current(name, token):
        return
    job = JOBS[name]
    started = time.monotonic()
    _beat(name)
    try:
        with job.lock:
            run = job.run()
    except TaskLockedException:
        # Another worker's link is running (a chain that was just replaced): try again later.
        run = None
    except Exception as exc:
        # A bug or a database outage must not end the chain: it goes on after a backoff.
        log.exception("Sync %s failed", name)
        run = sync.Run(error=exc)
    _beat(name)
    _log(name, run)
    failures = failures + 1 if run is not None and run.error else 0
    if run is not None and not (job.endless or run.more or run.error):
        return
    if failures:
        delay = _backoff(job, failures)
    elif run is None:
        delay = max(job.pause(), LOCKED_SECONDS)
    else:
        # The pause counts from this link's start: a head sync every SYNC_INTERVAL_SECONDS.
        delay = job.pause() - (time.monotonic() - started)
    if _is_current(name, token):
        if delay > 0:
            chain_link.schedule((name, token, failures), delay=delay)
        else:
            chain_link(name, token, failures)
        # A chain waiting out a backoff is not a dead chain.
        _beat(name, ahead=max(delay, 0))


@db_periodic_task(crontab())
def keep_chains():
    """Every minute: start a new chain for each job whose chain has not run lately."""
    if not settings.INDEX_ENABLED:
        return
    for name in JOBS:
        beat = HUEY.get(_key("beat", name), peek=True)
        if beat is None or time.time() - beat > STALE_SECONDS:
            start_chain(name)


@db_periodic_task(crontab())
def refresh():
    """Every minute: fetch again what the platform may still change (sync.refresh)."""
    if not settings.INDEX_ENABLED:
        return
    try:
        with REFRESH_LOCK:
            # Not what a head sync or backfill run under way may be reading: its lock's length.
            _log("refresh", sync.refresh(grace=LOCK_SECONDS))
    except TaskLockedException:
        pass


@db_periodic_task(crontab())
def keep_search_texts():
    """Every minute: the search texts of conversations indexed before search existed, and
    no trace of deleted text left in SQLite's full-text table (search.clear_residue)."""
    if search.clear_residue():
        log.info("Merged the full-text table: no deleted text remains in it")
    if not settings.INDEX_ENABLED:
        return
    filled = search.fill_missing(batch=SEARCH_FILL_BATCH)
    if filled:
        log.info("Wrote the search text of %d conversation(s) indexed earlier", filled)


@db_task()
def head_sync_now():
    """A head sync at once, when someone asked for fresh results; none if one is running."""
    if not settings.INDEX_ENABLED:
        return
    try:
        with JOBS[sync.HEAD].lock:
            _log(sync.HEAD, sync.head_sync())
    except TaskLockedException:
        pass


def start_chain(name):
    """Start a chain of a job; the chain it replaces ends at its next link."""
    token = uuid.uuid4().hex
    HUEY.put(_key("chain", name), token)
    _beat(name)
    chain_link(name, token)


_starting = threading.Lock()


@HUEY.on_startup()
def start_chains():
    """When a worker starts: a chain of each job (the hook runs in each worker thread; the
    chains are started once per process)."""
    if settings.INDEX_ENABLED and _starting.acquire(blocking=False):
        for name in JOBS:
            start_chain(name)


def _is_current(name, token):
    return HUEY.get(_key("chain", name), peek=True) == token


def _beat(name, ahead=0):
    """Note when the chain of a job was last seen alive (or will be, after a pause)."""
    HUEY.put(_key("beat", name), time.time() + ahead)


def _key(kind, name):
    return f"sync-{kind}-{name}"


def _backoff(job, failures):
    return min(max(job.pause(), 5) * 2 ** (failures - 1), BACKOFF_MAX_SECONDS)


def _log(name, run):
    """A line for what a run did: INFO for the backfill, the sweep and what was found gone;
    DEBUG for the head sync and the refresh, which run all the time."""
    if run is None:
        log.debug("Sync %s: another run holds the lock", name)
    elif run.stored or run.gone:
        quiet = name in (sync.HEAD, "refresh") and not run.gone
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "Sync %s: %d page(s), %d conversation(s) stored, %d found gone",
            name,
            run.pages,
            run.stored,
            run.gone,
        )


# Bulk jobs (conversations/jobs.py) ------------------------------------------------------------
#
# A job runs as a chain of slices: each link works for up to jobs.RUN_SECONDS, then queues the
# next one at once, or when the platform asked us to wait (the job's wait_until). The job's
# lease in the database, not a Huey lock, keeps two workers off one job: it is taken and given
# back with one UPDATE each, on SQLite and PostgreSQL alike, and a killed worker's lease
# expires. Once a minute `resume_jobs` starts a link for each job nobody has touched for a
# while: its worker died mid-slice, or the queue lost its next link.

# Huey's scheduler wakes once a second: a link scheduled for the end of a wait starts after it.
JOB_SLACK_SECONDS = 0.5


@db_task()
def run_job(job_id, chain):
    """One slice of a bulk job, then the next link of its chain, if it has one. A link of a
    chain the sweep replaced ends at once (jobs.restart)."""
    # Imported here, as the section it belongs to: the module's imports are the sync part's.
    from conversations import jobs

    delay = jobs.run(job_id, chain=chain)
    if delay == 0:
        run_job(job_id, chain)
    elif delay is not None:
        run_job.schedule((job_id, chain), delay=delay + JOB_SLACK_SECONDS)


@db_periodic_task(crontab(minute="7"))
def drop_old_jobs():
    """Every hour: delete the bulk jobs that ended more than JOBS_KEEP_DAYS ago."""
    from conversations import jobs

    dropped = jobs.drop_old()
    if dropped:
        log.info("Deleted %d bulk job(s) older than JOBS_KEEP_DAYS", dropped)


@db_periodic_task(crontab())
def resume_jobs():
    """Every minute: go on with each bulk job that nobody holds and nobody touched lately,
    as a new chain (a link of its old one may still be queued: it then does nothing)."""
    from conversations import jobs

    for job_id in jobs.stalled():
        chain = jobs.restart(job_id)
        if chain:
            log.info("Bulk job %s: resumed by the sweep", job_id)
            run_job(job_id, chain)
