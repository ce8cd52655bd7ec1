"""The platform-response cache: list pages and conversations, briefly (docs/performance.md).

Django's cache holds the parsed dataclasses for XUNA_CACHE_LIST_SECONDS and
XUNA_CACHE_CONVERSATION_SECONDS, and a deletion through the dashboard drops them at once
(`forget_conversation`). Which backend holds them is settings' CACHES (memory, or Redis
through conversations/cache_backend.py).
"""

import dataclasses
import hashlib
import json
import time

from django.conf import settings
from django.core.cache import cache

from conversations.reader import (
    CallerFeedback,
    CollectedValue,
    Conversation,
    ConversationPage,
    EvaluationResult,
    ToolCall,
    Turn,
)
from conversations.transport import read_config

# Keys are per workspace and per call, never per user: every role that may call
# list_conversations or get_conversation sees the same workspace data, and each view checks
# the user's permission before it calls the client. The workspace is a fingerprint of the
# base URL and a SHA-256 of the key, so the key itself is never part of a cache key.
# The schema is part of each key, so that after an upgrade that changes these dataclasses no
# process unpickles an entry that an older version stored in a shared cache.
CACHE_PREFIX = "xuna"
_SCHEMA = hashlib.sha256(
    repr(
        [
            [(f.name, str(f.type)) for f in dataclasses.fields(cls)]
            for cls in (
                Turn,
                ToolCall,
                EvaluationResult,
                CollectedValue,
                CallerFeedback,
                Conversation,
                ConversationPage,
            )
        ]
    ).encode()
).hexdigest()[:8]


def cached_list_page(params, load):
    """The list page that `load()` reads with these query `params`, kept for a while.

    The list generation is part of its key: a deletion moves every list page to new keys at
    once.
    """
    key = None
    if settings.XUNA_CACHE:
        workspace = _workspace()
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]
        key = _key(workspace, "list", f"{_list_generation(workspace)}:{digest}")
    return cached(key, settings.XUNA_CACHE_LIST_SECONDS, load)


def cached_conversation(conversation_id, load):
    """The conversation that `load()` reads, kept for a while."""
    key = None
    if settings.XUNA_CACHE:
        key = _key(_workspace(), "conversation", conversation_id)
    return cached(key, settings.XUNA_CACHE_CONVERSATION_SECONDS, load)


def cached(key, seconds, load):
    """`load()`, or what it returned within the last `seconds`; with no key, always load().

    The parsed dataclasses are stored: reading one back is several times cheaper than
    parsing the platform's JSON again (docs/performance.md). An answer the reader could not
    fully read is not stored: it may be a passing fault of the platform, and kept it would
    be served for the whole lifetime after the platform recovered.
    """
    if key is None:
        return load()
    value = cache.get(key)
    if value is None:
        value = load()
        if _fully_read(value):
            cache.set(key, value, seconds)
    return value


def _fully_read(value):
    """Whether a Conversation, or a ConversationPage and each of its items, has no problems."""
    if isinstance(value, ConversationPage):
        return not value.problems and not any(item.problems for item in value.items)
    return not value.problems


def _workspace():
    config = read_config()
    key_digest = hashlib.sha256(config.key.encode()).hexdigest()
    return hashlib.sha256(f"{config.base_url}\n{key_digest}".encode()).hexdigest()[:32]


def _key(workspace, kind, name):
    return f"{CACHE_PREFIX}:{_SCHEMA}:{workspace}:{kind}:{name}"


def _list_generation(workspace):
    key = _key(workspace, "list-generation", "")
    generation = cache.get(key)
    if generation is None:
        # A counter that is missing (new, or evicted) starts from the clock, never from a
        # value that older list entries may still be stored under.
        cache.add(key, time.time_ns(), None)
        generation = cache.get(key, 0)
    return generation


def forget_conversation(conversation_id):
    """Drop a conversation's entry and move every list page of its workspace to new keys.

    Done even with the cache off here: another process sharing the cache may have it on.
    Other workers' own memory caches are not reached; the views hide conversations that the
    audit log records as deleted, which covers them and a fetch that was already under way.
    """
    workspace = _workspace()
    cache.delete(_key(workspace, "conversation", conversation_id))
    generation_key = _key(workspace, "list-generation", "")
    try:
        cache.incr(generation_key)
    except ValueError:
        cache.set(generation_key, time.time_ns(), None)
