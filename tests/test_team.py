"""The team page: who may reach it, adding a user with a password shown once, changing a role,
deactivating and reactivating, a new password, and the guard rails around them."""

import logging
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from conversations.models import Review
from tests.helpers import PASSWORD, text_of

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def admin(make_user, client):
    """An admin (the role, not a superuser), logged in with the test client."""
    user = make_user("Admin", username="adele")
    client.force_login(user)
    return user


@pytest.fixture
def superuser(make_user):
    user = make_user(None, username="root")
    user.is_superuser = True
    user.is_staff = True
    user.save()
    return user


def roles_of(user):
    return set(user.groups.values_list("name", flat=True))


def add(client, username="rita", role="Reviewer", **fields):
    return client.post("/team/add", {"username": username, "role": role, **fields})


def shown_password(response):
    """The one-time password on the page that answered a POST."""
    html = response.content.decode()
    start = html.index('id="one-time-password"')
    value = html.index('value="', start) + len('value="')
    return html[value : html.index('"', value)]


def row_of(html, user):
    """The markup of the user's row in the team table."""
    return html[html.index(f'id="member-{user.pk}"') :].split("</tr>")[0]


def log_in(username, password):
    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    return client if response.status_code == 302 else None


# Who may use it --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Reviewer", "Lead", None])
def test_the_team_page_and_its_changes_are_refused_to_everyone_but_admins(make_user, role):
    client = Client()
    client.force_login(make_user(role))
    other = make_user("Reviewer", username="other")
    assert client.get("/team/").status_code == 403
    assert add(client).status_code == 403
    for action in ("role", "deactivate", "reactivate", "password"):
        response = client.post(f"/team/{other.pk}/{action}", {"role": "Admin"})
        assert response.status_code == 403, action
    assert not User.objects.filter(username="rita").exists()
    other.refresh_from_db()
    assert other.is_active
    assert roles_of(other) == {"Reviewer"}


def test_the_team_page_sends_someone_logged_out_to_log_in(client):
    response = client.get("/team/")
    assert response.status_code in (302, 403)
    assert client.post("/team/add", {"username": "x", "role": "Admin"}).status_code in (302, 403)
    assert not User.objects.filter(username="x").exists()


def test_an_admin_and_a_superuser_reach_the_team_page(admin, client, superuser):
    assert client.get("/team/").status_code == 200
    client.force_login(superuser)
    assert client.get("/team/").status_code == 200


def test_the_admin_role_carries_manage_team_after_the_migrations():
    codenames = Group.objects.get(name="Admin").permissions.values_list("codename", flat=True)
    assert "manage_team" in codenames
    lead = Group.objects.get(name="Lead").permissions.values_list("codename", flat=True)
    assert "manage_team" not in lead


def test_changes_are_post_only(admin, client, make_user):
    other = make_user("Reviewer", username="other")
    assert client.get("/team/add").status_code == 405
    for action in ("role", "deactivate", "reactivate", "password"):
        assert client.get(f"/team/{other.pk}/{action}").status_code == 405, action


