"""The pages about the dashboard itself: health checks and the page for a failed request.

A module of their own because they are the only views that must answer without a login
and without the dependencies every other view relies on: a load balancer or container
runtime asks `/healthz` whether the process is up, a deploy or monitor asks `/readyz`
whether it can serve, and `server_error` must render when the database is the thing that
failed. See docs/deploy.md.
"""

import logging
import sys
import uuid

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from conversations import client

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
        "platform": client.check_platform,
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


def check_cache():
    """Write and read back a random key: the cache backend hides failures as misses."""
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "ok", 10)
    try:
        if cache.get(key) != "ok":
            raise ConnectionError("the cache did not keep a value")
    finally:
        cache.delete(key)


def server_error(request):
    """handler500: a 503 when the database cannot be reached (try again shortly), else 500.

    Django turns an exception raised anywhere in the middleware into a response before the
    outer middleware sees it, so this handler is the one place that sees them all. Only
    connection failures are an outage: a query the database refuses (DataError,
    IntegrityError, ProgrammingError) is a bug, and retrying would not help.
    """
    _, exc, _ = sys.exc_info()
    if isinstance(exc, OperationalError | InterfaceError):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    return HttpResponseServerError(loader.get_template("500.html").render())
