"""The worker's jobs (conversations/sync.py), run directly against the emulator over sockets."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from conversations import client, sync
from conversations.models import (
    AuditRecord,
    IndexedConversation,
    IndexedEvaluation,
    IndexedTurn,
    IndexedValue,
    Review,
    SyncState,
)
from tests.helpers import calls_to

pytestmark = pytest.mark.django_db

SEEDED = 240  # conversations in the emulator fixture's workspace


def add_conversation(emulator, conversation_id, *, status="done", start=None):
    """A conversation the platform gains now, with results, values and two turns."""
    agent_id, agent_name = emulator.agents[0]
    emulator.add_conversation(
        {
            "conversation_id": conversation_id,
            "agent_id": agent_id,
            "status": status,
            "metadata": {
                "start_time": (start or datetime.now(UTC)).isoformat(),
                "duration": 42,
                "agent_name": agent_name,
            },
            "transcript": [
                {"speaker": "agent", "text": "Hello, how can I help?", "timestamp": 0.5},
                {"speaker": "user", "text": "My parcel is late.", "timestamp": 3.0},
            ],
            "evaluation_results": {"issue_resolved": {"result": "success", "feedback": "Yes."}},
            "collected_data": {"order_number": {"value": "A-1", "rationale": "Read out."}},
        }
    )
    return conversation_id


def indexed_ids():
    return set(IndexedConversation.objects.values_list("conversation_id", flat=True))


def listed():
    """Every conversation's summary, as the client reads the list."""
    cursor, items = None, []
    while True:
        page = client.list_conversations(cursor=cursor, page_size=100, cached=False)
        items += page.items
        if not page.has_more:
            return items
        cursor = page.next_cursor


def index_everything():
    run = sync.backfill(pages=100)
    assert SyncState.objects.get(name=sync.BACKFILL).finished
    return run


# Head sync


def test_head_sync_indexes_the_newest_page_with_details(emulator):
    run = sync.head_sync()

    newest = emulator.conversation_ids()[: sync.PAGE_SIZE]
    assert indexed_ids() == set(newest)
    assert run.error is None
    assert run.stored == sync.PAGE_SIZE
    assert not IndexedConversation.objects.filter(detailed=False).exists()
    row = IndexedConversation.objects.get(pk=newest[0])
    raw = emulator.raw(newest[0])
    assert row.agent_name == raw["metadata"]["agent_name"]
    assert IndexedEvaluation.objects.filter(conversation=row).count() == len(
        raw["evaluation_results"]
    )
    assert IndexedValue.objects.filter(conversation=row).count() == len(raw["collected_data"])
    assert IndexedTurn.objects.filter(conversation=row).count() == len(raw["transcript"])


def test_a_head_sync_with_nothing_new_makes_one_platform_call(emulator):
    sync.head_sync()
    emulator.clear_calls()

    run = sync.head_sync()

    assert (run.pages, run.stored) == (1, 0)
    assert len(emulator.calls) == 1
    assert calls_to(emulator, "list") == 1


def test_a_head_sync_reads_the_platform_not_the_cache(emulator):
    sync.head_sync()
    client.list_conversations(page_size=sync.PAGE_SIZE)  # a page the views would cache
    conversation_id = add_conversation(emulator, "conv_sync_uncached")

    sync.head_sync()

    assert conversation_id in indexed_ids()


def test_a_new_conversation_is_picked_up_with_one_detail_call(emulator):
    sync.head_sync()
    conversation_id = add_conversation(emulator, "conv_sync_new")
    emulator.clear_calls()

    run = sync.head_sync()

    assert run.stored == 1
    assert calls_to(emulator, "get") == 1
    row = IndexedConversation.objects.get(pk=conversation_id)
    assert (row.final, row.detailed, row.message_count) == (True, True, 2)
    assert IndexedValue.objects.get(conversation=row).text == "A-1"


def test_a_processing_conversation_is_refreshed_until_final(emulator):
    sync.head_sync()
    conversation_id = add_conversation(emulator, "conv_sync_processing", status="processing")
    sync.head_sync()
    assert IndexedConversation.objects.get(pk=conversation_id).final is False

    sync.refresh()  # still processing: fetched again, still not final
    assert IndexedConversation.objects.get(pk=conversation_id).final is False
    start = IndexedConversation.objects.get(pk=conversation_id).start_time
    add_conversation(emulator, conversation_id, status="done", start=start)
    run = sync.refresh()

    row = IndexedConversation.objects.get(pk=conversation_id)
    assert (row.status, row.final, run.stored) == ("done", True, 1)
    emulator.clear_calls()
    assert sync.refresh().stored == 0
    assert emulator.calls == []


