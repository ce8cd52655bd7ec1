"""The emulator, over real sockets: the contract's endpoints, data, audio, faults and control."""

import base64
import contextlib
import io
import itertools
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest
import requests

from emulator.server import Concurrency, Emulator

LIST = "/v1/convai/conversations"
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ARABIC = re.compile(r"[\u0600-\u06ff]")
EMOJI = re.compile(r"[\U0001f300-\U0001faff]")
KANA = re.compile(r"[\u3040-\u30ff]")
HAN = re.compile(r"[\u4e00-\u9fff]")
UMLAUT = re.compile(r"[äöüßÄÖÜ]")


@pytest.fixture
def em(emulator_server):
    """The shared emulator with fresh seeded data; no faults or latency leak into other tests."""
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def http(em):
    with requests.Session() as session:
        session.headers[em.api_key_header] = em.api_key
        yield session


@pytest.fixture(scope="module")
def details(emulator_server):
    """Every seeded conversation's detail, read once through the get endpoint."""
    emulator_server.reset()
    with requests.Session() as session:
        session.headers[emulator_server.api_key_header] = emulator_server.api_key
        return [
            session.get(f"{emulator_server.url}{LIST}/{conversation_id}").json()
            for conversation_id in emulator_server.conversation_ids()
        ]


def url(em, path):
    return f"{em.url}{path}"


