"""A long call by keyboard and on a screen: the player first, the transcript one tab stop that
arrow keys move within, a side panel that scrolls on its own, and times that are not buttons
when there is nothing to play."""

import time

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED_TURN = "document.activeElement.closest('#turns .turn')"


def long_call(emulator):
    return next(
        cid for cid in emulator.conversation_ids() if len(emulator.raw(cid)["transcript"]) >= 1000
    )


def call_without_recording(emulator):
    return next(
        cid
        for cid in emulator.conversation_ids()
        if not emulator.raw(cid).get("audio") and len(emulator.raw(cid)["transcript"]) > 3
    )


def open_call(page, live_server, conversation_id):
    page.goto(f"{live_server.url}/conversations/{conversation_id}/")
    expect(page.locator("#turns .turn").first).to_have_attribute("tabindex", "0")


def focused(page, expression):
    return page.evaluate(f"() => {{ const e = document.activeElement; return {expression}; }}")


def tab_until(page, expression, limit):
    """Press Tab until `expression` (about `e`, the focused element) is true; the presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if focused(page, expression):
            return presses
    raise AssertionError(f"{expression} not reached in {limit} presses")


def focused_turn_index(page):
    return page.evaluate(
        f"() => Array.from(document.querySelectorAll('#turns .turn')).indexOf({FOCUSED_TURN})"
    )


def wait_until(page, expression, timeout=10.0):
    # The page's CSP forbids the eval that wait_for_function uses.
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


# What may come before the player: the site's header and the call's own heading (its id,
# agent and actions), which differ by role; nothing of the side panel or the transcript.
ABOVE_THE_PLAYER = ".skip, header.top, nav.crumbs, .list-place, .queue-bar, .conversation-head"


@pytest.mark.parametrize("role", ["Reviewer", "Lead", "Admin"])
def test_the_player_then_the_review_panel_come_first_in_tab_order(
    login, live_server, emulator, role
):
    page = login(role)
    open_call(page, live_server, long_call(emulator))

    presses = tab_until(page, f"e.id === 'player' || !e.closest('{ABOVE_THE_PLAYER}')", 40)
    assert focused(page, "e.id") == "player"
    if role == "Reviewer":
        assert presses < 15
    # The review panel before any turn: nothing of the transcript was passed on the way.
    tab_until(page, "e.closest('#review-panel, #turns')", 40)
    assert focused(page, "Boolean(e.closest('#review-panel'))")


def test_from_the_player_the_transcript_is_reached_and_arrow_keys_move_between_turns(
    login, live_server, emulator
):
    page = login("Reviewer")
    open_call(page, live_server, long_call(emulator))
    page.locator("#player").focus()

    tab_until(page, "e.matches('#turns .turn')", 80)
    assert focused_turn_index(page) == 0
    page.keyboard.press("ArrowDown")
    assert focused_turn_index(page) == 1
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert focused_turn_index(page) == 1
    page.keyboard.press("End")
    assert focused_turn_index(page) == 1199
    page.keyboard.press("Home")
    assert focused_turn_index(page) == 0
    # A roving tab stop: only the active turn is in the tab order.
    page.keyboard.press("ArrowDown")
    expect(page.locator('#turns .turn[tabindex="0"]')).to_have_count(1)
    expect(page.locator("#turns .turn").nth(1)).to_have_attribute("tabindex", "0")
    expect(page.locator("#turns .turn").nth(0)).to_have_attribute("tabindex", "-1")
    # j/k still move between turns, and the focus goes along.
    page.keyboard.press("j")
    assert focused_turn_index(page) == 2


def test_the_whole_long_transcript_is_one_tab_stop(login, live_server, emulator):
    page = login("Reviewer")
    open_call(page, live_server, long_call(emulator))
    turns = page.locator("#turns .turn")
    turns.nth(5).click()
    assert focused_turn_index(page) == 5
    # The turn's own controls (here "Comment on this turn"), then out of the transcript.
    own = turns.nth(5).locator("a, button, summary").count()

    for _ in range(own):
        page.keyboard.press("Tab")
        assert focused(
            page, "e.closest('#turns .turn') === document.querySelectorAll('#turns .turn')[5]"
        )
    page.keyboard.press("Tab")
    assert not focused(page, "e.closest('#turns')")
    # And back with Shift+Tab: the same turn, not the last of 1,200.
    for _ in range(own + 1):
        page.keyboard.press("Shift+Tab")
    assert focused_turn_index(page) == 5


def test_enter_on_a_turn_plays_the_call_from_it(login, live_server, emulator):
    page = login("Reviewer")
    open_call(page, live_server, long_call(emulator))
    turn = page.locator("#turns .turn").nth(40)
    at = float(turn.get_attribute("data-at"))
    turn.focus()

    page.keyboard.press("Enter")
    wait_until(page, f"Math.abs(document.getElementById('player').currentTime - {at}) < 1.5")


def test_the_side_panel_scrolls_on_its_own_and_its_contents_reach_collected_data(
    login, live_server, emulator
):
    page = login("Reviewer")
    open_call(page, live_server, long_call(emulator))
    side = page.locator("aside.side")

    assert side.evaluate("e => getComputedStyle(e).overflowY") == "auto"
    assert side.evaluate("e => e.getBoundingClientRect().height") <= 900
    page.get_by_role("navigation", name="Sections of this call").get_by_role(
        "link", name="Collected data"
    ).click()
    expect(page.locator("#collected-data h2")).to_be_in_viewport()
    # The page itself did not scroll through the transcript to get there.
    assert page.evaluate("() => window.scrollY") < 2000


def test_times_are_plain_text_when_the_call_has_no_recording(login, live_server, emulator):
    page = login("Reviewer")
    open_call(page, live_server, call_without_recording(emulator))

    expect(page.locator("#turns button")).to_have_count(0)
    time_shown = page.locator("#turns .turn .at").first
    assert time_shown.evaluate("e => e.tagName") == "SPAN"
    assert time_shown.evaluate("e => getComputedStyle(e).cursor") != "pointer"
    assert time_shown.evaluate("e => getComputedStyle(e).textDecorationLine") == "none"


def test_times_become_plain_text_when_the_recording_cannot_be_loaded(login, live_server, emulator):
    conversation_id = next(
        cid for cid in emulator.conversation_ids() if emulator.raw(cid).get("audio")
    )
    emulator.set_fault("audio", "503")
    page = login("Reviewer")
    open_call(page, live_server, conversation_id)

    expect(page.locator("#turns button[data-seek]")).to_have_count(0)
    timed = page.locator("#turns .turn[data-at]").count()
    expect(page.locator("#turns .turn[data-at] > span.at")).to_have_count(timed)


def test_a_tool_call_opens_to_show_its_arguments_and_result(login, live_server, emulator):
    conversation_id = emulator.add_conversation(
        {
            "transcript": [
                {"speaker": "user", "text": "Where is my order?", "timestamp": 1},
                {
                    "speaker": "agent",
                    "text": "Let me check.",
                    "timestamp": 4,
                    "interrupted": True,
                    "tool_calls": [{"tool_name": "lookup_order", "arguments": {"order_id": "A-1"}}],
                    "tool_results": [{"tool_name": "lookup_order", "result_value": "shipped"}],
                },
            ]
        }
    )
    page = login("Reviewer")
    open_call(page, live_server, conversation_id)
    turn = page.locator("#turns .turn").nth(1)
    expect(turn.get_by_text("interrupted", exact=True)).to_be_visible()
    arguments = turn.locator(".tool-call pre").first
    expect(arguments).to_be_hidden()

    turn.get_by_text("lookup_order").click()
    expect(arguments).to_be_visible()
    expect(arguments).to_contain_text('"order_id": "A-1"')


def test_space_on_a_tool_call_opens_it_and_does_not_play_the_call(login, live_server, emulator):
    # The page's Space (play/pause) must leave a focused tool call's own Space alone.
    conversation_id = next(
        cid
        for cid in emulator.conversation_ids()
        if emulator.raw(cid).get("audio")
        and emulator.raw(cid).get("has_audio") is not False
        and any(turn.get("tool_calls") for turn in emulator.raw(cid)["transcript"])
    )
    page = login("Reviewer")
    open_call(page, live_server, conversation_id)
    tool_call = page.locator("#turns .tool-call").first
    tool_call.locator("summary").focus()

    page.keyboard.press(" ")
    expect(tool_call).to_have_attribute("open", "")
    assert page.evaluate("() => document.getElementById('player').paused")
