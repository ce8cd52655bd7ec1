"""S1 and S3: search over the conversation index (docs/performance.md).

The emulator's workspace of BENCH_INDEX_SIZE conversations (about 24 turns each) is written
in bulk into a PostgreSQL database and into a SQLite file, both migrated by Django, as the
worker would leave them (bench/search_jobs.py; a sample is stored again by index.store to
prove it). Then:

    S1  four searches of the list page (`/?q=`) under gunicorn, cache off: on PostgreSQL with
        its trigram index, against the same page on a second dashboard whose connections may
        not use bitmap scans (PGOPTIONS), which leaves no way to read a GIN index: the texts
        are read by a sequential scan; and the same page on SQLite (FTS5, trigram). Every
        statement of those pages that reads the texts, with EXPLAIN ANALYZE both ways; the
        plans go to bench/out/S1-plans.txt.
    S3  the conversation page as a search hit opens it (`?q=`: the page finds its place in the
        search's list) against the same page opened plainly, on PostgreSQL.
"""

import gzip
import html
import itertools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.report import Row
from bench.stack import LIST_PATH, ROOT, USERNAME, Stack
from bench.timing import BenchError, fetch, ms, p50, p95, paired

# (what it is, the list's parameters): a common English word of the generated text (about a
# fifth of the conversations), a phrase, a Chinese string (about 2 %), a word and a filter.
QUERIES = (
    ("one word", {"q": "refund"}),
    ("a phrase", {"q": '"reset link"'}),
    ("a CJK string", {"q": "退款申请"}),
    ("a word with a filter", {"q": "refund", "outcome": "failure"}),
)
RUNS = 20  # rounds of each query: the indexed page, the scanning page and SQLite's
WARMUP = 1  # besides the first request of each page, which checks its rows
# A page slower than this in all (ms) is timed no more after MIN_RUNS: a baseline that takes
# seconds a page says so in three runs, and the row says how many it got.
BUDGET_MS = 15_000
MIN_RUNS = 3
SLOW_MS = 2000  # a page this slow the first time is not warmed up again
HIT_RUNS = 40
TYPICAL_TURNS = range(18, 31)  # S3's conversation: about the workspace's average of 24
SAMPLE = 40  # conversations stored again by index.store after the bulk load
PLANS = ROOT / "bench" / "out" / "S1-plans.txt"
# Without bitmap scans the planner has no way to read a GIN index (it has no plain index
# scans), so the trigram index goes unused; the btree indexes stay usable.
NO_BITMAPS = "-c enable_bitmapscan=off"
TRIGRAM_INDEX = "indexedtext_trgm"  # migration 0010's
ROW_ID_RE = re.compile(r'name="ids" value="([^"]+)"')
HIT_RE = re.compile(r'<a class="hit" href="([^"]+)"')


def job(stack, *args, **extra_env):
    """A command of bench/search_jobs.py in the stack's settings: its JSON answer."""
    output = stack.run("-m", "bench.search_jobs", *args, BENCH_USER=USERNAME, **extra_env)
    return json.loads(output.strip().splitlines()[-1])


def measure(selected, tmp, databases, size):
    """The rows of S1 and S3 among `selected`, on stacks of their own."""
    stacks = [Stack(tmp, conversations=size, database_url=databases.create("S1"), name="s1")]
    try:
        if "S1" in selected:
            url = f"sqlite:///{tmp / 's1.sqlite3'}"
            stacks.append(Stack(tmp, conversations=size, database_url=url, name="s1-sqlite"))
        print(f"S1/S3: writing {size:,} conversations into the index", flush=True)
        workspace = seed(stacks, size)
        dashboard = stacks[0].dashboard(cache=False, name="s1-index")
        rows = []
        if "S1" in selected:
            rows += [workspace, *s1_search(stacks, dashboard, size)]
        if "S3" in selected:
            rows += s3_hit(stacks[0], dashboard)
    finally:
        for stack in stacks:
            stack.close()
    return rows


def seed(stacks, size):
    """Both databases filled at once (the load is one Python process each), then checked."""
    with ThreadPoolExecutor(max_workers=len(stacks)) as pool:
        seeded = list(pool.map(lambda stack: job(stack, "seed", str(size)), stacks))
    checked = [job(stack, "check", str(SAMPLE)) for stack in stacks]
    changed = {cid: tables for result in checked for cid, tables in result["changed"].items()}
    if changed:
        raise BenchError(f"index.store wrote otherwise than the bulk load: {changed}")
    loads = ", ".join(
        f"{name} {result['seconds']:.0f} s"
        for name, result in zip(("PostgreSQL (COPY)", "SQLite"), seeded, strict=False)
    )
    return Row(
        "S1",
        f"the workspace: {size:,} conversations, {seeded[0]['turns']:,} turns, written in bulk "
        f"({loads}, each with its indexes built); {checked[0]['checked']} of them then stored "
        "again by index.store from the emulator's answers, on each database: no row changed",
        "—",
        "—",
        "—",
        "—",
        None,
    )


