"""Bulk jobs: made at confirmation, run by the worker slice by slice, waiting as the platform
asks, resumed after a worker dies, cancelled by their owner, shown on a page of their own.

Most tests drive the job the way the worker does, in the test's thread: Huey runs a task when it
is queued (`tasks_run_at_once`), and a task scheduled ahead stays in Huey's schedule, where the
test reads its time. The last test runs a real `manage.py run_huey` worker.
"""

import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from conversations import deletion, jobs, reviews, tasks, views
from conversations.models import AuditRecord, BulkJob, BulkJobItem, IndexedConversation, Review
from tests.helpers import ROOT, element, text_of, worker_environment

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def new_job(user, ids, *, kind=BulkJob.Kind.DELETE, **fields):
    """A job as a confirmation makes it, not queued (the test runs it)."""
    if kind == BulkJob.Kind.DELETE:
        fields.setdefault("reason", "customer asked")
    job, _ = jobs.create_job(
        job_id=uuid.uuid4(), user=user, conversation_ids=ids, kind=kind, **fields
    )
    return job


def outcomes(job):
    return list(job.items.order_by("position").values_list("outcome", flat=True))


def later(seconds):
    """A clock `seconds` ahead of now, for driving a job past a wait without sleeping."""
    return lambda: timezone.now() + timedelta(seconds=seconds)


def index_all(emulator, ids, **fields):
    """Put these seeded conversations in the index, newest first as the platform lists them."""
    now = timezone.now()
    for number, conversation_id in enumerate(ids):
        IndexedConversation.objects.create(
            conversation_id=conversation_id,
            start_time=now - timedelta(minutes=number),
            indexed_at=now,
            detailed=True,
            **fields,
        )


# A job's run


def test_each_item_of_a_job_gets_its_attempt_and_outcome_records_in_order(make_user, emulator):
    ids = emulator.conversation_ids()[:3]
    job = new_job(make_user("Admin"), ids)

    assert jobs.run(str(job.pk)) is None

    job.refresh_from_db()
    assert (job.state, outcomes(job)) == ("done", ["done"] * 3)
    records = AuditRecord.objects.order_by("created_at", "id")
    assert list(records.values_list("conversation_id", "outcome")) == [
        (cid, outcome) for cid in ids for outcome in ("attempted", "deleted")
    ]
    assert set(records.values_list("reason", flat=True)) == {"customer asked"}
    assert not set(ids) & set(emulator.conversation_ids())


def test_a_rate_limited_job_waits_as_long_as_the_platform_asks_without_a_failed_try(
    make_user, emulator, tasks_run_at_once
):
    ids = emulator.conversation_ids()[:2]
    job = new_job(make_user("Admin"), ids)
    emulator.set_fault("delete", "429", retry_after=10, times=1)
    started = timezone.now()

    tasks.run_job(str(job.pk), str(job.chain))

    job.refresh_from_db()
    assert job.state == "waiting"
    assert job.wait_until - started >= timedelta(seconds=10)
    assert "Waiting 10 s: the platform asked us to slow down." in job.note
    [link] = HUEY.scheduled()
    assert link.args == (str(job.pk), str(job.chain))
    # Huey's times are UTC, without a zone.
    assert (link.eta - started.astimezone(UTC).replace(tzinfo=None)).total_seconds() >= 10
    first = job.items.get(position=0)
    assert (first.outcome, first.tries) == ("pending", 0)
    assert ids[0] in emulator.conversation_ids()


def test_a_waiting_job_is_not_run_before_its_time_and_goes_on_after_it(make_user, emulator):
    ids = emulator.conversation_ids()[:2]
    job = new_job(make_user("Admin"), ids)
    emulator.set_fault("delete", "429", retry_after=10, times=1)
    assert jobs.run(str(job.pk)) >= 10

    # Woken early, it goes back to sleep for the rest of the wait and deletes nothing.
    assert 5 <= jobs.run(str(job.pk), clock=later(3)) <= 7
    assert ids[0] in emulator.conversation_ids()

    assert jobs.run(str(job.pk), clock=later(11)) is None
    job.refresh_from_db()
    assert (job.state, outcomes(job)) == ("done", ["done", "done"])


