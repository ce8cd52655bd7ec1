"""Reading the audit log: the records a filter selects, and the log as CSV.

Records are written where their act happens: deletions and refusals in deletion.py, exports
in export.py, conversations found deleted elsewhere in sync.py.
"""

from django.db.models import Exists, OuterRef
from django.utils.dateparse import parse_date

from conversations import export
from conversations.models import AuditRecord

CSV_COLUMNS = [
    "id",
    "created_at",
    "username",
    "outcome",
    "attempt_id",
    "conversation_id",
    "conversation_ids",
    "agent_id",
    "conversation_start",
    "reason",
    "upstream_status",
    "row_count",
    "detail",
]


def user_name(text):
    # No user name holds a NUL, and PostgreSQL refuses text that does.
    return text.replace("\x00", "").strip()[:150]


def outcome(text):
    return text if text in AuditRecord.Outcome.values else ""


def day(text):
    """An ISO date; none for anything else, also a date that does not exist (2026-02-31)."""
    try:
        return parse_date(text[:10])
    except ValueError:
        return None


# Each filter of the log page: its query parameter, how its value is read, its lookup.
FILTERS = (
    ("user", user_name, "username__iexact"),
    ("outcome", outcome, "outcome"),
    ("since", day, "created_at__date__gte"),
    ("until", day, "created_at__date__lte"),
)


def filter_records(params):
    """The records these query parameters select, newest first, and the filters applied.

    A value that cannot be read is ignored, as if it had not been given.
    """
    # `settled`: whether an attempt has its outcome; one subquery instead of one per row.
    outcomes = AuditRecord.objects.filter(attempt=OuterRef("pk"))
    records = AuditRecord.objects.annotate(settled=Exists(outcomes))
    filters = {}
    for name, read, lookup in FILTERS:
        value = read(params.get(name, ""))
        if value:
            records = records.filter(**{lookup: value})
            filters[name] = value if isinstance(value, str) else value.isoformat()
    return records, filters


def as_csv(records):
    """The records as CSV lines, streamed from the database, with formulas defused."""
    rows = ([getattr(r, name) for name in CSV_COLUMNS] for r in records.iterator())
    return export.csv_lines(CSV_COLUMNS, rows)
