"""The bulk bar and the jobs it starts.

Status and assignment of a selection are saved at once (a database write). A deletion, and a
status or an assignment over a whole filter, become a job (conversations/jobs.py) that the
worker runs: the confirmation makes the job and sends the person to its page, which they can
leave and come back to, and which updates itself while the job runs.
"""

import logging
import uuid

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from conversations import client, deletion, jobs, queries, reviews, tasks
from conversations.errors import error_for, render_error, render_toast
from conversations.forms import ReviewForm
from conversations.models import BulkJob, BulkJobItem, Review
from conversations.selection import named_ids, selected_ids, selection_refusal
from conversations.views import (
    back_to_list,
    can_assign,
    carried_filter,
    deny_delete,
    form_errors,
    review_required,
    view_required,
)

log = logging.getLogger(__name__)

# The bulk bar's "Unassigned": no user name can hold parentheses, so it is never a person.
UNASSIGN = "(nobody)"
BULK_FIELDS = {"status": "status", "assign": "assignee"}
BULK_REFUSALS = {
    "status": "Only leads and admins can set the status of many conversations at once;"
    " judge each one from its page.",
    "assign": "Only leads and admins can assign conversations.",
}
NO_INDEX = (
    "A whole filter can be acted on only while the conversation index answers the list."
    " Select the conversations instead."
)
NO_FILTER = "Choose a filter first: a whole filter cannot be the whole history."
FORMS = {
    "delete": "conversations/_bulk_delete_form.html",
    "apply": "conversations/_bulk_apply_form.html",
}
CHANGED = (
    "The list changed since you confirmed: it now holds {count} conversation{s}. Nothing was"
    " started; confirm again."
)


@require_POST
@review_required
def bulk_action(request):
    """The bulk bar: confirm a deletion, or set a status or an assignee on the selection
    (or, confirmed, on a whole filter)."""
    action = request.POST.get("action")
    if action != "delete" and action not in BULK_FIELDS:
        return bulk_message(request, "Choose what to do with the selection first.", status=400)
    if request.POST.get("scope") == "filter":
        return filter_action(request, action)
    refusal = selection_refusal(request.POST)
    if refusal:
        return bulk_message(request, refusal, status=400)
    ids = selected_ids(request.POST)
    if action == "delete":
        if not deletion.can_delete(request.user):
            return deny_delete(request, ids)
        return render_confirmation(request, "delete", ids=ids, dialog=bool(request.htmx))
    return bulk_update(request, ids, action)


def bulk_update(request, ids, action):
    # Setting many at once is a lead's call; a reviewer judges a conversation from its page.
    if not can_assign(request.user):
        return bulk_message(request, BULK_REFUSALS[action], status=403)
    changes, refusal = bulk_changes(action, request.POST)
    if refusal:
        return bulk_message(request, refusal, status=400)
    try:
        saved = reviews.save_reviews(user=request.user, conversation_ids=ids, changes=changes)
    except client.XunaError as exc:
        status, title, hint = error_for(exc)
        return bulk_message(request, f"{title}; nothing was changed. {hint}", status=status)
    message = updated_message(len(ids), len(saved))
    if not request.htmx:
        return back_to_list(request, messages.SUCCESS, message)
    context = {"reviews": saved, "message": message}
    return render(request, "conversations/_bulk_updated.html", context)


def updated_message(selected, saved):
    message = f"Updated {saved} conversation{'s' if saved != 1 else ''}."
    if saved < selected:
        message += f" Skipped {selected - saved}: deleted, or unknown to the platform."
    return message


def bulk_changes(action, data):
    """(changes, None) for the value the bulk bar sent with this action, or (None, why not)."""
    field = BULK_FIELDS[action]
    value = data.get(field, "")
    if action == "assign" and not value:
        return None, "Choose whom to assign first."
    form = ReviewForm({field: "" if value == UNASSIGN else value}, can_assign=True)
    if not form.is_valid():
        return None, form_errors(form)
    if not form.changes():
        return None, "Choose what to set first."
    return form.changes(), None


def bulk_message(request, message, *, status):
    """A refused bulk request: a toast for htmx (its answers go to a dialog), a page for a
    403, else the list again with the message."""
    if request.htmx:
        return render_toast(request, status, message)
    if status == 403:
        return render_error(request, status, "Not allowed", message)
    return back_to_list(request, messages.ERROR, message)


# A whole filter


