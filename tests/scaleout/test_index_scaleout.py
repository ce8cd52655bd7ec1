"""Two workers keep one conversation index for two instances, on PostgreSQL and Redis.

The `index_cluster` fixture (conftest.py) starts the emulator with a history of a couple of
thousand conversations, instances A and B and two workers, which begin indexing it at once.
Each conversation is fetched once, not once per worker; a worker killed in the middle of the
backfill is replaced by the other, which resumes from the checkpoint in the database; in the
end every conversation is in the index once and none is missing.
"""

import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest
import redis
import requests

from conversations.sync import PAGE_SIZE

pytestmark = pytest.mark.scaleout

ROW_ID_RE = re.compile(r'id="row-([A-Za-z0-9_-]+)"')
IN_BACKFILL_RE = re.compile(r'conversations/sync\.py", line \d+, in backfill\n')
WORKERS = ("worker-1", "worker-2")
DETAIL_PATH = "/v1/convai/conversations/"
# A killed worker's lock expires after tasks.LOCK_SECONDS (16 s with the cluster's settings);
# keep_chains restarts the job at the first full minute after its chain went quiet for longer
# (up to 77 s after the kill), and the rest of the backfill takes up to half a minute more.
FINISH_SECONDS = 150


@pytest.fixture(scope="module")
def new_conversations(index_cluster):
    """Conversations the platform gains while both workers run the backfill, a moment apart
    so that different head syncs, run by either worker, find them."""
    wait_for(lambda: backfill(index_cluster).cursor, seconds=30, what="the backfill's 1st page")
    added = []
    for number in range(6):
        added.append(add_conversation(index_cluster, f"conv_scaleout_new_{number}"))
        time.sleep(0.4)
    return added


# The tests ------------------------------------------------------------------------------------


def test_each_new_conversation_is_fetched_once_by_two_workers_and_listed_by_both_instances(
    index_cluster, new_conversations
):
    cluster = index_cluster

    wait_for(lambda: detailed(cluster, new_conversations), seconds=20, what="the new ones")
    time.sleep(3)  # a few more head syncs, in either worker: none may fetch them again

    fetches = detail_fetches(calls(cluster))
    assert {cid: fetches[cid] for cid in new_conversations} == dict.fromkeys(new_conversations, 1)
    assert all(cluster.processes[name].poll() is None for name in WORKERS)
    with database(cluster) as conn:
        values = conn.execute(
            "SELECT conversation_id FROM conversations_indexedvalue WHERE key = 'scaleout_batch'"
        ).fetchall()
    assert sorted(row[0] for row in values) == sorted(new_conversations)
    # Both instances answer the queue from the same index.
    for base, session in ((cluster.a, cluster.on_a), (cluster.b, cluster.on_b)):
        page = session.get(f"{base}/", params={"review": "unreviewed"}, timeout=10)
        assert page.status_code == 200
        assert set(new_conversations) <= set(ROW_ID_RE.findall(page.text))


def test_a_worker_killed_mid_backfill_is_replaced_by_the_other_which_resumes_from_the_checkpoint(
    index_cluster, new_conversations
):
    cluster = index_cluster
    wait_for(lambda: reconcile_swept(cluster), seconds=30, what="the first reconcile sweep")
    wait_for(lambda: backfill(cluster).seen >= 6 * PAGE_SIZE, seconds=60, what="the backfill")

    victim, checkpoint, calls_before = kill_the_worker_in_the_backfill(cluster)

    # The backfill stands still while the lock the victim held lasts: it was in the middle of
    # a run, not between two.
    time.sleep(4)
    assert backfill(cluster) == checkpoint
    assert backfill_locked(cluster)
    # Then the other worker takes it over from the checkpoint and finishes it.
    wait_for(lambda: backfill(cluster).finished, seconds=FINISH_SECONDS, what="the takeover")
    survivor = next(name for name in WORKERS if name != victim)
    assert cluster.processes[survivor].poll() is None

    log = calls(cluster)
    pages = pages_from(cluster, checkpoint.cursor)
    everything = [cid for _, ids in pages_from(cluster, None) for cid in ids]
    old = [cid for cid in everything if cid not in new_conversations]
    # Every page from the checkpoint to the end, and none before it, was listed after the kill
    # (the head syncs list the first page, without a cursor).
    listed_after = {call["query"].get("cursor") for call in log[calls_before:] if is_list(call)}
    assert listed_after - {None} == {cursor for cursor, _ in pages}
    walked = checkpoint.seen // PAGE_SIZE
    assert len(pages) == math.ceil(len(old) / PAGE_SIZE) - walked
    # Every conversation of the platform is in the index, with its detail, and nothing else.
    with database(cluster) as conn:
        indexed = conn.execute(
            "SELECT conversation_id, detailed FROM conversations_indexedconversation"
        ).fetchall()
    assert len(indexed) == len(everything)
    assert {cid for cid, _ in indexed} == set(everything)
    assert all(detail for _, detail in indexed)
    # A conversation whose detail was read but not yet stored when the victim died is read
    # again, as is the newest page, which the head sync and the backfill both take when they
    # start on an empty index. Nothing else is fetched twice.
    fetched_twice = {cid for cid, count in detail_fetches(log).items() if count > 1}
    interrupted_page = set(pages[0][1])
    assert fetched_twice <= interrupted_page | set(old[:PAGE_SIZE])
    assert "Traceback" not in cluster.log(survivor)


