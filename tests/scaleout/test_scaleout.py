"""Two dashboard instances behind one PostgreSQL and one Redis, as in production.

The `cluster` fixture (conftest.py) gives a fresh database, one emulator, instances A and
B and a session logged in on A. The last test stops it all and proves nothing is left.
"""

import contextlib
import re
import threading
import time
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import requests

from tests.scaleout.cluster import USERNAME, visitor

pytestmark = pytest.mark.scaleout

ROW_ID_RE = re.compile(r'id="row-([A-Za-z0-9_-]+)"')


@pytest.fixture(scope="module")
def deletion(cluster):
    """B loads the list (caching it), A deletes its first conversation, B loads it again."""
    before = cluster.on_b.get(f"{cluster.b}/", timeout=10)
    assert before.status_code == 200
    conversation_id = ROW_ID_RE.findall(before.text)[0]
    deleted = cluster.on_a.post(
        f"{cluster.a}/conversations/{conversation_id}/delete",
        data={"reason": "scale-out check", "origin": "list"},
        headers={"X-CSRFToken": cluster.on_a.cookies["csrftoken"]},
        timeout=10,
        allow_redirects=False,
    )
    assert deleted.status_code == 302, deleted.text
    after = cluster.on_b.get(f"{cluster.b}/", timeout=10)
    return conversation_id, before, after


# The tests ------------------------------------------------------------------------------------


def test_a_session_started_on_a_is_valid_on_b(cluster):
    response = cluster.on_b.get(f"{cluster.b}/", timeout=10, allow_redirects=False)
    assert response.status_code == 200
    assert USERNAME in response.text
    # The same request with a session B cannot find goes to the login page.
    stranger = visitor({"sessionid": "x" * 32}).get(
        f"{cluster.b}/", timeout=10, allow_redirects=False
    )
    assert stranger.status_code == 302
    assert "/login/" in stranger.headers["Location"]


def test_sessions_live_in_the_shared_database_and_the_shared_redis(cluster):
    session_key = cluster.on_a.cookies["sessionid"]
    with psycopg.connect(cluster.database_url) as conn:
        row = conn.execute(
            "SELECT 1 FROM django_session WHERE session_key = %s", [session_key]
        ).fetchone()
    assert row is not None
    cached = redis.Redis.from_url(cluster.redis_url).exists(
        f"review:1:django.contrib.sessions.cached_db{session_key}"
    )
    assert cached == 1


def test_a_conversation_deleted_through_a_is_gone_from_the_list_b_just_loaded(cluster, deletion):
    conversation_id, before, after = deletion
    assert f'id="row-{conversation_id}"' in before.text
    assert after.status_code == 200
    assert f'id="row-{conversation_id}"' not in after.text
    # And the platform no longer has it.
    platform = requests.get(
        f"{cluster.emulator_url}/v1/convai/conversations/{conversation_id}",
        headers={"xi-api-key": cluster.api_key},
        timeout=10,
    )
    assert platform.status_code == 404


def test_both_instances_show_the_deletion_in_the_audit_log(cluster, deletion):
    conversation_id = deletion[0]
    for base in (cluster.a, cluster.b):
        audit = cluster.on_b.get(f"{base}/audit/", timeout=10)
        assert audit.status_code == 200
        assert conversation_id in audit.text
        assert "scale-out check" in audit.text


def test_b_keeps_serving_pages_when_its_redis_connection_is_cut(cluster, deletion):
    cluster.redis_proxy.stop()
    try:
        for _ in range(3):
            listing = cluster.on_b.get(f"{cluster.b}/", timeout=10, allow_redirects=False)
            assert listing.status_code == 200
            # Still logged in: the session is read from the database instead.
            assert USERNAME in listing.text
            assert f'id="row-{deletion[0]}"' not in listing.text
        other_id = ROW_ID_RE.findall(listing.text)[0]
        detail = cluster.on_b.get(f"{cluster.b}/conversations/{other_id}/", timeout=10)
        assert detail.status_code == 200
        readiness = requests.get(f"{cluster.b}/readyz", timeout=10)
        assert readiness.status_code == 503
        assert readiness.json()["cache"] == "unavailable"
        # A serves as before.
        assert cluster.on_a.get(f"{cluster.a}/", timeout=10).status_code == 200
    finally:
        cluster.redis_proxy.start()
    log = cluster.log("b")
    assert "Cache unavailable" in log
    assert "Traceback" not in log
    assert '" 500 ' not in log


def test_an_instance_whose_master_was_killed_can_be_restarted_on_its_port_at_once(cluster):
    # A request in flight, waiting on a platform that hangs: a worker that outlived its master
    # would keep the port open until that request ends.
    base = cluster.start_instance("c", cluster.redis_url, XUNA_API_TIMEOUT="30")
    emulator = f"{cluster.emulator_url}/_emulator"
    hang = {"endpoint": "get", "kind": "hang", "seconds": 30, "times": 1}
    requests.post(f"{emulator}/faults", json=hang, timeout=10).raise_for_status()
    waiting = threading.Thread(target=visit, args=(cluster, f"{base}/conversations/conv_waiting/"))
    waiting.start()
    try:
        deadline = time.monotonic() + 10
        while not any(call["path"].endswith("/conv_waiting") for call in calls(emulator)):
            assert time.monotonic() < deadline, "the request never reached the platform"
            time.sleep(0.1)
        cluster.kill_master("c")
        time.sleep(1)  # a process manager's restart delay
        started = time.monotonic()
        restarted = cluster.start_instance("c-restarted", cluster.redis_url, port=port_of(base))
        assert restarted == base
        assert time.monotonic() - started < 5
        # Every connection reaches the new instance: none waits at a socket that is never served.
        for _ in range(20):
            assert requests.get(f"{restarted}/healthz", timeout=5).status_code == 200
        assert cluster.on_a.get(f"{restarted}/", timeout=10).status_code == 200
    finally:
        requests.delete(f"{emulator}/faults", timeout=10)
        waiting.join(timeout=40)
    assert "Connection in use" not in cluster.log("c-restarted")


def visit(cluster, url):
    """GET `url` with the session logged in on A; the answer, or an error, does not matter."""
    with contextlib.suppress(requests.RequestException):
        visitor(cluster.on_a.cookies).get(url, timeout=40)


def calls(emulator):
    return requests.get(f"{emulator}/calls", timeout=10).json()["calls"]


def port_of(base):
    return urlsplit(base).port


def test_stopping_the_cluster_leaves_nothing_running(cluster):
    cluster.stop()
    assert cluster.still_running() == []
    assert not cluster.database_exists()