def s1_search(stacks, indexed, size):
    postgres, sqlite = stacks
    scanning = postgres.dashboard(cache=False, name="s1-scan", PGOPTIONS=NO_BITMAPS)
    lite = sqlite.dashboard(cache=False, name="s1-sqlite")
    sessions = [
        (indexed, postgres.login(indexed)),
        (scanning, postgres.login(scanning)),
        (lite, sqlite.login(lite)),
    ]
    rows, plans = [], []
    for label, params in QUERIES:
        print(f"S1: {label} {params}", flush=True)
        shown, first_ms = same_rows(sessions, params)
        explained = job(postgres, "explain", urlencode(params))
        plans.append(explained)
        pages = [page_timer(session, dashboard.url, params) for dashboard, session in sessions]
        # A page that took seconds the first time needs no warming up.
        slow = [first >= SLOW_MS for first in first_ms]
        timed = rounds(pages, RUNS, slow)
        rows += s1_rows(Searched(label, params, explained, shown, *timed), size)
    write_plans(plans)
    return rows


def page_timer(session, url, params):
    """A timed request of the page, each a new search as someone typing it makes it."""
    typed = itertools.count(1)

    def page():
        return fetch(session, url + "/", params=retyped(params, next(typed)))[0]

    return page


def retyped(params, spaces):
    """The same search typed another way: the query quoted with `spaces` spaces inside the
    quotes, which folding drops (the same terms, the same statements), so that the list counts
    its matches again instead of reading the count a request before it kept (queries.counts
    keeps it by the query as typed)."""
    return {**params, "q": '"' + " " * spaces + params["q"].strip('"') + '"'}


def same_rows(sessions, params):
    """How many rows the first page shows, which must be the same conversations on both
    databases, each with a hit (else the page did not search the index); and how long each
    dashboard took for it (ms)."""
    found, took = [], []
    for dashboard, session in sessions:
        elapsed, response, body = fetch(session, dashboard.url + "/", params=params)
        took.append(elapsed)
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        body = body.decode()
        ids = ROW_ID_RE.findall(body)
        if not ids or len(HIT_RE.findall(body)) != len(ids):
            raise BenchError(f"The search {params} found no hits on {dashboard.url}.")
        found.append(ids)
    if found[0] != found[2]:
        raise BenchError(f"PostgreSQL and SQLite listed different conversations for {params}.")
    return len(found[0]), took


def rounds(calls, runs, slow):
    """Time several calls in turn, `runs` times each (timing.paired for more than two), after
    WARMUP rounds of those not `slow`; a call no more once it has taken BUDGET_MS in all over
    at least MIN_RUNS."""
    for _ in range(WARMUP):
        for call, skip in zip(calls, slow, strict=True):
            if not skip:
                call()
    times = [[] for _ in calls]
    for _ in range(runs):
        for timed, call in zip(times, calls, strict=True):
            if len(timed) < MIN_RUNS or sum(timed) < BUDGET_MS:
                timed.append(call())
    return times


def runs_of(times):
    """How many runs a figure is over, when fewer than RUNS."""
    return "" if len(times) >= RUNS else f" over {len(times)} runs"


@dataclass(frozen=True)
class Searched:
    """One search's measurements: its plans (search_jobs.explain), the rows its first page
    showed, and the page's times on each dashboard."""

    label: str
    params: dict
    explained: dict
    shown: int
    index_ms: list
    scan_ms: list
    sqlite_ms: list


