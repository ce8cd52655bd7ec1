"""The roles' permissions, read by RoleBackend with the same answers as Django's ModelBackend."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from conversations.roles import ROLES, RoleBackend

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as a new request sees it: no permissions cached on the object."""
    return type(user).objects.get(pk=user.pk)


@pytest.mark.parametrize("role", [*ROLES, None])
def test_each_role_has_exactly_its_permissions_as_model_backend_reads_them(make_user, role):
    user = make_user(role)
    expected = {f"conversations.{codename}" for codename in ROLES.get(role, [])}
    assert RoleBackend().get_all_permissions(fresh(user)) == expected
    assert ModelBackend().get_all_permissions(fresh(user)) == expected


def test_a_permission_given_to_a_user_directly_counts_with_their_roles(make_user):
    user = make_user("Reviewer")
    user.user_permissions.add(Permission.objects.get(codename="export_conversations"))
    permissions = RoleBackend().get_all_permissions(fresh(user))
    assert permissions == ModelBackend().get_all_permissions(fresh(user))
    assert "conversations.export_conversations" in permissions
    assert "conversations.review_conversation" in permissions


def test_a_role_taken_away_applies_to_the_next_request(make_user, client, emulator):
    user = make_user("Admin")
    client.force_login(user)
    assert client.get("/audit/").status_code == 200
    user.groups.clear()
    assert client.get("/audit/").status_code == 403
    assert client.get("/").status_code == 403


def test_inactive_users_and_superusers_get_what_model_backend_gives(make_user):
    inactive = make_user("Admin", username="gone")
    inactive.is_active = False
    inactive.save()
    assert RoleBackend().get_all_permissions(fresh(inactive)) == set()
    boss = make_user(None, username="boss")
    boss.is_superuser = True
    boss.save()
    everything = ModelBackend().get_all_permissions(fresh(boss))
    assert RoleBackend().get_all_permissions(fresh(boss)) == everything
    assert "conversations.delete_conversation" in everything


def test_the_dashboard_uses_the_role_backend(settings):
    assert "conversations.roles.RoleBackend" in settings.AUTHENTICATION_BACKENDS
    assert "django.contrib.auth.backends.ModelBackend" not in settings.AUTHENTICATION_BACKENDS
