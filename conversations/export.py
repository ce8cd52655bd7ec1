"""Export the list, with its filters and review state, as CSV or JSON Lines, streamed.

Where an export reads its conversations (`source_for`) is where the list reads them:

- From the conversation index when it is on and holds anything (queries.available) and
  either the filter needs it (ReviewFilter.local) or the backfill has reached the end of the
  history; then for every filter, also none or the agent alone. The list's conversations in
  the list's order, a batch at a time (queries.export_batches), with a few queries a batch
  and none a row, and no platform call. Such an export is as complete and as fresh as the
  index; one from an index still being filled says so in its audit record and its progress.
  A conversation whose detail the worker has not read yet has no evaluation, no collected
  data and no message count. A CSV from the index has one column per evaluation criterion
  ("evaluation: <criterion>": its score, else its result) and one per collected-data key
  ("data: <key>"), at most COLUMNS_MAX of each, the most frequent among the exported
  conversations first; what does not fit goes to one JSON column each ("evaluation: other",
  "data: other"), there only when something was left out. The rationales are in JSON Lines
  only, where "evaluation" maps each criterion to its result, score and rationale. A CSV's
  current score (QA_COLUMNS) is followed by one column per scorecard criterion its
  conversations' scores answered ("qa: <criterion>", its value), bounded in the same way.
- Else from the platform: its list is followed to its end and each conversation is fetched
  once for its evaluation and collected data, a few at a time. The criteria and keys are
  then not known before the last row, so the CSV has one "evaluation" and one
  "collected_data" column of JSON instead; the other columns are the same. A filter only the
  index can apply (an evaluation, collected data, a sort) refuses the export (IndexNeeded)
  rather than being ignored.

Either way: memory does not grow with the size of the export; a conversation deleted
through the dashboard, or whose deletion is under way, is left out; a CSV starts with a
UTF-8 byte order mark, so spreadsheets read names in any script. Only a few exports run at
once (`slot_take`). Each is recorded in the audit log when it ends, and reports its progress
to the list page, which polls for it (`start`).
"""

import csv
import dataclasses
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from conversations import client, comments, queries, reviews
from conversations.models import AuditRecord, Review, ReviewChange

log = logging.getLogger(__name__)

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

# A CSV's columns: these, then the evaluation and the collected data, then these.
FIRST_COLUMNS = [
    "conversation_id",
    "agent_id",
    "agent_name",
    "start_time",
    "end_time",
    "duration_secs",
    "status",
    "outcome",
    "message_count",
]
LAST_COLUMNS = [
    "review_status",
    "assignee",
    "tags",
    "comments",
    "reviewer",
    "reviewed_at",
    "link",
]
# A call's current score: with several scorecards, the highest total's (the list's score sort
# orders by it), or the filtered scorecard's; JSON Lines carries each.
QA_COLUMNS = ["qa_scorecard", "qa_total", "qa_auto_failed", "qa_scored_by"]
# Excel reads a CSV file as UTF-8 only when it starts with this.
BOM = "\ufeff"
# Conversations read from the index at once: a few queries each, and as many rows in memory.
BATCH_SIZE = 1000
# Columns of a CSV for criteria, and as many for keys: platform data may have thousands.
COLUMNS_MAX = 100
# Said in the audit record and the progress of an export from an index still being filled.
PARTIAL = "the index was still being filled: older conversations may be missing"


@dataclasses.dataclass(frozen=True)
class Source:
    """Where an export reads its conversations: the index, else the platform; `partial` when
    the index's backfill had not reached the end of the history."""

    index: bool
    partial: bool = False


