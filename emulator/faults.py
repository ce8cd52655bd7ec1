"""Faults: the ways a test can spoil the emulator's answers, checked when set, applied when taken.

A fault stands for what can sit between the dashboard and the platform, or a platform having a
bad day: an error status, a hang, a reset connection, a captive portal's HTML, a redirect, a
body that trickles, is cut short, is huge, has the wrong types, or is anything at all (`body`).
The kinds and options are listed in docs/api.md.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from emulator.audio import CHUNK_SIZE
from emulator.lenient import as_number
from emulator.responses import Hangup, Response, error_response, header_values, json_response
from emulator.routes import ENDPOINTS

STATUS_FAULTS = {  # kind -> (HTTP status, error code)
    "500": (500, "internal_server_error"),
    "502": (502, "bad_gateway"),
    "503": (503, "service_unavailable"),
    "429": (429, "rate_limit_exceeded"),
    "401": (401, "invalid_api_key"),
    "404": (404, "not_found"),
}
FAULT_KINDS = (
    *STATUS_FAULTS,
    *("hang", "trickle", "html", "truncated", "wrong_types", "huge", "redirect", "reset"),
    "body",
)
# `act`: the platform does the work (a DELETE deletes), then the fault replaces its answer:
# an answer lost on its way back.
FAULT_OPTIONS = (
    "retry_after",
    "seconds",
    "size_mb",
    "location",
    "content_type",
    "body",
    "act",
)
# Options given as text; the others are numbers.
TEXT_OPTIONS = ("location", "content_type", "body")
DEFAULT_HANG_SECONDS = 30.0
DEFAULT_HUGE_MB = 50
DEFAULT_REDIRECT = "http://evil.example/steal"

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head>"
    b"<body><h1>Welcome to Airport Wi-Fi</h1><p>Please accept the terms to continue.</p>"
    b"</body></html>"
)


@dataclass
class Fault:
    endpoint: str  # an endpoint name or "*"
    kind: str
    times: int | None  # requests left to spoil; None until cleared
    options: dict = field(default_factory=dict)


def new_fault(endpoint: str, kind: str, times: int | None, options: dict) -> Fault:
    """A fault as asked for; ValueError saying what is wrong with the request."""
    kind = str(kind)
    if endpoint != "*" and endpoint not in ENDPOINTS:
        raise ValueError(f"Unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)} or *.")
    if kind not in FAULT_KINDS:
        raise ValueError(f"Unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}.")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError("times must be a positive integer or null.")
    for name, value in options.items():
        _check_option(name, value)
    return Fault(endpoint, kind, times, options)


def _check_option(name: str, value: object) -> None:
    if name not in FAULT_OPTIONS:
        raise ValueError(f"Unknown fault option {name!r}; use {', '.join(FAULT_OPTIONS)}.")
    if name == "location" and not isinstance(value, str):
        raise ValueError("location must be a URL string.")
    if name == "body" and not isinstance(value, str):
        raise ValueError("body must be a string.")
    if name == "content_type" and not header_values(value):
        raise ValueError("content_type must be a header value or a list of them.")
    if name not in TEXT_OPTIONS and (as_number(value) is None or value < 0):
        raise ValueError(f"{name} must be a non-negative number.")


def spoil(
    fault: Fault,
    endpoint: str,
    conversation_id: str | None,
    *,
    real: Callable[[], Response],
    pause: Callable[[float], bool],
) -> Response | Hangup:
    """What a request gets instead of, or made out of, its `real` answer.

    `real` answers as the platform would (and acts: a DELETE deletes); `pause` waits, and
    returns False when the emulator was stopped or reset meanwhile.
    """
    if fault.options.get("act"):
        real()
    if fault.kind == "reset":
        return Hangup(reset=True)
    if fault.kind == "hang" and not pause(
        float(fault.options.get("seconds", DEFAULT_HANG_SECONDS))
    ):
        return Hangup()
    return replacement(fault, endpoint, conversation_id) or reshaped(fault, real())


def replacement(fault: Fault, endpoint: str, conversation_id: str | None) -> Response | None:
    """The answer a fault gives instead of the real one; None for faults that alter the real one."""
    options = fault.options
    if fault.kind in STATUS_FAULTS:
        status, code = STATUS_FAULTS[fault.kind]
        headers = {}
        if options.get("retry_after") is not None:
            headers["Retry-After"] = _seconds_text(options["retry_after"])
        return error_response(status, code, f"Injected fault: HTTP {status}.", headers)
    if fault.kind == "html":
        return Response(200, HTML_PAGE, content_type="text/html; charset=utf-8")
    if fault.kind == "redirect":
        location = options.get("location", DEFAULT_REDIRECT)
        return Response(302, b"", content_type=None, headers={"Location": location})
    if fault.kind == "wrong_types":
        return json_response(200, wrong_types(endpoint, conversation_id))
    if fault.kind == "body":
        # Whatever a hostile platform chooses to serve, say a recording that is a script.
        content_type = options.get("content_type", "application/octet-stream")
        return Response(200, options.get("body", "").encode(), content_type=content_type)
    return None


def reshaped(fault: Fault, response: Response) -> Response:
    """The real answer as a fault that alters it sends it; unchanged for the other kinds."""
    if fault.kind == "truncated":
        return truncated(response)
    if fault.kind == "huge":
        return huge(response, float(fault.options.get("size_mb", DEFAULT_HUGE_MB)))
    if fault.kind == "trickle":
        return replace(response, trickle=True)
    return response


def _seconds_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def wrong_types(endpoint: str, conversation_id: str | None) -> object:
    """A body of the right overall shape whose fields all have the wrong types."""
    if endpoint == "list":
        item = {
            "conversation_id": 12345,
            "agent_id": ["agent"],
            "agent_name": {"name": "Support bot"},
            "status": 1,
            "call_successful": True,
            "message_count": {"value": 12},
            "metadata": ["2024-01-01T00:00:00Z", {"seconds": 30}],
        }
        return {"conversations": [item, "not an object", None], "next_cursor": 42, "has_more": "no"}
    if endpoint == "get":
        return {
            "conversation_id": conversation_id,
            "agent_id": 7,
            "status": ["done"],
            "audio": {"url": 1},
            "metadata": ["2024-01-01T00:00:00Z", {"seconds": 30}],
            "transcript": "agent: Hello!\nuser: Hi.",
            "evaluation_results": ["success", {"score": "high"}],
            "collected_data": "nothing",
        }
    return {
        "delete": [],
        "audio": {"audio": 12},
        "signed_url": {"signed_url": {"url": 12345}},
        "token": {"token": 12345},
    }[endpoint]


def truncated(response: Response) -> Response:
    """The first half of the body, framed as if it were all of it."""
    if isinstance(response.body, bytes):
        half = response.body[: len(response.body) // 2]
        return replace(response, status=200, body=half, length=None)
    half = (response.length or 0) // 2
    return replace(response, status=200, body=_first_bytes(response.body, half), length=half)


def _first_bytes(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    for chunk in chunks:
        if limit <= 0:
            return
        yield chunk[:limit]
        limit -= len(chunk)


def huge(response: Response, size_mb: float) -> Response:
    """The real JSON object with a padding field that makes it `size_mb` long (valid JSON)."""
    body = response.body if isinstance(response.body, bytes) else b""
    if body.startswith(b"{") and body.endswith(b"}") and body != b"{}":
        prefix = body[:-1] + b', "padding": "'
    else:
        prefix = b'{"padding": "'
    suffix = b'"}'
    padding = max(0, int(size_mb * 1024 * 1024) - len(prefix) - len(suffix))
    return Response(
        200, _padded(prefix, padding, suffix), length=len(prefix) + padding + len(suffix)
    )


def _padded(prefix: bytes, padding: int, suffix: bytes) -> Iterator[bytes]:
    yield prefix
    block = b"x" * CHUNK_SIZE
    while padding > 0:
        yield block[:padding]
        padding -= CHUNK_SIZE
    yield suffix
