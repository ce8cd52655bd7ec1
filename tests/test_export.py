"""Exporting the list with its filters and review state, streamed, and audited."""

import csv
import io
import json
import logging
import time
import tracemalloc

import pytest
from django.test import Client

from conversations import export
from conversations.models import AuditRecord, Review
from emulator.server import Emulator
from tests.helpers import EMULATOR_KEY

pytestmark = pytest.mark.django_db


def body(response):
    return b"".join(response.streaming_content).decode()


def test_csv_export_has_every_column_and_the_review_state(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    ids = emulator.conversation_ids(agent_id)
    Review.objects.create(conversation_id=ids[0], status="flagged", tags=["a", "b"], notes="=cmd")
    response = as_role("Lead").get("/export/", {"format": "csv", "agent": agent_id})
    assert response["Content-Disposition"].startswith('attachment; filename="conversations-')
    reader = csv.DictReader(io.StringIO(body(response)))
    rows = list(reader)
    assert reader.fieldnames == [
        "conversation_id",
        "agent_id",
        "agent_name",
        "start_time",
        "end_time",
        "duration_secs",
        "status",
        "evaluation",
        "collected_data",
        "review_status",
        "assignee",
        "tags",
        "notes",
    ]
    assert [r["conversation_id"] for r in rows] == ids
    first = rows[0]
    assert first["review_status"] == "flagged"
    assert first["tags"] == "a; b"
    assert first["notes"] == "'=cmd"


def test_an_exported_row_holds_the_evaluation_results_and_the_collected_values(as_role, emulator):
    emulator.add_conversation(
        {
            "conversation_id": "conv_export",
            "agent_id": "agent_export",
            "metadata": {"start_time": "2026-11-01T10:00:00Z", "duration": 30},
            "transcript": [],
            "evaluation_results": {
                "issue_resolved": {"result": "failure"},
                "politeness": {"score": 0.8},
            },
            "collected_data": {
                "order_number": {"value": "A-24734"},
                "refund": {"value": 12.5},
                "callback": {"value": False},
            },
        }
    )
    response = as_role("Lead").get("/export/", {"format": "csv", "agent": "agent_export"})
    [row] = csv.DictReader(io.StringIO(body(response)))
    assert json.loads(row["evaluation"]) == {"issue_resolved": "failure", "politeness": 0.8}
    assert json.loads(row["collected_data"]) == {
        "order_number": "A-24734",
        "refund": 12.5,
        "callback": False,
    }


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


def test_a_platform_failure_before_the_first_row_gives_an_empty_file_that_says_so(
    as_role, emulator
):
    emulator.set_fault("list", "503")
    lead = as_role("Lead")
    # The first page fails before anything is sent: the response is still a stream.
    content = body(lead.get("/export/", {"format": "jsonl", "progress": "tok12345abd"}))
    assert content == ""
    progress = lead.get("/export/progress", {"token": "tok12345abd"}).json()
    assert "incomplete" in progress["problem"]
    assert "incomplete" in AuditRecord.objects.get().detail


def test_a_platform_failure_mid_export_ends_the_file_and_says_so(as_role, emulator):
    lead = as_role("Lead")
    response = lead.get("/export/", {"format": "jsonl", "progress": "tok12345abf"})
    lines = iter(response.streaming_content)
    sent = [next(lines)]  # the first page of the list has been read
    emulator.set_fault("list", "503")
    sent += list(lines)
    assert 0 < len(sent) < len(emulator.conversation_ids())
    assert all(json.loads(line)["conversation_id"] for line in sent)
    progress = lead.get("/export/progress", {"token": "tok12345abf"}).json()
    assert progress["rows"] == len(sent)
    assert "incomplete" in progress["problem"]
    record = AuditRecord.objects.get()
    assert record.row_count == len(sent)
    assert "incomplete" in record.detail


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
    caplog.set_level(logging.WARNING, logger="conversations.transport")
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


FORMULAS = {
    "a space first": " =1+2",
    "a line break first": "\n=1+3",
    "a tab and spaces first": "\t  +1+4",
    "a full-width equals sign": "＝1+5",
    "a full-width plus sign": "＋1+6",
    "a full-width minus sign": "－1+7",
    "a full-width at sign": "＠SUM(A1)",
    "a carriage return": "\r1+8",
}


@pytest.mark.parametrize("text", FORMULAS.values(), ids=FORMULAS.keys())
def test_a_cell_a_spreadsheet_would_run_is_quoted(text):
    assert export.csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["1+2", "  plain words", "a=b", "\n\n", ""])