def source_for(review_filter):
    """Where an export of this list reads its conversations (Source): where the list does.

    A list without a filter of the dashboard's own is the platform's; while the backfill
    runs, the index holds only its newest part, so the export reads the platform too. A
    filtered list is the index's even then (it says it may be partial), and so is its export.
    Raises IndexNeeded when the filter needs an index that is off or empty.
    """
    if not queries.available():
        if review_filter.unscannable:
            raise IndexNeeded(review_filter.unscannable)
        return Source(index=False)
    if queries.index_state().complete:
        return Source(index=True)
    return Source(index=True, partial=True) if review_filter.local else Source(index=False)


def export_lines(review_filter, user, fmt, base_url, source):
    """The export's lines, from the index or the platform as `source` says.

    A generator: nothing is read before the first line is asked for, so a refused export
    (ExportsBusy) costs no query of the export itself.
    """
    link_to = links(base_url)
    if source.index:
        conversations = queries.export_selected(review_filter, user)
        scope = None
        if fmt == "csv":
            scope = queries.export_scope(
                conversations, most=COLUMNS_MAX, scorecard=review_filter.scorecard
            )
        records = index_records(
            conversations, review_filter.sort, link_to, scorecard=review_filter.scorecard
        )
    else:
        scope, records = None, platform_records(review_filter, user, link_to)
    yield from as_csv(records, scope) if fmt == "csv" else as_jsonl(records)


def index_records(conversations, sort, link_to, *, scorecard=None):
    """One dict per conversation of the index, a batch at a time: a few queries a batch.
    Its "scores" are its current ones, only `scorecard`'s when the list is filtered by one."""
    for rows in queries.export_batches(conversations, sort, size=BATCH_SIZE):
        ids = [row.conversation_id for row in rows]
        evaluations, values = queries.export_details(ids)
        by_id = reviews.reviews_for(ids)
        reviewers = last_reviewers(by_id)
        threads = comments.comments_for(ids)
        scores = queries.export_scores(ids, scorecard=scorecard)
        for row in rows:
            conversation = dataclasses.replace(
                queries.as_conversation(row),
                end_time=end_of(row.start_time, row.duration),
                evaluation=tuple(evaluations.get(row.conversation_id, ())),
                collected_data=tuple(values.get(row.conversation_id, ())),
            )
            yield (
                as_record(
                    conversation,
                    by_id.get(row.conversation_id),
                    messages=row.messages if row.has_detail else None,
                    reviewer=reviewers.get(row.conversation_id),
                    link=link_to(row.conversation_id),
                )
                | {"comments": threads.get(row.conversation_id, [])}
                | {"scores": scores.get(row.conversation_id, [])}
            )


def platform_records(review_filter, user, link_to):
    """One dict per matching conversation, following the platform's cursor to the end.

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
            pending = AuditRecord.objects.deleted_or_pending_among(
                row.conversation.id for row in result.rows
            )
            rows = [row for row in result.rows if row.conversation.id not in pending]
            reviewers = last_reviewers({row.conversation.id: row.review for row in rows})
            threads = comments.comments_for(row.conversation.id for row in rows)
            scores = queries.export_scores(
                [row.conversation.id for row in rows], scorecard=review_filter.scorecard
            )
            for row, detail in zip(rows, pool.map(fetch_detail, rows), strict=True):
                yield (
                    as_record(
                        with_summary(detail, row.conversation) if detail else row.conversation,
                        row.review,
                        messages=len(detail.transcript) if detail else None,
                        reviewer=reviewers.get(row.conversation.id),
                        link=link_to(row.conversation.id),
                    )
                    | {"comments": threads.get(row.conversation.id, [])}
                    | {"scores": scores.get(row.conversation.id, [])}
                )
            if not result.has_more:
                return
            cursor = result.next_cursor


def fetch_detail(row):
    """The conversation as its own page shows it; None when the platform no longer has it."""
    try:
        return client.get_conversation(row.conversation.id, cached=False)
    except client.ConversationNotFound:
        return None


def with_summary(detail, summary):
    """The detail, with what only the list's summary said of it."""
    return dataclasses.replace(
        detail,
        agent_id=detail.agent_id or summary.agent_id,
        agent_name=detail.agent_name or summary.agent_name,
        status=detail.status or summary.status,
        call_successful=detail.call_successful or summary.call_successful,
    )