def filter_action(request, action):
    """The bulk bar's "all N matching this filter": confirm it, or, confirmed, start it."""
    if action == "delete" and not deletion.can_delete(request.user):
        return deny_delete(request, [])
    if action != "delete" and not can_assign(request.user):
        return bulk_message(request, BULK_REFUSALS[action], status=403)
    if action != "delete" and "confirmed" in request.POST:
        return apply_filter(request, action)
    review_filter, refusal = whole_filter(request)
    if not refusal and action != "delete":
        refusal = bulk_changes(action, request.POST)[1]
    if refusal:
        return bulk_message(request, refusal, status=400)
    count = jobs.filter_count(review_filter, request.user)
    if not count:
        return bulk_message(request, "No conversation matches this filter now.", status=400)
    return render_confirmation(
        request, action, review_filter=review_filter, count=count, dialog=bool(request.htmx)
    )


def apply_filter(request, action):
    """Start a confirmed status or assignment over a whole filter."""
    started = sent_before(request, BulkJob.Kind(action))
    if started:
        return started
    review_filter, refusal = whole_filter(request)
    changes = None
    if not refusal:
        changes, refusal = bulk_changes(action, request.POST)
    if refusal:
        return bulk_message(request, refusal, status=400)
    return start_filter_job(request, action, review_filter, changes=job_changes(changes))


def whole_filter(request):
    """(the list's filter, None), or (None, why a whole filter cannot be acted on)."""
    review_filter = carried_filter(request.POST.get("list_query", ""))
    if not (review_filter.local and queries.available()):
        return None, NO_INDEX
    if not jobs.describe_filter(review_filter):
        return None, NO_FILTER
    return review_filter, None


def job_changes(changes):
    """A status or an assignee as a job keeps it: the assignee by user name."""
    if "assignee" in changes:
        assignee = changes["assignee"]
        return {"assignee": assignee.get_username() if assignee else ""}
    return {"status": changes["status"]}


def start_filter_job(request, action, review_filter, *, reason="", changes=None):
    """Snapshot the filter's ids and start the job, unless they changed since they were
    confirmed (their count, or which they are): then the confirmation again, as they are now."""
    ids = jobs.filter_ids(review_filter, request.user)
    if not ids:
        return bulk_message(request, "No conversation matches this filter now.", status=400)
    if len(ids) > jobs.FILTER_MAX:
        message = f"This filter matches more than {jobs.FILTER_MAX} conversations; narrow it."
        return bulk_message(request, message, status=400)
    same = request.POST.get("confirmed", "") == str(len(ids))
    if not (same and request.POST.get("digest", "") == jobs.digest(ids)):
        error = CHANGED.format(count=len(ids), s="" if len(ids) == 1 else "s")
        return render_confirmation(
            request, action, review_filter=review_filter, count=len(ids), error=error, status=409
        )
    kind = BulkJob.Kind(action)
    query = review_filter.query_string()
    return start_job(request, kind, ids, reason=reason, changes=changes or {}, filter_query=query)


def sent_before(request, kind):
    """The page of the job this confirmation already started, or None. Looked up before the
    filter is read again: once its job ran, the filter may match nothing, or other conversations.
    """
    if not jobs.submitted(read_token(request.POST.get("job", ""))):
        return None
    return start_job(request, kind, [])


# Deletion


@require_POST
def bulk_delete(request):
    """Start a bulk deletion, of the selection or of a whole filter, as a job."""
    whole = request.POST.get("scope") == "filter"
    if not deletion.can_delete(request.user):
        return deny_delete(request, [] if whole else named_ids(request.POST))
    if whole:
        return delete_filter(request)
    refusal = selection_refusal(request.POST)
    if refusal:
        return render_error(request, 400, "Nothing was deleted", refusal)
    ids = selected_ids(request.POST)
    try:
        reason = deletion.clean_reason(request.POST.get("reason"))
    except deletion.InvalidReason as exc:
        return render_confirmation(request, "delete", ids=ids, error=str(exc), status=400)
    return start_job(request, BulkJob.Kind.DELETE, ids, reason=reason)


def delete_filter(request):
    started = sent_before(request, BulkJob.Kind.DELETE)
    if started:
        return started
    review_filter, refusal = whole_filter(request)
    if refusal:
        return render_error(request, 400, "Nothing was deleted", refusal)
    try:
        reason = deletion.clean_reason(request.POST.get("reason"))
    except deletion.InvalidReason as exc:
        count = jobs.filter_count(review_filter, request.user)
        return render_confirmation(
            request, "delete", review_filter=review_filter, count=count, error=str(exc), status=400
        )
    return start_filter_job(request, "delete", review_filter, reason=reason)


