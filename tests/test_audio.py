"""The audio proxy: streams through the server with Range support; the key stays server-side."""

import io
import wave

import pytest

from tests.conftest import EMULATOR_KEY

pytestmark = pytest.mark.django_db


def first_with_audio(emulator):
    return next(cid for cid in emulator.conversation_ids() if emulator.raw(cid).get("audio"))


def test_it_streams_the_recording_as_a_playable_wav(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    with wave.open(io.BytesIO(body)) as wav:
        assert wav.getnframes() > 0
    assert response["Cache-Control"] == "private, no-store"
    assert response["Accept-Ranges"] == "bytes"
    assert EMULATOR_KEY.encode() not in body


def test_it_answers_range_requests_with_206(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(
        f"/conversations/{conversation_id}/audio", headers={"Range": "bytes=100-199"}
    )
    assert response.status_code == 206
    assert response["Content-Range"].startswith("bytes 100-199/")
    assert len(b"".join(response.streaming_content)) == 100


def test_an_unsatisfiable_range_is_416(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(
        f"/conversations/{conversation_id}/audio", headers={"Range": "bytes=999999999-"}
    )
    assert response.status_code == 416


def test_a_conversation_without_audio_is_404(as_role, emulator):
    conversation_id = next(
        cid for cid in emulator.conversation_ids() if emulator.raw(cid).get("audio") is None
    )
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    assert response.status_code == 404


def test_the_download_link_is_an_attachment(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio?download=1")
    assert response["Content-Disposition"] == f'attachment; filename="{conversation_id}.wav"'
    response.close()


def test_closing_the_response_closes_the_upstream_stream(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    chunks = iter(response.streaming_content)
    next(chunks)
    response.close()
    with pytest.raises(StopIteration):
        next(chunks)


def test_anonymous_users_cannot_fetch_audio(client, emulator):
    conversation_id = first_with_audio(emulator)
    response = client.get(f"/conversations/{conversation_id}/audio")
    assert response.status_code == 302
    assert emulator.calls == []
