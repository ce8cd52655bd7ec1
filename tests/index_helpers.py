"""Rows of the conversation index, written straight to the database, for the tests of what
reads it (the list's filters, exports)."""

from datetime import timedelta

from django.utils import timezone

from conversations import index
from conversations.models import IndexedConversation, IndexedEvaluation, IndexedValue, Review

NOW = timezone.now().replace(microsecond=0)


def indexed(conversation_id, *, hours_ago=1.0, evaluations=None, values=None, **fields):
    """A conversation the index holds in detail, started `hours_ago` hours ago, with its
    evaluation results ({criterion: result}) and collected values ({key: value})."""
    row = IndexedConversation.objects.create(
        **{
            "conversation_id": conversation_id,
            "agent_id": "agent_1",
            "agent_name": "Billing",
            "start_time": NOW - timedelta(hours=hours_ago),
            "duration": 60.0,
            "status": "done",
            "final": True,
            "outcome": "success",
            "message_count": 4,
            "detailed": True,
            "indexed_at": NOW,
            **fields,
        }
    )
    IndexedEvaluation.objects.bulk_create(
        IndexedEvaluation(conversation=row, criterion=name, result=result)
        for name, result in (evaluations or {}).items()
    )
    IndexedValue.objects.bulk_create(
        IndexedValue(conversation=row, key=key, value=value, text=index.value_text(value))
        for key, value in (values or {}).items()
    )
    return conversation_id


def review(conversation_id, **fields):
    return Review.objects.create(conversation_id=conversation_id, **fields)
