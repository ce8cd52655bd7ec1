"""The team page in a real browser: an admin adds a reviewer, who logs in with the password
shown once; the page on a phone."""

import pytest
from playwright.sync_api import expect

from tests.browser import axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Elements of the page's content that reach past the right edge, apart from the table's
# cells, which scroll inside their wrapper.
WIDER_THAN_THE_SCREEN = """() => Array.from(document.querySelectorAll('#main *'))
  .filter(e => !e.closest('.table-scroll table'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + '.' + e.className)"""


def test_an_admin_adds_a_reviewer_who_then_logs_in_with_the_shown_password(
    login, live_server, screenshot
):
    page = login("Admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page.locator("h1")).to_have_text("Team")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("First name").fill("Rita")
    page.get_by_label("Role", exact=True).select_option("Reviewer")
    page.get_by_role("button", name="Add user").click()
    box = page.locator(".one-time-password")
    expect(box).to_contain_text("rita was added as Reviewer.")
    password = page.get_by_label("Password for rita").input_value()
    assert len(password) >= 16
    expect(page.locator("tr", has_text="rita")).to_contain_text("never")
    assert axe.violations(page) == []
    screenshot(page, "team-added")
    page.get_by_role("button", name="Log out").click()

    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Team")).to_have_count(0)
    expect(page.locator(".who")).to_have_text("rita")


def test_the_team_page_fits_a_phone_without_scrolling_the_page_sideways(
    login, make_user, screenshot
):
    for number in range(4):
        make_user("Reviewer", username=f"reviewer-with-a-long-name-{number}@example.com")
    page = login("Admin")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.url + "team/")
    expect(page.locator("table.team-members tbody tr")).to_have_count(5)
    # The page's own content; the header's phone layout is the list's (tests of the layout).
    assert page.evaluate("() => document.getElementById('main').scrollWidth") <= 390
    assert page.evaluate(WIDER_THAN_THE_SCREEN) == []
    # The table scrolls inside its own wrapper instead.
    wrapper = page.locator(".team .table-scroll")
    assert wrapper.evaluate("el => el.scrollWidth > el.clientWidth")
    assert wrapper.evaluate("el => el.getBoundingClientRect().right") <= 390
    screenshot(page, "team-phone")
