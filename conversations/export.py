"""Export the list, with its filters and review state, as CSV or JSON Lines, streamed.

The list endpoint carries summaries only, so each exported conversation is fetched once for
its evaluation results and collected data. Rows are produced one at a time: memory does
not grow with the size of the export. Each export keeps several platform calls going, so
only a few run at once (`slot_take`). Each is recorded in the audit log when it ends, and
reports its progress to the list page, which polls for it (`start`).
"""

import csv
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache

from conversations import client, reviews
from conversations.models import AuditRecord

log = logging.getLogger(__name__)

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

COLUMNS = [
    "conversation_id",
    "agent_id",
    "agent_name",
    "start_time",
    "end_time",
    "duration_secs",
    "status",
    "evaluation",
    "collected_data",
    "review_status",
    "assignee",
    "tags",
    "notes",
]


def export_rows(review_filter, user):
    """Yield one dict per matching conversation, following the platform's cursor to the end.

    A page's conversations are fetched a few at a time (XUNA_EXPORT_CONCURRENCY): at the
    platform's latency, one after another would make a large export take many minutes.
    Only one page is in memory at once.
    """
    cursor = None
    with ThreadPoolExecutor(max_workers=settings.XUNA_EXPORT_CONCURRENCY) as pool:
        while True:
            result = reviews.fetch_page(
                review_filter, user, cursor=cursor, page_size=reviews.SCAN_PAGE_SIZE
            )
            yield from pool.map(as_record, result.rows)
            if not result.has_more:
                return
            cursor = result.next_cursor


def as_record(row):
    summary, review = row.conversation, row.review
    try:
        conversation = client.get_conversation(summary.id, cached=False)
    except client.ConversationNotFound:
        conversation = summary
    return {
        "conversation_id": conversation.id,
        "agent_id": conversation.agent_id or summary.agent_id,
        "agent_name": conversation.agent_name or summary.agent_name,
        "start_time": iso(conversation.start_time),
        "end_time": iso(conversation.end_time),
        "duration_secs": conversation.duration,
        "status": conversation.status or summary.status,
        "evaluation": {
            e.criterion: e.score if e.score is not None else e.result
            for e in conversation.evaluation
        },
        "collected_data": {d.key: d.value for d in conversation.collected_data},
        "review_status": review.status if review else "unreviewed",
        "assignee": review.assignee.get_username() if review and review.assignee else "",
        "tags": list(review.tags) if review else [],
        "notes": review.notes if review else "",
    }


def iso(moment):
    return moment.isoformat() if moment else None


def as_jsonl(records):
    for record in records:
        yield json.dumps(record, ensure_ascii=False, default=str) + "\n"


class Line:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value):
        return value


def as_csv(records):
    return csv_lines(COLUMNS, ([record[name] for name in COLUMNS] for record in records))


def csv_lines(columns, rows):
    """The header, then each row (its values in the columns' order) as a CSV line."""
    writer = csv.writer(Line())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_cell(value):
    """A value for a CSV cell; text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    elif isinstance(value, list):
        value = "; ".join(str(item) for item in value)
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if starts_a_formula(text) else text


# What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list), and the
# full-width forms of = + - @, which some spreadsheets read as the same signs.
FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")


def starts_a_formula(text):
    """Whether a spreadsheet could run the cell: a trigger first, or after leading blanks.

    Spreadsheets skip spaces and line breaks before a formula (" =1+2", "\\n=1+3"), so the
    first character that is not blank counts too; a tab or CR is a trigger in itself.
    """
    return text[:1] in FORMULA_STARTS or text.lstrip()[:1] in FORMULA_STARTS


def start(*, user, review_filter, fmt, progress_token=""):
    """The lines of an export, audited, holding a place among the running exports.

    Raises ExportsBusy when there is no place; the list page, if it polls for this export's
    progress, is told why at once.
    """
    key = progress_key(user, progress_token)
    records = export_rows(review_filter, user)
    lines = as_csv(records) if fmt == "csv" else as_jsonl(records)
    try:
        return slot_take(user=user, lines=audited(lines, user, review_filter, fmt, key))
    except ExportsBusy as exc:
        if key:
            progress_report(key, rows=0, problem=str(exc))
        raise


def audited(lines, user, review_filter, fmt, key):
    """Stream the export, report progress every 50 lines, and record it when it ends."""
    header = 1 if fmt == "csv" else 0
    lines_out, problem = 0, "stopped before the end"
    try:
        for line in lines:
            yield line
            lines_out += 1
            if key and lines_out % 50 == 0:
                progress_report(key, rows=lines_out - header, problem=None)
        problem = ""
    except client.XunaError as exc:
        # The response has started: the file ends here, and the page and the audit say so.
        log.warning("Export stopped by a platform error: %s", type(exc).__name__)
        problem = "the platform failed during the export; the file is incomplete"
    finally:
        rows = max(lines_out - header, 0)
        if key:
            progress_report(key, rows=rows, problem=problem)
        record_export(user, review_filter, fmt, rows, problem)


def record_export(user, review_filter, fmt, rows, problem):
    """The export's audit record: who, how many rows, with which filter, and how it ended."""
    filters = review_filter.query_string() or "none"
    AuditRecord.objects.create(
        user=user,
        username=user.get_username(),
        outcome=AuditRecord.Outcome.EXPORTED,
        row_count=rows,
        detail=(f"{fmt}; filter: {filters}" + (f"; {problem}" if problem else ""))[:300],
    )


