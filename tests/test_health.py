"""Health checks, and what people see when the database is down.

`/healthz` says the process is up; `/readyz` says whether the database, the cache and the
platform answer. A database failure is a 503 page, never a stack trace: the last tests
start a real gunicorn pointed at a PostgreSQL port where nothing listens.
"""

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import DataError, InterfaceError, OperationalError, connection
from django.test import Client, RequestFactory

from conversations import health
from tests.helpers import EMULATOR_KEY, closed_port

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def unreachable_cache(port):
    return {
        "default": {
            "BACKEND": "conversations.cache_backend.TolerantRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }


@pytest.fixture(autouse=True)
def fresh_platform_check():
    """/readyz reuses its platform check for a few seconds: each test starts without one."""
    health._platform_checked.clear()
    yield
    health._platform_checked.clear()


def test_healthz_answers_without_a_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_healthz_touches_no_database_and_no_platform(client, emulator, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200
    assert emulator.calls == []


def test_healthz_and_readyz_are_never_cached(client, emulator):
    for path in ("/healthz", "/readyz"):
        assert "no-store" in client.get(path)["Cache-Control"]


def test_healthz_is_served_over_plain_http_when_https_is_on(settings):
    # The load balancer checks instances from inside the network, without TLS.
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/").status_code == 301


def test_readyz_reports_every_dependency_ok(client, emulator):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok", "platform": "ok"}


def platform_checks(emulator):
    return [call for call in emulator.calls if call.endpoint == "list"]


def test_readyz_asks_the_platform_for_one_conversation_with_the_key(client, emulator):
    client.get("/readyz")
    [call] = platform_checks(emulator)
    assert call.authorized
    assert call.query.get("page_size") == "1"


def test_readyz_asks_the_platform_once_within_the_cache_window(client, emulator, settings):
    settings.READYZ_PLATFORM_CACHE_SECONDS = 60
    for _ in range(10):
        assert client.get("/readyz").status_code == 200
    assert len(platform_checks(emulator)) == 1


def test_readyz_reuses_a_failed_platform_check_within_the_window(client, emulator, settings):
    # A hanging platform would otherwise hold a thread for the whole timeout on every probe.
    settings.READYZ_PLATFORM_CACHE_SECONDS = 60
    emulator.set_fault("list", "503")
    assert client.get("/readyz").json()["platform"] == "unavailable"
    asked = len(platform_checks(emulator))
    emulator.clear_faults()
    for _ in range(3):
        assert client.get("/readyz").json()["platform"] == "unavailable"
    assert len(platform_checks(emulator)) == asked


def test_readyz_asks_the_platform_again_after_the_window(client, emulator, settings):
    settings.READYZ_PLATFORM_CACHE_SECONDS = 1
    client.get("/readyz")
    time.sleep(1.1)
    client.get("/readyz")
    assert len(platform_checks(emulator)) == 2


def test_the_bundled_nginx_refuses_readyz_from_outside():
    # Deploys and monitors ask each instance directly; a browser has no business there.
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    block = re.search(r"location = /readyz \{([^}]*)\}", conf)
    assert block
    assert re.fullmatch(r"\s*deny all;\s*", block.group(1))


@pytest.mark.parametrize("fault", ["503", "401", "hang"])
def test_readyz_is_503_naming_a_failing_platform(client, emulator, settings, fault):
    settings.XUNA_API_TIMEOUT = 1.0
    emulator.set_fault("list", fault, seconds=3)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "ok", "platform": "unavailable"}


def test_readyz_is_503_naming_an_unreachable_cache(client, emulator, settings):
    settings.CACHES = unreachable_cache(closed_port())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "unavailable", "platform": "ok"}


def test_readyz_says_nothing_about_hosts_keys_or_errors(client, emulator, settings):
    port = closed_port()
    settings.CACHES = unreachable_cache(port)
    settings.XUNA_API_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    body = client.get("/readyz").content.decode()
    assert json.loads(body) == {"database": "ok", "cache": "unavailable", "platform": "unavailable"}
    for secret in (EMULATOR_KEY, "127.0.0.1", str(port), "Error", "redis"):
        assert secret not in body


@pytest.mark.parametrize("error_class", [OperationalError, InterfaceError])
def test_a_lost_database_is_rendered_as_a_503_page(error_class, outage):
    request = RequestFactory().get("/")
    try:
        raise error_class("connection refused")
    except error_class:
        response = health.server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "database is unavailable" in response.content.decode()
    assert "connection refused" not in response.content.decode()


@pytest.mark.parametrize("error", [RuntimeError("a bug"), DataError("NUL in a text field")])
def test_any_other_error_is_rendered_as_the_500_page(error):
    # A query the database refuses is a bug to fix, not an outage to wait out.
    request = RequestFactory().get("/")
    try:
        raise error
    except Exception:
        response = health.server_error(request)
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


# An outage is logged once, not once per request -----------------------------------------------


@pytest.fixture
def outage(monkeypatch):
    """This process's outage record, fresh: no earlier test's outage is still open in it."""
    fresh = health.DatabaseOutage()
    monkeypatch.setattr(health, "database_outage", fresh)
    return fresh


def refuse(execute, sql, params, many, context):
    """A database execute wrapper: every query fails as when the server goes away."""
    raise OperationalError("server closed the connection unexpectedly\n\tThis probably means")


def test_a_database_outage_is_logged_when_it_starts_and_when_it_ends_without_tracebacks(
    as_role, outage, caplog
):
    lead = as_role("Lead")  # logged in before the outage
    lead.raise_request_exception = False
    caplog.set_level(logging.INFO)
    with connection.execute_wrapper(refuse):
        statuses = {lead.get("/audit/").status_code for _ in range(1_001)}
    assert statuses == {503}
    assert lead.get("/audit/").status_code == 200
    assert lead.get("/audit/").status_code == 200

    assert [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()] == []
    lines = [r.getMessage() for r in caplog.records if "Database" in r.getMessage()]
    assert len(lines) == 2, lines
    assert lines[0] == (
        "Database unavailable (OperationalError: server closed the connection unexpectedly "
        "This probably means): answering 503 until it is back"
    )
    assert re.fullmatch(r"Database back after \d+\.\d s; 1,001 requests answered 503", lines[1])
    assert not outage.active


def test_a_new_outage_after_the_end_is_logged_and_counted_afresh(as_role, outage, caplog):
    lead = as_role("Lead")
    lead.raise_request_exception = False
    caplog.set_level(logging.INFO)
    for failing in (3, 1):
        with connection.execute_wrapper(refuse):
            for _ in range(failing):
                lead.get("/audit/")
        lead.get("/audit/")
    lines = [r.getMessage() for r in caplog.records if "Database" in r.getMessage()]
    assert [line.split(" (")[0].split(" after")[0] for line in lines] == [
        "Database unavailable",
        "Database back",
        "Database unavailable",
        "Database back",
    ]
    assert lines[1].endswith("; 3 requests answered 503")
    assert lines[3].endswith("; 1 request answered 503")


# A live server without its database -----------------------------------------------------------


@pytest.fixture(scope="module")
def server_without_database(emulator_server):
    """gunicorn, as in production, with DATABASE_URL pointing at a port where nothing listens."""
    port = closed_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("XUNA_", "DJANGO_"))},
        "SECRET_KEY": "s" * 50,
        "DEBUG": "off",
        "HTTPS": "off",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/review",
        "XUNA_API_BASE_URL": emulator_server.url,
        "XUNA_API_KEY": EMULATOR_KEY,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "dashboard.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process)
        yield base
    finally:
        os.killpg(process.pid, 15)
        process.communicate(timeout=20)


