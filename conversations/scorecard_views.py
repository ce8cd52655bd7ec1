"""Scorecards: the lead's pages that define them, and the reviewer's scoring of a call."""

from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations import calibration, client, queries, reviews, scorecards, views
from conversations.errors import error_for, render_error
from conversations.models import Score, Scorecard
from conversations.scorecard_forms import CriterionFormSet, ScorecardForm, criteria_initial

quality_required = permission_required("conversations.manage_quality", raise_exception=True)
review_required = views.review_required


@require_GET
@quality_required
def scorecard_list(request):
    found = Scorecard.objects.annotate(
        scores_given=Count("scores", filter=Q(scores__kind=Score.Kind.REVIEW))
    ).prefetch_related("versions__criteria")
    rows = [(s, max(s.versions.all(), key=lambda v: v.number, default=None)) for s in found]
    context = {
        "active": [row for row in rows if row[0].active],
        "archived": [row for row in rows if not row[0].active],
    }
    return render(request, "conversations/scorecards.html", context)


@require_http_methods(["GET", "POST"])
@quality_required
def scorecard_new(request):
    form = ScorecardForm(request.POST or None, initial={"pass_mark": 80})
    criteria = CriterionFormSet(request.POST or None, prefix="criteria")
    if request.method == "POST" and form.is_valid() and criteria.is_valid():
        definition = form.definition(criteria.specs())
        version = scorecards.create_scorecard(user=request.user, definition=definition)
        return redirect("conversations:scorecard_edit", version.scorecard_id)
    return scorecard_form(request, form, criteria, None)


@require_http_methods(["GET", "POST"])
@quality_required
def scorecard_edit(request, scorecard_id):
    scorecard = get_object_or_404(Scorecard, pk=scorecard_id)
    version = scorecards.current_version(scorecard)
    initial = {
        "name": scorecard.name,
        "description": scorecard.description,
        "agent_ids": ", ".join(scorecard.agent_ids),
        "pass_mark": version.pass_mark if version else 80,
        "active": scorecard.active,
    }
    form = ScorecardForm(request.POST or None, initial=initial, scorecard=scorecard)
    criteria = CriterionFormSet(
        request.POST or None,
        initial=criteria_initial(version) if version else [],
        prefix="criteria",
    )
    if request.method == "POST" and form.is_valid() and criteria.is_valid():
        definition = form.definition(criteria.specs())
        saved = scorecards.edit_scorecard(
            user=request.user, scorecard=scorecard, definition=definition
        )
        return redirect(
            f"{reverse('conversations:scorecard_edit', args=[scorecard.pk])}?v={saved.number}"
        )
    return scorecard_form(request, form, criteria, version)


def scorecard_form(request, form, criteria, version):
    """The form, again with what is wrong (400) after a POST that was not saved."""
    context = {
        "form": form,
        "criteria": criteria,
        "version": version,
        "platform_criteria": queries.criteria(),
        "saved_number": request.GET.get("v", ""),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "conversations/scorecard_form.html", context, status=status)


NOT_SAVED = "Nothing was saved"
NO_SCORECARD = "Choose one of the scorecards for this call's agent; nothing was saved."


@require_POST
@review_required
def conversation_score(request, conversation_id):
    conversation_id = client.validate_id(conversation_id)
    list_query = views.carried_filter(request.POST.get("list_query", "")).query_string()
    if not reviews.writable_ids([conversation_id]):
        return render_error(request, 410, NOT_SAVED, views.GONE)
    conversation = reviews.get_conversation(conversation_id)
    panel = scorecards.panel_context(request, conversation, list_query=list_query)["scoring"]
    if panel is None or str(panel.scorecard.pk) != request.POST.get("scorecard"):
        return render_error(request, 400, NOT_SAVED, NO_SCORECARD)
    try:
        answers = scorecards.read_answers(panel.version, request.POST)
        scorecards.save_score(
            conversation_id=conversation_id,
            version=panel.version,
            user=request.user,
            answers=answers,
        )
    except scorecards.InvalidAnswers as exc:
        return score_refused(request, conversation, panel, str(exc), 400)
    except reviews.ConversationGone:
        return score_refused(request, conversation, panel, views.GONE, 410)
    except client.XunaError as exc:
        status, title, hint = error_for(exc)
        return score_refused(request, conversation, panel, f"{title}. {hint}", status)
    return score_saved(request, conversation, panel)


def score_saved(request, conversation, panel):
    """The next call to score, the call's page, or the panel with the stored score."""
    if "next" in request.POST:
        return go_to_next(request, conversation.id, panel)
    if not request.htmx:
        url = views.detail_url(conversation.id, views.carried_filter(panel.list_query))
        joiner = "&" if "?" in url else "?"
        return redirect(f"{url}{joiner}scorecard={panel.scorecard.pk}")
    context = scorecards.panel_context(
        request,
        conversation,
        list_query=panel.list_query,
        # A reviewer of an open calibration round holding this call sees no one else's score.
        blind=calibration.is_blind(request.user, conversation.id),
        saved=True,
    )
    return render(request, "conversations/_scorecard.html", {"c": conversation, **context})


def score_refused(request, conversation, panel, message, status):
    """The panel again with what was typed and why nothing was saved."""
    if not request.htmx:
        return render_error(request, status, NOT_SAVED, message)
    context = scorecards.panel_context(
        request,
        conversation,
        list_query=panel.list_query,
        typed=scorecards.typed_answers(panel.version, request.POST),
        blind=calibration.is_blind(request.user, conversation.id),
        error=message,
    )
    return render(
        request, "conversations/_scorecard.html", {"c": conversation, **context}, status=status
    )


def go_to_next(request, conversation_id, panel):
    """The next call of the sampled queue the reviewer came from, or of their list."""
    if panel.queue:
        return views.go_to_next_in_queue(request, panel.queue, conversation_id)
    return views.go_to_next(request, views.carried_filter(panel.list_query), conversation_id)
