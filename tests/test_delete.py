"""Deleting a conversation: permission, reason, confirmation, CSRF, the write-ahead audit,
repeats and every way the platform's answer can go wrong."""

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from conversations import client as platform
from conversations import deletion
from conversations.models import AuditRecord, Comment, Review, ReviewChange
from tests.helpers import element, text_of

pytestmark = pytest.mark.django_db

Outcome = AuditRecord.Outcome
REASON = {"reason": "caller asked", "origin": "list"}


def delete(admin, conversation_id, data=REASON, **kwargs):
    return admin.post(f"/conversations/{conversation_id}/delete", data, **kwargs)


def outcome_record(conversation_id):
    return AuditRecord.objects.get(conversation_id=conversation_id, attempt__isnull=False)


def delete_calls(emulator):
    return [c.endpoint for c in emulator.calls].count("delete")


def with_notes(conversation_id):
    """A review, its history and a comment: what a deletion must wipe."""
    Review.objects.create(conversation_id=conversation_id, status="flagged", tags=["pci"])
    ReviewChange.objects.create(conversation_id=conversation_id, username="ann", field="notes")
    Comment.objects.create(
        conversation_id=conversation_id, username="ann", body="card 4111", created_at=timezone.now()
    )


def outcome_write_fails():
    """AuditRecord.objects.create that writes attempts but fails on every outcome."""
    real_create = AuditRecord.objects.create

    def create(**fields):
        if fields["outcome"] != Outcome.ATTEMPTED:
            raise DatabaseError("server closed the connection unexpectedly")
        return real_create(**fields)

    return create


def has_local_traces(conversation_id):
    return (
        Review.objects.filter(conversation_id=conversation_id).exists()
        or ReviewChange.objects.filter(conversation_id=conversation_id).exists()
        or Comment.objects.filter(conversation_id=conversation_id).exists()
    )


# The dialog


