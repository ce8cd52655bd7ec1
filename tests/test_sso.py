"""Single sign-on: its settings, the role mapping, the login page, and sign-ins through a real
OpenID Connect provider (tests/oidc/provider.mjs), its pages driven over HTTP."""

import re
import subprocess
import sys
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import requests
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from conversations import sso
from conversations.roles import ROLES
from tests.helpers import PASSWORD, ROOT, import_settings
from tests.oidc.provider import CLIENT_ID, free_port, point_settings_at, running_provider

DASHBOARD = "http://testserver"
SSO_ENV = {
    "OIDC_CLIENT_ID": "review",
    "OIDC_CLIENT_SECRET": "secret",
    "OIDC_ISSUER": "https://login.example.com/realms/qa",
    "OIDC_ROLE_MAP": "qa-admins=Admin,qa=Reviewer",
}


@pytest.fixture(scope="module")
def issuer():
    with running_provider(DASHBOARD) as url:
        yield url


@pytest.fixture
def provider(issuer, settings, make_user):
    """The dashboard pointed at the provider; make_user has created the roles."""
    point_settings_at(settings, issuer)
    return issuer


def sign_in(client, username, start_url="/oidc/authenticate/"):
    """Start at the dashboard, log in on the provider's page, and bring its answer back."""
    start = client.get(start_url)
    browser = requests.Session()
    page = browser.get(start["Location"], timeout=5)
    action = re.search(r'action="([^"]+)"', page.text).group(1)
    answer = browser.post(
        urljoin(page.url, action),
        data={"prompt": "login", "login": username, "password": "anything"},
        allow_redirects=False,
        timeout=5,
    )
    while not answer.headers["Location"].startswith(DASHBOARD):
        answer = browser.get(
            urljoin(answer.url, answer.headers["Location"]), allow_redirects=False, timeout=5
        )
    return client.get(answer.headers["Location"].removeprefix(DASHBOARD))


def roles_of(username):
    user = get_user_model().objects.get(username=username)
    return sorted(group.name for group in user.groups.all())


# Settings


