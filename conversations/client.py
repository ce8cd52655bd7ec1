"""The only module that talks to the Xuna platform.

Each public function makes one call and names its endpoint in its docstring (the API and
this interface are described in docs/api.md). Frozen dataclasses come out; raw JSON,
`requests` and status codes never do. Everything that can go wrong is
raised as a `XunaError` subclass that callers catch by meaning.

`_request` owns the base URL, the key header, timeouts, the total deadline, retries and
the mapping of failures to exceptions. `parse_conversation` and `parse_page` are the
tolerant reader: pure functions that turn whatever the platform sent into dataclasses
and describe the fields they could not read in `problems` instead of failing.
`_cached` keeps list pages and conversations briefly in Django's cache (docs/performance.md).
"""

import dataclasses
import email.utils
import hashlib
import ipaddress
import json
import logging
import math
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import requests
import urllib3
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter

logger = logging.getLogger("conversations.client")

CONVERSATIONS_PATH = "/v1/convai/conversations"

ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Cursors are opaque, but a real one is short printable ASCII.
CURSOR_RE = re.compile(r"[\x21-\x7e]{1,1024}")
# One range only: multipart/byteranges answers are not something the player can use.
RANGE_RE = re.compile(r"bytes=(?:\d{1,15}-\d{0,15}|-\d{1,15})")
CONTENT_RANGE_RE = re.compile(r"bytes (?:\d+-\d+|\*)/(?:\d+|\*)")
ERROR_CODE_RE = re.compile(r"[a-z0-9_]{1,64}")

