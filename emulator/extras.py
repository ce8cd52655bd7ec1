"""What the platform adds to some conversations: why the call ended, its cost, the caller's
feedback, the tools the agent called (with their results) and the turns the caller interrupted.

Drawn from each conversation's seed with a random stream of its own, so that adding them
changed nothing else a seed draws. Not every call has each: some have none, as on the
platform, so that the dashboard shows their absence too.
"""

import json
import random
from dataclasses import dataclass, field

from emulator.store import Record

# Each topic's tool: (name, arguments, result), the values filled from the conversation.
TOOLS = {
    "support": (
        "lookup_order",
        {"order_id": "{order}"},
        {"order_id": "{order}", "status": "shipped", "carrier": "DHL", "eta": "{weekday}"},
    ),
    "sales": (
        "check_stock",
        {"product": "{product}", "postcode": "{postcode}"},
        {"product": "{product}", "in_stock": True, "quantity": 12, "warehouses": ["north", "east"]},
    ),
    "booking": (
        "find_slots",
        {"city": "{city}", "weekday": "{weekday}"},
        {"slots": ["09:30", "11:00", "14:15"], "timezone": "local"},
    ),
    "billing": (
        "get_invoice",
        {"ticket": "{ticket}", "include_lines": True},
        {"invoice": "INV-{ticket}", "amount": "{amount}", "paid": False, "lines": 3},
    ),
    "returns": (
        "create_return_label",
        {"order_id": "{order}", "reason": "damaged"},
        {"label_url": "https://example.com/labels/{order}", "expires_in_days": 14},
    ),
}
SEND_EMAIL = ("send_confirmation_email", {"to": "{email}"}, {"sent": True})
TOOL_ERROR = {"error": "The service did not answer within 5 seconds."}
TERMINATIONS = (
    "Call ended by remote party",
    "end_call tool was called.",
    "Client disconnected: 1000",
)
FAILED_TERMINATIONS = ("Client disconnected: 1006", "Error occurred during the call")
COMMENTS = (
    "Quick and friendly, thank you.",
    "I had to repeat my order number twice.",
    "The agent kept talking over me.",
    "Solved in two minutes. Great!",
)
MARKUP_TERMINATION = "Caller hung up <b>loudly</b>"
MARKUP_COMMENT = "<img src=x onerror=alert('feedback')> would <b>not</b> call again"
MARKUP_TOOL = (
    "lookup_<i>order</i>",
    {"note": "<script>alert('args')</script>"},
    {"html": "<b>x</b>"},
)


@dataclass(frozen=True)
class Extras:
    termination_reason: str | None = None
    cost: int | None = None  # in the platform's credits
    feedback: dict | None = None  # {"rating", "overall_score", "comment"}, as the platform's
    interrupted: frozenset[int] = frozenset()  # indexes of turns the caller spoke over
    # Turn index -> [(name, arguments JSON text, result JSON text, is_error)].
    tools: dict[int, list[tuple[str, str, str, bool]]] = field(default_factory=dict)


def extras(record: Record, fill: dict) -> Extras:
    rng = random.Random(record.seed ^ 0xE97A5)
    markup = record.flavor == "markup"
    failed = record.status == "failed"
    termination = None
    if markup:
        termination = MARKUP_TERMINATION
    elif rng.random() < 0.8:
        termination = rng.choice(FAILED_TERMINATIONS if failed else TERMINATIONS)
    cost = None
    if rng.random() < 0.85 and record.duration is not None:
        cost = int(record.duration * rng.uniform(8, 14))
    feedback = None
    if markup or rng.random() < 0.3:
        feedback = {
            "rating": rng.randint(1, 5) if rng.random() < 0.8 else None,
            "overall_score": rng.choice(("like", "dislike", None)),
            "comment": MARKUP_COMMENT
            if markup
            else (rng.choice(COMMENTS) if rng.random() < 0.5 else None),
        }
    count = record.message_count
    agent_turns = list(range(2, count - 1, 2))  # neither the greeting nor the goodbye
    interrupted = frozenset()
    if agent_turns and rng.random() < 0.4:
        interrupted = frozenset(rng.sample(agent_turns, min(len(agent_turns), rng.randint(1, 3))))
    tools = {}
    if agent_turns and (markup or rng.random() < 0.5):
        first = rng.choice(agent_turns)
        name, arguments, result = MARKUP_TOOL if markup else TOOLS[record.topic]
        error = not markup and rng.random() < 0.15
        tools[first] = [_tool_call(name, arguments, TOOL_ERROR if error else result, fill, error)]
        if rng.random() < 0.3 and fill.get("email"):
            last = agent_turns[-1]
            tools.setdefault(last, []).append(_tool_call(*SEND_EMAIL, fill))
    return Extras(termination, cost, feedback, interrupted, tools)


def _tool_call(name, arguments, result, fill, error=False):
    """(name, arguments, result, is_error), the arguments and result as JSON text, as the
    platform sends them."""
    return (name, json.dumps(_filled(arguments, fill)), json.dumps(_filled(result, fill)), error)


def _filled(value, fill):
    if isinstance(value, str):
        return value.format(**fill)
    if isinstance(value, dict):
        return {key: _filled(item, fill) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, fill) for item in value]
    return value