def test_a_cell_that_is_no_formula_is_written_as_it_is(text):
    assert export.csv_cell(text) == text


def test_the_export_quotes_a_formula_hidden_behind_blanks(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    Review.objects.create(
        conversation_id=conversation_id, status="flagged", notes="\n=1+3", tags=[" =1+2"]
    )
    response = as_role("Lead").get("/export/", {"format": "csv", "review": "flagged"})
    [row] = csv.DictReader(io.StringIO(body(response)))
    assert row["notes"] == "'\n=1+3"
    assert row["tags"] == "' =1+2"


def test_the_audit_csv_quotes_a_formula_hidden_behind_blanks(as_role):
    AuditRecord.objects.create(
        conversation_id="conv_1", username="ann", outcome="deleted", reason="＝1+5"
    )
    response = as_role("Lead").get("/audit/", {"format": "csv"})
    [row] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert row["reason"] == "'＝1+5"


# Only a few exports run at once: EXPORT_MAX_PER_USER per user, EXPORT_MAX_TOTAL in all.


@pytest.fixture
def lead(make_user, emulator):
    """A client logged in as a new Lead, one per user name."""

    def login(username):
        client = Client()
        client.force_login(make_user("Lead", username=username))
        return client

    return login


def start_export(client, emulator, headers=None, **params):
    """An export that has answered: it runs until its body has been read."""
    params = {"format": "jsonl", "agent": emulator.agents[0][0], **params}
    return client.get("/export/", params, headers=headers)


def test_a_second_export_by_the_same_user_waits_until_the_first_has_finished(lead, emulator):
    lena = lead("lena")
    first = start_export(lena, emulator).streaming_content
    next(first)
    refused = start_export(lena, emulator)
    assert refused.status_code == 429
    assert "You already have an export running" in refused.content.decode()
    assert "<html" in refused.content.decode()
    b"".join(first)
    again = start_export(lena, emulator)
    assert again.status_code == 200
    assert body(again)


def test_a_refused_export_asked_by_htmx_gets_a_fragment(lead, emulator):
    lena = lead("lena")
    start_export(lena, emulator)
    refused = start_export(lena, emulator, headers={"HX-Request": "true"})
    assert refused.status_code == 429
    assert "<html" not in refused.content.decode()
    assert "You already have an export running" in refused.content.decode()


def test_a_refused_export_tells_the_list_page_why(lead, emulator):
    lena = lead("lena")
    start_export(lena, emulator)
    start_export(lena, emulator, progress="tok12345abe")
    progress = lena.get("/export/progress", {"token": "tok12345abe"}).json()
    assert progress["done"]
    assert "You already have an export running" in progress["problem"]


def test_no_more_exports_than_the_total_run_at_once_whoever_starts_them(lead, emulator, settings):
    settings.EXPORT_MAX_TOTAL = 2
    running = [start_export(lead(name), emulator) for name in ("lena", "luis")]
    mira = lead("mira")
    refused = start_export(mira, emulator)
    assert refused.status_code == 429
    assert "Other exports are running now" in refused.content.decode()
    body(running[0])
    assert start_export(mira, emulator).status_code == 200


def test_an_export_the_browser_left_early_frees_its_place(make_user, emulator):
    ended = []

    def lines():
        try:
            yield "a line\n"
            yield "another line\n"
        finally:
            ended.append(True)

    lena = make_user("Lead", username="lena")
    stream = export.slot_take(user=lena, lines=lines())
    next(stream)
    # When the browser goes away, the server closes the response, which closes the stream.
    stream.close()
    assert ended
    assert export.slot_take(user=lena, lines=iter([]))


def test_an_export_closed_before_its_first_line_frees_its_place(make_user, emulator):
    lena = make_user("Lead", username="lena")
    export.slot_take(user=lena, lines=iter(["never read"])).close()
    assert export.slot_take(user=lena, lines=iter([]))


def test_the_place_of_an_export_whose_process_died_expires(lead, emulator, monkeypatch):
    monkeypatch.setattr(export, "SLOT_SECONDS", 1)
    lena = lead("lena")
    start_export(lena, emulator)
    assert start_export(lena, emulator).status_code == 429
    time.sleep(1.1)
    assert start_export(lena, emulator).status_code == 200


def test_a_long_export_keeps_its_place_while_it_streams(lead, emulator, monkeypatch):
    monkeypatch.setattr(export, "SLOT_SECONDS", 1)
    lena = lead("lena")
    lines = start_export(lena, emulator).streaming_content
    for _ in range(4):
        next(lines)
        time.sleep(0.4)
    assert start_export(lena, emulator).status_code == 429
    assert b"".join(lines)
