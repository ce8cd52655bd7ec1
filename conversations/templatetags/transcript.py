"""The transcript's turns, rendered in Python: a 1,000-turn call is one string join.

The same markup through the template engine costs over ten times as much (each turn
resolves a dozen variables and filters), which is most of what a long conversation's page
costs (docs/performance.md). Every value is escaped; the markup is `TURN` below, which
app.js and the tests rely on: `.turn.agent|.user|.other`, `data-at`, `[data-seek]`,
`.speaker`, `.text`.
"""

from html import escape

from django import template
from django.utils.safestring import mark_safe

from conversations.templatetags.review import clock, seconds

register = template.Library()

SPEAKER_CLASSES = {"agent": "agent", "user": "user"}
TURN = (
    '<li class="turn {kind}"{at}><span class="speaker">{speaker}</span>{seek}'
    '<p class="text">{text}</p></li>\n'
)
SEEK = (
    '<button type="button" class="at link" data-seek="{at}" aria-label="Play from {clock}">'
    "{clock}</button>"
)


@register.simple_tag
def transcript_turns(turns):
    """The <li> of each turn, escaped (html.escape is what Django's escape filter runs)."""
    parts = []
    for turn in turns:
        at = attributes = seek = ""
        if turn.offset is not None:
            at = seconds(turn.offset)
            attributes = f' data-at="{at}"'
            seek = SEEK.format(at=at, clock=escape(clock(turn.offset)))
        parts.append(
            TURN.format(
                kind=SPEAKER_CLASSES.get(turn.speaker, "other"),
                at=attributes,
                speaker=escape(turn.speaker or "unknown"),
                seek=seek,
                text=escape(turn.text),
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
