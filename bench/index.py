"""I3, I4 and I5: lists, exports and disk space of the conversation index, on PostgreSQL
(docs/performance.md).

One workspace of BENCH_INDEX_SIZE conversations is indexed through the index's own code
(bench/index_jobs.py): every conversation as the list gives it, in bulk, then the detail of
the last six days' (about a tenth) as the worker reads and stores it; a seeded twentieth of
them is flagged, more are passed or need follow-up. Then:

    I3  "Flagged, failed, last 7 days" from the index, against the same filter answered the
        old way (INDEX_ENABLED=off: a search of the platform's pages), both under gunicorn;
        and "Load more" deep into an indexed list against the first.
    I4  an export of the last six days through export.start: rows a second, memory, calls.
    I5  bytes on disk per conversation, with INDEX_TRANSCRIPTS on and off, each in a
        database of its own holding the detail of the I5_SAMPLE newest conversations.
"""

import json
from datetime import UTC, datetime, timedelta

from bench.list_page import next_cursor
from bench.report import Row
from bench.stack import USERNAME, Stack
from bench.timing import BenchError, fetch, ms, p50, p95, paired

LATENCY_MS = 50  # the platform's, as in I1 and I2
LIST_RUNS = 30
DEPTH = 100  # "Load more" #100
LOAD_MORE_RUNS = 40
EXPORT_DAYS = 6  # of the 60 the emulator's history spans: a tenth of the workspace
I5_SAMPLE = 2000
MIB = 1024 * 1024


def days_ago(days):
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def job(stack, *args, **extra_env):
    """A command of bench/index_jobs.py in the stack's settings: its JSON answer."""
    output = stack.run("-m", "bench.index_jobs", *args, BENCH_USER=USERNAME, **extra_env)
    return json.loads(output.strip().splitlines()[-1])


def indexed_stack(tmp, databases, size):
    """The workspace, indexed: every summary, the verdicts, the last EXPORT_DAYS' details."""
    stack = Stack(tmp, conversations=size, database_url=databases.create("I3"), name="i3")
    try:
        stack.emulator.set_latency(0)
        job(stack, "summaries")
        job(stack, "reviews")
        job(stack, "details", days_ago(EXPORT_DAYS))
    except BaseException:
        stack.close()
        raise
    return stack


def i3_list(stack, size):
    indexed = stack.dashboard(cache=False, name="indexed")
    scanning = stack.dashboard(cache=False, name="scanning", INDEX_ENABLED="off")
    on_index, on_scan = stack.login(indexed), stack.login(scanning)
    stack.emulator.set_latency(LATENCY_MS)
    query = {"review": "flagged", "outcome": "failure", "since": days_ago(7)}
    calls = [
        calls_of(stack, session, dashboard.url, query)
        for session, dashboard in ((on_index, indexed), (on_scan, scanning))
    ]

    def index_page():
        return fetch(on_index, indexed.url + "/", params=query)[0]

    def scan_page():
        return fetch(on_scan, scanning.url + "/", params=query)[0]

    index_times, scan_times = paired(index_page, scan_page, LIST_RUNS)
    rows = [
        Row(
            "I3",
            f"'Flagged, failed, last 7 days' over {size:,} indexed conversations, PostgreSQL, "
            f"upstream {LATENCY_MS} ms: the page from the index ({calls[0]} platform calls)",
            f"the same filter searching the platform's pages ({calls[1]} calls, "
            f"INDEX_ENABLED=off): p50 {ms(p50(scan_times))}",
            f"{ms(p50(index_times))} ({p50(index_times) / p50(scan_times):.1%} of the search)",
            ms(p95(index_times)),
            "p50 ≤ 30 ms",
            p50(index_times) <= 30,
        )
    ]
    rows += load_more(indexed, on_index, size)
    return rows


def calls_of(stack, session, url, query):
    """Platform calls one request of the list makes."""
    stack.emulator.clear_calls()
    fetch(session, url + "/", params=query)
    return len(stack.emulator.calls())


