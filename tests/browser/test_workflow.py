"""The QA workflow in a real browser: review with the keyboard, bulk delete with a failure."""

import pytest
from playwright.sync_api import expect

from conversations.models import AuditRecord, Review

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


def test_an_admin_bulk_deletes_and_the_failed_item_stays_selected(login, emulator):
    ids = emulator.conversation_ids()[:3]
    page = login("Admin")
    for conversation_id in ids:
        page.locator(f"#row-{conversation_id} input[name=ids]").check()
    expect(page.locator("#bulk .selected-count")).to_have_text("3 selected")
    page.get_by_role("button", name="Delete…").click()
    dialog = page.locator("dialog#bulk-delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete 3 conversations permanently?")

    emulator.set_fault("delete", "500", times=1)
    dialog.get_by_label("Reason").fill("customer asked")
    dialog.get_by_role("button", name="Delete 3 permanently").dblclick()
    expect(dialog.locator(".bulk-summary")).to_contain_text("2 deleted, 0 already gone, 1 failed.")

    failed = ids[0]
    expect(page.locator(f"#row-{failed} input[name=ids]")).to_be_checked()
    for conversation_id in ids[1:]:
        expect(page.locator(f"#row-{conversation_id}")).to_have_count(0)
    assert emulator.conversation_ids()[0] == failed
    assert AuditRecord.objects.filter(outcome="deleted").count() == 2
    assert AuditRecord.objects.filter(outcome="failed", conversation_id=failed).count() == 1
