"""Single sign-on in a real Chromium, against a real OpenID Connect provider started here
(tests/oidc/provider.mjs): sign in through its pages, the role from its groups, logout at both
ends, a person in no mapped group refused, and passwords turned off."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.axe import findings
from tests.oidc.provider import point_settings_at, running_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(live_server, settings, make_user, emulator):
    """The provider running, the dashboard pointed at it; make_user has created the roles."""
    with running_provider(live_server.url) as issuer:
        point_settings_at(settings, issuer)
        yield issuer


@pytest.fixture
def policy_violations(page):
    found = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Sign in with Test SSO").click()
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()


def test_an_admin_signs_in_through_the_provider_and_gets_the_admin_role(
    page, live_server, provider
):
    sign_in(page, live_server, "ana")
    page.wait_for_url(f"{live_server.url}/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit log")).to_be_visible()
    expect(nav.get_by_role("link", name="Analytics")).to_be_visible()
    expect(page.locator(".who")).to_have_text("ana")
    ana = get_user_model().objects.get(username="ana")
    assert [group.name for group in ana.groups.all()] == ["Admin"]
    assert not ana.has_usable_password()
    assert ana.email == "ana@example.test"


def test_a_reviewer_signs_in_without_the_leads_and_admins_pages(page, live_server, provider):
    sign_in(page, live_server, "ben")
    page.wait_for_url(f"{live_server.url}/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Conversations")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    expect(nav.get_by_role("link", name="Analytics")).to_have_count(0)


def test_logging_out_ends_the_session_here_and_at_the_provider(
    page, live_server, provider, policy_violations
):
    sign_in(page, live_server, "ana")
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("button", name="Log out").click()
    # The provider's own page asks to confirm: it was reached, through the logout form's redirect.
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{live_server.url}/login/")
    assert policy_violations == []
    page.goto(f"{live_server.url}/")
    page.wait_for_url(f"{live_server.url}/login/?next=/")
    # Signing in again asks for credentials at the provider instead of passing straight through.
    page.get_by_role("link", name="Sign in with Test SSO").click()
    expect(page.locator("input[name=login]")).to_be_visible()
    assert page.url.startswith(provider)


def test_a_person_in_no_mapped_group_is_refused_with_a_page_that_says_why(
    page, live_server, provider
):
    sign_in(page, live_server, "cy")
    page.wait_for_url(f"{live_server.url}/oidc/callback/**")
    expect(page.get_by_role("alert")).to_contain_text("in no group that has a role")
    assert findings(page, "the refusal of a person in no mapped group") == ""
    assert not get_user_model().objects.filter(username="cy").exists()
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/login/")


def test_with_passwords_turned_off_the_login_page_offers_only_the_provider(
    page, live_server, provider, settings
):
    settings.LOCAL_LOGIN = False
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("link", name="Sign in with Test SSO")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)
    expect(page.get_by_role("button", name="Log in")).to_have_count(0)
    assert findings(page, "the login page with passwords turned off") == ""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_login_page_with_both_ways_in_is_accessible_and_fits(
    page, live_server, provider, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("link", name="Sign in with Test SSO")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    screenshot(page, f"sso-login-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert findings(page, f"the login page with single sign-on at {width} px") == ""
