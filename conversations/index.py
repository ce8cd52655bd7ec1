"""Writing the conversation index: what the platform said, stored so it can be queried.

The worker (conversations/sync.py) reads conversations through the client, with the same
tolerant reader as the pages, and hands them here. Every platform value is made storable
first: PostgreSQL refuses a NUL byte in text and in JSON, and columns have lengths.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations import search
from conversations.models import (
    IndexedConversation,
    IndexedEvaluation,
    IndexedTurn,
    IndexedValue,
)

# Statuses after which the platform still changes a conversation; any other is final.
NOT_FINAL = frozenset({"initiated", "in-progress", "in_progress", "processing"})
VALUE_TEXT_MAX = 200
REBUILD_BATCH = 500  # search texts written again at a time
REBUILD_BATCHES = 8  # at most, a run


def is_final(status):
    return (status or "").lower() not in NOT_FINAL


def text(value, limit=None):
    """Platform text as it can be stored: no NUL, within the column."""
    cleaned = str(value or "").replace("\x00", "")
    return cleaned[:limit] if limit else cleaned


def json_value(value):
    """A collected value as storable JSON: strings without NUL, keys as text.

    The reader already bounds how deep a value nests, so this recursion is bounded too.
    """
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {text(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def value_text(value):
    """A collected value as short text to filter on: `true`, `42`, `refund`."""
    if isinstance(value, str):
        return text(value, VALUE_TEXT_MAX)
    return text(json.dumps(json_value(value), ensure_ascii=False), VALUE_TEXT_MAX)


def version_of(conversation):
    """A digest of what the reader read: changes whenever the platform's answer does."""
    return hashlib.sha256(repr(conversation).encode()).hexdigest()[:32]


LIMITS = {"agent_id": 128, "agent_name": 200, "status": 40, "outcome": 10}


def summary_fields(conversation):
    """The list-level fields the platform gave, ready to store.

    A field the answer leaves out is left out here too, so an answer without it (a detail
    without the outcome the list showed) keeps what was known.
    """
    given = {
        "agent_id": conversation.agent_id,
        "agent_name": conversation.agent_name,
        "start_time": conversation.start_time,
        "duration": conversation.duration,
        "status": conversation.status,
        "outcome": conversation.call_successful,
    }
    fields = {
        name: text(value, LIMITS[name]) if name in LIMITS else value
        for name, value in given.items()
        if value is not None
    }
    if "status" in fields:
        fields["final"] = is_final(fields["status"])
    fields["indexed_at"] = timezone.now()
    return fields


# A conversation first seen without a status is taken as final: nothing says it will change.
NEW_ROW = {"final": True}


def store_summary(conversation):
    """Record a conversation seen in a list; a detail already read is kept.

    Returns whether the detail needs reading: new, its status changed, or never read. A
    conversation still processing with the same status is left to the refresh job, so the
    head sync does not fetch it again on every tick.
    """
    fields = summary_fields(conversation)
    row, created = IndexedConversation.objects.get_or_create(
        conversation_id=conversation.id, defaults={**NEW_ROW, **fields}
    )
    if created:
        return True
    if row.status != fields.get("status", row.status):
        IndexedConversation.objects.filter(pk=row.pk).update(**fields)
        return True
    return not row.detailed


@transaction.atomic
def store(conversation):
    """Record a conversation's detail: its row, evaluations, values and (if kept) turns."""
    fields = {
        **summary_fields(conversation),
        "message_count": len(conversation.transcript),
        "has_audio": bool(conversation.audio_url),
        "title": text(conversation.title, 300),
        "summary": text(conversation.summary),
        "detailed": True,
        "version": version_of(conversation),
    }
    row, _ = IndexedConversation.objects.update_or_create(
        conversation_id=conversation.id, defaults=fields, create_defaults={**NEW_ROW, **fields}
    )
    for model in (IndexedEvaluation, IndexedValue, IndexedTurn):
        model.objects.filter(conversation=row).delete()
    IndexedEvaluation.objects.bulk_create(
        IndexedEvaluation(
            conversation=row,
            criterion=text(result.criterion, 200),
            result=text(result.result, 10),
            score=result.score,
            rationale=text(result.feedback),
        )
        for result in _unique(conversation.evaluation, lambda r: text(r.criterion, 200))
    )
    values = IndexedValue.objects.bulk_create(
        IndexedValue(
            conversation=row,
            key=text(item.key, 200),
            value=json_value(item.value),
            text=value_text(item.value),
        )
        for item in _unique(conversation.collected_data, lambda v: text(v.key, 200))
    )
    turns = []
    if settings.INDEX_TRANSCRIPTS:
        turns = IndexedTurn.objects.bulk_create(
            IndexedTurn(
                conversation=row,
                position=number,
                speaker=text(turn.speaker, 40),
                offset=turn.offset,
                text=text(turn.text),
            )
            for number, turn in enumerate(conversation.transcript)
        )
    store_search_text(row, values, turns)
    return row


def store_search_text(row, values, turns):
    """The conversation's search text (search.py), made of what was just stored, so that
    search.rebuild() makes the same one from the index later."""
    with_turns = settings.INDEX_TRANSCRIPTS
    body = search.text_of(
        title=row.title,
        summary=row.summary,
        values=[value.text for value in values if search.searchable(value.value)],
        turns=[turn.text for turn in turns] if with_turns else None,
    )
    search.write(row, body, with_turns=with_turns)


def _unique(items, key):
    """The first item of each key: two entries that store under one name keep the first."""
    seen = set()
    for item in items:
        name = key(item)
        if name not in seen:
            seen.add(name)
            yield item


def purge(conversation_id):
    """Remove everything the index holds about a conversation (its rows cascade)."""
    if IndexedConversation.objects.filter(conversation_id=conversation_id).delete()[0]:
        search.note_residue()


def drop_old_transcripts(now=None):
    """Delete indexed turns older than INDEX_TRANSCRIPT_DAYS (0: keep them), from the turns
    and from the search texts; returns how many turns."""
    days = settings.INDEX_TRANSCRIPT_DAYS
    if not settings.INDEX_TRANSCRIPTS:
        dropped = IndexedConversation.objects.all()
    elif days:
        cutoff = (now or timezone.now()) - timedelta(days=days)
        dropped = IndexedConversation.objects.filter(start_time__lt=cutoff)
    else:
        return 0
    count = IndexedTurn.objects.filter(conversation__in=dropped).delete()[0]
    # Their search texts too, a few batches a run (the first run after INDEX_TRANSCRIPTS was
    # turned off may have a whole index to rewrite); the next runs go on.
    stale = dropped.filter(search_text__has_turns=True).order_by("pk")
    for _ in range(REBUILD_BATCHES):
        if not search.rebuild(stale[:REBUILD_BATCH], with_turns=False):
            break
        search.note_residue()
    return count
