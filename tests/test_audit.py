"""The deletion audit log: who may read it, filters, CSV, and that it cannot be changed."""

import datetime
import zoneinfo

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


def test_the_utc_column_shows_utc_whatever_the_viewers_zone(as_role):
    created_at = record().created_at
    lead = as_role("Lead")
    lead.cookies["tz"] = "America/New_York"
    html = lead.get("/audit/").content.decode()
    new_york = created_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    utc = created_at.astimezone(datetime.UTC)
    assert "When (UTC)" in html
    assert f'<time datetime="{utc.isoformat()}">{utc:%Y-%m-%d %H:%M:%S}</time>' in html
    assert f"{new_york:%Y-%m-%d %H:%M:%S}" not in html


def test_reviewers_cannot_see_the_audit_log(as_role):
    assert as_role("Reviewer").get("/audit/").status_code == 403


def test_it_filters_by_user(as_role):
    record(conversation_id="conv_a", username="ann")
    record(conversation_id="conv_b", username="bob")
    html = as_role("Lead").get("/audit/", {"user": "bob"}).content.decode()
    assert "conv_b" in html
    assert "conv_a" not in html


def test_it_filters_by_outcome(as_role):
    record(conversation_id="conv_a", outcome="deleted")
    record(conversation_id="conv_b", outcome="denied")
    html = as_role("Lead").get("/audit/", {"outcome": "denied"}).content.decode()
    assert "conv_b" in html
    assert "conv_a" not in html


def test_it_filters_by_the_first_and_the_last_day(as_role):
    record(conversation_id="conv_today")
    lead = as_role("Lead")
    assert "conv_today" not in lead.get("/audit/", {"until": "2000-01-01"}).content.decode()
    assert "conv_today" not in lead.get("/audit/", {"since": "2999-01-01"}).content.decode()
    between = {"since": "2000-01-01", "until": "2999-01-01"}
    assert "conv_today" in lead.get("/audit/", between).content.decode()


def test_it_ignores_a_garbage_date(as_role):
    record(conversation_id="conv_today")
    response = as_role("Lead").get("/audit/", {"since": "2026-02-31", "until": "not-a-date"})
    assert response.status_code == 200
    assert "conv_today" in response.content.decode()


def test_it_downloads_csv_with_formulas_defused(as_role):
    record(conversation_id="conv_csv", reason="=HYPERLINK('http://evil.example')")
    response = as_role("Lead").get("/audit/", {"format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    header = body.splitlines()[0]
    assert header.startswith("id,created_at,username,outcome,attempt_id,conversation_id")
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


def test_an_attempt_without_an_outcome_shows_as_pending_and_one_with_its_outcome_does_not(
    as_role,
):
    pending = record(conversation_id="conv_pending", outcome="attempted")
    settled = record(conversation_id="conv_settled", outcome="attempted")
    record(conversation_id="conv_settled", outcome="deleted", attempt=settled)
    html = as_role("Admin").get("/audit/").content.decode()
    assert html.count("outcome pending") == 1
    cell = html[html.index(f'id="audit-{pending.pk}"') :]
    assert cell.index("outcome pending") < cell.index("</td>")
    assert f"outcome of attempt #{settled.pk}" in html


def test_the_csv_links_each_outcome_to_its_attempt_and_lists_the_ids_a_refusal_named(as_role):
    attempt = record(outcome="attempted")
    record(outcome="deleted", attempt=attempt)
    record(conversation_id="", outcome="denied", conversation_ids="conv_a conv_b")
    lines = as_role("Admin").get("/audit/?format=csv").getvalue().decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    by_outcome = {row["outcome"]: row for row in rows}
    assert by_outcome["deleted"]["attempt_id"] == str(attempt.pk)
    assert by_outcome["denied"]["conversation_ids"] == "conv_a conv_b"


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_a_conversation_start_at_the_edge_of_time_shows_in_utc_without_an_error(as_role, zone):
    for moment in (datetime.datetime.max, datetime.datetime.min):
        record(conversation_start=moment.replace(tzinfo=datetime.UTC), outcome="failed")
    lead = as_role("Lead")
    lead.cookies["tz"] = zone
    response = lead.get("/audit/")
    assert response.status_code == 200
    assert "9999-12-31 23:59" in response.content.decode()


def test_the_csv_starts_with_a_byte_order_mark_so_spreadsheets_read_any_script(as_role):
    record(conversation_id="conv_bom", reason="Löschung auf Wunsch · 削除依頼")
    body = as_role("Admin").get("/audit/?format=csv").getvalue()
    assert body.startswith("\ufeff".encode())
    assert "Löschung auf Wunsch · 削除依頼" in body.decode("utf-8-sig")
