"""A reviewer scores a call on a scorecard by keyboard alone, in a real browser."""

import pytest
from playwright.sync_api import expect

from conversations import scorecards
from conversations.models import Review, ReviewChange, Score
from conversations.models import ScorecardCriterion as Criterion
from conversations.scorecards import CriterionSpec, Definition

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def support_scorecard():
    criteria = [
        CriterionSpec("Greeting", weight=1),
        CriterionSpec("Identity verified", weight=2, auto_fail=True),
        CriterionSpec("Empathy", kind=Criterion.Kind.SCALE, weight=1),
    ]
    definition = Definition(name="Support QA", criteria=criteria, pass_mark=80)
    return scorecards.create_scorecard(user=None, definition=definition)


def focused_name(page):
    return page.evaluate("() => document.activeElement.name || document.activeElement.textContent")


def test_a_reviewer_scores_a_call_by_keyboard_and_saves_and_goes_to_the_next(
    login, live_server, emulator, screenshot
):
    version = support_scorecard()
    ids = emulator.conversation_ids()
    page = login("Reviewer")
    page.goto(f"{live_server.url}/conversations/{ids[0]}/")
    panel = page.locator("#scorecard-panel")
    total = panel.locator("output[data-score-total]")
    expect(total).to_have_text("–")

    # From the panel's key help, Tab reaches the first criterion.
    panel.locator(".key-help").click()
    page.keyboard.press("Tab")
    assert focused_name(page) == "crit-greeting"
    page.keyboard.press("f")  # Greeting: fail, and on to the next criterion
    assert focused_name(page) == "crit-identity-verified"
    expect(total).to_have_text("0 % · fail")
    page.keyboard.press("Shift+Tab")  # the greeting's note
    # The page's own keys (2: Flagged and save, n: save and next) are not the scorecard's.
    page.keyboard.press("2")
    page.keyboard.press("n")
    page.keyboard.press("Shift+Tab")  # back to the greeting, changed with an arrow
    assert focused_name(page) == "crit-greeting"
    page.keyboard.press("ArrowLeft")
    expect(panel.locator('input[name="crit-greeting"][value="pass"]')).to_be_checked()
    expect(total).to_have_text("100 % · pass")
    assert not ReviewChange.objects.exists()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the greeting's note
    assert focused_name(page) == "crit-identity-verified"

    page.keyboard.press("o")  # the criterion's note
    assert focused_name(page) == "note-identity-verified"
    page.keyboard.type("Asked for date of birth")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused_name(page) == "crit-identity-verified"
    page.keyboard.press("f")  # a breach: the total is 0 whatever else
    expect(total).to_have_text("0 % · fail (auto-fail)")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused_name(page) == "crit-identity-verified"
    page.keyboard.press("p")
    assert focused_name(page) == "crit-empathy"
    page.keyboard.press("4")  # (1 + 2 + 0.75) / 4
    expect(total).to_have_text("93.8 % · pass")
    screenshot(page, "scorecard")

    # The last pick moved on to the save buttons; "Save score and next" is the second.
    page.keyboard.press("Tab")
    assert focused_name(page).strip() == "next"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/conversations/{ids[1]}/")

    score = Score.objects.get()
    assert (score.conversation_id, score.version, score.total, score.current) == (
        ids[0],
        version,
        93.8,
        True,
    )
    answers = {a.criterion.key: (a.value, a.note) for a in score.answers.all()}
    assert answers == {
        "greeting": ("pass", ""),
        "identity-verified": ("pass", "Asked for date of birth"),
        "empathy": ("4", ""),
    }
    assert Review.objects.get(conversation_id=ids[0]).status == Review.Status.PASSED
