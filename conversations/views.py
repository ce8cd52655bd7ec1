"""The dashboard's pages: each view checks its input, calls the client and renders.

Client exceptions that a view does not handle itself are rendered by
`conversations.middleware.ErrorMiddleware`; every other error a view answers with is
`errors.render_error`: a page, or for htmx a fragment, with a sentence.
"""

import dataclasses
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from conversations import (
    audit,
    calibration,
    client,
    comments,
    deletion,
    export,
    queries,
    reviews,
    sampling,
    scorecards,
    search,
    sync,
    tasks,
)
from conversations.agents import agent_filter, agents_seen, remember_agents
from conversations.errors import error_for, local_path, render_error
from conversations.forms import ReviewForm
from conversations.models import AuditRecord, Review

view_required = permission_required("conversations.view_conversation", raise_exception=True)
audit_required = permission_required("conversations.view_auditrecord", raise_exception=True)
export_required = permission_required("conversations.export_conversations", raise_exception=True)
review_required = permission_required("conversations.review_conversation", raise_exception=True)
agent_session_required = permission_required(
    "conversations.create_agent_session", raise_exception=True
)


@require_GET
@view_required
def conversation_list(request):
    # A cursor that is not one is refused by the client, before any call: a 400.
    cursor = request.GET.get("cursor") or None
    typed = request.GET.get("q", "").strip()
    if search.looks_like_id(typed):
        # Someone pasted a conversation's id into the search box: open it.
        return redirect("conversations:detail", typed)
    agents = agents_seen()
    review_filter = filter_from(request.GET, agents)
    shown = shown_from(request.GET)
    if cursor:
        result = reviews.fetch_page(
            review_filter, request.user, cursor=cursor, page_size=settings.XUNA_PAGE_SIZE
        )
        shown += len(result.rows)
    else:
        result = list_rows(review_filter, request.user, at_least=shown)
        shown = len(result.rows)
    agents = remember_agents([row.conversation for row in result.rows], agents)
    context = list_context(review_filter, result, agents, cursor) | {"shown": shown}
    if request.htmx and cursor:
        response = render(request, "conversations/_rows.html", context)
        # The address says how many rows are shown, so that Back to this list shows them all.
        query = review_filter.query_string()
        response["HX-Replace-Url"] = f"{reverse('conversations:list')}?" + (
            f"{query}&shown={shown}" if query else f"shown={shown}"
        )
        return response
    context.update(list_page_context(request.user, result))
    return render(request, "conversations/list.html", context)


# The most rows a list address (`shown`) brings back at once: 20 pages of 50.
SHOWN_MAX = 1000


def shown_from(params):
    """How many rows the list showed ("Load more" writes it into the address); 0 when the
    address does not say, at most SHOWN_MAX."""
    try:
        return min(max(int(params.get("shown", "")), 0), SHOWN_MAX)
    except ValueError:
        return 0