def list_all(http, em, **params):
    """Every summary, following cursors; also returns the pages' next_cursor values."""
    items, cursors, cursor = [], [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = http.get(url(em, LIST), params=query).json()
        items += page["conversations"]
        cursor = page["next_cursor"]
        cursors.append(cursor)
        if not page["has_more"]:
            return items, cursors


def turns_of(detail):
    """(speaker, text, offset) of each turn, in either detail shape."""
    return [
        (
            turn.get("speaker", turn.get("role")),
            turn.get("text", turn.get("message")),
            turn.get("timestamp", turn.get("time_in_call_secs")),
        )
        for turn in detail["transcript"]
    ]


def duration_of(detail):
    metadata = detail["metadata"]
    return metadata["duration"] if "duration" in metadata else metadata["call_duration_secs"]


def is_wild(detail):
    """Whether a detail has the wild shape (both shapes may have an `analysis`)."""
    return "start_time_unix_secs" in detail["metadata"]


def evaluation_of(detail):
    if is_wild(detail):
        return detail["analysis"]["evaluation_criteria_results"]
    return detail["evaluation_results"]


def collected_of(detail):
    if is_wild(detail):
        return detail["analysis"]["data_collection_results"]
    return detail["collected_data"]


def recap_of(detail):
    """(title, summary) of a detail's analysis, None for each it lacks, in either shape."""
    analysis = detail.get("analysis") or {}
    return analysis.get("call_summary_title"), analysis.get("transcript_summary")


def script_of(detail):
    """The language a seeded conversation is held in, told by its greeting."""
    greeting = turns_of(detail)[0][1]
    for language, found in (
        ("ru", CYRILLIC.search(greeting)),
        ("ja", KANA.search(greeting)),
        ("zh", HAN.search(greeting)),
        ("ar", ARABIC.search(greeting)),
        ("de", UMLAUT.search(greeting)),
    ):
        if found:
            return language
    return "en"


def texts_of(detail):
    """Every string shown for a conversation: messages, feedback and collected values."""
    texts = [text for _, text, _ in turns_of(detail)]
    texts += [
        item.get("feedback", item.get("rationale")) for item in evaluation_of(detail).values()
    ]
    texts += [
        json.dumps(item["value"], ensure_ascii=False) for item in collected_of(detail).values()
    ]
    return texts


def a_detail_with_audio(em):
    return next(detail for detail in map(em.raw, em.conversation_ids()) if detail["audio"])


# The key ----------------------------------------------------------------------------------------


def test_it_refuses_a_request_without_the_key(em):
    response = requests.get(url(em, LIST))
    assert response.status_code == 401
    assert response.json()["detail"]["status"] == "invalid_api_key"


def test_it_refuses_a_wrong_key(em):
    response = requests.get(url(em, LIST), headers={em.api_key_header: "not-the-key"})
    assert response.status_code == 401
    assert "not-the-key" not in response.text


def test_it_accepts_the_key_under_a_configured_header_name():
    with Emulator(api_key="k", api_key_header="x-custom-key", conversations=5) as server:
        assert requests.get(f"{server.url}{LIST}", headers={"x-custom-key": "k"}).status_code == 200
        assert requests.get(f"{server.url}{LIST}", headers={"xi-api-key": "k"}).status_code == 401


def test_it_refuses_an_option_it_does_not_know():
    with pytest.raises(TypeError, match="api_key_heder"):
        Emulator(api_key_heder="x-custom-key")


def test_it_keeps_connections_alive_between_requests(em):
    connection = HTTPConnection(urlsplit(em.url).hostname, urlsplit(em.url).port)
    headers = {em.api_key_header: em.api_key}
    connection.request("GET", LIST, headers=headers)
    connection.getresponse().read()
    first_socket = connection.sock
    connection.request("GET", LIST, headers=headers)
    assert connection.getresponse().status == 200
    assert connection.sock is first_socket
    connection.close()


# The list ---------------------------------------------------------------------------------------


def test_it_pages_through_every_conversation_newest_first_without_duplicates(em, http):
    items, cursors = list_all(http, em, page_size=37)
    ids = [item["conversation_id"] for item in items]
    assert len(ids) == len(set(ids)) == 240
    assert ids == em.conversation_ids()
    keys = [(item["metadata"]["start_time"], item["conversation_id"]) for item in items]
    assert keys == sorted(keys, reverse=True)
    assert cursors[-1] is None


def test_a_page_has_thirty_summaries_with_the_documented_fields_by_default(em, http):
    page = http.get(url(em, LIST)).json()
    assert len(page["conversations"]) == 30
    assert page["has_more"] is True
    item = page["conversations"][0]
    assert set(item) == {
        "conversation_id", "agent_id", "agent_name", "status", "call_successful",
        "message_count", "metadata",
    }  # fmt: skip
    assert set(item["metadata"]) == {"start_time", "duration", "agent_id"}
    assert datetime.fromisoformat(item["metadata"]["start_time"]).tzinfo is not None


def test_the_cursor_holds_the_sort_key_of_the_last_item(em, http):
    page = http.get(url(em, LIST), params={"page_size": 5}).json()
    cursor = page["next_cursor"]
    start, conversation_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    last = page["conversations"][-1]
    assert conversation_id == last["conversation_id"]
    assert datetime.fromtimestamp(start, UTC) == datetime.fromisoformat(
        last["metadata"]["start_time"]
    )


def test_a_cursor_still_continues_after_its_item_is_deleted(em, http):
    first = http.get(url(em, LIST), params={"page_size": 5}).json()
    expected = http.get(
        url(em, LIST), params={"page_size": 5, "cursor": first["next_cursor"]}
    ).json()
    http.delete(url(em, f"{LIST}/{first['conversations'][-1]['conversation_id']}"))
    again = http.get(url(em, LIST), params={"page_size": 5, "cursor": first["next_cursor"]}).json()
    assert again["conversations"] == expected["conversations"]


def test_a_deep_page_of_ten_thousand_costs_no_more_than_the_first():
    started = time.perf_counter()
    server = Emulator(api_key="k", conversations=10_000).start()
    assert time.perf_counter() - started < 3
    try:
        with requests.Session() as session:
            session.headers["xi-api-key"] = "k"
            ids = server.conversation_ids()
            deep = session.get(f"{server.url}{LIST}", params={"page_size": 100}).json()
            for _ in range(95):
                deep = session.get(
                    f"{server.url}{LIST}", params={"page_size": 100, "cursor": deep["next_cursor"]}
                ).json()

            def best_time(params):
                times = []
                for _ in range(5):
                    began = time.perf_counter()
                    session.get(f"{server.url}{LIST}", params=params)
                    times.append(time.perf_counter() - began)
                return min(times)

            shallow = best_time({"page_size": 100})
            deepest = best_time({"page_size": 100, "cursor": deep["next_cursor"]})
            assert deep["conversations"][-1]["conversation_id"] == ids[9_599]
            assert deepest < shallow * 3 + 0.01
    finally:
        server.stop()


@pytest.mark.parametrize("page_size", ["0", "101", "-1", "ten", "2.5"])
def test_it_refuses_a_page_size_outside_one_to_a_hundred(em, http, page_size):
    response = http.get(url(em, LIST), params={"page_size": page_size})
    assert response.status_code == 422


@pytest.mark.parametrize("page_size", [1, 100])
def test_it_accepts_page_sizes_at_the_bounds(em, http, page_size):
    page = http.get(url(em, LIST), params={"page_size": page_size}).json()
    assert len(page["conversations"]) == page_size


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "bm90IGpzb24", base64.urlsafe_b64encode(b'{"a": 1}').decode(), "WzEsIDJd"],
)
def test_it_refuses_a_cursor_that_does_not_decode(em, http, cursor):
    response = http.get(url(em, LIST), params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["detail"]["status"] == "invalid_cursor"


def test_it_filters_by_agent(em, http):
    agent_id, agent_name = em.agents[1]
    items, _ = list_all(http, em, agent_id=agent_id, page_size=100)
    assert [item["conversation_id"] for item in items] == em.conversation_ids(agent_id)
    assert 0 < len(items) < 240
    assert {(item["agent_id"], item["agent_name"]) for item in items} == {(agent_id, agent_name)}


def test_an_unknown_agent_gives_an_empty_list(em, http):
    page = http.get(url(em, LIST), params={"agent_id": "agent_nobody"}).json()
    assert page == {"conversations": [], "next_cursor": None, "has_more": False}


# Get and delete --------------------------------------------------------------------------------


def test_an_unknown_conversation_gives_404(em, http):
    response = http.get(url(em, f"{LIST}/conv_doesnotexist"))
    assert response.status_code == 404
    assert response.json()["detail"]["status"] == "conversation_not_found"


def test_a_deleted_conversation_is_gone_everywhere(em, http):
    conversation_id = a_detail_with_audio(em)["conversation_id"]
    assert http.delete(url(em, f"{LIST}/{conversation_id}")).json() == {}
    assert http.get(url(em, f"{LIST}/{conversation_id}")).status_code == 404
    assert http.delete(url(em, f"{LIST}/{conversation_id}")).status_code == 404
    assert http.get(url(em, f"{LIST}/{conversation_id}/audio")).status_code == 404
    items, _ = list_all(http, em, page_size=100)
    assert conversation_id not in {item["conversation_id"] for item in items}
    assert len(items) == 239


# Signed URL and token ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/convai/conversation/get-signed-url", "signed_url"),
        ("/v1/convai/conversation/token", "token"),
    ],
)
def test_credentials_need_a_known_agent(em, http, path, field):
    agent_id = em.agents[0][0]
    answer = http.get(url(em, path), params={"agent_id": agent_id}).json()
    assert isinstance(answer[field], str)
    if field == "signed_url":
        assert answer[field].startswith("wss://")
    assert http.get(url(em, path)).status_code == 422
    assert http.get(url(em, path), params={"agent_id": "agent_unknown"}).status_code == 404


# The data ---------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_data():
    first, second, other = (Emulator(seed=seed, conversations=50) for seed in (7, 7, 8))
    assert first.agents == second.agents
    assert first.conversation_ids() == second.conversation_ids()
    assert all(first.raw(cid) == second.raw(cid) for cid in first.conversation_ids())
    assert other.conversation_ids() != first.conversation_ids()


