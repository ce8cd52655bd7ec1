"""What the search rows (bench/search.py) do inside the dashboard's own Django: filling the
index with the emulator's own workspace in bulk, checking a sample of it against the worker's
code, and the plans of the list's queries.

`python -m bench.search_jobs COMMAND [ARG]` with a stack's settings (Stack.run); it prints one
JSON object, its result.

    seed COUNT      the COUNT conversations the emulator serves (its generator, seed 1), read
                    by the client's reader from the emulator's own JSON and written as the
                    worker leaves them (summary, then detail through index.store's helpers),
                    in bulk: COPY on PostgreSQL, executemany on SQLite
    check COUNT     COUNT of them (a seeded sample, and the longest) read from the emulator
                    and stored again by index.store: which tables it changed
    explain PARAMS  every statement the list page runs for PARAMS (a query string) that reads
                    the search texts, with EXPLAIN ANALYZE as the page runs it and with bitmap
                    scans off (then no GIN index can be read: a sequential scan of the texts)
"""

import importlib
import json
import os
import random
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from conversations import client, index, queries, reader, reviews, search, sync  # noqa: E402
from conversations.models import (  # noqa: E402
    IndexedConversation,
    IndexedEvaluation,
    IndexedText,
    IndexedTurn,
    IndexedValue,
    SyncState,
)
from emulator import shapes  # noqa: E402
from emulator.generate import generate  # noqa: E402

SEED = 1  # the emulator's, as bench/stack.py starts it
BATCH = 2000  # conversations written at a time
EXPLAIN_RUNS = 3  # each plan's execution time is the median of these
# The FTS table's triggers, made again after the bulk load as the migration defines them.
MIGRATION = importlib.import_module("conversations.migrations.0010_indexed_text")
FTS_TRIGGERS = [s for s in MIGRATION.SQLITE if s.startswith("CREATE TRIGGER")]

CONVERSATION = IndexedConversation._meta.db_table
# Every column of a conversation's row, with the model's default where the worker's code
# leaves one out, as the ORM would fill it.
MODEL_DEFAULTS = {f.column: f.get_default() for f in IndexedConversation._meta.concrete_fields}
COLUMNS = {
    CONVERSATION: tuple(MODEL_DEFAULTS),
    IndexedEvaluation._meta.db_table: (
        "conversation_id",
        "criterion",
        "result",
        "score",
        "rationale",
    ),
    IndexedValue._meta.db_table: ("conversation_id", "key", "value", "text"),
    IndexedTurn._meta.db_table: ("conversation_id", "position", "speaker", "offset", "text"),
    IndexedText._meta.db_table: ("conversation_id", "body", "has_turns"),
}


# The workspace, as the worker stores it


def first_of(items, key):
    """The first item of each key, as index.store keeps them."""
    kept = {}
    for item in items:
        kept.setdefault(key(item), item)
    return kept.values()


def rows_of(record, base_url):
    """The index's rows of one generated conversation, table by table, as the worker writes
    them: its list summary first (index.store_summary), then its detail (index.store), and
    the search text made of what was stored (index.store_search_text)."""
    listed = reader.parse_conversation(shapes.summary(record))
    conversation = reader.parse_conversation(shapes.build_detail(record, base_url))
    cid = conversation.id
    text = index.text
    row = {
        **MODEL_DEFAULTS,
        **index.NEW_ROW,
        **index.summary_fields(listed),
        **index.summary_fields(conversation),
        "message_count": len(conversation.transcript),
        "has_audio": bool(conversation.audio_url),
        "title": text(conversation.title, 300),
        "summary": text(conversation.summary),
        "detailed": True,
        "version": index.version_of(conversation),
        "conversation_id": cid,
    }
    evaluations = [
        (cid, text(r.criterion, 200), text(r.result, 10), r.score, text(r.feedback))
        for r in first_of(conversation.evaluation, lambda r: text(r.criterion, 200))
    ]
    values = [  # key, value, text
        (text(v.key, 200), index.json_value(v.value), index.value_text(v.value))
        for v in first_of(conversation.collected_data, lambda v: text(v.key, 200))
    ]
    with_turns = settings.INDEX_TRANSCRIPTS
    turns = (
        [
            (cid, number, text(turn.speaker, 40), turn.offset, text(turn.text))
            for number, turn in enumerate(conversation.transcript)
        ]
        if with_turns
        else []
    )
    body = search.text_of(
        title=row["title"],
        summary=row["summary"],
        values=[value_text for _, value, value_text in values if search.searchable(value)],
        turns=[turn[-1] for turn in turns] if with_turns else None,
    )
    return {
        CONVERSATION: [tuple(row[column] for column in COLUMNS[CONVERSATION])],
        IndexedEvaluation._meta.db_table: evaluations,
        IndexedValue._meta.db_table: [
            (cid, key, json_column(value), value_text) for key, value, value_text in values
        ],
        IndexedTurn._meta.db_table: turns,
        IndexedText._meta.db_table: [(cid, body, with_turns)],
    }


