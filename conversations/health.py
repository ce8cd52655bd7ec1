"""The pages about the dashboard itself: health checks and the page for a failed request.

A module of their own because they are the only views that must answer without a login
and without the dependencies every other view relies on: a load balancer or container
runtime asks `/healthz` whether the process is up, a deploy or monitor asks `/readyz`
whether it can serve, and `server_error` must render when the database is the thing that
failed. See docs/deploy.md. What people see for an error is in conversations/errors.py.
"""

import logging
import sys
import threading
import time
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from conversations import client, errors

log = logging.getLogger(__name__)

# How long a client should wait before retrying when the database is down.
DATABASE_RETRY_AFTER = 30


@login_not_required
@require_safe
@never_cache
def healthz(request):
    """The process is up and answering; touches no database, cache or platform."""
    return HttpResponse("ok\n", content_type="text/plain")


@login_not_required
@require_safe
@never_cache
def readyz(request):
    """Whether each dependency answers; 503 naming the ones that do not.

    The body says only ok or unavailable per dependency: no host names, no exception text,
    nothing secret. What went wrong is in the log.
    """
    checks = {
        "database": check_database,
        "cache": check_cache,
        "platform": check_platform,
    }
    results = {}
    for name, check in checks.items():
        try:
            check()
        # Whatever a check raises, the answer is the same: that dependency is not ready.
        except Exception as exc:
            log.warning("Readiness: %s unavailable (%s)", name, type(exc).__name__)
            results[name] = "unavailable"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return JsonResponse(results, status=200 if ready else 503)


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


# The last platform check of this process: (time.monotonic() when asked, exception or None).
_platform_checked = {}
_platform_lock = threading.Lock()


def check_platform():
    """client.check_platform, its outcome reused for READYZ_PLATFORM_CACHE_SECONDS.

    /readyz needs no login, and each check is a platform call with our key: without this,
    anyone who reaches it could make the dashboard call the platform as often as they like.
    A failure is reused too: a platform that hangs would otherwise hold a thread for the whole
    timeout on every probe, and a probe learns nothing new from asking again so soon. Kept
    per process, not in the shared cache: each instance says whether it reaches the platform,
    and the answer holds when the cache is what is down. The lock makes probes that arrive
    together wait for one call instead of each making their own.
    """
    with _platform_lock:
        checked = _platform_checked.get("last")
        if checked is None or time.monotonic() - checked[0] >= (
            settings.READYZ_PLATFORM_CACHE_SECONDS
        ):
            try:
                client.check_platform()
            except Exception as exc:
                # Only its kind is shown; its traceback and causes would keep the call's frames.
                exc.__traceback__ = exc.__cause__ = exc.__context__ = None
                checked = (time.monotonic(), exc)
            else:
                checked = (time.monotonic(), None)
            _platform_checked["last"] = checked
    if checked[1] is not None:
        # Without the traceback of the last raise, or each reuse would add to it.
        raise checked[1].with_traceback(None)


def check_cache():
    """Write and read back a random key: the cache backend hides failures as misses."""
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "ok", 10)
    try:
        if cache.get(key) != "ok":
            raise ConnectionError("the cache did not keep a value")
    finally:
        cache.delete(key)


class DatabaseOutage:
    """Whether this process's requests fail for want of the database, since when, how many.

    An outage is logged twice: when it starts, with the error, and when a query succeeds
    again, with how long it lasted and how many requests answered 503. A traceback for each
    of them said nothing new (some 2,800 in a 20-second outage, per instance). Shared by the
    threads of a process; each process logs its own outage.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.started_at = None
        self.failed_requests = 0

    @property
    def active(self):
        return self.started_at is not None

    def failed(self, exc):
        with self.lock:
            self.failed_requests += 1
            if self.started_at is not None:
                return
            self.started_at = time.monotonic()
        log.error(
            "Database unavailable (%s: %s): answering 503 until it is back",
            type(exc).__name__,
            " ".join(str(exc).split())[:300],
        )

    def watch(self, execute, sql, params, many, context):
        """A database execute wrapper: a query that succeeds ends the outage."""
        result = execute(sql, params, many, context)
        self.ended()
        return result

    def ended(self):
        with self.lock:
            if self.started_at is None:
                return
            seconds, failed = time.monotonic() - self.started_at, self.failed_requests
            self.started_at, self.failed_requests = None, 0
        log.warning(
            "Database back after %.1f s; %s request%s answered 503",
            seconds,
            f"{failed:,}",
            "" if failed == 1 else "s",
        )


database_outage = DatabaseOutage()


class DatabaseOutageMiddleware:
    """During a database outage, watch each request's queries for one that succeeds.

    Outside an outage it only checks a flag: no query is wrapped.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not database_outage.active:
            return self.get_response(request)
        with connection.execute_wrapper(database_outage.watch):
            return self.get_response(request)


def server_error(request):
    """handler500: a 503 when the database cannot be reached (try again shortly), else 500.

    Django turns an exception raised anywhere in the middleware into a response before the
    outer middleware sees it, so this handler is the one place that sees them all. Only
    connection failures are an outage: a query the database refuses (DataError,
    IntegrityError, ProgrammingError) is a bug, and retrying would not help. An outage is
    counted in `database_outage`, which logs it, instead of a traceback per request.
    """
    _, exc, _ = sys.exc_info()
    if isinstance(exc, OperationalError | InterfaceError):
        database_outage.failed(exc)
        response = errors.render_server_error(request, 503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        # Django's own "Service Unavailable" line with the traceback (django.utils.log) is
        # skipped for a response that says it was logged.
        response._has_been_logged = True
        return response
    return errors.render_server_error(request, 500)