def test_a_retry_after_beyond_the_cap_waits_the_cap(make_user, emulator):
    job = new_job(make_user("Admin"), emulator.conversation_ids()[:1])
    emulator.set_fault("delete", "429", retry_after=7200, times=1)
    assert jobs.run(str(job.pk)) == jobs.WAIT_MAX


def test_a_failing_item_is_tried_again_after_longer_waits_then_failed_and_the_job_goes_on(
    make_user, emulator
):
    ids = emulator.conversation_ids()[:2]
    job = new_job(make_user("Admin"), ids)
    emulator.set_fault("delete", "500", times=3)

    assert jobs.run(str(job.pk)) == 2
    assert jobs.run(str(job.pk), clock=later(3)) == 4
    assert jobs.run(str(job.pk), clock=later(8)) is None

    job.refresh_from_db()
    failed, deleted = job.items.order_by("position")
    assert (failed.outcome, failed.tries) == ("failed", 3)
    assert "nothing was deleted" in failed.message
    assert deleted.outcome == "done"
    assert ids[0] in emulator.conversation_ids()
    assert AuditRecord.objects.filter(conversation_id=ids[0], outcome="failed").count() == 3


def test_a_job_whose_worker_died_is_resumed_by_the_sweep_and_deletes_nothing_twice(
    make_user, emulator, tasks_run_at_once
):
    ids = emulator.conversation_ids()[:3]
    job = new_job(make_user("Admin"), ids)
    # A worker deleted the first item, then died holding the job: its lease ran out since.
    job.lease_owner, _ = jobs.claim(str(job.pk), timezone.now())
    jobs._delete_next(job, [job.items.get(position=0)], timezone.now)
    long_ago = timezone.now() - timedelta(minutes=10)
    BulkJob.objects.filter(pk=job.pk).update(lease_until=long_ago, heartbeat=long_ago)

    tasks.resume_jobs.call_local()

    job.refresh_from_db()
    assert (job.state, outcomes(job)) == ("done", ["done"] * 3)
    assert [c.endpoint for c in emulator.calls].count("delete") == 3
    for conversation_id in ids:
        assert (
            AuditRecord.objects.filter(conversation_id=conversation_id, outcome="deleted").count()
            == 1
        )


def test_an_item_cut_off_in_the_middle_of_its_deletion_is_settled_not_deleted_again(
    make_user, emulator, monkeypatch
):
    conversation_id = emulator.conversation_ids()[0]
    admin = make_user("Admin")
    job = new_job(admin, [conversation_id])
    # The platform deleted it; the worker died before writing the outcome, long enough ago.
    attempt = AuditRecord.objects.create(
        conversation_id=conversation_id, username=admin.username, outcome="attempted"
    )
    monkeypatch.setattr(deletion, "resolve_after", lambda: timedelta(0))
    emulator.delete_conversation(conversation_id)

    jobs.run(str(job.pk))

    assert outcomes(job) == ["done"]
    assert AuditRecord.objects.get(attempt=attempt).outcome == "deleted"
    assert [c.endpoint for c in emulator.calls].count("delete") == 0


def test_a_job_held_by_one_worker_is_not_run_by_another(make_user, emulator):
    job = new_job(make_user("Admin"), emulator.conversation_ids()[:1])
    now = timezone.now()
    assert jobs.claim(str(job.pk), now)[0] is not None
    assert jobs.claim(str(job.pk), now) == (None, None)
    assert jobs.run(str(job.pk)) is None
    assert outcomes(job) == ["pending"]
    assert emulator.calls == []


def test_a_job_that_is_running_or_waiting_is_not_swept(make_user, emulator):
    admin = make_user("Admin")
    held, fresh = new_job(admin, ["conv_a"]), new_job(admin, ["conv_b"])
    jobs.claim(str(held.pk), timezone.now())
    assert jobs.stalled() == []
    assert set(jobs.stalled(timezone.now() + timedelta(hours=1))) == {str(held.pk), str(fresh.pk)}


def deletes(emulator):
    return [c.endpoint for c in emulator.calls].count("delete")