def json_column(value):
    """A stored collected value as its JSONField column holds it: SQL NULL for None, as Django
    writes it."""
    return None if value is None else json.dumps(value)


def batches(records, base_url):
    """The rows of BATCH conversations at a time, by table."""
    for first in range(0, len(records), BATCH):
        tables = {table: [] for table in COLUMNS}
        for record in records[first : first + BATCH]:
            for table, rows in rows_of(record, base_url).items():
                tables[table] += rows
        yield tables


def seed(count):
    """Write the emulator's COUNT conversations into the empty index; rows by table."""
    started = time.monotonic()
    _, records = generate(SEED, int(count), time.time())
    base_url = os.environ["XUNA_API_BASE_URL"].rstrip("/")
    load = copy_postgres if connection.vendor == "postgresql" else insert_sqlite
    written = load(batches(records, base_url))
    loaded = time.monotonic() - started
    finish = finish_postgres if connection.vendor == "postgresql" else finish_sqlite
    finish()
    mark_synced(len(records))
    return {
        "rows": written,
        "turns": written[IndexedTurn._meta.db_table],
        "load_seconds": loaded,
        "seconds": time.monotonic() - started,
    }


def copy_postgres(tables_batches):
    """COPY each batch. As a bulk load does, the indexes that back no constraint (the trigram
    index among them) are dropped first and made again at the end from their own
    definitions, and the foreign keys' triggers are off meanwhile (the rows are consistent by
    construction)."""
    written = dict.fromkeys(COLUMNS, 0)
    raw = connection.cursor().connection  # psycopg's own, for COPY
    with transaction.atomic():
        indexes = raw.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [list(COLUMNS)],
        ).fetchall()
        raw.execute("SET LOCAL session_replication_role = replica")
        for name, _ in indexes:
            raw.execute(f'DROP INDEX "{name}"')
        for tables in tables_batches:
            for table, rows in tables.items():
                columns = ", ".join(f'"{column}"' for column in COLUMNS[table])
                copying = f'COPY "{table}" ({columns}) FROM STDIN'
                with raw.cursor() as cursor, cursor.copy(copying) as copy:
                    for row in rows:
                        copy.write_row(row)
                written[table] += len(rows)
        raw.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            raw.execute(definition)
    return written


def finish_postgres():
    # What autovacuum would have done by the time anyone searched: statistics for the
    # planner, and the visibility map for index-only scans.
    connection.cursor().connection.execute("VACUUM (ANALYZE)")


def insert_sqlite(tables_batches):
    """executemany in one transaction; the FTS table is filled once at the end ('rebuild'),
    its triggers dropped meanwhile and made again as migration 0010 defines them."""
    written = dict.fromkeys(COLUMNS, 0)
    adapt = connection.ops.adapt_datetimefield_value
    start, indexed_at = (COLUMNS[CONVERSATION].index(c) for c in ("start_time", "indexed_at"))
    fts = MIGRATION.FTS
    with connection.cursor() as cursor:
        # A throwaway file: no need to wait for the disk on every page.
        cursor.execute("PRAGMA synchronous = OFF")
        with transaction.atomic():
            for statement in MIGRATION.SQLITE_REVERSE:
                if statement.startswith("DROP TRIGGER"):
                    cursor.execute(statement)
            for tables in tables_batches:
                for table, rows in tables.items():
                    if table == CONVERSATION:
                        rows = [
                            tuple(
                                adapt(v) if i in (start, indexed_at) else v for i, v in enumerate(r)
                            )
                            for r in rows
                        ]
                    columns = ", ".join(f'"{column}"' for column in COLUMNS[table])
                    marks = ", ".join(["%s"] * len(COLUMNS[table]))
                    # Table and column names are the models' own (COLUMNS), never data.
                    inserting = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'  # noqa: S608
                    cursor.executemany(inserting, rows)
                    written[table] += len(rows)
            # The FTS table's name is the migration's.
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # noqa: S608
            for statement in FTS_TRIGGERS:
                cursor.execute(statement)
    return written


