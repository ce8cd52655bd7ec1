"""The conversation page: header, transcript, evaluation, collected data, escaping."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_shows_the_transcript_evaluation_and_collected_data(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert conversation_id in html
    assert 'class="turn agent"' in html
    assert 'class="turn user"' in html
    assert "Evaluation" in html
    assert response["Cache-Control"].count("no-store") == 1
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
            "evaluation_results": {"<img src=x onerror=alert(2)>": {"result": "success"}},
            "collected_data": {"<b>key</b>": {"value": "<a href='javascript:alert(3)'>x</a>"}},
        }
    )
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "<b>key</b>" not in html
    assert "<a href='javascript" not in html


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


def test_reviewers_see_no_delete_button(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    html = as_role("Reviewer").get(f"/conversations/{conversation_id}/").content.decode()
    assert "/delete" not in html
