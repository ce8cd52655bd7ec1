"""Scores in exports: the CSV's qa columns and one column per scorecard criterion, the JSON
Lines' scores with their answers and notes, a few queries a batch, and cells made safe."""

import contextlib
import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import export, reviews, sync
from conversations.models import SyncState
from tests.index_helpers import indexed
from tests.score_helpers import scorecard, scored

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(db):
    """An index whose backfill has reached the end of the history."""
    SyncState.objects.create(name=sync.BACKFILL, finished=True)


def exported(user, fmt="csv", **filters):
    review_filter = reviews.ReviewFilter(**filters)
    lines = export.start(user=user, review_filter=review_filter, fmt=fmt)
    with contextlib.closing(lines):
        return "".join(lines)


def table(text):
    reader = csv.DictReader(io.StringIO(text.removeprefix(export.BOM)))
    rows = list(reader)
    return reader.fieldnames, {row["conversation_id"]: row for row in rows}


def qa_columns(fieldnames):
    return [name for name in fieldnames if name.startswith("qa")]


def test_a_csv_has_the_current_score_and_a_column_per_criterion_of_the_exported_calls(
    make_user, emulator, filled
):
    indexed("conv_0")
    indexed("conv_1", hours_ago=2)
    indexed("conv_2", hours_ago=3)
    card = scorecard("Sales", {"greeting": "Greeting", "tone": "Tone", "unused": "Unused"})
    scored("conv_0", card, 87.5, {"greeting": "pass", "tone": "4"})
    scored("conv_1", card, 0, {"greeting": "fail"}, auto_failed=True)
    scored("conv_2", card, 40, {"greeting": "fail", "tone": "1"}, current=False)
    fieldnames, rows = table(exported(make_user("Lead")))
    assert qa_columns(fieldnames) == [
        "qa_scorecard",
        "qa_total",
        "qa_auto_failed",
        "qa_scored_by",
        "qa: Greeting",
        "qa: Tone",
    ]
    # The scores come after the platform's data and before the review.
    assert fieldnames.index("qa_scorecard") < fieldnames.index("review_status")
    first = rows["conv_0"]
    assert [first[name] for name in qa_columns(fieldnames)] == [
        "Sales",
        "87.5",
        "no",
        "rita",
        "pass",
        "4",
    ]
    assert [rows["conv_1"][name] for name in qa_columns(fieldnames)] == [
        "Sales",
        "0",
        "yes",
        "rita",
        "fail",
        "",
    ]
    # Only a current score counts: conv_2's old one is not exported.
    assert {rows["conv_2"][name] for name in qa_columns(fieldnames)} == {""}


def test_a_criterion_keeps_its_column_across_versions_under_its_newest_name(
    make_user, emulator, filled
):
    indexed("conv_0")
    indexed("conv_1", hours_ago=2)
    card = scorecard("Sales", {"greeting": "Greeting"})
    scored("conv_0", card, 100, {"greeting": "pass"})
    scorecard("Sales", {"greeting": "Opening"}, number=2, card=card)
    scored("conv_1", card, 0, {"greeting": "fail"})
    fieldnames, rows = table(exported(make_user("Lead")))
    assert qa_columns(fieldnames)[4:] == ["qa: Opening"]
    assert (rows["conv_0"]["qa: Opening"], rows["conv_1"]["qa: Opening"]) == ("pass", "fail")


def test_with_several_scorecards_a_csv_row_has_the_highest_or_the_filtered_scorecards_score(
    make_user, emulator, filled
):
    indexed("conv_0")
    sales = scorecard("Sales", {"greeting": "Greeting"})
    support = scorecard("Support", {"empathy": "Empathy"})
    scored("conv_0", sales, 60, {"greeting": "fail"})
    scored("conv_0", support, 90, {"empathy": "pass"})
    lead = make_user("Lead")
    fieldnames, rows = table(exported(lead))
    assert (rows["conv_0"]["qa_scorecard"], rows["conv_0"]["qa: Empathy"]) == ("Support", "pass")
    # Its other scorecard's criteria are left empty rather than mixed into this score's.
    assert rows["conv_0"]["qa: Greeting"] == ""
    fieldnames, rows = table(exported(lead, scorecard=sales.pk))
    assert qa_columns(fieldnames)[4:] == ["qa: Greeting"]
    assert (rows["conv_0"]["qa_scorecard"], rows["conv_0"]["qa: Greeting"]) == ("Sales", "fail")


def test_two_criteria_of_one_name_get_columns_that_say_which(make_user, emulator, filled):
    indexed("conv_0")
    card = scorecard("Sales", {"greeting": "Greeting", "hello": "Greeting"})
    scored("conv_0", card, 50, {"greeting": "pass", "hello": "fail"})
    fieldnames, rows = table(exported(make_user("Lead")))
    assert qa_columns(fieldnames)[4:] == ["qa: Greeting (greeting)", "qa: Greeting (hello)"]
    assert rows["conv_0"]["qa: Greeting (hello)"] == "fail"


