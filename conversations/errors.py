"""What people see when a request fails: a sentence and the right status, as a page, as an
HTML fragment for htmx, or as JSON for our script.

Every error a view answers with goes through `render_error`. htmx swaps 4xx and 5xx bodies
into the page (base.html's htmx-config), so a bare "Bad request" would replace a panel with
raw text. The platform's failures are worded by `ERRORS`, Django's own refusals (an unknown
address, a missing permission, a bad method, an expired form) by the handlers below, and the
dashboard's own failures by `render_server_error`.
"""

import logging
import math
from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme

from conversations import client
from conversations.selection import MAX_SELECTION

log = logging.getLogger(__name__)

# What people see for each kind of platform failure: status, title, what to try.
ERRORS = {
    client.InvalidIdentifier: (400, "Not a valid address", "Check the address and try again."),
    # A 404 page says what is missing: the client's sentence comes first (render_platform_error)
    # and the title and hint fit the thing.
    client.NotFound: (404, "Not found", "Go back to the list and pick another one."),
    client.ConversationNotFound: (
        404,
        "Conversation not found",
        "Go back to the list and pick another one.",
    ),
    client.AgentNotFound: (
        404,
        "Agent not found",
        "Check the agent's id, or pick the agent from the list's filter.",
    ),
    client.RecordingNotFound: (
        404,
        "Recording not found",
        "The conversation's transcript and evaluation are still on its page.",
    ),
    client.AuthenticationFailed: (
        502,
        "The dashboard cannot reach the platform",
        "The platform refused the dashboard's credentials; tell an administrator.",
    ),
    client.RateLimited: (
        503,
        "The platform is busy",
        "It asked us to slow down. Wait a few seconds and try again.",
    ),
    client.UpstreamTimeout: (
        504,
        "The platform did not answer in time",
        "It may be overloaded. Try again in a moment.",
    ),
    # The platform is up and refused a request as the dashboard made it (a 4xx), and would
    # refuse it again: not "unavailable", and not "try again". The two disagree (versions,
    # configuration), which an administrator settles; 502 as for a rejected key, because the
    # failure is the platform's answer to the dashboard, not the person's request (a 4xx).
    client.RequestRefused: (
        502,
        "The platform refused the request",
        "The dashboard asked in a way the platform does not accept; tell an administrator.",
    ),
    client.UpstreamUnavailable: (
        502,
        "The platform is unavailable",
        "It could not be reached or sent an answer we could not read. Try again in a moment.",
    ),
    client.XunaError: (502, "Something went wrong with the platform", "Try again in a moment."),
}


def error_for(exc):
    """The (status, title, hint) for a client exception, most specific class first."""
    for cls in type(exc).__mro__:
        if cls in ERRORS:
            return ERRORS[cls]
    return ERRORS[client.XunaError]


def render_error(request, status, title, hint, *, retry=True):
    """The error as JSON for our script, a fragment for htmx (swapped where the answer was
    to go), or a page; the page and the fragment offer "Try again" (`retry_url`)."""
    if wants_json(request):
        return JsonResponse({"error": hint}, status=status)
    # Django's handlers can run before HtmxMiddleware has set `htmx`.
    htmx = getattr(request, "htmx", False)
    template = "conversations/_error.html" if htmx else "conversations/error.html"
    context = {"title": title, "hint": hint, "retry_url": retry_url(request) if retry else None}
    return render(request, template, context, status=status)


def retry_url(request):
    """Where "Try again" goes: the same address for a GET, which the page or the htmx
    fragment asks again. A form sent with POST is not sent again behind the person's back:
    they go back to the page it was sent from (same origin only, as a path), where they can
    send it again. None where there is nothing to repeat."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    if getattr(request, "htmx", False):
        # The form is still on the page, beside the error: sending it again is one click.
        return None
    return local_path(request, request.headers.get("Referer"))


def local_path(request, url):
    """`url` as a path with its query when it is an address of this dashboard (a Referer, a
    `next`), else None: another site, another scheme, not an absolute path."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={host}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    # "http://us//evil.example" is our host, but its path alone is another site's address
    # ("//evil.example"; browsers read "/\\" as "//" too).
    if not parts.path.startswith("/") or parts.path[1:2] in ("/", "\\"):
        return None
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def render_toast(request, status, message):
    """The error as a toast, for htmx requests whose answer goes to a dialog (the bulk bar's):
    an error box there would show below the page."""
    context = {"message": message, "kind": "error"}
    return render(request, "conversations/_toast.html", context, status=status)


