"""The conversation page: header, transcript, evaluation, collected data, escaping."""

import pytest

from tests.helpers import element, section, text_of

pytestmark = pytest.mark.django_db


def add_call(emulator):
    """A conversation with two turns, one evaluation result and one collected value."""
    return emulator.add_conversation(
        {
            "conversation_id": "conv_plain",
            "agent_id": "agent_night",
            "status": "done",
            "metadata": {
                "start_time": "2026-11-01T10:00:00Z",
                "duration": 95,
                "agent_name": "Night shift bot",
            },
            "transcript": [
                {"speaker": "agent", "text": "Hello, how can I help?", "timestamp": 0},
                {"speaker": "user", "text": "My parcel is late.", "timestamp": 2.5},
            ],
            "evaluation_results": {
                "issue_resolved": {"result": "failure", "feedback": "The parcel was not found."}
            },
            "collected_data": {
                "order_number": {"value": "A-24734", "rationale": "Read back by the agent."}
            },
        }
    )


def page_of(client, conversation_id):
    return client.get(f"/conversations/{conversation_id}/").content.decode()


def test_the_header_shows_the_agent_start_duration_and_status(as_role, emulator):
    html = page_of(as_role("Reviewer"), add_call(emulator))
    facts = text_of(element(html, "dl", class_="facts"))
    assert "Agent Night shift bot" in facts
    assert "Started 2026-11-01 10:00:00 UTC" in facts
    assert "Duration 1:35" in facts
    assert "Status done" in facts


def test_it_shows_each_turn_of_the_transcript_with_its_speaker(as_role, emulator):
    transcript = section(page_of(as_role("Reviewer"), add_call(emulator)), "transcript-title")
    assert "Hello, how can I help?" in text_of(element(transcript, "li", class_="turn agent"))
    assert "My parcel is late." in text_of(element(transcript, "li", class_="turn user"))


def test_it_shows_each_evaluation_criterion_with_its_result_and_feedback(as_role, emulator):
    evaluation = section(page_of(as_role("Reviewer"), add_call(emulator)), "evaluation-title")
    assert "issue_resolved failure The parcel was not found." in text_of(evaluation)


def test_it_shows_each_collected_value_under_its_key(as_role, emulator):
    data = section(page_of(as_role("Reviewer"), add_call(emulator)), "data-title")
    assert "order_number A-24734 Read back by the agent." in text_of(data)


def test_the_page_tells_caches_not_to_store_it(as_role, emulator):
    response = as_role("Reviewer").get(f"/conversations/{emulator.conversation_ids()[0]}/")
    assert response.status_code == 200
    assert response["Cache-Control"].count("no-store") == 1


def test_the_page_costs_one_platform_call(as_role, emulator):
    as_role("Reviewer").get(f"/conversations/{emulator.conversation_ids()[0]}/")
    assert [c.endpoint for c in emulator.calls] == ["get"]


def test_it_escapes_markup_from_the_platform(as_role, emulator):
    conversation_id = emulator.add_conversation(
        {
            "conversation_id": "conv_markup",
            "agent_id": "agent_x",
            "metadata": {"start_time": "2026-11-01T10:00:00Z", "duration": 30},
            "transcript": [
                {"speaker": "user", "text": "<script>alert(1)</script>", "timestamp": 0}
            ],
            "evaluation_results": {
                "<img src=x onerror=alert(2)>": {"result": "success", "feedback": "<i>curt</i>"}
            },
            "collected_data": {
                "<b>key</b>": {
                    "value": "<a href='javascript:alert(3)'>x</a>",
                    "rationale": "<u>said so</u>",
                }
            },
        }
    )
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "<i>curt</i>" not in html
    assert "&lt;i&gt;curt&lt;/i&gt;" in html
    assert "<b>key</b>" not in html
    assert "<a href='javascript" not in html
    assert "<u>said so</u>" not in html


def add_summarised_call(emulator, analysis):
    return emulator.add_conversation(
        {
            "conversation_id": "conv_summed",
            "agent_id": "agent_x",
            "metadata": {"start_time_unix_secs": 1762000000, "call_duration_secs": 30},
            "transcript": [{"role": "user", "message": "Hello", "time_in_call_secs": 1}],
            "analysis": analysis,
        }
    )


