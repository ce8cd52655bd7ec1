"""Audit records are append-only everywhere, and a failed audit write is never a silent loss."""

import logging

import pytest
from django.db import DatabaseError, connection

from conversations.models import AppendOnlyError, AuditRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry():
    return AuditRecord.objects.create(
        conversation_id="conv_kept", username="ann", outcome="deleted", reason="asked"
    )


def unchanged(entry):
    return AuditRecord.objects.filter(
        pk=entry.pk, reason="asked", outcome="deleted", username="ann"
    ).exists()


# Through the model API


CHANGES = {
    "save an edited record": lambda e: (setattr(e, "reason", "rewritten"), e.save()),
    "save only one field": lambda e: e.save(update_fields=["reason"]),
    "delete a record": lambda e: e.delete(),
    "update a queryset": lambda e: AuditRecord.objects.filter(pk=e.pk).update(reason="x"),
    "delete a queryset": lambda e: AuditRecord.objects.filter(pk=e.pk).delete(),
    "bulk update": lambda e: AuditRecord.objects.bulk_update([e], ["reason"]),
    "update or create": lambda e: AuditRecord.objects.update_or_create(
        pk=e.pk, defaults={"reason": "x"}
    ),
    "upsert over it": lambda e: AuditRecord.objects.bulk_create(
        [AuditRecord(pk=e.pk, conversation_id="conv_kept", username="eve", outcome="failed")],
        update_conflicts=True,
        update_fields=["username", "outcome"],
        unique_fields=["id"],
    ),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_the_model_api_refuses_every_way_of_changing_a_record(entry, change):
    with pytest.raises(AppendOnlyError):
        change(entry)
    assert unchanged(entry)


# Through the admin, as a superuser


def test_the_admin_shows_a_record_but_cannot_add_change_or_delete_one(admin_client, entry):
    base = "/admin/conversations/auditrecord"
    assert admin_client.get(f"{base}/{entry.pk}/change/").status_code == 200  # view only
    assert admin_client.post(f"{base}/{entry.pk}/change/", {"reason": "x"}).status_code == 403
    assert admin_client.post(f"{base}/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get(f"{base}/add/").status_code == 403
    changelist = admin_client.post(
        f"{base}/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert changelist.status_code in (200, 302)
    assert unchanged(entry)


# Through the app: every URL, every method


def test_no_request_to_the_app_changes_or_removes_a_record(as_role, emulator, entry):
    admin = as_role("Admin")
    for path in ("/audit/", "/audit/?user=ann&outcome=deleted", "/export/"):
        for method in ("post", "delete", "put", "patch"):
            assert getattr(admin, method)(path, {"reason": "x"}).status_code == 405
    # Deleting the same conversation again adds nothing and changes nothing.
    admin.post("/conversations/conv_kept/delete", {"reason": "again"})
    assert unchanged(entry)
    assert AuditRecord.objects.count() == 1


# When the audit write fails


@pytest.fixture
def broken_audit_store():
    """Make every insert into the audit table fail in the database itself, with a trigger."""
    table = AuditRecord._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER audit_broken BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'the audit store is broken'); END"
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION audit_broken() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'the audit store is broken'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER audit_broken BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_broken()"
            )
        else:
            pytest.skip(f"no trigger written for {connection.vendor}")
    # No teardown: the test's transaction is rolled back, taking the trigger with it.


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_when_the_audit_store_refuses_the_attempt_nothing_is_deleted_and_the_user_is_told(
    as_role, emulator, broken_audit_store, caplog, htmx
):
    conversation_id = emulator.conversation_ids()[0]
    headers = {"HX-Request": "true"} if htmx else {}
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete",
        {"reason": "caller asked", "origin": "list"},
        headers=headers,
    )
    assert response.status_code == 503
    html = response.content.decode()
    assert "Nothing was deleted: the audit log could not be written" in html
    assert "deleted permanently" not in html
    assert conversation_id in emulator.conversation_ids()
    assert [c.endpoint for c in emulator.calls].count("delete") == 0
    assert any("not attempted" in r.getMessage() for r in caplog.records)


def test_an_audit_store_that_is_down_deletes_nothing_the_same_way(as_role, emulator, monkeypatch):
    def database_down(**fields):
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(AuditRecord.objects, "create", database_down)
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete", {"reason": "asked"}, follow=True
    )
    assert "Nothing was deleted" in response.content.decode()
    assert conversation_id in emulator.conversation_ids()


def test_an_outcome_the_store_refuses_is_logged_loudly_and_the_attempt_stays(
    as_role, emulator, caplog, monkeypatch
):
    real_create = AuditRecord.objects.create

    def outcome_refused(**fields):
        if fields["outcome"] != AuditRecord.Outcome.ATTEMPTED:
            raise DatabaseError("could not extend file: No space left on device")
        return real_create(**fields)

    monkeypatch.setattr(AuditRecord.objects, "create", outcome_refused)
    conversation_id = emulator.conversation_ids()[0]
    as_role("Admin").post(f"/conversations/{conversation_id}/delete", {"reason": "asked"})
    [failure] = [
        r for r in caplog.records if r.levelno == logging.CRITICAL and "AUDIT WRITE FAILED" in r.msg
    ]
    assert failure.args == (AuditRecord.Outcome.DELETED, conversation_id)
    assert AuditRecord.objects.open_attempts().get().conversation_id == conversation_id