def wants_json(request):
    """Whether the request came from our script's fetch(), which asks for JSON alone."""
    return request.accepts("application/json") and not request.accepts("text/html")


def render_platform_error(request, exc):
    status, title, hint = error_for(exc)
    if isinstance(exc, client.InvalidIdentifier | client.NotFound):
        # The client's sentence says what is wrong or missing: an id, an agent, a recording.
        hint = f"{exc.message} {hint}"
    wait = retry_after_seconds(exc)
    if wait:
        seconds = "second" if wait == 1 else "seconds"
        hint = f"The platform asked us to wait {wait} {seconds}, then try again."
    response = render_error(request, status, title, hint)
    if wait:
        response["Retry-After"] = str(wait)
    return response


def retry_after_seconds(exc):
    """The whole seconds a rate-limited platform asked us to wait (its Retry-After, rounded
    up so that trying again then is not too early), or None when it did not say."""
    if isinstance(exc, client.RateLimited) and exc.retry_after and exc.retry_after > 0:
        return math.ceil(exc.retry_after)
    return None


# Django's own refusals, answered by the handlers in dashboard/urls.py: title, what to try.
REFUSALS = {
    400: ("Bad request", "The address or the form was not valid."),
    403: ("Not allowed", "Your role does not allow this. Ask an administrator if you need it."),
    404: ("Not found", "There is nothing at this address."),
    405: ("Not possible here", "This address does not take that kind of request."),
}


def bad_request(request, exception):
    """handler400; a form too large to read says so.

    Django refuses a form of more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields (TooManyFieldsSent)
    or DATA_UPLOAD_MAX_MEMORY_SIZE bytes (RequestDataTooBig) before any view runs. The limits
    stay as they are: they keep one request from making the server parse without bound.
    """
    if isinstance(exception, TooManyFieldsSent | RequestDataTooBig):
        return too_much_at_once(request)
    return render_error(request, 400, *REFUSALS[400])


def too_much_at_once(request):
    message = (
        f"The form sent too much at once to be read: select at most {MAX_SELECTION}"
        " conversations at a time. Nothing was changed."
    )
    if getattr(request, "htmx", False):
        # Only the bulk bar sends that many fields.
        return render_toast(request, 400, message)
    return render_error(request, 400, "Too much at once", message)


def permission_denied(request, exception):
    """handler403, for `permission_required(raise_exception=True)` and PermissionDenied."""
    return render_error(request, 403, *REFUSALS[403])


def page_not_found(request, exception):
    """handler404."""
    return render_error(request, 404, *REFUSALS[404])


def method_not_allowed(request, response):
    """Django's 405 (require_POST and the like) has no body: for htmx, one with a sentence."""
    # Asking again the same way would be refused again: the page offers its way back only.
    answer = render_error(request, 405, *REFUSALS[405], retry=False)
    answer["Allow"] = response["Allow"]
    return answer


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form without a valid token, usually one left open across a login.

    Django's own page would be swapped whole into a panel; `reason` is for the log, which
    CsrfViewMiddleware already wrote.
    """
    return render_error(
        request, 403, "The form expired", "Reload the page, then send the form again."
    )


# The dashboard's own failures (handler500): title, what to try.
SERVER_ERRORS = {
    500: (
        "Something went wrong on our side",
        "The error was logged. Try again, and tell an administrator if it keeps happening.",
    ),
    503: (
        "The dashboard's database is unavailable",
        "Try again shortly, and tell an administrator if it keeps happening.",
    ),
}


def render_server_error(request, status):
    """A 500 or 503 rendered from its template alone: no context processors, no session or
    user, nothing that needs the database, which may be what failed."""
    title, hint = SERVER_ERRORS[status]
    htmx = getattr(request, "htmx", False)
    template = "conversations/_error.html" if htmx else "server_error.html"
    context = {"title": title, "hint": hint, "retry_url": retry_url(request)}
    body = loader.render_to_string(template, context)
    return HttpResponse(body, status=status)
