"""The dashboard's pages: each view checks its input, calls the client and renders.

Client exceptions that a view does not handle itself are rendered by
`conversations.middleware.PlatformErrorMiddleware`.
"""

import csv
import itertools
import logging
import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from conversations import client, deletion, export, reviews
from conversations.forms import ReviewForm
from conversations.middleware import error_for
from conversations.models import AuditRecord, Review

log = logging.getLogger(__name__)

view_required = permission_required("conversations.view_conversation", raise_exception=True)
audit_required = permission_required("conversations.view_auditrecord", raise_exception=True)
export_required = permission_required("conversations.export_conversations", raise_exception=True)
review_required = permission_required("conversations.review_conversation", raise_exception=True)
agent_session_required = permission_required(
    "conversations.create_agent_session", raise_exception=True
)

# Cursors are opaque, but a real one is short printable ASCII; anything else is garbage.
CURSOR_RE = re.compile(r"[\x21-\x7e]{1,1024}")
AGENTS_SEEN_KEY = "conversations:agents-seen"
AGENTS_SEEN_MAX = 500


@require_GET
@view_required
def conversation_list(request):
    cursor = request.GET.get("cursor") or None
    if cursor is not None and not CURSOR_RE.fullmatch(cursor):
        return HttpResponseBadRequest("That page link is not valid. Go back to the first page.")
    agents = agents_seen()
    review_filter = reviews.ReviewFilter.from_query(
        request.GET, agent_id=agent_param(request.GET.get("agent", ""), agents)
    )
    result = reviews.fetch_page(
        review_filter, request.user, cursor=cursor, page_size=settings.XUNA_PAGE_SIZE
    )
    context = {
        "result": result,
        "filter": review_filter,
        "list_query": review_filter.query_string(),
        "agents": remember_agents([row.conversation for row in result.rows], agents),
        "cursor": cursor,
        "statuses": Review.Status.choices,
    }
    if request.htmx and cursor:
        return render(request, "conversations/_rows.html", context)
    context["tags"] = reviews.tag_suggestions()
    if can_assign(request.user):
        context["users"] = reviews.assignable_users()
    return render(request, "conversations/list.html", context)


@require_GET
@view_required
@never_cache
def conversation_detail(request, conversation_id):
    conversation = fetch_conversation(conversation_id)
    return render(request, "conversations/detail.html", detail_context(request, conversation))


def detail_context(request, conversation, panel=None):
    list_query = filter_from(request.GET).query_string()
    return {
        "c": conversation,
        "agents": agents_seen(),
        **(panel or review_panel_context(request, conversation.id, list_query=list_query)),
    }


NOT_SAVED = "Nothing was saved"
GONE = "This conversation was deleted; nothing was saved."
NO_SUCH_CONVERSATION = "The platform has no such conversation; nothing was saved."
CONFLICT = (
    "Not saved: someone else changed this review since you opened it. Your values are kept"
    " below; save again to replace the current ones, or change yours."
)


@require_POST
@review_required
def conversation_review(request, conversation_id):
    conversation_id = client.validate_id(conversation_id)
    form = ReviewForm(request.POST, can_assign=can_assign(request.user))
    if not form.is_valid():
        errors = " ".join(error for errors in form.errors.values() for error in errors)
        return review_refused(request, conversation_id, form, errors, status=400)
    try:
        if reviews.unknown_among(reviews.writable_ids([conversation_id])):
            return review_refused(request, conversation_id, form, NO_SUCH_CONVERSATION, status=404)
        _, changes = reviews.save_review(
            conversation_id=conversation_id,
            user=request.user,
            expected=form.expected(),
            **form.changes(),
        )
    except reviews.ConversationGone:
        return review_refused(request, conversation_id, form, GONE, status=410)
    except reviews.ReviewConflict as exc:
        return review_refused(
            request, conversation_id, form, CONFLICT, status=409, conflicts=exc.conflicts
        )
    except client.XunaError as exc:
        status, title, hint = error_for(exc)
        message = f"{title}; nothing was saved. {hint}"
        return review_refused(request, conversation_id, form, message, status=status)
    list_query = filter_from(QueryDict(form.cleaned_data["list_query"]))
    if "next" in request.POST:
        return go_to_next(request, list_query, conversation_id)
    if not request.htmx:
        return redirect(detail_url(conversation_id, list_query))
    context = review_panel_context(
        request,
        conversation_id,
        list_query=list_query.query_string(),
        saved=bool(changes),
        unchanged=not changes,
    )
    return render(request, "conversations/_review.html", context)


