"""The client against the emulator over real sockets, and its safety rules against `responses`."""

import contextlib
import io
import logging
import socket
import time
import traceback
import wave

import pytest
import requests
import responses

from conversations import client, transport
from conversations.client import (
    AgentNotFound,
    AuthenticationFailed,
    Conversation,
    ConversationNotFound,
    InvalidIdentifier,
    RangeNotSatisfiable,
    RecordingNotFound,
    RequestRefused,
    UpstreamUnavailable,
)

# Lower-case letters, digits and underscores: the shape of an error code it could hide in.
KEY = "k3y_do_not_leak_7c1e"
API = "https://api.test"
CONVERSATION_URL = f"{API}/v1/convai/conversations/conv_1"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
PUBLIC_ADDRESS = "93.184.215.14"


def every_page(**filters):
    items, cursor = [], None
    while True:
        page = client.list_conversations(cursor=cursor, page_size=100, **filters)
        items.extend(page.items)
        if not page.has_more:
            return items
        cursor = page.next_cursor


def with_audio(emulator):
    conversation_id = next(i for i in emulator.conversation_ids() if emulator.raw(i).get("audio"))
    return client.get_conversation(conversation_id)


def read_all(stream):
    try:
        return b"".join(stream.chunks)
    finally:
        stream.close()


def recording(url):
    return Conversation(id="conv_1", audio_url=url)


# Every endpoint against the emulator


def test_it_lists_the_newest_conversations_first(emulator):
    page = client.list_conversations(page_size=10)

    assert [item.id for item in page.items] == emulator.conversation_ids()[:10]
    assert page.has_more is True
    assert page.next_cursor


def test_it_pages_through_every_conversation_to_the_end(emulator):
    ids = [item.id for item in every_page()]

    assert ids == emulator.conversation_ids()
    assert len(set(ids)) == len(emulator.conversation_ids())


def test_it_filters_the_list_by_agent(emulator):
    agent_id = emulator.agents[0][0]

    items = every_page(agent_id=agent_id)

    assert [item.id for item in items] == emulator.conversation_ids(agent_id)
    assert {item.agent_id for item in items} == {agent_id}


def test_an_unknown_agent_has_an_empty_list(emulator):
    page = client.list_conversations(agent_id="agent_nobody")

    assert (page.items, page.has_more) == ((), False)


def test_it_reads_list_summaries_without_problems(emulator):
    page = client.list_conversations(page_size=100)

    assert [item.problems for item in page.items if item.problems] == []
    assert all(item.start_time is not None for item in page.items)


def test_it_gets_a_conversation(emulator):
    conversation_id = emulator.conversation_ids()[0]
    raw = emulator.raw(conversation_id)

    conversation = client.get_conversation(conversation_id)

    assert conversation.id == conversation_id
    assert conversation.agent_id == raw["agent_id"]
    assert len(conversation.transcript) == len(raw["transcript"])
    assert conversation.start_time is not None


def test_it_reads_every_seeded_conversation_without_problems(emulator):
    problems = {}
    for conversation_id in emulator.conversation_ids():
        conversation = client.get_conversation(conversation_id)
        if conversation.problems:
            problems[conversation_id] = conversation.problems

    assert problems == {}


def test_it_sends_the_key_so_the_emulator_sees_an_authorized_call(emulator):
    emulator.clear_calls()

    client.list_conversations(page_size=1)

    assert [(call.endpoint, call.authorized) for call in emulator.calls] == [("list", True)]


def test_a_wrong_key_raises_authentication_failed(emulator, settings):
    settings.XUNA_API_KEY = "not-the-key"

    with pytest.raises(AuthenticationFailed, match="configuration problem"):
        client.list_conversations()


def test_an_unknown_conversation_raises_not_found(emulator):
    with pytest.raises(ConversationNotFound):
        client.get_conversation("conv_does_not_exist")


def test_it_deletes_a_conversation_so_getting_it_raises_not_found(emulator):
    conversation_id = emulator.conversation_ids()[0]

    client.delete_conversation(conversation_id)

    with pytest.raises(ConversationNotFound):
        client.get_conversation(conversation_id)


