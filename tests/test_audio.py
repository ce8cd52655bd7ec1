"""The audio proxy: streams through the server with Range support; the key stays server-side."""

import io
import socket
import wave

import pytest

from tests.helpers import EMULATOR_KEY, first_with_audio

pytestmark = pytest.mark.django_db


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


def test_a_conversation_without_audio_is_404_saying_so(as_role, emulator):
    conversation_id = next(
        cid for cid in emulator.conversation_ids() if emulator.raw(cid).get("audio") is None
    )
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    assert response.status_code == 404
    assert "This conversation has no recording." in response.content.decode()


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


# Audio is data, never a page (issue 11): whatever type the platform claims, the recording
# goes out as a known audio type or as bytes, in a sandbox, under a file name.

SCRIPT = "<script>document.title = 'pwned'</script>"


def serve_recording_as(emulator, content_type, body=SCRIPT):
    emulator.set_fault("audio", "body", content_type=content_type, body=body)
    return first_with_audio(emulator)


def test_a_recording_served_as_audio_then_html_is_sent_as_octet_stream(as_role, emulator):
    conversation_id = serve_recording_as(emulator, "audio/wav, text/html")
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == SCRIPT.encode()


def test_a_recording_with_two_content_type_headers_is_sent_as_octet_stream(as_role, emulator):
    conversation_id = serve_recording_as(emulator, ["audio/wav", "text/html"])
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    assert response["Content-Type"] == "application/octet-stream"
    response.close()


@pytest.mark.parametrize("content_type", ["audio/x-evil", "audio/wav garbage", "audio/"])
def test_a_recording_of_an_unknown_audio_type_is_sent_as_octet_stream(
    as_role, emulator, content_type
):
    conversation_id = serve_recording_as(emulator, content_type)
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    assert response["Content-Type"] == "application/octet-stream"
    response.close()


@pytest.mark.parametrize("content_type", ["text/javascript", "text/html", "application/json"])
def test_a_recording_served_as_a_script_or_a_page_is_not_passed_on(as_role, emulator, content_type):
    conversation_id = serve_recording_as(emulator, content_type)
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    assert response.status_code == 502
    assert response["Content-Type"].startswith("text/html")  # our error page, not theirs
    assert SCRIPT.encode() not in response.content


@pytest.mark.parametrize(
    ("content_type", "sent", "extension"),
    [
        ("audio/mpeg", "audio/mpeg", "mp3"),
        ("AUDIO/OGG; codecs=opus", "audio/ogg", "ogg"),
        ("audio/x-wav", "audio/x-wav", "wav"),
    ],
)
def test_a_recording_of_a_known_audio_type_keeps_exactly_that_type(
    as_role, emulator, content_type, sent, extension
):
    conversation_id = serve_recording_as(emulator, content_type, body="ID3")
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    assert response["Content-Type"] == sent
    assert response["Content-Disposition"] == f'inline; filename="{conversation_id}.{extension}"'
    response.close()


def test_a_recording_is_sent_in_a_sandbox_of_its_own_as_a_named_file(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")
    # The recording's own policy replaces the site's, which would allow our scripts.
    policy = "sandbox; default-src 'none'; frame-ancestors 'none'"
    assert response["Content-Security-Policy"] == policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="{conversation_id}.wav"'
    response.close()


def test_a_recording_on_a_host_that_is_not_allowed_is_refused_before_any_request(as_role, emulator):
    # The probe of the finding: the platform points a recording at a port of our own network.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        raw = emulator.raw(first_with_audio(emulator))
        conversation_id = emulator.add_conversation(
            raw | {"conversation_id": "conv_probe", "audio": f"https://127.0.0.1:{port}/"}
        )

        response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio")

        assert response.status_code == 502
        with pytest.raises(BlockingIOError):
            listener.accept()