def review_panel_context(request, conversation_id, *, list_query, typed=None, **extra):
    """What _review.html shows: the stored review and, when nothing was saved, what was typed.

    `was` is the stored state, sent back as `<field>_was` so the next save can tell what this
    person changed; `values` fill the inputs: what they typed, where they typed something.
    """
    review = reviews.reviews_for([conversation_id]).get(conversation_id)
    was = reviews.review_values(review)
    was["tags"] = ", ".join(was["tags"])
    users = list(reviews.assignable_users()) if can_assign(request.user) else None
    # Assigned before losing the review role: still shown, so a save keeps them assigned.
    former = users is not None and was["assignee"] not in {"", *(u.username for u in users)}
    return {
        "c_id": conversation_id,
        "review": review,
        "was": was,
        "values": {**was, **(typed or {})},
        "history": reviews.history(conversation_id),
        "statuses": Review.Status.choices,
        "tags": reviews.tag_suggestions(),
        "users": users,
        "former_assignee": was["assignee"] if former else "",
        "list_query": list_query,
        **extra,
    }


def review_refused(request, conversation_id, form, message, *, status, conflicts=()):
    """Nothing was saved: the panel again, with the current values, what was typed, and why.

    Without JavaScript a conflict shows the whole conversation page (the panel needs it to
    show both values); any other refusal is a page that says why.
    """
    list_query = filter_from(QueryDict(form.data.get("list_query", "")[:1000])).query_string()
    panel = review_panel_context(
        request,
        conversation_id,
        list_query=list_query,
        typed=form.typed(),
        refusal=message,
        conflicts=conflicts,
    )
    if request.htmx:
        return render(request, "conversations/_review.html", panel, status=status)
    if conflicts:
        context = detail_context(request, fetch_conversation(conversation_id), panel)
        return render(request, "conversations/detail.html", context, status=status)
    context = {"title": NOT_SAVED, "hint": message}
    return render(request, "conversations/error.html", context, status=status)


def go_to_next(request, review_filter, current_id):
    next_id = reviews.next_unreviewed(review_filter, request.user, current_id)
    if next_id is None:
        messages.info(request, "Nothing left to review in this list.")
        url = f"{reverse('conversations:list')}?{review_filter.query_string()}"
    else:
        url = detail_url(next_id, review_filter)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def detail_url(conversation_id, review_filter):
    query = review_filter.query_string()
    url = reverse("conversations:detail", args=[conversation_id])
    return f"{url}?{query}" if query else url


AUDIO_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"


@require_GET
@view_required
def conversation_audio(request, conversation_id):
    conversation = fetch_conversation(conversation_id)
    try:
        stream = client.open_audio(conversation, range_header=request.headers.get("Range"))
    except client.RangeNotSatisfiable as exc:
        response = HttpResponse(status=416)
        if exc.content_range:
            response["Content-Range"] = exc.content_range
        return response
    response = StreamingHttpResponse(
        Relay(stream),
        status=206 if stream.content_range else 200,
        content_type=stream.content_type,
    )
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    if stream.content_length is not None:
        response["Content-Length"] = str(stream.content_length)
    if stream.content_range:
        response["Content-Range"] = stream.content_range
    # The bytes are the platform's: whatever they hold, opened on their own they are a file
    # in a sandbox that may load nothing, never a page or script of our origin. django-csp
    # leaves a policy set here alone rather than adding the site's.
    response["Content-Security-Policy"] = AUDIO_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    disposition = "attachment" if "download" in request.GET else "inline"
    # The platform's recordings are WAV unless it says otherwise. conversation.id passed
    # client.ID_RE (letters, digits, _ and -), so the file name needs no quoting.
    extension = client.AUDIO_TYPES.get(stream.content_type, "wav")
    response["Content-Disposition"] = f'{disposition}; filename="{conversation.id}.{extension}"'
    return response


