"""Exporting the list with its filters and review state, streamed, and audited."""

import contextlib
import csv
import io
import json
import logging
import time
import tracemalloc
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conversations import client, export, index, reviews, sync
from conversations.models import (
    AuditRecord,
    Comment,
    IndexedConversation,
    IndexedEvaluation,
    IndexedValue,
    Review,
    SyncState,
)
from conversations.reader import parse_conversation
from emulator.server import Emulator
from tests.helpers import EMULATOR_KEY, row_ids
from tests.index_helpers import NOW, indexed, review

pytestmark = pytest.mark.django_db

BOM = b"\xef\xbb\xbf"


def body(response):
    return b"".join(response.streaming_content).decode()


def table(response):
    """A CSV export's header and rows, after checking that it starts with the byte order mark."""
    content = b"".join(response.streaming_content)
    assert content.startswith(BOM)
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    rows = list(reader)
    return reader.fieldnames, rows


def test_csv_export_has_every_column_and_the_review_state(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    ids = emulator.conversation_ids(agent_id)
    Review.objects.create(conversation_id=ids[0], status="flagged", tags=["a", "b"])
    for body in ("=cmd", "Called back"):
        Comment.objects.create(conversation_id=ids[0], username="ann", body=body, created_at=NOW)
    response = as_role("Lead").get("/export/", {"format": "csv", "agent": agent_id})
    assert response["Content-Disposition"].startswith('attachment; filename="conversations-')
    fieldnames, rows = table(response)
    # Without the index, the criteria and keys are not known before the last row.
    assert fieldnames == [
        "conversation_id",
        "agent_id",
        "agent_name",
        "start_time",
        "end_time",
        "duration_secs",
        "status",
        "outcome",
        "message_count",
        "evaluation",
        "collected_data",
        "qa_scorecard",
        "qa_total",
        "qa_auto_failed",
        "qa_scored_by",
        "qa_answers",
        "review_status",
        "assignee",
        "tags",
        "comments",
        "reviewer",
        "reviewed_at",
        "link",
    ]
    assert [r["conversation_id"] for r in rows] == ids
    first = rows[0]
    assert first["review_status"] == "flagged"
    assert first["tags"] == "a; b"
    assert (first["comments"], rows[1]["comments"]) == ("2", "0")
    assert first["link"] == f"http://testserver/conversations/{ids[0]}/"
    assert int(first["message_count"]) == len(emulator.raw(ids[0])["transcript"])


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
    _, [row] = table(response)
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


def test_a_platform_failure_before_the_first_row_is_an_error_page_not_an_empty_file(
    as_role, emulator
):
    emulator.set_fault("list", "503")
    lead = as_role("Lead")
    # The first row is read before the response starts: no file, an error that says why.
    response = lead.get("/export/", {"format": "jsonl", "progress": "tok12345abd"})
    assert response.status_code == 502
    assert "Content-Disposition" not in response
    progress = lead.get("/export/progress", {"token": "tok12345abd"}).json()
    assert "incomplete" in progress["problem"]
    assert "incomplete" in AuditRecord.objects.get().detail


def test_a_platform_failure_mid_export_aborts_the_file_and_says_so(as_role, emulator):
    lead = as_role("Lead")
    response = lead.get("/export/", {"format": "jsonl", "progress": "tok12345abf"})
    lines = iter(response.streaming_content)
    sent = [next(lines)]  # the first page of the list has been read
    emulator.set_fault("list", "503")
    # The stream ends without its end: the browser shows a failed download.
    with pytest.raises(export.ExportAborted):
        sent.extend(lines)  # keeps the lines read before the failure
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
            # Nor is the local-memory cache, which keeps pages of the listing and is bounded
            # by its own MAX_ENTRIES (300), whatever the export's size.
            ours = tracemalloc.take_snapshot().filter_traces(
                [
                    tracemalloc.Filter(False, "*/emulator/*"),
                    tracemalloc.Filter(False, "*/http/*"),
                    tracemalloc.Filter(False, "*/django/core/cache/backends/locmem.py"),
                ]
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


@pytest.mark.parametrize("number", [-5, -0.25, 0.8, 12])
def test_a_number_is_written_as_a_number_even_a_negative_one(number):
    assert export.csv_cell(number) == str(number)


def test_the_export_quotes_a_formula_hidden_behind_blanks(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    other_id = emulator.conversation_ids()[1]
    Review.objects.create(conversation_id=conversation_id, status="flagged", tags=[" =1+2"])
    Review.objects.create(conversation_id=other_id, status="flagged", tags=["\n=1+3"])
    response = as_role("Lead").get("/export/", {"format": "csv", "review": "flagged"})
    _, rows = table(response)
    tags = {row["conversation_id"]: row["tags"] for row in rows}
    assert tags == {conversation_id: "' =1+2", other_id: "'\n=1+3"}


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


# From the conversation index: every filter, the list's order, no platform call.


@pytest.fixture
def filled():
    """An index whose backfill has reached the end of the history: exports without a filter
    of the dashboard's own read it too."""
    SyncState.objects.create(name=sync.BACKFILL, finished=True)


def index_from(emulator, agent_id=None):
    """Store the emulator's conversations (of one agent) in the index as the worker does; the
    emulator's call log is emptied afterwards. Their ids, newest first."""
    ids = emulator.conversation_ids(agent_id)
    for conversation_id in ids:
        index.store(client.get_conversation(conversation_id, cached=False))
    emulator.clear_calls()
    return ids


def exported(user, fmt="csv", base_url="", **filters):
    """The whole text of an export started as the view starts it."""
    review_filter = reviews.ReviewFilter(**filters)
    lines = export.start(user=user, review_filter=review_filter, fmt=fmt, base_url=base_url)
    with contextlib.closing(lines):
        return "".join(lines)


def test_an_export_from_the_index_makes_no_platform_call(as_role, emulator, filled):
    agent_id, _ = emulator.agents[0]
    ids = index_from(emulator, agent_id)
    lead = as_role("Lead")
    _, rows = table(lead.get("/export/", {"format": "csv"}))
    _, of_agent = table(lead.get("/export/", {"format": "csv", "agent": agent_id}))
    assert [row["conversation_id"] for row in rows] == ids
    assert [row["conversation_id"] for row in of_agent] == ids
    assert emulator.calls == []


def test_a_csv_from_the_index_has_a_column_per_criterion_and_key_of_its_conversations(
    as_role, emulator, filled
):
    indexed(
        "conv_a",
        evaluations={"resolved": "failure", "polite": "success"},
        values={"refund": True, "order": "A-1", "items": 2},
    )
    indexed(
        "conv_b",
        hours_ago=2,
        agent_id="agent_2",
        evaluations={"upsell": "success"},
        values={"coupon": "SPRING"},
    )
    lead = as_role("Lead")
    fieldnames, [row] = table(lead.get("/export/", {"format": "csv", "agent": "agent_1"}))
    added = [name for name in fieldnames if name.startswith(("evaluation", "data"))]
    assert added == [
        "evaluation: polite",
        "evaluation: resolved",
        "data: items",
        "data: order",
        "data: refund",
    ]
    assert (row["evaluation: polite"], row["evaluation: resolved"]) == ("success", "failure")
    assert (row["data: items"], row["data: order"], row["data: refund"]) == ("2", "A-1", "true")
    fieldnames, rows = table(lead.get("/export/", {"format": "csv"}))
    assert {"evaluation: upsell", "data: coupon"} <= set(fieldnames)
    # A conversation without a criterion or a key has an empty cell there.
    assert [(r["evaluation: upsell"], r["data: refund"]) for r in rows] == [
        ("", "true"),
        ("success", ""),
    ]


def test_a_csv_export_starts_with_a_byte_order_mark_and_keeps_names_in_any_script(
    as_role, emulator, filled
):
    agent_id, _ = emulator.agents[0]
    ids = index_from(emulator, agent_id)
    names = {
        conversation_id: value.value
        for conversation_id in ids
        for value in parse_conversation(emulator.raw(conversation_id)).collected_data
        if value.key == "customer_name"
    }
    assert any(not name.isascii() for name in names.values()), "the seed has such names"
    IndexedConversation.objects.filter(pk=ids[0]).update(agent_name="Служба поддержки")
    _, rows = table(as_role("Lead").get("/export/", {"format": "csv"}))
    exported_names = {r["conversation_id"]: r["data: customer_name"] for r in rows}
    assert {cid: name for cid, name in exported_names.items() if name} == names
    assert rows[0]["agent_name"] == "Служба поддержки"


def test_a_csv_export_from_the_platform_starts_with_a_byte_order_mark_too(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    response = as_role("Lead").get("/export/", {"format": "csv", "agent": agent_id})
    assert b"".join(response.streaming_content).startswith(BOM + b"conversation_id,")


def test_a_reviewed_conversation_is_exported_with_who_reviewed_it_when_and_its_link(
    make_user, emulator, filled
):
    indexed("conv_reviewed", hours_ago=1)
    indexed("conv_noted", hours_ago=2)
    ann, bob, lead = make_user("Reviewer", "ann"), make_user("Reviewer", "bob"), make_user("Lead")
    reviews.save_review(conversation_id="conv_reviewed", user=bob, status="follow_up")
    reviews.save_review(conversation_id="conv_reviewed", user=ann, status="flagged")
    # A later change of the tags or the assignee is not a verdict.
    reviews.save_review(conversation_id="conv_reviewed", user=bob, tags=["called back"])
    reviews.save_review(conversation_id="conv_noted", user=bob, tags=["not judged yet"])
    text = exported(lead, base_url="https://review.example.com")
    reviewed, noted = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    flagged_at = reviews.history("conv_reviewed")[1].changed_at
    assert (reviewed["review_status"], reviewed["reviewer"]) == ("flagged", "ann")
    assert reviewed["reviewed_at"] == flagged_at.isoformat()
    assert reviewed["link"] == "https://review.example.com/conversations/conv_reviewed/"
    assert (noted["reviewer"], noted["reviewed_at"]) == ("", "")
    assert noted["link"] == "https://review.example.com/conversations/conv_noted/"


def test_hostile_criteria_keys_and_values_from_the_index_are_quoted(as_role, emulator, filled):
    indexed(
        "conv_hostile",
        evaluations={'=HYPERLINK("http://x")': "failure"},
        values={"@SUM(A1)": " =1+2", "+cmd": "-2+3", "balance": -5},
    )
    response = as_role("Lead").get("/export/", {"format": "csv"})
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    header, cells = list(csv.reader(io.StringIO(content)))
    assert not [name for name in header if export.starts_a_formula(name)]
    row = dict(zip(header, cells, strict=True))
    assert row['evaluation: =HYPERLINK("http://x")'] == "failure"
    assert row["data: @SUM(A1)"] == "' =1+2"
    assert row["data: +cmd"] == "'-2+3"
    # A number is never a formula: it stays a number.
    assert row["data: balance"] == "-5"


def test_an_export_from_the_index_follows_the_lists_filters_and_order(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 100
    for number, seconds in enumerate((30, 300, 30, 45, None, 600)):
        indexed(f"conv_{number}", duration=seconds, hours_ago=number + 1, outcome="failure")
    indexed("conv_success", duration=900, outcome="success")
    review("conv_5", status="passed")
    lead = as_role("Lead")
    params = {"outcome": "failure", "review": "unreviewed", "sort": "longest"}
    listed = row_ids(lead.get("/", params).content.decode())
    _, rows = table(lead.get("/export/", {"format": "csv", **params}))
    assert [row["conversation_id"] for row in rows] == listed
    assert listed == ["conv_1", "conv_3", "conv_2", "conv_0", "conv_4"]


def test_an_export_reads_the_index_in_batches_without_losing_a_tie(
    as_role, emulator, filled, monkeypatch
):
    monkeypatch.setattr(export, "BATCH_SIZE", 3)
    same = NOW - timedelta(hours=2)
    for name in "abcdefg":
        indexed(f"conv_tie_{name}", start_time=same)
    indexed("conv_newer", hours_ago=1)
    indexed("conv_no_start", start_time=None)
    response = as_role("Lead").get("/export/", {"format": "jsonl"})
    ids = [json.loads(line)["conversation_id"] for line in body(response).splitlines()]
    assert ids == ["conv_newer", *(f"conv_tie_{n}" for n in "gfedcba"), "conv_no_start"]


def test_a_conversation_deleted_or_being_deleted_is_not_exported(as_role, emulator, filled):
    for number in range(4):
        indexed(f"conv_{number}", hours_ago=number + 1)
    AuditRecord.objects.create(conversation_id="conv_1", outcome="deleted", username="x")
    AuditRecord.objects.create(conversation_id="conv_2", outcome="found_gone", username="worker")
    # An attempt whose outcome is not recorded yet: the platform may have deleted it.
    AuditRecord.objects.create(conversation_id="conv_3", outcome="attempted", username="x")
    _, rows = table(as_role("Lead").get("/export/", {"format": "csv"}))
    assert [row["conversation_id"] for row in rows] == ["conv_0"]


def test_a_platform_export_leaves_out_a_conversation_being_deleted(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    first, *rest = emulator.conversation_ids(agent_id)
    AuditRecord.objects.create(conversation_id=first, outcome="attempted", username="x")
    response = as_role("Lead").get("/export/", {"format": "jsonl", "agent": agent_id})
    assert [json.loads(line)["conversation_id"] for line in body(response).splitlines()] == rest


def reviewed_rows(first, last):
    """Indexed conversations first..last-1, each with evaluations, values and a verdict."""
    for number in range(first, last):
        indexed(
            f"conv_{number:04d}",
            hours_ago=number + 1,
            evaluations={"resolved": "success", f"only_{number % 7}": "failure"},
            values={"refund": number, "name": f"Chloé {number}"},
        )
        review(f"conv_{number:04d}", status="passed", tags=["a"])


def test_an_export_from_the_index_costs_the_same_queries_for_300_rows_as_for_30(
    make_user, emulator, filled
):
    lead = make_user("Lead")
    reviewed_rows(0, 30)
    with CaptureQueriesContext(connection) as few:
        assert exported(lead).count("\r\n") == 31
    reviewed_rows(30, 300)
    with CaptureQueriesContext(connection) as many:
        assert exported(lead).count("\r\n") == 301
    assert len(many) == len(few)
    assert emulator.calls == []


def test_a_jsonl_export_from_the_index_nests_the_evaluation_and_the_collected_data(
    make_user, emulator, filled
):
    row = IndexedConversation.objects.get(
        pk=indexed("conv_json", values={"address": {"city": "Kraków"}, "refund": 12.5})
    )
    IndexedEvaluation.objects.create(
        conversation=row, criterion="politeness", score=0.8, rationale="Kind throughout."
    )
    reviews.save_review(
        conversation_id="conv_json", user=make_user("Lead", "lena"), status="passed"
    )
    text = exported(make_user("Admin"), fmt="jsonl")
    assert text.startswith("{")
    [record] = [json.loads(line) for line in text.splitlines()]
    assert record["evaluation"] == {
        "politeness": {"result": None, "score": 0.8, "rationale": "Kind throughout."}
    }
    assert record["collected_data"] == {"address": {"city": "Kraków"}, "refund": 12.5}
    assert (record["outcome"], record["message_count"]) == ("success", 4)
    assert record["end_time"] == (row.start_time + timedelta(seconds=60)).isoformat()
    assert (record["reviewer"], record["link"]) == ("lena", "/conversations/conv_json/")
    assert record["reviewed_at"]


def test_a_conversation_whose_detail_was_not_read_has_no_message_count(make_user, emulator, filled):
    indexed("conv_summary_only", detailed=False, message_count=0)
    [record] = [json.loads(line) for line in exported(make_user("Lead"), "jsonl").splitlines()]
    assert record["message_count"] is None


def test_with_the_index_turned_off_an_export_asks_the_platform(as_role, emulator, settings):
    settings.INDEX_ENABLED = False
    agent_id, _ = emulator.agents[0]
    indexed("conv_only_indexed")
    response = as_role("Lead").get("/export/", {"format": "csv", "agent": agent_id})
    fieldnames, rows = table(response)
    assert [row["conversation_id"] for row in rows] == emulator.conversation_ids(agent_id)
    assert "evaluation" in fieldnames
    assert emulator.calls


def test_exporting_10000_conversations_from_the_index_holds_a_batch_not_the_export(
    as_role, emulator, filled
):
    IndexedConversation.objects.bulk_create(
        IndexedConversation(
            conversation_id=f"conv_{number:05d}",
            agent_id="agent_1" if number % 5 else "agent_2",
            agent_name="Служба поддержки",
            start_time=NOW - timedelta(minutes=number),
            duration=60.0,
            status="done",
            detailed=True,
            message_count=12,
            indexed_at=NOW,
        )
        for number in range(10_000)
    )
    IndexedEvaluation.objects.bulk_create(
        IndexedEvaluation(conversation_id=f"conv_{number:05d}", criterion=name, result="success")
        for number in range(10_000)
        for name in ("resolved", "polite")
    )
    IndexedValue.objects.bulk_create(
        IndexedValue(conversation_id=f"conv_{number:05d}", key="name", value="Chloé", text="Chloé")
        for number in range(10_000)
    )
    lead = as_role("Lead")

    def peak(params):
        """The most memory held at once while the export streams, and its number of lines."""
        tracemalloc.start()
        count = sum(1 for _ in lead.get("/export/", {"format": "csv", **params}).streaming_content)
        held = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return held, count

    peak({"agent": "agent_none"})  # what the first export of a process loads once
    small, small_lines = peak({"agent": "agent_2"})
    large, large_lines = peak({})
    assert (small_lines, large_lines) == (2_001, 10_001)
    # Five times the rows, not five times the memory: a batch is held, not the export.
    assert large < small * 1.5
    assert emulator.calls == []


# Bounded columns: platform data may have any number of distinct criteria and keys.


def test_a_csv_has_columns_for_the_100_most_frequent_keys_and_one_for_the_rest(
    as_role, emulator, filled
):
    keys = [f"key_{number:03d}" for number in range(150)]
    indexed("conv_all", hours_ago=1, values=dict.fromkeys(keys, "x"))
    # These ten are in two conversations: the most frequent, whatever their names.
    indexed("conv_some", hours_ago=2, values=dict.fromkeys(keys[140:], "y"))
    fieldnames, rows = table(as_role("Lead").get("/export/", {"format": "csv"}))
    data = [name for name in fieldnames if name.startswith("data: ")]
    assert data == [f"data: {key}" for key in keys[140:] + keys[:90]] + ["data: other"]
    every, some = rows
    assert json.loads(every["data: other"]) == dict.fromkeys(keys[90:140], "x")
    assert (every["data: key_000"], every["data: key_149"]) == ("x", "x")
    # One whose values all have a column has nothing left over.
    assert some["data: other"] == ""
    assert "evaluation: other" not in fieldnames


def test_a_csv_has_columns_for_the_100_most_frequent_criteria_and_one_for_the_rest(
    as_role, emulator, filled
):
    criteria = [f"criterion_{number:03d}" for number in range(150)]
    indexed("conv_all", evaluations=dict.fromkeys(criteria, "success"))
    fieldnames, [row] = table(as_role("Lead").get("/export/", {"format": "csv"}))
    columns = [name for name in fieldnames if name.startswith("evaluation: ")]
    assert columns == [f"evaluation: {name}" for name in criteria[:100]] + ["evaluation: other"]
    assert json.loads(row["evaluation: other"]) == dict.fromkeys(criteria[100:], "success")
    assert "data: other" not in fieldnames


# Where an export reads its conversations is where the list reads them.

NEEDS_INDEX = "This export needs the conversation index for: evaluation criterion, sort order."


@pytest.mark.parametrize("index_on", [False, True], ids=["turned off", "empty"])
def test_an_export_filtered_by_what_only_the_index_knows_is_refused_without_it(
    as_role, emulator, settings, index_on
):
    settings.INDEX_ENABLED = index_on
    lead = as_role("Lead")
    params = {"format": "csv", "criterion": "resolved", "sort": "longest", "progress": "tok12345"}
    response = lead.get("/export/", params)
    assert response.status_code == 400
    assert NEEDS_INDEX in response.content.decode()
    progress = lead.get("/export/progress", {"token": "tok12345"}).json()
    assert progress["done"]
    assert NEEDS_INDEX in progress["problem"]
    assert not AuditRecord.objects.exists()
    assert emulator.calls == []


def test_an_unfiltered_export_reads_the_platform_while_the_backfill_runs(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    # The index holds only what the backfill has reached so far.
    indexed("conv_only_indexed", agent_id=agent_id)
    _, rows = table(as_role("Lead").get("/export/", {"format": "csv", "agent": agent_id}))
    assert [row["conversation_id"] for row in rows] == emulator.conversation_ids(agent_id)
    assert export.PARTIAL not in AuditRecord.objects.get().detail


def test_a_filtered_export_while_the_backfill_runs_says_it_may_miss_older_conversations(
    as_role, emulator
):
    indexed("conv_flagged")
    review("conv_flagged", status="flagged")
    lead = as_role("Lead")
    params = {"format": "csv", "review": "flagged", "progress": "tok12345"}
    _, rows = table(lead.get("/export/", params))
    assert [row["conversation_id"] for row in rows] == ["conv_flagged"]
    assert emulator.calls == []
    assert AuditRecord.objects.get().detail.endswith(
        "; the index was still being filled: older conversations may be missing"
    )
    progress = lead.get("/export/progress", {"token": "tok12345"}).json()
    assert progress == {"rows": 1, "done": True, "problem": export.PARTIAL}


def test_a_filtered_export_from_a_filled_index_says_nothing_is_missing(as_role, emulator, filled):
    indexed("conv_flagged")
    review("conv_flagged", status="flagged")
    body(as_role("Lead").get("/export/", {"format": "csv", "review": "flagged"}))
    assert AuditRecord.objects.get().detail == "csv; filter: review=flagged"
