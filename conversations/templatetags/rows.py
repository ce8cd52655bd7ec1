"""The list's rows and their review cells, rendered in Python: 50 rows are one string join.

The list page is the page a reviewer loads most, and through the template engine its 50
rows cost about 10 ms (each resolves some twenty variables, filters, URLs and permissions),
most of what the dashboard adds to the platform's own latency (docs/performance.md). Here
they cost about 2 ms.

This module is the one source of a row's markup, as `_row.html` would be: `_rows.html` uses
it for the page and for "Load more", `_bulk_updated.html` for the review cells it swaps in
after a bulk change, and `_deleted.html` for the id of the rows it removes (`row_dom_id`).
The markup is built with format_html / format_html_join only, so every value is escaped on
the way in; what is escaped once (a row's id) is passed on as safe, not escaped again.
app.js and the tests rely on `tr#row-<id>`, the `ids` checkboxes (app.js finds a row
through its checkbox, it never builds the id), the `#review-<id>`, `#assignee-<id>` and
`#tags-<id>` cells and the `a.open` link of each row (the list's j/k/Enter keys).

Each cell carries its column's name in `data-label`: on a narrow window the rows become
cards and app.css shows that name beside the value. The start time is the row's link, named
after the call ("Call with Billing bot, 2026-03-01 14:10, 2 min 5 s"), so a screen reader
listing links hears which call each one opens, not the same agent's name fifty times.
"""

import math

from django import template
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html, format_html_join

from conversations import calibration, queries
from conversations.templatetags.review import agent_label, ago_from, clock

register = template.Library()


@register.filter
def row_dom_id(conversation_id):
    """The id of a conversation's <tr> in the list: the one place it is written."""
    return f"row-{conversation_id}"


REVIEW_CELLS = (
    '<td id="review-{id}"{oob} data-label="Review">'
    '<span class="review {review_status}">{label}</span></td>\n'
    '<td id="assignee-{id}"{oob} data-label="Assignee">{assignee}</td>\n'
    '<td id="tags-{id}"{oob} data-label="Tags">{tags}</td>'
)
# A row's format string: ROW, then ACTIONS where the viewer may delete, then END. Its id
# comes from row_dom_id, given the placeholder "{id}" to keep; its review cells are
# REVIEW_CELLS, filled from the same values.
ROW = (
    f'<tr id="{row_dom_id("{id}")}">\n'
    '  <td><input type="checkbox" name="ids" value="{id}" form="bulk"'
    ' aria-label="Select conversation {id}"></td>\n'
    '  <td data-label="Started"><a class="open" href="{detail}" aria-label="{name}">{started}</a>'
    "{ago}</td>\n"
    '  <td data-label="Agent">{agent}{hit}</td>\n'
    '  <td class="num" data-label="Duration">{duration}</td>\n'
    '  <td data-label="Status">{status}</td>\n'
    '  <td data-label="Evaluation">{evaluation}</td>\n'
    '  <td class="num" data-label="Score">{score}</td>\n'
    f"  {REVIEW_CELLS}\n"
)
ACTIONS = (
    '  <td class="actions"><a class="danger small" href="{delete}" hx-get="{delete}?from=list"'
    ' hx-target="#dialog-slot" aria-label="Delete conversation {id}">Delete</a></td>\n'
)
END = "</tr>\n"
# Where a search matched the row's conversation (search.Hit): a link to that very turn.
HIT = (
    '<a class="hit" href="{href}"><span class="hit-where">{where}</span> '
    '<span class="hit-text" dir="auto">{text}</span></a>{more}'
)
HIT_MORE = ' <span class="hit-more muted small">and {} more matching turn{}</span>'
HIT_PLACES = {"title": "Title", "summary": "Summary"}
STARTED = '<time datetime="{iso}">{text}</time>'
AGO = ' <span class="muted small">{}</span>'
UNKNOWN_START = format_html('<span class="muted">{}</span>', "unknown")
# The row link's accessible name; it holds the link's visible text (WCAG 2.5.3).
CALL_NAME = "Call with {agent}, {started}{duration}"
EVALUATION = '<span class="badge {outcome}">{outcome}</span>'
# A current score's total; with several scorecards, each names its own, on a line of its own.
SCORE = '<span class="score">{total}{auto_fail}{scorecard}</span>'
AUTO_FAIL = format_html(' <span class="badge auto-fail">{}</span>', "auto-fail")
SCORECARD = ' <span class="muted small">{}</span>'
TAG = '<span class="tag">{}</span> '
OOB = format_html(' hx-swap-oob="{}"', "true")
NOTHING = conditional_escape("")
# Most rows are not reviewed yet: their cells' values, escaped once.
UNREVIEWED = {
    "review_status": conditional_escape("unreviewed"),
    "label": conditional_escape("Unreviewed"),
    "assignee": NOTHING,
    "tags": NOTHING,
}
# A valid conversation id (client.ID_RE) standing in for each row's own in a reversed URL:
# two reverse() calls a page instead of two a row. The URL is cut around it, and each row
# puts its own escaped id in the cut.
PLACEHOLDER = "__row_id__"


