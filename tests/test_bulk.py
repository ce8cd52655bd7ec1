"""Bulk actions on the list: set status and assign at once, confirm a deletion and start it as a
job (tests/test_jobs.py follows the job)."""

import time
from urllib.parse import urlencode

import pytest
from huey.contrib.djhuey import HUEY

from conversations.models import AuditRecord, BulkJob, Review, ReviewChange
from tests.helpers import element, text_of

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_setting_the_status_of_a_selection_records_each_change(as_role, emulator):
    ids = emulator.conversation_ids()[:3]
    response = as_role("Lead").post(
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
    assigned = {r.conversation_id: r.assignee.username for r in Review.objects.all()}
    assert assigned == dict.fromkeys(ids, "rita")


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
    assert text_of(element(html, "ol", class_="bulk-items")).split() == ids
    assert emulator.calls == []
    assert all(cid in emulator.conversation_ids() for cid in ids)


def test_without_javascript_the_confirmation_starts_a_job_and_goes_to_its_page(
    as_role, emulator, tasks_run_at_once
):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post("/bulk/delete", {"ids": [conversation_id], "reason": "pci"})
    job = BulkJob.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{job.pk}/")
    assert AuditRecord.objects.get(outcome="deleted").reason == "pci"
    assert conversation_id not in emulator.conversation_ids()


def test_a_rate_limited_bulk_delete_answers_at_once_and_its_job_waits_on_the_server(
    as_role, emulator, tasks_run_at_once
):
    ids = emulator.conversation_ids()[:3]
    emulator.set_fault("delete", "429", retry_after=10)
    started = time.monotonic()
    response = as_role("Admin").post("/bulk/delete", {"ids": ids, "reason": "sweep"})
    # Nobody waits in the request: the job waits, scheduled for when the platform asked.
    assert time.monotonic() - started < 2
    job = BulkJob.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.state == "waiting"
    assert len(HUEY.scheduled()) == 1
    assert [c.endpoint for c in emulator.calls].count("delete") == 1
    assert all(cid in emulator.conversation_ids() for cid in ids)


def test_a_repeated_bulk_delete_deletes_nothing_twice(as_role, emulator, tasks_run_at_once):
    ids = emulator.conversation_ids()[:2]
    admin = as_role("Admin")
    admin.post("/bulk/delete", {"ids": ids, "reason": "pci"})
    admin.post("/bulk/delete", {"ids": ids, "reason": "pci"})
    assert AuditRecord.objects.filter(outcome="deleted").count() == 2
    assert [c.endpoint for c in emulator.calls].count("delete") == 2


@pytest.mark.parametrize("role", ["Reviewer", "Lead"])
def test_bulk_delete_without_permission_is_refused_and_recorded_once(as_role, emulator, role):
    ids = emulator.conversation_ids()[:2]
    response = as_role(role).post("/bulk/delete", {"ids": ids, "reason": "pci"})
    assert response.status_code == 403
    assert emulator.calls == []
    [record] = AuditRecord.objects.all()
    assert (record.outcome, record.conversation_ids) == ("denied", " ".join(ids))


def test_a_refused_request_naming_150_ids_is_one_record_naming_them_all(
    make_user, client, emulator
):
    client.force_login(make_user(None))
    ids = [f"conv_{n:04d}" for n in range(150)]
    response = client.post("/bulk/delete", {"ids": ids, "reason": "%00"})
    assert response.status_code == 403
    [record] = AuditRecord.objects.all()
    assert record.conversation_ids.split() == ids
    assert "150" in record.detail


def test_refused_deletions_are_rate_limited_and_stop_filling_the_audit_log(
    make_user, client, emulator
):
    client.force_login(make_user("Reviewer"))
    ids = emulator.conversation_ids()[:3]
    answers = [client.post("/bulk/delete", {"ids": ids}).status_code for _ in range(15)]
    assert answers == [403] * 10 + [429] * 5
    assert AuditRecord.objects.filter(outcome="denied").count() == 10


@pytest.mark.parametrize("reason", ["", "covering my tracks\x00", "\x00"])
def test_a_bulk_delete_with_a_reason_that_cannot_be_recorded_deletes_nothing(
    as_role, emulator, reason
):
    ids = emulator.conversation_ids()[:2]
    admin = as_role("Admin")
    page = admin.post("/bulk/delete", {"ids": ids, "reason": reason})
    dialog = admin.post("/bulk/delete", {"ids": ids, "reason": reason}, headers=HTMX)
    assert (page.status_code, dialog.status_code) == (400, 400)
    assert 'role="alert"' in page.content.decode()
    # The dialog's form again, in place, with why; not a page.
    assert 'role="alert"' in dialog.content.decode()
    assert "<html" not in dialog.content.decode()
    assert all(cid in emulator.conversation_ids() for cid in ids)
    assert not AuditRecord.objects.exists()
    assert not BulkJob.objects.exists()
    assert emulator.calls == []


def test_a_reviewer_cannot_set_the_status_of_a_selection(as_role, emulator):
    ids = emulator.conversation_ids()[:3]
    response = as_role("Reviewer").post(
        "/bulk/", {"ids": ids, "action": "status", "status": "passed"}, headers=HTMX
    )
    assert response.status_code == 403
    assert "Only leads and admins can set the status of many conversations at once" in (
        response.content.decode()
    )
    assert not Review.objects.exists()
    assert emulator.calls == []


def test_the_bulk_bar_offers_status_changes_to_leads_only(as_role, emulator):
    assert 'id="bulk-status"' not in as_role("Reviewer").get("/").content.decode()
    assert 'id="bulk-status"' in as_role("Lead").get("/").content.decode()


def test_the_assign_menu_starts_at_an_empty_choice_and_offers_unassigned_apart(as_role, emulator):
    html = as_role("Lead").get("/").content.decode()
    menu = html[html.index('<select id="bulk-assignee"') :]
    assert menu.index('<option value="">Choose…</option>') < menu.index(
        '<option value="(nobody)">Unassigned</option>'
    )


def test_assign_without_a_choice_is_refused_and_unassigns_nobody(as_role, emulator, make_user):
    rita = make_user("Reviewer", username="rita")
    ids = emulator.conversation_ids()[:2]
    for conversation_id in ids:
        Review.objects.create(conversation_id=conversation_id, assignee=rita)
    response = as_role("Lead").post(
        "/bulk/", {"ids": ids, "action": "assign", "assignee": ""}, headers=HTMX
    )
    assert response.status_code == 400
    assert "Choose whom to assign first." in response.content.decode()
    assert {r.assignee_id for r in Review.objects.all()} == {rita.pk}


def test_unassigned_is_an_explicit_choice_that_unassigns(as_role, emulator, make_user):
    rita = make_user("Reviewer", username="rita")
    ids = emulator.conversation_ids()[:2]
    for conversation_id in ids:
        Review.objects.create(conversation_id=conversation_id, assignee=rita)
    as_role("Lead").post("/bulk/", {"ids": ids, "action": "assign", "assignee": "(nobody)"})
    assert {r.assignee_id for r in Review.objects.all()} == {None}


def test_the_bulk_bar_cannot_assign_someone_without_a_review_role(as_role, emulator, make_user):
    make_user(None, username="outsider")
    ids = emulator.conversation_ids()[:2]
    response = as_role("Lead").post(
        "/bulk/", {"ids": ids, "action": "assign", "assignee": "outsider"}, headers=HTMX
    )
    assert response.status_code == 400
    assert "Only people with a review role can be assigned." in response.content.decode()
    assert not Review.objects.exists()


def test_a_selection_of_more_than_100_is_refused_whole_and_says_so(as_role, emulator):
    ids = [f"conv_{n:04d}" for n in range(990)]
    response = as_role("Lead").post(
        "/bulk/", {"ids": ids, "action": "status", "status": "passed"}, headers=HTMX
    )
    assert response.status_code == 400
    assert (
        "You selected 990 conversations; at most 100 can be changed at once."
        " Nothing was changed." in response.content.decode()
    )
    assert not Review.objects.exists()
    assert emulator.calls == []


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_a_selection_too_large_to_read_gets_a_sentence_not_a_bare_bad_request(
    as_role, emulator, htmx
):
    body = urlencode(
        {"ids": [f"conv_{n:05d}" for n in range(10_000)], "action": "status", "status": "passed"},
        doseq=True,
    )
    response = as_role("Lead").post(
        "/bulk/",
        body,
        content_type="application/x-www-form-urlencoded",
        headers=HTMX if htmx else {},
    )
    assert response.status_code == 400
    assert (
        "The form sent too much at once to be read: select at most 100 conversations at a time."
        " Nothing was changed." in response.content.decode()
    )
    assert not Review.objects.exists()


def test_bulk_skips_deleted_conversations_and_says_how_many(as_role, emulator):
    ids = emulator.conversation_ids()[:3]
    AuditRecord.objects.create(conversation_id=ids[1], outcome="deleted", username="x")
    response = as_role("Lead").post(
        "/bulk/", {"ids": ids, "action": "status", "status": "passed"}, headers=HTMX
    )
    assert "Updated 2 conversations. Skipped 1: deleted, or unknown to the platform." in (
        response.content.decode()
    )
    assert set(Review.objects.values_list("conversation_id", flat=True)) == {ids[0], ids[2]}
    assert not ReviewChange.objects.filter(conversation_id=ids[1]).exists()


def test_bulk_skips_ids_the_platform_does_not_know(as_role, emulator):
    known = emulator.conversation_ids()[0]
    response = as_role("Lead").post(
        "/bulk/",
        {"ids": [known, "conv_never_existed"], "action": "status", "status": "flagged"},
        headers=HTMX,
    )
    assert "Updated 1 conversation. Skipped 1" in response.content.decode()
    assert list(Review.objects.values_list("conversation_id", flat=True)) == [known]


def test_a_bulk_delete_of_more_than_100_is_refused_whole_and_says_so(as_role, emulator):
    ids = [f"conv_{n:04d}" for n in range(101)]
    response = as_role("Admin").post(
        "/bulk/delete", {"ids": ids, "reason": "pci"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert "at most 100" in response.json()["error"]
    assert emulator.calls == []
    assert not AuditRecord.objects.exists()
