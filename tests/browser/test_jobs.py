"""A bulk deletion in a real browser: confirmed in the dialog, followed live on the job's page.

No worker runs beside the live server, so Huey runs a queued task at once in the thread that
queued it (the live server's), and the test runs the slice after a wait itself, as the worker
would: both share the test's database.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conversations import jobs
from conversations.models import AuditRecord, BulkJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_deletes_a_selection_and_watches_the_job_finish(
    login, emulator, tasks_run_at_once
):
    ids = emulator.conversation_ids()[:3]
    page = login("Admin")
    # Script errors and policy violations (the page polls with htmx, no inline script).
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    for conversation_id in ids:
        page.locator(f"#row-{conversation_id} input[name=ids]").check()
    expect(page.locator("#bulk .selected-count")).to_have_text("3 selected")
    page.get_by_role("button", name="Delete…").click()
    dialog = page.locator("dialog#bulk-delete-dialog")
    expect(dialog).to_contain_text("Delete 3 conversations permanently?")

    # The platform asks for a pause before the first deletion: the job waits on the server.
    emulator.set_fault("delete", "429", retry_after=30, times=1)
    dialog.get_by_label("Reason").fill("customer asked")
    dialog.get_by_role("button", name="Delete 3 permanently").dblclick()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    job = page.locator("#job")
    expect(job).to_contain_text("Waiting 30 s: the platform asked us to slow down.")
    expect(job).to_contain_text("0 done (deleted)")
    [started] = BulkJob.objects.all()

    # The wait is over: the worker's next slice runs, and the open page shows it by itself.
    jobs.run(str(started.pk), clock=lambda: timezone.now() + timedelta(seconds=31))
    expect(job).to_contain_text("3 done (deleted)", timeout=5000)
    expect(job.locator(".badge.job-done")).to_have_text("Done")
    expect(page.get_by_role("button", name="Cancel the rest")).to_have_count(0)
    for position, conversation_id in enumerate(ids):
        expect(page.locator(f"#item-{position}")).to_contain_text(conversation_id)
    assert AuditRecord.objects.filter(outcome="deleted").count() == 3
    assert not set(ids) & set(emulator.conversation_ids())
    assert errors == []
