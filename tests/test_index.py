"""The conversation index: what it stores of the platform's answer, and what a deletion leaves."""

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import models

from conversations import cache as response_cache
from conversations import client, index
from conversations.models import (
    AuditRecord,
    Comment,
    IndexedConversation,
    IndexedEvaluation,
    IndexedTurn,
    IndexedValue,
    Review,
    ReviewChange,
)

pytestmark = pytest.mark.django_db


def conversation(**fields):
    values = {
        "id": "conv_index_1",
        "agent_id": "agent_1",
        "agent_name": "Billing",
        "status": "done",
        "start_time": datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        "duration": 83.0,
        "audio_url": "https://api.xuna.ai/v1/convai/conversations/conv_index_1/audio",
        "call_successful": "failure",
        "transcript": (
            client.Turn("agent", "Hello, how can I help?", 0.0),
            client.Turn("user", "I want a refund.", 3.5),
        ),
        "evaluation": (client.EvaluationResult("politeness", "success", None, "Kind."),),
        "collected_data": (
            client.CollectedValue("refund", True, ""),
            client.CollectedValue("order", {"id": 42}, ""),
        ),
    }
    return client.Conversation(**{**values, **fields})


def test_it_stores_a_conversation_with_its_results_values_and_turns():
    index.store(conversation())
    row = IndexedConversation.objects.get()
    assert (row.agent_name, row.outcome, row.duration, row.message_count) == (
        "Billing",
        "failure",
        83.0,
        2,
    )
    assert (row.final, row.detailed, row.has_audio) == (True, True, True)
    assert len(row.version) == 32
    [result] = IndexedEvaluation.objects.all()
    assert (result.criterion, result.result, result.rationale) == ("politeness", "success", "Kind.")
    values = {v.key: (v.value, v.text) for v in IndexedValue.objects.all()}
    assert values == {"refund": (True, "true"), "order": ({"id": 42}, '{"id": 42}')}
    turns = list(IndexedTurn.objects.values_list("position", "speaker", "offset", "text"))
    assert turns == [
        (0, "agent", 0.0, "Hello, how can I help?"),
        (1, "user", 3.5, "I want a refund."),
    ]


def test_storing_again_replaces_what_changed_and_the_version_with_it():
    index.store(conversation())
    first = IndexedConversation.objects.get().version
    index.store(conversation(evaluation=(), transcript=(client.Turn("agent", "Bye.", 1.0),)))
    assert IndexedConversation.objects.get().version != first
    assert not IndexedEvaluation.objects.exists()
    assert list(IndexedTurn.objects.values_list("text", flat=True)) == ["Bye."]


def test_platform_text_is_made_storable_before_the_write():
    # PostgreSQL refuses a NUL in text and in JSON; CI runs this on PostgreSQL.
    index.store(
        conversation(
            agent_name="Bill\x00ing" + "x" * 300,
            transcript=(client.Turn("user\x00", "card\x00 4111", 1.0),),
            collected_data=(client.CollectedValue("note\x00", {"k\x00": ["v\x00"]}, ""),),
        )
    )
    row = IndexedConversation.objects.get()
    assert row.agent_name == "Billing" + "x" * 193
    assert IndexedTurn.objects.get().text == "card 4111"
    assert IndexedValue.objects.get().value == {"k": ["v"]}


def test_two_entries_with_one_name_keep_the_first():
    results = (
        client.EvaluationResult("tone", "success", None, "first"),
        client.EvaluationResult("tone", "failure", None, "second"),
    )
    index.store(conversation(evaluation=results))
    assert IndexedEvaluation.objects.get().rationale == "first"


def test_with_transcripts_kept_out_no_turn_is_stored(settings):
    settings.INDEX_TRANSCRIPTS = False
    index.store(conversation())
    assert IndexedConversation.objects.get().message_count == 2
    assert not IndexedTurn.objects.exists()


