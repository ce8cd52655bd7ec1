"""The transcript's turns, rendered in Python: a 1,000-turn call is one string join.

The same markup through the template engine costs about ten times as much (each turn
resolves a dozen variables and filters), which is most of what a long conversation's page
costs (docs/performance.md). The markup is `TURN` below (`UNTIMED_TURN` for a turn without
a time), built with format_html so every value is escaped; app.js and the tests rely on
`.turn.agent|.user|.other`, `data-at`, `[data-seek]`, `.speaker`, `.text`.
"""

from django import template
from django.utils.html import conditional_escape, format_html

from conversations.templatetags.review import clock, seconds

register = template.Library()

SPEAKER_CLASSES = {"agent": "agent", "user": "user"}
TURN = (
    '<li class="turn {kind}" data-at="{at}"><span class="speaker">{speaker}</span>'
    '<button type="button" class="at link" data-seek="{at}" aria-label="Play from {clock}">'
    '{clock}</button><p class="text">{text}</p></li>\n'
)
UNTIMED_TURN = (
    '<li class="turn {kind}"><span class="speaker">{speaker}</span>'
    '<p class="text">{text}</p></li>\n'
)


@register.simple_tag
def transcript_turns(turns):
    """The <li> of each turn; a turn without a time has no data-at and no seek button."""
    # A call has two or three speakers: each one's class and name are escaped once, not
    # once a turn (escaping is most of the cost here).
    speakers = {}
    parts = []
    for turn in turns:
        if turn.speaker not in speakers:
            speakers[turn.speaker] = {
                "kind": conditional_escape(SPEAKER_CLASSES.get(turn.speaker, "other")),
                "speaker": conditional_escape(turn.speaker or "unknown"),
            }
        if turn.offset is None:
            parts.append(format_html(UNTIMED_TURN, text=turn.text, **speakers[turn.speaker]))
        else:
            parts.append(
                format_html(
                    TURN,
                    at=seconds(turn.offset),
                    clock=clock(turn.offset),
                    text=turn.text,
                    **speakers[turn.speaker],
                )
            )
    if not parts:
        return conditional_escape("")
    # One format_html over the parts, which are safe already: format_html_join would make
    # a call per turn, 2-3 ms of a long conversation's page.
    return format_html("{}" * len(parts), *parts)
