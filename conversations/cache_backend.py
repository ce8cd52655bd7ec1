"""A Redis cache that the dashboard survives losing.

The cache only saves work: every page can be built without it. So when Redis cannot be
reached, each operation here answers as if the cache were empty (get returns the default,
set and delete do nothing) instead of raising, and the outage is logged once when it
starts and once when it ends, not on every call. After a failure Redis is left alone for
RETRY_AFTER seconds, so an unreachable host (where a connect waits for its timeout rather
than being refused) costs one timeout every few seconds per process, not one per call.

Selected by REDIS_URL in dashboard/settings.py; see docs/deploy.md.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RETRY_AFTER = 2.0


class _Outage:
    """Whether one Redis server is failing, shared by every thread of the process.

    Django builds a cache backend per thread, so this state lives outside the backend:
    otherwise each of a worker's threads would log the same outage again.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.failing = False
        self.failed_at = 0.0
        self.misses = 0

    def should_skip(self, retry_after):
        return self.failing and time.monotonic() - self.failed_at < retry_after

    def failed(self, server, exc):
        with self.lock:
            self.failed_at = time.monotonic()
            self.misses += 1
            if self.failing:
                return
            self.failing = True
        # The exception's class and the server's address only: a message may hold a password.
        log.warning(
            "Cache unavailable (%s at %s): serving pages without it until it is back",
            type(exc).__name__,
            server,
        )

    def succeeded(self, server):
        if not self.failing:
            return
        with self.lock:
            if not self.failing:
                return
            self.failing, misses, self.misses = False, self.misses, 0
        log.warning("Cache available again at %s after %d missed operations", server, misses)

    def skipped(self):
        with self.lock:
            self.misses += 1


_outages = {}
_outages_lock = threading.Lock()


def _outage_for(server):
    with _outages_lock:
        return _outages.setdefault(server, _Outage())


class TolerantRedisCache(RedisCache):
    """Django's Redis cache, with Redis errors turned into cache misses (see the module)."""

    retry_after = RETRY_AFTER

    def __init__(self, server, params):
        super().__init__(server, params)
        # For logs: the host and port, never the password a URL may carry.
        self._server_label = _address(self._servers[0])
        self._outage = _outage_for(self._servers[0])

    def _attempt(self, fallback, operation, *args):
        if self._outage.should_skip(self.retry_after):
            self._outage.skipped()
            return fallback
        try:
            result = operation(*args)
        except RedisError as exc:
            self._outage.failed(self._server_label, exc)
            return fallback
        self._outage.succeeded(self._server_label)
        return result

    def get(self, key, default=None, version=None):
        return self._attempt(default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._attempt(None, super().set, key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # Reported as stored: code that uses add() as a lock then does the work itself
        # instead of waiting for a holder that does not exist.
        return self._attempt(True, super().add, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._attempt(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._attempt(False, super().delete, key, version)

    def get_many(self, keys, version=None):
        return self._attempt({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._attempt(False, super().has_key, key, version)

    def incr(self, key, delta=1, version=None):
        result = self._attempt(None, super().incr, key, delta, version)
        if result is None:
            # What incr() does for a missing key, which callers already handle.
            raise ValueError(f"Key '{key}' not found (the cache is unavailable).")
        return result

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        # The keys that were not stored: all of them.
        return self._attempt(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        self._attempt(None, super().delete_many, keys, version)

    def clear(self):
        return self._attempt(False, super().clear)


def _address(url):
    """`host:port/db` of a redis:// URL, without the credentials it may carry."""
    rest = url.split("://", 1)[-1].split("?", 1)[0]
    return rest.rsplit("@", 1)[-1]
