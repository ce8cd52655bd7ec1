"""Login, logout, the first administrator, and the demo banner."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

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
    }
    assert perms("Admin") == {
        "view_conversation",
        "review_conversation",
        "assign_conversation",
        "export_conversations",
        "view_auditrecord",
        "delete_conversation",
        "create_agent_session",
    }


def fail_logins(client, username, address, times=5):
    for _ in range(times):
        client.post(
            "/login/",
            {"username": username, "password": "wrong"},
            headers={"X-Forwarded-For": address},
            REMOTE_ADDR="10.0.0.2",
        )


def test_behind_a_proxy_one_clients_failures_do_not_lock_out_another(client, make_user, settings):
    settings.TRUSTED_PROXIES = 1
    make_user("Reviewer", username="rita")
    fail_logins(client, "mallory", "198.51.100.7")
    response = client.post(
        "/login/",
        {"username": "rita", "password": "a-long-pass-phrase"},
        headers={"X-Forwarded-For": "203.0.113.9"},
        REMOTE_ADDR="10.0.0.2",
    )
    assert response.status_code == 302


def test_behind_a_proxy_a_forged_forwarded_entry_does_not_escape_the_lockout(
    client, make_user, settings
):
    settings.TRUSTED_PROXIES = 1
    make_user("Reviewer", username="rita")
    fail_logins(client, "mallory", "203.0.113.66")
    # The client wrote its own entry first; the proxy appended the real address last.
    response = client.post(
        "/login/",
        {"username": "rita", "password": "a-long-pass-phrase"},
        headers={"X-Forwarded-For": "192.0.2.1, 203.0.113.66"},
        REMOTE_ADDR="10.0.0.2",
    )
    assert response.status_code == 429
