"""Pages are gzipped (conversations.middleware.CompressionMiddleware); recordings never are."""

import gzip

import pytest

from tests.helpers import first_with_audio

pytestmark = pytest.mark.django_db

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def test_the_list_page_is_gzipped_for_a_browser_that_accepts_it(as_role, emulator):
    response = as_role("Reviewer").get("/", headers=GZIP)
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    html = gzip.decompress(response.content).decode()
    assert emulator.conversation_ids()[0] in html
    assert len(response.content) < len(html) / 3


def test_a_client_that_does_not_accept_gzip_gets_the_page_as_is(as_role, emulator):
    response = as_role("Reviewer").get("/")
    assert not response.has_header("Content-Encoding")
    assert emulator.conversation_ids()[0] in response.content.decode()


def test_a_recording_is_never_compressed(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio", headers=GZIP)
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")
    assert int(response["Content-Length"]) == len(body)
    assert body[:4] == b"RIFF"


def test_a_range_of_a_recording_is_never_compressed(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(
        f"/conversations/{conversation_id}/audio", headers={**GZIP, "Range": "bytes=100-199"}
    )
    assert response.status_code == 206
    assert not response.has_header("Content-Encoding")
    assert len(b"".join(response.streaming_content)) == 100
    assert response["Content-Range"].startswith("bytes 100-199/")


def test_a_download_is_never_compressed(as_role, emulator):
    conversation_id = first_with_audio(emulator)
    response = as_role("Reviewer").get(
        f"/conversations/{conversation_id}/audio?download=1", headers=GZIP
    )
    assert not response.has_header("Content-Encoding")
    assert response.has_header("Content-Length")
