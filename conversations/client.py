"""The dashboard's one way to the Xuna platform: the calls the views make.

Each public function makes one call and names its endpoint in its docstring (the API and
this interface are described in docs/api.md). Frozen dataclasses come out; raw JSON,
`requests` and status codes never do. Everything that can go wrong is raised as a
`XunaError` subclass that callers catch by meaning. Callers import all of it from here
(`__all__`); behind this module:

    transport.py   the one request function: key, deadline, retries, status -> exception
    reader.py      the tolerant reader, and the dataclasses it fills
    cache.py       list pages and conversations kept briefly in Django's cache
    exceptions.py  the exception hierarchy, below all of them

A recording is the one call that follows a URL out of the platform's data, so the rules
for that URL (which hosts, which content types) are here with `open_audio`: they are the
client's policy about the platform's data, where the transport only guarantees that the
key never leaves the configured API origin.
"""

import ipaddress
import logging
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from django.conf import settings

from conversations import cache, reader, transport
from conversations.exceptions import (
    AgentNotFound,
    AuthenticationFailed,
    ConversationNotFound,
    InvalidIdentifier,
    NotFound,
    RangeNotSatisfiable,
    RateLimited,
    RecordingNotFound,
    RequestRefused,
    UpstreamTimeout,
    UpstreamUnavailable,
    XunaError,
)
from conversations.reader import (
    ID_RE,
    CallerFeedback,
    CollectedValue,
    Conversation,
    ConversationPage,
    EvaluationResult,
    ToolCall,
    Turn,
)

__all__ = [
    "AUDIO_TYPES",
    "CURSOR_RE",
    "ID_RE",
    "AgentNotFound",
    "AudioStream",
    "AuthenticationFailed",
    "CallerFeedback",
    "CollectedValue",
    "Conversation",
    "ConversationNotFound",
    "ConversationPage",
    "EvaluationResult",
    "InvalidIdentifier",
    "NotFound",
    "RangeNotSatisfiable",
    "RateLimited",
    "RecordingNotFound",
    "RequestRefused",
    "ToolCall",
    "Turn",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "XunaError",
    "check_platform",
    "delete_conversation",
    "get_conversation",
    "get_conversation_token",
    "get_signed_url",
    "list_conversations",
    "open_audio",
    "validate_id",
]

logger = logging.getLogger(__name__)

CONVERSATIONS_PATH = "/v1/convai/conversations"

# Cursors are opaque, but a real one is short printable ASCII.
CURSOR_RE = re.compile(r"[\x21-\x7e]{1,1024}")
# One range only: multipart/byteranges answers are not something the player can use.
RANGE_RE = re.compile(r"bytes=(?:\d{1,15}-\d{0,15}|-\d{1,15})")
AUDIO_DEFAULT_TYPE = "audio/wav"
# The only types a recording is passed on with, and the file extension of each: a browser
# plays these and renders none of them as a page. Anything else that may be audio (another
# audio/ type, a repeated or comma-joined header) goes out as AUDIO_FALLBACK_TYPE, so the
# platform cannot make our origin serve a page or a script (docs/security.md).
AUDIO_TYPES = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "audio/flac": "flac",
}
AUDIO_FALLBACK_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class AudioStream:
    """An open recording; partial (206) when content_range is set. Always close() it."""

    chunks: Iterator[bytes]
    content_type: str
    content_length: int | None
    content_range: str | None
    _response: object = field(default=None, repr=False, compare=False)

    def close(self) -> None:
        if self._response is not None:
            self._response.close()


def validate_id(value: str) -> str:
    """Return `value` if it can be put in a platform URL path, else raise InvalidIdentifier."""
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise InvalidIdentifier()
    return value


def list_conversations(
    agent_id: str | None = None,
    cursor: str | None = None,
    page_size: int = 30,
    *,
    cached: bool = True,
) -> ConversationPage:
    """GET /v1/convai/conversations?agent_id=&cursor=&page_size= (newest first).

    `cached=False` neither reads nor fills the cache (the worker must see the platform as it
    is now, conversations/sync.py).
    """
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
        raise ValueError("page_size must be an int from 1 to 100.")
    params = {"page_size": page_size}
    if agent_id is not None:
        params["agent_id"] = validate_id(agent_id)
    if cursor is not None:
        if not isinstance(cursor, str) or not CURSOR_RE.fullmatch(cursor):
            raise InvalidIdentifier("That page link is not valid.")
        params["cursor"] = cursor

    def load():
        try:
            body = _list_request(params)
        except RequestRefused:
            if cursor is None:
                raise
            # The cursor is the one part a person can change: a made-up or stale page link.
            raise InvalidIdentifier("That page link is not valid.") from None
        return reader.parse_page(body)

    return cache.cached_list_page(params, load) if cached else load()