def test_it_shows_the_title_and_summary_above_the_transcript(as_role, emulator):
    conversation_id = add_summarised_call(
        emulator,
        {
            "call_summary_title": "Damaged parcel, order A-24734",
            "transcript_summary": "The parcel arrived damaged. A refund was agreed.",
        },
    )
    html = page_of(as_role("Reviewer"), conversation_id)
    summary = section(html, "summary-title")
    assert text_of(summary) == (
        "Summary Damaged parcel, order A-24734 The parcel arrived damaged. A refund was agreed."
    )
    assert html.index('id="summary-title"') < html.index('id="transcript-title"')


def test_a_seeded_conversation_shows_the_summary_the_platform_gave(as_role, emulator):
    conversation_id = next(
        cid
        for cid in emulator.conversation_ids()
        if (emulator.raw(cid).get("analysis") or {}).get("transcript_summary")
    )
    analysis = emulator.raw(conversation_id)["analysis"]
    summary = text_of(section(page_of(as_role("Reviewer"), conversation_id), "summary-title"))
    assert analysis["call_summary_title"] in summary
    assert analysis["transcript_summary"] in summary


def test_the_summary_is_escaped_and_set_in_the_direction_of_its_script(as_role, emulator):
    conversation_id = add_summarised_call(
        emulator,
        {
            "call_summary_title": "<img src=x onerror=alert(1)>",
            "transcript_summary": "تم حل المشكلة <script>alert(2)</script>",
        },
    )
    summary = section(page_of(as_role("Reviewer"), conversation_id), "summary-title")
    assert "<img" not in summary
    assert "<script>" not in summary
    assert '<p class="summary-heading" dir="auto">&lt;img src=x onerror=alert(1)&gt;</p>' in summary
    assert (
        '<p class="summary-text" dir="auto">تم حل المشكلة &lt;script&gt;alert(2)&lt;/script&gt;</p>'
        in summary
    )


def test_a_summary_without_a_title_is_shown_alone(as_role, emulator):
    conversation_id = add_summarised_call(emulator, {"transcript_summary": "Refund agreed."})
    summary = section(page_of(as_role("Reviewer"), conversation_id), "summary-title")
    assert text_of(summary) == "Summary Refund agreed."
    assert "summary-heading" not in summary


@pytest.mark.parametrize(
    "analysis",
    [None, {}, {"transcript_summary": None, "call_summary_title": None}, {"transcript_summary": 7}],
    ids=repr,
)
def test_without_a_summary_the_page_has_no_summary_section(as_role, emulator, analysis):
    html = page_of(as_role("Reviewer"), add_summarised_call(emulator, analysis))
    assert 'id="transcript-title"' in html
    assert "summary-title" not in html
    assert ">Summary<" not in html


def test_it_shows_no_recording_when_there_is_no_audio(as_role, emulator):
    conversation_id = next(
        cid for cid in emulator.conversation_ids() if emulator.raw(cid).get("audio") is None
    )
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()
    assert "No recording" in html
    assert "<audio" not in html


def test_it_shows_null_and_structured_collected_values(as_role, emulator):
    conversation_id = emulator.add_conversation(
        {
            "conversation_id": "conv_values",
            "agent_id": "agent_x",
            "metadata": {"start_time": 1762000000, "duration": 10},
            "transcript": [],
            "collected_data": {"empty": None, "order": {"items": [1, 2]}, "ok": True},
        }
    )
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()
    assert '<span class="muted">null</span>' in html
    assert "&quot;items&quot;: [" in html
    assert ">true" in html


def test_it_reports_unreadable_fields_quietly(as_role, emulator):
    conversation_id = emulator.add_conversation(
        {"conversation_id": "conv_odd", "metadata": [], "transcript": "not a list"}
    )
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/")
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()


def test_a_missing_conversation_is_a_404_page(as_role, emulator):
    response = as_role("Reviewer").get("/conversations/conv_doesnotexist/")
    assert response.status_code == 404
    assert "The platform has no such conversation." in response.content.decode()


@pytest.mark.parametrize(
    "bad_id", ["..", "%2e%2e", "a%3Fb", "a%23b", "%00", "%0A", "x" * 10_000, "%C3%A9"]
)
def test_a_hostile_id_gets_400_or_404_and_no_platform_call(as_role, emulator, bad_id):
    response = as_role("Reviewer").get(f"/conversations/{bad_id}/")
    assert response.status_code in (400, 404)
    assert emulator.calls == []


def test_admins_see_a_delete_button(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    html = page_of(as_role("Admin"), conversation_id)
    header = element(html, "header", class_="conversation-head")
    assert f'href="/conversations/{conversation_id}/delete"' in header


def test_reviewers_see_no_delete_button(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()
    assert "/delete" not in html
