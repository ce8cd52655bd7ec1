"""The real answers of the platform's six endpoints to an authorized request (docs/api.md).

Plain functions of what the store holds: the `Emulator` looks records up under its lock and
passes them in. Faults, latency and the key check happen before any of this is reached.
"""

import base64
import binascii
import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from emulator.audio import Recording
from emulator.generate import timeline
from emulator.lenient import as_number, raw_timeline
from emulator.responses import Response, error_response, json_response
from emulator.shapes import build_detail, summary
from emulator.store import Record

PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 30, 100
MAX_DURATION = 86400  # a hand-added conversation claiming more gets no audio

_RANGE = re.compile(r"bytes\s*=\s*(\d*)\s*-\s*(\d*)", re.IGNORECASE)


# The list


@dataclass(frozen=True)
class ListQuery:
    agent_id: str | None
    after: tuple[float, str] | None  # the sort key of the last conversation already listed
    size: int


def read_list_query(query: dict[str, str]) -> ListQuery | Response:
    """What a list request asks for, or the error answer to a bad page size or cursor."""
    try:
        size = int(query.get("page_size", PAGE_SIZE_DEFAULT))
    except ValueError:
        size = 0
    if not 1 <= size <= PAGE_SIZE_MAX:
        return error_response(
            422, "invalid_page_size", f"page_size must be between 1 and {PAGE_SIZE_MAX}."
        )
    try:
        after = decode_cursor(query["cursor"]) if query.get("cursor") else None
    except ValueError:
        return error_response(400, "invalid_cursor", "The cursor is not valid.")
    return ListQuery(query.get("agent_id") or None, after, size)


def list_page(records: list[Record], has_more: bool) -> Response:
    return json_response(
        200,
        {
            "conversations": [summary(record) for record in records],
            "next_cursor": encode_cursor(records[-1].sort_key) if has_more else None,
            "has_more": has_more,
        },
    )


def encode_cursor(key: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The sort key inside a cursor; ValueError when it is not one of ours."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError("undecodable cursor") from error
    if (
        not isinstance(decoded, list)
        or len(decoded) != 2
        or as_number(decoded[0]) is None
        or not isinstance(decoded[1], str)
    ):
        raise ValueError("malformed cursor")
    return (decoded[0], decoded[1])


# One conversation: get, delete, audio


def not_found(conversation_id: str | None) -> Response:
    return error_response(
        404, "conversation_not_found", f"Conversation {conversation_id} was not found."
    )


def detail(record: Record, base_url: str) -> Response:
    return json_response(200, build_detail(record, base_url))


def too_many_concurrent(limit: int, retry_after: int) -> Response:
    """The answer to a request beyond the workspace's concurrency limit (`max_concurrent`).

    The contract (../shared/api/conversations-api.txt) says nothing about limits; this is the
    answer platforms of this family give: 429 with a code naming the cause, and Retry-After.
    """
    return error_response(
        429,
        "too_many_concurrent_requests",
        f"Too many concurrent requests: at most {limit} at a time.",
        {"Retry-After": str(retry_after)},
    )


def deleted() -> Response:
    return json_response(200, {})


class RangeNotSatisfiable(Exception):
    pass


def audio(record: Record, range_header: str | None) -> Response:
    """The recording as a WAV file, whole or the one range asked for."""
    plan = recording_plan(record)
    if plan is None:
        return error_response(
            404, "audio_not_found", f"Conversation {record.conversation_id} has no audio."
        )
    recording = Recording(*plan)
    headers = {"Accept-Ranges": "bytes"}
    try:
        span = parse_range(range_header, recording.size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{recording.size}"
        return error_response(
            416, "range_not_satisfiable", "The range is outside the file.", headers
        )
    if span is None:
        return Response(200, recording.chunks(), recording.size, "audio/wav", headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{recording.size}"
    return Response(206, recording.chunks(first, last + 1), last - first + 1, "audio/wav", headers)


def recording_plan(record: Record) -> tuple[float, list[tuple[str, float]]] | None:
    """(duration, turns) to synthesise the recording from, or None when there is no audio."""
    if not record.has_audio or record.duration is None or not 0 <= record.duration <= MAX_DURATION:
        return None
    if record.raw is not None:
        return record.duration, raw_timeline(record.raw)
    return record.duration, timeline(record)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a Range header asks for, or None to send the whole file.

    Multiple ranges and malformed headers are ignored, which HTTP allows (RFC 9110, 14.2).
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match[1] == match[2] == "":
        return None
    if match[1] == "":
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    first = int(match[1])
    last = int(match[2]) if match[2] else size - 1
    if match[2] and last < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable
    return first, min(last, size - 1)


# Credentials for a live conversation: signed_url, token


def credentials(
    endpoint: str, agent_id: str | None, agent_ids: set[str], base_url: str
) -> Response:
    if not agent_id:
        return error_response(422, "missing_agent_id", "The agent_id parameter is required.")
    if agent_id not in agent_ids:
        return error_response(404, "agent_not_found", f"Agent {agent_id} was not found.")
    token = secrets.token_urlsafe(24)
    if endpoint == "token":
        return json_response(200, {"token": token})
    netloc = urlsplit(base_url).netloc
    signed_url = (
        f"wss://{netloc}/v1/convai/conversation"
        f"?agent_id={quote(agent_id)}&conversation_signature={token}"
    )
    return json_response(200, {"signed_url": signed_url})
