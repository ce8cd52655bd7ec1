"""`make bench`: measure the dashboard against the platform's own latency (docs/performance.md).

Starts the emulator and the dashboard under gunicorn (gunicorn.conf.py), runs P1-P8, prints
the table and, after a full run, writes it to bench/RESULTS.md with the machine it ran on.
`python -m bench --only P2,P3` runs some of them (and writes nothing).
"""

import argparse
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench import conversation_page, first_load, list_page, load, recording, report
from bench.stack import ROOT, Stack, StackError
from bench.timing import BenchError, fetch

LOGS = ROOT / "bench" / "out"
IDS = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8")
CLIENTS = 64


def login_many(stack, dashboard, count):
    """`count` reviewers' sessions, each through the real login form, each used once."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        sessions = list(pool.map(lambda _: stack.login(dashboard), range(count)))
    for session in sessions:
        # The first page of a session writes its start time; do it before measuring.
        fetch(session, dashboard.url + "/")
    return sessions


def run(selected, tmp):
    stack = Stack(tmp, conversations=10_000)
    try:
        rows, uncached_p50 = measure_uncached(stack, selected)
        rows += measure_cached(stack, selected, uncached_p50)
    finally:
        stack.close()
    return sorted(rows, key=lambda row: row.id)


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
    parser.add_argument("--only", help="comma-separated ids, e.g. P2,P3 (writes no RESULTS.md)")
    args = parser.parse_args(argv)
    selected = IDS if not args.only else tuple(i.strip().upper() for i in args.only.split(","))
    unknown = set(selected) - set(IDS)
    if unknown:
        parser.error(f"unknown ids: {', '.join(sorted(unknown))}")
    # SIGTERM tears down like Ctrl-C: the finally blocks stop every process started.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    started = time.monotonic()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    about = report.machine()
    print(f"Benchmarks {', '.join(selected)} on {about}", flush=True)
    tmp = tempfile.mkdtemp(prefix="bench-")
    try:
        rows = run(selected, Path(tmp))
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
    output = report.summary(rows, when=when, minutes=minutes, about=about)
    print("\n" + output)
    if not args.only:
        report.write_results(output)
        print(f"\nWritten to {report.RESULTS.relative_to(ROOT)}")
    return 0 if all(row.passed for row in rows if row.passed is not None) else 1


if __name__ == "__main__":
    sys.exit(main())
