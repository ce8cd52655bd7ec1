"""Edge handling shared by every view: time zone, session limits, platform errors, caching.

Also the client's address for login throttling, and what a successful login forgets.
"""

import ipaddress
import logging
import time
import zoneinfo
from urllib.parse import unquote

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import render
from django.utils import timezone

from conversations import client

log = logging.getLogger(__name__)

# What people see for each kind of platform failure: status, title, what to try.
ERRORS = {
    client.InvalidIdentifier: (400, "Not a valid address", "Check the address and try again."),
    client.ConversationNotFound: (
        404,
        "Not found",
        "Go back to the list and pick another one.",
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


def render_platform_error(request, exc):
    status, title, hint = error_for(exc)
    if isinstance(exc, client.InvalidIdentifier | client.ConversationNotFound):
        # The client's sentence says what is wrong or missing: an id, an agent, a recording.
        hint = f"{exc.message} {hint}"
    template = "conversations/_error.html" if request.htmx else "conversations/error.html"
    response = render(request, template, {"title": title, "hint": hint}, status=status)
    if isinstance(exc, client.RateLimited) and exc.retry_after:
        response["Retry-After"] = str(int(exc.retry_after))
    return response


class PlatformErrorMiddleware:
    """Turn any client exception a view lets through into a page or fragment."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if not isinstance(exc, client.XunaError):
            return None
        if isinstance(exc, client.AuthenticationFailed):
            log.error("Configuration error: the platform rejected the API key (%s)", request.path)
        else:
            log.warning("Platform error on %s: %s", request.path, type(exc).__name__)
        return render_platform_error(request, exc)


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


def client_address(request):
    """The client's address, for login throttling (django-axes).

    Behind TRUSTED_PROXIES proxies, each of which appends the address it saw to
    X-Forwarded-For, the client is that many entries from the right; anything further left
    was written by the client and could be forged. Without proxies it is the socket's peer.

    An entry that is not an IP address (a proxy that passes on what the client sent, or one
    proxy too many counted) is not a client we can name: the failure is counted under the
    socket's peer, the proxy, instead. It still counts, one forger cannot lock out a real
    client, and axes never gets a value that PostgreSQL's inet column refuses with a 500.
    """
    hops = settings.TRUSTED_PROXIES
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if hops and len(forwarded) >= hops:
        address = ip_address_or_none(forwarded[-hops])
        if address:
            return address
    return request.META.get("REMOTE_ADDR", "")


def ip_address_or_none(text):
    """An IPv4 or IPv6 address in its one canonical spelling, or None for anything else.

    Canonical, so that `2001:db8::1` and `2001:0db8:0::1` are counted as one client. A zone
    (`fe80::1%eth0`) names an interface of the proxy's host, not a client: refused too.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if getattr(address, "scope_id", None):
        return None
    return str(address)


def forget_login_failures(sender, request, user, **kwargs):
    """On a login, forget the failed logins of that account from that address, and no more.

    Connected to `user_logged_in` in conversations/apps.py, instead of django-axes'
    AXES_RESET_ON_SUCCESS, which forgets every failure from the address whatever the user
    name: four guesses at a colleague's password, a login to one's own account, and again,
    without end. Failures for the account from other addresses stay too: a right password
    here says nothing about who typed the wrong ones there.
    """
    address = client_address(request) if request is not None else ""
    # Without an address axes' reset would forget the account's failures from everywhere.
    if address:
        axes_reset(ip=address, username=user.get_username())


class NoStoreMiddleware:
    """Whatever a signed-in user is shown is stored by no browser or proxy.

    Review notes, tags, user names and audit records would otherwise stay in the browser's
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
