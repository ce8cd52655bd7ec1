"""Production settings: Django's deploy check passes, and HTTPS=on switches on every TLS setting."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
TLS_SETTINGS = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
]
ALWAYS_SETTINGS = [
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "DEBUG",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
]
READ_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    f"print(json.dumps({{n: getattr(settings, n) for n in {TLS_SETTINGS + ALWAYS_SETTINGS!r}}}))"
)


def run(args, **env):
    """Run Python in a fresh process with production settings (a real key, DEBUG off)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XUNA_", "DJANGO_", "SECURE_", "SESSION_"))
        and key not in ("DEBUG", "SECRET_KEY", "HTTPS", "ALLOWED_HOSTS")
    }
    environment.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "off",
            "ALLOWED_HOSTS": "review.example.com",
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def production():
    """The settings a process started with HTTPS=on ends up with."""
    result = run(["-c", READ_SETTINGS], HTTPS="on")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def behind_tls(production, settings):
    """This test process, configured as production is."""
    for name, value in production.items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    settings.DEBUG = False
    return settings


def test_the_deploy_check_passes_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], HTTPS="on")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_fails_without_https_so_it_is_not_vacuous():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], HTTPS="off")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_https_on_switches_on_every_setting_that_needs_tls(production):
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_https_off_keeps_plain_http_usable_and_the_rest_strict():
    result = run(["-c", READ_SETTINGS], HTTPS="off")
    values = json.loads(result.stdout)
    assert not any(values[name] for name in TLS_SETTINGS)
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert (values["SESSION_IDLE_MINUTES"], values["SESSION_MAX_HOURS"]) == (30, 12)


def test_every_answer_behind_tls_carries_hsts_and_the_other_headers(behind_tls, client):
    response = client.get("/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_plain_http_is_redirected_to_https(behind_tls, client):
    response = client.get("/login/?next=/audit/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/?next=/audit/"


def test_the_proxys_forwarded_proto_header_counts_as_https(behind_tls, client):
    response = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" in response


def test_the_session_and_csrf_cookies_are_secure_httponly_and_samesite(
    behind_tls, client, make_user
):
    make_user("Reviewer", username="rita")
    form = client.get("/login/", secure=True)
    csrf_cookie = form.cookies["csrftoken"]
    response = client.post(
        "/login/", {"username": "rita", "password": "a-long-pass-phrase"}, secure=True
    )
    assert response.status_code == 302
    session_cookie = response.cookies["sessionid"]
    for cookie in (csrf_cookie, session_cookie):
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
