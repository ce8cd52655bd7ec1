"""The dashboard's pages: each view checks its input, calls the client and renders.

Client exceptions that a view does not handle itself are rendered by
`conversations.middleware.PlatformErrorMiddleware`.
"""

import csv
import dataclasses
import logging
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import DatabaseError, IntegrityError
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from conversations import client
from conversations.middleware import error_for
from conversations.models import AuditRecord

log = logging.getLogger(__name__)

view_required = permission_required("conversations.view_conversation", raise_exception=True)
audit_required = permission_required("conversations.view_auditrecord", raise_exception=True)
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
    agent_id = agent_param(request.GET.get("agent", ""), agents)
    page = without_gone(
        client.list_conversations(
            agent_id=agent_id, cursor=cursor, page_size=settings.XUNA_PAGE_SIZE
        )
    )
    agents = remember_agents(page.items, agents)
    context = {"page": page, "agent_id": agent_id or "", "agents": agents, "cursor": cursor}
    if request.htmx and cursor:
        return render(request, "conversations/_rows.html", context)
    return render(request, "conversations/list.html", context)


@require_GET
@view_required
@never_cache
def conversation_detail(request, conversation_id):
    conversation = fetch_conversation(conversation_id)
    return render(
        request,
        "conversations/detail.html",
        {"c": conversation, "agents": agents_seen(), "origin": "detail"},
    )


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
        relay(stream),
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


def without_gone(page):
    """The page without conversations deleted through the dashboard (a cache may lag)."""
    gone = AuditRecord.objects.gone_among(c.id for c in page.items)
    if not gone:
        return page
    return dataclasses.replace(page, items=tuple(c for c in page.items if c.id not in gone))


def relay(stream):
    """Yield the recording; closing this generator (the browser went away) closes upstream."""
    try:
        yield from stream.chunks
    finally:
        stream.close()


@require_http_methods(["GET", "POST", "DELETE"])
def conversation_delete(request, conversation_id):
    client.validate_id(conversation_id)
    if not request.user.has_perm("conversations.delete_conversation"):
        return deny_delete(request, conversation_id)
    if request.method == "GET":
        conversation = fetch_conversation(conversation_id)
        return render_delete_form(request, conversation, origin=request.GET.get("from"))
    data = request.POST if request.method == "POST" else QueryDict(request.body)
    return delete_conversation(
        request,
        conversation_id,
        reason=data.get("reason", "").strip()[:1000],
        origin=data.get("origin"),
    )


def render_delete_form(request, conversation, *, origin, error=None, status=200):
    template = "conversations/_delete_dialog.html" if request.htmx else "conversations/delete.html"
    context = {
        "c": conversation,
        "origin": "detail" if origin == "detail" else "list",
        "error": error,
        "agents": agents_seen(),
    }
    return render(request, template, context, status=status)


def deny_delete(request, conversation_id):
    log.warning(
        "Refused a delete of %s by %s: no permission", conversation_id, request.user.username
    )
    if request.method != "GET":
        write_audit(request, conversation_id, None, AuditRecord.Outcome.DENIED, status=None)
    return HttpResponseForbidden("You do not have permission to delete conversations.")


def delete_conversation(request, conversation_id, *, reason, origin):
    if AuditRecord.objects.filter(
        conversation_id=conversation_id, outcome=AuditRecord.Outcome.DELETED
    ).exists():
        # A repeated submit of a deletion that already happened: no second call, no second record.
        return deleted_response(request, conversation_id, origin=origin, already_gone=True)
    conversation = None
    try:
        conversation = client.get_conversation(conversation_id)
        client.delete_conversation(conversation_id)
    except client.ConversationNotFound:
        write_audit(
            request, conversation_id, conversation, "already_gone", status=404, reason=reason
        )
        return deleted_response(request, conversation_id, origin=origin, already_gone=True)
    except client.XunaError as exc:
        status, title, hint = error_for(exc)
        write_audit(
            request,
            conversation_id,
            conversation,
            AuditRecord.Outcome.FAILED,
            status=getattr(exc, "status", None),
            reason=reason,
            detail=title,
        )
        if conversation is None:
            raise
        return render_delete_form(
            request, conversation, origin=origin, error=f"{title}. {hint}", status=status
        )
    write_audit(request, conversation_id, conversation, "deleted", status=200, reason=reason)
    return deleted_response(request, conversation_id, origin=origin, already_gone=False)


def write_audit(request, conversation_id, conversation, outcome, *, status, reason="", detail=""):
    """Record a deletion attempt. A failed write is logged loudly, never hidden or fatal."""
    try:
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
    except IntegrityError:
        log.warning("Deletion of %s was already recorded", conversation_id)
    except DatabaseError:
        log.critical(
            "AUDIT WRITE FAILED: %s of conversation %s by %s was not recorded",
            outcome,
            conversation_id,
            request.user.get_username(),
            exc_info=True,
        )


def deleted_response(request, conversation_id, *, origin, already_gone):
    if already_gone:
        message = f"Conversation {conversation_id} was already gone; nothing left to delete."
    else:
        message = f"Conversation {conversation_id} was deleted permanently."
    if request.htmx and origin != "detail":
        return render(
            request,
            "conversations/_deleted.html",
            {"conversation_id": conversation_id, "message": message},
        )
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect("/")
    return redirect("conversations:list")


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
    user = params.get("user", "").strip()[:150]
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


class Echo:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value):
        return value


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
        "detail",
    ]
    writer = csv.writer(Echo())
    rows = (
        writer.writerow([csv_safe(getattr(r, name)) for name in columns])
        for r in records.iterator()
    )
    response = StreamingHttpResponse(
        (line for part in ([writer.writerow(columns)], rows) for line in part),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="deletion-audit.csv"'
    return response


def csv_safe(value):
    """Render a value for CSV; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


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
