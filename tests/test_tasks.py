"""The worker's chains (conversations/tasks.py): when each job's next link runs.

Huey runs a queued task at once here (tasks_run_at_once); a task scheduled ahead waits in
Huey's schedule, where these tests read it. The jobs are stand-ins that report what a run of
the real one would: the chain's decisions are what is tested, the jobs are tested in
test_sync.py and, with a real worker, in test_worker.py.
"""

import uuid
from datetime import UTC, datetime

import pytest
from huey.contrib.djhuey import HUEY

from conversations import sync, tasks

pytestmark = pytest.mark.usefixtures("tasks_run_at_once")


def stand_in(monkeypatch, name, runs, *, endless=False):
    """Make job `name` report `runs` (sync.Run objects) one after another; returns the list
    of runs made, which grows as the chain runs them."""
    made = []
    real = tasks.JOBS[name]

    def run():
        made.append(runs[len(made)])
        return made[-1]

    monkeypatch.setitem(tasks.JOBS, name, tasks.Job(run, real.lock, endless=endless))
    return made


def start(name):
    token = uuid.uuid4().hex
    HUEY.put(tasks._key("chain", name), token)
    return token


def seconds_ahead(task):
    return (task.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds()


def test_a_backfill_with_work_left_goes_on_at_once_not_a_second_later(monkeypatch, settings):
    settings.INDEX_ENABLED = True
    made = stand_in(
        monkeypatch, sync.BACKFILL, [sync.Run(more=True), sync.Run(more=True), sync.Run()]
    )
    tasks.chain_link(sync.BACKFILL, start(sync.BACKFILL))
    # Each link queued the next at once; none waited in the schedule.
    assert len(made) == 3
    assert HUEY.scheduled() == []


def test_a_link_that_finds_its_job_running_elsewhere_tries_again_later(monkeypatch, settings):
    settings.INDEX_ENABLED = True
    made = stand_in(monkeypatch, sync.BACKFILL, [sync.Run(more=True)])
    with tasks.JOBS[sync.BACKFILL].lock:
        tasks.chain_link(sync.BACKFILL, start(sync.BACKFILL))
    assert made == []
    [link] = HUEY.scheduled()
    assert seconds_ahead(link) >= tasks.LOCKED_SECONDS - 0.5


def test_the_head_sync_runs_again_after_its_interval(monkeypatch, settings):
    settings.INDEX_ENABLED = True
    settings.SYNC_INTERVAL_SECONDS = 7
    made = stand_in(monkeypatch, sync.HEAD, [sync.Run()], endless=True)
    tasks.chain_link(sync.HEAD, start(sync.HEAD))
    assert len(made) == 1
    [link] = HUEY.scheduled()
    assert 6 <= seconds_ahead(link) <= 7


def test_a_failed_run_is_followed_by_a_backoff(monkeypatch, settings):
    settings.INDEX_ENABLED = True
    stand_in(monkeypatch, sync.BACKFILL, [sync.Run(error=RuntimeError("database away"))])
    tasks.chain_link(sync.BACKFILL, start(sync.BACKFILL))
    [link] = HUEY.scheduled()
    assert seconds_ahead(link) >= 4
    assert link.args[2] == 1  # one failure so far: the next backoff is longer


def test_a_replaced_chain_ends_without_running(monkeypatch, settings):
    settings.INDEX_ENABLED = True
    made = stand_in(monkeypatch, sync.BACKFILL, [sync.Run(more=True)])
    old = start(sync.BACKFILL)
    start(sync.BACKFILL)
    tasks.chain_link(sync.BACKFILL, old)
    assert made == []
    assert HUEY.scheduled() == []
