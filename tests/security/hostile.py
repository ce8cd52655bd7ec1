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
