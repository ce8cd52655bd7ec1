"""The transcript's turns, rendered in Python: a 1,000-turn call is one string join.

The same markup through the template engine costs about ten times as much (each turn
resolves a dozen variables and filters), which is most of what a long conversation's page
costs (docs/performance.md). The markup is `TURN` below (`UNTIMED_TURN` for a turn without
a time), built with format_html so every value is escaped; app.js and the tests rely on
`.turn.agent|.user|.other`, `data-at`, `[data-seek]`, `.speaker`, `.text`.

On a conversation's page each turn also shows the comments about it (each a link to it in
the thread, in `#turn-comments-<n>`, which the thread's htmx answer replaces) and, for those who
may comment, offers "Comment on this turn" (`[data-comment-turn]`).
"""

from django import template
from django.template.defaultfilters import pluralize
from django.utils.html import conditional_escape, format_html, format_html_join
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
WITH_COUNT = {
    timed: markup.replace("</li>", TURN_COMMENTS + "</li>")
    for timed, markup in ((True, TURN), (False, UNTIMED_TURN))
}
WITH_OFFER = {
    timed: markup.replace("</li>", TURN_COMMENTS + COMMENT_ON_TURN + "</li>")
    for timed, markup in ((True, TURN), (False, UNTIMED_TURN))
}


@register.simple_tag
def transcript_turns(turns, comment_counts=None, comment_query=None):
    """The <li> of each turn; a turn without a time has no data-at and no seek button.

    With `comment_counts` ({turn: [Comment, ...]}, comments.counts_by_turn) each turn shows
    the comments about it; with `comment_query` (the page's query, for
    the link that works without JavaScript) it offers to comment on it.
    """
    # A call has two or three speakers: each one's class and name are escaped once, not
    # once a turn (escaping is most of the cost here); so is the page's query.
    speakers = {}
    parts = []
    markup = {True: TURN, False: UNTIMED_TURN}
    query = None
    if comment_counts is not None:
        markup = WITH_COUNT if comment_query is None else WITH_OFFER
        query = conditional_escape(comment_query or "")
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
        parts.append(format_html(markup[timed], **fields))
    if not parts:
        return conditional_escape("")
    # One format_html over the parts, which are safe already: format_html_join would make
    # a call per turn, 2-3 ms of a long conversation's page.
    return format_html("{}" * len(parts), *parts)


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
