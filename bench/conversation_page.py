"""P3: a conversation page with a 1,200-turn transcript against a direct get of it.

The figures and their targets are described in docs/performance.md.
"""

from bench.report import Row
from bench.stack import LIST_PATH
from bench.timing import BenchError, fetch, ms, p50, p95, paired


def find_long_conversation(stack, turns=1000):
    """The id of a conversation with at least `turns` turns (the seeded data has one)."""
    cursor = None
    while True:
        params = {"page_size": 100, **({"cursor": cursor} if cursor else {})}
        body = stack.emulator.api(LIST_PATH, params=params).json()
        for item in body["conversations"]:
            if item.get("message_count", 0) >= turns:
                return item["conversation_id"]
        cursor = body.get("next_cursor")
        if not cursor:
            raise BenchError(f"The emulator has no conversation of {turns} turns.")


def p3_long_conversation(stack, dashboard, session, conversation_id, runs=60):
    stack.emulator.set_latency(0)
    path = f"{LIST_PATH}/{conversation_id}"
    turns = len(stack.emulator.api(path).json()["transcript"])
    sizes = []

    def direct():
        return fetch(stack.emulator.http, stack.emulator.url + path)[0]

    def page():
        elapsed, response, body = fetch(
            session, f"{dashboard.url}/conversations/{conversation_id}/"
        )
        if response.headers.get("Content-Encoding") != "gzip":
            raise BenchError("The conversation page was not sent compressed.")
        sizes.append(len(body))
        return elapsed

    direct_ms, page_ms = paired(direct, page, runs)
    overhead = [b - a for a, b in zip(direct_ms, page_ms, strict=True)]
    size_kb = max(sizes) / 1024
    return [
        Row(
            "P3",
            f"conversation page, {turns}-turn transcript, upstream 0 ms",
            f"direct get: p50 {ms(p50(direct_ms))}",
            f"{ms(p50(overhead))} (ratio {p50(page_ms) / p50(direct_ms):.1f})",
            ms(p95(overhead)),
            "overhead p50 ≤ 60 ms",
            p50(overhead) <= 60,
        ),
        Row(
            "P3",
            "its HTML, gzipped as sent",
            "—",
            f"{size_kb:.1f} KB",
            "—",
            "≤ 120 KB",
            size_kb <= 120,
        ),
    ]
