"""The tolerant reader: every shape the platform sends becomes dataclasses plus problems."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.exceptions import UpstreamUnavailable, XunaError
from conversations.reader import (
    CallerFeedback,
    CollectedValue,
    Conversation,
    ConversationPage,
    EvaluationResult,
    ToolCall,
    Turn,
    parse_conversation,
    parse_page,
)

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def read(**fields):
    return parse_conversation({"conversation_id": "conv_1", **fields})


def read_turn(**turn):
    return read(transcript=[turn])


def read_evaluation(results):
    return read(evaluation_results=results).evaluation


# The two shapes of a detail, and a list summary


def test_it_reads_the_documented_detail_shape():
    conversation = parse_conversation(
        {
            "conversation_id": "conv_1",
            "agent_id": "agent_1",
            "status": "done",
            "audio": "https://api.xuna.ai/v1/convai/conversations/conv_1/audio",
            "metadata": {
                "start_time": "2024-05-01T10:00:00Z",
                "end_time": "2024-05-01T10:01:30Z",
                "duration": 90,
                "agent_id": "agent_1",
                "agent_name": "Support bot",
            },
            "transcript": [
                {"speaker": "agent", "text": "Hello", "timestamp": 0.0},
                {"speaker": "user", "text": "Hi", "timestamp": 1.5},
            ],
            "evaluation_results": {
                "polite": {"result": "success", "feedback": "Kind throughout."},
                "accuracy": {"score": 0.75, "feedback": "One slip."},
            },
            "collected_data": {"city": {"value": "Oslo", "rationale": "User said so."}},
        }
    )

    assert conversation == Conversation(
        id="conv_1",
        agent_id="agent_1",
        agent_name="Support bot",
        status="done",
        start_time=START,
        end_time=START + timedelta(seconds=90),
        duration=90.0,
        audio_url="https://api.xuna.ai/v1/convai/conversations/conv_1/audio",
        call_successful=None,
        transcript=(Turn("agent", "Hello", 0.0), Turn("user", "Hi", 1.5)),
        evaluation=(
            EvaluationResult("polite", "success", None, "Kind throughout."),
            EvaluationResult("accuracy", None, 0.75, "One slip."),
        ),
        collected_data=(CollectedValue("city", "Oslo", "User said so."),),
        problems=(),
    )


def test_it_reads_the_wild_detail_shape():
    conversation = parse_conversation(
        {
            "conversation_id": "conv_2",
            "agent_id": "agent_1",
            "status": "failed",
            "audio": None,
            "metadata": {"start_time_unix_secs": int(START.timestamp()), "call_duration_secs": 60},
            "transcript": [{"role": "user", "message": "Hello?", "time_in_call_secs": 3}],
            "analysis": {
                "evaluation_criteria_results": {
                    "polite": {"criteria_id": "polite", "result": "failure", "rationale": "Rude."}
                },
                "data_collection_results": {
                    "city": {"data_collection_id": "city", "value": None, "rationale": "Unsaid."}
                },
            },
        }
    )

    assert conversation.start_time == START
    assert conversation.end_time == START + timedelta(seconds=60)
    assert conversation.duration == 60.0
    assert conversation.transcript == (Turn("user", "Hello?", 3.0),)
    assert conversation.evaluation == (EvaluationResult("polite", "failure", None, "Rude."),)
    assert conversation.collected_data == (CollectedValue("city", None, "Unsaid."),)
    assert conversation.problems == ()


def test_it_reads_a_list_summary():
    conversation = parse_conversation(
        {
            "conversation_id": "conv_3",
            "agent_id": "agent_1",
            "agent_name": "Support bot",
            "status": "done",
            "call_successful": "success",
            "message_count": 4,
            "metadata": {"start_time": "2024-05-01T10:00:00Z", "duration": 30},
        }
    )

    assert conversation.agent_name == "Support bot"
    assert conversation.call_successful == "success"
    assert conversation.end_time == START + timedelta(seconds=30)
    assert conversation.problems == ()


# Identity


def test_it_takes_the_id_from_id_when_conversation_id_is_absent():
    assert parse_conversation({"id": "conv_9"}).id == "conv_9"


@pytest.mark.parametrize(
    "data",
    [{}, {"conversation_id": ""}, {"conversation_id": "a/b"}, {"id": 7}, {"id": None}],
    ids=["missing", "empty", "slash", "number", "null"],
)
def test_it_raises_upstream_unavailable_without_a_usable_id(data):
    with pytest.raises(UpstreamUnavailable, match="usable id"):
        parse_conversation(data)


@pytest.mark.parametrize("data", [[], "conv_1", 1, None, True])
def test_it_raises_upstream_unavailable_for_a_conversation_that_is_not_an_object(data):
    with pytest.raises(UpstreamUnavailable, match="not a JSON object"):
        parse_conversation(data)


def test_it_ignores_unknown_fields():
    conversation = read(surprise={"nested": [1, 2]}, metadata={"new_field": True})

    assert conversation.problems == ()


# Transcript


@pytest.mark.parametrize("key", ["speaker", "role", "speaker_label"])
def test_it_reads_the_speaker_from_each_alias(key):
    assert read_turn(**{key: "agent", "text": "Hi"}).transcript[0].speaker == "agent"


def test_it_lowercases_other_speaker_labels():
    assert read_turn(speaker=" Supervisor ", text="Hi").transcript[0].speaker == "supervisor"


@pytest.mark.parametrize("key", ["text", "message"])
def test_it_reads_the_text_from_each_alias(key):
    assert read_turn(speaker="user", **{key: "Hello"}).transcript[0].text == "Hello"


@pytest.mark.parametrize(
    ("key", "value"),
    [("timestamp", 1.5), ("time_in_call_secs", 2), ("offset", 3.25)],
)
def test_it_reads_the_turn_time_from_each_alias_as_float_seconds(key, value):
    offset = read_turn(speaker="user", text="Hi", **{key: value}).transcript[0].offset

    assert offset == float(value)
    assert isinstance(offset, float)


def test_it_keeps_text_exactly_as_given():
    text = "<script>alert(1)</script>\x07 and\nmore"

    assert read_turn(speaker="user", text=text).transcript[0].text == text


def test_it_drops_a_turn_without_readable_text_and_says_which():
    conversation = read(
        transcript=[
            {"speaker": "agent", "text": "One"},
            {"speaker": "user", "text": "Two"},
            {"speaker": "agent", "text": {"nested": "object"}},
        ]
    )

    assert [turn.text for turn in conversation.transcript] == ["One", "Two"]
    assert conversation.problems == ("Transcript turn 3 has no readable text.",)


def test_it_keeps_a_turn_without_a_speaker_as_unknown():
    conversation = read_turn(text="Hi")

    assert conversation.transcript == (Turn("unknown", "Hi", None),)
    assert conversation.problems == ("Transcript turn 1 has no readable speaker.",)


@pytest.mark.parametrize("offset", [True, "3", -1, {"seconds": 3}], ids=repr)
def test_it_drops_an_unreadable_turn_time(offset):
    conversation = read_turn(speaker="user", text="Hi", timestamp=offset)

    assert conversation.transcript == (Turn("user", "Hi", None),)
    assert conversation.problems == ("Transcript turn 1 has no readable time.",)


def test_it_reports_a_turn_that_is_not_an_object():
    conversation = read(transcript=["hello"])

    assert conversation.transcript == ()
    assert conversation.problems == ("Transcript turn 1 is not readable.",)


def test_it_reports_a_transcript_that_is_not_a_list():
    conversation = read(transcript="agent: hello")

    assert conversation.transcript == ()
    assert conversation.problems == ("The transcript is not a list of turns.",)


# Times


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T10:00:00Z",
        "2024-05-01T12:00:00+02:00",
        "2024-05-01T10:00:00",
        "2024-05-01T10:00:00.000000+00:00",
        int(START.timestamp()),
        float(START.timestamp()),
    ],
    ids=["zulu", "offset", "naive", "fraction", "unix-int", "unix-float"],
)
def test_it_reads_the_start_time_as_an_aware_utc_datetime(value):
    start_time = read(metadata={"start_time": value}).start_time

    assert start_time == START
    assert start_time.tzinfo == UTC


def test_it_reads_start_time_unix_secs():
    assert read(metadata={"start_time_unix_secs": START.timestamp()}).start_time == START


def test_it_reads_the_start_time_at_the_top_level_too():
    assert read(start_time="2024-05-01T10:00:00Z").start_time == START


def test_it_reads_the_end_time():
    conversation = read(metadata={"end_time": "2024-05-01T10:05:00+00:00"})

    assert conversation.end_time == START + timedelta(minutes=5)


def test_it_converts_offset_times_to_utc():
    start_time = read(metadata={"start_time": "2024-05-01T05:00:00-05:00"}).start_time

    assert start_time == START
    assert start_time.tzinfo == UTC


@pytest.mark.parametrize("value", ["yesterday", True, {"iso": "2024"}, [1], 1e20, ""], ids=repr)
def test_it_drops_an_unreadable_start_time_and_says_so(value):
    conversation = read(metadata={"start_time": value})

    assert conversation.start_time is None
    assert conversation.problems == ("The start time is not a readable date.",)


@pytest.mark.parametrize(
    ("value", "year"),
    [
        ("9999-12-31T23:59:59Z", 9999),
        ("9999-01-01T00:00:00", 9999),
        (253_402_300_799, 9999),
        ("0001-01-01T00:00:00Z", 1),
    ],
    ids=["last-second", "year-9999", "last-second-unix", "first-second"],
)
def test_it_drops_a_start_time_that_not_every_time_zone_can_show_and_says_so(value, year):
    conversation = read(metadata={"start_time": value})

    assert conversation.start_time is None
    assert conversation.problems == (f"The start time is out of range (year {year}).",)


def test_it_keeps_the_first_and_last_moments_every_time_zone_can_show():
    first = read(metadata={"start_time": "0002-01-01T00:00:00Z"}).start_time
    last = read(metadata={"start_time": "9998-12-31T23:59:59Z"}).start_time

    assert (first.year, last.year) == (2, 9998)


def test_it_drops_an_end_derived_past_the_last_year_every_time_zone_can_show():
    conversation = read(metadata={"start_time": "9998-12-31T23:59:59Z", "duration": 86_400})

    assert conversation.start_time is not None
    assert conversation.end_time is None
    assert conversation.problems == ("The end time is out of range.",)


@pytest.mark.parametrize("key", ["duration", "duration_secs", "call_duration_secs"])
def test_it_reads_the_duration_from_each_alias(key):
    assert read(metadata={key: 42}).duration == 42.0


def test_it_reads_a_fractional_duration():
    assert read(metadata={"duration": 1.5}).duration == 1.5


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, -5, True, "90", {"secs": 90}, 10**400],
    ids=["nan", "infinity", "minus-infinity", "negative", "bool", "text", "object", "huge-int"],
)
def test_it_drops_a_duration_that_is_not_a_number_of_seconds(value):
    conversation = read(metadata={"duration": value})

    assert conversation.duration is None
    assert conversation.problems == ("The duration is not a number of seconds.",)


def test_it_derives_the_end_from_the_start_and_the_duration():
    conversation = read(metadata={"start_time": "2024-05-01T10:00:00Z", "duration": 75})

    assert conversation.end_time == START + timedelta(seconds=75)


def test_it_derives_the_duration_from_the_start_and_the_end():
    conversation = read(
        metadata={"start_time": "2024-05-01T10:00:00Z", "end_time": "2024-05-01T10:02:00Z"}
    )

    assert conversation.duration == 120.0


def test_it_keeps_a_given_end_and_duration_even_when_they_disagree():
    conversation = read(
        metadata={
            "start_time": "2024-05-01T10:00:00Z",
            "end_time": "2024-05-01T10:02:00Z",
            "duration": 100,
        }
    )

    assert conversation.end_time == START + timedelta(minutes=2)
    assert conversation.duration == 100.0


def test_it_reports_an_end_before_the_start():
    conversation = read(
        metadata={"start_time": "2024-05-01T10:00:00Z", "end_time": "2024-05-01T09:00:00Z"}
    )

    assert conversation.duration is None
    assert conversation.problems == ("The end time is before the start time.",)


def test_it_derives_nothing_without_a_start():
    conversation = read(metadata={"duration": 30})

    assert conversation.start_time is None
    assert conversation.end_time is None


# Metadata and top-level fields


@pytest.mark.parametrize("where", ["top", "metadata"])
def test_it_reads_the_agent_at_the_top_level_or_in_the_metadata(where):
    agent = {"agent_id": "agent_7", "agent_name": "Sales"}
    conversation = read(**agent) if where == "top" else read(metadata=agent)

    assert (conversation.agent_id, conversation.agent_name) == ("agent_7", "Sales")


def test_it_reports_metadata_that_is_not_an_object():
    conversation = read(metadata=[1, 2], agent_id="agent_1")

    assert conversation.agent_id == "agent_1"
    assert conversation.problems == ("The metadata is not an object.",)


def test_it_drops_an_agent_name_that_is_not_text():
    conversation = read(agent_name=12)

    assert conversation.agent_name is None
    assert conversation.problems == ("The agent name is not text.",)


@pytest.mark.parametrize("key", ["audio", "audio_url"])
def test_it_reads_the_recording_link_from_each_alias(key):
    url = "https://cdn.example/recordings/conv_1.wav"

    assert read(**{key: url}).audio_url == url


@pytest.mark.parametrize(
    "value", ["javascript:alert(1)", "/relative.wav", "https://user:pw@host/a.wav", 5], ids=repr
)
def test_it_drops_a_recording_link_that_is_not_a_web_address(value):
    conversation = read(audio=value)

    assert conversation.audio_url is None
    assert conversation.problems == ("The recording link is not a web address.",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("success", "success"), ("FAILURE", "failure"), (True, "success"), (False, "failure")],
)
def test_it_reads_the_call_outcome(value, expected):
    assert read(call_successful=value).call_successful == expected


def test_it_reads_the_call_outcome_from_the_analysis():
    assert read(analysis={"call_successful": "failure"}).call_successful == "failure"


def test_it_turns_an_unrecognised_call_outcome_into_unknown_and_says_so():
    conversation = read(call_successful="partly")

    assert conversation.call_successful == "unknown"
    assert conversation.problems == ("The call outcome is not success, failure or unknown.",)


# Evaluation


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("success", "success"),
        ("Failure", "failure"),
        ("UNKNOWN", "unknown"),
        (True, "success"),
        (False, "failure"),
    ],
)
def test_it_reads_an_evaluation_result(value, expected):
    (result,) = read_evaluation({"polite": {"result": value}})

    assert (result.result, result.score) == (expected, None)


@pytest.mark.parametrize("value", [3, 0.5, 0])
def test_it_reads_a_numeric_evaluation_as_a_score(value):
    (result,) = read_evaluation({"accuracy": {"score": value}})

    assert (result.result, result.score) == (None, float(value))


def test_it_treats_a_boolean_score_as_a_result_not_a_number():
    (result,) = read_evaluation({"polite": {"score": True}})

    assert (result.result, result.score) == ("success", None)


def test_it_turns_an_unrecognised_evaluation_result_into_unknown_and_says_so():
    conversation = read(evaluation_results={"polite": {"result": "mostly"}})

    assert conversation.evaluation[0].result == "unknown"
    assert conversation.problems == ("The evaluation “polite” has no readable result.",)


@pytest.mark.parametrize("key", ["feedback", "rationale"])
def test_it_reads_evaluation_feedback_from_each_alias(key):
    (result,) = read_evaluation({"polite": {"result": "success", key: "Kind."}})

    assert result.feedback == "Kind."


def test_it_reads_a_bare_evaluation_value():
    assert read_evaluation({"polite": "success"})[0].result == "success"


@pytest.mark.parametrize("key", ["criterion", "criteria_id", "name"])
def test_it_reads_an_evaluation_list_naming_the_criterion_by_each_alias(key):
    (result,) = read_evaluation([{key: "polite", "result": "failure", "feedback": "Curt."}])

    assert result == EvaluationResult("polite", "failure", None, "Curt.")


def test_it_leaves_out_an_evaluation_list_entry_without_a_name():
    conversation = read(evaluation_results=[{"result": "success"}])

    assert conversation.evaluation == ()
    assert conversation.problems == (
        "Entry 1 of the evaluation results has no name and was left out.",
    )


def test_it_reads_evaluation_criteria_results_from_the_analysis():
    conversation = read(analysis={"evaluation_criteria_results": {"polite": {"result": "success"}}})

    assert conversation.evaluation == (EvaluationResult("polite", "success", None, ""),)


def test_it_reports_evaluation_results_that_are_neither_a_mapping_nor_a_list():
    conversation = read(evaluation_results="all good")

    assert conversation.evaluation == ()
    assert conversation.problems == ("The evaluation results are not readable.",)


# Collected data


def test_it_reads_plain_collected_values():
    conversation = read(collected_data={"city": "Oslo", "age": 41, "tags": ["a"], "none": None})

    assert conversation.collected_data == (
        CollectedValue("city", "Oslo", ""),
        CollectedValue("age", 41, ""),
        CollectedValue("tags", ["a"], ""),
        CollectedValue("none", None, ""),
    )


def test_it_reads_collected_values_with_a_rationale():
    conversation = read(collected_data={"city": {"value": {"name": "Oslo"}, "rationale": "Said."}})

    assert conversation.collected_data == (CollectedValue("city", {"name": "Oslo"}, "Said."),)


def test_it_reads_data_collection_results_from_the_analysis():
    conversation = read(
        analysis={"data_collection_results": {"city": {"value": "Oslo", "rationale": "Said."}}}
    )

    assert conversation.collected_data == (CollectedValue("city", "Oslo", "Said."),)


def test_it_drops_a_collected_rationale_that_is_not_text():
    conversation = read(collected_data={"city": {"value": "Oslo", "rationale": 5}})

    assert conversation.collected_data == (CollectedValue("city", "Oslo", ""),)
    assert conversation.problems == ("The rationale for “city” is not text.",)


def nested(levels):
    value = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def test_it_keeps_a_collected_value_nested_twenty_levels_deep():
    conversation = read(collected_data={"deep": nested(20)})

    assert conversation.collected_data == (CollectedValue("deep", nested(20), ""),)
    assert conversation.problems == ()


def test_it_cuts_a_collected_value_nested_deeper_than_twenty_levels_and_says_so():
    conversation = read(collected_data={"deep": {"value": {"a": nested(700)}, "rationale": "x"}})

    value = conversation.collected_data[0].value
    for _ in range(20):
        value = value["a"] if isinstance(value, dict) else value[0]
    assert value == "… (nested too deeply to show)"
    assert conversation.problems == (
        "The value of “deep” is nested more than 20 levels deep; the deeper levels are not shown.",
    )


# The analysis's summary and its title

SUMMARY_FIELDS = [("transcript_summary", "summary"), ("call_summary_title", "title")]


def test_it_reads_the_summary_and_title_from_the_wild_analysis():
    conversation = read(
        analysis={
            "transcript_summary": "The customer's router kept dropping. A restart fixed it.",
            "call_summary_title": "Router drops connection",
            "evaluation_criteria_results": {},
        }
    )

    assert conversation.summary == "The customer's router kept dropping. A restart fixed it."
    assert conversation.title == "Router drops connection"
    assert conversation.problems == ()


@pytest.mark.parametrize(("key", "field"), SUMMARY_FIELDS)
def test_it_reads_the_summary_and_title_at_the_top_level_too(key, field):
    assert getattr(read(**{key: "Bestellung A-1 nicht angekommen"}), field) == (
        "Bestellung A-1 nicht angekommen"
    )


def test_the_top_level_summary_comes_before_the_analysis_one():
    conversation = read(transcript_summary="Top.", analysis={"transcript_summary": "Inside."})

    assert conversation.summary == "Top."


@pytest.mark.parametrize(("key", "field"), SUMMARY_FIELDS)
@pytest.mark.parametrize("analysis", [{}, {"transcript_summary": None}, None], ids=repr)
def test_a_missing_or_null_summary_or_title_is_none_and_no_problem(key, field, analysis):
    conversation = read(analysis=analysis, **{key: None})

    assert getattr(conversation, field) is None
    assert conversation.problems == ()


@pytest.mark.parametrize(("key", "field"), SUMMARY_FIELDS)
@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00", " \x00 \x00 "], ids=repr)
def test_a_blank_summary_or_title_is_none_and_no_problem(key, field, text):
    conversation = read(analysis={key: text})

    assert getattr(conversation, field) is None
    assert conversation.problems == ()


@pytest.mark.parametrize(
    "value", [3, 2.5, True, False, ["a summary"], {"text": "a summary"}], ids=repr
)
def test_a_summary_that_is_not_text_is_dropped_and_reported(value):
    conversation = read(analysis={"transcript_summary": value})

    assert conversation.summary is None
    assert conversation.problems == ("The summary is not text.",)


@pytest.mark.parametrize("value", [0, 1e300, True, [], {"en": "Router"}], ids=repr)
def test_a_title_that_is_not_text_is_dropped_and_reported(value):
    conversation = read(call_summary_title=value)

    assert conversation.title is None
    assert conversation.problems == ("The summary's title is not text.",)


@pytest.mark.parametrize(("key", "field"), SUMMARY_FIELDS)
def test_it_drops_nul_bytes_from_the_summary_and_title(key, field):
    conversation = read(analysis={key: "\x00Refund\x00 for A-1\x00"})

    assert getattr(conversation, field) == "Refund for A-1"
    assert conversation.problems == ()


def test_it_keeps_the_line_breaks_and_scripts_of_a_summary():
    summary = "客户的订单 A-1 一直没有发货。\nتم حل المشكلة 🙂\n<b>bold</b>"

    assert read(transcript_summary=f"  {summary}\n").summary == summary


def test_it_puts_a_title_on_one_line():
    assert read(call_summary_title=" Damaged\n\nparcel\t again ").title == "Damaged parcel again"


@pytest.mark.parametrize(
    ("key", "field", "limit"),
    [("transcript_summary", "summary", 10_000), ("call_summary_title", "title", 300)],
)
def test_it_keeps_a_summary_or_title_of_exactly_its_limit(key, field, limit):
    conversation = read(analysis={key: "ä" * limit})

    assert getattr(conversation, field) == "ä" * limit
    assert conversation.problems == ()


def test_it_cuts_a_huge_summary_to_ten_thousand_characters_and_says_so():
    conversation = read(analysis={"transcript_summary": "Refund. " * 1_000_000})

    assert len(conversation.summary) == 10_000
    assert conversation.summary.startswith("Refund. Refund.")
    assert conversation.summary.endswith("…")
    assert conversation.problems == (
        "The summary is longer than 10,000 characters; the rest is not shown.",
    )


def test_it_cuts_a_long_title_to_three_hundred_characters_and_says_so():
    conversation = read(call_summary_title="x" * 301)

    assert conversation.title == "x" * 299 + "…"
    assert conversation.problems == (
        "The summary's title is longer than 300 characters; the rest is not shown.",
    )


def test_an_analysis_that_is_not_an_object_leaves_no_summary_and_says_so():
    conversation = read(analysis="The customer wanted a refund.")

    assert (conversation.summary, conversation.title) == (None, None)
    assert conversation.problems == ("The analysis is not an object.",)


# Pages


def summary(conversation_id):
    return {"conversation_id": conversation_id, "metadata": {"start_time": "2024-05-01T10:00:00Z"}}


def test_it_reads_a_page():
    page = parse_page(
        {"conversations": [summary("c1"), summary("c2")], "next_cursor": "abc", "has_more": True}
    )

    assert [item.id for item in page.items] == ["c1", "c2"]
    assert (page.next_cursor, page.has_more, page.problems) == ("abc", True, ())


def test_it_reads_the_items_of_a_page_from_items():
    page = parse_page({"items": [summary("c1")]})

    assert [item.id for item in page.items] == ["c1"]


@pytest.mark.parametrize(("cursor", "has_more"), [("abc", True), (None, False)])
def test_it_derives_has_more_from_the_cursor_when_absent(cursor, has_more):
    assert parse_page({"conversations": [], "next_cursor": cursor}).has_more is has_more


def test_it_reports_has_more_that_is_not_a_boolean():
    page = parse_page({"conversations": [], "next_cursor": "abc", "has_more": "yes"})

    assert page.has_more is True
    assert page.problems == ("Whether there are more conversations is not readable.",)


def test_it_says_there_is_no_more_when_the_next_page_has_no_cursor():
    page = parse_page({"conversations": [], "next_cursor": None, "has_more": True})

    assert page.has_more is False
    assert page.problems == ("The list says there are more conversations but gives no next page.",)


def test_it_drops_a_cursor_that_is_not_text():
    page = parse_page({"conversations": [], "next_cursor": 5})

    assert (page.next_cursor, page.has_more) == (None, False)
    assert page.problems == ("The link to the next page is not readable.",)


def test_it_skips_a_list_item_without_a_usable_id_and_says_which():
    page = parse_page({"conversations": [summary("c1"), {"id": "../etc"}, "junk", summary("c4")]})

    assert [item.id for item in page.items] == ["c1", "c4"]
    assert page.problems == (
        "Conversation 2 in the list has no usable id and was left out.",
        "Conversation 3 in the list has no usable id and was left out.",
    )


def test_it_keeps_the_problems_of_an_item_on_the_item():
    page = parse_page({"conversations": [{"id": "c1", "metadata": "x"}]})

    assert page.problems == ()
    assert page.items[0].problems == ("The metadata is not an object.",)


def test_it_reports_a_list_of_conversations_that_is_not_a_list():
    page = parse_page({"conversations": {"c1": {}}})

    assert page.items == ()
    assert page.problems == ("The list of conversations is not a list.",)


@pytest.mark.parametrize("data", [[], "page", None, 3])
def test_it_raises_upstream_unavailable_for_a_page_that_is_not_an_object(data):
    with pytest.raises(UpstreamUnavailable, match="not a JSON object"):
        parse_page(data)


# Whatever arrives, the reader answers with dataclasses or its own error

KNOWN_KEYS = [
    "conversation_id", "id", "agent_id", "agent_name", "status", "audio", "audio_url",
    "metadata", "analysis", "transcript", "evaluation_results", "collected_data",
    "call_successful", "start_time", "end_time", "start_time_unix_secs", "end_time_unix_secs",
    "duration", "duration_secs", "call_duration_secs", "evaluation_criteria_results",
    "data_collection_results", "speaker", "role", "speaker_label", "text", "message",
    "timestamp", "time_in_call_secs", "offset", "score", "result", "feedback", "rationale",
    "criterion", "criteria_id", "name", "value", "conversations", "items", "next_cursor",
    "has_more", "transcript_summary", "call_summary_title", "termination_reason", "cost",
    "rating", "overall_score", "comment", "interrupted", "tool_calls", "tool_results",
    "tool_name", "params_as_json", "arguments", "result_value", "is_error", "request_id",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["conv_1", "success", "FAILURE", "2024-05-01T10:00:00Z", "https://a.b/c"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS), children, max_size=6)
    ),
    max_leaves=40,
)
seeded = st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values, max_size=10)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, seeded))
def test_the_reader_returns_a_conversation_or_raises_its_own_error_for_any_json(data):
    try:
        conversation = parse_conversation(data)
    except XunaError:
        return
    assert isinstance(conversation, Conversation)
    assert all(isinstance(problem, str) for problem in conversation.problems)


@settings(max_examples=300, deadline=None)
@given(seeded)
def test_the_reader_never_raises_for_an_object_with_a_usable_id(data):
    conversation = parse_conversation({**data, "conversation_id": "conv_1"})

    assert conversation.id == "conv_1"
    assert all(isinstance(turn.text, str) for turn in conversation.transcript)
    assert conversation.duration is None or math.isfinite(conversation.duration)
    for text, limit in ((conversation.summary, 10_000), (conversation.title, 300)):
        assert text is None or (isinstance(text, str) and 0 < len(text) <= limit)
        assert "\x00" not in (text or "")
    for turn in conversation.transcript:
        assert isinstance(turn.interrupted, bool)
        for call in turn.tool_calls:
            assert isinstance(call.name, str)
            assert call.name
            for text in (call.arguments, call.result):
                assert text is None or (isinstance(text, str) and len(text) < 2_100)
    assert conversation.cost is None or math.isfinite(conversation.cost)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(json_values, seeded, st.builds(lambda items: {"conversations": items}, json_values))
)
def test_the_page_reader_returns_a_page_or_raises_its_own_error_for_any_json(data):
    try:
        page = parse_page(data)
    except XunaError:
        return
    assert isinstance(page, ConversationPage)
    assert isinstance(page.has_more, bool)


# What the platform adds, when it does: why the call ended, its cost, the caller's feedback,
# interrupted turns and tool calls (tests/test_platform_extras.py shows them on the page)


def test_it_reads_the_termination_reason_and_cost_from_the_metadata_or_the_top_level():
    in_metadata = read(metadata={"termination_reason": " Client\ndisconnected ", "cost": 412})
    at_top = read(termination_reason="end_call tool was called.", cost=1.5)

    assert (in_metadata.termination_reason, in_metadata.cost) == ("Client disconnected", 412.0)
    assert (at_top.termination_reason, at_top.cost) == ("end_call tool was called.", 1.5)
    assert in_metadata.problems == at_top.problems == ()


def test_a_call_without_them_has_none():
    conversation = read()

    assert conversation.termination_reason is None
    assert conversation.cost is None
    assert conversation.feedback is None


@pytest.mark.parametrize("cost", ["412", -3, True, float("inf"), {"credits": 4}], ids=repr)
def test_it_drops_a_cost_that_is_not_a_number_and_says_so(cost):
    conversation = read(metadata={"cost": cost})

    assert conversation.cost is None
    assert conversation.problems == ("The cost is not a number.",)


def test_it_cuts_a_huge_termination_reason_and_drops_one_that_is_not_text():
    long = read(metadata={"termination_reason": "x" * 5000})
    odd = read(metadata={"termination_reason": ["hung", "up"]})

    assert len(long.termination_reason) == 300
    assert long.problems == (
        "The termination reason is longer than 300 characters; the rest is not shown.",
    )
    assert odd.termination_reason is None
    assert odd.problems == ("The termination reason is not text.",)


def test_it_reads_the_callers_feedback():
    conversation = read(
        metadata={"feedback": {"rating": 4, "overall_score": "like", "comment": " Quick. "}}
    )

    assert conversation.feedback == CallerFeedback(rating=4.0, liked=True, comment="Quick.")
    assert conversation.problems == ()


def test_feedback_that_says_nothing_is_no_feedback():
    conversation = read(feedback={"rating": None, "overall_score": None, "likes": 0})

    assert conversation.feedback is None


@pytest.mark.parametrize(
    ("feedback", "problem"),
    [
        ("great", "The caller's feedback is not an object."),
        ({"rating": "five"}, "The caller's rating is not a number."),
        ({"overall_score": 1}, "The caller's like or dislike is not readable."),
        ({"comment": {"text": "hi"}}, "The caller's comment is not text."),
    ],
    ids=repr,
)
def test_it_drops_unreadable_feedback_and_says_what(feedback, problem):
    conversation = read(metadata={"feedback": feedback})

    assert conversation.feedback is None
    assert conversation.problems == (problem,)


def test_it_marks_interrupted_turns():
    conversation = read(
        transcript=[
            {"speaker": "agent", "text": "Let me expl", "interrupted": True},
            {"speaker": "user", "text": "Stop.", "interrupted": False},
            {"speaker": "agent", "text": "Sure.", "interrupted": "yes"},
        ]
    )

    assert [turn.interrupted for turn in conversation.transcript] == [True, False, False]
    assert conversation.problems == ("Whether transcript turn 3 was interrupted is not readable.",)


def test_it_ties_a_tool_result_to_its_call_by_request_id_even_on_a_later_turn():
    conversation = read(
        transcript=[
            {
                "role": "agent",
                "message": None,
                "tool_calls": [
                    {
                        "request_id": "r1",
                        "tool_name": "lookup_order",
                        "params_as_json": '{"order_id": "A-1"}',
                    }
                ],
            },
            {
                "role": "agent",
                "message": "It has shipped.",
                "tool_results": [
                    {"request_id": "r1", "result_value": '{"status": "shipped"}', "is_error": False}
                ],
            },
        ]
    )

    first, second = conversation.transcript
    # A turn that only calls a tool is kept, with no text.
    assert first.text == ""
    assert first.tool_calls == (
        ToolCall(
            name="lookup_order",
            arguments='{\n  "order_id": "A-1"\n}',
            result='{\n  "status": "shipped"\n}',
            failed=False,
        ),
    )
    assert second.tool_calls == ()
    assert conversation.problems == ()


def test_a_result_without_its_call_is_shown_on_its_own_turn_and_an_error_is_marked():
    conversation = read_turn(
        speaker="agent",
        text="Sorry.",
        tool_results=[{"tool_name": "get_invoice", "result": "timed out", "is_error": True}],
    )

    assert conversation.transcript[0].tool_calls == (
        ToolCall(name="get_invoice", arguments=None, result="timed out", failed=True),
    )


def test_it_cuts_long_tool_arguments_and_says_how_long_they_were():
    arguments = {"blob": "x" * 10_000}
    conversation = read_turn(
        speaker="agent", text="", tool_calls=[{"name": "t", "arguments": arguments}]
    )

    shown = conversation.transcript[0].tool_calls[0].arguments
    assert shown.startswith('{\n  "blob": "xxx')
    assert shown.endswith("… (cut here: 10,016 characters in all)")
    assert len(shown) < 2_100


def test_it_shows_tool_values_of_any_json_type_and_cuts_deep_nesting():
    deep = []
    for _ in range(100):
        deep = [deep]
    conversation = read_turn(
        speaker="agent",
        text="",
        tool_calls=[
            {"tool_name": "a", "arguments": 7},
            {"tool_name": "b", "arguments": deep},
            {"tool_name": "c", "params_as_json": "not json {"},
            {"tool_name": "d", "params_as_json": "[" * 5000 + "]" * 5000},
        ],
    )

    numbers, nested, text, brackets = conversation.transcript[0].tool_calls
    assert numbers.arguments == "7"
    assert "nested too deeply to show" in nested.arguments
    assert text.arguments == "not json {"
    assert brackets.arguments.startswith("[[[")


@pytest.mark.parametrize(
    ("turn", "problem"),
    [
        ({"tool_calls": "lookup"}, "The tool calls of transcript turn 1 are not a list."),
        ({"tool_results": {"a": 1}}, "The tool results of transcript turn 1 are not a list."),
        ({"tool_calls": ["lookup"]}, "A tool entry of transcript turn 1 is not readable."),
    ],
    ids=repr,
)
def test_it_reports_unreadable_tool_entries(turn, problem):
    conversation = read_turn(speaker="agent", text="Hi", **turn)

    assert conversation.transcript[0].tool_calls == ()
    assert conversation.problems == (problem,)


def test_a_tool_without_a_name_is_an_unnamed_tool_and_thousands_of_calls_are_capped():
    conversation = read_turn(
        speaker="agent", text="", tool_calls=[{"tool_name": 5}] + [{"name": "t"}] * 5000
    )

    calls = conversation.transcript[0].tool_calls
    assert calls[0].name == "unnamed tool"
    assert len(calls) == 20
    assert conversation.problems == (
        "Transcript turn 1 has 5,001 tool calls; only the first 20 are shown.",
    )


def test_a_result_without_a_request_id_completes_the_last_waiting_call_of_its_tool():
    conversation = read(
        transcript=[
            {"role": "agent", "message": "", "tool_calls": [{"tool_name": "a"}, {"name": "b"}]},
            {"role": "agent", "message": "", "tool_results": [{"name": "a", "result": "A"}]},
            {"role": "agent", "message": "", "tool_results": [{"name": "a", "result": "again"}]},
        ]
    )

    first, second, third = conversation.transcript
    assert first.tool_calls == (ToolCall("a", None, "A"), ToolCall("b"))
    assert second.tool_calls == ()
    assert third.tool_calls == (ToolCall("a", None, "again"),)


def test_a_call_the_platform_says_has_no_audio_has_no_recording_link():
    assert read(audio="https://a.b/c.mp3", has_audio=False).audio_url is None
    assert read(audio="https://a.b/c.mp3", has_audio=True).audio_url == "https://a.b/c.mp3"
    assert read(audio="https://a.b/c.mp3", has_audio="no").audio_url == "https://a.b/c.mp3"