def test_transcripts_of_calls_older_than_the_retention_are_dropped(settings):
    settings.INDEX_TRANSCRIPT_DAYS = 30
    old = datetime.now(UTC) - timedelta(days=31)
    index.store(conversation(id="conv_old", start_time=old))
    index.store(conversation(id="conv_new", start_time=datetime.now(UTC)))
    assert index.drop_old_transcripts() == 2
    kept = set(IndexedTurn.objects.values_list("conversation_id", flat=True))
    assert kept == {"conv_new"}
    assert IndexedConversation.objects.count() == 2


@pytest.mark.parametrize(
    ("status", "final"),
    [("done", True), ("failed", True), ("processing", False), ("in-progress", False), (None, True)],
)
def test_only_statuses_the_platform_still_changes_are_not_final(status, final):
    assert index.is_final(status) is final


def test_a_summary_asks_for_the_detail_only_when_something_may_have_changed():
    summary = conversation(transcript=(), evaluation=(), collected_data=())
    assert index.store_summary(summary) is True  # new
    index.store(conversation())
    assert index.store_summary(summary) is False  # final, detailed, unchanged
    assert IndexedTurn.objects.count() == 2  # the detail is kept
    assert index.store_summary(conversation(status="processing")) is True


def rows_about(conversation_id):
    """Every row of every table of ours that mentions the conversation, but the audit log."""
    found = {}
    for model in apps.get_app_config("conversations").get_models():
        if model is AuditRecord:
            continue
        for field in model._meta.get_fields():
            if field.name == "conversation_id" or (
                isinstance(field, models.ForeignKey) and field.related_model is IndexedConversation
            ):
                lookup = "conversation_id" if field.name == "conversation_id" else field.name
                count = model.objects.filter(**{lookup: conversation_id}).count()
                if count:
                    found[model.__name__] = count
    return found


def test_after_a_deletion_no_table_or_cache_holds_anything_of_the_conversation(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    index.store(client.get_conversation(conversation_id))  # also fills the response cache
    cache_key = response_cache._key(response_cache._workspace(), "conversation", conversation_id)
    assert cache.get(cache_key) is not None
    Review.objects.create(conversation_id=conversation_id, status="flagged", tags=["pci"])
    ReviewChange.objects.create(conversation_id=conversation_id, username="ann", field="notes")
    Comment.objects.create(
        conversation_id=conversation_id,
        username="ann",
        body="card 4111",
        created_at=datetime.now(UTC),
    )
    assert set(rows_about(conversation_id)) >= {
        "Comment",
        "IndexedConversation",
        "IndexedEvaluation",
        "IndexedValue",
        "IndexedTurn",
        "Review",
        "ReviewChange",
    }
    as_role("Admin").post(f"/conversations/{conversation_id}/delete", {"reason": "asked"})
    assert rows_about(conversation_id) == {}
    assert AuditRecord.objects.filter(conversation_id=conversation_id, outcome="deleted").exists()
    assert cache.get(cache_key) is None


def test_a_detail_without_the_outcome_the_list_showed_keeps_that_outcome():
    index.store_summary(conversation(transcript=(), evaluation=(), collected_data=()))
    index.store(conversation(call_successful=None, agent_name=None))
    row = IndexedConversation.objects.get()
    assert (row.outcome, row.agent_name, row.detailed) == ("failure", "Billing", True)


def test_a_conversation_synced_from_the_emulator_keeps_its_outcome(emulator):
    page = client.list_conversations(page_size=20)
    for summary in page.items:
        index.store_summary(summary)
        index.store(client.get_conversation(summary.id, cached=False))
    listed = {c.id: c.call_successful for c in page.items if c.call_successful}
    stored = dict(IndexedConversation.objects.values_list("conversation_id", "outcome"))
    assert listed
    assert {cid: stored[cid] for cid in listed} == listed


def test_a_conversation_still_processing_is_left_to_the_refresh_until_its_status_changes():
    processing = conversation(status="processing", evaluation=(), collected_data=())
    assert index.store_summary(processing) is True
    index.store(processing)
    assert index.store_summary(processing) is False
    assert IndexedConversation.objects.get().final is False
    assert index.store_summary(conversation()) is True  # now done
