"""P1, P2, P7 and P8: the list page against the platform's own list call (docs/performance.md).

P1 and P2 time the page with the cache off, at 100 ms and at 0 ms of platform latency; P7
times it again within the cache lifetime; P8 times the 20th "Load more" against the first.
"""

import html
import re
from urllib.parse import unquote

import requests

from bench.report import Row
from bench.stack import LIST_PATH
from bench.timing import BenchError, fetch, ms, p50, p95, paired

CURSOR_RE = re.compile(r'id="load-more".*?cursor=([^"&]+)', re.DOTALL)


def list_timings(stack, dashboard, session, *, latency_ms, runs):
    stack.emulator.set_latency(latency_ms)
    page_size = 50

    def direct():
        return fetch(
            stack.emulator.http, stack.emulator.url + LIST_PATH, params={"page_size": page_size}
        )[0]

    def page():
        return fetch(session, dashboard.url + "/")[0]

    return paired(direct, page, runs)


def p1_list_at_100ms(stack, dashboard, session, runs=100):
    direct, page = list_timings(stack, dashboard, session, latency_ms=100, runs=runs)
    ratio50, ratio95 = p50(page) / p50(direct), p95(page) / p95(direct)
    rows = [
        Row(
            "P1",
            "list page, 50 rows, upstream 100 ms, not cached",
            f"direct list call: p50 {ms(p50(direct))}, p95 {ms(p95(direct))}",
            f"{ratio50:.3f} ({ms(p50(page))})",
            f"{ratio95:.3f} ({ms(p95(page))})",
            "p50 ≤ 1.10, p95 ≤ 1.15",
            ratio50 <= 1.10 and ratio95 <= 1.15,
        )
    ]
    return rows, p50(page)


def p2_list_overhead(stack, dashboard, session, runs=200):
    direct, page = list_timings(stack, dashboard, session, latency_ms=0, runs=runs)
    overhead = [b - a for a, b in zip(direct, page, strict=True)]
    return [
        Row(
            "P2",
            "list page overhead, upstream 0 ms",
            f"direct list call: p50 {ms(p50(direct))}",
            f"{ms(p50(overhead))} (ratio {p50(page) / p50(direct):.1f})",
            ms(p95(overhead)),
            "overhead p50 ≤ 15 ms",
            p50(overhead) <= 15,
        )
    ]


def p7_cached_list(stack, dashboard, session, uncached_p50, runs=200):
    stack.emulator.set_latency(100)
    # Fill the cache of the worker this session talks to, then of every worker (each has its
    # own memory cache): fresh connections are spread over them.
    fetch(session, dashboard.url + "/")
    for _ in range(16):
        with requests.Session() as fresh:
            fresh.cookies.update(session.cookies)
            fetch(fresh, dashboard.url + "/")
    stack.emulator.clear_calls()
    timings = [fetch(session, dashboard.url + "/")[0] for _ in range(runs)]
    calls = len(stack.emulator.calls())
    stack.emulator.set_latency(0)
    share = p50(timings) / uncached_p50
    return [
        Row(
            "P7",
            f"list page again within the cache lifetime ({runs} requests)",
            f"P1 uncached p50: {ms(uncached_p50)}",
            f"{share:.1%} ({ms(p50(timings))})",
            f"{p95(timings) / uncached_p50:.1%} ({ms(p95(timings))})",
            "p50 ≤ 10 %",
            share <= 0.10,
        ),
        Row(
            "P7",
            "upstream calls during those requests (emulator's call log)",
            "—",
            str(calls),
            "—",
            "0",
            calls == 0,
        ),
    ]


def next_cursor(body):
    match = CURSOR_RE.search(body)
    if match is None:
        raise BenchError("The page has no 'Load more' link.")
    return unquote(html.unescape(match[1]))


def p8_load_more(stack, dashboard, session, pages=20, runs=40):
    stack.emulator.set_latency(0)
    htmx = {"HX-Request": "true"}
    page = session.get(dashboard.url + "/", timeout=30).text
    cursors = []
    for _ in range(pages):
        cursors.append(next_cursor(page))
        page = session.get(
            dashboard.url + "/", params={"cursor": cursors[-1]}, headers=htmx, timeout=30
        ).text

    def load(cursor):
        return fetch(session, dashboard.url + "/", params={"cursor": cursor}, headers=htmx)[0]

    first, last = paired(lambda: load(cursors[0]), lambda: load(cursors[-1]), runs)
    ratio = p50(last) / p50(first)
    return [
        Row(
            "P8",
            f"'Load more' #{pages} of a 10,000-conversation workspace",
            f"'Load more' #1: p50 {ms(p50(first))}",
            f"{ratio:.2f} ({ms(p50(last))})",
            f"{p95(last) / p95(first):.2f} ({ms(p95(last))})",
            "p50 ≤ 1.2× the first",
            ratio <= 1.2,
        )
    ]