def test_a_conversation_deleted_through_the_dashboard_is_not_indexed_again(emulator):
    conversation_id = emulator.conversation_ids()[0]
    AuditRecord.objects.create(
        conversation_id=conversation_id, username="lead", outcome=AuditRecord.Outcome.DELETED
    )

    sync.head_sync()

    assert conversation_id not in indexed_ids()
    assert len(indexed_ids()) == sync.PAGE_SIZE - 1


def test_with_transcripts_off_no_turn_is_stored(emulator, settings):
    settings.INDEX_TRANSCRIPTS = False

    sync.head_sync()

    assert IndexedConversation.objects.filter(detailed=True).count() == sync.PAGE_SIZE
    assert IndexedEvaluation.objects.exists()
    assert not IndexedTurn.objects.exists()


def test_a_head_sync_that_falls_behind_starts_the_backfill_again(emulator):
    index_everything()
    burst = [add_conversation(emulator, f"conv_sync_burst_{n:03}") for n in range(150)]

    sync.head_sync(pages=1)
    assert not set(burst) <= indexed_ids()
    run = sync.backfill()

    assert set(burst) <= indexed_ids()
    assert run.stored == 50
    assert SyncState.objects.get(name=sync.BACKFILL).finished


# Backfill


def test_backfill_indexes_the_whole_history_and_finishes(emulator):
    run = index_everything()

    assert indexed_ids() == set(emulator.conversation_ids())
    assert run.stored == SEEDED
    assert not run.more
    emulator.clear_calls()
    assert sync.backfill().pages == 0
    assert emulator.calls == []


def test_backfill_resumes_from_its_checkpoint(emulator):
    first = sync.backfill(pages=1)
    assert first.more
    assert len(indexed_ids()) == sync.PAGE_SIZE
    assert SyncState.objects.get(name=sync.BACKFILL).cursor
    emulator.clear_calls()

    sync.backfill(pages=1)

    [first_list_call, *_] = [call for call in emulator.calls if call.endpoint == "list"]
    assert "cursor" in first_list_call.query
    assert calls_to(emulator, "get") == sync.PAGE_SIZE  # none of the first page again
    assert len(indexed_ids()) == 2 * sync.PAGE_SIZE


def test_backfill_stopped_mid_page_takes_the_page_up_again(emulator):
    sync.backfill(pages=1)
    checkpoint = SyncState.objects.get(name=sync.BACKFILL).cursor
    emulator.set_fault("get", "503")

    stopped = sync.backfill(pages=1)

    assert isinstance(stopped.error, client.UpstreamUnavailable)
    assert SyncState.objects.get(name=sync.BACKFILL).cursor == checkpoint
    emulator.clear_faults()
    index_everything()
    assert indexed_ids() == set(emulator.conversation_ids())


def test_backfill_stops_at_the_days_it_is_bounded_to(emulator, settings):
    settings.SYNC_BACKFILL_DAYS = 10
    cutoff = timezone.now() - timedelta(days=10)

    index_everything()

    recent = {item.id for item in listed() if item.start_time >= cutoff}
    assert recent
    assert indexed_ids() == recent


def test_backfill_progress_estimates_the_time_left(emulator, settings):
    settings.SYNC_BACKFILL_DAYS = 60
    sync.backfill(pages=1)

    progress = sync.progress(now=timezone.now() + timedelta(seconds=10))

    assert (progress.indexed, progress.walked, progress.finished) == (100, 100, False)
    assert progress.per_minute > 0
    assert progress.seconds_left > 0
    index_everything()
    assert sync.progress().seconds_left == 0


# Reconcile


def test_reconcile_purges_a_conversation_deleted_elsewhere_and_records_it(emulator):
    index_everything()
    victim = emulator.conversation_ids()[150]
    Review.objects.create(conversation_id=victim, tags=["call back on Monday"])
    start = IndexedConversation.objects.get(pk=victim).start_time
    emulator.delete_conversation(victim)
    emulator.clear_calls()

    run = sync.reconcile()

    assert run.gone == 1
    assert calls_to(emulator, "get") == 1  # only the one missing from its page
    assert victim not in indexed_ids()
    assert not Review.objects.filter(conversation_id=victim).exists()
    record = AuditRecord.objects.get(conversation_id=victim)
    assert (record.outcome, record.username, record.user) == ("found_gone", "worker", None)
    assert record.conversation_start == start
    assert len(indexed_ids()) == SEEDED - 1


def test_reconcile_resumes_its_sweep_and_waits_for_the_next_one(emulator, settings):
    index_everything()
    victim = emulator.conversation_ids()[-1]  # on the last page
    emulator.delete_conversation(victim)

    assert sync.reconcile(pages=1).more
    assert sync.reconcile(pages=1).more
    assert sync.reconcile(pages=1).gone == 1
    emulator.clear_calls()
    assert sync.reconcile().pages == 0
    assert emulator.calls == []

    settings.SYNC_RECONCILE_MINUTES = 1
    SyncState.objects.filter(name=sync.RECONCILE).update(
        started_at=timezone.now() - timedelta(minutes=2)
    )
    assert sync.reconcile().pages == 3