def get_conversation(conversation_id: str, *, cached: bool = True) -> Conversation:
    """GET /v1/convai/conversations/{conversation_id}

    `cached=False` neither reads nor fills the cache (an export of thousands would evict
    what reviewers are looking at).
    """
    path = _conversation_path(conversation_id)

    def load():
        return reader.parse_conversation(transport.request("GET", path))

    try:
        return cache.cached_conversation(conversation_id, load) if cached else load()
    except NotFound as exc:
        # Gone on the platform (deleted elsewhere): no cached list may offer it any longer.
        cache.forget_conversation(conversation_id)
        raise _named(ConversationNotFound, exc) from None


def delete_conversation(conversation_id: str) -> None:
    """DELETE /v1/convai/conversations/{conversation_id}

    Raises ConversationNotFound when it is unknown or already deleted. A 404 that answers
    our own retry, after a try whose answer was lost (a 5xx, a reset, a timeout), confirms
    that try's deletion: it returns as a success.
    """
    path = _conversation_path(conversation_id)
    try:
        try:
            body = transport.request("DELETE", path)
        except NotFound as exc:
            if not exc.after_unclear_try:
                raise _named(ConversationNotFound, exc) from None
            logger.info("DELETE %s: the retry's 404 confirms the first try's deletion", path)
            body = None
        # Empty or an object: anything else is not the platform's answer to a deletion (a
        # proxy's page, a broken gateway), so the deletion is not confirmed.
        if body is not None and not isinstance(body, dict):
            raise UpstreamUnavailable("The platform's answer does not confirm the deletion.")
    finally:
        # Whatever the answer: a timeout or a 5xx may come after the platform deleted it.
        cache.forget_conversation(conversation_id)


def get_signed_url(agent_id: str) -> str:
    """GET /v1/convai/conversation/get-signed-url?agent_id= (a wss:// URL for a browser)."""
    signed_url = _agent_credential("/v1/convai/conversation/get-signed-url", agent_id, "signed_url")
    parts = urlsplit(signed_url)
    if parts.scheme not in {"wss", "ws"} or not parts.netloc:
        raise UpstreamUnavailable("The platform sent a signed URL that is not a WebSocket URL.")
    return signed_url


def get_conversation_token(agent_id: str) -> str:
    """GET /v1/convai/conversation/token?agent_id= (a short-lived WebRTC token)."""
    return _agent_credential("/v1/convai/conversation/token", agent_id, "token")


def check_platform() -> None:
    """GET /v1/convai/conversations?page_size=1, never from a cache (the readiness check).

    Returns when the platform answers and accepts the key; raises a XunaError otherwise.
    """
    _list_request({"page_size": 1})


def open_audio(conversation: Conversation, range_header: str | None = None) -> AudioStream:
    """GET the conversation's `audio` URL (normally /v1/convai/conversations/{id}/audio).

    The URL comes from the platform's data, so the key goes only to the configured API
    origin, and another host must use https, be listed in XUNA_AUDIO_HOSTS and have public
    addresses only. Only one syntactically valid byte range is forwarded. The content type
    is one of AUDIO_TYPES or AUDIO_FALLBACK_TYPE. The body is not read here: the caller
    streams `chunks` and must close().
    """
    url = conversation.audio_url
    if not url:
        raise RecordingNotFound()
    origin = transport.origin(url)
    if origin is None:
        raise UpstreamUnavailable("The recording link from the platform is not a web address.")
    if origin != transport.origin(settings.XUNA_API_BASE_URL):
        _check_audio_host(origin)
    headers = {"Accept": "audio/*, application/octet-stream"}
    if isinstance(range_header, str) and RANGE_RE.fullmatch(range_header.strip()):
        headers["Range"] = range_header.strip()
    try:
        response = transport.open_stream(url, headers=headers)
    except NotFound as exc:
        raise _named(
            RecordingNotFound, exc, "The platform has no recording of this conversation."
        ) from None
    try:
        return _audio_stream(response)
    except XunaError:
        response.close()
        raise


