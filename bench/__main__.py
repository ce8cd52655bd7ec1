"""`make bench`: measure the dashboard against the platform's own latency (docs/performance.md).

Starts the emulator and the dashboard under gunicorn (gunicorn.conf.py), runs P1-P8, then
the conversation index's I1-I5 on PostgreSQL (BENCH_POSTGRES_URL; BENCH_INDEX_SIZE
conversations, 100,000 by default), prints the table and, after a full run, writes it to
bench/RESULTS.md with the machine it ran on. `python -m bench --only P2,I3` runs some of them
(and writes nothing).
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    analytics,
    conversation_page,
    first_load,
    index,
    list_page,
    load,
    postgres,
    recording,
    report,
    search,
    worker,
)
from bench.stack import ROOT, Stack, StackError
from bench.timing import BenchError, fetch

LOGS = ROOT / "bench" / "out"
IDS = (
    *("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"),
    *("I1", "I2", "I3", "I4", "I5"),
    *("S1", "S2", "S3"),
)
# The rows that need PostgreSQL and the indexed workspace.
INDEXED = ("I", "S")
CLIENTS = 64
INDEX_SIZE_DEFAULT = 100_000


def login_many(stack, dashboard, count):
    """`count` reviewers' sessions, each through the real login form, each used once."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        sessions = list(pool.map(lambda _: stack.login(dashboard), range(count)))
    for session in sessions:
        # The first page of a session writes its start time; do it before measuring.
        fetch(session, dashboard.url + "/")
    return sessions


def run(selected, tmp, index_size):
    rows = []
    if any(i.startswith("P") for i in selected):
        stack = Stack(tmp, conversations=10_000)
        try:
            rows, uncached_p50 = measure_uncached(stack, selected)
            rows += measure_cached(stack, selected, uncached_p50)
        finally:
            stack.close()
    if any(i.startswith(INDEXED) for i in selected):
        rows += measure_index(selected, tmp, index_size)
    return sorted(rows, key=lambda row: ("PIS".index(row.id[0]), row.id))


def measure_index(selected, tmp, size):
    """The rows of I1-I5, each against processes and PostgreSQL databases of its own."""
    databases = postgres.Databases()
    rows = []
    try:
        if "I1" in selected:
            print(f"I1: the worker's first backfill of {size:,} conversations", flush=True)
            rows += worker.i1_backfill(tmp, databases, size)
        if "I2" in selected:
            print("I2: new conversations reaching the idle worker's index", flush=True)
            rows += worker.i2_new_conversations(tmp, databases)
        if {"I3", "I4", "I5", "S2"} & set(selected):
            print(f"I3-I5: indexing {size:,} conversations on PostgreSQL", flush=True)
            rows += measure_indexed(selected, tmp, databases, size)
        if {"S1", "S3"} & set(selected):
            rows += search.measure(selected, tmp, databases, size)
    finally:
        databases.drop_all()
    return rows


def measure_indexed(selected, tmp, databases, size):
    stack = index.indexed_stack(tmp, databases, size)
    rows = []
    try:
        if "I3" in selected:
            rows += index.i3_list(stack, size)
        if "I4" in selected:
            rows += index.i4_export(stack)
        if "I5" in selected:
            rows += index.i5_disk(stack, databases, size)
        # Last: it reads more details into the workspace.
        if "S2" in selected:
            rows += analytics.s2_analytics(stack, size)
    finally:
        stack.close()
    return rows


def index_size():
    """BENCH_INDEX_SIZE: the index rows' workspace, smaller for a quick run."""
    value = os.environ.get("BENCH_INDEX_SIZE", "")
    if not value:
        return INDEX_SIZE_DEFAULT
    if not value.isdigit() or not 1000 <= int(value) <= 1_000_000:
        raise SystemExit(f"BENCH_INDEX_SIZE must be a whole number from 1000 to 1000000: {value!r}")
    return int(value)


def measure_uncached(stack, selected):
    """The rows of P1-P3, P5, P6 and P8 (cache off: what the platform costs), and P1's median."""
    dashboard = stack.dashboard(cache=False, name="uncached")
    session = stack.login(dashboard)
    rows, uncached_p50 = [], None
    if "P2" in selected:
        rows += list_page.p2_list_overhead(stack, dashboard, session)
    if "P3" in selected:
        long_id = conversation_page.find_long_conversation(stack)
        rows += conversation_page.p3_long_conversation(stack, dashboard, session, long_id)
    if "P8" in selected:
        rows += list_page.p8_load_more(stack, dashboard, session)
    if "P1" in selected or "P7" in selected:
        # P7 compares the cached list with P1's uncached median.
        p1_rows, uncached_p50 = list_page.p1_list_at_100ms(stack, dashboard, session)
        if "P1" in selected:
            rows += p1_rows
    if "P6" in selected:
        rows += first_load.p6_first_load(dashboard, session)
    if "P5" in selected:
        sessions = login_many(stack, dashboard, CLIENTS)
        rows += load.p5_load(stack, dashboard, sessions)
    dashboard.close()
    return rows, uncached_p50


def measure_cached(stack, selected, uncached_p50):
    """The rows of P4 and P7, against the dashboard as deployed (cache on)."""
    if "P4" not in selected and "P7" not in selected:
        return []
    dashboard = stack.dashboard(cache=True, name="cached")
    session = stack.login(dashboard)
    rows = []
    if "P7" in selected:
        rows += list_page.p7_cached_list(stack, dashboard, session, uncached_p50)
    if "P4" in selected:
        rows += recording.p4_audio(stack, dashboard, session)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help="comma-separated ids, e.g. P2,I3 (writes no RESULTS.md)")
    args = parser.parse_args(argv)
    selected = IDS if not args.only else tuple(i.strip().upper() for i in args.only.split(","))
    unknown = set(selected) - set(IDS)
    if unknown:
        parser.error(f"unknown ids: {', '.join(sorted(unknown))}")
    size = index_size()
    missing = postgres.server_missing() if any(i.startswith(INDEXED) for i in selected) else None
    if missing:
        parser.exit(2, f"{missing}. I1-I5 need PostgreSQL; or run only P1-P8 with --only.\n")
    # SIGTERM tears down like Ctrl-C: the finally blocks stop every process started.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    started = time.monotonic()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    about = report.machine()
    print(f"Benchmarks {', '.join(selected)} on {about}", flush=True)
    tmp = tempfile.mkdtemp(prefix="bench-")
    try:
        rows = run(selected, Path(tmp), size)
    except (StackError, BenchError) as error:
        LOGS.mkdir(exist_ok=True)
        for log in Path(tmp).glob("*.log"):
            shutil.copy(log, LOGS / log.name)
        print(f"The benchmark could not run: {error} (server logs in {LOGS})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted; every process it started is stopped.", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    minutes = (time.monotonic() - started) / 60
    indexed = size if any(i.startswith(INDEXED) for i in selected) else None
    output = report.summary(rows, when=when, minutes=minutes, about=about, index_size=indexed)
    print("\n" + output)
    if not args.only and size == INDEX_SIZE_DEFAULT:
        report.write_results(output)
        print(f"\nWritten to {report.RESULTS.relative_to(ROOT)}")
    return 0 if all(row.passed for row in rows if row.passed is not None) else 1


if __name__ == "__main__":
    sys.exit(main())
