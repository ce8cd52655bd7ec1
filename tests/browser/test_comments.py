"""Comments in a real browser: one about a turn, by keyboard, shown beside that turn, and a
click on it that takes the player there."""

import re

import pytest
from playwright.sync_api import expect

from conversations import client
from conversations.models import Comment
from tests.browser.test_review import wait_until
from tests.helpers import first_with_audio

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_later_turn(conversation):
    """A turn past the first seconds whose time no other turn shares: (its place, the turn)."""
    offsets = [turn.offset for turn in conversation.transcript]
    for number, turn in enumerate(conversation.transcript):
        if turn.offset and turn.offset > 5 and offsets.count(turn.offset) == 1:
            return number, turn
    raise AssertionError(f"{conversation.id} has no later turn")


def test_a_reviewer_comments_on_a_turn_sees_it_beside_the_turn_and_seeks_there(
    login, live_server, emulator, screenshot
):
    conversation = client.get_conversation(first_with_audio(emulator))
    number, turn = a_later_turn(conversation)
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{conversation.id}/")

    # By keyboard: the turn's own "Comment on this turn" picks it in the form.
    offer = (
        page.locator("#turns .turn").nth(number).get_by_role("link", name="Comment on this turn")
    )
    offer.focus()
    page.keyboard.press("Enter")
    form = page.locator("#comment-form")
    expect(form.get_by_label("About turn")).to_have_value(str(number))
    expect(form.get_by_label("Comment")).to_be_focused()
    page.keyboard.type("Promised a refund here")
    form.get_by_role("button", name="Add comment").focus()
    page.keyboard.press("Enter")

    beside = page.locator(f"#turn-comments-{number}")
    expect(beside).to_have_text(re.compile(r"reviewer-user\s+Promised a refund here"))
    comment = Comment.objects.get()
    assert (comment.turn, comment.body) == (number, "Promised a refund here")
    entry = page.locator(f"#comment-{comment.pk}")
    expect(entry).to_contain_text("Promised a refund here")
    screenshot(page, "comments")

    # The comment's turn link takes the player there and marks the turn.
    link = entry.locator("a.comment-turn")
    expect(link).to_have_text(
        f"at {int(turn.offset // 60)}:{int(turn.offset % 60):02d} (turn {number + 1})"
    )
    link.click()
    wait_until(
        page, f"Math.abs(document.getElementById('player').currentTime - {turn.offset}) < 1.5"
    )
    marked = page.locator("#turns .turn").nth(number)
    expect(marked).to_have_class(re.compile(r"\bhit\b"))

    # The comment beside the turn leads back to it in the thread.
    beside.get_by_role("link").click()
    expect(page).to_have_url(
        f"{live_server.url}/conversations/{conversation.id}/#comment-{comment.pk}"
    )