def _list_request(params):
    try:
        return transport.request("GET", CONVERSATIONS_PATH, params=params)
    except NotFound:
        # The list always exists: a 404 means the base URL points somewhere else.
        raise UpstreamUnavailable(
            "The platform has no conversation list at the configured address (HTTP 404); "
            "check XUNA_API_BASE_URL."
        ) from None


def _named(cls, exc, message=None):
    """The transport's NotFound as `cls`, which names what is missing: what a 404 means
    depends on what was asked for. It keeps the answer's status, and whether an earlier
    try's answer was unclear."""
    named = cls(message)
    named.status, named.after_unclear_try = exc.status, exc.after_unclear_try
    return named


def _conversation_path(conversation_id):
    return f"{CONVERSATIONS_PATH}/{quote(validate_id(conversation_id), safe='')}"


def _agent_credential(path, agent_id, field_name):
    agent_id = validate_id(agent_id)
    try:
        body = transport.request("GET", path, params={"agent_id": agent_id})
    except NotFound as exc:
        raise _named(AgentNotFound, exc) from None
    value = body.get(field_name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        label = field_name.replace("_", " ")
        raise UpstreamUnavailable(f"The platform's answer has no usable {label}.")
    return value


def _check_audio_host(origin):
    """Raise UpstreamUnavailable unless a recording may be fetched from this other origin.

    The link comes from the platform's data: unchecked, a conversation could make the
    dashboard probe any host and port, its own network included, and time the answers. So
    another host must be https, listed in XUNA_AUDIO_HOSTS, and resolve to public addresses
    only. A listed name could still resolve to a private address again between this check
    and the connection (DNS rebinding); that needs control of a host the operator chose.
    """
    scheme, host, port = origin
    if scheme != "https":
        raise UpstreamUnavailable(
            "The recording is offered over plain http by another host, so it was not fetched."
        )
    not_allowed = UpstreamUnavailable(
        "The recording's host is not allowed (XUNA_AUDIO_HOSTS), so it was not fetched."
    )
    allowed = {name.lower().rstrip(".") for name in settings.XUNA_AUDIO_HOSTS}
    if host.rstrip(".") not in allowed:
        raise not_allowed
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        raise UpstreamUnavailable("The recording's host could not be found.") from None
    if not addresses or not all(_is_public_address(address) for address in addresses):
        raise not_allowed


def _is_public_address(address):
    """Whether an IP address is one on the public internet (not loopback, private, etc.)."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # without an IPv6 zone
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    special = (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
    return ip.is_global and not special


def _audio_stream(response):
    status = response.status_code
    if status not in (200, 206):
        raise UpstreamUnavailable(f"The platform answered the recording with HTTP {status}.")
    content_type = _audio_content_type(response.headers.get("Content-Type", ""))
    length = response.headers.get("Content-Length", "").strip()
    content_range = None
    if status == 206:
        content_range = transport.content_range(response)
        if content_range is None:
            raise UpstreamUnavailable("The platform sent part of the recording without its range.")
    return AudioStream(
        chunks=_audio_chunks(response),
        content_type=content_type,
        content_length=int(length) if length.isdigit() else None,
        content_range=content_range,
        _response=response,
    )


def _audio_content_type(value):
    """One of AUDIO_TYPES, else AUDIO_FALLBACK_TYPE; UpstreamUnavailable for a type that is
    plainly not audio (a captive portal's page).

    A repeated header reaches us joined with ", " by urllib3, so a comma stands for both.
    """
    if "," in value:
        return AUDIO_FALLBACK_TYPE
    media_type = value.split(";")[0].strip().lower() or AUDIO_DEFAULT_TYPE
    if media_type in AUDIO_TYPES:
        return media_type
    if media_type.startswith("audio/") or media_type == AUDIO_FALLBACK_TYPE:
        return AUDIO_FALLBACK_TYPE
    raise UpstreamUnavailable("The platform sent something other than audio as the recording.")


def _audio_chunks(response):
    """No deadline here: a long recording streams for as long as the listener listens."""
    try:
        yield from transport.read_chunks(response)
    finally:
        response.close()