def test_there_are_at_least_four_named_agents_with_platform_ids(em):
    assert len(em.agents) >= 4
    for agent_id, name in em.agents:
        assert re.fullmatch(r"agent_[a-z0-9]{26}", agent_id)
        assert name[:1].isupper()
    assert "Support bot" in {name for _, name in em.agents}


def test_conversations_have_platform_ids_and_spread_over_sixty_days(em, http):
    items, _ = list_all(http, em, page_size=100)
    assert len(items) >= 200
    assert all(re.fullmatch(r"conv_[a-z0-9]{24}", item["conversation_id"]) for item in items)
    starts = [datetime.fromisoformat(item["metadata"]["start_time"]) for item in items]
    now = datetime.now(UTC)
    assert all(now - timedelta(days=61) < start <= now for start in starts)
    assert max(starts) - min(starts) > timedelta(days=50)


def test_every_transcript_alternates_speakers_within_its_duration(details):
    for detail in details:
        turns = turns_of(detail)
        assert len(turns) >= 2
        assert [speaker for speaker, _, _ in turns[:2]] == ["agent", "user"]
        assert all(turns[i][0] != turns[i + 1][0] for i in range(len(turns) - 1))
        offsets = [offset for _, _, offset in turns]
        assert offsets == sorted(set(offsets))
        assert offsets[0] >= 0
        assert offsets[-1] < duration_of(detail)


def test_one_transcript_has_more_than_a_thousand_turns_and_the_rest_at_most_eighty(details):
    lengths = sorted(len(detail["transcript"]) for detail in details)
    assert lengths[-1] >= 1000
    assert lengths[-2] <= 80


def test_about_one_in_ten_conversations_has_no_audio(details):
    without = [detail for detail in details if detail["audio"] is None]
    assert 0.05 <= len(without) / len(details) <= 0.2


def test_some_texts_are_cyrillic_japanese_or_arabic_with_emoji(details):
    texts = [text for detail in details for text in texts_of(detail)]
    for script in (CYRILLIC, JAPANESE, ARABIC, EMOJI):
        assert any(script.search(text) for text in texts)


# Summaries and scripts

SUMMARY_SENTENCE_END = re.compile(r"\.(?:\s|$)|。")


def test_analysed_conversations_carry_a_title_and_a_summary_of_one_to_three_sentences(details):
    recaps = [recap_of(detail) for detail in details]
    summed_up = [(title, summary) for title, summary in recaps if summary is not None]
    assert len(summed_up) > 0.8 * len(details)
    for title, summary in summed_up:
        assert 0 < len(title) <= 60
        assert "\n" not in title
        assert 1 <= len(SUMMARY_SENTENCE_END.findall(summary)) <= 3, summary
    lengths = {len(SUMMARY_SENTENCE_END.findall(summary)) for _, summary in summed_up}
    assert lengths == {1, 2, 3}


def test_both_shapes_carry_the_summary_in_their_analysis(details):
    summed_up = [detail for detail in details if recap_of(detail)[1] is not None]
    documented = next(detail for detail in summed_up if not is_wild(detail))
    assert set(documented["analysis"]) == {"transcript_summary", "call_summary_title"}
    assert "transcript_summary" not in documented
    wild = next(detail for detail in summed_up if is_wild(detail))
    assert "evaluation_criteria_results" in wild["analysis"]


def test_about_one_in_ten_analysed_conversations_has_no_summary_in_either_shape(details):
    without = [detail for detail in details if recap_of(detail) == (None, None)]
    assert 0.04 <= len(without) / len(details) <= 0.2
    # The documented shape then has no analysis; the wild one has its usual one, with nulls.
    assert any(not is_wild(detail) and "analysis" not in detail for detail in without)
    assert any(
        is_wild(detail) and detail["analysis"]["transcript_summary"] is None for detail in without
    )
    assert all(recap_of(detail)[0] is not None for detail in details if recap_of(detail)[1])


def test_a_summary_names_the_order_the_customer_called_about(details):
    checked = 0
    for detail in details:
        title, summary = recap_of(detail)
        order = re.search(r"A-\d{5}", turns_of(detail)[1][1])
        if summary is not None and order:
            assert order.group() in f"{title} {summary}"
            checked += 1
    assert checked >= 10


def test_the_demo_workspace_holds_at_least_three_conversations_in_each_script(details):
    languages = [script_of(detail) for detail in details]
    for language in ("ru", "ja", "ar", "de", "zh"):
        assert languages.count(language) >= 3, language


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_small_workspace_has_each_script_with_a_summary_in_it(seed):
    server = Emulator(seed=seed, conversations=100)
    by_language = {}
    for conversation_id in server.conversation_ids():
        detail = server.raw(conversation_id)
        by_language.setdefault(script_of(detail), []).append(detail)
    assert set(by_language) == {"en", "ru", "ja", "ar", "de", "zh"}
    in_script = {
        "ru": CYRILLIC,
        "ja": KANA,
        "zh": HAN,
        "ar": ARABIC,
        "de": UMLAUT,
        "en": re.compile(r"^[ -~€]+$"),
    }
    for language, found in by_language.items():
        texts = " ".join(text for detail in found for _, text, _ in turns_of(detail))
        recaps = [recap_of(detail) for detail in found if recap_of(detail)[1] is not None]
        if language != "en":
            assert in_script[language].search(texts), language
        for title, summary in recaps:
            if "<" not in summary:  # the markup conversations are English
                assert in_script[language].search(f"{title} {summary}"), (language, summary)
    assert not any(KANA.search(str(recap_of(detail))) for detail in by_language["zh"])