# The list page names each export's progress with a token of its own (app.js).
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
PROGRESS_SECONDS = 3600


def progress_key(user, token):
    """The cache key of one export's progress; None for a token that is not one."""
    return f"export-progress:{user.pk}:{token}" if TOKEN_RE.fullmatch(token) else None


def progress_report(key, *, rows, problem):
    """Store an export's progress; `problem` is None while it runs, a sentence or "" at its end."""
    progress = {"rows": rows, "done": problem is not None}
    if problem is not None:
        progress["problem"] = problem
    cache.set(key, progress, PROGRESS_SECONDS)


def progress_read(key):
    return cache.get(key) or {"rows": 0, "done": False}


class ExportsBusy(Exception):
    """Too many exports are running, the user's own or everyone's; the message says which."""


# A running export renews its places every quarter of this; the places of an export whose
# process died expire this long after their last renewal instead of being held for ever.
SLOT_SECONDS = 120


def slot_take(*, user, lines):
    """The export's lines, holding a place among the running exports until they end.

    Raises ExportsBusy when the user already runs EXPORT_MAX_PER_USER exports, or everyone
    together EXPORT_MAX_TOTAL. Each place is a cache key taken with add(), which one caller
    alone can win (SET NX in Redis, a lock in local memory), so the limits hold across
    threads, processes and, with REDIS_URL, instances. The user's own place is taken first:
    a user at their own limit takes no place from anyone else. Without a working cache the
    limits are off (the cache answers every add() as stored), and exports run as before.
    """
    own = slot_claim(f"user:{user.pk}", settings.EXPORT_MAX_PER_USER)
    if own is None:
        raise ExportsBusy(
            "You already have an export running. Wait for it to finish, then try again."
        )
    everyone = slot_claim("all", settings.EXPORT_MAX_TOTAL)
    if everyone is None:
        cache.delete(own)
        raise ExportsBusy(
            "Other exports are running now, and another would slow the dashboard for everyone. "
            "Try again in a few minutes."
        )
    return ExportSlot([own, everyone], lines)


def slot_claim(scope, places):
    """Claim the first free one of a scope's places: its key, or None when all are taken."""
    for number in range(places):
        key = f"export-slot:{scope}:{number}"
        if cache.add(key, 1, SLOT_SECONDS):
            return key
    return None


class ExportSlot:
    """An export's stream of lines, which frees its places when Django closes it.

    Django closes a streamed response when it is done with it, also when the browser went
    away before the end. A `finally` in a generator would not do: it never runs when the
    stream is closed before its first line.
    """

    def __init__(self, keys, lines):
        self.keys = keys
        self.lines = iter(lines)
        self.renewed = time.monotonic()

    def __iter__(self):
        return self

    def __next__(self):
        line = next(self.lines)
        if time.monotonic() - self.renewed > SLOT_SECONDS / 4:
            self.renewed = time.monotonic()
            for key in self.keys:
                # Taken again if it expired while the export waited on a slow reader.
                if not cache.touch(key, SLOT_SECONDS):
                    cache.add(key, 1, SLOT_SECONDS)
        return line

    def close(self):
        try:
            if hasattr(self.lines, "close"):
                self.lines.close()
        finally:
            cache.delete_many(self.keys)
            self.keys = []
