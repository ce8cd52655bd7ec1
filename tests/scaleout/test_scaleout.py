"""Two dashboard instances behind one PostgreSQL and one Redis, as in production.

The `cluster` fixture (conftest.py) gives a fresh database, one emulator, instances A and
B and a session logged in on A. The last test stops it all and proves nothing is left.
"""

import re

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


def test_stopping_the_cluster_leaves_nothing_running(cluster):
    cluster.stop()
    assert cluster.still_running() == []
    assert not cluster.database_exists()
