"""S2: the analytics page for the last 30 days of the index rows' workspace, on PostgreSQL
(docs/performance.md).

It runs on the workspace bench/index.py indexed for I3-I5, after them, and first completes it
for the page: the detail (evaluations, collected values) of every conversation of the last 30
days, read and stored by the worker's own code as I4's are, and a history for the seeded
verdicts (`python -m bench.analytics history`, below), so that the review-work figures count
real rows, then the statistics of the tables just filled (ANALYZE), which autovacuum keeps on
a database in use. A lead's session then asks for `/analytics/?range=30d` under gunicorn, cache off,
paired with the list of the same 30 days as the baseline; the time is to the last byte over
loopback, as I3's.
"""

import os
import secrets
import sys

from bench.index import days_ago, job
from bench.report import Row
from bench.timing import fetch, ms, p50, p95, paired

DAYS = 30
RUNS = 30
LEAD = "bench-lead"
# Who gave the seeded verdicts, in turn, and how long after a call's end: 1 to 72 hours.
REVIEWERS = ("ann", "bo", "chen", "dara")
LATEST_HOURS, EARLIEST_HOURS = 1, 72
ANALYZED = (
    "conversations_indexedconversation",
    "conversations_indexedevaluation",
    "conversations_indexedvalue",
    "conversations_review",
    "conversations_reviewchange",
)


def s2_analytics(stack, size):
    print(f"S2: reading the last {DAYS} days' details, then the analytics page", flush=True)
    job(stack, "details", days_ago(DAYS))
    password = secrets.token_urlsafe(18)
    history = stack.run("-m", "bench.analytics", "history", BENCH_LEAD_PASSWORD=password)
    dashboard = stack.dashboard(cache=False, name="analytics")
    session = dashboard.login(LEAD, password)
    since = days_ago(DAYS - 1)

    def analytics_page():
        return fetch(session, dashboard.url + "/analytics/", params={"range": "30d"})[0]

    def list_page():
        return fetch(session, dashboard.url + "/", params={"since": since})[0]

    page_times, list_times = paired(analytics_page, list_page, RUNS)
    return [
        Row(
            "S2",
            f"the analytics page, last {DAYS} days of {size:,} indexed conversations "
            f"({history.split()[-1]} verdicts in its history), PostgreSQL, as a lead",
            f"the list of the same {DAYS} days: p50 {ms(p50(list_times))}",
            ms(p50(page_times)),
            ms(p95(page_times)),
            "p50 ≤ 200 ms",
            p50(page_times) <= 200,
        )
    ]


# Inside the stack's Django (Stack.run): `python -m bench.analytics history`


def write_history():
    """A lead to sign in as, and a status change for each seeded verdict, given by one of
    REVIEWERS some hours after the call ended (never in the future): what the review-work
    figures read. Prints how many verdicts have one."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from conversations.models import Review, ReviewChange

    lead = User.objects.create_user(LEAD, password=os.environ["BENCH_LEAD_PASSWORD"])
    lead.groups.add(Group.objects.get(name="Lead"))
    verdicts = Review.objects.exclude(status=Review.Status.UNREVIEWED).order_by("pk")
    changes = [
        ReviewChange(
            conversation_id=review.conversation_id,
            username=REVIEWERS[number % len(REVIEWERS)],
            field="status",
            old_value=Review.Status.UNREVIEWED.label,
            new_value=Review.Status(review.status).label,
        )
        for number, review in enumerate(verdicts.iterator(chunk_size=1000))
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        ReviewChange.objects.bulk_create(changes, batch_size=1000)
        # changed_at is set to now on creation: moved to after each call's end, in SQL (the
        # workspace is PostgreSQL), spread by a hash of the id.
        cursor.execute(
            "UPDATE conversations_reviewchange c SET changed_at = LEAST(now(), i.start_time"
            " + make_interval(secs => coalesce(i.duration, 0) + 3600 * (%s + abs(hashtext("
            "c.conversation_id)) %% %s))) FROM conversations_indexedconversation i"
            " WHERE i.conversation_id = c.conversation_id",
            [LATEST_HOURS, EARLIEST_HOURS - LATEST_HOURS],
        )
    # The statistics autovacuum keeps on tables this size, which it has not gathered yet
    # minutes after their bulk load; without them the planner expects a few rows where
    # there are 100,000 and plans accordingly.
    with connection.cursor() as cursor:
        for table in ANALYZED:
            cursor.execute(f"ANALYZE {table}")
    print(len(changes))


if __name__ == "__main__":
    if sys.argv[1:] != ["history"]:
        sys.exit("usage: python -m bench.analytics history")
    write_history()