def fetch_conversation(conversation_id):
    """The conversation, unless a deletion through the dashboard already removed it."""
    if AuditRecord.objects.gone_among([client.validate_id(conversation_id)]):
        raise client.ConversationNotFound("This conversation was deleted.")
    return client.get_conversation(conversation_id)


class Relay:
    """The recording's chunks; Django calls close() when the browser goes away, even before
    the first chunk was sent, and that closes the upstream connection at once."""

    def __init__(self, stream):
        self.stream = stream

    def __iter__(self):
        return iter(self.stream.chunks)

    def close(self):
        self.stream.close()


@require_http_methods(["GET", "POST", "DELETE"])
def conversation_delete(request, conversation_id):
    client.validate_id(conversation_id)
    if not deletion.can_delete(request.user):
        return deny_delete(request, [conversation_id])
    if request.method == "GET":
        conversation = fetch_conversation(conversation_id)
        return render_delete_form(request, conversation, origin=request.GET.get("from"))
    data = request.POST if request.method == "POST" else QueryDict(request.body)
    origin = data.get("origin")
    result = deletion.delete_conversation(
        user=request.user, conversation_id=conversation_id, reason=data.get("reason", "")
    )
    if not result.done:
        conversation = result.conversation or placeholder(conversation_id)
        return render_delete_form(
            request,
            conversation,
            origin=origin,
            error=result.message,
            status=result.status,
            reason=data.get("reason", "")[: deletion.REASON_MAX],
        )
    if request.htmx and origin != "detail":
        return render(
            request,
            "conversations/_deleted.html",
            {"conversation_ids": [conversation_id], "message": result.message},
        )
    messages.success(request, result.message)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("conversations:list"))
    return redirect("conversations:list")


def placeholder(conversation_id):
    """A conversation known only by its id, for a dialog when the platform could not say more."""
    return client.Conversation(id=conversation_id)


def render_delete_form(request, conversation, *, origin, error=None, status=200, reason=""):
    template = "conversations/_delete_dialog.html" if request.htmx else "conversations/delete.html"
    context = {
        "c": conversation,
        "origin": "detail" if origin == "detail" else "list",
        "error": error,
        "reason": reason,
        "agents": agents_seen(),
    }
    response = render(request, template, context, status=status)
    if status == 503 and error:
        response["Retry-After"] = "5"
    return response


def deny_delete(request, conversation_ids):
    """403 (429 when repeated too often); a refused POST is recorded, a refused GET is not."""
    if request.method == "GET":
        return HttpResponseForbidden("You do not have permission to delete conversations.")
    denial = deletion.deny(user=request.user, conversation_ids=conversation_ids)
    return HttpResponse(denial.message, status=denial.status, content_type="text/plain")


MAX_SELECTION = 100
ID_LIST_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def selected_ids(data):
    """The selected conversation ids: valid ids only, without duplicates, at most 100.

    Refuse a larger selection first (selection_too_large): the cut is a backstop only.
    """
    ids = dict.fromkeys(value for value in data.getlist("ids") if ID_LIST_RE.fullmatch(value))
    return list(ids)[:MAX_SELECTION]


def selection_too_large(data):
    """The sentence refusing a selection of more than MAX_SELECTION conversations, else None.

    Refusing the whole selection is clearer than doing part of it and saying so.
    """
    sent = len(set(data.getlist("ids")))
    if sent <= MAX_SELECTION:
        return None
    return (
        f"You selected {sent} conversations; at most {MAX_SELECTION} can be changed at once."
        " Nothing was changed."
    )


# The bulk bar's "Unassigned": no user name can hold parentheses, so it is never a person.
UNASSIGN = "(nobody)"
BULK_FIELDS = {"status": "status", "assign": "assignee"}
BULK_REFUSALS = {
    "status": "Only leads and admins can set the status of many conversations at once;"
    " judge each one from its page.",
    "assign": "Only leads and admins can assign conversations.",
}


