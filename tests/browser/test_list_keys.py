"""Small things a team notices, in a real browser: j/k and Enter on the list, a row's link
named after its call, and the playback speed kept from one call to the next."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED_ROW = "() => document.activeElement.closest('#rows tr')?.id"


def test_j_and_k_move_between_the_rows_and_enter_opens_the_call(login, live_server, emulator):
    ids = emulator.conversation_ids()
    page = login("Reviewer")
    page.locator("h1").click()
    page.keyboard.press("j")
    assert page.evaluate(FOCUSED_ROW) == f"row-{ids[0]}"
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate(FOCUSED_ROW) == f"row-{ids[2]}"
    page.keyboard.press("k")
    assert page.evaluate(FOCUSED_ROW) == f"row-{ids[1]}"
    # The focused link is the row's start time, and it says which call it opens.
    focused = page.locator("#rows a.open:focus")
    expect(focused).to_have_accessible_name(re.compile(r"^Call with .+, \d{4}-\d\d-\d\d \d\d:\d\d"))
    assert focused.evaluate("a => a.matches(':focus-visible')")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/conversations/{ids[1]}/")


def test_k_stays_on_the_first_row_and_j_on_the_last(login, emulator, settings):
    settings.XUNA_PAGE_SIZE = 3
    ids = emulator.conversation_ids()
    page = login("Reviewer")
    page.locator("h1").click()
    page.keyboard.press("k")
    assert page.evaluate(FOCUSED_ROW) == f"row-{ids[0]}"
    for _ in range(5):
        page.keyboard.press("j")
    assert page.evaluate(FOCUSED_ROW) == f"row-{ids[2]}"


def test_j_moves_on_from_a_rows_checkbox(login, emulator):
    ids = emulator.conversation_ids()
    page = login("Lead")
    page.locator(f"#row-{ids[0]} input[name=ids]").focus()
    page.keyboard.press("Space")
    page.keyboard.press("j")
    assert page.evaluate(FOCUSED_ROW) == f"row-{ids[1]}"
    expect(page.locator("#rows a.open:focus")).to_have_count(1)


def test_typing_j_in_a_filter_does_not_move_between_rows(login):
    page = login("Reviewer")
    search = page.get_by_label("Search")
    search.click()
    page.keyboard.type("jk")
    expect(search).to_have_value("jk")
    expect(search).to_be_focused()


def test_the_agent_is_plain_text_and_the_start_time_links_to_the_call(login, emulator):
    ids = emulator.conversation_ids()
    page = login("Reviewer")
    row = page.locator(f"#row-{ids[0]}")
    links = row.get_by_role("link", name=re.compile("^Call with "))
    expect(links).to_have_count(1)
    expect(links).to_contain_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    agent = row.locator("td[data-label=Agent]")
    expect(agent.get_by_role("link")).to_have_count(0)


def test_after_choosing_an_agent_the_filter_shows_its_name(login, emulator):
    agent_id, name = emulator.agents[0]
    page = login("Reviewer")
    page.get_by_label("Agent").fill(name)
    page.get_by_role("button", name="Filter").first.click()
    page.wait_for_url(re.compile(r"[?&]agent="))
    expect(page.get_by_label("Agent")).to_have_value(name)
    shown = page.locator("tbody#rows tr[id^=row-]").evaluate_all("rows => rows.map(r => r.id)")
    assert shown
    assert set(shown) <= {f"row-{cid}" for cid in emulator.conversation_ids(agent_id)}


def test_the_playback_speed_chosen_on_one_call_applies_on_the_next(login, live_server, emulator):
    with_audio = [cid for cid in emulator.conversation_ids() if emulator.raw(cid).get("audio")]
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{with_audio[0]}/")
    player = page.locator("#player")
    expect(player).to_have_js_property("playbackRate", 1)
    page.get_by_label("Speed").select_option("1.5")
    expect(player).to_have_js_property("playbackRate", 1.5)

    page.goto(f"{live_server.url}/conversations/{with_audio[1]}/")
    expect(page.get_by_label("Speed")).to_have_value("1.5")
    # Once the recording has loaded too: loading resets the rate to the default one.
    expect(player).not_to_have_js_property("readyState", 0)
    expect(player).to_have_js_property("playbackRate", 1.5)
    expect(player).to_have_js_property("defaultPlaybackRate", 1.5)
    page.get_by_label("Speed").select_option("1")
    page.reload()
    expect(page.get_by_label("Speed")).to_have_value("1")
    expect(player).to_have_js_property("playbackRate", 1)