def test_the_confirmation_dialog_names_the_conversation_and_asks_for_a_reason(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").get(
        f"/conversations/{conversation_id}/delete?from=list", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith("<dialog")
    assert f"Conversation {conversation_id}" in text_of(element(html, "dl", class_="facts"))
    assert "cannot be recovered" in html
    assert 'name="reason" rows="2" maxlength="1000" required' in html


def test_without_javascript_the_confirmation_is_a_page(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    html = as_role("Admin").get(f"/conversations/{conversation_id}/delete").content.decode()
    assert "<html" in html
    assert "Delete permanently" in html


# A deletion that works


def test_confirming_deletes_and_records_the_attempt_then_its_outcome(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = delete(as_role("Admin"), conversation_id)
    assert response.status_code == 302
    assert conversation_id not in emulator.conversation_ids()
    attempt, outcome = AuditRecord.objects.order_by("id")
    assert (attempt.outcome, attempt.attempt) == (Outcome.ATTEMPTED, None)
    assert outcome.attempt == attempt
    for record in (attempt, outcome):
        assert (record.conversation_id, record.reason, record.username) == (
            conversation_id,
            "caller asked",
            "admin-user",
        )
        assert record.agent_id
        assert record.conversation_start is not None
    assert (outcome.outcome, outcome.upstream_status) == (Outcome.DELETED, 200)


def test_the_attempt_is_on_record_before_the_platform_is_asked(as_role, emulator, monkeypatch):
    seen = []
    real_delete = platform.delete_conversation

    def observed(conversation_id):
        seen.append(list(AuditRecord.objects.values_list("outcome", flat=True)))
        return real_delete(conversation_id)

    monkeypatch.setattr(platform, "delete_conversation", observed)
    delete(as_role("Admin"), emulator.conversation_ids()[0])
    assert seen == [[Outcome.ATTEMPTED]]


def test_a_deletion_wipes_the_review_comments_and_history_kept_about_it(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    with_notes(conversation_id)
    delete(as_role("Admin"), conversation_id)
    assert not has_local_traces(conversation_id)


def test_an_htmx_delete_from_the_list_removes_the_row_and_shows_a_toast(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = delete(as_role("Admin"), conversation_id, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert f'<tr id="row-{conversation_id}" hx-swap-oob="delete">' in html
    assert "deleted permanently" in html


def test_an_htmx_delete_from_the_detail_page_goes_back_to_the_list(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = delete(
        as_role("Admin"),
        conversation_id,
        {"reason": "asked", "origin": "detail"},
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == "/"


def test_the_delete_method_works_too(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").delete(
        f"/conversations/{conversation_id}/delete",
        "reason=asked",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 302
    assert conversation_id not in emulator.conversation_ids()


def test_a_repeated_submit_makes_one_deletion_and_one_pair_of_records(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    admin = as_role("Admin")
    for _ in range(3):
        delete(admin, conversation_id)
    assert AuditRecord.objects.filter(outcome=Outcome.DELETED).count() == 1
    assert AuditRecord.objects.count() == 2
    assert delete_calls(emulator) == 1


def test_a_conversation_already_gone_counts_as_gone_and_says_so(as_role, emulator):
    conversation_id = "conv_alreadygone"
    with_notes(conversation_id)
    response = delete(as_role("Admin"), conversation_id, follow=True)
    assert "was already gone" in response.content.decode()
    assert AuditRecord.objects.get().outcome == Outcome.ALREADY_GONE
    assert not has_local_traces(conversation_id)


# The reason


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_a_deletion_without_a_reason_is_refused_and_nothing_happens(as_role, emulator, reason):
    conversation_id = emulator.conversation_ids()[0]
    response = delete(
        as_role("Admin"), conversation_id, {"reason": reason}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert "Give a reason" in response.content.decode()
    assert conversation_id in emulator.conversation_ids()
    assert not AuditRecord.objects.exists()


@pytest.mark.parametrize("reason", ["covering my tracks\x00", "\x00", "a\x07b"])
def test_a_reason_that_cannot_be_stored_is_refused_before_anything_is_deleted(
    as_role, emulator, reason
):
    conversation_id = emulator.conversation_ids()[0]
    response = delete(as_role("Admin"), conversation_id, {"reason": reason})
    assert response.status_code == 400
    assert "control character" in response.content.decode()
    assert conversation_id in emulator.conversation_ids()
    assert delete_calls(emulator) == 0
    assert not AuditRecord.objects.exists()


def test_a_reason_too_long_is_refused_not_cut(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = delete(as_role("Admin"), conversation_id, {"reason": "x" * 1001})
    assert response.status_code == 400
    assert conversation_id in emulator.conversation_ids()


def test_platform_values_that_do_not_fit_the_audit_log_are_cleaned_before_the_write(
    as_role, emulator
):
    conversation_id = emulator.add_conversation(
        {"agent_id": "agent\x00" + "x" * 300, "metadata": {"start_time_unix_secs": 1_700_000_000}}
    )
    delete(as_role("Admin"), conversation_id)
    assert conversation_id not in emulator.conversation_ids()
    record = outcome_record(conversation_id)
    assert record.outcome == Outcome.DELETED
    assert "\x00" not in record.agent_id
    assert record.agent_id.startswith("agentxxx")
    assert len(record.agent_id) == 128


# When the platform cannot be asked


def test_a_failed_lookup_sends_no_delete_and_says_nothing_was_attempted(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("get", "503")
    response = delete(as_role("Admin"), conversation_id, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert delete_calls(emulator) == 0
    assert "no deletion was attempted" in html
    assert "may or may not" not in html
    record = AuditRecord.objects.get()
    assert (record.outcome, record.upstream_status) == (Outcome.NOT_ATTEMPTED, 503)


def test_when_the_attempt_cannot_be_recorded_nothing_is_deleted(as_role, emulator, monkeypatch):
    def database_down(**fields):
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(AuditRecord.objects, "create", database_down)
    conversation_id = emulator.conversation_ids()[0]
    response = delete(as_role("Admin"), conversation_id, headers={"HX-Request": "true"})
    assert response.status_code == 503
    assert "Nothing was deleted: the audit log could not be written" in response.content.decode()
    assert delete_calls(emulator) == 0
    assert conversation_id in emulator.conversation_ids()


# When the platform's answer says it did not act


def test_a_refused_delete_keeps_the_dialog_open_and_says_nothing_was_deleted(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("delete", "429", retry_after=5)
    response = delete(as_role("Admin"), conversation_id, headers={"HX-Request": "true"})
    assert response.status_code == 503
    html = response.content.decode()
    assert "<dialog" in html
    assert "busy" in html
    assert "Nothing was deleted" in html
    assert "caller asked</textarea>" in html
    assert outcome_record(conversation_id).outcome == Outcome.FAILED


@pytest.mark.parametrize(
    ("fault", "recorded_status"), [("503", 503), ("500", 500), ("429", 429), ("401", 401)]
)
def test_a_delete_the_platform_did_not_perform_is_recorded_as_failed_with_its_status(
    as_role, emulator, fault, recorded_status
):
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("delete", fault)
    response = delete(as_role("Admin"), conversation_id, {"reason": "GDPR request"})
    record = outcome_record(conversation_id)
    assert (record.outcome, record.upstream_status) == (Outcome.FAILED, recorded_status)
    assert record.reason == "GDPR request"
    assert conversation_id in emulator.conversation_ids()
    assert "nothing was deleted" in response.content.decode().lower()


@pytest.mark.parametrize("fault", ["hang", "reset"])
def test_a_delete_with_no_answer_stays_open_until_it_can_no_longer_land(
    as_role, emulator, settings, monkeypatch, fault
):
    # With no answer the platform may still carry the request out after we stopped waiting.
    settings.XUNA_API_TIMEOUT = 1.0
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("delete", fault, **({"seconds": 2} if fault == "hang" else {}))
    response = delete(as_role("Admin"), conversation_id, headers={"HX-Request": "true"})
    assert "whether it happened is not known yet" in response.content.decode()
    assert AuditRecord.objects.open_attempts().get().conversation_id == conversation_id
    emulator.clear_faults()
    monkeypatch.setattr(deletion, "resolve_after", lambda: timedelta(0))
    deletion.resolve_open_attempts()
    record = outcome_record(conversation_id)
    assert (record.outcome, record.upstream_status) == (Outcome.FAILED, 200)
    assert "still has it" in record.detail


# When the platform deleted it but its answer was lost


@pytest.mark.parametrize("fault", ["502", "503", "reset"])
def test_a_404_to_our_own_retry_confirms_the_deletion(as_role, emulator, fault):
    conversation_id = emulator.conversation_ids()[0]
    with_notes(conversation_id)
    emulator.set_fault("delete", fault, times=1, act=1)
    response = delete(as_role("Admin"), conversation_id, follow=True)
    assert f"Conversation {conversation_id} was deleted permanently." in response.content.decode()
    assert outcome_record(conversation_id).outcome == Outcome.DELETED
    assert not has_local_traces(conversation_id)
    assert delete_calls(emulator) == 2


def test_ten_clicks_on_a_deletion_whose_answer_was_lost_send_two_deletes(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    emulator.set_fault("delete", "503", times=1, act=1)
    admin = as_role("Admin")
    for _ in range(10):
        delete(admin, conversation_id)
    assert delete_calls(emulator) == 2
    assert AuditRecord.objects.filter(outcome=Outcome.DELETED).count() == 1


@pytest.mark.parametrize("fault", ["500", "hang"])
def test_a_deletion_answered_by_an_error_is_checked_with_the_platform_and_recorded(
    as_role, emulator, settings, fault
):
    settings.XUNA_API_TIMEOUT = 1.0
    conversation_id = emulator.conversation_ids()[0]
    with_notes(conversation_id)
    emulator.set_fault(
        "delete", fault, times=1, act=1, **({"seconds": 2} if fault == "hang" else {})
    )
    response = delete(as_role("Admin"), conversation_id, follow=True)
    assert "was deleted permanently" in response.content.decode()
    record = outcome_record(conversation_id)
    assert record.outcome == Outcome.DELETED
    assert "no longer has it" in record.detail
    assert not has_local_traces(conversation_id)


def test_an_outcome_nobody_can_tell_stays_open_and_says_so(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    # The lookup before the deletion is served from the cache; the check after it is not.
    platform.get_conversation(conversation_id)
    emulator.set_fault("delete", "500", times=1, act=1)
    emulator.set_fault("get", "503")
    response = delete(as_role("Admin"), conversation_id, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 502
    assert "deleted permanently" not in html
    assert "will be checked with the platform" in html
    assert list(AuditRecord.objects.open_attempts().values_list("conversation_id", flat=True)) == [
        conversation_id
    ]


def test_an_outcome_the_database_could_not_record_is_never_reported_done(
    as_role, emulator, monkeypatch
):
    conversation_id = emulator.conversation_ids()[0]
    with_notes(conversation_id)
    monkeypatch.setattr(AuditRecord.objects, "create", outcome_write_fails())
    response = delete(as_role("Admin"), conversation_id, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 503
    assert "deleted permanently" not in html
    assert "could not record the outcome" in html
    assert conversation_id not in emulator.conversation_ids()
    [attempt] = AuditRecord.objects.all()
    assert attempt.outcome == Outcome.ATTEMPTED


# Settling attempts whose outcome was never recorded


@pytest.fixture
def open_attempt(as_role, emulator, monkeypatch):
    """An attempt the platform acted on, whose outcome write was lost; now old enough."""
    conversation_id = emulator.conversation_ids()[0]
    with_notes(conversation_id)
    with monkeypatch.context() as patch:
        patch.setattr(AuditRecord.objects, "create", outcome_write_fails())
        delete(as_role("Admin"), conversation_id)
    monkeypatch.setattr(deletion, "resolve_after", lambda: timedelta(0))
    return conversation_id


def test_an_open_attempt_is_resolved_by_asking_the_platform(open_attempt, emulator):
    assert deletion.resolve_open_attempts() == 1
    record = outcome_record(open_attempt)
    assert record.outcome == Outcome.DELETED
    assert record.attempt.outcome == Outcome.ATTEMPTED
    assert record.reason == "caller asked"
    assert not has_local_traces(open_attempt)
    assert not AuditRecord.objects.open_attempts().exists()


def test_an_open_attempt_the_platform_cannot_answer_for_stays_open(open_attempt, emulator):
    emulator.set_fault("get", "503")
    assert deletion.resolve_open_attempts() == 0
    assert AuditRecord.objects.open_attempts().count() == 1
    assert has_local_traces(open_attempt)


def test_an_open_attempt_of_a_conversation_that_still_exists_is_recorded_as_failed(
    as_role, emulator, monkeypatch
):
    conversation_id = emulator.conversation_ids()[0]
    AuditRecord.objects.create(
        conversation_id=conversation_id, username="ann", reason="x", outcome=Outcome.ATTEMPTED
    )
    monkeypatch.setattr(deletion, "resolve_after", lambda: timedelta(0))
    assert deletion.resolve_open_attempts() == 1
    assert outcome_record(conversation_id).outcome == Outcome.FAILED


def test_an_attempt_still_under_way_is_left_alone(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    AuditRecord.objects.create(
        conversation_id=conversation_id, username="ann", reason="x", outcome=Outcome.ATTEMPTED
    )
    assert deletion.resolve_open_attempts() == 0
    assert emulator.calls == []


def test_the_management_command_and_the_audit_log_resolve_open_attempts(
    open_attempt, client, emulator
):
    from django.core.management import call_command

    emulator.set_fault("get", "503")
    call_command("resolve_deletions")
    assert AuditRecord.objects.open_attempts().exists()
    emulator.clear_faults()
    client.get("/audit/")  # the admin the fixture logged in
    assert outcome_record(open_attempt).outcome == Outcome.DELETED


def test_a_new_deletion_of_a_conversation_settles_its_open_attempt_first(open_attempt, client):
    response = delete(client, open_attempt, follow=True)
    assert "already deleted" in response.content.decode()
    assert AuditRecord.objects.filter(outcome=Outcome.DELETED).count() == 1


# Permission


@pytest.mark.parametrize("role", ["Reviewer", "Lead", None])
def test_a_delete_without_permission_is_403_with_no_platform_call_and_is_recorded(
    as_role, emulator, role
):
    conversation_id = emulator.conversation_ids()[0]
    response = delete(as_role(role), conversation_id)
    assert response.status_code == 403
    assert emulator.calls == []
    record = AuditRecord.objects.get()
    assert (record.outcome, record.conversation_id) == (Outcome.DENIED, conversation_id)
    assert conversation_id in emulator.conversation_ids()


def test_a_delete_without_a_csrf_token_is_refused(make_user, emulator):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(make_user("Admin"))
    conversation_id = emulator.conversation_ids()[0]
    response = csrf_client.post(f"/conversations/{conversation_id}/delete", REASON)
    assert response.status_code == 403
    assert emulator.calls == []
    assert conversation_id in emulator.conversation_ids()


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