@require_POST
@review_required
def bulk_action(request):
    too_many = selection_too_large(request.POST)
    if too_many:
        return bulk_message(request, too_many, status=400)
    ids = selected_ids(request.POST)
    action = request.POST.get("action")
    if not ids:
        return bulk_message(request, "Select at least one conversation first.", status=400)
    if action == "delete":
        if not request.user.has_perm("conversations.delete_conversation"):
            return deny_delete(request, ids)
        template = (
            "conversations/_bulk_delete_dialog.html"
            if request.htmx
            else "conversations/bulk_delete.html"
        )
        return render(request, template, {"ids": ids})
    field = BULK_FIELDS.get(action)
    if field is None:
        return HttpResponseBadRequest("Unknown action.")
    # Setting many at once is a lead's call; a reviewer judges a conversation from its page.
    if not can_assign(request.user):
        return bulk_message(request, BULK_REFUSALS[action], status=403)
    value = request.POST.get(field, "")
    if action == "assign" and not value:
        return bulk_message(request, "Choose whom to assign first.", status=400)
    form = ReviewForm({field: "" if value == UNASSIGN else value}, can_assign=True)
    if not form.is_valid():
        errors = " ".join(error for errors in form.errors.values() for error in errors)
        return bulk_message(request, errors, status=400)
    if not form.changes():
        return bulk_message(request, "Choose what to set first.", status=400)
    try:
        saved = bulk_save(request.user, ids, form.changes())
    except client.XunaError as exc:
        status, title, hint = error_for(exc)
        return bulk_message(request, f"{title}; nothing was changed. {hint}", status=status)
    message = f"Updated {len(saved)} conversation{'s' if len(saved) != 1 else ''}."
    if len(saved) < len(ids):
        message += f" Skipped {len(ids) - len(saved)}: deleted, or unknown to the platform."
    if not request.htmx:
        messages.success(request, message)
        return redirect(list_url(request.POST.get("list_query", "")))
    return render(
        request, "conversations/_bulk_updated.html", {"reviews": saved, "message": message}
    )


def bulk_save(user, ids, changes):
    """Save the changes on each conversation that may have a review; returns the reviews saved.

    Deleted ones, and ones the platform does not know (checked for those with no review yet,
    before anything is written), are skipped.
    """
    writable = reviews.writable_ids(ids)
    targets = writable - reviews.unknown_among(writable)
    saved = []
    for conversation_id in ids:
        if conversation_id not in targets:
            continue
        try:
            saved.append(
                reviews.save_review(conversation_id=conversation_id, user=user, **changes)[0]
            )
        except reviews.ConversationGone:
            # Deleted since the check above.
            continue
    return saved


def bulk_message(request, message, *, status):
    if request.htmx:
        return render(
            request,
            "conversations/_toast.html",
            {"message": message, "kind": "error"},
            status=status,
        )
    if status == 403:
        context = {"title": "Not allowed", "hint": message}
        return render(request, "conversations/error.html", context, status=status)
    messages.error(request, message)
    return redirect(list_url(request.POST.get("list_query", "")))


def list_url(list_query):
    query = filter_from(QueryDict(list_query[:1000])).query_string()
    return f"{reverse('conversations:list')}?{query}" if query else reverse("conversations:list")


def named_ids(data):
    """Every valid id a request named, without duplicates: what a refusal records."""
    return list(dict.fromkeys(v for v in data.getlist("ids") if ID_LIST_RE.fullmatch(v)))


# Without JavaScript the whole selection is deleted in one request, waiting out rate limits.
BULK_RATE_LIMIT_TRIES = 3
BULK_RATE_LIMIT_WAIT = 5.0


