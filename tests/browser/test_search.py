"""Search in a real browser: a hit opens its conversation at the turn it matched."""

import re

import pytest
from playwright.sync_api import expect

from conversations import client, index, search
from tests.browser.test_review import wait_until
from tests.helpers import first_with_audio

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
INDEXED = 40


def index_newest(emulator, count):
    """The newest conversations, read through the client and stored as the worker would."""
    for conversation_id in emulator.conversation_ids()[:count]:
        index.store(client.get_conversation(conversation_id))


def a_turn_to_find(conversation):
    """A timed turn past the first few, whose text no earlier turn holds: (position, turn)."""
    seen = set()
    for position, turn in enumerate(conversation.transcript):
        folded = search.fold(turn.text)
        fresh = not any(folded in earlier for earlier in seen)
        if position >= 3 and turn.offset and '"' not in turn.text and fresh:
            return position, turn
        seen.add(folded)
    raise AssertionError(f"{conversation.id} has no turn to search for")


def test_a_reviewer_clicks_a_search_hit_and_lands_on_the_turn(
    login, live_server, emulator, screenshot
):
    index_newest(emulator, INDEXED)
    conversation = client.get_conversation(first_with_audio(emulator))
    index.store(conversation)
    position, turn = a_turn_to_find(conversation)
    page = login("Reviewer")

    page.get_by_label("Search").fill(f'"{turn.text}"')
    page.get_by_label("Search").press("Enter")
    hit = page.locator(f"#row-{conversation.id} a.hit")
    expect(hit).to_be_visible()
    expect(hit.locator("mark")).to_have_count(1)
    hit.click()

    page.wait_for_url(re.compile(rf"/conversations/{conversation.id}/\?q=.+#t=[0-9.]+$"))
    marked = page.locator("#turns .turn.hit")
    expect(marked).to_have_count(1)
    expect(marked.locator(".text")).to_have_text(turn.text)
    expect(marked).to_be_in_viewport()
    assert "hit" in page.locator("#turns .turn").nth(position).get_attribute("class").split()
    wait_until(
        page, f"Math.abs(document.getElementById('player').currentTime - {turn.offset}) < 0.01"
    )

    # The link is one to share: opened afresh, it lands on the same turn.
    page.goto(page.url)
    expect(page.locator("#turns .turn.hit .text")).to_have_text(turn.text)


def test_a_search_in_another_script_finds_its_calls(login, live_server, emulator, screenshot):
    index_newest(emulator, INDEXED)
    page = login("Reviewer")
    # (No Chinese here: the test machine's Chromium has no font for it, and this page is
    # the README's screenshot; tests/test_search.py searches every script.)
    page.get_by_label("Search").fill("refund OR Rückerstattung")
    page.get_by_label("Search").press("Enter")
    hits = page.locator("a.hit mark")
    expect(hits.first).to_be_visible()
    screenshot(page, "search")
    shown = {text.casefold() for text in hits.all_inner_texts()}
    assert shown <= {"refund", "rückerstattung"}