def test_deleting_a_deleted_conversation_raises_not_found(emulator):
    conversation_id = emulator.conversation_ids()[0]
    client.delete_conversation(conversation_id)

    with pytest.raises(ConversationNotFound):
        client.delete_conversation(conversation_id)


def test_it_gets_a_signed_url(emulator):
    assert client.get_signed_url(emulator.agents[0][0]).startswith("wss://")


def test_it_gets_a_conversation_token(emulator):
    token = client.get_conversation_token(emulator.agents[0][0])

    assert isinstance(token, str)
    assert token


@pytest.mark.parametrize("function", [client.get_signed_url, client.get_conversation_token])
def test_an_unknown_agent_raises_agent_not_found_not_conversation_not_found(emulator, function):
    with pytest.raises(AgentNotFound, match="no agent") as raised:
        function("agent_nobody")

    assert not isinstance(raised.value, ConversationNotFound)
    assert raised.value.status == 404


def test_it_reads_a_hand_written_conversation_with_hostile_content(emulator):
    conversation_id = emulator.add_conversation(
        {
            "conversation_id": "conv_hostile",
            "transcript": [{"speaker": "user", "text": "<script>alert(1)</script>"}, 7],
            "metadata": ["not", "an", "object"],
        }
    )

    conversation = client.get_conversation(conversation_id)

    assert conversation.transcript[0].text == "<script>alert(1)</script>"
    assert conversation.problems == (
        "The metadata is not an object.",
        "Transcript turn 2 is not readable.",
    )


def test_it_ignores_proxy_settings_from_the_environment(emulator, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    transport.reset_session()

    assert client.list_conversations(page_size=1).items


# Audio against the emulator


def test_it_reads_a_whole_recording_as_a_valid_wav(emulator):
    stream = client.open_audio(with_audio(emulator))

    data = read_all(stream)

    assert (stream.content_type, stream.content_range) == ("audio/wav", None)
    assert stream.content_length == len(data)
    with wave.open(io.BytesIO(data)) as recording_file:
        assert recording_file.getnframes() > 0


@pytest.mark.parametrize(
    ("range_header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=1000-1999", 1000, 1999), ("bytes=-10", None, None)],
)
def test_it_reads_a_range_of_a_recording(emulator, range_header, first, last):
    conversation = with_audio(emulator)
    whole = read_all(client.open_audio(conversation))
    if first is None:
        first, last = len(whole) - 10, len(whole) - 1

    stream = client.open_audio(conversation, range_header=range_header)

    assert read_all(stream) == whole[first : last + 1]
    assert stream.content_range == f"bytes {first}-{last}/{len(whole)}"
    assert stream.content_length == last - first + 1


def test_a_range_past_the_end_raises_range_not_satisfiable(emulator):
    conversation = with_audio(emulator)
    size = len(read_all(client.open_audio(conversation)))

    with pytest.raises(RangeNotSatisfiable) as caught:
        client.open_audio(conversation, range_header=f"bytes={size + 10}-")

    assert caught.value.content_range == f"bytes */{size}"


def test_a_conversation_without_a_recording_raises_recording_not_found_before_any_request(
    emulator,
):
    emulator.clear_calls()

    with pytest.raises(RecordingNotFound, match="no recording"):
        client.open_audio(recording(None))

    assert emulator.calls == []


# Hostile identifiers never reach the platform

HOSTILE_IDS = [
    "..",
    "%2e%2e",
    "a/b",
    "//evil.example",
    "a?b",
    "a#b",
    "\x00",
    "\n",
    "conv_1\n",
    "a" * 10_240,
    "conv_é",
    "会话",
    "",
]
HOSTILE_NAMES = [
    "dots",
    "encoded-dots",
    "slash",
    "scheme-relative",
    "query",
    "fragment",
    "nul",
    "newline",
    "trailing-newline",
    "10kb",
    "accent",
    "cjk",
    "empty",
]


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=HOSTILE_NAMES)
@pytest.mark.parametrize(
    "function",
    [
        client.get_conversation,
        client.delete_conversation,
        client.get_signed_url,
        client.get_conversation_token,
        lambda value: client.list_conversations(agent_id=value),
    ],
    ids=["get", "delete", "signed_url", "token", "list"],
)
def test_a_hostile_id_raises_invalid_identifier_without_a_call(emulator, function, hostile):
    emulator.clear_calls()

    with pytest.raises(InvalidIdentifier):
        function(hostile)

    assert emulator.calls == []