def finish_sqlite():
    """Nothing: the app runs no ANALYZE on SQLite, so neither does the benchmark."""


def mark_synced(count):
    """The worker's sync jobs marked finished, as after a complete backfill."""
    now = timezone.now()
    for name in (sync.HEAD, sync.BACKFILL, sync.RECONCILE):
        SyncState.objects.update_or_create(
            name=name, defaults={"finished": True, "started_at": now, "seen": count}
        )


# The sample, stored again by the worker's own code


def snapshot(conversation_id):
    """What the index holds of a conversation, table by table, without ids and times."""
    fields = [c for c in COLUMNS[CONVERSATION] if c != "indexed_at"]
    return {
        "conversation": IndexedConversation.objects.filter(pk=conversation_id)
        .values(*fields)
        .first(),
        "evaluations": sorted(
            IndexedEvaluation.objects.filter(conversation_id=conversation_id).values_list(
                "criterion", "result", "score", "rationale"
            )
        ),
        "values": sorted(
            (key, json.dumps(value, sort_keys=True), value_text)
            for key, value, value_text in IndexedValue.objects.filter(
                conversation_id=conversation_id
            ).values_list("key", "value", "text")
        ),
        "turns": list(
            IndexedTurn.objects.filter(conversation_id=conversation_id)
            .order_by("position")
            .values_list("position", "speaker", "offset", "text")
        ),
        "text": IndexedText.objects.filter(conversation_id=conversation_id)
        .values_list("body", "has_turns")
        .first(),
    }


def check(count):
    """Store a sample again through index.store, read from the emulator as the worker reads
    it, and say which tables changed (none: the bulk load wrote what the worker writes)."""
    ids = list(IndexedConversation.objects.order_by("pk").values_list("pk", flat=True))
    sample = random.Random(SEED).sample(ids, min(int(count), len(ids)))
    longest = IndexedConversation.objects.order_by("-message_count").values_list("pk", flat=True)
    sample.append(longest[0])
    changed = {}
    for conversation_id in sample:
        before = snapshot(conversation_id)
        index.store(client.get_conversation(conversation_id, cached=False))
        after = snapshot(conversation_id)
        tables = [name for name in before if before[name] != after[name]]
        if tables:
            changed[conversation_id] = tables
    return {"checked": len(sample), "changed": changed}


# The plans of the list's queries


def explain(params):
    """Each statement of the list page for PARAMS that reads the search texts: its plan and
    execution time as the page runs it, and with bitmap scans off; the exact match count."""
    user = User.objects.get(username=os.environ["BENCH_USER"])
    review_filter = reviews.ReviewFilter.from_query(QueryDict(params))
    with CaptureQueriesContext(connection) as captured:
        reviews.fetch_page(review_filter, user)
    statements = [q["sql"] for q in captured.captured_queries if "indexedtext" in q["sql"]]
    return {
        "params": params,
        "matches": queries.selected(review_filter, user).count(),
        "statements": [
            {
                "sql": sql,
                "with_index": plan_of(sql, bitmaps=True),
                "sequential": plan_of(sql, bitmaps=False),
            }
            for sql in statements
        ],
    }


def plan_of(sql, *, bitmaps):
    """EXPLAIN ANALYZE of a statement in the settings the search runs it in (search.planned):
    the median execution time and the last plan."""
    times, plan = [], ""
    with search.planned(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL enable_bitmapscan = {'on' if bitmaps else 'off'}")
        for _ in range(EXPLAIN_RUNS):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            (result,) = cursor.fetchone()
            result = json.loads(result) if isinstance(result, str) else result
            times.append(result[0]["Execution Time"])
            plan = result[0]["Plan"]
    return {"ms": statistics.median(times), "plan": plan}


COMMANDS = {"seed": seed, "check": check, "explain": explain}


def main(argv):
    command, *args = argv
    print(json.dumps(COMMANDS[command](*args), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