def last_reviewers(reviews_by_id):
    """Who gave each review its verdict and when, as (username, changed_at) by conversation
    id: the last change of its status. One query for a batch; none for a review without a
    verdict, or set without a recorded change."""
    ids = [cid for cid, review in reviews_by_id.items() if review and has_verdict(review)]
    if not ids:
        return {}
    changes = ReviewChange.objects.filter(conversation_id__in=ids, field="status").order_by(
        "changed_at", "id"
    )
    # Oldest first: the last change of each conversation is the one that stays.
    return {
        conversation_id: (username, changed_at)
        for conversation_id, username, changed_at in changes.values_list(
            "conversation_id", "username", "changed_at"
        )
    }


def has_verdict(review):
    return review.status != Review.Status.UNREVIEWED


def as_record(conversation, review, *, messages, reviewer, link):
    """One exported conversation: what the platform said of it, and its review. The caller
    adds its "comments" (comments.comments_for, a batch at once; a CSV has their number)."""
    reviewed_by, reviewed_at = reviewer or ("", None)
    return {
        "conversation_id": conversation.id,
        "agent_id": conversation.agent_id,
        "agent_name": conversation.agent_name,
        "start_time": iso(conversation.start_time),
        "end_time": iso(conversation.end_time),
        "duration_secs": conversation.duration,
        "status": conversation.status,
        "outcome": conversation.call_successful,
        "message_count": messages,
        "evaluation": {
            e.criterion: {"result": e.result, "score": e.score, "rationale": e.feedback}
            for e in conversation.evaluation
        },
        "collected_data": {d.key: d.value for d in conversation.collected_data},
        "review_status": review.status if review else "unreviewed",
        "assignee": review.assignee.get_username() if review and review.assignee else "",
        "tags": list(review.tags) if review else [],
        "reviewer": reviewed_by,
        "reviewed_at": iso(reviewed_at),
        "link": link,
    }


ID_STAND_IN = "conversation-id"


def links(base_url):
    """A function that gives a conversation's link: `base_url` and the path of its page.

    The path is reversed once, with a stand-in for the id: reversing it for each of 10,000
    rows costs more than the rest of a row's CSV.
    """
    before, _, after = reverse("conversations:detail", args=[ID_STAND_IN]).rpartition(ID_STAND_IN)
    return lambda conversation_id: f"{base_url}{before}{quote(conversation_id, safe='')}{after}"


def end_of(start, duration):
    """When a call ended, as the reader works it out when the platform does not say."""
    if start is None or duration is None:
        return None
    try:
        return start + timedelta(seconds=duration)
    except OverflowError:
        return None


def iso(moment):
    return moment.isoformat() if moment else None


def as_jsonl(records):
    for record in records:
        yield json.dumps(record, ensure_ascii=False, default=str) + "\n"


class Line:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value):
        return value


def as_csv(records, scope):
    """The records as CSV lines, the first starting with the byte order mark.

    With a scope (queries.ExportScope), a column per criterion and per key in it, and one
    for the rest of each when it left some out; without, the evaluation and the collected
    data as a JSON object each.
    """
    if scope is None:
        columns = [
            *FIRST_COLUMNS,
            "evaluation",
            "collected_data",
            *QA_COLUMNS,
            "qa_answers",
            *LAST_COLUMNS,
        ]
    else:
        columns = [
            *FIRST_COLUMNS,
            *(f"evaluation: {criterion}" for criterion in scope.criteria),
            *(["evaluation: other"] if scope.more_criteria else []),
            *(f"data: {key}" for key in scope.keys),
            *(["data: other"] if scope.more_keys else []),
            *QA_COLUMNS,
            *(f"qa: {name}" for _, name in scope.qa_criteria),
            *(["qa: other"] if scope.more_qa else []),
            *LAST_COLUMNS,
        ]
    return csv_lines(columns, (csv_values(record, scope) for record in records))