@pytest.mark.parametrize("cursor", ["", "a b", "a\nb", "é", "x" * 1025], ids=repr)
def test_a_hostile_cursor_raises_invalid_identifier_without_a_call(emulator, cursor):
    emulator.clear_calls()

    with pytest.raises(InvalidIdentifier):
        client.list_conversations(cursor=cursor)

    assert emulator.calls == []


# Safety rules, below the seam with `responses`


@pytest.fixture
def platform(settings):
    settings.XUNA_API_BASE_URL = API
    settings.XUNA_API_KEY = KEY
    # These tests are about each request the client makes; none may come from the cache.
    settings.XUNA_CACHE = False
    settings.XUNA_API_KEY_HEADER = "xi-api-key"
    settings.XUNA_API_TIMEOUT = 2.0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_it_sends_the_key_to_the_configured_api_host(platform):
    platform.get(CONVERSATION_URL, json={"conversation_id": "conv_1"})

    client.get_conversation("conv_1")

    assert platform.calls[0].request.headers["xi-api-key"] == KEY


def test_it_sends_the_key_in_the_configured_header(platform, settings):
    settings.XUNA_API_KEY_HEADER = "x-custom-key"
    platform.get(CONVERSATION_URL, json={"conversation_id": "conv_1"})

    client.get_conversation("conv_1")

    headers = platform.calls[0].request.headers
    assert headers["x-custom-key"] == KEY
    assert "xi-api-key" not in headers


def test_it_keeps_the_path_of_the_base_url(platform, settings):
    settings.XUNA_API_BASE_URL = f"{API}/xuna"
    platform.get(f"{API}/xuna/v1/convai/conversations/conv_1", json={"conversation_id": "conv_1"})

    assert client.get_conversation("conv_1").id == "conv_1"


def test_it_never_follows_a_redirect_nor_sends_the_key_elsewhere(platform):
    platform.get(CONVERSATION_URL, status=302, headers={"Location": "https://evil.example/steal"})
    stolen = platform.get("https://evil.example/steal", json={"conversation_id": "conv_1"})

    with pytest.raises(UpstreamUnavailable, match="redirect"):
        client.get_conversation("conv_1")

    assert len(platform.calls) == 1
    assert stolen.call_count == 0


def test_it_sends_the_key_with_a_recording_on_the_api_host(platform):
    platform.get(f"{CONVERSATION_URL}/audio", body=WAV, content_type="audio/wav")

    read_all(client.open_audio(recording(f"{CONVERSATION_URL}/audio")))

    assert platform.calls[0].request.headers["xi-api-key"] == KEY


