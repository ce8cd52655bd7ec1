"""I1 and I2: the index's worker (`manage.py run_huey`) against a platform that limits how many
requests it serves at once (docs/performance.md).

Both run the worker as deployed, on PostgreSQL, with SYNC_CONCURRENCY equal to the emulator's
`--max-concurrent` and 50 ms of latency. I1 times the first backfill of the whole workspace
(or its first BACKFILL_WINDOW seconds) against what that limit allows; I2 lets the worker
finish the backfill of a small workspace, counts its platform calls while idle, then adds
conversations to the platform and times how long each takes to reach the index.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests

from bench import postgres
from bench.report import Row
from bench.stack import LIST_PATH, Stack
from bench.timing import BenchError, p50, p95

# The platform's limit on requests at once, and the worker's SYNC_CONCURRENCY.
LIMIT = 4
LATENCY_MS = 50
# I1 measures the backfill for this long at most from its first stored conversation: all of
# 100,000 at 80 a second would take over 20 minutes.
BACKFILL_WINDOW = 90
DIRECT_SECONDS = 10
SAMPLE_SECONDS = 2
# I2's workspace: a backfill of it ends in seconds, so the worker can be watched idle.
IDLE_WORKSPACE = 500
IDLE_SECONDS = 60
ARRIVALS = 20
ARRIVAL_GAP = 1.5
ARRIVAL_TIMEOUT = 60
STARTUP_TIMEOUT = 120
MIB = 1024 * 1024


def limited_stack(tmp, databases, *, row, conversations):
    return Stack(
        tmp,
        conversations=conversations,
        database_url=databases.create(row),
        emulator_options=("--max-concurrent", str(LIMIT), "--latency-ms", str(LATENCY_MS)),
        name=row.lower(),
    )


def direct_rate(emulator, seconds=DIRECT_SECONDS):
    """Conversations a second that LIMIT clients get, each asking for the next at once."""
    page = emulator.api(LIST_PATH, params={"page_size": 100}).json()
    ids = [item["conversation_id"] for item in page["conversations"]]
    deadline = time.monotonic() + seconds

    def client(offset):
        done = 0
        with requests.Session() as session:
            session.headers.update(emulator.http.headers)
            while time.monotonic() < deadline:
                conversation_id = ids[(offset + done) % len(ids)]
                answer = session.get(f"{emulator.url}{LIST_PATH}/{conversation_id}", timeout=30)
                done += answer.status_code == 200
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(LIMIT) as pool:
        done = sum(pool.map(client, range(LIMIT)))
    return done / (time.monotonic() - started)


def i1_backfill(tmp, databases, size):
    stack = limited_stack(tmp, databases, row="I1", conversations=size)
    try:
        direct = direct_rate(stack.emulator)
        refused_before = stack.emulator.concurrency()["refused"]
        stack.emulator.clear_calls()
        url = stack.env["DATABASE_URL"]
        worker = stack.worker(name="i1", SYNC_CONCURRENCY=str(LIMIT))
        samples = follow_backfill(worker, url, size)
        refused = stack.emulator.concurrency()["refused"] - refused_before
        calls = by_endpoint(stack.emulator.calls())
    finally:
        stack.close()
    return i1_rows(samples, direct, f"{calls}, {refused} of them refused with 429", size)


def by_endpoint(calls):
    """'12 get, 3 list': the calls of a log, counted by endpoint."""
    counts = {}
    for call in calls:
        counts[call["endpoint"]] = counts.get(call["endpoint"], 0) + 1
    return ", ".join(f"{count} {name}" for name, count in sorted(counts.items())) or "none"


def follow_backfill(worker, url, size):
    """(seconds, conversations indexed, worker RSS) every SAMPLE_SECONDS, from the first stored
    conversation until BACKFILL_WINDOW seconds later or every conversation is indexed."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while (count := postgres.indexed_count(url)) == 0:
        if time.monotonic() > deadline:
            raise BenchError(f"The worker indexed nothing in {STARTUP_TIMEOUT} s.")
        time.sleep(0.2)
    started = time.monotonic()
    samples = [(0.0, count, worker.rss_bytes())]
    while samples[-1][0] < BACKFILL_WINDOW and samples[-1][1] < size:
        time.sleep(min(SAMPLE_SECONDS, BACKFILL_WINDOW - samples[-1][0]))
        elapsed = time.monotonic() - started
        samples.append((elapsed, postgres.indexed_count(url), worker.rss_bytes()))
    return samples