def s1_rows(searched, size):
    label, explained, shown = searched.label, searched.explained, searched.shown
    index_ms, scan_ms, sqlite_ms = searched.index_ms, searched.scan_ms, searched.sqlite_ms
    query = " & ".join(f"{key}={value}" for key, value in searched.params.items())
    statements = explained["statements"]
    with_index = sum(s["with_index"]["ms"] for s in statements)
    sequential = sum(s["sequential"]["ms"] for s in statements)
    trigram = sum(reads(s["with_index"]["plan"], TRIGRAM_INDEX) for s in statements)
    ratio = p50(sqlite_ms) / p50(index_ms)
    return [
        Row(
            "S1",
            f"search, {label} (`{query}`), {explained['matches']:,} of {size:,} conversations "
            f"match: the list page ({shown} rows, its matches counted afresh each time) on "
            "PostgreSQL, trigram index",
            f"the same page by a sequential scan (no bitmap scans): p50 {ms(p50(scan_ms))}, "
            f"p95 {ms(p95(scan_ms))}{runs_of(scan_ms)}; the page's {len(statements)} "
            f"statements that read the texts, by EXPLAIN ANALYZE: {ms(with_index)} as planned "
            f"(the trigram index read by {trigram} of them), {ms(sequential)} without bitmap scans",
            ms(p50(index_ms)),
            ms(p95(index_ms)),
            "p50 ≤ 100 ms, p95 ≤ 250 ms",
            p50(index_ms) <= 100 and p95(index_ms) <= 250,
        ),
        Row(
            "S1",
            f"the same search on SQLite (FTS5, trigram), the same {shown} rows",
            f"PostgreSQL: p50 {ms(p50(index_ms))}",
            f"{ratio:.2f}× ({ms(p50(sqlite_ms))}{runs_of(sqlite_ms)})",
            ms(p95(sqlite_ms)),
            "p50 ≤ 2× PostgreSQL's",
            ratio <= 2,
        ),
    ]


def reads(node, index_name):
    """Whether a plan reads this index somewhere."""
    return node.get("Index Name") == index_name or any(
        reads(child, index_name) for child in node.get("Plans", ())
    )


def write_plans(explained):
    """Every statement's plan, both ways, for reading the S1 rows."""
    lines = []
    for result in explained:
        lines.append(f"# {result['params']} ({result['matches']:,} matches)")
        for statement in result["statements"]:
            lines += ["", statement["sql"], ""]
            for way in ("with_index", "sequential"):
                lines.append(f"{way}: {statement[way]['ms']:.1f} ms")
                lines += plan_lines(statement[way]["plan"], 1)
        lines.append("")
    PLANS.parent.mkdir(exist_ok=True)
    PLANS.write_text("\n".join(lines) + "\n", encoding="utf-8")


def plan_lines(node, depth):
    """A plan node and its children as indented lines: what ran, on what, for how long."""
    what = node["Node Type"]
    if "Index Name" in node:
        what += f" using {node['Index Name']}"
    if "Relation Name" in node:
        what += f" on {node['Relation Name']}"
    removed = node.get("Rows Removed by Filter") or node.get("Rows Removed by Index Recheck")
    line = (
        f"{'  ' * depth}{what}: {node['Actual Total Time']:.1f} ms, "
        f"{node['Actual Rows']} rows × {node['Actual Loops']}"
        + (f", {removed} removed" if removed else "")
    )
    children = [plan_lines(child, depth + 1) for child in node.get("Plans", ())]
    return [line, *(line for lines in children for line in lines)]


def typical(stack, links):
    """The first of these hits' links whose conversation has TYPICAL_TURNS (else the first),
    and its number of turns."""
    found = []
    for link in links:
        conversation_id = link.partition("?")[0].rstrip("/").rsplit("/", 1)[-1]
        detail = stack.emulator.api(f"{LIST_PATH}/{conversation_id}").json()
        found.append((link, len(detail["transcript"])))
        if found[-1][1] in TYPICAL_TURNS:
            return found[-1]
    return found[0]


def s3_hit(stack, dashboard):
    """A hit of the one-word search on a typical conversation, opened as its link opens it
    and plainly."""
    session = stack.login(dashboard)
    params = QUERIES[0][1]
    body = session.get(dashboard.url + "/", params=params, timeout=120).text
    # The fragment (#t=...) stays in the browser; the page is asked for without it.
    links = [html.unescape(href).partition("#")[0] for href in HIT_RE.findall(body)]
    if not links:
        raise BenchError(f"The search {params} found no hits.")
    link, turns = typical(stack, links)
    plain = link.partition("?")[0]

    def opened_plainly():
        return fetch(session, dashboard.url + plain)[0]

    def opened_from_hit():
        return fetch(session, dashboard.url + link)[0]

    plain_ms, hit_ms = paired(opened_plainly, opened_from_hit, HIT_RUNS)
    ratio = p50(hit_ms) / p50(plain_ms)
    return [
        Row(
            "S3",
            f"the conversation page opened from a hit of `q={params['q']}` "
            f"(`{link}`: its place in the search's list computed), {turns} turns, PostgreSQL",
            f"the same page opened plainly: p50 {ms(p50(plain_ms))}",
            f"{ratio:.2f}× ({ms(p50(hit_ms))})",
            f"{p95(hit_ms) / p95(plain_ms):.2f}× ({ms(p95(hit_ms))})",
            "p50 ≤ 1.1× the plain page",
            ratio <= 1.1,
        )
    ]