@pytest.fixture
def dns(monkeypatch):
    """Made-up names resolve to what a test puts here (`dns["cdn.example"] = [address]`);
    every other name resolves as usual."""
    records = {}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in records:
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in records[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return records


def test_it_fetches_a_recording_from_a_foreign_https_host_without_the_key(platform, settings, dns):
    settings.XUNA_AUDIO_HOSTS = ["cdn.example"]
    dns["cdn.example"] = [PUBLIC_ADDRESS]
    platform.get("https://cdn.example/conv_1.wav", body=WAV, content_type="audio/wav")

    data = read_all(client.open_audio(recording("https://cdn.example/conv_1.wav")))

    assert data == WAV
    assert "xi-api-key" not in platform.calls[0].request.headers


@pytest.mark.parametrize(
    "url",
    ["http://cdn.example/conv_1.wav", "http://api.test/v1/audio", "https://api.test:8443/a.wav"],
    ids=["foreign-host", "same-host-http", "same-host-other-port"],
)
def test_it_treats_another_scheme_or_port_as_a_foreign_host(platform, url):
    platform.get(url, body=WAV, content_type="audio/wav")

    with contextlib.suppress(UpstreamUnavailable):
        read_all(client.open_audio(recording(url)))

    assert all("xi-api-key" not in call.request.headers for call in platform.calls)


def test_it_refuses_a_recording_from_a_foreign_http_host_without_a_request(platform):
    platform.get("http://cdn.example/conv_1.wav", body=WAV, content_type="audio/wav")

    with pytest.raises(UpstreamUnavailable, match="plain http"):
        client.open_audio(recording("http://cdn.example/conv_1.wav"))

    assert len(platform.calls) == 0


@pytest.mark.parametrize(
    "url",
    ["https://cdn.example/conv_1.wav", "https://127.0.0.1:22/", "https://api.test:8443/a.wav"],
    ids=["unlisted-host", "loopback-port", "api-host-other-port"],
)
def test_it_refuses_a_recording_on_a_host_that_is_not_listed_without_a_request(
    platform, settings, dns, url
):
    settings.XUNA_AUDIO_HOSTS = ["media.example"]
    dns["cdn.example"] = [PUBLIC_ADDRESS]
    platform.get(url, body=WAV, content_type="audio/wav")

    with pytest.raises(UpstreamUnavailable, match="host is not allowed"):
        client.open_audio(recording(url))

    assert len(platform.calls) == 0


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["192.168.0.10"],
        ["169.254.169.254"],
        ["0.0.0.0"],  # noqa: S104 (an address to refuse, not to bind)
        ["224.0.0.1"],
        ["240.0.0.1"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["fe80::1%eth0"],
        ["fd00::1"],
        [PUBLIC_ADDRESS, "127.0.0.1"],
    ],
    ids=lambda addresses: ",".join(addresses),
)
def test_it_refuses_a_listed_host_that_resolves_to_a_non_public_address(
    platform, settings, dns, addresses
):
    settings.XUNA_AUDIO_HOSTS = ["cdn.example"]
    dns["cdn.example"] = addresses
    platform.get("https://cdn.example/conv_1.wav", body=WAV, content_type="audio/wav")

    with pytest.raises(UpstreamUnavailable, match="host is not allowed"):
        client.open_audio(recording("https://cdn.example/conv_1.wav"))

    assert len(platform.calls) == 0


def test_it_refuses_plain_http_to_a_listed_host_without_a_request(platform, settings, dns):
    settings.XUNA_AUDIO_HOSTS = ["cdn.example"]
    dns["cdn.example"] = [PUBLIC_ADDRESS]
    platform.get("http://cdn.example/conv_1.wav", body=WAV, content_type="audio/wav")

    with pytest.raises(UpstreamUnavailable, match="plain http"):
        client.open_audio(recording("http://cdn.example/conv_1.wav"))

    assert len(platform.calls) == 0


def test_it_fetches_from_the_api_host_over_plain_http_without_a_list(platform, settings):
    settings.XUNA_API_BASE_URL = "http://127.0.0.1:8765"
    settings.XUNA_AUDIO_HOSTS = []
    url = "http://127.0.0.1:8765/v1/convai/conversations/conv_1/audio"
    platform.get(url, body=WAV, content_type="audio/wav")

    assert read_all(client.open_audio(recording(url))) == WAV
    assert platform.calls[0].request.headers["xi-api-key"] == KEY


@pytest.mark.parametrize("range_header", ["bytes=0-99", "bytes=100-", "bytes=-500"])
def test_it_forwards_a_single_byte_range(platform, range_header):
    platform.get(
        f"{CONVERSATION_URL}/audio",
        body=WAV[:4],
        status=206,
        content_type="audio/wav",
        headers={"Content-Range": "bytes 0-3/100"},
    )

    stream = client.open_audio(recording(f"{CONVERSATION_URL}/audio"), range_header=range_header)

    assert platform.calls[0].request.headers["Range"] == range_header
    assert stream.content_range == "bytes 0-3/100"
    stream.close()


@pytest.mark.parametrize(
    "range_header",
    ["bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=0-1\r\nX-Evil: 1", "bytes=", ""],
    ids=["multiple", "unit", "letters", "header-injection", "empty-range", "empty"],
)
def test_it_ignores_a_range_that_is_not_a_single_byte_range(platform, range_header):
    platform.get(f"{CONVERSATION_URL}/audio", body=WAV, content_type="audio/wav")

    read_all(client.open_audio(recording(f"{CONVERSATION_URL}/audio"), range_header=range_header))

    assert "Range" not in platform.calls[0].request.headers


def test_it_defaults_the_recording_type_to_audio_wav(platform):
    platform.get(f"{CONVERSATION_URL}/audio", body=WAV, content_type=None)

    stream = client.open_audio(recording(f"{CONVERSATION_URL}/audio"))

    assert stream.content_type == "audio/wav"
    stream.close()