def load_more(dashboard, session, size):
    """'Load more' #DEPTH of the failed calls (or as deep as the list goes) against #1."""
    htmx = {"HX-Request": "true"}
    query = {"outcome": "failure"}
    page = session.get(dashboard.url + "/", params=query, timeout=60).text
    cursors = []
    while len(cursors) < DEPTH and 'id="load-more"' in page:
        cursors.append(next_cursor(page))
        page = session.get(
            dashboard.url + "/", params={**query, "cursor": cursors[-1]}, headers=htmx, timeout=60
        ).text
    if len(cursors) < 2:
        raise BenchError("The indexed list of failed calls has fewer than three pages.")

    def load(cursor):
        params = {**query, "cursor": cursor}
        return fetch(session, dashboard.url + "/", params=params, headers=htmx)[0]

    first, last = paired(lambda: load(cursors[0]), lambda: load(cursors[-1]), LOAD_MORE_RUNS)
    ratio = p50(last) / p50(first)
    return [
        Row(
            "I3",
            f"'Load more' #{len(cursors)} of the failed calls, from the index "
            f"({size:,} conversations)",
            f"'Load more' #1: p50 {ms(p50(first))}",
            f"{ratio:.2f} ({ms(p50(last))})",
            f"{p95(last) / p95(first):.2f} ({ms(p95(last))})",
            "p50 ≤ 1.2× the first",
            ratio <= 1.2,
        )
    ]


def i4_export(stack):
    stack.emulator.set_latency(LATENCY_MS)
    stack.emulator.clear_calls()
    result = job(stack, "export", days_ago(EXPORT_DAYS))
    calls = len(stack.emulator.calls())
    rate = result["rows"] / result["seconds"]
    growth = (result["rss_rest"] - result["rss_first_tenth"]) / MIB
    complete = result["rows"] == result["expected"]
    return [
        Row(
            "I4",
            f"CSV export of the last {EXPORT_DAYS} days through export.start: "
            f"{result['rows']:,} rows, {result['bytes'] / MIB:.1f} MiB"
            + ("" if complete else f" (of {result['expected']:,} expected)"),
            "—",
            f"{rate:,.0f} rows/s",
            "—",
            "≥ 2,000 rows/s",
            complete and rate >= 2000,
        ),
        Row(
            "I4",
            "the same export: its process's RSS after the first tenth of the rows, "
            "and its peak over the rest",
            f"before: {result['rss_before'] / MIB:.0f} MiB",
            f"{result['rss_first_tenth'] / MIB:.0f} → {result['rss_rest'] / MIB:.0f} MiB "
            f"({growth:+.1f} MiB)",
            "—",
            "growth ≤ 5 MiB",
            growth <= 5,
        ),
        Row(
            "I4",
            "the same export: platform calls (emulator's call log)",
            "—",
            str(calls),
            "—",
            "0",
            calls == 0,
        ),
    ]


def i5_disk(stack, databases, size):
    sample = min(I5_SAMPLE, size)
    stack.emulator.set_latency(0)
    measured = {}
    for transcripts in ("on", "off"):
        url = databases.create(f"I5_{transcripts}")
        stack.manage("migrate", "--no-input", "--verbosity", "0", DATABASE_URL=url)
        job(stack, "newest", str(sample), DATABASE_URL=url, INDEX_TRANSCRIPTS=transcripts)
        measured[transcripts] = job(stack, "sizes", DATABASE_URL=url)
    return [i5_row(measured[transcripts], transcripts) for transcripts in ("on", "off")]


def i5_row(sizes, transcripts):
    count = sizes.pop("conversations")
    per = sum(sizes.values()) / count
    tables = ", ".join(
        f"{name.removeprefix('conversations_indexed')} {value / count / 1024:.1f}"
        for name, value in sizes.items()
    )
    return Row(
        "I5",
        f"bytes on disk per indexed conversation, INDEX_TRANSCRIPTS={transcripts} "
        f"({count:,} stored by the worker's code; KB each: {tables})",
        "—",
        f"{per / 1024:.1f} KB (100,000: {per * 100_000 / 1024**3:.2f} GiB)",
        "—",
        "—",
        None,
    )
