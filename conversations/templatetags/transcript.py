"""The transcript's turns, rendered in Python: a 1,000-turn call is one string join.

The same markup through the template engine costs about ten times as much (each turn
resolves a dozen variables and filters), which is most of what a long conversation's page
costs (docs/performance.md). The markup is `TURN` below (`UNTIMED_TURN` for a turn without
a time, `UNPLAYABLE_TURN` for one of a call without a recording, whose time is plain text),
built with format_html so every value is escaped; app.js and the tests rely on
`.turn.agent|.user|.other`, `data-at`, `[data-seek]`, `span.at`, `.speaker`, `.text`. A turn
the caller interrupted carries a badge, and the tools the agent called in it follow its text,
each a collapsed <details>; only such turns are built with that longer markup. app.js makes
the list one tab stop (a roving tabindex).

On a conversation's page each turn also shows the comments about it (each a link to it in
the thread, in `#turn-comments-<n>`, which the thread's htmx answer replaces) and, for those who
may comment, offers "Comment on this turn" (`[data-comment-turn]`).
"""

from django import template
from django.template.defaultfilters import pluralize
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

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
# A call without a recording: its times are plain text, since there is nothing to play.
UNPLAYABLE_TURN = TURN.replace(
    '<button type="button" class="at link" data-seek="{at}" aria-label="Play from {clock}">'
    "{clock}</button>",
    '<span class="at">{clock}</span>',
)
# What the platform may add to a turn: that the caller interrupted it, and the tools the agent
# called, each a collapsed <details> with its arguments and result. Only a turn that has one
# of them is built with this markup, so the others cost nothing more.
EXTRAS = ('<p class="text">{text}</p>', '{badge}<p class="text">{text}</p>{tools}')
# Constant markup with no value in it, so safe as it stands.
INTERRUPTED = mark_safe(
    '<span class="badge interrupted" title="The caller spoke over the agent">interrupted</span>'
)
TOOL_CALL = (
    '<details class="tool-call"><summary>Tool <code>{name}</code>{failed}</summary>'
    "{arguments}{result}</details>"
)
TOOL_PART = '<p class="tool-part">{}</p><pre>{}</pre>'
TOOL_FAILED = mark_safe(' <span class="badge failure">error</span>')
TURN_COMMENTS = '<span class="turn-comments" id="turn-comments-{turn}">{count}</span>'
TURN_COMMENTS_OOB = (
    '<span class="turn-comments" id="turn-comments-{turn}" hx-swap-oob="true">{count}</span>'
)
# Beside a turn, its comments themselves (the first few, shortened), each a link to it in
# the thread, where clicking its turn plays the call from there.
TURN_COMMENT = '<a class="turn-comment" href="#comment-{}"><b>{}</b> {}</a>'
MORE_COMMENTS = '<a href="#comment-{first}">{count} comment{plural}</a>'
SHOWN_BESIDE = 3
SNIPPET = 120
COMMENT_ON_TURN = (
    '<a class="comment-on-turn" href="?{query}turn={turn}#comment-form"'
    ' data-comment-turn="{turn}">Comment on this turn</a>'
)
TURN_OPTION = '<option value="{}"{}>{}{} (turn {})</option>'
# A turn's markup with its comments (and the offer to comment) before its end: one
# format_html a turn either way, as without them.
# Keyed by how the turn's time is shown: a seek button, plain text, or not at all.
PLAIN = {"play": TURN, "time": UNPLAYABLE_TURN, "none": UNTIMED_TURN}
WITH_COUNT = {
    timed: markup.replace("</li>", TURN_COMMENTS + "</li>") for timed, markup in PLAIN.items()
}
WITH_OFFER = {
    timed: markup.replace("</li>", TURN_COMMENTS + COMMENT_ON_TURN + "</li>")
    for timed, markup in PLAIN.items()
}