def test_it_refuses_a_recording_that_is_not_audio(platform):
    platform.get(f"{CONVERSATION_URL}/audio", body="<html></html>", content_type="text/html")

    with pytest.raises(UpstreamUnavailable, match="other than audio"):
        client.open_audio(recording(f"{CONVERSATION_URL}/audio"))


def test_closing_a_recording_closes_the_upstream_response(platform):
    platform.get(f"{CONVERSATION_URL}/audio", body=WAV * 10_000, content_type="audio/wav")
    stream = client.open_audio(recording(f"{CONVERSATION_URL}/audio"))
    next(stream.chunks)

    stream.close()

    assert stream._response.raw.closed


@pytest.mark.parametrize("status", [401, 403])
def test_a_rejected_key_raises_authentication_failed(platform, status):
    platform.get(CONVERSATION_URL, status=status, json={"detail": {"status": "invalid_api_key"}})

    with pytest.raises(AuthenticationFailed, match="configuration problem"):
        client.get_conversation("conv_1")


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, client.RequestRefused),
        (401, client.AuthenticationFailed),
        (404, client.ConversationNotFound),
        (429, client.RateLimited),
        (500, client.UpstreamUnavailable),
        (503, client.UpstreamUnavailable),
    ],
)
def test_an_error_answer_raises_an_exception_that_carries_its_http_status(
    platform, status, exception
):
    platform.get(CONVERSATION_URL, status=status, json={})

    with pytest.raises(exception) as raised:
        client.get_conversation("conv_1")

    assert raised.value.status == status


# What each exception means: its parent is a claim callers act on


@pytest.mark.parametrize(
    ("exception", "parent"),
    [
        (client.NotFound, client.XunaError),
        (ConversationNotFound, client.NotFound),
        (AgentNotFound, client.NotFound),
        (RecordingNotFound, client.NotFound),
        (RequestRefused, client.XunaError),
        (client.UpstreamTimeout, UpstreamUnavailable),
    ],
)
def test_each_exception_has_the_parent_its_meaning_claims(exception, parent):
    assert exception.__bases__ == (parent,)


@pytest.mark.parametrize("status", [400, 405, 409, 410, 413, 422])
def test_a_refused_request_is_not_read_as_an_unavailable_platform(platform, status):
    platform.get(CONVERSATION_URL, status=status, json={})

    with pytest.raises(RequestRefused) as raised:
        client.get_conversation("conv_1")

    assert not isinstance(raised.value, UpstreamUnavailable)
    assert raised.value.status == status


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 416, 422, 429])
def test_no_4xx_answer_reads_as_an_unavailable_platform(platform, status):
    platform.get(CONVERSATION_URL, status=status, json={})

    with pytest.raises(client.XunaError) as raised:
        client.get_conversation("conv_1")

    assert not isinstance(raised.value, UpstreamUnavailable)


def test_a_404_for_a_conversation_raises_conversation_not_found(platform):
    platform.get(CONVERSATION_URL, status=404, json={})

    with pytest.raises(ConversationNotFound) as raised:
        client.get_conversation("conv_1")

    assert raised.value.status == 404


@pytest.mark.parametrize(
    ("function", "path"),
    [
        (client.get_signed_url, "/v1/convai/conversation/get-signed-url"),
        (client.get_conversation_token, "/v1/convai/conversation/token"),
    ],
)
def test_a_404_for_an_agent_raises_agent_not_found(platform, function, path):
    platform.get(f"{API}{path}", status=404, json={})

    with pytest.raises(AgentNotFound, match="no agent") as raised:
        function("agent_1")

    assert not isinstance(raised.value, ConversationNotFound)
    assert raised.value.status == 404


def test_a_404_for_a_recording_raises_recording_not_found(platform):
    platform.get(f"{CONVERSATION_URL}/audio", status=404, json={})

    with pytest.raises(RecordingNotFound, match="no recording") as raised:
        client.open_audio(recording(f"{CONVERSATION_URL}/audio"))

    assert not isinstance(raised.value, ConversationNotFound)
    assert raised.value.status == 404