def csv_values(record, scope):
    """A record's cells in the order of as_csv's columns."""
    first = [record[name] for name in FIRST_COLUMNS]
    last = [len(record[name]) if name == "comments" else record[name] for name in LAST_COLUMNS]
    results = {name: result_of(entry) for name, entry in record["evaluation"].items()}
    data = record["collected_data"]
    score, answers = qa_of(record["scores"])
    if scope is None:
        return [*first, results, data, *score, answers or None, *last]
    return [
        *first,
        *(results.get(criterion) for criterion in scope.criteria),
        *([rest_of(results, scope.criteria)] if scope.more_criteria else []),
        *(data_cell(data.get(key)) for key in scope.keys),
        *([rest_of(data, scope.keys)] if scope.more_keys else []),
        *score,
        *(answers.get(key) for key, _ in scope.qa_criteria),
        *([rest_of(answers, dict(scope.qa_criteria))] if scope.more_qa else []),
        *last,
    ]


def qa_of(scores):
    """The QA_COLUMNS cells of a record's first score (the highest total), and its values by
    criterion key; empty cells for a call with no current score."""
    if not scores:
        return [None] * len(QA_COLUMNS), {}
    score = scores[0]
    total = None if score["total"] is None else round(score["total"], 2)
    total = int(total) if total is not None and total.is_integer() else total
    auto_failed = "yes" if score["auto_failed"] else "no"
    answers = {key: answer["value"] for key, answer in score["answers"].items()}
    return [score["scorecard"], total, auto_failed, score["scored_by"]], answers


def rest_of(cells, named):
    """What of a record's criteria or values has no column of its own, as one JSON object;
    None (an empty cell) when it has none."""
    rest = {name: value for name, value in cells.items() if name not in named}
    return rest or None


def result_of(entry):
    """A criterion's outcome in one cell: its score when it has one, else its result."""
    return entry["score"] if entry["score"] is not None else entry["result"]


