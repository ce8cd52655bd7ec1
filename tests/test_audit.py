"""The deletion audit log: who may read it, filters, CSV, and that it cannot be changed."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from conversations.models import AppendOnlyError, AuditRecord

pytestmark = pytest.mark.django_db


def record(**fields):
    values = {
        "conversation_id": "conv_1",
        "username": "ann",
        "outcome": "deleted",
        "reason": "asked",
        "upstream_status": 200,
    }
    return AuditRecord.objects.create(**{**values, **fields})


@pytest.mark.parametrize("role", ["Lead", "Admin"])
def test_leads_and_admins_see_the_records_newest_first(as_role, role):
    record(conversation_id="conv_old")
    record(conversation_id="conv_new", outcome="failed")
    html = as_role(role).get("/audit/").content.decode()
    assert html.index("conv_new") < html.index("conv_old")


def test_reviewers_cannot_see_the_audit_log(as_role):
    assert as_role("Reviewer").get("/audit/").status_code == 403


def test_it_filters_by_user_and_outcome(as_role):
    record(conversation_id="conv_a", username="ann")
    record(conversation_id="conv_b", username="bob", outcome="denied")
    html = as_role("Lead").get("/audit/", {"user": "bob", "outcome": "denied"}).content.decode()
    assert "conv_b" in html
    assert "conv_a" not in html


def test_it_filters_by_date_and_ignores_a_garbage_date(as_role):
    record(conversation_id="conv_today")
    lead = as_role("Lead")
    assert "conv_today" not in lead.get("/audit/", {"until": "2000-01-01"}).content.decode()
    response = lead.get("/audit/", {"since": "2026-02-31", "until": "not-a-date"})
    assert response.status_code == 200
    assert "conv_today" in response.content.decode()


def test_it_downloads_csv_with_formulas_defused(as_role):
    record(conversation_id="conv_csv", reason="=HYPERLINK('http://evil.example')")
    response = as_role("Lead").get("/audit/", {"format": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert body.splitlines()[0].startswith("created_at,username,outcome,conversation_id")
    assert "conv_csv" in body
    assert "'=HYPERLINK" in body


def test_a_record_cannot_be_changed_or_deleted_through_the_model():
    entry = record()
    entry.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().reason == "asked"


def test_the_admin_offers_no_way_to_change_a_record(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = site._registry[AuditRecord]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, record())
    assert not model_admin.has_delete_permission(request)


def test_a_record_holds_nothing_of_the_conversations_content():
    field_names = {field.name for field in AuditRecord._meta.get_fields()}
    assert not field_names & {"transcript", "audio", "collected_data", "evaluation"}