def test_a_worker_whose_lease_was_taken_stops_and_leaves_the_new_holders_lease_alone(
    make_user, emulator, monkeypatch
):
    ids = emulator.conversation_ids()[:3]
    job = new_job(make_user("Admin"), ids)
    real_delete = deletion.delete_conversation
    taken = {}

    def slow_first_item(**arguments):
        # Worker A's lease runs out while it is on the first item, and worker B takes the job.
        if not taken:
            BulkJob.objects.filter(pk=job.pk).update(lease_until=timezone.now())
            taken["owner"], _ = jobs.claim(str(job.pk), timezone.now() + timedelta(seconds=1))
        return real_delete(**arguments)

    monkeypatch.setattr(deletion, "delete_conversation", slow_first_item)

    assert jobs.run(str(job.pk)) is None

    job.refresh_from_db()
    assert (job.lease_owner, job.lease_until is not None) == (taken["owner"], True)
    assert outcomes(job) == ["pending"] * 3  # A's outcome is not written over B's job
    assert deletes(emulator) == 1
    # B goes on: the first item is found gone, not deleted twice.
    monkeypatch.setattr(deletion, "delete_conversation", real_delete)
    assert jobs._work(job, timezone.now, time.monotonic() + 20) is None
    assert outcomes(job) == ["already_gone", "done", "done"]
    assert deletes(emulator) == 3
    for conversation_id in ids:
        deleted = AuditRecord.objects.filter(conversation_id=conversation_id, outcome="deleted")
        assert deleted.count() == 1


def test_a_slice_of_a_chain_the_sweep_replaced_does_nothing(make_user, emulator):
    job = new_job(make_user("Admin"), emulator.conversation_ids()[:1])
    old_chain = str(job.chain)
    new_chain = jobs.restart(str(job.pk), timezone.now() + timedelta(minutes=5))
    assert new_chain not in (None, old_chain)

    assert jobs.run(str(job.pk), chain=old_chain) is None
    assert (outcomes(job), emulator.calls) == (["pending"], [])

    assert jobs.run(str(job.pk), chain=new_chain) is None
    assert outcomes(job) == ["done"]


def test_a_job_stops_when_its_owner_loses_the_right_between_two_items(
    make_user, emulator, monkeypatch
):
    admin = make_user("Admin")
    job = new_job(admin, emulator.conversation_ids()[:3])
    real_delete = deletion.delete_conversation

    def revoked_after_it(**arguments):
        result = real_delete(**arguments)
        admin.groups.clear()
        return result

    monkeypatch.setattr(deletion, "delete_conversation", revoked_after_it)

    jobs.run(str(job.pk))

    job.refresh_from_db()
    assert outcomes(job) == ["done", "not_tried", "not_tried"]
    assert "may no longer delete" in job.note
    assert deletes(emulator) == 1


def test_an_item_whose_step_raises_is_a_failed_try_and_the_job_ends(
    make_user, emulator, monkeypatch
):
    ids = emulator.conversation_ids()[:2]
    job = new_job(make_user("Lead"), ids, kind=BulkJob.Kind.STATUS, changes={"status": "passed"})

    def broken(**arguments):
        raise RuntimeError("a bug")

    monkeypatch.setattr(reviews, "save_reviews", broken)

    assert jobs.run(str(job.pk)) == 2
    assert jobs.run(str(job.pk), clock=later(3)) == 4
    assert jobs.run(str(job.pk), clock=later(8)) is None

    job.refresh_from_db()
    assert job.state == "done"
    assert set(job.items.values_list("outcome", "tries", "message")) == {
        ("failed", 3, jobs.CRASHED)
    }


def test_a_cancel_during_an_item_is_not_undone_by_its_failed_try(make_user, emulator, monkeypatch):
    ids = emulator.conversation_ids()[:2]
    job = new_job(make_user("Admin"), ids)
    emulator.set_fault("delete", "500", times=1)
    real_delete = deletion.delete_conversation

    def cancelled_meanwhile(**arguments):
        jobs.cancel(job)
        return real_delete(**arguments)

    monkeypatch.setattr(deletion, "delete_conversation", cancelled_meanwhile)

    assert jobs.run(str(job.pk)) is None

    job.refresh_from_db()
    assert job.state == "cancelled"
    assert outcomes(job) == ["not_tried", "not_tried"]


def test_an_item_done_while_its_job_was_cancelled_keeps_its_outcome(
    make_user, emulator, monkeypatch
):
    ids = emulator.conversation_ids()[:2]
    job = new_job(make_user("Admin"), ids)
    real_delete = deletion.delete_conversation

    def cancelled_meanwhile(**arguments):
        jobs.cancel(job)
        return real_delete(**arguments)

    monkeypatch.setattr(deletion, "delete_conversation", cancelled_meanwhile)

    jobs.run(str(job.pk))

    assert outcomes(job) == ["done", "not_tried"]
    assert deletes(emulator) == 1