MAX_RETRIES = 2
RETRY_METHODS = frozenset({"GET", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.2
RETRY_AFTER_CAP = 2.0
CHUNK_SIZE = 64 * 1024
ERROR_BODY_LIMIT = 64 * 1024
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
RESULTS = frozenset({"success", "failure", "unknown"})
DEFAULT_PORTS = {"http": 80, "https": 443}


# Exceptions ----------------------------------------------------------------------------


class XunaError(Exception):
    """Base of everything this module raises; str() is a sentence a person can read."""

    default_message = "The conversation platform could not be used."
    # The platform's HTTP status when it answered with an error; None when it did not answer
    # (timeout, connection failure) or its answer was unusable. The audit log records it.
    status = None
    # Whether an earlier try of the same call got an unclear answer (a 5xx, a dropped
    # connection, a timeout): the platform may have acted on it before this answer came.
    after_unclear_try = False

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidIdentifier(XunaError):
    """An id or cursor that cannot be sent to the platform; no request was made."""

    default_message = "That identifier is not valid."


class ConversationNotFound(XunaError):
    default_message = "The platform has no such conversation."


class AuthenticationFailed(XunaError):
    default_message = (
        "The platform rejected the dashboard's API key: a configuration problem "
        "(check XUNA_API_KEY)."
    )


class RateLimited(XunaError):
    default_message = "The platform is receiving too many requests; try again shortly."

    def __init__(self, message=None, *, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class RangeNotSatisfiable(XunaError):
    """The recording has no bytes in the requested range (HTTP 416)."""

    default_message = "The requested part of the recording does not exist."

    def __init__(self, message=None, *, content_range=None):
        super().__init__(message)
        self.content_range = content_range


class UpstreamUnavailable(XunaError):
    default_message = "The conversation platform is not available right now."


class UpstreamTimeout(UpstreamUnavailable):
    default_message = "The conversation platform did not answer in time."


class RequestRefused(UpstreamUnavailable):
    """The platform refused the request as malformed (a 4xx other than 401/403/404/429)."""

    default_message = "The platform refused the request."


# Data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    offset: float | None


@dataclass(frozen=True)
class EvaluationResult:
    criterion: str
    result: str | None
    score: float | None
    feedback: str


@dataclass(frozen=True)
class CollectedValue:
    key: str
    value: object
    rationale: str


@dataclass(frozen=True)
class Conversation:
    id: str
    # Unknown unless the platform says; a conversation known only by its id has just that.
    agent_id: str | None = None
    agent_name: str | None = None
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: float | None = None
    audio_url: str | None = None
    call_successful: str | None = None
    transcript: tuple[Turn, ...] = ()
    evaluation: tuple[EvaluationResult, ...] = ()
    collected_data: tuple[CollectedValue, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConversationPage:
    items: tuple[Conversation, ...]
    next_cursor: str | None
    has_more: bool
    problems: tuple[str, ...] = ()


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


# Public functions --------------------------------------------------------------------------


def validate_id(value: str) -> str:
    """Return `value` if it can be put in a platform URL path, else raise InvalidIdentifier."""
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise InvalidIdentifier()
    return value


def list_conversations(
    agent_id: str | None = None, cursor: str | None = None, page_size: int = 30
) -> ConversationPage:
    """GET /v1/convai/conversations?agent_id=&cursor=&page_size= (newest first)."""
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
            body = _request("GET", CONVERSATIONS_PATH, params=params)
        except ConversationNotFound:
            # The list always exists: a 404 means the base URL points somewhere else.
            raise UpstreamUnavailable(
                "The platform has no conversation list at the configured address (HTTP 404); "
                "check XUNA_API_BASE_URL."
            ) from None
        except RequestRefused:
            if cursor is None:
                raise
            # The cursor is the one part a person can change: a made-up or stale page link.
            raise InvalidIdentifier("That page link is not valid.") from None
        return parse_page(body)

    return _cached(_list_key(params), _setting("XUNA_CACHE_LIST_SECONDS", 30), load)


def get_conversation(conversation_id: str, *, cached: bool = True) -> Conversation:
    """GET /v1/convai/conversations/{conversation_id}

    `cached=False` neither reads nor fills the cache (an export of thousands would evict
    what reviewers are looking at).
    """
    path = _conversation_path(conversation_id)
    try:
        return _cached(
            _conversation_key(conversation_id) if cached else None,
            _setting("XUNA_CACHE_CONVERSATION_SECONDS", 60),
            lambda: parse_conversation(_request("GET", path)),
        )
    except ConversationNotFound:
        # Gone on the platform (deleted elsewhere): no cached list may offer it any longer.
        _forget_conversation(conversation_id)
        raise


def delete_conversation(conversation_id: str) -> None:
    """DELETE /v1/convai/conversations/{conversation_id}

    Raises ConversationNotFound when it is unknown or already deleted. A 404 that answers
    our own retry, after a try whose answer was lost (a 5xx, a reset, a timeout), confirms
    that try's deletion: it returns as a success.
    """
    path = _conversation_path(conversation_id)
    try:
        try:
            body = _request("DELETE", path)
        except ConversationNotFound as exc:
            if not exc.after_unclear_try:
                raise
            logger.info("DELETE %s: the retry's 404 confirms the first try's deletion", path)
            body = None
        # Empty or an object: anything else is not the platform's answer to a deletion (a
        # proxy's page, a broken gateway), so the deletion is not confirmed.
        if body is not None and not isinstance(body, dict):
            raise UpstreamUnavailable("The platform's answer does not confirm the deletion.")
    finally:
        # Whatever the answer: a timeout or a 5xx may come after the platform deleted it.
        _forget_conversation(conversation_id)


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
    _request("GET", CONVERSATIONS_PATH, params={"page_size": 1})


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
        raise ConversationNotFound("This conversation has no recording.")
    origin = _origin(url)
    if origin is None:
        raise UpstreamUnavailable("The recording link from the platform is not a web address.")
    own_origin = origin == _origin(_setting("XUNA_API_BASE_URL", ""))
    if not own_origin:
        _check_audio_host(origin)
    headers = {"Accept": "audio/*, application/octet-stream"}
    if isinstance(range_header, str) and RANGE_RE.fullmatch(range_header.strip()):
        headers["Range"] = range_header.strip()
    response = _request(
        "GET",
        urlsplit(url).path,
        stream=True,
        headers=headers,
        absolute_url=url,
        send_key=own_origin,
    )
    try:
        return _audio_stream(response)
    except XunaError:
        response.close()
        raise


# The tolerant reader -------------------------------------------------------------------------

# The moments every time zone can show: Python's datetime ends with the years 1 and 9999, and
# a viewer's zone (up to about 15 hours from UTC) carries their first and last hours past
# those ends, which is an OverflowError wherever a time is shown.
EARLIEST_TIME = datetime(2, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)  # the first moment out of range
# Collected values are free-form JSON. The cache's pickling and the page's rendering recurse
# once or more per level, so a value nested hundreds of levels deep would fail both: what
# lies deeper than this is replaced by TOO_DEEP.
MAX_NESTING = 20
TOO_DEEP = "… (nested too deeply to show)"


def parse_conversation(data: object) -> Conversation:
    """Read a conversation (detail or list summary) in any of the shapes the platform uses.

    Raises UpstreamUnavailable only when there is no object with a usable id; every other
    unreadable field is left out and described in `problems`.
    """
    if not isinstance(data, dict):
        raise UpstreamUnavailable("The platform sent a conversation that is not a JSON object.")
    conversation_id = _read_id(data)
    if conversation_id is None:
        raise UpstreamUnavailable("The platform sent a conversation without a usable id.")
    problems = []
    metadata = _read_object(data, "metadata", "the metadata", problems)
    analysis = _read_object(data, "analysis", "the analysis", problems)

    start_time = _read_time(metadata, data, "start", problems)
    end_time = _read_time(metadata, data, "end", problems)
    duration = _read_duration(metadata, data, problems)
    if end_time is None and start_time is not None and duration is not None:
        try:
            end_time = start_time + timedelta(seconds=duration)
        except OverflowError:
            end_time = None
        if end_time is None or not _showable(end_time):
            end_time = None
            problems.append("The end time is out of range.")
    if duration is None and start_time is not None and end_time is not None:
        if end_time >= start_time:
            duration = (end_time - start_time).total_seconds()
        else:
            problems.append("The end time is before the start time.")

    call_successful = _first(data, analysis, key="call_successful")
    if call_successful is not None:
        call_successful, _ = _read_outcome(call_successful)
        if call_successful is None:
            call_successful = "unknown"
            problems.append("The call outcome is not success, failure or unknown.")

    return Conversation(
        id=conversation_id,
        agent_id=_read_text(data, metadata, "agent_id", "the agent id", problems),
        agent_name=_read_text(data, metadata, "agent_name", "the agent name", problems),
        status=_read_text(data, {}, "status", "the status", problems),
        start_time=start_time,
        end_time=end_time,
        duration=duration,
        audio_url=_read_audio_url(data, problems),
        call_successful=call_successful,
        transcript=_read_transcript(data, problems),
        evaluation=_read_evaluation(data, analysis, problems),
        collected_data=_read_collected_data(data, analysis, problems),
        problems=tuple(problems),
    )


def parse_page(data: object) -> ConversationPage:
    """Read one page of the conversation list; items without a usable id are skipped."""
    if not isinstance(data, dict):
        raise UpstreamUnavailable("The platform sent a list that is not a JSON object.")
    problems = []
    _, raw_items = _first_of((data,), ("conversations", "items"))
    if raw_items is None:
        raw_items = []
    elif not isinstance(raw_items, list):
        problems.append("The list of conversations is not a list.")
        raw_items = []
    items = []
    for number, raw in enumerate(raw_items, start=1):
        try:
            items.append(parse_conversation(raw))
        except UpstreamUnavailable:
            problems.append(f"Conversation {number} in the list has no usable id and was left out.")

    next_cursor = data.get("next_cursor")
    if next_cursor is not None and not (isinstance(next_cursor, str) and next_cursor):
        problems.append("The link to the next page is not readable.")
        next_cursor = None
    has_more = data.get("has_more")
    if has_more is None:
        has_more = next_cursor is not None
    elif not isinstance(has_more, bool):
        problems.append("Whether there are more conversations is not readable.")
        has_more = next_cursor is not None
    elif has_more and next_cursor is None:
        problems.append("The list says there are more conversations but gives no next page.")
        has_more = False
    return ConversationPage(
        items=tuple(items), next_cursor=next_cursor, has_more=has_more, problems=tuple(problems)
    )


def _read_id(data):
    for key in ("conversation_id", "id"):
        value = data.get(key)
        if isinstance(value, str) and ID_RE.fullmatch(value):
            return value
    return None


def _first(*sources, key):
    """The first non-null value of `key` in the given objects."""
    for source in sources:
        value = source.get(key)
        if value is not None:
            return value
    return None


def _first_of(sources, keys):
    for key in keys:
        value = _first(*sources, key=key)
        if value is not None:
            return key, value
    return None, None


def _read_object(data, key, label, problems):
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{label.capitalize()} is not an object.")
        return {}
    return value


def _read_text(data, metadata, key, label, problems):
    value = _first(data, metadata, key=key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{label.capitalize()} is not text.")
        return None
    return value


def _number(value):
    """A JSON number as a float, else None.

    Python's bool is an int but true is no amount; NaN, infinity and integers too large for
    a float are not amounts either.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _read_time(metadata, data, which, problems):
    """An aware UTC datetime from ISO 8601 text (naive means UTC) or Unix seconds."""
    key, value = _first_of((metadata, data), (f"{which}_time", f"{which}_time_unix_secs"))
    if value is None:
        return None
    moment = None
    try:
        if isinstance(value, str) and not key.endswith("_unix_secs"):
            moment = datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
        elif (seconds := _number(value)) is not None:
            moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    if moment is None:
        problems.append(f"The {which} time is not a readable date.")
        return None
    if not _showable(moment):
        problems.append(f"The {which} time is out of range (year {moment.year}).")
        return None
    return moment


def _showable(moment):
    """Whether every time zone can show this moment (EARLIEST_TIME, LATEST_TIME)."""
    return EARLIEST_TIME <= moment < LATEST_TIME


def _read_duration(metadata, data, problems):
    _, value = _first_of((metadata, data), ("duration", "duration_secs", "call_duration_secs"))
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None or seconds < 0:
        problems.append("The duration is not a number of seconds.")
        return None
    return seconds


def _read_audio_url(data, problems):
    _, value = _first_of((data,), ("audio", "audio_url"))
    if value is None:
        return None
    if not isinstance(value, str) or _origin(value) is None:
        problems.append("The recording link is not a web address.")
        return None
    return value


def _read_transcript(data, problems):
    turns = data.get("transcript")
    if turns is None:
        return ()
    if not isinstance(turns, list):
        problems.append("The transcript is not a list of turns.")
        return ()
    result = []
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            problems.append(f"Transcript turn {number} is not readable.")
            continue
        _, text = _first_of((turn,), ("text", "message"))
        if not isinstance(text, str):
            problems.append(f"Transcript turn {number} has no readable text.")
            continue
        _, speaker = _first_of((turn,), ("speaker", "role", "speaker_label"))
        if isinstance(speaker, str) and speaker.strip():
            speaker = speaker.strip().lower()
        else:
            problems.append(f"Transcript turn {number} has no readable speaker.")
            speaker = "unknown"
        _, raw_offset = _first_of((turn,), ("timestamp", "time_in_call_secs", "offset"))
        offset = _number(raw_offset)
        if raw_offset is not None and (offset is None or offset < 0):
            problems.append(f"Transcript turn {number} has no readable time.")
            offset = None
        result.append(Turn(speaker=speaker, text=text, offset=offset))
    return tuple(result)


def _named_entries(container, name_keys, label, problems):
    """(name, entry) pairs from `{name: entry}` or from `[{<name key>: name, ...}]`."""
    if isinstance(container, dict):
        return [(name, entry) for name, entry in container.items() if isinstance(name, str)]
    if not isinstance(container, list):
        problems.append(f"The {label} are not readable.")
        return []
    pairs = []
    for number, entry in enumerate(container, start=1):
        name = None
        if isinstance(entry, dict):
            _, name = _first_of((entry,), name_keys)
        if not isinstance(name, str) or not name:
            problems.append(f"Entry {number} of the {label} has no name and was left out.")
            continue
        pairs.append((name, entry))
    return pairs


def _read_outcome(value):
    """(result, score) from a bool, a number or a success/failure/unknown string."""
    if isinstance(value, bool):
        return ("success" if value else "failure"), None
    if _number(value) is not None:
        return None, _number(value)
    if isinstance(value, str) and value.strip().lower() in RESULTS:
        return value.strip().lower(), None
    return None, None


def _read_evaluation(data, analysis, problems):
    container = data.get("evaluation_results")
    if container is None:
        container = analysis.get("evaluation_criteria_results")
    if container is None:
        return ()
    results = []
    for criterion, entry in _named_entries(
        container, ("criterion", "criteria_id", "name"), "evaluation results", problems
    ):
        if not isinstance(entry, dict):
            entry = {"result": entry}
        result = score = None
        readable = False
        for key in ("score", "result"):
            if entry.get(key) is None:
                continue
            outcome, number = _read_outcome(entry[key])
            readable = readable or outcome is not None or number is not None
            result = result or outcome
            score = score if score is not None else number
        if not readable:
            problems.append(f"The evaluation “{criterion}” has no readable result.")
            result = "unknown"
        _, feedback = _first_of((entry,), ("feedback", "rationale"))
        if feedback is not None and not isinstance(feedback, str):
            problems.append(f"The feedback for “{criterion}” is not text.")
            feedback = None
        results.append(
            EvaluationResult(
                criterion=criterion, result=result, score=score, feedback=feedback or ""
            )
        )
    return tuple(results)


def _read_collected_data(data, analysis, problems):
    container = data.get("collected_data")
    if container is None:
        container = analysis.get("data_collection_results")
    if container is None:
        return ()
    values = []
    for key, entry in _named_entries(
        container, ("key", "data_collection_id", "name"), "collected data", problems
    ):
        value, rationale = entry, ""
        if isinstance(entry, dict) and "value" in entry:
            value, rationale = entry["value"], entry.get("rationale")
            if rationale is None:
                rationale = ""
            elif not isinstance(rationale, str):
                problems.append(f"The rationale for “{key}” is not text.")
                rationale = ""
        if _nested_deeper_than(value, MAX_NESTING):
            value = _cut_below(value, MAX_NESTING)
            problems.append(
                f"The value of “{key}” is nested more than {MAX_NESTING} levels deep; "
                "the deeper levels are not shown."
            )
        values.append(CollectedValue(key=key, value=value, rationale=rationale))
    return tuple(values)


def _nested_deeper_than(value, levels):
    """Whether `value` holds objects or lists more than `levels` deep; recurses `levels` at most."""
    if not isinstance(value, dict | list):
        return False
    if levels == 0:
        return True
    items = value.values() if isinstance(value, dict) else value
    return any(_nested_deeper_than(item, levels - 1) for item in items)


def _cut_below(value, levels):
    """A copy of `value` with each object or list more than `levels` deep replaced by TOO_DEEP."""
    if not isinstance(value, dict | list):
        return value
    if levels == 0:
        return TOO_DEEP
    if isinstance(value, dict):
        return {key: _cut_below(item, levels - 1) for key, item in value.items()}
    return [_cut_below(item, levels - 1) for item in value]


# Cache -----------------------------------------------------------------------------------------

# Keys are per workspace and per call, never per user: every role that may call
# list_conversations or get_conversation sees the same workspace data, and each view checks
# the user's permission before it calls the client. The workspace is a fingerprint of the
# base URL and a SHA-256 of the key, so the key itself is never part of a cache key.
# The schema is part of each key, so that after an upgrade that changes these dataclasses no
# process unpickles an entry that an older version stored in a shared cache.
CACHE_PREFIX = "xuna"
_SCHEMA = hashlib.sha256(
    repr(
        [
            [(f.name, str(f.type)) for f in dataclasses.fields(cls)]
            for cls in (Turn, EvaluationResult, CollectedValue, Conversation, ConversationPage)
        ]
    ).encode()
).hexdigest()[:8]


def _cached(key, seconds, load):
    """`load()`, or what it returned within the last `seconds`; with no key, always load().

    The parsed dataclasses are stored: reading one back is several times cheaper than
    parsing the platform's JSON again (docs/performance.md). An answer the reader could not
    fully read is not stored: it may be a passing fault of the platform, and kept it would
    be served for the whole lifetime after the platform recovered.
    """
    if key is None:
        return load()
    value = cache.get(key)
    if value is None:
        value = load()
        if _fully_read(value):
            cache.set(key, value, seconds)
    return value


def _fully_read(value):
    """Whether a Conversation, or a ConversationPage and each of its items, has no problems."""
    if isinstance(value, ConversationPage):
        return not value.problems and not any(item.problems for item in value.items)
    return not value.problems


def _workspace():
    config = _config()
    key_digest = hashlib.sha256(config.key.encode()).hexdigest()
    return hashlib.sha256(f"{config.base_url}\n{key_digest}".encode()).hexdigest()[:32]


def _key(workspace, kind, name):
    return f"{CACHE_PREFIX}:{_SCHEMA}:{workspace}:{kind}:{name}"


def _list_key(params):
    """The key of one list page, or None with the cache off.

    The list generation is part of it: a deletion moves every list page to new keys at once.
    """
    if not _setting("XUNA_CACHE", True):
        return None
    workspace = _workspace()
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]
    return _key(workspace, "list", f"{_list_generation(workspace)}:{digest}")


def _conversation_key(conversation_id):
    if not _setting("XUNA_CACHE", True):
        return None
    return _key(_workspace(), "conversation", conversation_id)


def _list_generation(workspace):
    key = _key(workspace, "list-generation", "")
    generation = cache.get(key)
    if generation is None:
        # A counter that is missing (new, or evicted) starts from the clock, never from a
        # value that older list entries may still be stored under.
        cache.add(key, time.time_ns(), None)
        generation = cache.get(key, 0)
    return generation


def _forget_conversation(conversation_id):
    """Drop a conversation's entry and move every list page of its workspace to new keys.

    Done even with the cache off here: another process sharing the cache may have it on.
    Other workers' own memory caches are not reached; the views hide conversations that the
    audit log records as deleted, which covers them and a fetch that was already under way.
    """
    workspace = _workspace()
    cache.delete(_key(workspace, "conversation", conversation_id))
    generation_key = _key(workspace, "list-generation", "")
    try:
        cache.incr(generation_key)
    except ValueError:
        cache.set(generation_key, time.time_ns(), None)


# HTTP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    base_url: str
    key: str = field(repr=False)  # a traceback or debugger showing the config shows no key
    key_header: str
    timeout: float
    connect_timeout: float
    pool_size: int
    max_bytes: int


def _setting(name, default):
    return getattr(settings, name, default)


def _config():
    """Settings are read at call time, so tests and a changed environment take effect."""
    return _Config(
        base_url=str(_setting("XUNA_API_BASE_URL", "https://api.xuna.ai")).rstrip("/"),
        key=_setting("XUNA_API_KEY", "") or "",
        key_header=_setting("XUNA_API_KEY_HEADER", "xi-api-key") or "xi-api-key",
        timeout=float(_setting("XUNA_API_TIMEOUT", 10.0)),
        connect_timeout=float(_setting("XUNA_API_CONNECT_TIMEOUT", 3.05)),
        pool_size=int(_setting("XUNA_API_POOL_SIZE", 16)),
        max_bytes=int(_setting("XUNA_API_MAX_RESPONSE_BYTES", 20_000_000)),
    )


_session = None
_session_for = None
_session_lock = threading.Lock()


def reset_session() -> None:
    """Drop the pooled connections; the next call builds a new session from settings."""
    global _session, _session_for
    with _session_lock:
        old, _session, _session_for = _session, None, None
    if old is not None:
        old.close()


def _get_session(config):
    global _session, _session_for
    wanted = (config.base_url, config.pool_size)
    with _session_lock:
        # A new base URL (tests, a settings change) gets a fresh pool; the old one is left
        # to the garbage collector because another thread may still be using it.
        if _session is None or _session_for != wanted:
            session = requests.Session()
            # No proxy, netrc or CA settings from the environment ever see the key.
            session.trust_env = False
            adapter = HTTPAdapter(
                pool_connections=4, pool_maxsize=config.pool_size, pool_block=False, max_retries=0
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers.update(
                {"User-Agent": "conversation-review/0.1", "Accept-Encoding": "identity"}
            )
            _session, _session_for = session, wanted
        return _session


def _origin(url):
    """(scheme, host, port) of an http(s) URL without credentials, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError):
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


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
    allowed = {name.lower().rstrip(".") for name in _setting("XUNA_AUDIO_HOSTS", ())}
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


def _conversation_path(conversation_id):
    return f"{CONVERSATIONS_PATH}/{quote(validate_id(conversation_id), safe='')}"


def _agent_credential(path, agent_id, field_name):
    agent_id = validate_id(agent_id)
    try:
        body = _request("GET", path, params={"agent_id": agent_id})
    except ConversationNotFound:
        raise ConversationNotFound("The platform has no agent with this id.") from None
    value = body.get(field_name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        label = field_name.replace("_", " ")
        raise UpstreamUnavailable(f"The platform's answer has no usable {label}.")
    return value


def _request(
    method,
    path,
    *,
    params=None,
    stream=False,
    headers=None,
    absolute_url=None,
    send_key=True,
):
    """Make one call to the platform, with retries, within one total deadline.

    Returns the decoded JSON body (None for an empty one), or with stream=True the open
    `requests.Response` whose body the caller reads and closes. Raises only XunaError.
    """
    config = _config()
    if not config.key:
        raise AuthenticationFailed(
            "The dashboard has no API key for the platform: set XUNA_API_KEY."
        )
    url = absolute_url or config.base_url + path
    request_headers = {"Accept": "application/json", **(headers or {})}
    # The key goes to the configured API origin only, whatever URL the caller passed.
    origin = _origin(url)
    if send_key and origin is not None and origin == _origin(config.base_url):
        request_headers[config.key_header] = config.key
    session = _get_session(config)
    deadline = time.monotonic() + config.timeout
    may_retry = method in RETRY_METHODS

    error = None
    unclear = False
    for attempt in range(MAX_RETRIES + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            # Out of time after waiting to retry (a sleep can overrun on a busy machine): what
            # the platform last answered, say a 503, is truer than "it did not answer".
            raise error or _error(UpstreamTimeout, None, config)
        started = time.monotonic()
        failure = response = None
        try:
            response = session.request(
                method,
                url,
                params=params,
                headers=request_headers,
                timeout=(min(config.connect_timeout, remaining), min(config.timeout, remaining)),
                allow_redirects=False,
                stream=True,
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            failure = exc
        elapsed_ms = (time.monotonic() - started) * 1000

        if failure is not None:
            error = _error_for_exception(failure, config)
            logger.warning(
                "%s %s failed after %d ms: %s", method, path, elapsed_ms, type(failure).__name__
            )
            retry = (
                may_retry
                and isinstance(failure, requests.ConnectionError)
                and not isinstance(failure, requests.exceptions.SSLError)
            )
            delay = _backoff(attempt)
        else:
            status = response.status_code
            logger.info("%s %s -> %s in %d ms", method, path, status, elapsed_ms)
            if status in (401, 403):
                logger.error(
                    "Configuration error: the platform rejected the API key (HTTP %s); "
                    "check XUNA_API_KEY.",
                    status,
                )
            if 200 <= status < 300:
                if stream:
                    return response
                return _read_json(response, deadline, config)
            error = _error_for_response(response, deadline, config)
            delay = _retry_after(response)
            # A platform that asks for more patience than the cap gets it: no early retry.
            retry = may_retry and status in RETRY_STATUSES
            retry = retry and (delay is None or delay <= RETRY_AFTER_CAP)
            delay = _backoff(attempt) if delay is None else delay

        error.after_unclear_try = unclear
        unclear = unclear or error.status is None or error.status >= 500
        if not retry or attempt == MAX_RETRIES or time.monotonic() + delay >= deadline:
            raise error
        logger.info("%s %s: retrying in %.2f s", method, path, delay)
        time.sleep(delay)
    raise AssertionError("unreachable: the last attempt always raises or returns")


def _backoff(attempt):
    """Full jitter: spreads the retries of many dashboard workers after a platform hiccup."""
    return random.uniform(0, BACKOFF_BASE * 2**attempt)


def _retry_after(response):
    """Seconds from a Retry-After header (seconds or HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _error(cls, message, config, **kwargs):
    """Build an exception whose message cannot carry the key, whatever went into it."""
    if message and config.key:
        message = message.replace(config.key, "[redacted]")
    return cls(message, **kwargs)


def _error_for_exception(exc, config):
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return _error(UpstreamTimeout, None, config)
    if isinstance(exc, requests.exceptions.SSLError):
        return _error(UpstreamUnavailable, "A secure connection to the platform failed.", config)
    if isinstance(exc, requests.ConnectionError):
        return _error(UpstreamUnavailable, "The platform could not be reached.", config)
    return _error(UpstreamUnavailable, "The request to the platform failed.", config)


def _error_for_response(response, deadline, config):
    """The exception for a non-2xx answer, carrying its status; the response is closed."""
    exc = _exception_for_status(response, deadline, config)
    exc.status = response.status_code
    return exc


def _exception_for_status(response, deadline, config):
    status = response.status_code
    # Reading the (small) error body lets the connection go back to the pool.
    code = _error_code(response, deadline, config)
    response.close()
    if 300 <= status < 400:
        message = "The platform answered with a redirect, which was not followed."
        return _error(UpstreamUnavailable, message, config)
    if status == 404:
        return _error(ConversationNotFound, None, config)
    if status in (401, 403):
        return _error(AuthenticationFailed, None, config)
    if status == 429:
        return _error(RateLimited, None, config, retry_after=_retry_after(response))
    if status == 416:
        content_range = response.headers.get("Content-Range", "").strip()
        if not CONTENT_RANGE_RE.fullmatch(content_range):
            content_range = None
        return _error(RangeNotSatisfiable, None, config, content_range=content_range)
    if 400 <= status < 500:
        detail = f"HTTP {status}, {code}" if code else f"HTTP {status}"
        return _error(RequestRefused, f"The platform refused the request ({detail}).", config)
    message = f"The platform is not working right now (HTTP {status})."
    return _error(UpstreamUnavailable, message, config)


def _error_code(response, deadline, config):
    """The short `detail.status` code of an error body, if it has a readable one."""
    try:
        body = json.loads(_read_body(response, deadline, min(config.max_bytes, ERROR_BODY_LIMIT)))
    except (XunaError, ValueError, RecursionError):
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    code = detail.get("status") if isinstance(detail, dict) else None
    return code if isinstance(code, str) and ERROR_CODE_RE.fullmatch(code) else None


def _read_json(response, deadline, config):
    try:
        body = _read_body(response, deadline, config.max_bytes)
    finally:
        response.close()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        content_type = response.headers.get("Content-Type", "no type")[:60]
        message = f"The platform sent a reply that is not JSON ({content_type})."
        raise _error(UpstreamUnavailable, message, config) from None


def _read_body(response, deadline, limit):
    """The whole body, or UpstreamTimeout past the deadline, or UpstreamUnavailable past limit."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise UpstreamUnavailable("The platform's reply is too large.")
    body = bytearray()
    for chunk in _chunks(response, deadline):
        body += chunk
        if len(body) > limit:
            raise UpstreamUnavailable("The platform's reply is too large.")
    return bytes(body)


def _chunks(response, deadline=None):
    """The body as it arrives, at most CHUNK_SIZE at a time; only XunaError escapes.

    `read1` returns whatever has arrived, where `iter_content` waits for a full chunk when
    the length is known. With a deadline the socket wait is lowered to the time left before
    each read, so a server trickling a byte a second is stopped at the deadline.
    """
    try:
        while True:
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise UpstreamTimeout()
            _prepare_socket(response, remaining)
            chunk = response.raw.read1(CHUNK_SIZE, decode_content=True)
            if not chunk:
                return
            yield chunk
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        raise UpstreamTimeout() from None
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError):
        raise UpstreamUnavailable("The platform's reply was cut off.") from None


def _prepare_socket(response, seconds):
    """Before each read: lower the socket wait to `seconds` (None leaves it as it is), and
    acknowledge at once what has arrived.

    A server that writes an answer's head and body apart with Nagle's algorithm on (Python's
    http.server, some proxies) sends the body only once the head is acknowledged, and on a
    reused connection Linux delays that acknowledgement by 40 ms (issue 12). TCP_QUICKACK
    sends it now; the kernel does not keep the option set, hence before each read.
    """
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    if seconds is not None:
        sock.settimeout(seconds)
    if hasattr(socket, "TCP_QUICKACK"):  # Linux only
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _audio_stream(response):
    status = response.status_code
    if status not in (200, 206):
        raise UpstreamUnavailable(f"The platform answered the recording with HTTP {status}.")
    content_type = _audio_content_type(response.headers.get("Content-Type", ""))
    length = response.headers.get("Content-Length", "").strip()
    content_range = None
    if status == 206:
        content_range = response.headers.get("Content-Range", "").strip()
        if not CONTENT_RANGE_RE.fullmatch(content_range):
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
        yield from _chunks(response)
    finally:
        response.close()
