"""The worker end to end: `manage.py run_huey` in a process of its own keeps the index current.

The worker gets a SQLite database file that this test migrates, its own queue file, and the
emulator's address; the test reads the index straight from that file.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from tests.helpers import ROOT, worker_environment

SEEDED = 240


def indexed(tmp_path, conversation_id=None):
    """How many conversations the worker's database holds with their detail (of one id)."""
    sql = "select count(*) from conversations_indexedconversation where detailed"
    if conversation_id is not None:
        sql += " and conversation_id = ?"
    with sqlite3.connect(tmp_path / "db.sqlite3", timeout=10) as database:
        return database.execute(
            sql, () if conversation_id is None else (conversation_id,)
        ).fetchone()[0]


def wait_for(condition, *, seconds, process):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the worker stopped"
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def start_worker(tmp_path, emulator):
    """Start `manage.py run_huey` on a migrated database file; Ctrl-C stops it at the end."""
    processes = []

    def start(**settings):
        environment = worker_environment(
            tmp_path, emulator, **{"SYNC_INTERVAL_SECONDS": "1", **settings}
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=environment, check=True
        )
        with (tmp_path / "worker.log").open("w") as log:
            process = subprocess.Popen(
                [*manage, "run_huey"], cwd=ROOT, env=environment, stdout=log, stderr=log
            )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the worker ends its tasks and stops
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("the worker did not stop on Ctrl-C")


def test_the_worker_indexes_the_history_and_then_each_new_conversation(
    start_worker, emulator, tmp_path
):
    worker = start_worker()

    assert wait_for(lambda: indexed(tmp_path) == SEEDED, seconds=60, process=worker)

    agent_id, _ = emulator.agents[0]
    conversation_id = emulator.add_conversation(
        {
            "conversation_id": "conv_worker_new",
            "agent_id": agent_id,
            "status": "done",
            "metadata": {"start_time": datetime.now(UTC).isoformat(), "duration": 30},
            "transcript": [{"speaker": "user", "text": "Hello?", "timestamp": 1.0}],
        }
    )

    assert wait_for(lambda: indexed(tmp_path, conversation_id) == 1, seconds=15, process=worker)


def test_with_the_index_off_the_worker_asks_nothing(start_worker, emulator, tmp_path):
    worker = start_worker(INDEX_ENABLED="off")

    assert not wait_for(lambda: emulator.calls, seconds=4, process=worker)
    assert indexed(tmp_path) == 0


def queue_settings(**env):
    """settings.HUEY as a process started with this environment reads it."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "HUEY_FILE")
    }
    environment.update(SECRET_KEY="s" * 50, **env)
    code = "from dashboard import settings; import json; print(json.dumps(settings.HUEY))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_queue_is_a_sqlite_file_beside_the_database(tmp_path):
    queue = queue_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'review.sqlite3'}")

    assert queue["huey_class"] == "huey.SqliteHuey"
    assert queue["filename"] == str(tmp_path / "huey.sqlite3")
    assert queue["consumer"]["flush_locks"] is True  # one worker per file: stale locks go
    assert queue["immediate"] is False


def test_with_redis_the_workers_share_a_queue_whose_locks_expire():
    queue = queue_settings(REDIS_URL="redis://127.0.0.1:6379/7")

    assert (queue["huey_class"], queue["url"]) == (
        "huey.RedisExpireHuey",
        "redis://127.0.0.1:6379/7",
    )
    assert "flush_locks" not in queue["consumer"]  # another worker may hold one
