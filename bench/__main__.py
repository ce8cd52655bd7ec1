"""`make bench`: measure the dashboard against the platform's own latency (docs/performance.md).

Starts the emulator and the dashboard under gunicorn (gunicorn.conf.py), runs P1-P8, prints
the table and, after a full run, writes it to bench/RESULTS.md with the machine it ran on.
`python -m bench --only P2,P3` runs some of them (and writes nothing).
"""

import argparse
import os
import platform
import runpy
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench import measures
from bench.stack import ROOT, Stack, StackError

RESULTS = ROOT / "bench" / "RESULTS.md"
LOGS = ROOT / "bench" / "out"
IDS = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8")
CLIENTS = 64


def machine():
    """What the numbers were measured on."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = next(
        (
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    cores = len(os.sched_getaffinity(0))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{cpu}, {cores} cores available, {memory / 1024:.1f} GiB RAM; "
        f"Linux {platform.release()}; Python {platform.python_version()}; "
        f"load average at start {load}"
    )


def server_config():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return (
        f"gunicorn.conf.py: {config['worker_class']}, {config['workers']} workers × "
        f"{config['threads']} threads; "
        "SQLite database, local-memory cache per worker; cache off for P1-P3, P5, P6 and P8, "
        "on (the default) for P4 and P7"
    )


def table(rows):
    lines = [
        "| id | measurement | baseline (same run) | median | p95 | target | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        verdict = "—" if row.passed is None else "pass" if row.passed else "**FAIL**"
        lines.append(
            f"| {row.id} | {row.measurement} | {row.baseline} | {row.median} | {row.p95} "
            f"| {row.target} | {verdict} |"
        )
    return "\n".join(lines)


def login_many(stack, dashboard, count):
    """`count` reviewers' sessions, each through the real login form, each used once."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        sessions = list(pool.map(lambda _: stack.login(dashboard), range(count)))
    for session in sessions:
        # The first page of a session writes its start time; do it before measuring.
        measures.fetch(session, dashboard.url + "/")
    return sessions


def run(selected, tmp):
    rows = []
    stack = Stack(tmp, conversations=10_000)
    try:
        uncached = stack.dashboard(cache=False, name="uncached")
        session = stack.login(uncached)
        uncached_p50 = None
        if "P2" in selected:
            rows += measures.p2_list_overhead(stack, uncached, session)
        if "P3" in selected:
            long_id = measures.find_long_conversation(stack)
            rows += measures.p3_long_conversation(stack, uncached, session, long_id)
        if "P8" in selected:
            rows += measures.p8_load_more(stack, uncached, session)
        if "P1" in selected or "P7" in selected:
            p1_rows, uncached_p50 = measures.p1_list_at_100ms(stack, uncached, session)
            if "P1" in selected:
                rows += p1_rows
        if "P6" in selected:
            rows += measures.p6_first_load(uncached, session)
        if "P5" in selected:
            sessions = login_many(stack, uncached, CLIENTS)
            rows += measures.p5_load(stack, uncached, sessions, tmp)
        uncached.close()

        if "P4" in selected or "P7" in selected:
            cached = stack.dashboard(cache=True, name="cached")
            session = stack.login(cached)
            if "P7" in selected:
                rows += measures.p7_cached_list(stack, cached, session, uncached_p50)
            if "P4" in selected:
                rows += measures.p4_audio(stack, cached, session)
    finally:
        stack.close()
    return sorted(rows, key=lambda row: row.id)


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
    about = machine()
    print(f"Benchmarks {', '.join(selected)} on {about}", flush=True)
    tmp = tempfile.mkdtemp(prefix="bench-")
    try:
        rows = run(selected, Path(tmp))
    except (StackError, measures.BenchError) as error:
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
    targets = [row for row in rows if row.passed is not None]
    output = "\n".join(
        [
            f"Run {when} in {minutes:.1f} min on {about}.",
            server_config(),
            "",
            table(rows),
            "",
            f"{sum(r.passed for r in targets)} of {len(targets)} figures meet their target."
            + (
                ""
                if all(r.passed for r in targets)
                else " Why the others do not: docs/performance.md, 'When a figure does not pass'."
            ),
        ]
    )
    print("\n" + output)
    if not args.only:
        RESULTS.write_text(
            "# Benchmark results\n\n"
            "The last full output of `make bench` (how to read and rerun it: "
            "[docs/performance.md](../docs/performance.md)).\n\n" + output + "\n",
            encoding="utf-8",
        )
        print(f"\nWritten to {RESULTS.relative_to(ROOT)}")
    return 0 if all(r.passed for r in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