def test_reconcile_leaves_a_conversation_the_dashboard_is_deleting(emulator):
    index_everything()
    victim = emulator.conversation_ids()[10]
    AuditRecord.objects.create(
        conversation_id=victim, username="lead", outcome=AuditRecord.Outcome.ATTEMPTED
    )
    emulator.delete_conversation(victim)

    sync.reconcile()

    assert not AuditRecord.objects.filter(outcome=AuditRecord.Outcome.FOUND_GONE).exists()


# The platform's limits


def test_a_rate_limit_is_waited_out_once(emulator):
    # The client's own retries take the first three; the sync waits out the next one.
    emulator.set_fault("list", "429", times=3, retry_after=1)
    started = time.monotonic()

    run = sync.head_sync()

    assert run.error is None
    assert time.monotonic() - started >= 1
    assert len(indexed_ids()) == sync.PAGE_SIZE


def test_a_rate_limited_platform_stops_the_sync_without_losing_state(emulator):
    sync.backfill(pages=1)
    checkpoint = SyncState.objects.get(name=sync.BACKFILL).cursor
    emulator.set_fault("*", "429", retry_after=1)

    head, back = sync.head_sync(), sync.backfill()

    assert isinstance(head.error, client.RateLimited)
    assert isinstance(back.error, client.RateLimited)
    assert len(indexed_ids()) == sync.PAGE_SIZE
    assert SyncState.objects.get(name=sync.BACKFILL).cursor == checkpoint
    emulator.clear_faults()
    index_everything()
    assert len(indexed_ids()) == SEEDED


def test_details_not_read_are_read_by_the_next_refresh(emulator):
    emulator.set_fault("get", "429", retry_after=1)

    run = sync.head_sync()

    assert isinstance(run.error, client.RateLimited)
    assert IndexedConversation.objects.filter(detailed=False).count() == sync.PAGE_SIZE
    emulator.clear_faults()
    assert sync.refresh().stored == sync.PAGE_SIZE
    assert not IndexedConversation.objects.filter(detailed=False).exists()


def test_an_unavailable_platform_ends_the_run(emulator):
    emulator.set_fault("list", "503")

    run = sync.head_sync()

    assert isinstance(run.error, client.UpstreamUnavailable)
    assert not indexed_ids()


def test_a_checkpoint_the_platform_no_longer_takes_starts_the_backfill_again(emulator):
    sync.backfill(pages=1)
    SyncState.objects.filter(name=sync.BACKFILL).update(
        cursor='{"cursor": "not-a-cursor-it-knows", "reached": null}'
    )

    run = sync.backfill(pages=100)

    assert run.error is None
    assert indexed_ids() == set(emulator.conversation_ids())
    assert SyncState.objects.get(name=sync.BACKFILL).finished


# Two jobs, one conversation: fetched once


def test_a_head_sync_leaves_the_older_conversations_to_a_backfill_under_way(emulator):
    sync.backfill(pages=1)
    conversation_id = add_conversation(emulator, "conv_sync_during_backfill")
    emulator.clear_calls()

    sync.head_sync()

    # The new one alone: the backfill's second page is not fetched by both.
    assert calls_to(emulator, "get") == 1
    assert indexed_ids() == set(emulator.conversation_ids()[: sync.PAGE_SIZE + 1])
    assert IndexedConversation.objects.get(pk=conversation_id).detailed


def test_a_refresh_leaves_a_detail_that_the_run_under_way_may_be_reading(emulator):
    emulator.set_fault("get", "429", retry_after=1)
    sync.head_sync()
    emulator.clear_faults()
    emulator.clear_calls()

    assert sync.refresh(grace=60).stored == 0
    assert calls_to(emulator, "get") == 0
    assert sync.refresh(grace=0).stored == sync.PAGE_SIZE


@pytest.fixture
def limited_platform(emulator):
    """The emulator refusing (429) a third call at once, each call taking 0.3 s."""
    emulator.max_concurrent = 2
    emulator.set_latency(300)
    yield emulator
    emulator.max_concurrent = 0
    emulator.set_latency(0)


def test_the_jobs_of_one_worker_share_its_places_for_platform_calls(limited_platform, settings):
    settings.SYNC_CONCURRENCY = 2
    ids = limited_platform.conversation_ids()[:8]
    # Another job's call (a head sync's list page, say) under way while the details are read.
    other = threading.Thread(
        target=sync._limited, args=(lambda: client.list_conversations(cached=False),)
    )
    other.start()
    time.sleep(0.05)
    stored = sync.fetch_details(ids, time.monotonic() + 20)
    other.join()
    assert stored == len(ids)
    # Two jobs each making SYNC_CONCURRENCY calls would have made three at once, refused.
    assert limited_platform.concurrency.peak == 2
    assert limited_platform.concurrency.refused == 0