# Steps ----------------------------------------------------------------------------------------


def kill_the_worker_in_the_backfill(cluster):
    """SIGKILL whichever worker runs the backfill now, past its first page and before its end.

    Returns the victim's name, the checkpoint it left and how many calls the emulator had
    logged when it died.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for name in WORKERS:
            if IN_BACKFILL_RE.search(cluster.stacks(name)):
                cluster.kill(name)
                checkpoint, calls_before = backfill(cluster), len(calls(cluster))
                assert checkpoint.cursor
                assert not checkpoint.finished
                return name, checkpoint, calls_before
        time.sleep(0.2)
    raise AssertionError("no worker was seen in the backfill")


def add_conversation(cluster, conversation_id):
    payload = {
        "conversation_id": conversation_id,
        "agent_id": "agent_scaleout",
        "status": "done",
        "metadata": {"start_time": datetime.now(UTC).isoformat(), "duration": 30},
        "transcript": [{"speaker": "user", "text": "Hello?", "timestamp": 1.0}],
        "collected_data": {"scaleout_batch": {"value": "new", "rationale": "Added by the test."}},
    }
    response = requests.post(
        f"{cluster.emulator_url}/_emulator/conversations", json=payload, timeout=10
    )
    response.raise_for_status()
    return response.json()["conversation_id"]


# Reading the cluster's state ------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The backfill's row of SyncState: the cursor of the page it takes next (None: the top),
    whether it is finished, and how many conversations it has walked."""

    cursor: str | None = None
    finished: bool = False
    seen: int = 0


def database(cluster):
    return psycopg.connect(cluster.database_url)


def backfill(cluster):
    with database(cluster) as conn:
        row = conn.execute(
            "SELECT cursor, finished, seen FROM conversations_syncstate WHERE name = 'backfill'"
        ).fetchone()
    if row is None:
        return Checkpoint()
    position, finished, seen = row
    return Checkpoint(json.loads(position)["cursor"] if position else None, finished, seen)


def reconcile_swept(cluster):
    with database(cluster) as conn:
        row = conn.execute(
            "SELECT finished FROM conversations_syncstate WHERE name = 'reconcile'"
        ).fetchone()
    return bool(row and row[0])


def detailed(cluster, conversation_ids):
    """Whether the index holds each of these conversations with its detail."""
    with database(cluster) as conn:
        found = conn.execute(
            "SELECT conversation_id FROM conversations_indexedconversation"
            " WHERE detailed AND conversation_id = ANY(%s)",
            [conversation_ids],
        ).fetchall()
    return len(found) == len(conversation_ids)


def backfill_locked(cluster):
    """Whether a worker holds the backfill's lock (a key of Huey's in Redis, tasks._lock)."""
    client = redis.Redis.from_url(cluster.redis_url)
    return any(client.scan_iter("huey.*lock.sync-backfill"))


def calls(cluster):
    """Every API call the emulator received, in order."""
    return requests.get(f"{cluster.emulator_url}/_emulator/calls", timeout=10).json()["calls"]


def is_list(call):
    return call["endpoint"] == "list"


def detail_fetches(log):
    """How many times each conversation's detail was asked for."""
    return Counter(
        call["path"].removeprefix(DETAIL_PATH) for call in log if call["endpoint"] == "get"
    )


def pages_from(cluster, cursor):
    """[(cursor, ids)] of the list pages the backfill reads from `cursor` to the end."""
    pages = []
    while True:
        response = requests.get(
            f"{cluster.emulator_url}/v1/convai/conversations",
            params={"page_size": PAGE_SIZE, **({"cursor": cursor} if cursor else {})},
            headers={"xi-api-key": cluster.api_key},
            timeout=10,
        )
        response.raise_for_status()
        body = response.json()
        pages.append((cursor, [item["conversation_id"] for item in body["conversations"]]))
        if not body.get("has_more") or not body.get("next_cursor"):
            return pages
        cursor = body["next_cursor"]


def wait_for(condition, *, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.2)