def render_confirmation(request, action, *, ids=(), review_filter=None, count=None, **options):
    """The confirmation of a bulk action: its dialog (from the bulk bar, with htmx), the form
    alone (answering the dialog's own form), or a page. Carries a new job token: sent twice,
    the form starts one job."""
    dialog, error, status = options.get("dialog"), options.get("error"), options.get("status", 200)
    whole = review_filter is not None
    context = {
        "action": action,
        "form_template": FORMS["delete" if action == "delete" else "apply"],
        "ids": ids,
        "count": count if whole else len(ids),
        "whole": whole,
        "filter_words": jobs.describe_filter(review_filter) if whole else "",
        "list_query": review_filter.query_string() if whole else request.POST.get("list_query", ""),
        "error": error,
        "token": jobs.new_token(),
        # Which conversations were counted: the same number of others is another action.
        "digest": jobs.digest(jobs.filter_ids(review_filter, request.user)) if whole else "",
        "reason": request.POST.get("reason", "")[: deletion.REASON_MAX],
    }
    if action in BULK_FIELDS:
        context.update(field=BULK_FIELDS[action], value=request.POST.get(BULK_FIELDS[action], ""))
        context["status_label"] = dict(Review.Status.choices).get(context["value"], "")
        context["unassign"] = context["value"] == UNASSIGN
    if request.htmx and dialog:
        template = "conversations/_bulk_dialog.html"
    elif request.htmx:
        template = context["form_template"]
    else:
        template = "conversations/bulk_confirm.html"
    return render(request, template, context, status=status)


def start_job(request, kind, ids, **fields):
    """Make the job (once per confirmation), queue its first slice, go to its page."""
    token = read_token(request.POST.get("job", ""))
    try:
        job, created = jobs.create_job(
            job_id=token, user=request.user, conversation_ids=ids, kind=kind, **fields
        )
    except jobs.JobTaken:
        return render_error(request, 400, "Nothing was started", "Open the list and start again.")
    if created:
        queue_job(job)
    url = reverse("conversations:job", args=[job.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def read_token(value):
    """The confirmation's token; a new one for a form that came without (each send of it then
    makes a job of its own)."""
    try:
        return uuid.UUID(value[:36])
    except ValueError:
        return jobs.new_token()


def queue_job(job):
    try:
        tasks.run_job(str(job.pk), str(job.chain))
    except Exception:
        # A queue that is down does not lose the job: it is in the database, and the worker's
        # sweep (tasks.resume_jobs) starts it once the queue is back.
        log.exception("Bulk job %s could not be queued; the sweep will start it", job.pk)


# A job's page


@require_GET
@view_required
@never_cache
def job_detail(request, job_id):
    """The job's state and each item's result; htmx asks for it again while it runs."""
    job = visible_job(request.user, job_id)
    template = "conversations/_job.html" if request.htmx else "conversations/job.html"
    return render(request, template, job_context(job))


@require_POST
@view_required
def job_cancel(request, job_id):
    job = visible_job(request.user, job_id)
    if job.user_id != request.user.pk:
        message = "Only the person who started this job can cancel it."
        return render_error(request, 403, "Not allowed", message)
    cancelled = jobs.cancel(job)
    if request.htmx:
        job.refresh_from_db()
        return render(request, "conversations/_job.html", job_context(job))
    if cancelled:
        messages.info(request, "Cancelled: the conversations not yet done were not tried.")
    return redirect("conversations:job", job_id=job.pk)


@require_GET
@view_required
def job_list(request):
    outcome = BulkJobItem.Outcome
    listed = jobs.visible_jobs(request.user).annotate(
        total=Count("items"),
        pending=Count("items", filter=Q(items__outcome=outcome.PENDING)),
        failed=Count("items", filter=Q(items__outcome=outcome.FAILED)),
    )
    return render(request, "conversations/jobs.html", {"jobs": listed})


def visible_job(user, job_id):
    """The job, for its owner and those who may read the audit log; a 404 for anyone else,
    who need not learn that it exists."""
    job = BulkJob.objects.filter(pk=job_id).first()
    if job is None or not jobs.may_see(user, job):
        raise Http404("No such job.")
    return job


def job_context(job):
    counts = jobs.tally(job)
    total = sum(counts.values())
    return {
        "job": job,
        "counts": counts,
        "total": total,
        "settled": total - counts[BulkJobItem.Outcome.PENDING],
        "finished": job.state in (BulkJob.State.DONE, BulkJob.State.CANCELLED),
        "items": jobs.items_shown(job),
        "more": max(0, total - jobs.ITEMS_SHOWN),
        "what": job_words(job),
        "unattended": jobs.unattended(job),
    }


def job_words(job):
    if job.kind == BulkJob.Kind.DELETE:
        return "Deletion"
    return jobs.describe_changes(job)