@require_POST
def bulk_delete(request):
    """Delete the selected conversations one by one, each with its own audit records.

    Our script sends one id per request, to show progress and back off on 429 itself;
    without JavaScript the whole selection comes at once and the server backs off.
    """
    if not deletion.can_delete(request.user):
        return deny_delete(request, named_ids(request.POST))
    wants_json = request.accepts("application/json") and not request.accepts("text/html")
    too_large = selection_too_large(request.POST)
    if too_large:
        if wants_json:
            return JsonResponse({"error": too_large}, status=400)
        return bulk_message(request, too_large, status=400)
    ids = selected_ids(request.POST)
    if not ids:
        return HttpResponseBadRequest("Select at least one conversation first.")
    wants_json = request.accepts("application/json") and not request.accepts("text/html")
    try:
        reason = deletion.clean_reason(request.POST.get("reason"))
    except deletion.InvalidReason as exc:
        if wants_json:
            return JsonResponse({"error": str(exc)}, status=400)
        return render(
            request, "conversations/bulk_delete.html", {"ids": ids, "error": str(exc)}, status=400
        )
    results = []
    for conversation_id in ids:
        result = deletion.delete_conversation(
            user=request.user, conversation_id=conversation_id, reason=reason
        )
        tries = 1
        while not wants_json and result.rate_limited and tries < BULK_RATE_LIMIT_TRIES:
            time.sleep(min(result.retry_after, BULK_RATE_LIMIT_WAIT))
            result = deletion.delete_conversation(
                user=request.user, conversation_id=conversation_id, reason=reason
            )
            tries += 1
        results.append(result)
    if wants_json:
        return JsonResponse(
            {
                "results": [
                    {
                        "id": r.conversation_id,
                        "outcome": r.outcome.value,
                        "done": r.done,
                        "message": r.message,
                        "rate_limited": r.rate_limited,
                        "retry_after": r.retry_after,
                    }
                    for r in results
                ]
            }
        )
    return render(request, "conversations/bulk_deleted.html", {"results": results})


@require_GET
@export_required
def conversation_export(request):
    fmt = request.GET.get("format")
    if fmt not in ("csv", "jsonl"):
        return HttpResponseBadRequest("Choose format=csv or format=jsonl.")
    review_filter = reviews.ReviewFilter.from_query(
        request.GET, agent_id=agent_param(request.GET.get("agent", ""), agents_seen())
    )
    token = request.GET.get("progress", "")
    progress_key = export_progress_key(request.user, token) if TOKEN_RE.fullmatch(token) else None
    records = export.export_rows(review_filter, request.user)
    lines = export.as_csv(records) if fmt == "csv" else export.as_jsonl(records)
    try:
        stream = export.slot_take(
            user=request.user,
            lines=audited_export(request, lines, review_filter, fmt, progress_key),
        )
    except export.ExportsBusy as exc:
        if progress_key:
            # The list page is polling for this export: it ends at once, and says why.
            cache.set(progress_key, {"rows": 0, "done": True, "problem": str(exc)}, 3600)
        template = "conversations/_error.html" if request.htmx else "conversations/error.html"
        context = {"title": "Too many exports at once", "hint": str(exc)}
        return render(request, template, context, status=429)
    response = StreamingHttpResponse(
        stream,
        content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="conversations-{stamp}.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")


def export_progress_key(user, token):
    return f"export-progress:{user.pk}:{token}"


def audited_export(request, lines, review_filter, fmt, progress_key):
    """Stream the export, report progress every page, and record it when it ends."""
    header = 1 if fmt == "csv" else 0
    lines_out, problem = 0, "stopped before the end"
    try:
        for line in lines:
            yield line
            lines_out += 1
            if progress_key and lines_out % 50 == 0:
                progress = {"rows": lines_out - header, "done": False}
                cache.set(progress_key, progress, 3600)
        problem = ""
    except client.XunaError as exc:
        # The response has started: the file ends here, and the page and the audit say so.
        log.warning("Export stopped by a platform error: %s", type(exc).__name__)
        problem = "the platform failed during the export; the file is incomplete"
    finally:
        rows = max(lines_out - header, 0)
        if progress_key:
            cache.set(progress_key, {"rows": rows, "done": True, "problem": problem}, 3600)
        AuditRecord.objects.create(
            user=request.user,
            username=request.user.get_username(),
            outcome=AuditRecord.Outcome.EXPORTED,
            row_count=rows,
            detail=(
                f"{fmt}; filter: {review_filter.query_string() or 'none'}"
                + (f"; {problem}" if problem else "")
            )[:300],
        )


@require_GET
@export_required
@never_cache
def export_progress(request):
    token = request.GET.get("token", "")
    if not TOKEN_RE.fullmatch(token):
        return HttpResponseBadRequest("Bad token.")
    return JsonResponse(
        cache.get(export_progress_key(request.user, token)) or {"rows": 0, "done": False}
    )