def wait_until_serving(base, process):
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {process.stdout.read()}")
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("gunicorn did not start serving")


def test_without_its_database_the_dashboard_says_so_with_a_503(server_without_database):
    # A signed-in user's session is read from the database, which is not there.
    response = requests.get(
        f"{server_without_database}/", cookies={"sessionid": "x" * 32}, timeout=10
    )
    assert response.status_code == 503
    assert "The dashboard's database is unavailable" in response.text
    assert "Traceback" not in response.text
    assert "OperationalError" not in response.text


def test_without_its_database_healthz_still_answers(server_without_database):
    assert requests.get(f"{server_without_database}/healthz", timeout=10).status_code == 200


def test_without_its_database_readyz_names_it(server_without_database):
    response = requests.get(f"{server_without_database}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "cache": "ok", "platform": "ok"}


def test_the_image_healthcheck_passes_while_the_server_answers(server_without_database):
    port = server_without_database.rsplit(":", 1)[1]
    assert run_healthcheck(PORT=port, ALLOWED_HOSTS="localhost,127.0.0.1").returncode == 0


def test_the_image_healthcheck_asks_by_the_first_allowed_host_name(server_without_database):
    # The server answers to 127.0.0.1 and localhost only: a check sent as another name fails.
    port = server_without_database.rsplit(":", 1)[1]
    assert run_healthcheck(PORT=port, ALLOWED_HOSTS=".example.com,localhost").returncode == 1


def test_the_image_healthcheck_fails_when_nothing_answers():
    result = run_healthcheck(PORT=str(closed_port()), ALLOWED_HOSTS="localhost")
    assert result.returncode == 1
    assert "did not answer" in result.stderr


def run_healthcheck(**env):
    return subprocess.run(
        [sys.executable, "scripts/healthcheck.py"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
