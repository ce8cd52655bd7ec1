"""Every emulator fault on every endpoint: the right exception, in time, without the key."""

import socket
import time
import traceback

import pytest
from django.conf import settings as django_settings

from conversations import client
from conversations.client import (
    AgentNotFound,
    AuthenticationFailed,
    Conversation,
    ConversationNotFound,
    RateLimited,
    RecordingNotFound,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.helpers import calls_to

TIMEOUT = 2.0

# The default outcome of each fault kind: the exception class, or None when the call answers.
FAULTS = {
    "500": UpstreamUnavailable,
    "502": UpstreamUnavailable,
    "503": UpstreamUnavailable,
    "429": RateLimited,
    "401": AuthenticationFailed,
    "404": ConversationNotFound,
    "hang": UpstreamTimeout,
    "trickle": UpstreamTimeout,
    "html": UpstreamUnavailable,
    "truncated": UpstreamUnavailable,
    "wrong_types": UpstreamUnavailable,
    "huge": UpstreamUnavailable,
    "redirect": UpstreamUnavailable,
    "reset": UpstreamUnavailable,
}
OPTIONS = {"503": {"retry_after": 3600}}
# Where an endpoint rightly differs from the default.
SPECIAL = {
    # The list always exists, so its 404 means a wrong base URL, not a missing conversation.
    ("list", "404"): UpstreamUnavailable,
    # A 404 names what was asked for: an agent, a recording.
    ("signed_url", "404"): AgentNotFound,
    ("token", "404"): AgentNotFound,
    ("audio", "404"): RecordingNotFound,
    # Fields of the wrong type are problems to show, not failures.
    ("list", "wrong_types"): None,
    ("get", "wrong_types"): None,
    # `{}` trickles in within the deadline.
    ("delete", "trickle"): None,
    # The headers came in time; the recording then streams without a deadline.
    ("audio", "trickle"): None,
    # Half a recording with a matching length is indistinguishable from a short one.
    ("audio", "truncated"): None,
}


def recording_of(emulator):
    """A conversation with a recording, its link on whatever base URL is configured."""
    conversation_id = next(i for i in emulator.conversation_ids() if emulator.raw(i).get("audio"))
    audio_url = emulator.raw(conversation_id)["audio"]
    return Conversation(
        id=conversation_id,
        audio_url=audio_url.replace(emulator.url, django_settings.XUNA_API_BASE_URL),
    )


CALLS = {
    "list": lambda emulator: client.list_conversations(),
    "get": lambda emulator: client.get_conversation(emulator.conversation_ids()[0]),
    "delete": lambda emulator: client.delete_conversation(emulator.conversation_ids()[0]),
    "audio": lambda emulator: client.open_audio(recording_of(emulator)),
    "signed_url": lambda emulator: client.get_signed_url(emulator.agents[0][0]),
    "token": lambda emulator: client.get_conversation_token(emulator.agents[0][0]),
}


@pytest.fixture
def platform(emulator, settings):
    settings.XUNA_API_TIMEOUT = TIMEOUT
    settings.XUNA_API_MAX_RESPONSE_BYTES = 1_000_000
    return emulator


def call(endpoint, emulator):
    """Make the call; return (exception or None, seconds taken), closing any recording."""
    started = time.monotonic()
    try:
        result = CALLS[endpoint](emulator)
    except client.XunaError as error:
        return error, time.monotonic() - started
    if isinstance(result, client.AudioStream):
        result.close()
    return None, time.monotonic() - started


def assert_keyless(error, key):
    assert key not in str(error)
    assert key not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize("endpoint", CALLS)
def test_each_fault_gives_the_right_outcome_in_time_without_the_key(
    platform, settings, endpoint, kind
):
    expected = SPECIAL.get((endpoint, kind), FAULTS[kind])
    platform.set_fault(endpoint, kind, **OPTIONS.get(kind, {}))

    error, seconds = call(endpoint, platform)

    assert type(error) is expected if expected else error is None, repr(error)
    assert seconds < TIMEOUT + 1
    if error is not None:
        assert_keyless(error, settings.XUNA_API_KEY)


@pytest.mark.parametrize("endpoint", CALLS)
def test_a_closed_port_raises_upstream_unavailable_quickly(platform, settings, endpoint):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.XUNA_API_BASE_URL = f"http://127.0.0.1:{probe.getsockname()[1]}"

    error, seconds = call(endpoint, platform)

    assert type(error) is UpstreamUnavailable
    assert seconds < TIMEOUT + 1
    assert_keyless(error, settings.XUNA_API_KEY)


# Retries


@pytest.mark.parametrize("endpoint", CALLS)
def test_a_single_503_is_retried_and_the_call_succeeds(platform, endpoint):
    platform.set_fault(endpoint, "503", times=1)
    platform.clear_calls()

    error, _ = call(endpoint, platform)

    assert error is None
    assert calls_to(platform, endpoint) == 2


@pytest.mark.parametrize("endpoint", ["list", "get", "delete"])
def test_a_reset_connection_is_retried_and_the_call_succeeds(platform, endpoint):
    platform.set_fault(endpoint, "reset", times=1)
    platform.clear_calls()

    error, _ = call(endpoint, platform)

    assert error is None
    assert calls_to(platform, endpoint) == 2


@pytest.mark.parametrize("kind", ["429", "502", "503", "reset"])
def test_delete_gives_up_after_two_retries_of_a_passing_failure(platform, kind):
    platform.set_fault("delete", kind)
    platform.clear_calls()

    error, _ = call("delete", platform)

    assert isinstance(error, UpstreamUnavailable | RateLimited)
    assert calls_to(platform, "delete") == 3


@pytest.mark.parametrize("kind", ["500", "401", "404", "html", "redirect", "hang"])
def test_delete_is_not_retried_after_a_lasting_failure(platform, kind):
    platform.set_fault("delete", kind)
    platform.clear_calls()

    error, _ = call("delete", platform)

    assert error is not None
    assert calls_to(platform, "delete") == 1


def test_a_retry_after_of_an_hour_fails_at_once_instead_of_sleeping(platform):
    platform.set_fault("get", "503", retry_after=3600)
    platform.clear_calls()

    error, seconds = call("get", platform)

    assert type(error) is UpstreamUnavailable
    assert seconds < 0.5
    assert calls_to(platform, "get") == 1


def test_a_short_retry_after_is_honoured(platform):
    platform.set_fault("get", "429", times=1, retry_after=1)

    error, seconds = call("get", platform)

    assert error is None
    assert 1 <= seconds < TIMEOUT


def test_rate_limited_carries_the_platforms_retry_after(platform):
    platform.set_fault("list", "429", retry_after=3600)

    error, _ = call("list", platform)

    assert type(error) is RateLimited
    assert error.retry_after == 3600


def test_a_wrong_types_detail_is_read_with_its_problems(platform):
    platform.set_fault("get", "wrong_types")

    conversation = client.get_conversation(platform.conversation_ids()[0])

    assert conversation.transcript == ()
    assert "The transcript is not a list of turns." in conversation.problems


def test_a_wrong_types_page_is_read_with_its_problems(platform):
    platform.set_fault("list", "wrong_types")

    page = client.list_conversations()

    assert (page.items, page.next_cursor, page.has_more) == ((), None, False)
    assert "Conversation 1 in the list has no usable id and was left out." in page.problems