def list_rows(review_filter, user, *, at_least):
    """The list's first page and, to show `at_least` rows, the pages "Load more" had added,
    with the same page size, so that the rows and the next "Load more" are the ones seen."""
    page_size = settings.XUNA_PAGE_SIZE
    result = reviews.fetch_page(review_filter, user, page_size=page_size)
    for _ in range(SHOWN_MAX // page_size):
        if len(result.rows) >= at_least or not (result.has_more and result.next_cursor):
            break
        # A list searched through the platform's pages (no index) searches as far as one
        # "Load more" would, whatever the address asks: `shown` is anyone's to write.
        if result.searched >= reviews.MAX_SCAN:
            break
        more = reviews.fetch_page(
            review_filter, user, cursor=result.next_cursor, page_size=page_size
        )
        result = dataclasses.replace(
            result,
            rows=result.rows + more.rows,
            next_cursor=more.next_cursor,
            has_more=more.has_more,
            searched=result.searched + more.searched,
            problems=result.problems + more.problems,
        )
    return result


def list_context(review_filter, result, agents, cursor):
    """What the list page and its "Load more" rows share."""
    return {
        "result": result,
        "filter": review_filter,
        "list_query": review_filter.query_string(),
        "agents": agents,
        "cursor": cursor,
        "statuses": Review.Status.choices,
    }


def list_page_context(user, result):
    """What the whole page adds to its rows: the filters' choices and, for a list the index
    answered, how fresh the index is."""
    index = queries.index_state() if result.source == "index" else None
    return {
        "tags": reviews.tag_suggestions(),
        "users": reviews.assignable_users() if can_assign(user) else None,
        "criteria": queries.criteria(),
        "data_keys": queries.data_keys(),
        "scorecards": queries.scorecard_choices(),
        "qa_criteria": queries.criterion_choices(),
        "qa_values": queries.QA_VALUES,
        "sorts": queries.SORTS,
        "searches_transcripts": search.searches_transcripts(),
        "outcomes": queries.OUTCOMES,
        "results": queries.RESULTS,
        "index": index,
        # Counting the index costs a query of its own: only while the backfill runs.
        "progress": sync.progress() if index and not index.complete else None,
    }


# A refresh asked for within this many seconds of another, by anyone, is the same refresh.
REFRESH_SECONDS = 10
REFRESH_KEY = "conversations:index-refresh"
REFRESH_ASKED = "The newest conversations are on their way: reload the list in a few seconds."


@require_POST
@view_required
def index_refresh(request):
    """Ask the worker for a head sync now (tasks.head_sync_now), then show the list again."""
    if not settings.INDEX_ENABLED:
        return back_to_list(request, messages.ERROR, "The conversation index is turned off.")
    if cache.add(REFRESH_KEY, True, REFRESH_SECONDS):
        tasks.head_sync_now()
    return back_to_list(request, messages.INFO, REFRESH_ASKED)


@require_GET
@view_required
@never_cache
def conversation_detail(request, conversation_id):
    conversation = reviews.get_conversation(conversation_id)
    return render(request, "conversations/detail.html", detail_context(request, conversation))


def detail_context(request, conversation, panel=None):
    agents = agents_seen()
    list_filter = filter_from(request.GET, agents, lenient=True)
    list_query = list_filter.query_string()
    queue_bar = sampling.queue_bar(request.GET.get("queue"), request.user)
    queue_id = queue_bar.queue.pk if queue_bar else None
    quality = calibration.page_context(request.user, conversation.id)
    return {
        "c": conversation,
        "agents": agents,
        "in_list": reviews.place_in_list(list_filter, request.user, conversation.id),
        "queue_bar": queue_bar,
        **(
            panel
            or review_panel_context(
                request, conversation.id, list_query=list_query, queue_id=queue_id
            )
        ),
        **comments.thread_context(
            conversation, user=request.user, list_query=list_query, turn=request.GET.get("turn")
        ),
        **scorecards.panel_context(
            request, conversation, list_query=list_query, blind=quality["calibration_blind"]
        ),
        **quality,
    }


NOT_SAVED = "Nothing was saved"
REVIEW_SAVED = "Review saved."
REVIEW_UNCHANGED = "Nothing had changed: the review is as it was."
GONE = "This conversation was deleted; nothing was saved."
NO_SUCH_CONVERSATION = "The platform has no such conversation; nothing was saved."
CONFLICT = (
    "Not saved: someone else changed this review since you opened it. Your values are kept"
    " below; save again to replace the current ones, or change yours."
)


@dataclass(frozen=True)
class Refusal:
    """Why a review was not saved, the status to answer with, and any conflicting fields."""

    message: str
    status: int
    conflicts: tuple = ()


@require_POST
@review_required
def conversation_review(request, conversation_id):
    conversation_id = client.validate_id(conversation_id)
    form = ReviewForm(request.POST, can_assign=can_assign(request.user))
    if not form.is_valid():
        return review_refused(request, conversation_id, form, Refusal(form_errors(form), 400))
    changes, refusal = review_save(request.user, conversation_id, form)
    if refusal:
        return review_refused(request, conversation_id, form, refusal)
    return review_saved(request, conversation_id, form, changes)


def review_save(user, conversation_id, form):
    """Save the form's changes: (changes, None), or (None, a Refusal saying why not)."""
    try:
        if reviews.unknown_among(reviews.writable_ids([conversation_id])):
            return None, Refusal(NO_SUCH_CONVERSATION, 404)
        _, changes = reviews.save_review(
            conversation_id=conversation_id, user=user, expected=form.expected(), **form.changes()
        )
    except reviews.ConversationGone:
        return None, Refusal(GONE, 410)
    except reviews.ReviewConflict as exc:
        return None, Refusal(CONFLICT, 409, tuple(exc.conflicts))
    except client.XunaError as exc:
        status, title, hint = error_for(exc)
        return None, Refusal(f"{title}; nothing was saved. {hint}", status)
    return changes, None


def review_saved(request, conversation_id, form, changes):
    """The next conversation to review, the conversation's page, or the panel, saved."""
    list_filter = carried_filter(form.cleaned_data["list_query"])
    queue_id = form.cleaned_data["queue"]
    if queue_id:
        # Saved from a sampled queue: a verdict makes the call done in it.
        sampling.mark_reviewed(user=request.user, conversation_id=conversation_id)
    if not request.htmx:
        # Without JavaScript the panel is not redrawn: the next page says it was saved.
        messages.success(request, REVIEW_SAVED if changes else REVIEW_UNCHANGED)
    if "next" in request.POST:
        if queue_id:
            return go_to_next_in_queue(request, queue_id, conversation_id)
        return go_to_next(request, list_filter, conversation_id)
    if not request.htmx:
        return redirect(detail_url(conversation_id, list_filter))
    list_query = list_filter.query_string()
    context = review_panel_context(
        request,
        conversation_id,
        list_query=list_query,
        queue_id=queue_id,
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
    blind = calibration.is_blind(request.user, conversation_id)
    return {
        "c_id": conversation_id,
        "review": review,
        "was": was,
        "values": {**was, **(typed or {})},
        # Who changed what tells a blind calibration reviewer what others judged.
        "history": [] if blind else reviews.history(conversation_id),
        "history_hidden": blind,
        "statuses": Review.Status.choices,
        "tags": reviews.tag_suggestions(),
        "users": users,
        "former_assignee": was["assignee"] if former else "",
        "list_query": list_query,
        **extra,
    }


def review_refused(request, conversation_id, form, refusal):
    """Nothing was saved: the panel again, with the current values, what was typed, and why.

    Without JavaScript a conflict shows the whole conversation page (the panel needs it to
    show both values); any other refusal is a page that says why.
    """
    panel = review_panel_context(
        request,
        conversation_id,
        list_query=carried_filter(form.data.get("list_query", "")).query_string(),
        typed=form.typed(),
        queue_id=form.cleaned_data.get("queue"),
        refusal=refusal.message,
        conflicts=refusal.conflicts,
    )
    if request.htmx:
        return render(request, "conversations/_review.html", panel, status=refusal.status)
    if refusal.conflicts:
        context = detail_context(request, reviews.get_conversation(conversation_id), panel)
        return render(request, "conversations/detail.html", context, status=refusal.status)
    return render_error(request, refusal.status, NOT_SAVED, refusal.message)


def form_errors(form):
    return " ".join(error for errors in form.errors.values() for error in errors)


def go_to_next(request, review_filter, current_id):
    next_id = reviews.next_to_review(review_filter, request.user, current_id)
    if next_id is None:
        messages.info(request, "Nothing left to review in this list.")
        url = f"{reverse('conversations:list')}?{review_filter.query_string()}"
    else:
        url = detail_url(next_id, review_filter)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def go_to_next_in_queue(request, queue_id, current_id):
    """The reviewer's next call in a sampled queue ("Save and next"), or the queue's page
    when none is left for them."""
    url = sampling.next_in_queue(queue_id=queue_id, user=request.user, current_id=current_id)
    if url is None:
        messages.info(request, "Nothing left for you in this queue.")
        url = reverse("conversations:queue", args=[queue_id])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def detail_url(conversation_id, review_filter):
    query = review_filter.query_string()
    url = reverse("conversations:detail", args=[conversation_id])
    return f"{url}?{query}" if query else url


AUDIO_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"


@require_GET
@view_required
def conversation_audio(request, conversation_id):
    conversation = reviews.get_conversation(conversation_id)
    try:
        stream = client.open_audio(conversation, range_header=request.headers.get("Range"))
    except client.RangeNotSatisfiable as exc:
        response = HttpResponse(status=416)
        if exc.content_range:
            response["Content-Range"] = exc.content_range
        return response
    disposition = "attachment" if "download" in request.GET else "inline"
    return audio_response(stream, conversation.id, disposition)


def audio_response(stream, conversation_id, disposition):
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
    # The platform's recordings are WAV unless it says otherwise. The id passed
    # client.ID_RE (letters, digits, _ and -), so the file name needs no quoting.
    extension = client.AUDIO_TYPES.get(stream.content_type, "wav")
    response["Content-Disposition"] = f'{disposition}; filename="{conversation_id}.{extension}"'
    return response


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
        conversation = reviews.get_conversation(conversation_id)
        return render_delete_form(request, conversation, origin=request.GET.get("from"))
    data = request.POST if request.method == "POST" else QueryDict(request.body)
    reason, origin = data.get("reason", ""), data.get("origin")
    result = deletion.delete_conversation(
        user=request.user, conversation_id=conversation_id, reason=reason
    )
    if not result.done:
        conversation = result.conversation or client.Conversation(id=conversation_id)
        return render_delete_form(
            request, conversation, origin=origin, result=result, reason=reason
        )
    return conversation_deleted(request, result, origin=origin, back=delete_return(request))


def delete_return(request):
    """Where Cancel on the delete page goes back to: the page its link was on (its `next`,
    else the Referer), carried through the form as `next`."""
    if request.method == "GET":
        url = request.GET.get("next") or request.headers.get("Referer")
    else:
        data = request.POST if request.method == "POST" else QueryDict(request.body)
        url = data.get("next")
    path = local_path(request, url)
    # Cancel never leads back to a delete page.
    return None if path is None or urlsplit(path).path.endswith("/delete") else path


def render_delete_form(request, conversation, *, origin, result=None, reason=""):
    """The confirmation; after a deletion that did not happen, again with why, and the
    reason as typed (a conversation the platform could not describe is shown by its id)."""
    template = "conversations/_delete_dialog.html" if request.htmx else "conversations/delete.html"
    context = {
        "c": conversation,
        "origin": "detail" if origin == "detail" else "list",
        "error": result.message if result else None,
        "reason": reason[: deletion.REASON_MAX],
        "agents": agents_seen(),
        "back": delete_return(request),
    }
    response = render(request, template, context, status=result.status if result else 200)
    if result and result.status == 503:
        response["Retry-After"] = "5"
    return response


def conversation_deleted(request, result, *, origin, back=None):
    """From the list the row goes away; from its own page, back to the list (without
    JavaScript, back to the list as it was filtered, when the delete page knew it)."""
    if request.htmx and origin != "detail":
        context = {"conversation_ids": [result.conversation_id], "message": result.message}
        return render(request, "conversations/_deleted.html", context)
    messages.success(request, result.message)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("conversations:list"))
    own_page = reverse("conversations:detail", args=[result.conversation_id])
    if back and not back.startswith(own_page):
        return redirect(back)
    return redirect("conversations:list")


def deny_delete(request, conversation_ids):
    """403 (429 when repeated too often); a refused POST is recorded, a refused GET is not."""
    if request.method == "GET":
        message = "You do not have permission to delete conversations."
        return render_error(request, 403, "Not allowed", message)
    denial = deletion.deny(user=request.user, conversation_ids=conversation_ids)
    return render_error(request, denial.status, "Not allowed", denial.message)


def back_to_list(request, level, message):
    """The list a form was sent from (its `list_query` carries the filters), and a message."""
    messages.add_message(request, level, message)
    query = carried_filter(request.POST.get("list_query", "")).query_string()
    return redirect(f"{reverse('conversations:list')}?{query}" if query else "conversations:list")


@require_GET
@export_required
def conversation_export(request):
    fmt = request.GET.get("format")
    if fmt not in export.FORMATS:
        return render_error(request, 400, "Choose a format", "Add format=csv or format=jsonl.")
    review_filter = filter_from(request.GET)
    token = request.GET.get("progress", "")
    try:
        lines = export.start(
            user=request.user,
            review_filter=review_filter,
            fmt=fmt,
            progress_token=token,
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
    except export.IndexNeeded as exc:
        return render_error(request, 400, "This export needs the index", str(exc))
    except export.ExportsBusy as exc:
        return render_error(request, 429, "Too many exports at once", str(exc))
    except client.XunaError as exc:
        status, title, hint = error_for(exc)
        return render_error(
            request, status, "The export failed", f"{title}: nothing was exported. {hint}"
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return download(lines, f"conversations-{stamp}.{fmt}", export.FORMATS[fmt])


@require_GET
@export_required
@never_cache
def export_progress(request):
    key = export.progress_key(request.user, request.GET.get("token", ""))
    if key is None:
        return render_error(request, 400, "Not an export", "That export is not known.")
    return JsonResponse(export.progress_read(key))


def download(lines, filename, content_type):
    """A file streamed line by line, for the browser to save."""
    response = StreamingHttpResponse(lines, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@never_cache
@agent_session_required
def agent_signed_url(request, agent_id):
    return agent_credential(request, "Signed URL", "signed_url", client.get_signed_url(agent_id))


@require_GET
@never_cache
@agent_session_required
def agent_token(request, agent_id):
    token = client.get_conversation_token(agent_id)
    return agent_credential(request, "Conversation token", "token", token)


def agent_credential(request, label, key, value):
    """A fragment for the agent panel (htmx), JSON for anyone else."""
    if request.htmx:
        context = {"label": label, "value": value}
        return render(request, "conversations/_credential.html", context)
    return JsonResponse({key: value})


@require_GET
@audit_required
def audit_list(request):
    # Interrupted deletions are settled before the log is read (docs/security.md).
    deletion.resolve_open_attempts(limit=10)
    records, filters = audit.filter_records(request.GET)
    if request.GET.get("format") == "csv":
        return download(audit.as_csv(records), "audit-log.csv", "text/csv; charset=utf-8")
    page = Paginator(records, 100).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, "outcomes": AuditRecord.Outcome.choices}
    return render(request, "conversations/audit.html", context)


def can_assign(user):
    return user.has_perm("conversations.assign_conversation")


def filter_from(params, agents=None, *, lenient=False):
    """The list's filters from a query; the agent is read by agents.agent_filter."""
    agent_id = agent_filter(params.get("agent"), agents, lenient=lenient)
    return reviews.ReviewFilter.from_query(params, agent_id=agent_id)


def carried_filter(list_query):
    """The list's filters as a form carried them from our own link (`list_query`)."""
    return filter_from(QueryDict(list_query[:1000]), lenient=True)