def test_a_deletion_with_an_unknown_outcome_is_settled_after_it_can_no_longer_land(
    make_user, emulator, monkeypatch
):
    conversation_id = emulator.conversation_ids()[0]
    job = new_job(make_user("Admin"), [conversation_id])
    # No answer: the request may still be under way on the platform.
    emulator.set_fault("delete", "reset")

    wait = jobs.run(str(job.pk))

    assert wait == deletion.resolve_after().total_seconds()
    assert AuditRecord.objects.open_attempts().count() == 1
    emulator.clear_faults()
    # It landed after all. Before the wait is over the item is not touched.
    emulator.delete_conversation(conversation_id)
    emulator.clear_calls()
    assert jobs.run(str(job.pk), clock=later(3)) > 0
    assert (outcomes(job), emulator.calls) == (["pending"], [])

    monkeypatch.setattr(deletion, "resolve_after", lambda: timedelta(0))
    assert jobs.run(str(job.pk), clock=later(wait + 1)) is None

    assert outcomes(job) == ["done"]
    assert "checked with the platform afterwards" in job.items.get().message
    assert deletes(emulator) == 0
    assert AuditRecord.objects.filter(outcome="deleted").count() == 1


def test_a_job_still_not_done_a_day_after_it_was_made_ends_and_tries_nothing_more(
    make_user, emulator
):
    job = new_job(make_user("Admin"), emulator.conversation_ids()[:2])

    assert jobs.run(str(job.pk), clock=later(jobs.JOB_MAX_AGE + 1)) is None

    job.refresh_from_db()
    assert job.state == "done"
    assert "still not done 24 hours after it started" in job.note
    assert outcomes(job) == ["not_tried", "not_tried"]
    assert emulator.calls == []


def test_a_job_stops_when_its_owner_may_no_longer_delete(make_user, emulator):
    admin = make_user("Admin")
    job = new_job(admin, emulator.conversation_ids()[:2])
    admin.groups.clear()

    jobs.run(str(job.pk))

    job.refresh_from_db()
    assert job.state == "done"
    assert "may no longer delete" in job.note
    assert outcomes(job) == ["not_tried", "not_tried"]
    assert emulator.calls == []
    assert not AuditRecord.objects.exists()


def test_a_status_job_saves_in_batches_and_skips_deleted_conversations(make_user, emulator):
    ids = emulator.conversation_ids()[:3]
    AuditRecord.objects.create(conversation_id=ids[1], outcome="deleted", username="x")
    job = new_job(make_user("Lead"), ids, kind=BulkJob.Kind.STATUS, changes={"status": "flagged"})

    jobs.run(str(job.pk))

    assert outcomes(job) == ["done", "skipped", "done"]
    assert set(Review.objects.values_list("conversation_id", "status")) == {
        (ids[0], "flagged"),
        (ids[2], "flagged"),
    }


def test_an_assignment_job_stops_when_the_assignee_lost_the_review_role(make_user, emulator):
    rita = make_user("Reviewer", username="rita")
    job = new_job(
        make_user("Lead"),
        emulator.conversation_ids()[:2],
        kind="assign",
        changes={"assignee": "rita"},
    )
    rita.groups.clear()

    jobs.run(str(job.pk))

    assert outcomes(job) == ["not_tried", "not_tried"]
    assert not Review.objects.exists()


# Starting a job from the bulk bar


def test_the_confirmation_starts_a_job_and_sends_htmx_to_its_page(
    as_role, emulator, tasks_run_at_once
):
    ids = emulator.conversation_ids()[:3]
    response = as_role("Admin").post("/bulk/delete", {"ids": ids, "reason": "pci"}, headers=HTMX)
    job = BulkJob.objects.get()
    assert response["HX-Redirect"] == f"/jobs/{job.pk}/"
    assert [item.conversation_id for item in job.items.all()] == ids
    assert (job.reason, job.filter_query) == ("pci", "")
    assert outcomes(job) == ["done"] * 3