def data_cell(value):
    """A collected value in a cell of its own: text and numbers as they are, the rest (true,
    a list, an object) as JSON."""
    if value is None or isinstance(value, str) or is_number(value):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def csv_lines(columns, rows):
    """The header, then each row (its values in the columns' order) as a CSV line.

    The file starts with a byte order mark: without it, spreadsheets read UTF-8 as their
    locale's code page, and names in other scripts come out garbled.
    """
    writer = csv.writer(Line())
    # A column's name can be platform data (a criterion, a key): quoted as any cell is.
    yield BOM + writer.writerow([csv_cell(name) for name in columns])
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_cell(value):
    """A value for a CSV cell; text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if is_number(value):
        # A number is never a formula, a negative one neither: left as a number.
        return str(value)
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


def start(*, user, review_filter, fmt, progress_token="", base_url=""):
    """The lines of an export, audited, holding a place among the running exports, its
    first row already read (ReadAhead).

    `base_url` (scheme and host, no trailing slash) makes each row's link absolute; without
    it the link is the conversation's path. Raises IndexNeeded when the filter needs an index
    there is not, and ExportsBusy when there is no place; either way nothing is exported or
    audited, and the list page, if it polls for this export's progress, is told why at once.
    Raises the client's error when the platform fails before the first row: that export is
    audited as incomplete, and the page is told.
    """
    key = progress_key(user, progress_token)
    try:
        source = source_for(review_filter)
        ahead = ReadAhead(export_lines(review_filter, user, fmt, base_url, source), fmt)
        run = Run(review_filter, fmt, partial=source.partial)
        slot = slot_take(user=user, lines=audited(ahead, user, run, key))
    except ExportRefused as exc:
        if key:
            progress_report(key, rows=0, problem=str(exc))
        raise
    try:
        ahead.read()
    except client.XunaError as exc:
        # Nothing was sent: the view answers with an error instead of a file.
        log.warning("Export failed before its first row: %s", type(exc).__name__)
        slot.close()
        ahead.close()
        if key:
            progress_report(key, rows=0, problem=INCOMPLETE)
        record_export(user, run, 0, INCOMPLETE)
        raise
    return slot


@dataclasses.dataclass(frozen=True)
class Run:
    """What one export is, for its audit record: its filter, its format, and whether it read
    an index still being filled."""

    review_filter: reviews.ReviewFilter
    fmt: str
    partial: bool = False


def audited(lines, user, run, key):
    """Stream the export, report progress every 50 lines, and record it when it ends; one
    from an index still being filled says so at its end.

    A platform failure after the first row ends the stream with ExportAborted instead of
    ending the file: the server then closes the connection without the end of the response,
    and the browser shows the download as failed rather than saving a file that looks whole.
    (A marker row would break every program reading the CSV; a failure before the first row
    never starts a download at all, see ReadAhead.)"""
    header = 1 if run.fmt == "csv" else 0
    lines_out, problem = 0, "stopped before the end"
    try:
        for line in lines:
            yield line
            lines_out += 1
            if key and lines_out % 50 == 0:
                progress_report(key, rows=lines_out - header, problem=None)
        problem = ""
    except client.XunaError as exc:
        # The response may have started: the page and the audit say the file is incomplete.
        log.warning("Export stopped by a platform error: %s", type(exc).__name__)
        problem = INCOMPLETE
        raise ExportAborted(INCOMPLETE) from exc
    finally:
        if run.partial:
            problem = f"{problem}; {PARTIAL}" if problem else PARTIAL
        rows = max(lines_out - header, 0)
        if key:
            progress_report(key, rows=rows, problem=problem)
        record_export(user, run, rows, problem)


def record_export(user, run, rows, problem):
    """The export's audit record: who, how many rows, with which filter, and how it ended."""
    filters = run.review_filter.query_string() or "none"
    AuditRecord.objects.create(
        user=user,
        username=user.get_username(),
        outcome=AuditRecord.Outcome.EXPORTED,
        row_count=rows,
        detail=(f"{run.fmt}; filter: {filters}" + (f"; {problem}" if problem else ""))[:300],
    )


INCOMPLETE = "the platform failed during the export; the file is incomplete"
# Lines read before an export's response starts: the CSV's header and its first row.
LINES_AHEAD = {"csv": 2, "jsonl": 1}


class ExportAborted(Exception):
    """The platform failed while an export was streamed: the stream ends without its end."""


class ReadAhead:
    """An export's lines, whose first row `read()` reads before the response starts: a
    platform failure there is raised to the view, which answers with an error instead of a
    file with a header and no rows. Read before `audited` starts, so that an export never
    read further is never recorded twice, nor late."""

    def __init__(self, lines, fmt):
        self.lines = iter(lines)
        self.count = LINES_AHEAD[fmt]
        self.head = []

    def read(self):
        for line in self.lines:
            self.head.append(line)
            if len(self.head) >= self.count:
                return

    def __iter__(self):
        yield from self.head
        yield from self.lines

    def close(self):
        if hasattr(self.lines, "close"):
            self.lines.close()


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


class ExportRefused(Exception):
    """An export that cannot start; the message says why, to the user."""


class ExportsBusy(ExportRefused):
    """Too many exports are running, the user's own or everyone's; the message says which."""


class IndexNeeded(ExportRefused):
    """The filter needs the conversation index, which is off or empty: without it the export
    would silently hold conversations the filter leaves out."""

    def __init__(self, labels):
        super().__init__(
            f"This export needs the conversation index for: {', '.join(labels)}. The index is "
            "turned off or not filled yet; remove these filters, or export once it is filled."
        )


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