def settings_value(expression, **env):
    result = subprocess.run(
        [sys.executable, "-c", f"import dashboard.settings as s; print({expression})"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "s" * 50, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_sso_is_off_without_a_client_id_and_the_login_page_is_as_before(client, db):
    body = client.get("/login/").content.decode()
    assert "Sign in with" not in body
    assert 'name="password"' in body
    assert client.get("/oidc/authenticate/").status_code == 404


def test_a_complete_sso_configuration_starts():
    assert import_settings(**SSO_ENV).returncode == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OIDC_ROLE_MAP", "qa=Boss"),
        ("OIDC_ROLE_MAP", "qa"),
        ("OIDC_ROLE_MAP", ""),
        ("OIDC_ISSUER", ""),
        ("OIDC_ISSUER", "ftp://login.example.com"),
        ("OIDC_ISSUER", "https://login.example.com/?realm=qa"),
        ("OIDC_CLIENT_SECRET", ""),
        ("OIDC_SCOPES", "profile email"),
        ("LOCAL_LOGIN", "maybe"),
    ],
)
def test_a_bad_sso_value_stops_start_up_naming_the_variable(name, value):
    result = import_settings(**{**SSO_ENV, name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_turning_passwords_off_without_sso_stops_start_up():
    result = import_settings(LOCAL_LOGIN="off")
    assert result.returncode != 0
    assert "LOCAL_LOGIN=off needs single sign-on" in result.stderr


@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_can_be_mapped(role):
    assert import_settings(**{**SSO_ENV, "OIDC_ROLE_MAP": f"some group={role}"}).returncode == 0


def test_the_role_map_is_read_into_groups_and_roles():
    mapping = settings_value("s.OIDC_ROLE_MAP", **SSO_ENV)
    assert mapping == "{'qa-admins': 'Admin', 'qa': 'Reviewer'}"


def test_the_logout_redirect_to_the_provider_is_allowed_as_a_form_action():
    directive = settings_value('s.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]', **SSO_ENV)
    assert "'https://login.example.com'" in directive
    assert "login.example.com" not in settings_value(
        's.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]'
    )


# The role mapping


def test_the_highest_mapped_role_wins(settings):
    settings.OIDC_ROLE_MAP = {"qa-admins": "Admin", "qa-leads": "Lead", "qa": "Reviewer"}
    assert sso.role_for_groups(["qa", "qa-admins", "qa-leads"]) == "Admin"
    assert sso.role_for_groups(["qa", "qa-leads"]) == "Lead"
    assert sso.role_for_groups(["staff", "qa"]) == "Reviewer"


def test_groups_that_map_to_nothing_give_no_role(settings):
    settings.OIDC_ROLE_MAP = {"qa": "Reviewer"}
    assert sso.role_for_groups(["QA", "sales", "qa-admins"]) is None
    assert sso.role_for_groups([]) is None


def test_the_groups_claim_is_the_one_the_setting_names_and_may_be_one_string(settings):
    settings.OIDC_GROUPS_CLAIM = "roles"
    assert sso.groups_from_claims({"roles": "qa", "groups": ["qa-admins"]}) == ["qa"]
    assert sso.groups_from_claims({"roles": ["qa", 7, None]}) == ["qa"]
    assert sso.groups_from_claims({"groups": ["qa"]}) == []


@pytest.mark.parametrize(
    "claims",
    [
        {"groups": ["qa"]},
        {"preferred_username": "", "groups": ["qa"]},
        {"preferred_username": ["ana"], "groups": ["qa"]},
        {"preferred_username": "<b>ana</b>", "groups": ["qa"]},
        {"preferred_username": "a" * 151, "groups": ["qa"]},
    ],
)
def test_a_missing_or_unusable_user_name_is_refused(settings, claims):
    settings.OIDC_ROLE_MAP = {"qa": "Reviewer"}
    with pytest.raises(sso.SignInRefused):
        sso.SSOBackend().verify_claims(claims)


# The login page


def test_with_sso_on_the_login_page_offers_the_provider_and_the_password_form(client, settings, db):
    point_settings_at(settings, "https://login.example.com")
    body = client.get("/login/?next=/audit/").content.decode()
    assert 'href="/oidc/authenticate/?next=/audit/"' in body
    assert "Sign in with Test SSO" in body
    assert 'name="password"' in body


def test_with_passwords_off_the_login_page_has_no_password_form(client, settings, db):
    point_settings_at(settings, "https://login.example.com", LOCAL_LOGIN=False)
    body = client.get("/login/").content.decode()
    assert "Sign in with Test SSO" in body
    assert 'name="password"' not in body


def test_with_passwords_off_a_right_password_is_refused(client, settings, make_user):
    point_settings_at(settings, "https://login.example.com", LOCAL_LOGIN=False)
    make_user("Admin", username="rita")
    response = client.post("/login/", {"username": "rita", "password": PASSWORD})
    assert response.status_code == 403
    assert "Passwords are turned off" in response.content.decode()
    assert client.get("/").status_code == 302


def test_with_passwords_off_the_admin_site_refuses_a_password_too(
    client, settings, django_user_model, db
):
    point_settings_at(settings, "https://login.example.com", LOCAL_LOGIN=False)
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_with_sso_on_passwords_still_log_in_and_wrong_ones_still_count(client, settings, make_user):
    point_settings_at(settings, "https://login.example.com")
    make_user("Reviewer", username="rita")
    client.post("/login/", {"username": "rita", "password": "wrong"})
    assert AccessAttempt.objects.get(username="rita").failures_since_start == 1
    response = client.post("/login/", {"username": "rita", "password": PASSWORD})
    assert response.status_code == 302


def test_a_provider_that_does_not_answer_gives_a_sentence_not_an_error(client, settings, db):
    point_settings_at(settings, f"http://127.0.0.1:{free_port()}")
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 503
    assert "Test SSO cannot be reached" in response.content.decode()


def test_an_answer_to_no_sign_in_started_here_gives_a_sentence(client, provider):
    response = client.get("/oidc/callback/?code=abc&state=forged")
    assert response.status_code in (400, 403)
    assert "Sign in again" in response.content.decode()


def test_a_sign_in_cancelled_at_the_provider_says_so(client, provider):
    response = client.get("/oidc/callback/?error=access_denied&state=x")
    assert response.status_code == 403
    assert "Test SSO did not sign you in" in response.content.decode()


# Sign-ins through the provider


def test_a_first_sign_in_creates_the_user_with_its_role_and_no_password(client, provider):
    response = sign_in(client, "ana")
    assert response.status_code == 302
    assert response["Location"] == "/"
    ana = get_user_model().objects.get(username="ana")
    assert roles_of("ana") == ["Admin"]
    assert not ana.has_usable_password()
    assert client.get("/audit/").status_code == 200


def test_the_role_follows_the_groups_on_every_sign_in(client, provider, django_user_model):
    ben = django_user_model.objects.create_user("ben", password=None)
    ben.groups.add(Group.objects.get(name="Admin"), Group.objects.get(name="Lead"))
    sign_in(client, "ben")
    assert roles_of("ben") == ["Reviewer"]
    assert client.get("/audit/").status_code == 403


def test_a_person_in_no_mapped_group_is_refused_and_no_account_is_made(client, provider):
    response = sign_in(client, "cy")
    assert response.status_code == 403
    assert "in no group that has a role" in response.content.decode()
    assert not get_user_model().objects.filter(username="cy").exists()
    assert "_auth_user_id" not in client.session


def test_a_refused_sign_in_is_not_counted_as_a_failed_password(client, provider):
    for _ in range(6):
        sign_in(client, "cy")
    assert not AccessAttempt.objects.exists()


def test_a_local_account_of_the_same_name_is_not_taken_over(client, provider, make_user):
    make_user("Reviewer", username="ana")
    response = sign_in(client, "ana")
    assert response.status_code == 403
    assert "A local account named ana already exists" in response.content.decode()
    assert roles_of("ana") == ["Reviewer"]


def test_a_local_account_whose_name_differs_only_in_case_is_not_taken_over_or_copied(
    client, provider, make_user
):
    make_user("Reviewer", username="Ana")
    response = sign_in(client, "ana")
    assert response.status_code == 403
    assert "A local account named Ana already exists" in response.content.decode()
    assert not get_user_model().objects.filter(username="ana").exists()


def test_a_single_sign_on_account_is_found_whatever_the_case_of_its_name(
    client, provider, django_user_model
):
    django_user_model.objects.create_user("Ben", password=None)
    assert sign_in(client, "ben").status_code == 302
    assert list(django_user_model.objects.values_list("username", flat=True)) == ["Ben"]
    assert roles_of("Ben") == ["Reviewer"]


def test_two_single_sign_on_accounts_whose_names_differ_only_in_case_are_not_guessed_between(
    client, provider, django_user_model
):
    django_user_model.objects.create_user("Ben", password=None)
    django_user_model.objects.create_user("BEN", password=None)
    response = sign_in(client, "ben")
    assert response.status_code == 403
    assert "Several accounts are named ben" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_a_sign_in_never_ends_on_another_site(client, provider, target):
    response = sign_in(client, "ana", start_url=f"/oidc/authenticate/?next={quote(target)}")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_sign_in_ends_where_it_was_asked_for(client, provider):
    response = sign_in(client, "ana", start_url="/oidc/authenticate/?next=/audit/%3Fpage%3D2")
    assert response["Location"] == "/audit/?page=2"


def test_a_deactivated_account_is_refused(client, provider, django_user_model):
    django_user_model.objects.create_user("ana", password=None, is_active=False)
    response = sign_in(client, "ana")
    assert response.status_code == 403
    assert "deactivated" in response.content.decode()


def test_logging_out_of_a_provider_session_ends_it_at_the_provider(client, provider):
    sign_in(client, "ana")
    response = client.post("/logout/")
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider}/session/end"
    assert query["post_logout_redirect_uri"] == [f"{DASHBOARD}/login/"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["id_token_hint"]
    assert client.get("/").status_code == 302


def test_logging_out_of_a_password_session_stays_here(client, provider, make_user):
    client.force_login(make_user("Reviewer"))
    response = client.post("/logout/")
    assert response["Location"] == "/login/"


def test_logging_out_after_the_session_expired_goes_to_the_login_page_not_through_it(client):
    # Behind the login page, "Log out" on a stale page would send the person to log in only to
    # land on a "method not allowed" answer to the logout's GET.
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"


# The provider's `sub`, not the name it gives, says whose account it is


def test_a_person_renamed_here_keeps_their_account_at_the_next_sign_in(
    client, provider, django_user_model
):
    sign_in(client, "ana")
    django_user_model.objects.filter(username="ana").update(username="ana.lopez")
    client.logout()
    assert sign_in(client, "ana").status_code == 302
    assert list(django_user_model.objects.values_list("username", flat=True)) == ["ana.lopez"]
    assert client.get("/audit/").status_code == 200


def test_taking_the_name_of_an_account_another_provider_account_holds_is_refused(
    client, provider, django_user_model
):
    from conversations.models import SignOn

    ben = django_user_model.objects.create_user("ben", password=None)
    ben.groups.add(Group.objects.get(name="Admin"))
    SignOn.objects.create(user=ben, issuer=provider, subject="the-first-ben")
    response = sign_in(client, "ben")
    assert response.status_code == 403
    assert "belongs to another" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert roles_of("ben") == ["Admin"]


def test_an_account_made_before_subjects_were_kept_is_linked_at_its_next_sign_in(
    client, provider, django_user_model
):
    from conversations.models import SignOn

    django_user_model.objects.create_user("ben", password=None)
    assert sign_in(client, "ben").status_code == 302
    link = SignOn.objects.get(user__username="ben")
    assert (link.issuer, link.subject) == (provider, "ben")


@pytest.mark.parametrize(
    ("claim", "value"),
    [("iss", "https://elsewhere.example"), ("aud", "another-client"), ("sub", "")],
)
def test_an_id_token_from_another_issuer_for_another_client_or_of_nobody_is_refused(
    settings, monkeypatch, claim, value
):
    from django.core.exceptions import SuspiciousOperation
    from mozilla_django_oidc.auth import OIDCAuthenticationBackend

    settings.OIDC_ISSUER = "https://id.example"
    settings.OIDC_RP_CLIENT_ID = "dashboard"
    payload = {"iss": "https://id.example", "aud": ["dashboard"], "sub": "s1"} | {claim: value}
    # Below our seam: the library's own checks (signature, expiry, nonce) have passed.
    monkeypatch.setattr(OIDCAuthenticationBackend, "verify_token", lambda self, token, **k: payload)
    backend = sso.SSOBackend()
    with pytest.raises(SuspiciousOperation):
        backend.verify_token("token")
    payload[claim] = {"iss": "https://id.example", "aud": "dashboard", "sub": "s1"}[claim]
    assert backend.verify_token("token")["sub"] == "s1"


def test_a_userinfo_answer_about_someone_else_is_refused(settings, monkeypatch):
    from mozilla_django_oidc.auth import OIDCAuthenticationBackend

    monkeypatch.setattr(
        OIDCAuthenticationBackend,
        "get_userinfo",
        lambda self, access, id_token, payload: {"sub": "someone-else"},
    )
    with pytest.raises(sso.SignInRefused):
        sso.SSOBackend().get_userinfo("access", "id", {"sub": "s1"})
