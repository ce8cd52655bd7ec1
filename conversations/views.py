"""The dashboard's pages: each view checks its input, calls the client and renders.

Client exceptions that a view does not handle itself are rendered by
`conversations.middleware.PlatformErrorMiddleware`.
"""

import csv
import dataclasses
import itertools
import logging
import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import DatabaseError, IntegrityError, transaction
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

from conversations import client, export, reviews
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


def detail_context(request, conversation, **extra):
    review_filter = filter_from(request.GET)
    review = reviews.reviews_for([conversation.id]).get(conversation.id)
    return {
        "c": conversation,
        "review": review,
        "history": reviews.history(conversation.id),
        "statuses": Review.Status.choices,
        "tags": reviews.tag_suggestions(),
        "users": reviews.assignable_users() if can_assign(request.user) else None,
        "list_query": review_filter.query_string(),
        "agents": agents_seen(),
        **extra,
    }


@require_POST
@review_required
def conversation_review(request, conversation_id):
    conversation_id = client.validate_id(conversation_id)
    form = ReviewForm(request.POST, can_assign=can_assign(request.user))
    if not form.is_valid():
        return HttpResponseBadRequest(form.errors.as_text())
    review, changes = reviews.save_review(
        conversation_id=conversation_id, user=request.user, **form.changes()
    )
    list_query = filter_from(QueryDict(form.cleaned_data["list_query"]))
    if "next" in request.POST:
        return go_to_next(request, list_query, conversation_id)
    if not request.htmx:
        return redirect(detail_url(conversation_id, list_query))
    return render(
        request,
        "conversations/_review.html",
        {
            "c_id": conversation_id,
            "review": review,
            "history": reviews.history(conversation_id),
            "statuses": Review.Status.choices,
            "tags": reviews.tag_suggestions(),
            "users": reviews.assignable_users() if can_assign(request.user) else None,
            "list_query": list_query.query_string(),
            "saved": bool(changes),
            "unchanged": not changes,
        },
    )


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
    if "download" in request.GET:
        response["Content-Disposition"] = f'attachment; filename="{conversation.id}.wav"'
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
    if not request.user.has_perm("conversations.delete_conversation"):
        return deny_delete(request, [conversation_id])
    if request.method == "GET":
        conversation = fetch_conversation(conversation_id)
        return render_delete_form(request, conversation, origin=request.GET.get("from"))
    data = request.POST if request.method == "POST" else QueryDict(request.body)
    origin = data.get("origin")
    result = perform_deletion(request, conversation_id, reason=clean_reason(data))
    if result.outcome == "failed":
        status, _, _ = error_for(result.error)
        conversation = result.conversation or placeholder(conversation_id)
        return render_delete_form(
            request, conversation, origin=origin, error=result.message, status=status
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


def clean_reason(data):
    return data.get("reason", "").strip()[:1000]


def render_delete_form(request, conversation, *, origin, error=None, status=200):
    template = "conversations/_delete_dialog.html" if request.htmx else "conversations/delete.html"
    context = {
        "c": conversation,
        "origin": "detail" if origin == "detail" else "list",
        "error": error,
        "agents": agents_seen(),
    }
    return render(request, template, context, status=status)


def deny_delete(request, conversation_ids):
    log.warning(
        "Refused a delete of %s by %s: no permission",
        ", ".join(conversation_ids),
        request.user.get_username(),
    )
    if request.method != "GET":
        for conversation_id in conversation_ids:
            write_audit(request, conversation_id, None, AuditRecord.Outcome.DENIED, status=None)
    return HttpResponseForbidden("You do not have permission to delete conversations.")


@dataclasses.dataclass(frozen=True)
class Deletion:
    outcome: str
    message: str
    error: client.XunaError | None = None
    conversation: client.Conversation | None = None


# Answers that mean the platform did not act on the request; anything else may have deleted.
REFUSALS = (client.RateLimited, client.AuthenticationFailed, client.RequestRefused)


def perform_deletion(request, conversation_id, *, reason):
    """Delete one conversation on the platform and record the attempt; never raises."""
    gone = f"Conversation {conversation_id} was already gone; nothing left to delete."
    if AuditRecord.objects.filter(
        conversation_id=conversation_id, outcome=AuditRecord.Outcome.DELETED
    ).exists():
        # A repeated submit of a deletion that already happened: no second call, no second record.
        return Deletion("already_gone", gone)
    conversation = None
    try:
        conversation = client.get_conversation(conversation_id)
        client.delete_conversation(conversation_id)
    except client.ConversationNotFound:
        write_audit(
            request, conversation_id, conversation, "already_gone", status=404, reason=reason
        )
        return Deletion("already_gone", gone)
    except client.XunaError as exc:
        _, title, hint = error_for(exc)
        if isinstance(exc, REFUSALS):
            hint += " Nothing was deleted."
        else:
            hint += (
                " The platform did not confirm the deletion: it may or may not have happened."
                " Trying again is safe; if it was deleted, you will be told it is already gone."
            )
        write_audit(
            request,
            conversation_id,
            conversation,
            "failed",
            status=exc.status,
            reason=reason,
            detail=title,
        )
        return Deletion("failed", f"{title}. {hint}", exc, conversation)
    write_audit(request, conversation_id, conversation, "deleted", status=200, reason=reason)
    return Deletion("deleted", f"Conversation {conversation_id} was deleted permanently.")


def write_audit(request, conversation_id, conversation, outcome, *, status, reason="", detail=""):
    """Record a deletion attempt and, once a conversation is gone, wipe what we kept of it.

    Both happen in one transaction. A failed write is logged loudly, never hidden or fatal.
    """
    try:
        with transaction.atomic():
            AuditRecord.objects.create(
                conversation_id=conversation_id,
                agent_id=(conversation.agent_id or "") if conversation else "",
                conversation_start=conversation.start_time if conversation else None,
                user=request.user if request.user.is_authenticated else None,
                username=request.user.get_username(),
                reason=reason,
                outcome=outcome,
                upstream_status=status,
                detail=detail[:300],
            )
            if outcome in (AuditRecord.Outcome.DELETED, AuditRecord.Outcome.ALREADY_GONE):
                reviews.wipe_local_traces(conversation_id)
    except DatabaseError as exc:
        # A repeat meets the one-deletion constraint: no loss, the record exists. Any other
        # refusal of the database (a constraint, a trigger, a full disk) is a lost record.
        repeat = isinstance(exc, IntegrityError) and outcome == AuditRecord.Outcome.DELETED
        recorded = AuditRecord.objects.filter(conversation_id=conversation_id, outcome=outcome)
        if repeat and recorded.exists():
            log.warning("Deletion of %s was already recorded", conversation_id)
            return
        log.critical(
            "AUDIT WRITE FAILED: %s of conversation %s by %s was not recorded",
            outcome,
            conversation_id,
            request.user.get_username(),
            exc_info=True,
        )


MAX_SELECTION = 100
ID_LIST_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def selected_ids(data):
    """The selected conversation ids: valid ids only, without duplicates, at most 100."""
    ids = []
    for value in data.getlist("ids"):
        if ID_LIST_RE.fullmatch(value) and value not in ids:
            ids.append(value)
    return ids[:MAX_SELECTION]


@require_POST
@review_required
def bulk_action(request):
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
    fields = {"status": ["status"], "assign": ["assignee"]}.get(action)
    if fields is None:
        return HttpResponseBadRequest("Unknown action.")
    if action == "assign" and not can_assign(request.user):
        return HttpResponseForbidden("Only leads and admins can assign conversations.")
    form = ReviewForm({name: request.POST.get(name, "") for name in fields}, can_assign=True)
    if not form.is_valid() or not form.changes():
        return bulk_message(request, "Choose what to set first.", status=400)
    saved = [
        reviews.save_review(conversation_id=cid, user=request.user, **form.changes())[0]
        for cid in ids
    ]
    message = f"Updated {len(saved)} conversation{'s' if len(saved) != 1 else ''}."
    if not request.htmx:
        messages.success(request, message)
        return redirect(list_url(request.POST.get("list_query", "")))
    return render(
        request, "conversations/_bulk_updated.html", {"reviews": saved, "message": message}
    )


def bulk_message(request, message, *, status):
    if request.htmx:
        return render(
            request,
            "conversations/_toast.html",
            {"message": message, "kind": "error"},
            status=status,
        )
    messages.error(request, message)
    return redirect(list_url(request.POST.get("list_query", "")))


def list_url(list_query):
    query = filter_from(QueryDict(list_query[:1000])).query_string()
    return f"{reverse('conversations:list')}?{query}" if query else reverse("conversations:list")


# Without JavaScript the whole selection is deleted in one request, waiting out rate limits.
BULK_RATE_LIMIT_TRIES = 3
BULK_RATE_LIMIT_WAIT = 5.0


@require_POST
def bulk_delete(request):
    """Delete the selected conversations one by one, each with its own audit record.

    Our script sends one id per request, to show progress and back off on 429 itself;
    without JavaScript the whole selection comes at once and the server backs off.
    """
    ids = selected_ids(request.POST)
    if not request.user.has_perm("conversations.delete_conversation"):
        return deny_delete(request, ids)
    if not ids:
        return HttpResponseBadRequest("Select at least one conversation first.")
    reason = clean_reason(request.POST)
    wants_json = request.accepts("application/json") and not request.accepts("text/html")
    results = []
    for conversation_id in ids:
        result = perform_deletion(request, conversation_id, reason=reason)
        tries = 1
        while (
            not wants_json
            and isinstance(result.error, client.RateLimited)
            and tries < BULK_RATE_LIMIT_TRIES
        ):
            time.sleep(min(result.error.retry_after or 2.0**tries, BULK_RATE_LIMIT_WAIT))
            result = perform_deletion(request, conversation_id, reason=reason)
            tries += 1
        results.append((conversation_id, result))
    if wants_json:
        return JsonResponse(
            {
                "results": [
                    {
                        "id": cid,
                        "outcome": r.outcome,
                        "message": r.message,
                        "rate_limited": isinstance(r.error, client.RateLimited),
                        "retry_after": getattr(r.error, "retry_after", None),
                    }
                    for cid, r in results
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
    response = StreamingHttpResponse(
        audited_export(request, lines, review_filter, fmt, progress_key),
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
    records = AuditRecord.objects.all()
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
        "created_at",
        "username",
        "outcome",
        "conversation_id",
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
