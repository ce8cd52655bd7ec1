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