def test_a_few_conversations_carry_markup_in_messages_feedback_and_values(details):
    hostile = [detail for detail in details if any("<script>" in text for text in texts_of(detail))]
    assert 1 <= len(hostile) <= 24
    detail = hostile[0]
    assert any("<script>alert(1)</script>" in text for _, text, _ in turns_of(detail))
    assert any("<b>bold</b>" in text for _, text, _ in turns_of(detail))
    texts = texts_of(detail)
    assert any("<script>" in text for text in texts[len(detail["transcript"]) :])


def test_collected_data_uses_every_json_type(details):
    values = [item["value"] for detail in details for item in collected_of(detail).values()]
    kinds = {type(value) for value in values}
    assert {str, int, float, bool, dict, list, type(None)} <= kinds
    assert {value for value in values if isinstance(value, bool)} == {True, False}


def test_evaluations_mix_results_and_scores_with_feedback(details):
    documented = [item for d in details for item in d.get("evaluation_results", {}).values()]
    assert {item["result"] for item in documented if "result" in item} == {
        "success",
        "failure",
        "unknown",
    }
    assert any(isinstance(item.get("score"), float) for item in documented)
    assert all(item["feedback"] for item in documented)


def test_statuses_are_mostly_done_and_some_failed(details):
    statuses = [detail["status"] for detail in details]
    assert statuses.count("done") > 0.8 * len(statuses)
    assert statuses.count("failed") >= 1


def test_about_one_in_five_details_has_the_wild_shape(details):
    wild = [detail for detail in details if is_wild(detail)]
    assert 0.1 <= len(wild) / len(details) <= 0.3
    detail = wild[0]
    # Besides these, a call may say why it ended, its cost and the caller's feedback.
    extras = {"termination_reason", "cost", "feedback"}
    assert set(detail["metadata"]) - extras == {"start_time_unix_secs", "call_duration_secs"}
    assert set(detail["transcript"][0]) == {"role", "message", "time_in_call_secs"}
    assert set(detail["analysis"]) == {
        "evaluation_criteria_results",
        "data_collection_results",
        "transcript_summary",
        "call_summary_title",
    }
    documented = next(detail for detail in details if not is_wild(detail))
    assert set(documented["transcript"][0]) == {"speaker", "text", "timestamp"}
    assert set(documented["metadata"]) - extras == {
        "start_time",
        "end_time",
        "duration",
        "agent_id",
        "agent_name",
    }


# Audio -----------------------------------------------------------------------------------------


