"""What the platform adds to a call, shown when present: why it ended, its cost, the caller's
feedback, interrupted turns and tool calls with their results; and times that are plain text
when there is no recording to play."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.reader import Turn, parse_conversation
from conversations.templatetags.transcript import transcript_turns
from emulator.generate import generate
from emulator.shapes import build_detail
from tests.helpers import element, section, text_of

pytestmark = pytest.mark.django_db

TURN_KEYS = [
    "tool_calls", "tool_results", "tool_name", "name", "params_as_json", "arguments",
    "result_value", "is_error", "request_id", "interrupted", "text", "speaker", "timestamp",
]  # fmt: skip
LOOKUP = {
    "request_id": "r1",
    "tool_name": "lookup_order",
    "params_as_json": '{"order_id": "A-1", "note": "<script>alert(1)</script>"}',
}
LOOKUP_RESULT = {"request_id": "r1", "result_value": '{"html": "<b>x</b>"}', "is_error": True}


def turns_of(*raw_turns):
    return parse_conversation(
        {"conversation_id": "conv_1", "transcript": list(raw_turns)}
    ).transcript


def page_of(as_role, emulator, raw, role="Reviewer"):
    conversation_id = emulator.add_conversation(raw)
    response = as_role(role).get(f"/conversations/{conversation_id}/")
    assert response.status_code == 200
    return response.content.decode()


# The transcript's turns


def test_an_interrupted_turn_carries_a_badge_that_says_so():
    html = str(
        transcript_turns(turns_of({"speaker": "agent", "text": "Let me", "interrupted": True}))
    )

    assert '<span class="badge interrupted"' in html
    assert ">interrupted</span>" in html
    assert "interrupted" not in str(transcript_turns([Turn("agent", "Let me", 1.0)]))


def test_a_tool_call_and_its_result_are_a_collapsed_details_with_everything_escaped():
    turn = {"speaker": "agent", "text": "One moment.", "tool_calls": [LOOKUP]}
    turn["tool_results"] = [LOOKUP_RESULT]
    html = str(transcript_turns(turns_of(turn)))

    # Collapsed: no `open` attribute.
    assert element(html, "details", class_="tool-call").startswith('<details class="tool-call">')
    assert "<summary>Tool <code>lookup_order</code>" in html
    assert '<span class="badge failure">error</span>' in html
    assert "<script>" not in html
    assert "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;html&quot;: &quot;&lt;b&gt;x&lt;/b&gt;&quot;" in html
    assert '<p class="tool-part">Arguments</p>' in html
    assert '<p class="tool-part">Result</p>' in html


def test_a_turn_without_extras_has_the_same_markup_as_before():
    html = str(transcript_turns([Turn("agent", "Hi", 1.0)]))

    assert "details" not in html
    assert "badge" not in html


def test_without_a_recording_times_are_plain_text_not_buttons():
    html = str(transcript_turns([Turn("agent", "Hi", 65.0)], recording=None))

    assert '<span class="at">1:05</span>' in html
    assert "<button" not in html
    assert "data-seek" not in html
    assert 'data-at="65.000"' in html


def test_with_a_recording_times_are_seek_buttons():
    html = str(transcript_turns([Turn("agent", "Hi", 65.0)], recording="https://a.b/c"))

    assert '<button type="button" class="at link" data-seek="65.000"' in html


# The conversation's page


def test_the_page_shows_why_the_call_ended_its_cost_and_the_callers_feedback(as_role, emulator):
    html = page_of(
        as_role,
        emulator,
        {
            "metadata": {
                "termination_reason": "Client disconnected",
                "cost": 1234.5,
                "feedback": {"rating": 4, "overall_score": "dislike", "comment": "Too slow."},
            },
            "transcript": [{"speaker": "agent", "text": "Hi", "timestamp": 0}],
        },
    )

    text = text_of(html)
    assert "Ended because Client disconnected" in text
    assert "Cost 1,234.50 credits" in text
    feedback = text_of(section(html, "feedback-title"))
    assert "Rating 4" in feedback
    assert "disliked the call" in feedback
    assert "Too slow." in feedback


def test_a_call_without_them_says_no_feedback_and_shows_no_empty_facts(as_role, emulator):
    html = page_of(
        as_role, emulator, {"transcript": [{"speaker": "agent", "text": "Hi", "timestamp": 0}]}
    )

    assert "Ended because" not in html
    assert "credits" not in html
    assert "The caller left no feedback." in text_of(section(html, "feedback-title"))


def test_hostile_values_are_escaped_on_the_page(as_role, emulator):
    html = page_of(
        as_role,
        emulator,
        {
            "metadata": {
                "termination_reason": "<script>alert('end')</script>",
                "feedback": {"comment": "<img src=x onerror=alert(2)>", "rating": 3},
            },
            "transcript": [
                {
                    "speaker": "agent",
                    "text": "x",
                    "tool_calls": [{"tool_name": "<b>t</b>", "arguments": {"<i>": "</pre>"}}],
                }
            ],
        },
    )

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>t</b>" not in html
    assert "&lt;script&gt;alert(&#x27;end&#x27;)&lt;/script&gt;" in html
    assert "&lt;/pre&gt;" in html


def test_odd_types_everywhere_never_make_the_page_fail(as_role, emulator):
    html = page_of(
        as_role,
        emulator,
        {
            "metadata": {"termination_reason": 7, "cost": "free", "feedback": [1]},
            "feedback": {"rating": {"x": 1}},
            "transcript": [
                {"speaker": "agent", "text": "a", "interrupted": "sometimes"},
                {"speaker": "agent", "text": None, "tool_calls": [None, {"name": ["x"]}]},
                {"speaker": "user", "text": "b", "tool_results": "nope", "timestamp": 2},
            ],
        },
    )

    assert "could not be read" in html
    assert "unnamed tool" in html


def test_a_call_without_a_recording_has_no_seek_buttons_on_its_page(as_role, emulator):
    conversation_id = next(
        cid
        for cid in emulator.conversation_ids()
        if not emulator.raw(cid).get("audio") and emulator.raw(cid)["transcript"]
    )
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()

    assert "data-seek" not in html
    assert '<span class="at">' in html


def test_the_side_panel_has_contents_links_to_its_sections(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()

    contents = element(html, "nav", aria_label="Sections of this call")
    for anchor in ("review-panel", "evaluation", "collected-data", "caller-feedback", "transcript"):
        assert f'<a href="#{anchor}">' in contents
        assert f'id="{anchor}"' in html
    # The side panel (player, review) comes before the transcript, for the keyboard's sake.
    assert html.index('id="player"') < html.index('id="review-panel"') < html.index('id="turns"')


turn_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(TURN_KEYS), children, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(turn_json)
def test_any_turn_json_renders_escaped_or_is_left_out(turn):
    turns = turns_of(turn, {"speaker": "agent", "text": "<u>x</u>", "tool_calls": [turn]})
    for recording in (None, "https://a.b/c"):
        html = str(transcript_turns(turns, recording=recording))
        assert "<u>" not in html
        assert "<script" not in html


# The emulator produces some of each, and not on every call


@pytest.fixture(scope="module")
def seeded_details():
    _, records = generate(1, 240, 1.7e9)
    return [build_detail(record, "http://emulator") for record in records]


def test_the_emulator_gives_some_calls_each_extra_and_some_none(seeded_details):
    def share(has):
        return sum(1 for detail in seeded_details if has(detail)) / len(seeded_details)

    extras = {
        "termination": lambda d: "termination_reason" in d["metadata"],
        "cost": lambda d: "cost" in d["metadata"],
        "feedback": lambda d: "feedback" in d["metadata"],
        "interrupted": lambda d: any(t.get("interrupted") for t in d["transcript"]),
        "tools": lambda d: any(t.get("tool_calls") for t in d["transcript"]),
    }
    for name, has in extras.items():
        assert 0.1 < share(has) < 0.95, name


def test_the_emulators_extras_are_read_back_as_they_were_drawn(seeded_details):
    read = [parse_conversation(detail) for detail in seeded_details]

    assert all(not conversation.problems for conversation in read)
    calls = [call for c in read for turn in c.transcript for call in turn.tool_calls]
    assert all(call.arguments and call.result for call in calls)
    assert any(call.failed for call in calls)
    assert any(c.feedback and c.feedback.comment for c in read)


def test_the_emulators_extras_are_the_same_for_the_same_seed(seeded_details):
    _, records = generate(1, 240, 1.7e9)

    assert [build_detail(r, "http://emulator") for r in records] == seeded_details


def test_the_markup_call_carries_markup_in_its_extras(seeded_details):
    markup = next(d for d in seeded_details if "<b>" in d["metadata"].get("termination_reason", ""))

    assert "<img" in markup["metadata"]["feedback"]["comment"]
    assert any(
        "<script>" in t["tool_calls"][0]["params_as_json"]
        for t in markup["transcript"]
        if "tool_calls" in t
    )