def test_the_same_confirmation_sent_twice_starts_one_job(as_role, emulator, tasks_run_at_once):
    ids = emulator.conversation_ids()[:2]
    admin = as_role("Admin")
    form = {"ids": ids, "reason": "pci", "job": str(uuid.uuid4())}
    first, second = admin.post("/bulk/delete", form), admin.post("/bulk/delete", form)
    assert first["Location"] == second["Location"]
    assert BulkJob.objects.count() == 1
    assert [c.endpoint for c in emulator.calls].count("delete") == 2


def test_someone_elses_confirmation_token_starts_nothing(as_role, make_user, emulator):
    job = new_job(make_user("Admin", username="ann"), ["conv_a"])
    response = as_role("Admin").post(
        "/bulk/delete", {"ids": ["conv_b"], "reason": "pci", "job": str(job.pk)}
    )
    assert response.status_code == 400
    assert BulkJob.objects.count() == 1


def test_a_bulk_delete_sent_without_its_csrf_token_starts_nothing(make_user, emulator):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("Admin"))
    ids = emulator.conversation_ids()[:2]
    response = browser.post("/bulk/delete", {"ids": ids, "reason": "pci"})
    assert response.status_code == 403
    assert not BulkJob.objects.exists()
    assert emulator.calls == []


# A whole filter


def test_the_bulk_bar_offers_every_conversation_of_an_indexed_filter(as_role, emulator):
    index_all(emulator, emulator.conversation_ids()[:7], outcome="failure")
    admin = as_role("Admin")
    html = admin.get("/", {"outcome": "failure"}).content.decode()
    assert "Select all 7 matching this filter" in html
    assert "matching this filter" not in admin.get("/").content.decode()
    assert "matching this filter" not in admin.get("/", {"sort": "oldest"}).content.decode()


