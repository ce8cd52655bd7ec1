"""The analytics page and its charts' CSV downloads, for leads and admins.

Both read the list's filters (views.filter_from), a time range and a collected-data key from
the query, and count from the conversation index (analytics.py); charts are drawn in
analytics_charts.py and charts.py.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from conversations import analytics, analytics_charts, calibration, charts, export, queries
from conversations.agents import agents_seen
from conversations.errors import render_error
from conversations.models import Score
from conversations.views import download, filter_from

analytics_required = permission_required("conversations.view_analytics", raise_exception=True)

NO_INDEX = (
    "Analytics count the dashboard's index of conversations, which is turned off or still "
    "empty. Once the worker has indexed some conversations, they appear here."
)
# The list's filters as the page names them (the range has the days).
FILTER_NAMES = {
    "q": "Search",
    "agent": "Agent",
    "review": "Review",
    "assigned": "Assigned",
    "tag": "Tag",
    "min_minutes": "At least (minutes)",
    "max_minutes": "At most (minutes)",
    "outcome": "Outcome",
    "criterion": "Criterion",
    "result": "Result",
    "data_key": "Collected data",
    "data_value": "Collected value",
    "scorecard": "Scorecard",
    "score_min": "Score at least (%)",
    "score_max": "Score at most (%)",
    "qa_criterion": "Scorecard criterion",
    "qa_value": "Scorecard answer",
    "disagree": "Disagrees with the platform on",
}
# The list's days are the range's (the form has them); its order changes no count.
DAYS = {"since", "until"}
NOT_SHOWN = {*DAYS, "sort"}


@require_GET
@analytics_required
def analytics_page(request):
    agents = agents_seen()
    review_filter = filter_from(request.GET, agents)
    try:
        period = analytics.read_range(request.GET, review_filter)
    except analytics.BadRange as exc:
        return render_error(request, 400, "Choose another range", str(exc))
    scope = analytics.Scope.of(review_filter, request.user, period)
    available = queries.available()
    context = page_context(scope, agents, analytics.read_key(request.GET), available)
    if available:
        figures = analytics_charts.Figures(scope, context["key"])
        context["sections"] = [
            (heading, [draw(figures, slug, request.GET) for slug in slugs])
            for heading, slugs in analytics_charts.SECTIONS
        ]
        context.update(quality_context(scope))
    return render(request, "conversations/analytics.html", context)


@require_GET
@analytics_required
def analytics_csv(request, chart):
    if chart not in analytics_charts.CHARTS:
        return render_error(request, 404, "No such chart", "The analytics page has no such chart.")
    if not queries.available():
        return render_error(request, 404, "No analytics", NO_INDEX)
    review_filter = filter_from(request.GET)
    try:
        period = analytics.read_range(request.GET, review_filter)
    except analytics.BadRange as exc:
        return render_error(request, 400, "Choose another range", str(exc))
    scope = analytics.Scope.of(review_filter, request.user, period)
    figures = analytics_charts.Figures(scope, analytics.read_key(request.GET))
    drawn = analytics_charts.chart(figures, chart)
    lines = export.csv_lines([c.name for c in drawn.columns], drawn.rows)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return download(lines, f"analytics-{chart}-{stamp}.csv", export.FORMATS["csv"])


def draw(figures, slug, params):
    return charts.figure(analytics_charts.chart(figures, slug), csv_url(slug, params))


def csv_url(slug, params):
    """The chart's CSV, for the same query as the page."""
    url = reverse("conversations:analytics_csv", args=[slug])
    query = params.urlencode()
    return f"{url}?{query}" if query else url


def quality_context(scope):
    """Reviewer agreement over the calibration scores of the page's calls, and how often the
    platform's verdicts match the people's, with a link to the calls where they differ."""
    # Calls the viewer is scoring blind are left out, as the list leaves them out of
    # filters about scores: the figures would tell what others scored.
    calls = scope.conversations().exclude(conversation_id__in=calibration.blind_ids(scope.user))
    links = analytics_charts.Links.of(scope).range()
    joiner = "&" if "?" in links else "?"
    return {
        "reviewer_agreement": calibration.agreement_per_criterion(
            Score.objects.filter(conversation_id__in=calls.values("pk"))
        ),
        "human_vs_automatic": [
            (row, f"{links}{joiner}{urlencode({'disagree': row.platform_criterion})}")
            for row in calibration.human_vs_automatic(calls)
        ],
    }


def page_context(scope, agents, key, available):
    """The form (range, days, key, the list's other filters carried along) and what the page
    says of the filters in effect."""
    period, params = scope.period, scope.review_filter.params
    shown = [
        (FILTER_NAMES.get(name, name), agents.get(value) or value if name == "agent" else value)
        for name, value in params.items()
        if name not in NOT_SHOWN
    ]
    return {
        "period": period,
        "zone": timezone.get_current_timezone_name(),
        "ranges": analytics.RANGES,
        "key": key,
        "keys": queries.data_keys(),
        "hidden": [(name, value) for name, value in params.items() if name not in DAYS],
        "filters": shown,
        "list_url": analytics_charts.Links.of(scope).range(),
        "available": available,
        "no_index": NO_INDEX,
        "sections": [],
    }
