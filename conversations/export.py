"""Export the list, with its filters and review state, as CSV or JSON Lines, streamed.

The list endpoint carries summaries only, so each exported conversation is fetched once for
its evaluation results and collected data. Rows are produced one at a time: memory does
not grow with the size of the export.
"""

import csv
import json
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from conversations import client, reviews

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
    writer = csv.writer(Line())
    yield writer.writerow(COLUMNS)
    for record in records:
        yield writer.writerow([csv_cell(record[name]) for name in COLUMNS])


def csv_cell(value):
    """A value for a CSV cell; text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    elif isinstance(value, list):
        value = "; ".join(str(item) for item in value)
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