@register.simple_tag
def transcript_turns(turns, comment_counts=None, comment_query=None, recording=""):
    """The <li> of each turn; a turn without a time has no data-at and no seek button.

    With `comment_counts` ({turn: [Comment, ...]}, comments.counts_by_turn) each turn shows
    the comments about it; with `comment_query` (the page's query, for
    the link that works without JavaScript) it offers to comment on it. `recording` is the
    call's recording link: None, for a call without one, shows each time as plain text.
    """
    # A call has two or three speakers: each one's class and name are escaped once, not
    # once a turn (escaping is most of the cost here); so is the page's query.
    speakers = {}
    parts = []
    markup = PLAIN
    query = None
    if comment_counts is not None:
        markup = WITH_COUNT if comment_query is None else WITH_OFFER
        query = conditional_escape(comment_query or "")
    timed_as = "play" if recording is not None else "time"
    for number, turn in enumerate(turns):
        if turn.speaker not in speakers:
            speakers[turn.speaker] = {
                "kind": conditional_escape(SPEAKER_CLASSES.get(turn.speaker, "other")),
                "speaker": conditional_escape(turn.speaker or "unknown"),
            }
        fields = {"text": turn.text, **speakers[turn.speaker]}
        if query is not None:
            fields.update(turn=number, query=query, count=comment_count(number, comment_counts))
        timed = turn.offset is not None
        if timed:
            fields.update(at=seconds(turn.offset), clock=clock(turn.offset))
        template = markup[timed_as if timed else "none"]
        if turn.interrupted or turn.tool_calls:
            template = template.replace(*EXTRAS)
            fields.update(
                badge=INTERRUPTED if turn.interrupted else "", tools=tool_calls(turn.tool_calls)
            )
        parts.append(format_html(template, **fields))
    if not parts:
        return conditional_escape("")
    # One format_html over the parts, which are safe already: format_html_join would make
    # a call per turn, 2-3 ms of a long conversation's page.
    return format_html("{}" * len(parts), *parts)


def tool_calls(calls):
    """Each tool call of a turn as a collapsed <details>: its name, then its arguments and
    result (pretty-printed and cut by the reader), all escaped."""
    return format_html_join(
        "",
        "{}",
        (
            (
                format_html(
                    TOOL_CALL,
                    name=call.name,
                    failed=TOOL_FAILED if call.failed else "",
                    arguments=""
                    if call.arguments is None
                    else format_html(TOOL_PART, "Arguments", call.arguments),
                    result=""
                    if call.result is None
                    else format_html(TOOL_PART, "Result", call.result),
                ),
            )
            for call in calls
        ),
    )


def comment_count(number, comment_counts):
    """A turn's comments, the first SHOWN_BESIDE of them shortened, then how many there are
    in all when there are more; empty for none."""
    about = comment_counts.get(number)
    if not about:
        return ""
    shown = format_html_join(
        "",
        TURN_COMMENT,
        ((c.pk, c.username, Truncator(c.body).chars(SNIPPET)) for c in about[:SHOWN_BESIDE]),
    )
    if len(about) <= SHOWN_BESIDE:
        return shown
    total = len(about)
    more = format_html(MORE_COMMENTS, first=about[0].pk, count=total, plural=pluralize(total))
    return format_html("{}{}", shown, more)


@register.simple_tag
def turn_comment_count(number, comment_counts, oob=False):
    """`#turn-comments-<n>` alone, as the thread's htmx answer sends it out of band (`oob`)
    when a turn's count changed."""
    count = comment_count(number, comment_counts)
    return format_html(TURN_COMMENTS_OOB if oob else TURN_COMMENTS, turn=number, count=count)


@register.simple_tag
def turn_options(turns, selected=None):
    """The <option>s of the comment form's "About turn": each turn by time and speaker, as
    "1:23 agent (turn 5)". One format_html for them all, as for the turns."""
    speakers = {}
    values = []
    for number, turn in enumerate(turns):
        if turn.speaker not in speakers:
            speakers[turn.speaker] = conditional_escape(turn.speaker or "unknown")
        at = "" if turn.offset is None else f"{clock(turn.offset)} "
        chosen = " selected" if number == selected else ""
        values += (number, chosen, at, speakers[turn.speaker], number + 1)
    if not values:
        return conditional_escape("")
    return format_html(TURN_OPTION * len(turns), *values)