@pytest.mark.parametrize(
    "function",
    [client.list_conversations, client.check_platform],
    ids=["list", "readiness check"],
)
def test_a_404_for_the_list_means_a_wrong_base_url_not_a_missing_thing(platform, function):
    platform.get(f"{API}/v1/convai/conversations", status=404, json={})

    with pytest.raises(UpstreamUnavailable, match="XUNA_API_BASE_URL") as raised:
        function()

    assert not isinstance(raised.value, client.NotFound)


def test_a_deadline_spent_waiting_to_retry_raises_the_platforms_last_answer(
    platform, settings, monkeypatch
):
    settings.XUNA_API_TIMEOUT = 0.5
    platform.delete(CONVERSATION_URL, status=503, json={})
    real_sleep = time.sleep
    # A busy machine wakes late: the wait for the retry overruns the whole deadline.
    monkeypatch.setattr(transport.time, "sleep", lambda seconds: real_sleep(seconds + 0.5))

    with pytest.raises(client.UpstreamUnavailable) as raised:
        client.delete_conversation("conv_1")

    assert not isinstance(raised.value, client.UpstreamTimeout)
    assert raised.value.status == 503
    assert len(platform.calls) == 1


def test_no_answer_at_all_raises_an_exception_without_a_status(platform):
    platform.get(CONVERSATION_URL, body=requests.ConnectionError("refused"))

    with pytest.raises(client.UpstreamUnavailable) as raised:
        client.get_conversation("conv_1")

    assert raised.value.status is None


def test_a_rejected_key_is_logged_as_a_configuration_error(platform, caplog):
    platform.get(CONVERSATION_URL, status=401, json={"detail": {"status": "invalid_api_key"}})

    with (
        caplog.at_level(logging.INFO, logger="conversations.transport"),
        pytest.raises(AuthenticationFailed),
    ):
        client.get_conversation("conv_1")

    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "Configuration error: the platform rejected the API key (HTTP 401); check XUNA_API_KEY."
    ]


def test_it_logs_method_path_status_and_time_of_each_call(platform, caplog):
    platform.get(CONVERSATION_URL, json={"conversation_id": "conv_1"})

    with caplog.at_level(logging.INFO, logger="conversations.transport"):
        client.get_conversation("conv_1")

    (record,) = caplog.records
    assert record.getMessage().startswith("GET /v1/convai/conversations/conv_1 -> 200 in ")


def test_a_missing_key_raises_authentication_failed_without_a_request(platform, settings):
    settings.XUNA_API_KEY = ""
    platform.get(CONVERSATION_URL, json={"conversation_id": "conv_1"})

    with pytest.raises(AuthenticationFailed, match="XUNA_API_KEY"):
        client.get_conversation("conv_1")

    assert len(platform.calls) == 0


def test_another_client_error_names_its_status_and_code(platform):
    platform.get(CONVERSATION_URL, status=422, json={"detail": {"status": "invalid_request"}})

    with pytest.raises(RequestRefused, match=r"refused the request \(HTTP 422, invalid_request\)"):
        client.get_conversation("conv_1")


LEAKS = {
    "echoed-in-error-code": {"status": 400, "json": {"detail": {"status": KEY.lower()}}},
    "echoed-in-error-message": {"status": 400, "json": {"detail": {"message": f"bad {KEY}"}}},
    "in-connection-error": {"body": requests.ConnectionError(f"failed with {KEY}")},
    "in-timeout": {"body": requests.ReadTimeout(f"timed out with {KEY}")},
    "in-html": {"status": 200, "body": f"<p>{KEY}</p>", "content_type": f"text/{KEY}"},
    "rejected": {"status": 401, "json": {"detail": {"message": KEY}}},
    "server-error": {"status": 500, "body": KEY},
}


@pytest.mark.parametrize("reply", LEAKS.values(), ids=LEAKS.keys())
def test_the_key_never_appears_in_an_error_or_a_log_record(platform, caplog, reply):
    platform.get(CONVERSATION_URL, **reply)

    with caplog.at_level(logging.DEBUG), pytest.raises(client.XunaError) as caught:
        client.get_conversation("conv_1")

    assert KEY not in "".join(traceback.format_exception(caught.value))
    assert all(KEY not in record.getMessage() for record in caplog.records)