def test_changes_need_the_csrf_token(admin, make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    other = make_user("Reviewer", username="other")
    assert add(client).status_code == 403
    assert client.post(f"/team/{other.pk}/deactivate").status_code == 403
    assert not User.objects.filter(username="rita").exists()
    other.refresh_from_db()
    assert other.is_active


# The list --------------------------------------------------------------------------------------


def test_the_team_page_lists_each_user_with_role_last_login_status_and_how_they_sign_in(
    admin, client, make_user
):
    lead = make_user("Lead", username="lena")
    lead.first_name, lead.last_name, lead.email = "Lena", "Berg", "lena@example.com"
    lead.last_login = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    lead.save()
    sso = make_user("Reviewer", username="sam")
    sso.set_unusable_password()
    sso.is_active = False
    sso.save()
    html = client.get("/team/").content.decode()
    lena = text_of(row_of(html, lead))
    sam = text_of(row_of(html, sso))
    assert "Lena Berg" in lena
    assert "lena@example.com" in lena
    assert "2026-11-30" in lena
    assert "Active" in lena
    assert "Password" in lena
    assert '<option value="Lead" selected>' in row_of(html, lead)
    assert "never" in sam
    assert "deactivated" in sam
    assert "Single sign-on" in sam
    assert "Reactivate" in sam


def test_the_team_page_escapes_what_users_typed(admin, client, make_user):
    user = make_user("Reviewer", username="eve")
    user.first_name = "<script>alert(1)</script>"
    user.save()
    html = client.get("/team/").content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_the_nav_links_the_team_page_for_admins_and_the_django_admin_for_superusers_only(
    admin, client, superuser, make_user
):
    html = client.get("/team/").content.decode()
    assert 'href="/team/"' in html
    assert ">Team</a>" in html
    assert "Django admin" not in html
    client.force_login(superuser)
    html = client.get("/team/").content.decode()
    assert 'href="/team/"' in html
    assert "Django admin" in html
    client.force_login(make_user("Lead"))
    html = client.get("/scorecards/").content.decode()
    assert 'href="/team/"' not in html
    assert "Django admin" not in html


# Adding a user ---------------------------------------------------------------------------------


def test_an_admin_adds_a_user_with_a_role_and_sees_a_password_that_logs_them_in(admin, client):
    response = add(client, "rita", "Lead", first_name="Rita", email="rita@example.com")
    assert response.status_code == 200
    password = shown_password(response)
    assert len(password) >= 16
    rita = User.objects.get(username="rita")
    assert roles_of(rita) == {"Lead"}
    assert rita.is_active
    assert rita.first_name == "Rita"
    assert rita.email == "rita@example.com"
    assert rita.password != password
    assert rita.check_password(password)
    assert log_in("rita", password) is not None


def test_the_password_is_shown_once_and_not_kept_in_any_cache(admin, client):
    response = add(client)
    password = shown_password(response)
    assert "no-store" in response["Cache-Control"]
    assert password not in client.get("/team/").content.decode()


def test_each_new_user_gets_a_different_password(admin, client):
    assert shown_password(add(client, "rita")) != shown_password(add(client, "ruth"))


def test_the_password_never_reaches_the_log(admin, client, caplog):
    with caplog.at_level(logging.INFO, logger="conversations.team"):
        password = shown_password(add(client))
        new = shown_password(client.post(f"/team/{User.objects.get(username='rita').pk}/password"))
    assert "adele added rita as Reviewer" in caplog.text
    assert "adele set a new password for rita" in caplog.text
    assert password not in caplog.text
    assert new not in caplog.text


@pytest.mark.parametrize("username", ["rita", "RITA", "Rita"])
def test_a_duplicate_username_is_a_clear_form_error(admin, client, make_user, username):
    make_user("Reviewer", username="rita")
    response = add(client, username)
    assert response.status_code == 400
    assert "already a user called" in response.content.decode()
    assert "one-time-password" not in response.content.decode()
    assert User.objects.filter(username__iexact="rita").count() == 1


@pytest.mark.parametrize(
    "username", ["", "has space", "a/b", "semi;colon", "nul\x00byte", "x" * 151, "<b>x</b>"]
)
def test_a_bad_username_is_a_form_error_never_a_500(admin, client, username):
    before = User.objects.count()
    response = add(client, username)
    assert response.status_code == 400
    assert "The user was not added" in response.content.decode()
    assert User.objects.count() == before


@pytest.mark.parametrize("role", ["", "Owner", "admin", "Admin\x00"])
def test_a_role_that_does_not_exist_is_a_form_error(admin, client, role):
    response = add(client, "rita", role)
    assert response.status_code == 400
    assert not User.objects.filter(username="rita").exists()


def test_a_bad_email_is_a_form_error(admin, client):
    response = add(client, email="not an address")
    assert response.status_code == 400
    assert "Email" in response.content.decode()


# Changing a role -------------------------------------------------------------------------------


def test_an_admin_changes_a_role_and_the_user_has_exactly_that_one(admin, client, make_user):
    user = make_user("Reviewer", username="rita")
    user.groups.add(Group.objects.get(name="Lead"))  # two roles, given in the admin site
    response = client.post(f"/team/{user.pk}/role", {"role": "Admin"})
    assert response.status_code == 302
    assert roles_of(user) == {"Admin"}
    client.post(f"/team/{user.pk}/role", {"role": "Reviewer"})
    assert roles_of(user) == {"Reviewer"}


def test_a_role_change_keeps_groups_that_are_not_roles(admin, client, make_user):
    user = make_user("Reviewer", username="rita")
    user.groups.add(Group.objects.create(name="Night shift"))
    client.post(f"/team/{user.pk}/role", {"role": "Lead"})
    assert roles_of(user) == {"Lead", "Night shift"}


@pytest.mark.parametrize("role", ["", "Owner", "superuser"])
def test_a_role_that_does_not_exist_changes_nothing(admin, client, make_user, role):
    user = make_user("Reviewer", username="rita")
    response = client.post(f"/team/{user.pk}/role", {"role": role})
    assert response.status_code == 400
    assert roles_of(user) == {"Reviewer"}


def test_changing_someone_who_does_not_exist_is_a_404(admin, client):
    for action in ("role", "deactivate", "reactivate", "password"):
        assert client.post(f"/team/999999/{action}", {"role": "Lead"}).status_code == 404


# Deactivating ----------------------------------------------------------------------------------


def test_a_deactivated_user_cannot_log_in_and_their_session_ends(admin, client, make_user):
    user = make_user("Reviewer", username="rita")
    their_session = Client()
    their_session.force_login(user)
    assert their_session.get("/queues/").status_code == 200
    Review.objects.create(conversation_id="conv_1", status="passed", assignee=user)
    assert client.post(f"/team/{user.pk}/deactivate").status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    assert log_in("rita", PASSWORD) is None
    response = their_session.get("/queues/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    # Their reviews stay.
    assert Review.objects.filter(conversation_id="conv_1", assignee=user).exists()


def test_a_reactivated_user_logs_in_again(admin, client, make_user):
    user = make_user("Reviewer", username="rita")
    client.post(f"/team/{user.pk}/deactivate")
    assert client.post(f"/team/{user.pk}/reactivate").status_code == 302
    user.refresh_from_db()
    assert user.is_active
    assert log_in("rita", PASSWORD) is not None


# A new password --------------------------------------------------------------------------------


def test_a_new_password_replaces_the_old_one(admin, client, make_user):
    make_user("Reviewer", username="rita")
    rita = User.objects.get(username="rita")
    response = client.post(f"/team/{rita.pk}/password")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = shown_password(response)
    assert log_in("rita", PASSWORD) is None
    assert log_in("rita", password) is not None


def test_an_admin_who_sets_their_own_new_password_stays_logged_in(admin, client):
    password = shown_password(client.post(f"/team/{admin.pk}/password"))
    assert client.get("/team/").status_code == 200
    assert log_in("adele", password) is not None


# Guard rails -----------------------------------------------------------------------------------


def test_an_admin_cannot_deactivate_themselves(admin, client):
    response = client.post(f"/team/{admin.pk}/deactivate")
    assert response.status_code == 403
    assert "cannot deactivate yourself" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active


@pytest.mark.parametrize("role", ["Reviewer", "Lead"])
def test_an_admin_cannot_take_away_their_own_admin_role(admin, client, role):
    response = client.post(f"/team/{admin.pk}/role", {"role": role})
    assert response.status_code == 403
    assert "own Admin role" in response.content.decode()
    assert roles_of(admin) == {"Admin"}


def test_the_page_offers_an_admin_no_way_to_lock_themselves_out(admin, client):
    html = client.get("/team/").content.decode()
    row = row_of(html, admin)
    assert "/deactivate" not in row
    assert "/role" not in row


def test_an_admin_who_is_not_a_superuser_cannot_change_a_superuser(admin, client, superuser):
    superuser.groups.add(Group.objects.get(name="Reviewer"))
    for action in ("role", "deactivate", "password"):
        response = client.post(f"/team/{superuser.pk}/{action}", {"role": "Lead"})
        assert response.status_code == 403, action
    superuser.refresh_from_db()
    assert superuser.is_active
    assert superuser.check_password(PASSWORD)
    assert roles_of(superuser) == {"Reviewer"}
    row = row_of(client.get("/team/").content.decode(), superuser)
    assert "<form" not in row


def test_an_admin_who_is_not_a_superuser_cannot_change_a_staff_account(admin, client, make_user):
    # A staff account may hold the admin site's user permissions: a new password for it, set by
    # an admin, would let that admin make themselves a superuser there.
    staff = make_user("Reviewer", username="helpdesk")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="change_user"))
    for action in ("role", "deactivate", "password"):
        response = client.post(f"/team/{staff.pk}/{action}", {"role": "Lead"})
        assert response.status_code == 403, action
    staff.refresh_from_db()
    assert staff.is_active
    assert staff.check_password(PASSWORD)
    assert roles_of(staff) == {"Reviewer"}
    row = row_of(client.get("/team/").content.decode(), staff)
    assert "<form" not in row
    assert "staff" in row