def test_a_whole_filter_deletion_is_confirmed_with_its_exact_count(as_role, emulator):
    index_all(emulator, emulator.conversation_ids()[:7], outcome="failure")
    response = as_role("Admin").post(
        "/bulk/",
        {"action": "delete", "scope": "filter", "list_query": "outcome=failure"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert "Delete all 7 conversations matching: outcome failure?" in text_of(
        element(html, "h2", id="bulk-title")
    )
    assert '<input type="hidden" name="confirmed" value="7">' in html
    assert not BulkJob.objects.exists()
    assert emulator.calls == []


def test_a_confirmed_whole_filter_deletion_snapshots_its_ids_in_the_lists_order(
    as_role, emulator, tasks_run_at_once
):
    ids = emulator.conversation_ids()[:4]
    index_all(emulator, ids, outcome="failure")
    index_all(emulator, emulator.conversation_ids()[4:6], outcome="success")
    form = {
        "scope": "filter",
        "list_query": "outcome=failure",
        "confirmed": "4",
        "digest": jobs.digest(ids),
        "reason": "gdpr",
    }
    response = as_role("Admin").post("/bulk/delete", form)
    job = BulkJob.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.filter_query == "outcome=failure"
    assert [item.conversation_id for item in job.items.all()] == ids
    assert outcomes(job) == ["done"] * 4


def test_a_whole_filter_whose_count_changed_is_confirmed_again(as_role, emulator):
    index_all(emulator, emulator.conversation_ids()[:5], outcome="failure")
    form = {"scope": "filter", "list_query": "outcome=failure", "confirmed": "4", "reason": "gdpr"}
    response = as_role("Admin").post("/bulk/delete", form)
    assert response.status_code == 409
    html = response.content.decode()
    assert "it now holds 5 conversations" in html
    assert '<input type="hidden" name="confirmed" value="5">' in html
    assert not BulkJob.objects.exists()
    assert emulator.calls == []


def test_a_whole_filter_that_holds_as_many_but_other_conversations_is_confirmed_again(
    as_role, emulator
):
    ids = emulator.conversation_ids()[:5]
    index_all(emulator, ids[:4], outcome="failure")
    index_all(emulator, ids[4:], outcome="success")
    admin = as_role("Admin")
    confirm = admin.post(
        "/bulk/", {"action": "delete", "scope": "filter", "list_query": "outcome=failure"}
    ).content.decode()
    digest = element(confirm, "input", name="digest")
    assert jobs.digest(ids[:4]) in digest
    # One conversation leaves the filter and another joins it: the count stays 4.
    IndexedConversation.objects.filter(conversation_id=ids[0]).update(outcome="success")
    IndexedConversation.objects.filter(conversation_id=ids[4]).update(outcome="failure")
    form = {
        "scope": "filter",
        "list_query": "outcome=failure",
        "confirmed": "4",
        "digest": jobs.digest(ids[:4]),
        "reason": "gdpr",
    }

    response = admin.post("/bulk/delete", form)

    assert response.status_code == 409
    assert jobs.digest(ids[1:5]) in response.content.decode()
    assert not BulkJob.objects.exists()
    assert emulator.calls == []


def test_a_whole_filter_confirmation_sent_again_after_its_job_ran_goes_to_that_job(
    as_role, emulator, tasks_run_at_once
):
    ids = emulator.conversation_ids()[:2]
    index_all(emulator, ids, outcome="failure")
    form = {
        "scope": "filter",
        "list_query": "outcome=failure",
        "confirmed": "2",
        "digest": jobs.digest(ids),
        "reason": "gdpr",
        "job": str(uuid.uuid4()),
    }
    admin = as_role("Admin")
    first = admin.post("/bulk/delete", form)
    assert outcomes(BulkJob.objects.get()) == ["done", "done"]

    second = admin.post("/bulk/delete", form)

    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert BulkJob.objects.count() == 1


def test_a_whole_filter_is_snapshot_with_conversations_without_a_start_last(make_user, emulator):
    ids = emulator.conversation_ids()[:3]
    index_all(emulator, ids, outcome="failure")
    IndexedConversation.objects.filter(conversation_id=ids[0]).update(start_time=None)
    oldest = views.carried_filter("outcome=failure&sort=oldest")
    assert jobs.filter_ids(oldest, make_user("Admin")) == [ids[2], ids[1], ids[0]]


def test_a_whole_filter_needs_the_index_and_a_filter(as_role, emulator):
    admin = as_role("Admin")
    no_index = admin.post(
        "/bulk/",
        {"action": "delete", "scope": "filter", "list_query": "outcome=failure"},
        headers=HTMX,
    )
    assert no_index.status_code == 400
    assert "only while the conversation index answers the list" in no_index.content.decode()
    index_all(emulator, emulator.conversation_ids()[:2])
    sort_only = admin.post(
        "/bulk/", {"action": "delete", "scope": "filter", "list_query": "sort=oldest"}, headers=HTMX
    )
    assert "Choose a filter first" in sort_only.content.decode()


def test_a_lead_sets_the_status_of_a_whole_filter_as_a_confirmed_job(
    as_role, emulator, tasks_run_at_once
):
    ids = emulator.conversation_ids()[:3]
    index_all(emulator, ids, outcome="failure")
    lead = as_role("Lead")
    form = {
        "action": "status",
        "status": "follow_up",
        "scope": "filter",
        "list_query": "outcome=failure",
    }
    confirm = lead.post("/bulk/", form).content.decode()
    assert "Set the review status to “Needs follow-up” on all 3 conversations matching" in confirm
    assert not Review.objects.exists()

    confirmed = {"confirmed": "3", "digest": jobs.digest(ids), "job": str(uuid.uuid4())}
    response = lead.post("/bulk/", {**form, **confirmed})

    job = BulkJob.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.changes) == ("status", {"status": "follow_up"})
    assert set(Review.objects.values_list("status", flat=True)) == {"follow_up"}


def test_a_reviewer_cannot_set_the_status_of_a_whole_filter(as_role, emulator):
    index_all(emulator, emulator.conversation_ids()[:3], outcome="failure")
    form = {
        "action": "status",
        "status": "passed",
        "scope": "filter",
        "list_query": "outcome=failure",
        "confirmed": "3",
    }
    response = as_role("Reviewer").post("/bulk/", form)
    assert response.status_code == 403
    assert not BulkJob.objects.exists()
    assert not Review.objects.exists()


def test_a_lead_cannot_delete_a_whole_filter_and_the_refusal_is_recorded(as_role, emulator):
    index_all(emulator, emulator.conversation_ids()[:3], outcome="failure")
    form = {"scope": "filter", "list_query": "outcome=failure", "confirmed": "3", "reason": "x"}
    response = as_role("Lead").post("/bulk/delete", form)
    assert response.status_code == 403
    assert not BulkJob.objects.exists()
    assert AuditRecord.objects.get().outcome == "denied"
    assert emulator.calls == []


# The job's page


def test_the_job_page_shows_each_items_result(client, make_user, emulator):
    ids = emulator.conversation_ids()[:2]
    admin = make_user("Admin")
    job = new_job(admin, ids)
    emulator.set_fault("delete", "500", times=3)
    jobs.run(str(job.pk))
    client.force_login(admin)

    html = client.get(f"/jobs/{job.pk}/").content.decode()

    first = text_of(element(html, "tr", id="item-0"))
    assert ids[0] in first
    assert "Pending Try 1 of 3 failed" in first
    assert "Waiting 2 s: an item failed; trying it again." in html
    assert 'hx-trigger="every 2s"' in html
    assert "Cancel the rest" in html


def test_a_finished_jobs_page_stops_asking_for_updates(client, make_user, emulator):
    admin = make_user("Admin")
    job = new_job(admin, emulator.conversation_ids()[:1])
    jobs.run(str(job.pk))
    client.force_login(admin)
    fragment = client.get(f"/jobs/{job.pk}/", headers=HTMX).content.decode()
    assert "<html" not in fragment
    assert element(fragment, "section", id="job")
    assert "hx-trigger" not in fragment
    assert "1 done (deleted)" in text_of(fragment)


def test_a_job_is_not_found_for_another_reviewer_and_shown_to_who_reads_the_audit_log(
    client, make_user, emulator
):
    job = new_job(make_user("Admin", username="ann"), ["conv_a"])
    client.force_login(make_user("Reviewer"))
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert client.post(f"/jobs/{job.pk}/cancel").status_code == 404
    client.force_login(make_user("Lead"))
    assert client.get(f"/jobs/{job.pk}/").status_code == 200
    assert "ann" in client.get("/jobs/").content.decode()


def test_only_the_owner_cancels_and_pending_items_are_then_not_tried(client, make_user, emulator):
    ids = emulator.conversation_ids()[:3]
    ann = make_user("Admin", username="ann")
    job = new_job(ann, ids)
    client.force_login(make_user("Lead"))
    assert client.post(f"/jobs/{job.pk}/cancel").status_code == 403

    client.force_login(ann)
    response = client.post(f"/jobs/{job.pk}/cancel")

    assert response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.state == "cancelled"
    assert outcomes(job) == ["not_tried"] * 3
    assert jobs.run(str(job.pk)) is None
    assert emulator.calls == []
    assert all(cid in emulator.conversation_ids() for cid in ids)


def test_cancel_is_a_post(client, make_user, emulator):
    admin = make_user("Admin")
    job = new_job(admin, ["conv_a"])
    client.force_login(admin)
    assert client.get(f"/jobs/{job.pk}/cancel").status_code == 405
    assert BulkJob.objects.get().state == "queued"


def test_the_jobs_list_shows_a_person_their_own_jobs_only(client, make_user, emulator):
    admin = make_user("Admin", username="ann")
    theirs = new_job(admin, ["conv_a"])
    reviewer = make_user("Reviewer")
    own = new_job(reviewer, ["conv_b"], kind="status", changes={"status": "passed"})
    client.force_login(reviewer)
    html = client.get("/jobs/").content.decode()
    assert f"/jobs/{own.pk}/" in html
    assert f"/jobs/{theirs.pk}/" not in html
    client.force_login(admin)  # an admin reads the audit log, so sees every job
    html = client.get("/jobs/").content.decode()
    assert f"/jobs/{own.pk}/" in html
    assert f"/jobs/{theirs.pk}/" in html


# End to end, with a real worker


START_JOB = """
import os, uuid
from django.contrib.auth.models import Group, User
from conversations import jobs, tasks
admin = User.objects.create_user("ann", password="a-long-pass-phrase")
admin.groups.add(Group.objects.get(name="Admin"))
job, _ = jobs.create_job(
    job_id=uuid.uuid4(),
    user=admin,
    conversation_ids=os.environ["JOB_IDS"].split(),
    kind="delete",
    reason="e2e",
)
tasks.run_job(str(job.pk), str(job.chain))
print(job.pk)
"""


def job_states(tmp_path):
    with sqlite3.connect(tmp_path / "db.sqlite3", timeout=10) as database:
        job = database.execute("select state from conversations_bulkjob").fetchone()
        items = database.execute(
            "select outcome from conversations_bulkjobitem order by position"
        ).fetchall()
        records = database.execute(
            "select conversation_id, outcome from conversations_auditrecord"
        ).fetchall()
    return job[0] if job else None, [outcome for (outcome,) in items], records


def test_a_real_worker_runs_a_bulk_deletion_to_the_end_waiting_out_a_rate_limit(tmp_path, emulator):
    # The index off: this worker only runs bulk jobs.
    environment = worker_environment(tmp_path, emulator, INDEX_ENABLED="off")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=environment, check=True)
    ids = emulator.conversation_ids()[:5]
    # Longer than the client waits by itself (transport.RETRY_AFTER_CAP): the job waits.
    emulator.set_fault("delete", "429", retry_after=3, times=1)
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [*manage, "run_huey"], cwd=ROOT, env=environment, stdout=log, stderr=log
        )
    try:
        subprocess.run(
            [*manage, "shell", "-c", START_JOB],
            cwd=ROOT,
            env={**environment, "JOB_IDS": " ".join(ids)},
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and job_states(tmp_path)[0] != "done":
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
        state, items, records = job_states(tmp_path)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=15)

    assert (state, items) == ("done", ["done"] * 5), (tmp_path / "worker.log").read_text()
    assert not set(ids) & set(emulator.conversation_ids())
    assert (ids[0], "failed") in records  # the rate limited try, on record
    assert sorted(r for r in records if r[1] == "deleted") == sorted(
        (cid, "deleted") for cid in ids
    )