@register.simple_tag(takes_context=True)
def conversation_rows(context, rows, agents, list_query, can_delete):
    """The <tr> of each reviews.Row; `list_query` is kept on the links to a conversation."""
    detail, detail_tail = url_around_id("conversations:detail")
    if list_query:
        detail_tail = format_html("{}?{}", detail_tail, list_query)
    delete, delete_tail = url_around_id("conversations:delete")
    # Looked up once, not per row: the viewer's zone (ViewerTimezoneMiddleware) and the time.
    zone, now = timezone.get_current_timezone(), timezone.now()
    rows = list(rows)
    scores = queries.current_scores(row.conversation.id for row in rows)
    if scores:
        # A call the viewer is scoring blind shows no one's score (calibration.is_blind).
        for conversation_id in calibration.blind_ids(context["request"].user) & scores.keys():
            del scores[conversation_id]

    def fields(row):
        c = row.conversation
        cid = conditional_escape(c.id)
        agent = agent_label(c, agents) or "unknown agent"
        return {
            "id": cid,
            "started": started(c.start_time, zone),
            "ago": format_html(AGO, ago_from(c.start_time, now)) if c.start_time else NOTHING,
            "name": call_name(agent, c.start_time, c.duration, zone),
            # Safe strings added up stay safe: the escaped URL around the escaped id.
            "detail": detail + cid + detail_tail,
            "agent": agent,
            "hit": hit_link(row.hit, detail + cid + detail_tail) if row.hit else NOTHING,
            "duration": clock(c.duration),
            "status": c.status or "–",
            "evaluation": (
                format_html(EVALUATION, outcome=c.call_successful) if c.call_successful else NOTHING
            ),
            "score": score_cell(scores.get(c.id, ())),
            "oob": NOTHING,
            **review_values(row.review),
            "delete": delete + cid + delete_tail,
        }

    return format_html_join("", ROW + (ACTIONS if can_delete else "") + END, map(fields, rows))


@register.simple_tag
def review_cells(review, conversation_id, oob=False):
    """The review, assignee and tags cells of one conversation; `oob` to swap them in place."""
    return format_html(
        REVIEW_CELLS, id=conversation_id, oob=OOB if oob else NOTHING, **review_values(review)
    )


def review_values(review):
    """What REVIEW_CELLS shows of a review (its status is `review_status` in a row)."""
    if review is None:
        return UNREVIEWED
    return {
        "review_status": review.status or "unreviewed",
        "label": review.get_status_display() or "Unreviewed",
        "assignee": review.assignee.username if review.assignee_id else NOTHING,
        "tags": format_html_join("", TAG, ((tag,) for tag in review.tags))
        if review.tags
        else NOTHING,
    }


def score_cell(scores):
    """A row's current scores (queries.CurrentScore), the highest first: "85%", "0% auto-fail"."""
    named = len(scores) > 1
    return format_html_join(
        " ",
        SCORE,
        (
            {
                "total": "n/a" if score.total is None else f"{score.total:.0f}%",
                "auto_fail": AUTO_FAIL if score.auto_failed else NOTHING,
                "scorecard": format_html(SCORECARD, score.scorecard) if named else NOTHING,
            }
            for score in scores
        ),
    )


def hit_link(hit, detail):
    """A search result's line: where it matched, the text with the match marked, and a link
    that opens the conversation at that turn (app.js reads `#t=` and `#turn=`)."""
    where, fragment = HIT_PLACES.get(hit.place, ""), ""
    if hit.place == "value":
        where = f"Collected {hit.label}"
    elif hit.place == "turn":
        speaker = (hit.speaker or "unknown").capitalize()
        turn = f"turn={hit.position + 1}"
        if hit.offset is not None and math.isfinite(hit.offset) and hit.offset >= 0:
            where, fragment = f"{speaker} at {clock(hit.offset)}", f"#t={round(hit.offset, 3):g}"
            # Two turns at one time: the number says which of them.
            fragment += f"&{turn}" if hit.shared else ""
        else:
            where, fragment = speaker, f"#{turn}"
    more = format_html(HIT_MORE, hit.others, pluralize(hit.others)) if hit.others else NOTHING
    href = format_html("{}{}", detail, fragment)
    return format_html(HIT, href=href, where=where, text=hit.marked(), more=more)


def url_around_id(name):
    """A conversation's URL as the escaped parts before and after its id."""
    head, _, tail = reverse(name, args=[PLACEHOLDER]).partition(PLACEHOLDER)
    return conditional_escape(head), conditional_escape(tail)


def local_time(moment, zone):
    return moment.astimezone(zone) if timezone.is_aware(moment) else moment


def started(moment, zone):
    """When the call started, in the viewer's zone, as the `date` filter would show it."""
    if moment is None:
        return UNKNOWN_START
    local = local_time(moment, zone)
    return format_html(STARTED, iso=local.isoformat(), text=local.strftime("%Y-%m-%d %H:%M"))


def call_name(agent, moment, seconds, zone):
    """Which call a row's link opens, in words (CALL_NAME)."""
    when = local_time(moment, zone).strftime("%Y-%m-%d %H:%M") if moment else "unknown"
    return CALL_NAME.format(agent=agent, started=when, duration=spoken_duration(seconds))


def spoken_duration(seconds):
    """A duration as it is read out (", 2 min 5 s", ", 1 h 2 min"); empty for unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f", {hours} h {minutes} min"
    return f", {minutes} min {secs} s" if minutes else f", {secs} s"