def test_a_superuser_can_change_another_superuser_and_an_admin(client, superuser, make_user):
    other = make_user(None, username="root2")
    other.is_superuser = True
    other.save()
    admin = make_user("Admin", username="adele")
    client.force_login(superuser)
    assert client.post(f"/team/{other.pk}/deactivate").status_code == 302
    assert client.post(f"/team/{admin.pk}/role", {"role": "Lead"}).status_code == 302
    other.refresh_from_db()
    assert not other.is_active
    assert roles_of(admin) == {"Lead"}


def test_a_superuser_cannot_deactivate_themselves(client, superuser):
    client.force_login(superuser)
    assert client.post(f"/team/{superuser.pk}/deactivate").status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_active


# Single sign-on --------------------------------------------------------------------------------


def test_an_account_that_signs_in_with_single_sign_on_is_given_no_password(
    admin, client, make_user
):
    user = make_user("Reviewer", username="sam")
    user.set_unusable_password()
    user.save()
    assert "/password" not in row_of(client.get("/team/").content.decode(), user)
    response = client.post(f"/team/{user.pk}/password")
    assert response.status_code == 403
    assert "single sign-on" in response.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_with_passwords_turned_off_nobody_is_added_or_given_a_password(
    admin, client, make_user, settings
):
    settings.LOCAL_LOGIN = False
    user = make_user("Reviewer", username="rita")
    html = client.get("/team/").content.decode()
    assert "Passwords are turned off" in html
    assert "/team/add" not in html
    assert "/password" not in html
    assert add(client, "ruth").status_code == 400
    assert not User.objects.filter(username="ruth").exists()
    assert client.post(f"/team/{user.pk}/password").status_code == 403
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
