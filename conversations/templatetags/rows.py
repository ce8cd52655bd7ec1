"""The list's rows and their review cells, rendered in Python: 50 rows are one string join.

The list page is the page a reviewer loads most, and through the template engine its 50
rows cost about 10 ms (each resolves some twenty variables, filters, URLs and permissions),
most of what the dashboard adds to the platform's own latency (docs/performance.md). Here
they cost well under 1 ms.

This module is the one source of a row's markup, as `_row.html` would be: `_rows.html` uses
it for the page and for "Load more", and `_bulk_updated.html` for the review cells it
swaps in after a bulk change. Every value is escaped (`html.escape` is what Django's escape
filter runs). app.js and the tests rely on `tr#row-<id>`, the `ids` checkboxes and the
`#review-<id>`, `#assignee-<id>` and `#tags-<id>` cells.
"""

from html import escape

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from conversations.templatetags.review import agent_label, ago_from, clock

register = template.Library()

ROW = (
    '<tr id="row-{id}">\n'
    '  <td><input type="checkbox" name="ids" value="{id}" form="bulk"'
    ' aria-label="Select conversation {id}"></td>\n'
    "  <td>{started}</td>\n"
    '  <td><a href="{detail}">{agent}</a></td>\n'
    '  <td class="num">{duration}</td>\n'
    "  <td>{status}</td>\n"
    "  <td>{evaluation}</td>\n"
    "  {review_cells}\n"
    "{actions}"
    "</tr>\n"
)
STARTED = '<time datetime="{iso}">{text}</time> <span class="muted small">{ago}</span>'
UNKNOWN_START = '<span class="muted">unknown</span>'
EVALUATION = '<span class="badge {outcome}">{outcome}</span>'
ACTIONS = (
    '  <td class="actions"><a class="danger small" href="{delete}" hx-get="{delete}?from=list"'
    ' hx-target="#dialog-slot" aria-label="Delete conversation {id}">Delete</a></td>\n'
)
REVIEW_CELLS = (
    '<td id="review-{id}"{oob}><span class="review {status}">{label}</span></td>\n'
    '<td id="assignee-{id}"{oob}>{assignee}</td>\n'
    '<td id="tags-{id}"{oob}>{tags}</td>'
)
TAG = '<span class="tag">{}</span> '
OOB = ' hx-swap-oob="true"'
# A valid conversation id (client.ID_RE) standing in for each row's own in a reversed URL:
# two reverse() calls a page instead of two a row. Ids are [A-Za-z0-9_-], so need no quoting.
PLACEHOLDER = "__row_id__"


@register.simple_tag
def conversation_rows(rows, agents, list_query, can_delete):
    """The <tr> of each reviews.Row; `list_query` is kept on the links to a conversation."""
    detail = reverse("conversations:detail", args=[PLACEHOLDER])
    if list_query:
        detail += "?" + list_query
    detail = escape(detail)
    delete = escape(reverse("conversations:delete", args=[PLACEHOLDER]))
    # Looked up once, not per row: the viewer's zone (ViewerTimezoneMiddleware) and the time.
    zone, now = timezone.get_current_timezone(), timezone.now()
    parts = []
    for row in rows:
        c = row.conversation
        cid = escape(c.id)
        parts.append(
            ROW.format(
                id=cid,
                started=started(c.start_time, zone, now),
                detail=detail.replace(PLACEHOLDER, cid, 1),
                agent=escape(agent_label(c, agents) or "unknown agent"),
                duration=escape(clock(c.duration)),
                status=escape(c.status or "–"),
                evaluation=(
                    EVALUATION.format(outcome=escape(c.call_successful))
                    if c.call_successful
                    else ""
                ),
                review_cells=cells(row.review, cid),
                actions=ACTIONS.format(delete=delete.replace(PLACEHOLDER, cid, 1), id=cid)
                if can_delete
                else "",
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


@register.simple_tag
def review_cells(review, conversation_id, oob=False):
    """The review, assignee and tags cells of one conversation; `oob` to swap them in place."""
    return mark_safe(cells(review, escape(conversation_id), OOB if oob else ""))  # noqa: S308


def cells(review, cid, oob=""):
    if review is None:
        return REVIEW_CELLS.format(
            id=cid, oob=oob, status="unreviewed", label="Unreviewed", assignee="", tags=""
        )
    return REVIEW_CELLS.format(
        id=cid,
        oob=oob,
        status=escape(review.status or "unreviewed"),
        label=escape(review.get_status_display() or "Unreviewed"),
        assignee=escape(review.assignee.username) if review.assignee_id else "",
        tags="".join(TAG.format(escape(str(tag))) for tag in review.tags or ()),
    )


def started(moment, zone, now):
    """When the call started, in the viewer's zone, as the `date` filter would show it."""
    if moment is None:
        return UNKNOWN_START
    local = moment.astimezone(zone) if timezone.is_aware(moment) else moment
    return STARTED.format(
        iso=escape(local.isoformat()),
        text=local.strftime("%Y-%m-%d %H:%M"),
        ago=escape(ago_from(moment, now)),
    )
