"""Login, logout, the first administrator, and the demo banner."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from conversations.login import client_address

pytestmark = pytest.mark.django_db


def test_the_login_page_logs_a_user_in(client, make_user, emulator):
    make_user("Reviewer", username="rita")
    response = client.post("/login/", {"username": "rita", "password": "a-long-pass-phrase"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused(client, make_user):
    make_user("Reviewer", username="rita")
    response = client.post("/login/", {"username": "rita", "password": "wrong"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_logout_is_a_post_and_ends_the_session(as_role, emulator):
    reviewer = as_role("Reviewer")
    assert reviewer.get("/logout/").status_code == 405
    reviewer.post("/logout/")
    assert reviewer.get("/").status_code == 302


def test_ensure_admin_creates_one_superuser_with_a_generated_password(capsys):
    call_command("ensure_admin")
    first = capsys.readouterr().out
    call_command("ensure_admin")
    second = capsys.readouterr().out
    password = first.split("admin / ")[1].split()[0]
    user = get_user_model().objects.get()
    assert user.is_superuser
    assert user.check_password(password)
    assert len(password) >= 16
    assert password not in second


def test_the_demo_banner_shows_when_pointed_at_the_emulator(as_role, emulator, settings):
    settings.XUNA_DEMO = True
    html = as_role("Reviewer").get("/").content.decode()
    assert "Demo workspace: data from the built-in emulator" in html


def test_there_is_no_demo_banner_for_a_real_workspace(as_role, emulator, settings):
    settings.XUNA_DEMO = False
    assert "Demo workspace" not in as_role("Reviewer").get("/").content.decode()


def test_the_roles_exist_with_their_permissions():
    from django.contrib.auth.models import Group

    def perms(name):
        return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))

    assert perms("Reviewer") == {"view_conversation", "review_conversation"}
    assert perms("Lead") == {
        "view_conversation",
        "review_conversation",
        "assign_conversation",
        "export_conversations",
        "view_auditrecord",
        "view_analytics",
        "manage_quality",
    }
    assert perms("Admin") == {
        "view_conversation",
        "review_conversation",
        "assign_conversation",
        "export_conversations",
        "view_auditrecord",
        "delete_conversation",
        "create_agent_session",
        "view_analytics",
        "manage_quality",
        "manage_team",
    }


def log_in_behind_proxy(client, username, password, forwarded):
    """A login through the proxy at 10.0.0.2, which sent on this X-Forwarded-For."""
    return client.post(
        "/login/",
        {"username": username, "password": password},
        headers={"X-Forwarded-For": forwarded},
        REMOTE_ADDR="10.0.0.2",
    )


def fail_logins(client, username, address, times=5):
    for _ in range(times):
        log_in_behind_proxy(client, username, "wrong", address)


def test_behind_a_proxy_one_clients_failures_do_not_lock_out_another(client, make_user, settings):
    settings.TRUSTED_PROXIES = 1
    make_user("Reviewer", username="rita")
    fail_logins(client, "mallory", "198.51.100.7")
    response = log_in_behind_proxy(client, "rita", "a-long-pass-phrase", "203.0.113.9")
    assert response.status_code == 302


def test_behind_a_proxy_a_forged_forwarded_entry_does_not_escape_the_lockout(
    client, make_user, settings
):
    settings.TRUSTED_PROXIES = 1
    make_user("Reviewer", username="rita")
    fail_logins(client, "mallory", "203.0.113.66")
    # The client wrote its own entry first; the proxy appended the real address last.
    response = log_in_behind_proxy(client, "rita", "a-long-pass-phrase", "192.0.2.1, 203.0.113.66")
    assert response.status_code == 429
    # The lockout is the client's, not the proxy's: another client behind it still gets in.
    response = log_in_behind_proxy(client, "rita", "a-long-pass-phrase", "203.0.113.9")
    assert response.status_code == 302


def log_in_from(client, username, password, address):
    """A login from this address, logged out again after it, as before someone's next try."""
    response = client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )
    client.logout()
    return response


def test_logging_in_to_ones_own_account_between_guesses_does_not_escape_the_lockout(
    client, make_user
):
    make_user("Admin", username="admin1")
    make_user("Reviewer", username="ivan")
    for _ in range(3):
        for _ in range(4):
            log_in_from(client, "admin1", "wrong", "10.0.7.1")
        log_in_from(client, "ivan", "a-long-pass-phrase", "10.0.7.1")
    # admin1 is locked out wherever they log in from; so is the insider's address.
    assert log_in_from(client, "admin1", "a-long-pass-phrase", "10.0.7.2").status_code == 429
    assert log_in_from(client, "ivan", "a-long-pass-phrase", "10.0.7.1").status_code == 429


def test_a_login_forgets_that_accounts_own_failures_from_that_address(client, make_user):
    make_user("Reviewer", username="rita")
    for _ in range(2):
        for _ in range(4):
            log_in_from(client, "rita", "wrong", "10.0.8.1")
        assert log_in_from(client, "rita", "a-long-pass-phrase", "10.0.8.1").status_code == 302
    assert not AccessAttempt.objects.filter(username="rita").exists()


def test_a_login_keeps_that_accounts_failures_from_other_addresses(client, make_user):
    make_user("Reviewer", username="rita")
    for _ in range(4):
        log_in_from(client, "rita", "wrong", "198.51.100.7")
    log_in_from(client, "rita", "a-long-pass-phrase", "10.0.8.1")
    assert AccessAttempt.objects.get(username="rita").ip_address == "198.51.100.7"


def test_behind_a_proxy_a_forwarded_entry_that_is_not_an_address_is_counted_as_the_proxy(
    client, make_user, settings
):
    settings.TRUSTED_PROXIES = 1
    make_user("Reviewer", username="rita")
    response = log_in_behind_proxy(client, "rita", "wrong", "not-an-ip")
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert AccessAttempt.objects.get().ip_address == "10.0.0.2"


@pytest.mark.parametrize(
    ("forwarded", "address"),
    [
        ("not-an-ip", "10.0.0.2"),
        ("203.0.113.9, 999.1.1.1", "10.0.0.2"),
        ("fe80::1%eth0", "10.0.0.2"),
        ("2001:0db8:0:0::1", "2001:db8::1"),
        ("192.0.2.1, 203.0.113.9", "203.0.113.9"),
    ],
)
def test_the_client_address_is_an_ip_address_or_the_proxys(settings, forwarded, address):
    settings.TRUSTED_PROXIES = 1
    request = RequestFactory().post(
        "/login/", headers={"X-Forwarded-For": forwarded}, REMOTE_ADDR="10.0.0.2"
    )
    assert client_address(request) == address