def test_audio_is_a_valid_wav_as_long_as_the_call(em, http):
    detail = a_detail_with_audio(em)
    response = http.get(detail["audio"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.headers["Accept-Ranges"] == "bytes"
    with wave.open(io.BytesIO(response.content)) as recording:
        assert (recording.getnchannels(), recording.getsampwidth(), recording.getframerate()) == (
            1,
            2,
            8000,
        )
        assert recording.getnframes() / recording.getframerate() == duration_of(detail)


def test_each_speakers_turn_has_its_own_tone(em, http):
    detail = a_detail_with_audio(em)
    (_, _, agent_at), (_, _, user_at) = turns_of(detail)[:2]

    def crossings(offset):
        first = 44 + 2 * int((offset + 0.5) * 8000)
        samples = http.get(
            detail["audio"], headers={"Range": f"bytes={first}-{first + 1599}"}
        ).content
        values = [
            int.from_bytes(samples[i : i + 2], "little", signed=True) for i in range(0, 1600, 2)
        ]
        return sum(1 for a, b in itertools.pairwise(values) if (a < 0) != (b < 0))

    assert 80 <= crossings(agent_at) <= 96  # 440 Hz over 0.1 s
    assert 124 <= crossings(user_at) <= 140  # 660 Hz


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=45-50", 45, 50),
        ("bytes=1000-", 1000, None),
        ("bytes=-500", None, None),
    ],
)
def test_a_range_request_gets_exactly_those_bytes(em, http, header, first, last):
    audio = a_detail_with_audio(em)["audio"]
    whole = http.get(audio).content
    size = len(whole)
    first = size - 500 if first is None else first
    last = size - 1 if last is None else last
    response = http.get(audio, headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.content == whole[first : last + 1]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0"])
def test_an_unsatisfiable_range_gets_416(em, http, header):
    response = http.get(a_detail_with_audio(em)["audio"], headers={"Range": header})
    assert response.status_code == 416
    assert re.fullmatch(r"bytes \*/\d+", response.headers["Content-Range"])


def test_a_conversation_without_audio_gives_404_for_its_audio(em, http):
    conversation_id = next(cid for cid in em.conversation_ids() if em.raw(cid)["audio"] is None)
    assert http.get(url(em, f"{LIST}/{conversation_id}/audio")).status_code == 404


def test_audio_needs_the_key(em):
    assert requests.get(a_detail_with_audio(em)["audio"]).status_code == 401


def test_a_range_at_ninety_percent_of_the_longest_recording_starts_at_once(em, http):
    longest = max(em.conversation_ids(), key=lambda cid: len(em.raw(cid)["transcript"]))
    audio = em.raw(longest)["audio"]
    with http.get(audio, stream=True) as response:
        size = int(response.headers["Content-Length"])
    assert size > 50_000_000
    started = time.perf_counter()
    with http.get(audio, headers={"Range": f"bytes={size * 9 // 10}-"}, stream=True) as response:
        assert response.status_code == 206
        assert len(next(response.iter_content(65536))) > 0
    assert time.perf_counter() - started < 0.5


def test_a_client_hanging_up_mid_recording_leaves_no_traceback(em, http, capsys):
    audio = a_detail_with_audio(em)["audio"]
    for _ in range(3):
        with http.get(audio, stream=True) as response:
            response.raw.read(100)
    time.sleep(0.2)  # the server notices on its next write
    assert http.get(audio, headers={"Range": "bytes=0-3"}).content == b"RIFF"
    assert capsys.readouterr().err == ""


# Faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "502", "503", "429", "401", "404"])
def test_a_status_fault_answers_with_that_status_and_a_json_error(em, http, kind):
    em.set_fault("list", kind)
    response = http.get(url(em, LIST))
    assert response.status_code == int(kind)
    assert set(response.json()["detail"]) == {"status", "message"}


def test_a_status_fault_can_carry_retry_after(em, http):
    em.set_fault("list", "429", retry_after=7)
    assert http.get(url(em, LIST)).headers["Retry-After"] == "7"


def test_a_hang_fault_waits_then_answers_normally(em, http):
    em.set_fault("list", "hang", seconds=0.3)
    started = time.perf_counter()
    assert http.get(url(em, LIST)).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_a_trickle_fault_sends_headers_at_once_and_the_body_a_byte_a_second(em, http):
    em.set_fault("list", "trickle")
    started = time.perf_counter()
    with http.get(url(em, LIST), stream=True) as response:
        assert response.status_code == 200
        assert time.perf_counter() - started < 0.5
        assert response.raw.read(2) == b'{"'
        assert 0.9 <= time.perf_counter() - started < 2


def test_an_html_fault_answers_with_a_web_page(em, http):
    em.set_fault("get", "html")
    response = http.get(url(em, f"{LIST}/{em.conversation_ids()[0]}"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")


def test_a_body_fault_serves_the_chosen_content_type_and_body(em, http):
    audio = a_detail_with_audio(em)["audio"]
    em.set_fault("audio", "body", content_type="text/javascript", body="document.title='x'")
    response = http.get(audio)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript"
    assert response.content == b"document.title='x'"


def test_a_body_fault_can_repeat_the_content_type_header(em, http):
    em.set_fault("audio", "body", content_type=["audio/wav", "text/html"], body="<p>hi</p>")
    with http.get(a_detail_with_audio(em)["audio"], stream=True) as response:
        assert response.raw.headers.getlist("Content-Type") == ["audio/wav", "text/html"]


@pytest.mark.parametrize("content_type", ["audio/wav\r\nX-Injected: 1", [], [1], 5])
def test_a_body_fault_refuses_a_content_type_that_is_not_a_header_value(em, content_type):
    with pytest.raises(ValueError, match="content_type"):
        em.set_fault("audio", "body", content_type=content_type)


def test_a_truncated_fault_cuts_the_json_in_half(em, http):
    conversation_id = em.conversation_ids()[0]
    whole = http.get(url(em, f"{LIST}/{conversation_id}")).content
    em.set_fault("get", "truncated")
    response = http.get(url(em, f"{LIST}/{conversation_id}"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.content == whole[: len(whole) // 2]
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_a_wrong_types_fault_sends_fields_of_the_wrong_types(em, http):
    em.set_fault("get", "wrong_types")
    detail = http.get(url(em, f"{LIST}/{em.conversation_ids()[0]}")).json()
    assert isinstance(detail["transcript"], str)
    assert isinstance(detail["metadata"], list)
    em.set_fault("list", "wrong_types")
    page = http.get(url(em, LIST)).json()
    assert isinstance(page["conversations"][0]["message_count"], dict)


def test_a_huge_fault_streams_valid_json_of_the_requested_size(em, http):
    em.set_fault("list", "huge", size_mb=2)
    response = http.get(url(em, LIST))
    assert len(response.content) == 2 * 1024 * 1024
    assert len(response.json()["conversations"]) == 30


def test_a_redirect_fault_points_elsewhere(em, http):
    token = url(em, "/v1/convai/conversation/token")
    em.set_fault("token", "redirect", times=1)
    response = http.get(token, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "http://evil.example/steal"
    em.set_fault("token", "redirect", location="http://other.example/")
    assert http.get(token, allow_redirects=False).headers["Location"] == "http://other.example/"


def test_a_reset_fault_closes_the_connection_without_an_answer(em, http):
    em.set_fault("list", "reset")
    with pytest.raises(requests.ConnectionError):
        http.get(url(em, LIST))


def test_a_fault_with_times_spoils_only_that_many_requests(em, http):
    em.set_fault("list", "503", times=2)
    statuses = [http.get(url(em, LIST)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert em.faults == []


def test_a_wildcard_fault_applies_to_every_endpoint_until_cleared(em, http):
    em.set_fault("*", "502")
    assert http.get(url(em, LIST)).status_code == 502
    assert http.get(url(em, f"{LIST}/{em.conversation_ids()[0]}")).status_code == 502
    em.clear_faults()
    assert http.get(url(em, LIST)).status_code == 200


def test_faults_can_be_set_and_cleared_over_http(em, http):
    created = requests.post(
        url(em, "/_emulator/faults"),
        json={"endpoint": "list", "kind": "429", "times": 1, "retry_after": 3},
    )
    assert created.status_code == 200
    response = http.get(url(em, LIST))
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    requests.post(url(em, "/_emulator/faults"), json={"endpoint": "*", "kind": "500"})
    assert requests.delete(url(em, "/_emulator/faults")).status_code == 200
    assert http.get(url(em, LIST)).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"endpoint": "list", "kind": "teapot"},
        {"endpoint": "nowhere", "kind": "500"},
        {"endpoint": "list", "kind": "500", "times": 0},
        {"endpoint": "list", "kind": "500", "colour": "red"},
    ],
)
def test_an_invalid_fault_is_refused(em, fault):
    assert requests.post(url(em, "/_emulator/faults"), json=fault).status_code == 422
    with pytest.raises(ValueError, match=r"(?i)unknown|times"):
        em.set_fault(**fault)


def test_faults_given_to_the_constructor_apply_from_the_start():
    with Emulator(
        api_key="k", conversations=5, faults=[{"endpoint": "get", "kind": "404", "times": 1}]
    ) as server:
        conversation = f"{server.url}{LIST}/{server.conversation_ids()[0]}"
        assert requests.get(conversation, headers={"xi-api-key": "k"}).status_code == 404
        assert requests.get(conversation, headers={"xi-api-key": "k"}).status_code == 200


# Latency, the call log, reset, added conversations ----------------------------------------------


def test_latency_delays_api_answers_but_not_control_requests(em, http):
    requests.post(url(em, "/_emulator/latency"), json={"ms": 250, "jitter_ms": 50})
    started = time.perf_counter()
    http.get(url(em, LIST))
    assert 0.25 <= time.perf_counter() - started < 1
    started = time.perf_counter()
    requests.get(url(em, "/_emulator/calls"))
    assert time.perf_counter() - started < 0.2


def test_the_call_log_records_api_requests_including_refused_ones(em, http):
    http.get(url(em, LIST), params={"page_size": "5"})
    requests.delete(url(em, f"{LIST}/conv_x"))
    requests.get(url(em, "/_emulator/calls"))
    calls = requests.get(url(em, "/_emulator/calls")).json()["calls"]
    assert calls == [
        {
            "method": "GET",
            "path": LIST,
            "endpoint": "list",
            "query": {"page_size": "5"},
            "authorized": True,
        },
        {
            "method": "DELETE",
            "path": f"{LIST}/conv_x",
            "endpoint": "delete",
            "query": {},
            "authorized": False,
        },
    ]
    assert [call.endpoint for call in em.calls] == ["list", "delete"]
    requests.delete(url(em, "/_emulator/calls"))
    assert em.calls == []


def test_reset_restores_the_data_and_clears_faults_calls_and_latency(em, http):
    conversation_id = em.conversation_ids()[0]
    http.delete(url(em, f"{LIST}/{conversation_id}"))
    em.set_fault("get", "500")
    em.set_latency(5000)
    assert requests.post(url(em, "/_emulator/reset")).status_code == 200
    assert (em.faults, em.calls) == ([], [])
    started = time.perf_counter()
    assert http.get(url(em, f"{LIST}/{conversation_id}")).status_code == 200
    assert time.perf_counter() - started < 1


def test_a_request_still_hanging_at_a_reset_is_dropped_and_leaves_the_fresh_data_alone(em, http):
    conversation_id = em.conversation_ids()[0]
    em.set_fault("delete", "hang", seconds=5)
    outcome = {}

    def delete():
        try:
            outcome["status"] = http.delete(url(em, f"{LIST}/{conversation_id}")).status_code
        except requests.ConnectionError:
            outcome["status"] = "dropped"

    caller = threading.Thread(target=delete)
    caller.start()
    while not em.calls:  # the request has arrived and is hanging
        time.sleep(0.01)
    started = time.perf_counter()
    em.reset()
    caller.join(timeout=3)
    assert outcome == {"status": "dropped"}
    assert time.perf_counter() - started < 1
    assert conversation_id in em.conversation_ids()


def test_a_conversation_added_over_http_is_served_verbatim_and_listed(em, http):
    raw = {
        "conversation_id": "conv_hostile",
        "agent_id": em.agents[0][0],
        "status": "done",
        "metadata": {
            "start_time": "2099-01-01T00:00:00Z",
            "duration": "<b>long</b>",
            "agent_name": "<script>x</script>",
        },
        "transcript": [
            {"speaker": "user", "text": "<img src=x onerror=alert(1)>", "timestamp": "soon"},
            42,
        ],
        "extra": {"nested": [1, None, True]},
    }
    answer = requests.post(url(em, "/_emulator/conversations"), json=raw).json()
    assert answer == {"conversation_id": "conv_hostile"}
    assert http.get(url(em, f"{LIST}/conv_hostile")).json() == raw
    first = http.get(url(em, LIST)).json()["conversations"][0]
    assert (first["conversation_id"], first["agent_name"], first["message_count"]) == (
        "conv_hostile",
        "<script>x</script>",
        2,
    )


def test_an_added_conversation_without_an_id_gets_one(em, http):
    conversation_id = em.add_conversation({"transcript": "not a list"})
    assert conversation_id.startswith("conv_")
    assert em.raw(conversation_id) == {
        "transcript": "not a list",
        "conversation_id": conversation_id,
    }
    assert conversation_id in em.conversation_ids()


def test_an_added_conversation_with_impossible_dates_is_still_listed(em, http):
    for start in (1e300, "yesterday", "0001-01-01T00:00:00+14:00"):
        em.add_conversation({"metadata": {"start_time": start, "duration": float("inf")}})
    items, _ = list_all(http, em, page_size=100)
    assert len(items) == 243
    assert [item["metadata"]["duration"] for item in items[:3]] == [None, None, None]


def test_an_added_conversation_with_audio_gets_a_recording_of_its_duration(em, http):
    conversation_id = em.add_conversation(
        {
            "audio": "anything",
            "metadata": {"call_duration_secs": 3},
            "transcript": [
                {"role": "agent", "time_in_call_secs": 0},
                {"role": "User", "time_in_call_secs": 1},
            ],
        }
    )
    response = http.get(url(em, f"{LIST}/{conversation_id}/audio"))
    with wave.open(io.BytesIO(response.content)) as recording:
        assert recording.getnframes() == 3 * 8000


# New conversations over time, deletions behind the dashboard's back -----------------------------


class Clock:
    """A clock the test moves by hand, so that arrivals need no sleeping."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def arriving(clock, **options):
    """An emulator with five seeded conversations and arrivals on `clock`."""
    return Emulator(api_key="k", conversations=5, clock=clock, **options)


def analysis_of(detail):
    """The evaluation and collected data, or None when the detail has none yet."""
    if is_wild(detail):
        return detail["analysis"]
    if "evaluation_results" in detail or "collected_data" in detail:
        return (detail.get("evaluation_results"), detail.get("collected_data"))
    return None


def test_without_a_rate_no_conversation_arrives_however_long_it_runs():
    clock = Clock()
    server = arriving(clock)
    seeded = server.conversation_ids()
    clock.now += 30 * 86400
    assert server.conversation_ids() == seeded


def test_new_conversations_arrive_at_the_head_of_the_list_at_the_rate():
    clock = Clock()
    with arriving(clock, arrivals_per_minute=6) as server:
        seeded = server.conversation_ids()
        clock.now += 9.9
        assert server.conversation_ids() == seeded
        clock.now += 0.1
        assert len(server.conversation_ids()) == 6
        clock.now += 50
        page = requests.get(f"{server.url}{LIST}", headers={"xi-api-key": "k"}).json()
    items = page["conversations"]
    assert len(items) == 11
    assert [item["conversation_id"] for item in items[6:]] == seeded
    arrived = items[:6]
    assert all(re.fullmatch(r"conv_[a-z0-9]{24}", item["conversation_id"]) for item in arrived)
    assert {item["agent_id"] for item in arrived} <= {agent_id for agent_id, _ in server.agents}
    starts = [datetime.fromisoformat(item["metadata"]["start_time"]) for item in arrived]
    assert [(newer - older).total_seconds() for newer, older in itertools.pairwise(starts)] == [
        pytest.approx(10)
    ] * 5


def test_an_arrival_is_in_progress_for_its_call_then_processing_then_done_with_its_analysis():
    clock, later = Clock(), Clock()
    hourly = {"arrivals_per_minute": 1 / 60, "processing_seconds": 1800}
    server, twin = arriving(clock, **hourly), arriving(later, **hourly)
    later.now += 3600 + 3600 - 1  # long past the first call, before the second
    final = twin.raw(twin.conversation_ids()[0])
    call_ends = 1000 + 3600 + duration_of(final)

    clock.now = call_ends - 0.5
    live = server.raw(server.conversation_ids()[0])
    assert (live["conversation_id"], live["status"]) == (final["conversation_id"], "in-progress")
    assert (live["transcript"], live["audio"], analysis_of(live)) == ([], None, None)
    assert recap_of(live) == (None, None)
    assert not {"duration", "call_duration_secs"} & live["metadata"].keys()

    clock.now = call_ends
    processing = server.raw(final["conversation_id"])
    assert processing["status"] == "processing"
    assert (turns_of(processing), duration_of(processing)) == (turns_of(final), duration_of(final))
    assert analysis_of(processing) is None
    assert recap_of(processing) == (None, None)

    clock.now = call_ends + 1800 - 0.5
    assert server.raw(final["conversation_id"])["status"] == "processing"
    clock.now = call_ends + 1800
    done = server.raw(final["conversation_id"])
    assert done["status"] in ("done", "failed")
    assert analysis_of(done) is not None
    assert (evaluation_of(done), collected_of(done)) == (evaluation_of(final), collected_of(final))
    assert recap_of(done) == recap_of(final)


def test_the_list_summary_of_an_unfinished_call_has_no_outcome_yet():
    clock = Clock()
    with arriving(clock, arrivals_per_minute=1) as server:
        clock.now += 60
        first = requests.get(f"{server.url}{LIST}", headers={"xi-api-key": "k"}).json()
    summary = first["conversations"][0]
    assert (summary["status"], summary["call_successful"], summary["message_count"]) == (
        "in-progress",
        "unknown",
        0,
    )
    assert summary["metadata"]["duration"] is None


def test_arrivals_are_drawn_from_the_seed_with_every_kind_of_conversation():
    clocks = Clock(), Clock()
    first, second = (arriving(clock, arrivals_per_minute=1) for clock in clocks)
    for clock in clocks:
        clock.now += 3 * 3600
    assert first.conversation_ids() == second.conversation_ids()
    details = [first.raw(cid) for cid in first.conversation_ids()[:-5]]
    assert len(details) == 180
    done = [detail for detail in details if detail["status"] in ("done", "failed")]
    assert {detail["status"] for detail in done} == {"done", "failed"}
    assert any(is_wild(detail) for detail in done)
    assert any(CYRILLIC.search(" ".join(map(str, texts_of(detail)))) for detail in done)


def test_reset_clears_the_arrivals_and_starts_their_clock_again():
    clock = Clock()
    server = arriving(clock, arrivals_per_minute=6)
    seeded = server.conversation_ids()
    clock.now += 60
    assert len(server.conversation_ids()) == 11
    server.reset()
    assert server.conversation_ids() == seeded
    clock.now += 9.9
    assert server.conversation_ids() == seeded
    clock.now += 0.1
    assert len(server.conversation_ids()) == 6


def test_a_conversation_deleted_before_it_is_done_stays_deleted():
    clock = Clock()
    server = arriving(clock, arrivals_per_minute=1, processing_seconds=20)
    clock.now += 60
    conversation_id = server.conversation_ids()[0]
    assert server.delete_conversation(conversation_id)
    clock.now += 3600
    assert conversation_id not in server.conversation_ids()


@pytest.mark.parametrize(
    "options", [{"arrivals_per_minute": -1}, {"processing_seconds": float("nan")}]
)
def test_it_refuses_a_negative_or_impossible_rate_or_processing_time(options):
    with pytest.raises(ValueError, match=next(iter(options))):
        Emulator(**options)


def test_a_conversation_deleted_behind_the_dashboards_back_is_gone_without_an_api_call(em, http):
    conversation_id = em.conversation_ids()[0]
    assert em.delete_conversation(conversation_id) is True
    assert em.calls == []
    assert http.get(url(em, f"{LIST}/{conversation_id}")).status_code == 404
    assert conversation_id not in em.conversation_ids()
    assert em.delete_conversation(conversation_id) is False


def test_a_conversation_can_be_deleted_behind_the_dashboards_back_over_http(em, http):
    conversation_id = em.conversation_ids()[0]
    control = url(em, f"/_emulator/conversations/{conversation_id}")
    deleted = requests.delete(control)
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert conversation_id not in em.conversation_ids()
    again = requests.delete(control)
    assert (again.status_code, again.json()["detail"]["status"]) == (
        404,
        "conversation_not_found",
    )
    assert requests.get(control).status_code == 405
    assert em.calls == []
    assert http.get(url(em, f"{LIST}/{conversation_id}")).status_code == 404


# Life cycle -------------------------------------------------------------------------------------


def test_stop_returns_promptly_while_a_request_hangs_and_releases_the_port():
    server = Emulator(
        api_key="k", conversations=5, faults=[{"endpoint": "list", "kind": "hang"}]
    ).start()
    outcome = []

    def wait_for_answer():
        try:
            outcome.append(
                requests.get(f"{server.url}{LIST}", headers={"xi-api-key": "k"}, timeout=10)
            )
        except requests.RequestException as error:
            outcome.append(error)

    client = threading.Thread(target=wait_for_answer)
    client.start()
    time.sleep(0.2)
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 2
    client.join(timeout=2)
    assert isinstance(outcome[0], requests.ConnectionError)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", server.port))


def test_the_command_line_prints_its_url_and_stops_on_sigterm():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--port",
            "0",
            "--conversations",
            "10",
            "--fault",
            "list=503:1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = re.search(r"http://\S+", process.stdout.readline())[0]
        headers = {"xi-api-key": "emulator-key"}
        assert requests.get(f"{base}{LIST}", headers=headers).status_code == 503
        assert requests.get(f"{base}{LIST}", headers=headers).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=3) == 0
        assert process.stderr.read() == ""
    finally:
        process.kill()
        process.wait()


@contextlib.contextmanager
def emulator_command(*options):
    """The emulator started from the command line with three conversations and these options:
    its base URL, as it prints it. It is stopped afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--conversations", "3", *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield re.search(r"http://\S+", process.stdout.readline())[0]
    finally:
        process.terminate()
        process.wait()


def test_the_command_line_lets_new_conversations_arrive():
    with emulator_command("--arrivals-per-minute", "600", "--processing-seconds", "1") as base:
        headers = {"xi-api-key": "emulator-key"}
        deadline = time.monotonic() + 5
        count = 3
        while count == 3 and time.monotonic() < deadline:
            time.sleep(0.05)
            count = len(requests.get(f"{base}{LIST}", headers=headers).json()["conversations"])
        assert count > 3


def test_the_command_line_refuses_a_negative_rate():
    finished = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0", "--arrivals-per-minute", "-1"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert finished.returncode == 2
    assert "arrivals_per_minute" in finished.stderr


# The concurrency limit (--max-concurrent)


def requests_at_once(base_url, count, key="k"):
    """`count` list requests sent at the same moment, each on its own connection: the answers."""
    barrier = threading.Barrier(count)

    def one(_):
        barrier.wait()
        return requests.get(f"{base_url}{LIST}", headers={"xi-api-key": key}, timeout=10)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_a_request_beyond_the_concurrency_limit_gets_429_with_retry_after():
    # A latency long enough that all five are in flight together on a busy machine.
    with Emulator(api_key="k", conversations=5, latency_ms=800, max_concurrent=2) as server:
        answers = requests_at_once(server.url, 5)
        refused = [answer for answer in answers if answer.status_code == 429]
        assert sorted(answer.status_code for answer in answers) == [200, 200, 429, 429, 429]
        assert {answer.headers["Retry-After"] for answer in refused} == {"1"}
        assert {answer.json()["detail"]["status"] for answer in refused} == {
            "too_many_concurrent_requests"
        }
        counters = requests.get(f"{server.url}/_emulator/concurrency").json()
        assert counters == {"max_concurrent": 2, "in_flight": 0, "peak": 2, "refused": 3}


def test_a_refused_request_is_answered_at_once_and_logged_as_a_call():
    with Emulator(api_key="k", conversations=5, latency_ms=800, max_concurrent=1) as server:
        answers = requests_at_once(server.url, 2)
        times = sorted(answer.elapsed.total_seconds() for answer in answers)
        assert times[0] < 0.4
        assert times[1] >= 0.8
        assert [call.endpoint for call in server.calls] == ["list", "list"]


def test_requests_within_the_limit_are_all_served_and_their_places_freed():
    with Emulator(api_key="k", conversations=5, latency_ms=100, max_concurrent=3) as server:
        for _ in range(3):
            answers = requests_at_once(server.url, 3)
            assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert server.concurrency == Concurrency(in_flight=0, peak=3, refused=0)


def test_without_a_limit_every_concurrent_request_is_served(em):
    em.set_latency(800)
    answers = requests_at_once(em.url, 8, key=em.api_key)
    assert {answer.status_code for answer in answers} == {200}
    # Well beyond any limit the other tests set: they were in flight together.
    assert em.concurrency.peak >= 6


@pytest.mark.parametrize("limit", [-1, 1.5, True, "2"])
def test_it_refuses_a_limit_that_is_not_a_whole_number(limit):
    with pytest.raises(ValueError, match="max_concurrent"):
        Emulator(conversations=1, max_concurrent=limit)


def test_the_command_line_limits_concurrent_requests():
    options = ("--api-key", "k", "--max-concurrent", "1", "--latency-ms", "800")
    with emulator_command(*options) as base:
        answers = requests_at_once(base, 3)
        assert sorted(answer.status_code for answer in answers) == [200, 429, 429]


def test_a_workspace_of_a_hundred_thousand_conversations_can_be_made():
    # The index's benchmarks use one (make bench); how long it takes is theirs to say.
    server = Emulator(conversations=100_000)
    assert len(server.conversation_ids()) == 100_000
