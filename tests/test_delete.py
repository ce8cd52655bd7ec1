"""Deleting a conversation: permission, confirmation, CSRF, audit, repeats, failures."""

import pytest
from django.test import Client

from conversations.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_the_confirmation_dialog_names_the_conversation_and_the_consequences(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").get(
        f"/conversations/{conversation_id}/delete?from=list", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith("<dialog")
    assert conversation_id in html
    assert "cannot be recovered" in html
    assert 'name="reason"' in html


def test_without_javascript_the_confirmation_is_a_page(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    html = as_role("Admin").get(f"/conversations/{conversation_id}/delete").content.decode()
    assert "<html" in html
    assert "Delete permanently" in html


def test_confirming_deletes_on_the_platform_and_records_who_and_why(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete", {"reason": "caller asked", "origin": "list"}
    )
    assert response.status_code == 302
    assert conversation_id not in emulator.conversation_ids()
    record = AuditRecord.objects.get()
    assert (record.conversation_id, record.outcome, record.reason, record.username) == (
        conversation_id,
        "deleted",
        "caller asked",
        "admin-user",
    )
    assert record.upstream_status == 200
    assert record.agent_id
    assert record.conversation_start is not None


def test_an_htmx_delete_from_the_list_removes_the_row_and_shows_a_toast(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete",
        {"origin": "list"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert f'<tr id="row-{conversation_id}" hx-swap-oob="delete">' in html
    assert "deleted permanently" in html


def test_an_htmx_delete_from_the_detail_page_goes_back_to_the_list(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete",
        {"origin": "detail"},
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == "/"


def test_a_repeated_submit_makes_one_deletion_and_one_record(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    admin = as_role("Admin")
    for _ in range(3):
        admin.post(f"/conversations/{conversation_id}/delete", {"origin": "list"})
    assert AuditRecord.objects.filter(outcome="deleted").count() == 1
    assert AuditRecord.objects.count() == 1
    assert [c.endpoint for c in emulator.calls].count("delete") == 1


def test_a_conversation_already_gone_counts_as_deleted_and_says_so(as_role, emulator):
    response = as_role("Admin").post(
        "/conversations/conv_alreadygone/delete", {"origin": "list"}, follow=True
    )
    assert "was already gone" in response.content.decode()
    assert AuditRecord.objects.get().outcome == "already_gone"


def test_a_failed_delete_keeps_the_dialog_open_and_records_no_success(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("delete", "503")
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete",
        {"origin": "list"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 502
    html = response.content.decode()
    assert "<dialog" in html
    assert "did not confirm the deletion" in html
    assert conversation_id in emulator.conversation_ids()
    assert not AuditRecord.objects.filter(outcome="deleted").exists()
    assert AuditRecord.objects.get().outcome == "failed"


@pytest.mark.parametrize(
    ("fault", "recorded_status"),
    [("503", 503), ("500", 500), ("429", 429), ("401", 401), ("hang", None), ("reset", None)],
)
def test_a_failed_delete_records_the_platforms_status_or_none_when_it_did_not_answer(
    as_role, emulator, settings, fault, recorded_status
):
    settings.XUNA_API_TIMEOUT = 1.0
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("delete", fault, **({"seconds": 2} if fault == "hang" else {}))
    as_role("Admin").post(f"/conversations/{conversation_id}/delete", {"reason": "GDPR request"})
    record = AuditRecord.objects.get()
    assert (record.outcome, record.upstream_status) == ("failed", recorded_status)
    assert record.reason == "GDPR request"


def test_a_rate_limited_delete_says_so(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("delete", "429", retry_after=1)
    response = as_role("Admin").post(f"/conversations/{conversation_id}/delete", {})
    assert response.status_code == 503
    assert "busy" in response.content.decode()
    assert "Nothing was deleted" in response.content.decode()


@pytest.mark.parametrize("role", ["Reviewer", "Lead", None])
def test_a_delete_without_permission_is_403_with_no_platform_call_and_is_recorded(
    as_role, emulator, role
):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role(role).post(f"/conversations/{conversation_id}/delete", {"reason": "x"})
    assert response.status_code == 403
    assert emulator.calls == []
    assert AuditRecord.objects.get().outcome == "denied"
    assert conversation_id in emulator.conversation_ids()


def test_a_delete_without_a_csrf_token_is_refused(make_user, emulator):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(make_user("Admin"))
    conversation_id = emulator.conversation_ids()[0]
    response = csrf_client.post(f"/conversations/{conversation_id}/delete", {})
    assert response.status_code == 403
    assert emulator.calls == []
    assert conversation_id in emulator.conversation_ids()


def test_the_delete_method_works_too(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").delete(f"/conversations/{conversation_id}/delete")
    assert response.status_code == 302
    assert conversation_id not in emulator.conversation_ids()


def test_a_conversation_deleted_through_the_dashboard_is_hidden_whatever_a_cache_holds(
    as_role, emulator
):
    # The platform still serves it (as a stale cache in another worker would), but the shared
    # audit log says it was deleted: it must not show on any page.
    conversation_id = emulator.conversation_ids()[0]
    AuditRecord.objects.create(conversation_id=conversation_id, username="ann", outcome="deleted")
    reviewer = as_role("Reviewer")
    assert f"row-{conversation_id}" not in reviewer.get("/").content.decode()
    emulator.clear_calls()
    assert reviewer.get(f"/conversations/{conversation_id}/").status_code == 404
    assert reviewer.get(f"/conversations/{conversation_id}/audio").status_code == 404
    assert emulator.calls == []
