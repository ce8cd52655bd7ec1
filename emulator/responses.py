"""What the emulator answers with: a status, headers and a body, whole or streamed; or a hang-up.

Every endpoint, fault and control request produces one of these, and only the request
handler (`emulator/handler.py`) turns them into bytes on the socket.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    length: int | None = None  # required when the body is streamed
    # A list sends one Content-Type header per item (a platform or proxy that repeats it).
    content_type: str | list[str] | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    trickle: bool = False  # the body goes out one byte at a time (the `trickle` fault)


@dataclass(frozen=True)
class Hangup:
    """No answer: the connection is closed; with `reset`, abortively (TCP RST)."""

    reset: bool = False


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(status, body, headers=headers or {})


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response(status, {"detail": {"status": code, "message": message}}, headers)


def header_values(value: object) -> list[str]:
    """`value` as a list of header values, or [] when it is not one or a list of them."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        return []
    # A line break would let the option write headers of its own.
    if not all(isinstance(item, str) and not re.search(r"[\r\n]", item) for item in values):
        return []
    return values
