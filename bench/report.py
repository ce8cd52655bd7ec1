"""The results table: one row per figure, what it was measured on, and bench/RESULTS.md."""

import os
import platform
import runpy
from dataclasses import dataclass
from pathlib import Path

from bench.stack import ROOT

RESULTS = ROOT / "bench" / "RESULTS.md"


@dataclass
class Row:
    id: str
    measurement: str
    baseline: str
    median: str
    p95: str
    target: str
    passed: bool | None  # None: a figure shown to explain another, with no target of its own


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


def server_config(index_size):
    """How the dashboard was served; `index_size` when the run had rows of the index."""
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    served = (
        f"gunicorn.conf.py: {config['worker_class']}, {config['workers']} workers × "
        f"{config['threads']} threads; "
        "SQLite database, local-memory cache per worker; cache off for P1-P3, P5, P6 and P8, "
        "on (the default) for P4 and P7"
    )
    if index_size is None:
        return served
    return (
        f"{served}. I1-I5: PostgreSQL, a workspace of {index_size:,} conversations "
        "(BENCH_INDEX_SIZE), the worker as `manage.py run_huey`, cache off"
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


def summary(rows, *, when, minutes, about, index_size):
    """The text `make bench` prints: the run, the server, the table and how many figures pass."""
    targets = [row for row in rows if row.passed is not None]
    return "\n".join(
        [
            f"Run {when} in {minutes:.1f} min on {about}.",
            server_config(index_size),
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


def write_results(output):
    RESULTS.write_text(
        "# Benchmark results\n\n"
        "The last full output of `make bench` (how to read and rerun it: "
        "[docs/performance.md](../docs/performance.md)).\n\n" + output + "\n",
        encoding="utf-8",
    )
