"""Sampled review queues: the list of queues, a lead's form to draw one from the list's
filters, a queue's page, "Start"/"Continue", and closing a queue (sampling.py draws and walks).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations import client, queries, reviews, sampling
from conversations.agents import agents_seen
from conversations.analytics_views import FILTER_NAMES
from conversations.errors import render_error
from conversations.models import IndexedConversation, ReviewQueue, Scorecard
from conversations.views import carried_filter, filter_from

review_required = permission_required("conversations.review_conversation", raise_exception=True)
quality_required = permission_required("conversations.manage_quality", raise_exception=True)

NO_INDEX = (
    "A queue is drawn from the dashboard's index of conversations, which is turned off or "
    "still empty. Once the worker has indexed some conversations, queues can be drawn."
)
NOT_YOURS = "This queue has no calls for you. Ask a lead to add you to it."
SHARES = (("percent", "A percentage"), ("number", "A number"))


class QueueForm(forms.Form):
    """A new queue: its name, the sampling rule, who reviews and how calls are handed out."""

    name = forms.CharField(max_length=200)
    share = forms.ChoiceField(choices=SHARES, initial="percent")
    amount = forms.IntegerField(min_value=1, max_value=sampling.QUEUE_MAX, initial=10)
    minimum = forms.IntegerField(min_value=0, max_value=sampling.MINIMUM_MAX, required=False)
    always = forms.MultipleChoiceField(choices=sampling.ALWAYS.items(), required=False)
    criterion = forms.CharField(max_length=200, required=False)
    reviewers = forms.ModelMultipleChoiceField(
        queryset=reviews.assignable_users(),
        to_field_name="username",
        required=False,
        error_messages={"invalid_choice": "Only people with a review role can review a queue."},
    )
    assignment = forms.ChoiceField(choices=ReviewQueue.Assignment.choices)
    scorecard = forms.ModelChoiceField(
        queryset=Scorecard.objects.filter(active=True), required=False
    )
    # The list's filters the queue samples, as the list's query string.
    list_query = forms.CharField(max_length=1000, required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data["assignment"] == ReviewQueue.Assignment.ROUND_ROBIN and not data["reviewers"]:
            raise forms.ValidationError("Choose at least one reviewer to hand calls out to.")
        if data["share"] == "percent" and data["amount"] > 100:
            raise forms.ValidationError("A percentage is from 1 to 100.")
        try:
            data["rule"] = sampling.Rule(
                percent=data["amount"] if data["share"] == "percent" else None,
                number=data["amount"] if data["share"] == "number" else None,
                minimum=data["minimum"] or 0,
                always=tuple(data["always"]),
                criterion=data["criterion"] if "criterion" in data["always"] else "",
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data

    def plan(self):
        data = self.cleaned_data
        return sampling.Plan(
            name=data["name"],
            rule=data["rule"],
            assignment=data["assignment"],
            reviewers=tuple(data["reviewers"]),
            scorecard=data["scorecard"],
        )


@require_GET
@review_required
def queue_list(request):
    """A lead sees every queue with its overall progress; a reviewer, the open queues they
    have work in, with theirs."""
    lead = can_manage(request.user)
    queues = ReviewQueue.objects.all() if lead else sampling.open_queues_for(request.user)
    queues = list(queues[:200])
    progress = sampling.progress_of_queues(queues, request.user)
    rows = [queue_row(queue, request.user, lead, *progress[queue.pk]) for queue in queues]
    return render(request, "conversations/queues.html", {"rows": rows, "lead": lead})


def queue_row(queue, user, lead, everyone, own):
    """A queue as the list shows it: the progress shown (everyone's to a lead), whether this
    user has a call to open in it, and whether they have started."""
    return queue, everyone if lead else own, has_work(queue, user, own), own.done > 0


@require_http_methods(["GET", "POST"])
@quality_required
def queue_new(request):
    if request.method == "GET":
        review_filter = filter_from(request.GET, agents_seen())
        form = QueueForm(initial={"list_query": review_filter.query_string()})
        return render_queue_form(request, form, review_filter)
    form = QueueForm(request.POST)
    review_filter = carried_filter(request.POST.get("list_query", ""))
    if not form.is_valid():
        return render_queue_form(request, form, review_filter, status=400)
    try:
        queue = sampling.create_queue(
            user=request.user, review_filter=review_filter, plan=form.plan()
        )
    except sampling.NoIndex:
        return render_error(request, 400, "Queues need the index", NO_INDEX)
    except sampling.SampleTooLarge as exc:
        form.add_error(None, str(exc))
        return render_queue_form(request, form, review_filter, status=400)
    messages.success(request, f"Queue “{queue.name}” drawn: {queue.items.count()} calls.")
    return redirect("conversations:queue", queue.pk)


def render_queue_form(request, form, review_filter, status=200):
    """The form, with the list's filters in words and how many calls they hold."""
    agents = agents_seen()
    available = queries.available()
    shown = [
        (FILTER_NAMES.get(name, name), agents.get(value) or value if name == "agent" else value)
        for name, value in review_filter.params.items()
        if name != "sort"
    ]
    context = {
        "form": form,
        "filters": shown,
        "list_query": review_filter.query_string(),
        "available": available,
        "no_index": NO_INDEX,
        "matched": queries.selected(review_filter, request.user).count() if available else 0,
        "criteria": queries.criteria(),
        "queue_max": sampling.QUEUE_MAX,
        "always": sampling.ALWAYS,
        "chosen_always": form["always"].value() or [],
        "chosen_reviewers": form["reviewers"].value() or [],
        "users": reviews.assignable_users(),
        "scorecards": Scorecard.objects.filter(active=True),
        "assignments": ReviewQueue.Assignment.choices,
    }
    return render(request, "conversations/queue_new.html", context, status=status)


@require_GET
@review_required
def queue_detail(request, pk):
    """How the queue was drawn, each reviewer's progress, and its calls: every call for a
    lead, a reviewer's own (and how many are free to claim) for a reviewer."""
    queue = get_object_or_404(ReviewQueue, pk=pk)
    lead = can_manage(request.user)
    if not lead and not sampling.may_work_on(queue, request.user):
        return render_error(request, 403, "Not your queue", NOT_YOURS)
    items = queue.items.select_related("reviewer")
    if not lead:
        items = items.filter(reviewer=request.user)
    items = list(items[: sampling.QUEUE_MAX])
    mine = sampling.progress(queue, request.user)
    context = {
        "queue": queue,
        "lead": lead,
        "rule": sampling.Rule.from_json(queue.rule).words(),
        "overall": sampling.progress(queue),
        "mine": mine,
        "reviewers": sampling.reviewer_progress(queue),
        "items": items,
        "agents": agent_names(item.conversation_id for item in items),
        "reasons": sampling.REASONS,
        "can_work": has_work(queue, request.user, mine),
    }
    return render(request, "conversations/queue.html", context)


def agent_names(conversation_ids):
    """The agent of each call, by id, as the index names it: one query."""
    rows = IndexedConversation.objects.filter(pk__in=list(conversation_ids)).values_list(
        "conversation_id", "agent_name", "agent_id"
    )
    return {conversation_id: name or agent_id for conversation_id, name, agent_id in rows}


@require_POST
@review_required
def queue_next(request, pk):
    """Start, Continue and "Next in queue": the reviewer's next call, claiming a free one
    in a claim queue (so a POST); back to the queue's page when none is left for them."""
    queue = get_object_or_404(ReviewQueue, pk=pk)
    current = request.POST.get("current", "")
    # Only ever an id our own form sent; anything else (a NUL, markup) is no current call.
    current = current if client.ID_RE.fullmatch(current) else None
    url = sampling.next_in_queue(queue_id=queue.pk, user=request.user, current_id=current)
    if url is None:
        messages.info(request, "Nothing left for you in this queue.")
        return redirect("conversations:queue", queue.pk)
    return redirect(url)


@require_POST
@quality_required
def queue_close(request, pk):
    """Close a queue: it leaves reviewers' lists, and its calls are kept as they are."""
    queue = get_object_or_404(ReviewQueue, pk=pk)
    ReviewQueue.objects.filter(pk=queue.pk, closed_at__isnull=True).update(closed_at=timezone.now())
    messages.success(request, f"Queue “{queue.name}” closed.")
    return redirect("conversations:queue", queue.pk)


def has_work(queue, user, progress):
    """Whether "Start"/"Continue" has a call to open for this user: the queue is open and
    they have calls left (`progress` is theirs), or may claim a free one."""
    if queue.closed_at is not None:
        return False
    if progress.left > 0:
        return True
    claim = queue.assignment == ReviewQueue.Assignment.CLAIM
    return claim and progress.free > 0 and sampling.may_work_on(queue, user)


def can_manage(user):
    return user.has_perm("conversations.manage_quality")