def test_a_scorecard_named_like_a_formula_is_quoted_and_no_criterion_column_starts_one(
    make_user, emulator, filled
):
    indexed("conv_0")
    card = scorecard("=HYPERLINK(1)", {"greeting": "=cmd|' /C calc'!A0", "tone": "+Tone"})
    scored("conv_0", card, 50, {"greeting": ("pass", "=2+2"), "tone": "na"})
    text = exported(make_user("Lead"))
    header = next(csv.reader(io.StringIO(text.removeprefix(export.BOM))))
    assert "qa: =cmd|' /C calc'!A0" in header
    assert "'+Tone" not in header
    _, rows = table(text)
    assert rows["conv_0"]["qa_scorecard"] == "'=HYPERLINK(1)"
    assert rows["conv_0"]["qa: +Tone"] == "na"
    assert "=2+2" not in text


def test_a_csv_has_columns_for_the_100_most_answered_criteria_and_one_for_the_rest(
    make_user, emulator, filled
):
    criteria = {f"c{number:03}": f"C {number:03}" for number in range(export.COLUMNS_MAX + 2)}
    card = scorecard("Wide", criteria)
    indexed("conv_0")
    indexed("conv_1", hours_ago=2)
    scored("conv_0", card, 50, dict.fromkeys(criteria, "pass"))
    scored("conv_1", card, 50, {"c101": "fail"})
    fieldnames, rows = table(exported(make_user("Lead")))
    named = [name for name in fieldnames if name.startswith("qa: ")]
    # c101, answered twice, comes first; the rest by key, until there is no room.
    assert named[:2] == ["qa: C 101", "qa: C 000"]
    assert len(named) == export.COLUMNS_MAX + 1
    assert named[-1] == "qa: other"
    assert json.loads(rows["conv_0"]["qa: other"]) == {"c099": "pass", "c100": "pass"}
    assert rows["conv_1"]["qa: other"] == ""


def test_a_csv_from_the_platform_has_the_answers_in_one_json_column(make_user, emulator, settings):
    settings.INDEX_ENABLED = False
    agent_id, _ = emulator.agents[0]
    [first, *_] = emulator.conversation_ids(agent_id)
    card = scorecard("Sales", {"greeting": "Greeting", "tone": "Tone"})
    scored(first, card, 75, {"greeting": "pass", "tone": "3"})
    fieldnames, rows = table(exported(make_user("Lead"), agent_id=agent_id))
    assert qa_columns(fieldnames) == [
        "qa_scorecard",
        "qa_total",
        "qa_auto_failed",
        "qa_scored_by",
        "qa_answers",
    ]
    assert (rows[first]["qa_scorecard"], rows[first]["qa_total"]) == ("Sales", "75")
    assert json.loads(rows[first]["qa_answers"]) == {"greeting": "pass", "tone": "3"}


def test_a_jsonl_record_carries_every_current_score_with_its_answers_and_notes(
    make_user, emulator, filled
):
    indexed("conv_0")
    indexed("conv_1", hours_ago=2)
    sales = scorecard("Sales", {"greeting": "Greeting", "tone": "Tone"})
    support = scorecard("Support", {"empathy": "Empathy"})
    scored("conv_0", sales, 62.5, {"greeting": ("fail", "No name given"), "tone": "4"})
    scored("conv_0", support, 100, {"empathy": "pass"})
    scored("conv_0", support, 10, {"empathy": "fail"}, current=False)
    text = exported(make_user("Lead"), fmt="jsonl")
    records = {record["conversation_id"]: record for record in map(json.loads, text.splitlines())}
    assert records["conv_0"]["scores"] == [
        {
            "scorecard": "Support",
            "version": 1,
            "total": 100,
            "auto_failed": False,
            "scored_by": "rita",
            "answers": {"empathy": {"value": "pass", "note": ""}},
        },
        {
            "scorecard": "Sales",
            "version": 1,
            "total": 62.5,
            "auto_failed": False,
            "scored_by": "rita",
            "answers": {
                "greeting": {"value": "fail", "note": "No name given"},
                "tone": {"value": "4", "note": ""},
            },
        },
    ]
    assert records["conv_1"]["scores"] == []


def test_a_score_filter_and_sort_apply_to_an_export(make_user, emulator, filled):
    card = scorecard("Sales", {"greeting": "Greeting"})
    for number, total in enumerate((70, 90, 30, None)):
        indexed(f"conv_{number}", hours_ago=number + 1)
        if total is not None:
            scored(f"conv_{number}", card, total, {"greeting": "pass"})
    text = exported(make_user("Lead"), score_min=50.0, sort="score_low")
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["conv_0", "conv_1"]


def test_scores_cost_the_same_queries_for_300_rows_as_for_30(make_user, emulator, filled):
    card = scorecard("Sales", {"greeting": "Greeting", "tone": "Tone"})

    def calls(start, end):
        for number in range(start, end):
            conversation_id = indexed(f"conv_{number:04}", hours_ago=number + 1)
            scored(conversation_id, card, 50, {"greeting": "pass", "tone": ("fail", "x")})

    lead = make_user("Lead")
    calls(0, 30)
    with CaptureQueriesContext(connection) as few:
        assert exported(lead).count("\r\n") == 31
    calls(30, 300)
    with CaptureQueriesContext(connection) as many:
        assert exported(lead).count("\r\n") == 301
    assert len(many) == len(few)
    assert sum('"conversations_score"' in query["sql"] for query in many) == 2
