"""Logging in: brute force is throttled, and a login never sends anyone to another site."""

from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from tests.helpers import PASSWORD
from tests.security.tally import COUNTS

pytestmark = pytest.mark.django_db


def log_in(client, username, password, *, address="10.0.0.1", path="/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def is_locked_out(response):
    html = response.content.decode()
    return response.status_code == 429 and "Too many failed logins" in html and "Try again" in html


@pytest.fixture
def rita(make_user):
    return make_user("Reviewer", username="rita")


def stays_here(location):
    """Whether a browser following this Location stays on this site (backslashes are slashes)."""
    resolved = urlsplit(urljoin("http://testserver/login/", location.replace("\\", "/")))
    return resolved.scheme == "http" and resolved.netloc == "testserver"


def test_five_wrong_passwords_for_a_user_lock_that_user_out_from_any_address(client, rita):
    for attempt in range(4):
        assert log_in(client, "rita", "wrong", address=f"10.0.1.{attempt}").status_code == 200
    assert is_locked_out(log_in(client, "rita", "wrong", address="10.0.1.4"))
    response = log_in(client, "rita", PASSWORD, address="10.0.2.1")
    assert is_locked_out(response)
    assert "_auth_user_id" not in client.session


def test_five_wrong_passwords_from_an_address_lock_that_address_out_for_any_user(
    client, rita, make_user
):
    for attempt in range(5):
        log_in(client, f"guess{attempt}", "wrong", address="10.0.3.1")
    assert is_locked_out(log_in(client, "rita", PASSWORD, address="10.0.3.1"))


def test_a_lockout_does_not_spread_to_other_users_at_other_addresses(client, rita, make_user):
    make_user("Reviewer", username="sam")
    for _ in range(5):
        log_in(client, "rita", "wrong", address="10.0.4.1")
    response = log_in(client, "sam", PASSWORD, address="10.0.4.2")
    assert response.status_code == 302


def test_four_failures_are_not_yet_a_lockout(client, rita):
    for _ in range(4):
        log_in(client, "rita", "wrong")
    assert log_in(client, "rita", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, rita, settings):
    for _ in range(5):
        log_in(client, "rita", "wrong")
    assert is_locked_out(log_in(client, "rita", PASSWORD))
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert log_in(client, "rita", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(client, admin_user):
    for _ in range(5):
        log_in(client, "admin", "wrong", path="/admin/login/")
    assert is_locked_out(log_in(client, "admin", "password", path="/admin/login/"))


OFFSITE = [
    "//evil.example",
    "//evil.example/",
    "///evil.example",
    "http://evil.example",
    "https://evil.example/login/",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    " //evil.example",
    "//testserver@evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_a_login_stays_on_this_site_whatever_next_says(client, rita, target):
    COUNTS["hostile"] += 1
    response = client.post(
        "/login/",
        {"username": "rita", "password": PASSWORD, "next": target},
        REMOTE_ADDR="10.0.5.1",
    )
    assert response.status_code == 302
    assert stays_here(response["Location"])


@pytest.mark.parametrize("target", OFFSITE)
def test_a_logged_in_user_sent_to_the_login_page_stays_on_this_site(as_role, emulator, target):
    COUNTS["hostile"] += 1
    response = as_role("Reviewer").get("/login/", {"next": target})
    assert response.status_code == 302
    assert stays_here(response["Location"])


def test_next_evil_example_sends_you_home(client, rita):
    response = client.post(
        "/login/", {"username": "rita", "password": PASSWORD, "next": "//evil.example"}
    )
    assert response["Location"] == "/"


def test_a_local_next_is_honoured(client, rita):
    response = client.post(
        "/login/", {"username": "rita", "password": PASSWORD, "next": "/audit/?user=x"}
    )
    assert response["Location"] == "/audit/?user=x"


def test_the_next_field_cannot_break_out_of_the_login_form(client):
    html = client.get("/login/", {"next": '"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)" not in html
    assert "&quot;&gt;&lt;script&gt;" in html
