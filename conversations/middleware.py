"""Edge handling shared by every view: platform errors, time zone, session limits,
compression, caching. What people see for an error is in conversations/errors.py.
"""

import logging
import time
import zoneinfo
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import resolve_url
from django.utils import timezone

from conversations import client, errors

log = logging.getLogger(__name__)


class ErrorMiddleware:
    """Any client exception a view lets through, as a page or fragment (conversations.errors).

    Also Django's 405 (require_POST and the like), which has no body: htmx would swap
    nothing in, and a browser would show a blank page instead of the dashboard's.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content:
            return errors.method_not_allowed(request, response)
        return response

    def process_exception(self, request, exc):
        if not isinstance(exc, client.XunaError):
            return None
        if isinstance(exc, client.AuthenticationFailed):
            log.error("Configuration error: the platform rejected the API key (%s)", request.path)
        else:
            log.warning("Platform error on %s: %s", request.path, type(exc).__name__)
        return errors.render_platform_error(request, exc)


class ViewerTimezoneMiddleware:
    """Show times in the viewer's zone, which our script stores in the `tz` cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The script writes the zone URL-encoded ("Asia%2FTokyo"), as cookie values must be.
        name = unquote(request.COOKIES.get("tz", ""))
        if 0 < len(name) < 64:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class SessionLimitsMiddleware:
    """End a session after SESSION_IDLE_MINUTES without a request, or SESSION_MAX_HOURS after login.

    The last-seen time is written at most once a minute, so a page costs no session write.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault("started_at", now)
            seen = request.session.get("seen_at", now)
            idle = now - seen > settings.SESSION_IDLE_MINUTES * 60
            if idle or now - started > settings.SESSION_MAX_HOURS * 3600:
                logout(request)
                return redirect_to_login(request.get_full_path())
            if now - seen >= 60 or "seen_at" not in request.session:
                request.session["seen_at"] = now
        return self.get_response(request)


class HtmxLoginMiddleware:
    """Send the whole page to the login form when an htmx request finds no session.

    A plain redirect would be followed by htmx itself, which would swap the login form into
    the panel or row it was loading. `HX-Redirect` makes the browser leave the page instead,
    and after login it comes back to the page the person was on (HX-Current-URL), not to
    the fragment's address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.headers.get("HX-Request") != "true" or response.status_code != 302:
            return response
        if urlsplit(response["Location"]).path != resolve_url(settings.LOGIN_URL):
            return response
        page = self.current_page(request) or request.get_full_path()
        redirect = HttpResponse(status=200)
        redirect["HX-Redirect"] = redirect_to_login(page)["Location"]
        return redirect

    @staticmethod
    def current_page(request):
        """The path of the page the request came from, when it is one of ours."""
        return errors.local_path(request, request.headers.get("HX-Current-URL", ""))


class CompressionMiddleware(GZipMiddleware):
    """Django's gzip for pages and fragments, never for a response served in byte ranges.

    A recording barely shrinks, and compressing it would drop its Content-Length and break
    the ranges a player seeks with. Compressed pages stay safe from BREACH: Django masks the
    CSRF token anew in every response, and GZipMiddleware adds random bytes to each one.
    """

    def process_response(self, request, response):
        if response.has_header("Accept-Ranges"):
            return response
        return super().process_response(request, response)


class NoStoreMiddleware:
    """Whatever a signed-in user is shown is stored by no browser or proxy.

    Comments, tags, user names and audit records would otherwise stay in the browser's
    cache, and Back would show a review as it was before it changed. A response that chose
    its own Cache-Control keeps it; static files never get here (WhiteNoise answers first,
    with its long caching); answers to anonymous requests (login, health checks) are left
    as they are.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-store"
        return response
