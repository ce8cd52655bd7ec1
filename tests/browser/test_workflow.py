"""The QA workflow in a real browser: review with the keyboard, two people on one review.
A bulk deletion is followed in tests/browser/test_jobs.py."""

import pytest
from playwright.sync_api import expect

from conversations.models import Comment, Review
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_judges_with_the_keyboard_and_moves_to_the_next(login, live_server, emulator):
    ids = emulator.conversation_ids()
    Review.objects.create(conversation_id=ids[1], status="passed")
    page = login("Reviewer")
    page.goto(f"{live_server.url}/?review=unreviewed")
    page.locator(f"#row-{ids[0]} a").first.click()
    page.wait_for_url(f"{live_server.url}/conversations/{ids[0]}/?review=unreviewed")

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("2")
    expect(page.locator("#review-panel [role=status]")).to_have_text("Saved.")
    assert Review.objects.get(conversation_id=ids[0]).status == "flagged"
    expect(page.locator("#review-panel details.history")).to_contain_text("to “Flagged”")

    page.keyboard.press("n")
    page.wait_for_url(f"{live_server.url}/conversations/{ids[2]}/?review=unreviewed")
    expect(page.locator("#conversation-id")).to_have_text(ids[2])


@pytest.fixture
def open_as(browser, live_server):
    """A browser of its own for each person, signed in and on the given path."""
    contexts = []

    def open_page(user, path):
        contexts.append(browser.new_context(viewport={"width": 1280, "height": 900}))
        page = contexts[-1].new_page()
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}{path}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_two_people_on_one_review_never_erase_each_others_work(open_as, make_user, emulator):
    conversation_id = emulator.conversation_ids()[0]
    path = f"/conversations/{conversation_id}/"
    rita = make_user("Reviewer", username="rita")
    ann = open_as(rita, path)
    lee = open_as(make_user("Lead", username="lee"), path)

    # Rita flags it with a tag; Lee, on the page he already had, only assigns it.
    ann_panel, lee_panel = ann.locator("#review-panel"), lee.locator("#review-panel")
    ann_panel.get_by_label("Flagged").check()
    ann_panel.get_by_label("Tags").fill("refund")
    ann_panel.get_by_role("button", name="Save", exact=True).click()
    expect(ann_panel.locator("[role=status]")).to_have_text("Saved.")
    lee_panel.get_by_label("Assignee").select_option("rita")
    lee_panel.get_by_role("button", name="Save", exact=True).click()
    expect(lee_panel.locator("[role=status]")).to_have_text("Saved.")
    saved = Review.objects.get(conversation_id=conversation_id)
    assert (saved.status, saved.tags, saved.assignee) == ("flagged", ["refund"], rita)

    # Rita changes her tag; Lee, whose page still shows the old one, writes another.
    ann_panel.get_by_label("Tags").fill("escalated")
    ann_panel.get_by_role("button", name="Save", exact=True).click()
    expect(ann_panel.locator("[role=status]")).to_have_text("Saved.")
    lee_panel.get_by_label("Tags").fill("refund promised")
    lee_panel.get_by_role("button", name="Save", exact=True).click()
    alert = lee_panel.get_by_role("alert")
    expect(alert).to_contain_text("someone else changed this review")
    expect(alert).to_contain_text("Yours: refund promised")
    expect(alert).to_contain_text("Current: escalated")
    expect(lee_panel.get_by_label("Tags")).to_have_value("refund promised")
    assert Review.objects.get(conversation_id=conversation_id).tags == ["escalated"]

    # Having seen both, Lee saves his again.
    lee_panel.get_by_role("button", name="Save", exact=True).click()
    expect(lee_panel.locator("[role=status]")).to_have_text("Saved.")
    assert Review.objects.get(conversation_id=conversation_id).tags == ["refund promised"]

    # What each says goes to the thread, where neither can overwrite the other's.
    for page, body in ((ann, "Agent misquoted\nthe refund policy"), (lee, "Refund was promised")):
        page.locator("#comment-form").get_by_label("Comment").fill(body)
        page.get_by_role("button", name="Add comment").click()
        expect(page.locator("#comments .comment").last).to_contain_text(body.split("\n")[-1])
    assert list(Comment.objects.values_list("username", "body")) == [
        ("rita", "Agent misquoted\nthe refund policy"),
        ("lee", "Refund was promised"),
    ]
