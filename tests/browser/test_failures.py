"""Failures that say what happened, in a real browser: a recording that does not load, a
slow platform, an error with "Try again", a note left unsaved, the way back to a long list,
and the pages without JavaScript."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.axe import findings
from tests.helpers import PASSWORD, first_with_audio, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = "tbody#rows tr[id^=row-]"


def questions_on_leaving(page):
    """Follow the nav's "Conversations" link, answering "stay" to any question the page asks
    before it is left: the questions asked (within 3 s)."""
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Conversations").click()
    deadline = time.monotonic() + 3
    while not asked and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    return asked


def test_a_recording_that_fails_says_so_and_loads_on_try_again(login, live_server, emulator):
    page = login("Reviewer")
    conversation_id = first_with_audio(emulator)
    emulator.set_fault("audio", "503")
    page.goto(f"{live_server.url}/conversations/{conversation_id}/")
    message = page.locator("#player-error")
    expect(message).to_be_visible()
    expect(message).to_contain_text("The recording could not be loaded")
    expect(page.locator("body")).to_have_class(re.compile(r"\brecording-failed\b"))

    emulator.clear_faults()
    message.get_by_role("button", name="Try again").click()
    wait_until(page, "document.getElementById('player').readyState >= 1")
    expect(message).to_be_hidden()
    assert page.evaluate("() => document.getElementById('player').duration") > 0


def test_a_recording_that_failed_before_the_script_ran_says_so_too(login, live_server, emulator):
    page = login("Reviewer")
    conversation_id = first_with_audio(emulator)
    emulator.set_fault("audio", "503")

    def late(route):
        # The script arrives after the recording has failed (a slow network, a cold cache).
        time.sleep(1.5)
        route.continue_()

    page.route(re.compile(r"/static/app[.\w]*\.js$"), late)
    page.goto(f"{live_server.url}/conversations/{conversation_id}/")
    expect(page.locator("#player-error")).to_be_visible()
    expect(page.locator("#player-error")).to_contain_text("The recording could not be loaded")


def test_a_slow_load_more_says_it_is_still_waiting(login, emulator, settings):
    settings.XUNA_PAGE_SIZE = 10
    settings.XUNA_API_TIMEOUT = 6.0
    page = login("Reviewer")
    emulator.set_fault("list", "hang", seconds=4, times=1)
    page.get_by_role("link", name="Load more").click()
    waiting = page.get_by_role("status").filter(has_text="Still waiting for the platform")
    expect(waiting).to_be_visible(timeout=2_000)
    # Inside the page's landmarks, like everything else on it.
    assert findings(page, "the list while waiting") == ""
    expect(page.locator(ROWS)).to_have_count(20, timeout=8_000)
    expect(page.locator(".waiting")).to_be_hidden()


def test_a_slow_page_shows_that_it_is_loading(login, live_server, emulator, settings):
    settings.XUNA_API_TIMEOUT = 6.0
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/")
    # The agent's calls: a list not asked for yet, so the platform is asked.
    emulator.set_fault("list", "hang", seconds=2.5, times=1)
    # Playwright's locators wait for the next page: the page itself reports what it showed
    # 1.5 s after the click, while the platform still has not answered.
    shown = page.evaluate(
        """() => new Promise((resolve) => {
            document.querySelector("main a[href^='/?agent=']").click();
            setTimeout(() => {
                const waiting = document.querySelector(".waiting");
                resolve(waiting.hidden ? "" : waiting.textContent);
            }, 1500);
        })"""
    )
    assert shown == "Loading…"
    expect(page.locator(ROWS).first).to_be_visible(timeout=8_000)
    expect(page.locator(".waiting")).to_be_hidden()


def test_a_download_from_a_form_does_not_show_loading(login, live_server, emulator):
    page = login("Lead")
    page.goto(f"{live_server.url}/audit/")
    with page.expect_download():
        page.get_by_role("button", name="Download CSV").click()
    # Past the second after which a page still loading says so: the page stays as it was.
    page.wait_for_timeout(1_500)
    expect(page.locator(".waiting")).to_be_hidden()


def test_an_htmx_error_is_tried_again_in_its_place(login, emulator, settings):
    settings.XUNA_PAGE_SIZE = 10
    page = login("Reviewer")
    emulator.set_fault("list", "503")
    page.get_by_role("link", name="Load more").click()
    error = page.locator(".error-box")
    expect(error).to_contain_text("The platform is unavailable")
    emulator.clear_faults()
    error.get_by_role("button", name="Try again").click()
    expect(page.locator(ROWS)).to_have_count(20)
    expect(page.locator(".error-box")).to_have_count(0)


def test_an_error_page_tries_the_same_address_again(login, live_server, emulator):
    page = login("Reviewer")
    emulator.set_fault("list", "503")
    page.goto(f"{live_server.url}/?review=unreviewed")
    expect(page.get_by_role("heading", name="The platform is unavailable")).to_be_visible()
    emulator.clear_faults()
    page.get_by_role("link", name="Try again").click()
    page.wait_for_url(re.compile(r"/\?review=unreviewed$"))
    expect(page.locator(ROWS).first).to_be_visible()


def test_leaving_a_typed_comment_asks_first(login, live_server, emulator):
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/")
    page.get_by_label("Comment", exact=True).fill("The refund was promised at 1:20")
    asked = questions_on_leaving(page)
    assert asked == ["beforeunload"]
    # Dismissed: the page and the typed text stay.
    assert "/conversations/" in page.url
    expect(page.get_by_label("Comment", exact=True)).to_have_value(
        "The refund was promised at 1:20"
    )


def test_leaving_typed_tags_unsaved_asks_first(login, live_server, emulator):
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/")
    page.get_by_label("Tags").fill("refund, escalate")
    asked = questions_on_leaving(page)
    assert asked == ["beforeunload"]


def test_saving_typed_tags_and_going_on_to_the_next_call_asks_nothing(login, live_server, emulator):
    page = login("Reviewer")
    first = emulator.conversation_ids()[0]
    page.goto(f"{live_server.url}/conversations/{first}/")
    page.get_by_label("Tags").fill("refund, escalate")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.locator("#review-panel").get_by_role("button", name="Save and next").click()
    page.wait_for_url(lambda url: first not in url)
    assert asked == []


def test_staying_on_the_page_after_the_question_shows_no_loading(login, live_server, emulator):
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/")
    page.get_by_label("Comment", exact=True).fill("The refund was promised at 1:20")
    asked = questions_on_leaving(page)
    assert asked == ["beforeunload"]
    # Past the second after which a page still loading says so: nothing is loading.
    page.wait_for_timeout(1_500)
    expect(page.locator(".waiting")).to_be_hidden()


def test_a_sent_comment_leaves_without_asking(login, live_server, emulator):
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/")
    page.get_by_label("Comment", exact=True).fill("Checked, all fine")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comments")).to_contain_text("Checked, all fine")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Conversations").click()
    page.wait_for_url(f"{live_server.url}/")
    assert asked == []


def test_a_comment_typed_after_one_was_sent_still_asks_before_leaving(login, live_server, emulator):
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/")
    page.get_by_label("Comment", exact=True).fill("Checked, all fine")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comments")).to_contain_text("Checked, all fine")
    page.get_by_label("Comment", exact=True).fill("One more thing about 2:40")
    asked = questions_on_leaving(page)
    assert asked == ["beforeunload"]


def test_back_after_load_more_and_a_conversation_shows_every_row_again(login, emulator, settings):
    settings.XUNA_PAGE_SIZE = 10
    page = login("Reviewer")
    page.get_by_role("link", name="Load more").click()
    expect(page.locator(ROWS)).to_have_count(20)
    wait_until(page, "location.search.includes('shown=20')")
    shown = page.locator(ROWS).evaluate_all("rows => rows.map(r => r.id)")
    page.locator(ROWS).nth(15).locator("a.open").click()
    page.wait_for_url(re.compile(r"/conversations/"))
    page.go_back()
    expect(page.locator(ROWS)).to_have_count(20)
    assert page.locator(ROWS).evaluate_all("rows => rows.map(r => r.id)") == shown
    page.get_by_role("link", name="Load more").click()
    expect(page.locator(ROWS)).to_have_count(30)


@pytest.fixture
def no_script_page(browser, live_server, make_user, emulator):
    """A browser without JavaScript, logged in as the given role."""
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)

    def as_role(role):
        user = make_user(role)
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield as_role
    context.close()


def test_without_javascript_a_saved_review_says_so(no_script_page, live_server, emulator):
    page = no_script_page("Reviewer")
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/")
    page.get_by_label("Passed").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Review saved.")


def test_without_javascript_cancel_on_the_delete_page_goes_back_to_the_filtered_list(
    no_script_page, live_server, emulator
):
    page = no_script_page("Admin")
    page.goto(f"{live_server.url}/?review=unreviewed&sort=duration")
    page.locator(ROWS).first.get_by_role("link", name=re.compile("^Delete")).click()
    page.wait_for_url(re.compile(r"/delete"))
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"{live_server.url}/?review=unreviewed&sort=duration")


def test_a_reviewer_opening_a_delete_address_sees_the_dashboards_page(login, live_server, emulator):
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{emulator.conversation_ids()[0]}/delete")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("link", name="Conversation Review")).to_be_visible()
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    # Styled: the stylesheet applied (the header is a flex row).
    assert page.locator("header.top").evaluate("el => getComputedStyle(el).display") == "flex"
