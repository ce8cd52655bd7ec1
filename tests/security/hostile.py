"""A conversation whose every text is an attack, and its twin with the same shape in plain words.

Rendering both and comparing the elements proves the hostile text changed nothing but text.
Used by the page tests here and by the browser test that checks the layout.
"""

import itertools
from datetime import UTC, datetime

MARKUP = "<script>alert('xss')</script><img src=x onerror=alert(1)>"
BREAKOUT = "\"'><svg onload=alert(2)>"
SCRIPT_URL = "javascript:alert(document.cookie)"
LONG_WORD = "W" * 5_000
CONTROL = "bell\x07 escape\x1b[31m null\x00 delete\x7f end"
RIGHT_TO_LEFT = "\u202eexe.gnp: right-to-left override"
ISOLATE = "\u2067unterminated isolate"
TEMPLATE = "{{ settings.SECRET_KEY }}{% debug %}"
STACKED_MARKS = "Z" + "\u0336" * 300

HOSTILE_TEXTS = [
    MARKUP,
    BREAKOUT,
    SCRIPT_URL,
    LONG_WORD,
    CONTROL,
    RIGHT_TO_LEFT,
    ISOLATE,
    TEMPLATE,
    STACKED_MARKS,
]


def conversation(conversation_id, audio_url, text=lambda value: value):
    """The detail JSON; `text` maps each platform-provided string (identity: the attack)."""
    turns = [
        {"speaker": speaker, "text": text(value), "timestamp": 2 * number}
        for number, (speaker, value) in enumerate(
            zip(itertools.cycle(["agent", "user"]), HOSTILE_TEXTS, strict=False)
        )
    ]
    turns.append({"speaker": text(RIGHT_TO_LEFT), "text": text(MARKUP), "timestamp": 30})
    turns.append({"speaker": text(MARKUP), "text": text(LONG_WORD), "timestamp": 32})
    return {
        "conversation_id": conversation_id,
        "agent_id": "agent_hostile",
        "status": text(BREAKOUT),
        "call_successful": "success",
        "audio": audio_url,
        "metadata": {
            "agent_name": text(MARKUP + RIGHT_TO_LEFT),
            "start_time": datetime.now(UTC).isoformat(),
            "duration": 40,
        },
        "transcript": turns,
        "evaluation_results": {
            text(MARKUP): {"result": "success", "rationale": text(SCRIPT_URL)},
            text(RIGHT_TO_LEFT): {"score": 0.5, "rationale": text(LONG_WORD)},
            text(LONG_WORD): {"result": "failure", "rationale": text(CONTROL)},
            text(TEMPLATE): {"result": "unknown", "rationale": text(STACKED_MARKS)},
        },
        "collected_data": {
            text(MARKUP): {"value": text(SCRIPT_URL), "rationale": text(BREAKOUT)},
            text(RIGHT_TO_LEFT): text(CONTROL),
            text(LONG_WORD): text(LONG_WORD),
            text(SCRIPT_URL): {"value": {text(BREAKOUT): [text(MARKUP), text(ISOLATE)]}},
        },
    }


def plain(conversation_id, audio_url):
    """The same conversation with each text replaced by a different plain word."""
    words = (f"plain{number}" for number in itertools.count())
    return conversation(conversation_id, audio_url, text=lambda value: next(words))


def add_pair(emulator, name="hostile"):
    """Add the hostile conversation and its plain twin; returns their ids."""
    ids = f"conv_{name}", f"conv_{name}_twin"
    for conversation_id, build in zip(ids, (conversation, plain), strict=True):
        audio = f"{emulator.url}/v1/convai/conversations/{conversation_id}/audio"
        emulator.add_conversation(build(conversation_id, audio))
    return ids


# Dates at the ends of what Python's datetime holds, each with a viewer's zone that would
# carry it past that end, and data nested hundreds of levels deep (issue 11).
LAST_SECOND = "9999-12-31T23:59:59Z"
FIRST_SECOND = "0001-01-01T00:00:00Z"
# The list filtered to this agent shows only the conversations planted here.
AGENT_ID = "agent_extreme"
EXTREME_TIMES = {
    "last_second": ({"start_time": LAST_SECOND}, "Asia/Tokyo"),
    "last_second_in_unix_seconds": ({"start_time_unix_secs": 253_402_300_799}, "Asia/Tokyo"),
    "first_second": ({"start_time": FIRST_SECOND}, "America/New_York"),
    "last_second_as_the_end": (
        {"start_time": "2024-01-01T00:00:00Z", "end_time": LAST_SECOND},
        "Asia/Tokyo",
    ),
    "an_end_a_year_after_the_last_start": (
        {"start_time": "9998-12-31T23:59:59Z", "duration": 365 * 86400 - 1},
        "Asia/Tokyo",
    ),
}


def dated(conversation_id, metadata):
    """A plain conversation with the given metadata, of an agent of its own kind (AGENT_ID)."""
    return {
        "conversation_id": conversation_id,
        "agent_id": AGENT_ID,
        "status": "done",
        "call_successful": "success",
        "metadata": metadata,
        "transcript": [{"speaker": "agent", "text": "Hello.", "timestamp": 0}],
    }


def nested(levels, leaf="the bottom"):
    """Objects and lists in turn, `levels` deep: 700 levels are about 3 KB of JSON."""
    value = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"deeper": value}
    return value


def deep(conversation_id, levels=700):
    """A conversation with a deeply nested value in each place that takes free-form JSON.

    Every field the reader knows is otherwise readable, so nothing else keeps it out of the
    cache, whose pickling recurses once or more per level.
    """
    value = nested(levels)
    raw = dated(conversation_id, {"start_time": datetime.now(UTC).isoformat(), "extra": value})
    raw["collected_data"] = {
        "with_a_rationale": {"value": value, "rationale": "nested"},
        "bare": value,
        "in_a_list": [value],
    }
    raw["unknown_field"] = value
    return raw
