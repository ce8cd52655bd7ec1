"""Exporting the list with its filters and review state, streamed, and audited."""

import csv
import io
import json
import logging
import tracemalloc

import pytest

from conversations.models import AuditRecord, Review
from emulator.server import Emulator
from tests.conftest import EMULATOR_KEY

pytestmark = pytest.mark.django_db


def body(response):
    return b"".join(response.streaming_content).decode()


def test_csv_export_has_every_column_and_the_review_state(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    ids = emulator.conversation_ids(agent_id)
    Review.objects.create(conversation_id=ids[0], status="flagged", tags=["a", "b"], notes="=cmd")
    response = as_role("Lead").get("/export/", {"format": "csv", "agent": agent_id})
    assert response["Content-Disposition"].startswith('attachment; filename="conversations-')
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [r["conversation_id"] for r in rows] == ids
    first = rows[0]
    assert first["review_status"] == "flagged"
    assert first["tags"] == "a; b"
    assert first["notes"] == "'=cmd"
    raw = emulator.raw(ids[0])
    expected_keys = set(raw.get("collected_data") or raw["analysis"]["data_collection_results"])
    assert set(json.loads(first["collected_data"])) == expected_keys
    assert json.loads(first["evaluation"])


def test_jsonl_export_follows_the_review_filter(as_role, emulator):
    flagged = emulator.conversation_ids()[200]
    Review.objects.create(conversation_id=flagged, status="flagged")
    response = as_role("Admin").get("/export/", {"format": "jsonl", "review": "flagged"})
    records = [json.loads(line) for line in body(response).splitlines()]
    assert [r["conversation_id"] for r in records] == [flagged]
    assert records[0]["review_status"] == "flagged"
    assert isinstance(records[0]["collected_data"], dict)


def test_each_export_writes_an_audit_record_with_the_filter_and_row_count(as_role, emulator):
    agent_id, _ = emulator.agents[1]
    body(as_role("Lead").get("/export/", {"format": "csv", "agent": agent_id}))
    record = AuditRecord.objects.get()
    assert record.outcome == "exported"
    assert record.row_count == len(emulator.conversation_ids(agent_id))
    assert f"agent={agent_id}" in record.detail
    assert record.username == "lead-user"


def test_reviewers_cannot_export(as_role, emulator):
    response = as_role("Reviewer").get("/export/", {"format": "csv"})
    assert response.status_code == 403
    assert emulator.calls == []


def test_an_unknown_format_is_refused(as_role, emulator):
    assert as_role("Lead").get("/export/", {"format": "xlsx"}).status_code == 400


def test_export_progress_is_reported_to_the_page(as_role, emulator):
    lead = as_role("Lead")
    body(lead.get("/export/", {"format": "jsonl", "progress": "tok12345abc"}))
    progress = lead.get("/export/progress", {"token": "tok12345abc"}).json()
    assert progress == {"rows": 240, "done": True, "problem": ""}


def test_a_platform_failure_mid_export_ends_the_file_and_says_so(as_role, emulator):
    emulator.set_fault("list", "503")
    lead = as_role("Lead")
    # The first page fails before anything is sent: the response is still a stream.
    content = body(lead.get("/export/", {"format": "jsonl", "progress": "tok12345abd"}))
    assert content == ""
    progress = lead.get("/export/progress", {"token": "tok12345abd"}).json()
    assert "incomplete" in progress["problem"]
    assert "incomplete" in AuditRecord.objects.get().detail


@pytest.fixture(scope="module")
def big_emulator():
    server = Emulator(port=0, api_key=EMULATOR_KEY, seed=2, conversations=10_000)
    server.start()
    yield server
    server.stop()


def test_exporting_10000_conversations_streams_with_bounded_memory(
    as_role, big_emulator, settings, caplog
):
    settings.XUNA_API_BASE_URL = big_emulator.url
    settings.XUNA_API_KEY = EMULATOR_KEY
    # One log record per upstream call would be kept by the test's log capture.
    caplog.set_level(logging.WARNING, logger="conversations.client")
    response = as_role("Lead").get("/export/", {"format": "jsonl"})
    size, held = 0, {}
    for count, line in enumerate(response.streaming_content, start=1):
        size += len(line)
        if count == 8_000:
            tracemalloc.start()
        if count == 10_000:
            # The in-process emulator keeps a log of every call: that is not the dashboard's.
            ours = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, "*/emulator/*"), tracemalloc.Filter(False, "*/http/*")]
            )
            held = sum(stat.size for stat in ours.statistics("filename"))
            tracemalloc.stop()
    assert count == 10_000
    # 2,000 rows are about 2 MB of output: what is still held of the memory allocated while
    # they were produced is a small, fixed amount (caches and pools), not the rows.
    assert size > 5_000_000
    assert held < 1_000_000