@pytest.mark.parametrize(("role", "shown"), [("Reviewer", False), ("Lead", True), ("Admin", True)])
def test_the_menu_links_to_the_bulk_jobs_for_those_who_can_start_them(
    as_role, emulator, role, shown
):
    nav = element(as_role(role).get("/").content.decode(), "nav", aria_label="Main")
    assert ('href="/jobs/"' in nav) is shown


def test_a_job_no_worker_picked_up_says_the_worker_may_not_be_running(client, make_user, emulator):
    owner = make_user("Admin")
    client.force_login(owner)
    job = new_job(owner, emulator.conversation_ids()[:1])
    fresh = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Is the worker running?" not in fresh
    five_minutes_ago = timezone.now() - timedelta(minutes=5)
    BulkJob.objects.filter(pk=job.pk).update(created=five_minutes_ago, heartbeat=five_minutes_ago)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Is the worker running?" in text_of(element(page, "section", id="job"))


def test_a_job_waiting_out_a_rate_limit_is_not_taken_for_one_without_a_worker(
    client, make_user, emulator
):
    owner = make_user("Admin")
    client.force_login(owner)
    job = new_job(owner, emulator.conversation_ids()[:1])
    BulkJob.objects.filter(pk=job.pk).update(
        created=timezone.now() - timedelta(minutes=5),
        heartbeat=timezone.now() - timedelta(minutes=5),
        state=BulkJob.State.WAITING,
        wait_until=timezone.now() + timedelta(minutes=10),
    )
    assert "Is the worker running?" not in client.get(f"/jobs/{job.pk}/").content.decode()


def test_jobs_that_ended_long_ago_are_deleted_and_their_audit_records_kept(
    make_user, emulator, settings
):
    settings.JOBS_KEEP_DAYS = 30
    owner = make_user("Admin")
    old, recent, running = (new_job(owner, [f"conv_{n}"]) for n in range(3))
    days_ago = timezone.now() - timedelta(days=31)
    BulkJob.objects.filter(pk=old.pk).update(state=BulkJob.State.DONE, finished=days_ago)
    BulkJob.objects.filter(pk=recent.pk).update(state=BulkJob.State.DONE, finished=timezone.now())
    BulkJob.objects.filter(pk=running.pk).update(state=BulkJob.State.RUNNING, finished=days_ago)
    AuditRecord.objects.create(
        user=owner, username=owner.username, outcome="deleted", conversation_id="conv_0"
    )

    assert jobs.drop_old() == 1

    assert set(BulkJob.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert not BulkJobItem.objects.filter(job_id=old.pk).exists()
    assert AuditRecord.objects.filter(conversation_id="conv_0").exists()
