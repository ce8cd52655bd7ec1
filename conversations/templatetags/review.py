"""Formatting for what the platform sends: durations, relative times, agent names, JSON."""

import json
import math

from django import template
from django.utils import timezone

from conversations import agents as agents_module

register = template.Library()


@register.filter
def clock(seconds):
    """Seconds as m:ss (or h:mm:ss past an hour); empty for unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def ago(moment):
    """A short relative hint such as '3 h ago', for times in the past or the future."""
    return ago_from(moment, timezone.now())


def ago_from(moment, now):
    if moment is None:
        return ""
    delta = (now - moment).total_seconds()
    future, delta = delta < 0, abs(delta)
    for size, unit in ((86400 * 365, "y"), (86400, "d"), (3600, "h"), (60, "min")):
        if delta >= size:
            amount = f"{int(delta // size)} {unit}"
            return f"in {amount}" if future else f"{amount} ago"
    return "just now"


@register.filter
def agent_label(conversation, agents):
    """The agent's name where known, else its id."""
    return agents.get(conversation.agent_id) or conversation.agent_name or conversation.agent_id


@register.filter
def pretty_json(value):
    """Objects and lists as indented JSON; escaping is left to the template."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def is_structured(value):
    return isinstance(value, dict | list)


@register.filter
def seconds(value):
    """A float offset for data attributes, always with a dot."""
    return "" if value is None else f"{float(value):.3f}"


@register.filter
def agent_filter_text(agent_id, agents):
    """The agent filter's text for an agent: its name where that is unambiguous, else its id."""
    return agents_module.agent_filter_text(agent_id, agents) if agent_id else ""


@register.filter
def agent_choices(agents):
    """(id, text) of each agent for the agent filter's choices, its text as the box shows it."""
    return agents_module.agent_filter_texts(agents).items()


@register.filter
def get_item(mapping, key):
    return mapping.get(key)


@register.filter
def failed_ids(results):
    """The ids not known to be deleted, from deletion results, to offer another try."""
    return [result.conversation_id for result in results if not result.done]