def i1_rows(samples, direct, calls, size):
    (_, first, _), (seconds, last, _) = samples[0], samples[-1]
    rate = (last - first) / seconds
    allowed = LIMIT / (LATENCY_MS / 1000)
    ceiling = min(allowed, direct)
    share = rate / ceiling
    rss = [sample[2] for sample in samples]
    whole = last >= size
    span = "the whole backfill" if whole else f"its first {seconds:.0f} s"
    growth = (rss[-1] - rss[0]) / MIB
    return [
        Row(
            "I1",
            f"first backfill of {size:,} conversations, limit {LIMIT} at once, upstream "
            f"{LATENCY_MS} ms, SYNC_CONCURRENCY {LIMIT}: throughput over {span} "
            f"({last - first:,} conversations)",
            f"min({LIMIT} ÷ {LATENCY_MS / 1000:g} s = {allowed:.0f}/s, {LIMIT} direct clients "
            f"{direct:.1f}/s) = {ceiling:.1f}/s",
            f"{share:.0%} ({rate:.1f}/s)",
            "—",
            "≥ 80 %",
            share >= 0.80,
        ),
        Row(
            "I1",
            f"the same run: worker RSS, sampled every {SAMPLE_SECONDS} s "
            f"(platform calls from its start: {calls})",
            f"first: {rss[0] / MIB:.0f} MiB",
            f"last {rss[-1] / MIB:.0f} MiB (growth {growth:+.1f} MiB)",
            f"max {max(rss) / MIB:.0f} MiB",
            "growth ≤ 20 MiB",
            growth <= 20,
        ),
    ]


def i2_new_conversations(tmp, databases):
    stack = limited_stack(tmp, databases, row="I2", conversations=IDLE_WORKSPACE)
    url = stack.env["DATABASE_URL"]
    try:
        stack.worker(name="i2", SYNC_CONCURRENCY=str(LIMIT))
        wait_until_idle(url)
        stack.emulator.clear_calls()
        time.sleep(IDLE_SECONDS)
        idle_calls = stack.emulator.calls()
        template = stack.emulator.api(f"{LIST_PATH}/{first_id(stack.emulator)}").json()
        delays, missing = arrivals(stack.emulator, url, template)
    finally:
        stack.close()
    return i2_rows(delays, missing, idle_calls)


def first_id(emulator):
    return emulator.api(LIST_PATH, params={"page_size": 1}).json()["conversations"][0][
        "conversation_id"
    ]


def wait_until_idle(url, seconds=STARTUP_TIMEOUT):
    """Until the backfill and the first reconcile sweep have finished, and every conversation
    of the workspace is indexed with its detail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        finished = postgres.query(
            url,
            "SELECT count(*) FROM conversations_syncstate "
            "WHERE name IN ('backfill', 'reconcile') AND finished",
        )[0]
        if finished == 2 and postgres.indexed_count(url) >= IDLE_WORKSPACE:
            return
        time.sleep(0.5)
    raise BenchError(f"The worker did not finish the backfill of {IDLE_WORKSPACE} in {seconds} s.")


def arrivals(emulator, url, template):
    """Add ARRIVALS conversations to the platform, one every ARRIVAL_GAP seconds, and time each
    from its addition to its detail being in the index. ([seconds], how many never arrived)."""
    added, seen = {}, {}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            waiting = [cid for cid in added if cid not in seen]
            if waiting:
                found = postgres.query(
                    url,
                    "SELECT array_agg(conversation_id) FROM conversations_indexedconversation "
                    "WHERE detailed AND conversation_id = ANY(%s)",
                    (waiting,),
                )[0]
                now = time.monotonic()
                seen.update((cid, now) for cid in found or ())
            stop.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for number in range(ARRIVALS):
            conversation_id = emulator.add_conversation(new_conversation(template, number))
            added[conversation_id] = time.monotonic()
            time.sleep(ARRIVAL_GAP)
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        while len(seen) < len(added) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        watcher.join()
    delays = [seen[cid] - added[cid] for cid in added if cid in seen]
    return delays, len(added) - len(seen)


def new_conversation(template, number):
    """A copy of a platform conversation under a new id that started now (a finished call)."""
    raw = {**template, "conversation_id": f"conv_bench{number:04d}{int(time.time())}"}
    metadata = {**(raw.get("metadata") or {})}
    for name in ("start_time_unix_secs", "end_time"):
        metadata.pop(name, None)
    metadata["start_time"] = datetime.now(UTC).isoformat()
    raw["metadata"] = metadata
    return raw


def i2_rows(delays, missing, idle_calls):
    per_minute = len(idle_calls) * 60 / IDLE_SECONDS
    made = by_endpoint(idle_calls)
    worst = p95(delays) if delays and not missing else float("inf")
    return [
        Row(
            "I2",
            f"a new conversation reaches the index (detail stored), {ARRIVALS} added "
            f"{ARRIVAL_GAP:g} s apart to a {IDLE_WORKSPACE}-conversation workspace"
            + (f"; {missing} never arrived within {ARRIVAL_TIMEOUT} s" if missing else ""),
            "its addition to the platform",
            f"{p50(delays):.1f} s" if delays else "—",
            f"{worst:.1f} s",
            "p95 ≤ 15 s",
            worst <= 15,
        ),
        Row(
            "I2",
            f"platform calls of the idle worker ({IDLE_SECONDS} s after its backfill and sweep)",
            "—",
            f"{per_minute:.1f}/min ({made})",
            "—",
            "—",
            None,
        ),
    ]
