"""The Redis cache backend: a Redis that cannot be reached is a cache miss, never an error.

The real redis client talks to a port where nothing listens, or to a server that hangs up;
with REDIS_URL set, to the real Redis, reached through a proxy the test can cut.
"""

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conversations.cache_backend import TolerantRedisCache
from tests.helpers import closed_port
from tests.scaleout.proxy import TcpProxy

OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
ROOT = Path(__file__).resolve().parent.parent


def backend(url, *, retry_after=None):
    cache = TolerantRedisCache(
        url, {"OPTIONS": OPTIONS, "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}
    )
    if retry_after is not None:
        cache.retry_after = retry_after
    return cache


def outage_warnings(caplog):
    return [r for r in caplog.records if r.name == "conversations.cache_backend"]


@pytest.fixture
def dead():
    """A backend whose Redis is a closed port, retrying on every call."""
    return backend(f"redis://127.0.0.1:{closed_port()}/0", retry_after=0)


def test_a_read_from_an_unreachable_redis_is_a_miss(dead):
    assert dead.get("key") is None
    assert dead.get("key", "fallback") == "fallback"
    assert dead.get_many(["a", "b"]) == {}
    assert dead.has_key("key") is False


def test_a_write_to_an_unreachable_redis_does_nothing(dead):
    dead.set("key", "value", 60)
    assert dead.get("key") is None
    assert dead.delete("key") is False
    assert dead.delete_many(["a", "b"]) is None
    assert dead.touch("key", 60) is False
    assert dead.clear() is False


def test_set_many_reports_every_key_as_not_stored(dead):
    assert sorted(dead.set_many({"a": 1, "b": 2}, 60)) == ["a", "b"]


def test_add_lets_the_caller_go_ahead_as_if_it_held_the_key(dead):
    assert dead.add("lock", 1, 60) is True


def test_incr_on_an_unreachable_redis_behaves_as_for_a_missing_key(dead):
    with pytest.raises(ValueError, match="not found"):
        dead.incr("counter")
    assert dead.get_or_set("key", "computed", 60) == "computed"


def test_an_outage_is_logged_once_not_on_every_call(dead, caplog):
    caplog.set_level(logging.WARNING)
    for _ in range(20):
        dead.get("key")
        dead.set("key", "value", 60)
    warnings = outage_warnings(caplog)
    assert len(warnings) == 1
    assert "Cache unavailable" in warnings[0].getMessage()


def test_the_log_line_names_the_server_but_not_its_password(caplog):
    caplog.set_level(logging.WARNING)
    port = closed_port()
    backend(f"redis://:hunter2-secret@127.0.0.1:{port}/0?password=hunter2-secret").get("key")
    message = outage_warnings(caplog)[0].getMessage()
    assert f"127.0.0.1:{port}" in message
    assert "hunter2" not in message


def test_after_a_failure_redis_is_left_alone_for_a_while():
    # A server that accepts and hangs up counts how often the client tried.
    hangs_up = TcpProxy("127.0.0.1", closed_port()).start()
    try:
        cache = backend(f"redis://127.0.0.1:{hangs_up.port}/0", retry_after=60)
        for _ in range(10):
            assert cache.get("key") is None
        assert hangs_up.accepted == 1
        cache.retry_after = 0
        cache.get("key")
        assert hangs_up.accepted == 2
    finally:
        hangs_up.stop()


# Choosing it ----------------------------------------------------------------------------------

PRINT_CHOICE = (
    "from django.conf import settings; "
    "print(settings.CACHES['default']['BACKEND'], settings.SESSION_ENGINE)"
)


def start(**env):
    """Load the settings in a fresh process, as start-up does, and print the choice."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DEBUG")
    }
    environment.update({"SECRET_KEY": "s" * 50, "DJANGO_SETTINGS_MODULE": "dashboard.settings"})
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_CHOICE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_redis_url_the_cache_is_local_and_sessions_are_in_the_database():
    assert start().stdout.split() == [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.contrib.sessions.backends.db",
    ]


def test_with_redis_url_the_cache_is_shared_and_sessions_are_cached_database_ones():
    assert start(REDIS_URL="redis://127.0.0.1:6379/0").stdout.split() == [
        "conversations.cache_backend.TolerantRedisCache",
        "django.contrib.sessions.backends.cached_db",
    ]


@pytest.mark.parametrize(
    "value", ["http://127.0.0.1:6379", "redis://:hunter2@127.0.0.1:port/0", "127.0.0.1:6379"]
)
def test_a_bad_redis_url_stops_start_up_naming_it_but_not_its_password(value):
    result = start(REDIS_URL=value)
    assert result.returncode != 0
    assert "REDIS_URL must be" in result.stderr
    assert "hunter2" not in result.stderr


# Against the real Redis -----------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")


@needs_redis
def test_with_redis_up_it_is_an_ordinary_cache():
    cache = backend(REDIS_URL)
    cache.set("key", {"a": 1}, 60)
    assert cache.get("key") == {"a": 1}
    assert cache.add("key", "other", 60) is False
    cache.set("counter", 1, 60)
    assert cache.incr("counter", 2) == 3
    assert cache.set_many({"x": 1, "y": 2}, 60) == []
    assert cache.get_many(["x", "y", "z"]) == {"x": 1, "y": 2}
    assert cache.delete("key") is True
    assert cache.get("key") is None
    cache.delete_many(["counter", "x", "y"])


@needs_redis
def test_when_redis_comes_back_the_cache_is_used_again(caplog):
    caplog.set_level(logging.WARNING)
    target = urlsplit(REDIS_URL)
    proxy = TcpProxy(target.hostname, target.port or 6379).start()
    try:
        path = target.path or "/0"
        cache = backend(f"redis://127.0.0.1:{proxy.port}{path}", retry_after=0)
        cache.set("key", "kept", 60)
        proxy.stop()
        assert cache.get("key") is None
        proxy.start()
        assert cache.get("key") == "kept"
        messages = [r.getMessage() for r in outage_warnings(caplog)]
        assert len(messages) == 2
        assert "Cache unavailable" in messages[0]
        assert "available again" in messages[1]
        cache.delete("key")
    finally:
        proxy.stop()
