"""Bulk actions on the list: set status, assign, and delete one by one with backoff."""

import pytest

from conversations.models import AuditRecord, Review, ReviewChange

pytestmark = pytest.mark.django_db


def test_setting_the_status_of_a_selection_records_each_change(as_role, emulator):
    ids = emulator.conversation_ids()[:3]
    response = as_role("Reviewer").post(
        "/bulk/",
        {"ids": ids, "action": "status", "status": "passed"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert all(f'id="review-{cid}" hx-swap-oob="true"' in html for cid in ids)
    assert set(Review.objects.values_list("conversation_id", "status")) == {
        (cid, "passed") for cid in ids
    }
    assert ReviewChange.objects.count() == 3


def test_assigning_needs_a_lead(as_role, emulator, make_user):
    make_user("Reviewer", username="rita")
    ids = emulator.conversation_ids()[:2]
    reviewer = as_role("Reviewer")
    response = reviewer.post("/bulk/", {"ids": ids, "action": "assign", "assignee": "rita"})
    assert response.status_code == 403
    assert not Review.objects.exists()


def test_a_lead_assigns_a_selection(as_role, emulator, make_user):
    make_user("Reviewer", username="rita")
    ids = emulator.conversation_ids()[:2]
    response = as_role("Lead").post("/bulk/", {"ids": ids, "action": "assign", "assignee": "rita"})
    assert response.status_code == 302
    assert {r.assignee.username for r in Review.objects.all()} == {"rita"}


def test_an_empty_or_hostile_selection_is_refused(as_role, emulator):
    reviewer = as_role("Reviewer")
    response = reviewer.post(
        "/bulk/",
        {"ids": ["..", "a/b"], "action": "status", "status": "passed"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert "Select at least one" in response.content.decode()
    assert not Review.objects.exists()


def test_bulk_delete_asks_for_confirmation_listing_the_selection(as_role, emulator):
    ids = emulator.conversation_ids()[:3]
    response = as_role("Admin").post(
        "/bulk/", {"ids": ids, "action": "delete"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "Delete 3 conversations permanently?" in html
    assert all(cid in html for cid in ids)
    assert emulator.calls == []
    assert all(cid in emulator.conversation_ids() for cid in ids)


def test_bulk_delete_of_one_item_answers_json_for_the_script(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post(
        "/bulk/delete",
        {"ids": [conversation_id], "reason": "pci"},
        headers={"Accept": "application/json"},
    )
    assert response.json()["results"] == [
        {
            "id": conversation_id,
            "outcome": "deleted",
            "message": f"Conversation {conversation_id} was deleted permanently.",
            "rate_limited": False,
            "retry_after": None,
        }
    ]
    assert AuditRecord.objects.get().reason == "pci"


def test_a_rate_limited_item_tells_the_script_to_wait(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("delete", "429", retry_after=1)
    response = as_role("Admin").post(
        "/bulk/delete", {"ids": [conversation_id]}, headers={"Accept": "application/json"}
    )
    result = response.json()["results"][0]
    assert (result["outcome"], result["rate_limited"], result["retry_after"]) == ("failed", True, 1)
    assert conversation_id in emulator.conversation_ids()


def test_without_javascript_bulk_delete_backs_off_on_429_and_reports_each_item(as_role, emulator):
    ids = emulator.conversation_ids()[:3]
    # Three 429s in a row exhaust the client's own retries for the first item once.
    emulator.set_fault("delete", "429", retry_after=0, times=3)
    response = as_role("Admin").post("/bulk/delete", {"ids": ids, "reason": "sweep"})
    html = response.content.decode()
    assert html.count('class="badge deleted"') == 3
    assert not any(cid in emulator.conversation_ids() for cid in ids)
    outcomes = list(AuditRecord.objects.order_by("id").values_list("conversation_id", "outcome"))
    assert [o for o in outcomes if o[1] == "deleted"] == [(cid, "deleted") for cid in ids]
    assert (ids[0], "failed") in outcomes


def test_bulk_delete_reports_failures_and_offers_to_retry_them(as_role, emulator):
    ids = emulator.conversation_ids()[:3]
    emulator.set_fault("delete", "500", times=1)
    html = as_role("Admin").post("/bulk/delete", {"ids": ids}).content.decode()
    assert html.count('class="badge failed"') == 1
    assert html.count('class="badge deleted"') == 2
    assert f'<input type="hidden" name="ids" value="{ids[0]}">' in html
    assert ids[0] in emulator.conversation_ids()
    assert not AuditRecord.objects.filter(conversation_id=ids[0], outcome="deleted").exists()


def test_a_repeated_bulk_delete_deletes_nothing_twice(as_role, emulator):
    ids = emulator.conversation_ids()[:2]
    admin = as_role("Admin")
    admin.post("/bulk/delete", {"ids": ids})
    admin.post("/bulk/delete", {"ids": ids})
    assert AuditRecord.objects.filter(outcome="deleted").count() == 2
    assert [c.endpoint for c in emulator.calls].count("delete") == 2


@pytest.mark.parametrize("role", ["Reviewer", "Lead"])
def test_bulk_delete_without_permission_is_refused_and_recorded(as_role, emulator, role):
    ids = emulator.conversation_ids()[:2]
    response = as_role(role).post("/bulk/delete", {"ids": ids})
    assert response.status_code == 403
    assert emulator.calls == []
    assert AuditRecord.objects.filter(outcome="denied").count() == 2
