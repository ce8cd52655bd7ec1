"""Sessions end after an idle time, after an absolute time, at logout and at a password change."""

import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

pytestmark = pytest.mark.django_db

MINUTE, HOUR = 60, 3600


@pytest.fixture
def reviewer(as_role, emulator):
    """A logged-in reviewer who has just loaded a page (which starts the session's clocks)."""
    user = as_role("Reviewer")
    assert user.get("/").status_code == 200
    return user


def age(client, *, started=0, seen=0):
    """Move the session's login and last-request times `started` and `seen` seconds back."""
    session = client.session
    now = int(time.time())
    session["started_at"] = now - started
    session["seen_at"] = now - seen
    session.save()


def is_sent_to_login(response, path="/"):
    return response.status_code == 302 and response["Location"] == f"/login/?next={path}"


def test_a_session_idle_for_longer_than_the_limit_ends(reviewer, settings):
    old_key = reviewer.session.session_key
    age(reviewer, started=31 * MINUTE, seen=settings.SESSION_IDLE_MINUTES * MINUTE + 1)
    assert is_sent_to_login(reviewer.get("/"))
    assert not Session.objects.filter(session_key=old_key).exists()
    assert is_sent_to_login(reviewer.get("/"))


def test_a_session_used_within_the_idle_limit_goes_on(reviewer, settings):
    age(reviewer, started=HOUR, seen=settings.SESSION_IDLE_MINUTES * MINUTE - 30)
    assert reviewer.get("/").status_code == 200


def test_the_idle_limit_is_configurable(reviewer, settings):
    settings.SESSION_IDLE_MINUTES = 5
    age(reviewer, started=6 * MINUTE, seen=6 * MINUTE)
    assert is_sent_to_login(reviewer.get("/"))


def test_an_active_session_still_ends_at_the_absolute_limit(reviewer, settings):
    age(reviewer, started=settings.SESSION_MAX_HOURS * HOUR + 1, seen=10)
    assert is_sent_to_login(reviewer.get("/audit/"), "/audit/")


def test_the_absolute_limit_is_configurable(reviewer, settings):
    settings.SESSION_MAX_HOURS = 1
    age(reviewer, started=HOUR + 1, seen=10)
    assert is_sent_to_login(reviewer.get("/"))


def test_the_session_cookie_lives_no_longer_than_the_absolute_limit(client, make_user, settings):
    make_user("Reviewer", username="rita")
    response = client.post("/login/", {"username": "rita", "password": "a-long-pass-phrase"})
    assert response.cookies["sessionid"]["max-age"] <= settings.SESSION_MAX_HOURS * HOUR


def test_logout_ends_the_session_on_the_server_not_only_in_the_browser(reviewer):
    stolen_cookie = reviewer.cookies["sessionid"].value
    reviewer.post("/logout/")
    thief = Client()
    thief.cookies["sessionid"] = stolen_cookie
    assert is_sent_to_login(thief.get("/"))


def test_a_password_changed_by_an_administrator_ends_the_users_sessions(
    reviewer, admin_client, django_user_model
):
    user = django_user_model.objects.get(username="reviewer-user")
    response = admin_client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": "a-brand-new-pass-phrase", "password2": "a-brand-new-pass-phrase"},
    )
    assert response.status_code == 302
    assert is_sent_to_login(reviewer.get("/"))


def test_changing_ones_own_password_ends_ones_other_sessions(admin_user, client):
    here, elsewhere = Client(), Client()
    here.force_login(admin_user)
    elsewhere.force_login(admin_user)
    response = here.post(
        "/admin/password_change/",
        {
            "old_password": "password",
            "new_password1": "a-brand-new-pass-phrase",
            "new_password2": "a-brand-new-pass-phrase",
        },
    )
    assert response.status_code == 302
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302


def htmx_get(client, path, current_url="http://testserver/?status=flagged"):
    return client.get(path, headers={"HX-Request": "true", "HX-Current-URL": current_url})


def test_an_htmx_request_without_a_session_sends_the_whole_page_to_login(client, emulator):
    response = htmx_get(client, "/?cursor=abc")
    # Not a redirect htmx would follow and swap into the list: the browser leaves the page,
    # and comes back to the page it was on after login.
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/%3Fstatus%3Dflagged"
    assert b"password" not in response.content


def test_an_htmx_request_on_an_idle_session_sends_the_whole_page_to_login(reviewer, settings):
    age(reviewer, started=31 * MINUTE, seen=settings.SESSION_IDLE_MINUTES * MINUTE + 1)
    response = htmx_get(reviewer, "/conversations/conv_1/", "http://testserver/audit/")
    assert response["HX-Redirect"] == "/login/?next=/audit/"


def test_an_htmx_login_redirect_never_leads_to_another_site(client, emulator):
    response = htmx_get(client, "/audit/", "https://elsewhere.example/phish")
    assert response["HX-Redirect"] == "/login/?next=/audit/"


def test_a_page_request_without_a_session_is_still_a_plain_redirect(client, emulator):
    assert is_sent_to_login(client.get("/"))
