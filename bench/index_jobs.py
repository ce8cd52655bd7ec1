"""What the index rows (bench/index.py) do inside the dashboard's own Django: filling the index
through its own code, exporting, and measuring the tables.

`python -m bench.index_jobs COMMAND [ARG]` with the stack's settings (Stack.run); it prints one
JSON object, its result. The platform is only ever reached through conversations/client.py.

    summaries        index every conversation of the platform's list, as the list gives it
    details SINCE    read and store the detail of those that started on SINCE or later
    newest COUNT     read and store the detail of the COUNT newest (no summaries first)
    reviews          give a seeded share of the indexed conversations a verdict
    export SINCE     export the conversations since SINCE as CSV through export.start
    sizes            bytes on disk of the index's tables, and how many conversations they hold
"""

import json
import os
import random
import sys
import threading
import time
from datetime import date

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.postgres import TABLES  # noqa: E402
from conversations import client, export, index, sync  # noqa: E402
from conversations.models import IndexedConversation, Review, SyncState  # noqa: E402
from conversations.reviews import ReviewFilter  # noqa: E402

BATCH = 1000
# Details are read and stored this many at a time, so that the conversations read ahead of
# the storing thread do not pile up in memory.
DETAIL_BATCH = 500
# The verdicts I3 filters on: about one conversation in twenty is flagged.
VERDICTS = (
    (Review.Status.FLAGGED, 0.05),
    (Review.Status.PASSED, 0.10),
    (Review.Status.FOLLOW_UP, 0.02),
)
SEED = 1


def platform_pages():
    """Every conversation of the platform's list, page by page, as the worker reads it."""
    cursor = None
    while True:
        page = client.list_conversations(cursor=cursor, page_size=sync.PAGE_SIZE, cached=False)
        yield page.items
        if not page.has_more or not page.next_cursor:
            return
        cursor = page.next_cursor


def summaries():
    """Index the whole list as the worker's head sync and backfill record it before a detail
    is read (index.summary_fields), marked as read, in bulk; the backfill marked finished."""
    started, count = time.monotonic(), 0
    for items in platform_pages():
        rows = [
            IndexedConversation(
                conversation_id=item.id,
                **{**index.NEW_ROW, **index.summary_fields(item), "detailed": True},
            )
            for item in items
        ]
        IndexedConversation.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        count += len(rows)
    now = timezone.now()
    for name in (sync.HEAD, sync.BACKFILL, sync.RECONCILE):
        SyncState.objects.update_or_create(
            name=name, defaults={"finished": True, "started_at": now, "seen": count}
        )
    return {"conversations": count, "seconds": time.monotonic() - started}


def store_details(conversation_ids):
    """The worker's own reading and storing (sync.fetch_details), SYNC_CONCURRENCY at a time."""
    started, stored = time.monotonic(), 0
    for first in range(0, len(conversation_ids), DETAIL_BATCH):
        batch = conversation_ids[first : first + DETAIL_BATCH]
        stored += sync.fetch_details(batch, time.monotonic() + 3600)
    return {"conversations": stored, "seconds": time.monotonic() - started}


def details(since):
    start, _ = ReviewFilter(since=date.fromisoformat(since)).start_range()
    ids = IndexedConversation.objects.filter(start_time__gte=start).order_by("-start_time")
    return store_details(list(ids.values_list("conversation_id", flat=True)))


def newest(count):
    ids = []
    for items in platform_pages():
        ids += [item.id for item in items]
        if len(ids) >= int(count):
            break
    return store_details(ids[: int(count)])


def give_verdicts():
    """A seeded share of the indexed conversations reviewed: VERDICTS, the rest unreviewed."""
    rng = random.Random(SEED)
    ids = IndexedConversation.objects.order_by("conversation_id").values_list(
        "conversation_id", flat=True
    )
    verdicts = []
    for conversation_id in ids.iterator(chunk_size=BATCH):
        draw = rng.random()
        for status, share in VERDICTS:
            if draw < share:
                verdicts.append(Review(conversation_id=conversation_id, status=status))
                break
            draw -= share
    with transaction.atomic():
        Review.objects.bulk_create(verdicts, batch_size=BATCH)
    return {status: sum(r.status == status for r in verdicts) for status, _ in VERDICTS}


class Memory:
    """This process's resident memory, sampled every 20 ms in a thread: the most seen."""

    def __init__(self):
        self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


def rss():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run_export(since):
    """Export the list since SINCE as CSV through export.start, as the list page's button does.

    Memory: the resident size before, and the most seen during the first tenth of the rows
    and during the rest; a stream that holds no rows stays where the first tenth left it.
    """
    user = User.objects.get(username=os.environ["BENCH_USER"])
    review_filter = ReviewFilter(since=date.fromisoformat(since))
    expected = IndexedConversation.objects.filter(start_time__gte=review_filter.start_range()[0])
    expected = expected.count()
    before = rss()
    rows, size = -1, 0  # the header is not a row
    started = time.perf_counter()
    lines = export.start(user=user, review_filter=review_filter, fmt="csv")
    try:
        with Memory() as first_tenth:
            for line in lines:
                rows, size = rows + 1, size + len(line)
                if rows >= expected // 10:
                    break
        with Memory() as rest:
            for line in lines:
                rows, size = rows + 1, size + len(line)
    finally:
        lines.close()
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "expected": expected,
        "bytes": size,
        "seconds": seconds,
        "rss_before": before,
        "rss_first_tenth": first_tenth.peak,
        "rss_rest": rest.peak,
    }


def sizes():
    """pg_total_relation_size (rows, indexes, TOAST) of each index table, and the counts."""
    with connection.cursor() as cursor:
        result = {}
        for table in TABLES:
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            result[table] = cursor.fetchone()[0]
    result["conversations"] = IndexedConversation.objects.filter(detailed=True).count()
    return result


COMMANDS = {
    "summaries": summaries,
    "details": details,
    "newest": newest,
    "reviews": give_verdicts,
    "export": run_export,
    "sizes": sizes,
}


def main(argv):
    command, *args = argv
    print(json.dumps(COMMANDS[command](*args)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