@require_GET
@never_cache
@agent_session_required
def agent_signed_url(request, agent_id):
    signed_url = client.get_signed_url(agent_id)
    if request.htmx:
        return render_credential(request, "Signed URL", signed_url)
    return JsonResponse({"signed_url": signed_url})


@require_GET
@never_cache
@agent_session_required
def agent_token(request, agent_id):
    token = client.get_conversation_token(agent_id)
    if request.htmx:
        return render_credential(request, "Conversation token", token)
    return JsonResponse({"token": token})


def render_credential(request, label, value):
    return render(request, "conversations/_credential.html", {"label": label, "value": value})


@require_GET
@audit_required
def audit_list(request):
    # Interrupted deletions are settled before the log is read (docs/security.md).
    deletion.resolve_open_attempts(limit=10)
    records, filters = filter_audit(request.GET)
    if request.GET.get("format") == "csv":
        return audit_csv(records)
    page = Paginator(records, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "conversations/audit.html",
        {"page": page, "filters": filters, "outcomes": AuditRecord.Outcome.choices},
    )


def filter_audit(params):
    # `settled`: whether an attempt has its outcome; one subquery instead of one per row.
    outcomes = AuditRecord.objects.filter(attempt=OuterRef("pk"))
    records = AuditRecord.objects.annotate(settled=Exists(outcomes))
    filters = {}
    # No user name holds a NUL, and PostgreSQL refuses text that does.
    user = params.get("user", "").replace("\x00", "").strip()[:150]
    if user:
        records = records.filter(username__iexact=user)
        filters["user"] = user
    outcome = params.get("outcome", "")
    if outcome in AuditRecord.Outcome.values:
        records = records.filter(outcome=outcome)
        filters["outcome"] = outcome
    for name, lookup in (("since", "created_at__date__gte"), ("until", "created_at__date__lte")):
        try:
            day = parse_date(params.get(name, "")[:10])
        except ValueError:
            day = None
        if day:
            records = records.filter(**{lookup: day})
            filters[name] = day.isoformat()
    return records, filters


def audit_csv(records):
    columns = [
        "id",
        "created_at",
        "username",
        "outcome",
        "attempt_id",
        "conversation_id",
        "conversation_ids",
        "agent_id",
        "conversation_start",
        "reason",
        "upstream_status",
        "row_count",
        "detail",
    ]
    writer = csv.writer(export.Line())
    rows = (
        writer.writerow([export.csv_cell(getattr(r, name)) for name in columns])
        for r in records.iterator()
    )
    response = StreamingHttpResponse(
        itertools.chain([writer.writerow(columns)], rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response


def can_assign(user):
    return user.has_perm("conversations.assign_conversation")


def filter_from(params):
    """The list filter carried in a link; an invalid agent id there is ignored."""
    return reviews.ReviewFilter.from_query(params, agent_id=optional_id(params.get("agent")))


def optional_id(value):
    """An id from the query string when it is valid; anything else is ignored."""
    try:
        return client.validate_id(value) if value else None
    except client.InvalidIdentifier:
        return None


def agent_param(raw, agents):
    """The agent filter: a pasted id, or a known agent's name typed in full."""
    raw = raw.strip()
    if not raw:
        return None
    by_name = {name.casefold(): agent_id for agent_id, name in agents.items() if name}
    return client.validate_id(by_name.get(raw.casefold(), raw))


def agents_seen(seen=None):
    """{id: name} of every agent seen so far, by name, with XUNA_AGENT_NAMES taking precedence."""
    if seen is None:
        seen = cache.get(AGENTS_SEEN_KEY, {})
    names = {**seen, **settings.XUNA_AGENT_NAMES}
    return dict(sorted(names.items(), key=lambda item: (item[1] or item[0]).casefold()))


def remember_agents(conversations, agents):
    """Add agents met on this page to the shared list; one cache write, only when one is new."""
    known = agents
    new = {
        c.agent_id: c.agent_name or ""
        for c in conversations
        if c.agent_id and (c.agent_id not in known or (c.agent_name and not known[c.agent_id]))
    }
    if not new or len(known) >= AGENTS_SEEN_MAX:
        return agents
    seen = {**cache.get(AGENTS_SEEN_KEY, {}), **new}
    cache.set(AGENTS_SEEN_KEY, seen, None)
    return agents_seen(seen)
