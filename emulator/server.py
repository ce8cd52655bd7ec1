"""The emulator's HTTP server: the platform's six conversation endpoints, plus a control API.

The shape of every answer is fixed by the API contract (docs/api.md). On top of the real
behaviour the emulator can add latency and faults (errors, hangs, broken bodies, dropped
connections), which tests and benchmarks switch on through `/_emulator/...` or, in process,
through the `Emulator` methods. Control requests need no key and are never logged as calls.
"""

import contextlib
import copy
import hmac
import json
import random
import re
import secrets
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from emulator import data
from emulator.audio import CHUNK_SIZE, Recording

ENDPOINTS = ("list", "get", "delete", "audio", "signed_url", "token")
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
TRICKLE_INTERVAL = 1.0  # seconds between the bytes of a trickled body
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 30, 100
MAX_REQUEST_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class Call:
    """One API request as the emulator saw it; `endpoint` is None for a path it does not serve."""

    method: str
    path: str
    endpoint: str | None
    query: dict[str, str]
    authorized: bool


@dataclass
class Fault:
    endpoint: str  # an endpoint name or "*"
    kind: str
    times: int | None  # requests left to spoil; None until cleared
    options: dict = field(default_factory=dict)


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    length: int | None = None  # required when the body is streamed
    # A list sends one Content-Type header per item (a platform or proxy that repeats it).
    content_type: str | list[str] | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class RangeNotSatisfiable(Exception):
    pass


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(status, body, headers=headers or {})


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response(status, {"detail": {"status": code, "message": message}}, headers)


# Requests -------------------------------------------------------------------------------------

_CONVERSATION_PATH = re.compile(r"/v1/convai/conversations/([^/]+)(/audio)?")
_RANGE = re.compile(r"bytes\s*=\s*(\d*)\s*-\s*(\d*)", re.IGNORECASE)


def route(method: str, path: str) -> tuple[str | None, str | None, bool]:
    """(endpoint name, conversation id, whether the path exists) for an API request."""
    path = path.rstrip("/")
    conversation_id = None
    if path == "/v1/convai/conversations":
        methods = {"GET": "list"}
    elif path == "/v1/convai/conversation/get-signed-url":
        methods = {"GET": "signed_url"}
    elif path == "/v1/convai/conversation/token":
        methods = {"GET": "token"}
    elif match := _CONVERSATION_PATH.fullmatch(path):
        conversation_id = unquote(match[1])
        methods = {"GET": "audio"} if match[2] else {"GET": "get", "DELETE": "delete"}
    else:
        return None, None, False
    return methods.get(method), conversation_id, True


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


# Faults that replace or reshape an answer ---------------------------------------------------------

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head>"
    b"<body><h1>Welcome to Airport Wi-Fi</h1><p>Please accept the terms to continue.</p>"
    b"</body></html>"
)


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


def fault_response(fault: Fault, endpoint: str, conversation_id: str | None) -> Response | None:
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


def _seconds_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


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


# The emulator ----------------------------------------------------------------------------------


class Emulator:
    """A stand-in for the platform's API, served from a daemon thread.

    >>> em = Emulator(port=0, api_key="test-key", seed=1, conversations=240).start()
    >>> em.url  # 'http://127.0.0.1:<free port>'
    >>> em.stop()
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "emulator-key",
        seed: int = 1,
        conversations: int = 240,
        latency_ms: float = 0,
        jitter_ms: float = 0,
        api_key_header: str = "xi-api-key",
        faults: Iterable[dict] = (),
        verbose: bool = False,
    ):
        self.host, self.port = host, port
        self.api_key, self.api_key_header = api_key, api_key_header
        self.seed, self.conversation_count = seed, conversations
        self.verbose = verbose
        # One lock guards the store, the faults, the call log and the latency: handlers run
        # in parallel threads.
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # Set, and replaced, by reset() and stop(): wakes the requests that are waiting.
        self._interrupt = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._noise = random.Random()  # latency jitter need not repeat between runs
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._store = self._generate()
        self._latency = (0, 0)
        self.set_latency(latency_ms, jitter_ms)
        for fault in faults:
            self.set_fault(**fault)

    # Life cycle

    def start(self) -> "Emulator":
        if self._server is not None:
            raise RuntimeError("The emulator is already running.")
        self._stopping.clear()
        self._interrupt = threading.Event()
        server = _Server((self.host, self.port), _Handler)
        server.emulator = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() may wait for the accept loop
            name=f"emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; hanging and trickling answers end at once."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._interrupt.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    # Data

    def _generate(self) -> data.Store:
        agents, records = data.generate(self.seed, self.conversation_count, time.time())
        return data.Store(agents, records)

    def reset(self) -> None:
        """Fresh seeded data, no faults, no calls, no latency.

        A request still waiting (latency, a hang) from before is dropped, not answered: it
        would otherwise act on the fresh data, say delete a conversation a later test expects.
        """
        store = self._generate()
        with self._lock:
            self._store = store
            self._faults.clear()
            self._calls.clear()
            self._latency = (0, 0)
            interrupted, self._interrupt = self._interrupt, threading.Event()
        interrupted.set()

    @property
    def agents(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(agent.id, agent.name) for agent in self._store.agents]

    def conversation_ids(self, agent_id: str | None = None) -> list[str]:
        """Ids newest first, as the list endpoint orders them."""
        with self._lock:
            return self._store.ids(agent_id)

    def raw(self, conversation_id: str) -> dict:
        """The detail JSON the get endpoint serves; KeyError when there is no such conversation."""
        with self._lock:
            record = self._store.get(conversation_id)
        if record is None:
            raise KeyError(conversation_id)
        return copy.deepcopy(data.build_detail(record, self.url))

    def add_conversation(self, raw: dict) -> str:
        """Store a detail JSON object verbatim (adding an id when it has none); returns the id."""
        if not isinstance(raw, dict):
            raise TypeError("A conversation must be a JSON object.")
        raw = json.loads(json.dumps(raw))  # a private copy, and proof that it is JSON
        conversation_id = raw.get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            conversation_id = f"conv_{secrets.token_hex(12)}"
            raw.setdefault("conversation_id", conversation_id)
        with self._lock:
            record = data.record_from_raw(raw, conversation_id, self._store.agents, time.time())
            self._store.add(record)
        return conversation_id

    # Faults, latency and the call log

    def set_fault(self, endpoint: str, kind: str, *, times: int | None = None, **options) -> None:
        """Spoil the next `times` requests to `endpoint` ("*" for all) with a fault `kind`."""
        kind = str(kind)
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(
                f"Unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)} or *."
            )
        if kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}.")
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise ValueError("times must be a positive integer or null.")
        for name, value in options.items():
            if name not in FAULT_OPTIONS:
                raise ValueError(f"Unknown fault option {name!r}; use {', '.join(FAULT_OPTIONS)}.")
            if name == "location" and not isinstance(value, str):
                raise ValueError("location must be a URL string.")
            if name == "body" and not isinstance(value, str):
                raise ValueError("body must be a string.")
            if name == "content_type" and not _header_values(value):
                raise ValueError("content_type must be a header value or a list of them.")
            if name not in TEXT_OPTIONS and (data.as_number(value) is None or value < 0):
                raise ValueError(f"{name} must be a non-negative number.")
        with self._lock:
            self._faults.append(Fault(endpoint, kind, times, options))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return [replace(fault, options=dict(fault.options)) for fault in self._faults]

    def set_latency(self, ms: float, jitter_ms: float = 0) -> None:
        """Delay every API answer by `ms` plus up to `jitter_ms` (uniformly drawn)."""
        if (
            data.as_number(ms) is None
            or data.as_number(jitter_ms) is None
            or ms < 0
            or jitter_ms < 0
        ):
            raise ValueError("Latency must be given as non-negative numbers of milliseconds.")
        with self._lock:
            self._latency = (ms, jitter_ms)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # Used by the request handler

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, "*"):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _latency_seconds(self) -> float:
        with self._lock:
            ms, jitter_ms = self._latency
        return (ms + self._noise.uniform(0, jitter_ms)) / 1000

    def _pause(self, seconds: float) -> bool:
        """Sleep unless the emulator stops or is reset meanwhile; False when it was."""
        with self._lock:
            interrupt = self._interrupt
        if seconds > 0:
            interrupt.wait(seconds)
        return not interrupt.is_set() and not self._stopping.is_set()

    def _authorized(self, key: str | None) -> bool:
        return key is not None and hmac.compare_digest(key.encode(), self.api_key.encode())

    def _answer(self, endpoint: str, conversation_id: str | None, query: dict, headers) -> Response:
        """The real answer of an endpoint to an authorized request."""
        if endpoint == "list":
            return self._list(query)
        if endpoint in ("signed_url", "token"):
            return self._credentials(endpoint, query.get("agent_id"))
        with self._lock:
            record = self._store.get(conversation_id)
            if endpoint == "delete" and record is not None:
                self._store.delete(conversation_id)
        if record is None:
            return error_response(
                404, "conversation_not_found", f"Conversation {conversation_id} was not found."
            )
        if endpoint == "delete":
            return json_response(200, {})
        if endpoint == "get":
            return json_response(200, data.build_detail(record, self.url))
        return self._audio(record, headers.get("Range"))

    def _list(self, query: dict) -> Response:
        try:
            size = int(query.get("page_size", PAGE_SIZE_DEFAULT))
        except ValueError:
            size = 0
        if not 1 <= size <= PAGE_SIZE_MAX:
            return error_response(
                422, "invalid_page_size", f"page_size must be between 1 and {PAGE_SIZE_MAX}."
            )
        try:
            after = data.decode_cursor(query["cursor"]) if query.get("cursor") else None
        except ValueError:
            return error_response(400, "invalid_cursor", "The cursor is not valid.")
        with self._lock:
            records, has_more = self._store.page(query.get("agent_id") or None, after, size)
        return json_response(
            200,
            {
                "conversations": [data.summary(record) for record in records],
                "next_cursor": data.encode_cursor(records[-1].sort_key) if has_more else None,
                "has_more": has_more,
            },
        )

    def _credentials(self, endpoint: str, agent_id: str | None) -> Response:
        if not agent_id:
            return error_response(422, "missing_agent_id", "The agent_id parameter is required.")
        if agent_id not in {agent for agent, _ in self.agents}:
            return error_response(404, "agent_not_found", f"Agent {agent_id} was not found.")
        token = secrets.token_urlsafe(24)
        if endpoint == "token":
            return json_response(200, {"token": token})
        netloc = urlsplit(self.url).netloc
        signed_url = (
            f"wss://{netloc}/v1/convai/conversation"
            f"?agent_id={quote(agent_id)}&conversation_signature={token}"
        )
        return json_response(200, {"signed_url": signed_url})

    def _audio(self, record: data.Record, range_header: str | None) -> Response:
        plan = data.recording_plan(record)
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
        return Response(
            206, recording.chunks(first, last + 1), last - first + 1, "audio/wav", headers
        )

    def _control(self, method: str, path: str, body: bytes) -> Response:
        """The `/_emulator/...` endpoints: see the contract."""
        name = path.removeprefix("/_emulator").strip("/")
        actions = {
            ("calls", "GET"): lambda: {"calls": [asdict(call) for call in self.calls]},
            ("calls", "DELETE"): self.clear_calls,
            ("faults", "GET"): lambda: {"faults": [asdict(fault) for fault in self.faults]},
            ("faults", "POST"): lambda: self._post_fault(_json_object(body)),
            ("faults", "DELETE"): self.clear_faults,
            ("latency", "POST"): lambda: self._post_latency(_json_object(body)),
            ("reset", "POST"): self.reset,
            ("conversations", "POST"): lambda: {
                "conversation_id": self.add_conversation(_json_object(body))
            },
        }
        action = actions.get((name, method))
        if action is None:
            if any(key[0] == name for key in actions):
                return error_response(405, "method_not_allowed", f"{method} is not allowed here.")
            return error_response(404, "not_found", f"No control endpoint {path}.")
        try:
            result = action()
        except _BadJSON as error:
            return error_response(400, "invalid_json", str(error))
        except (TypeError, ValueError) as error:
            return error_response(422, "invalid_request", str(error))
        return json_response(200, {} if result is None else result)

    def _post_fault(self, payload: dict) -> dict:
        if "endpoint" not in payload or "kind" not in payload:
            raise ValueError("A fault needs an endpoint and a kind.")
        options = dict(payload)
        endpoint, kind = options.pop("endpoint"), options.pop("kind")
        self.set_fault(endpoint, kind, times=options.pop("times", None), **options)
        return {"fault": payload}

    def _post_latency(self, payload: dict) -> None:
        self.set_latency(payload.get("ms", 0), payload.get("jitter_ms", 0))


class _BadJSON(ValueError):
    pass


def _header_values(value: object) -> list[str]:
    """`value` as a list of header values, or [] when it is not one or a list of them."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        return []
    # A line break would let the option write headers of its own.
    if not all(isinstance(item, str) and not re.search(r"[\r\n]", item) for item in values):
        return []
    return values


def _json_object(body: bytes) -> dict:
    try:
        payload = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _BadJSON(f"The body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise _BadJSON("The body must be a JSON object.")
    return payload


# HTTP plumbing ----------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator

    def __init__(self, address, handler):
        # Open connections are tracked so that stop() can end idle keep-alive ones too;
        # otherwise a pooled client could keep talking to a stopped emulator.
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a machine with
        # slow DNS; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        # A client that goes away mid-answer is normal (a seek in an audio player does it).
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so that clients can pool connections
    server_version = "XunaEmulator/1.0"
    # Headers and body go out in separate writes; with Nagle's algorithm the body would wait
    # for the client's delayed ACK (about 40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self._dispatch()

    do_DELETE = do_POST = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format, *args):
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def send_error(self, code, message=None, explain=None):
        # Malformed requests get the same JSON error body as everything else.
        self.close_connection = True
        phrase = HTTPStatus(code).phrase
        self._send(error_response(code, phrase.lower().replace(" ", "_"), message or phrase))

    def _dispatch(self):
        body = self._read_body()
        if body is None:
            return
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path == "/_emulator" or parts.path.startswith("/_emulator/"):
            self._send(self.server.emulator._control(self.command, parts.path, body))
        else:
            self._api(parts.path, query)

    def _read_body(self) -> bytes | None:
        """The request body, read whole so that the next request on the connection parses."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send_error(411, "Send a Content-Length instead of a chunked body.")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BODY:
            self.send_error(400, "The Content-Length header is not valid.")
            return None
        return self.rfile.read(length) if length else b""

    def _api(self, path: str, query: dict[str, str]) -> None:
        emulator = self.server.emulator
        endpoint, conversation_id, exists = route(self.command, path)
        authorized = emulator._authorized(self.headers.get(emulator.api_key_header))
        emulator._record(Call(self.command, path, endpoint, query, authorized))
        if endpoint is None:
            if exists:
                self._send(
                    error_response(
                        405, "method_not_allowed", f"{self.command} is not allowed here."
                    )
                )
            else:
                self._send(error_response(404, "not_found", f"No endpoint at {path}."))
            return
        if not emulator._pause(emulator._latency_seconds()):
            return self._drop()
        # Faults come before the key check: they stand for what sits in front of the platform.
        fault = emulator._take_fault(endpoint)
        kind = fault.kind if fault else None
        if fault and fault.options.get("act") and authorized:
            emulator._answer(endpoint, conversation_id, query, self.headers)
        if kind == "reset":
            return self._drop(reset=True)
        if kind == "hang":
            seconds = float(fault.options.get("seconds", DEFAULT_HANG_SECONDS))
            if not emulator._pause(seconds):
                return self._drop()
        response = fault_response(fault, endpoint, conversation_id) if fault else None
        if response is None:
            if authorized:
                response = emulator._answer(endpoint, conversation_id, query, self.headers)
            else:
                response = error_response(
                    401, "invalid_api_key", "The API key is missing or invalid."
                )
            if kind == "truncated":
                response = truncated(response)
            elif kind == "huge":
                response = huge(response, float(fault.options.get("size_mb", DEFAULT_HUGE_MB)))
        self._send(response, trickle=kind == "trickle")

    def _send(self, response: Response, *, trickle: bool = False) -> None:
        body = response.body
        chunks = (body,) if isinstance(body, bytes) else body
        length = len(body) if isinstance(body, bytes) else response.length
        stopping = self.server.emulator._stopping
        try:
            self.send_response(response.status)
            if response.content_type:
                for content_type in _header_values(response.content_type):
                    self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                return
            first = True
            for chunk in chunks:
                pieces = (chunk[i : i + 1] for i in range(len(chunk))) if trickle else (chunk,)
                for piece in pieces:
                    # Between pieces: a trickle waits, and a stopping emulator hangs up.
                    waited = stopping.wait(TRICKLE_INTERVAL) if trickle and not first else False
                    if waited or stopping.is_set():
                        return self._drop()
                    self.wfile.write(piece)
                    first = False
        except ConnectionError:
            self.close_connection = True  # the client hung up; nothing to tell anyone

    def _drop(self, *, reset: bool = False) -> None:
        """Close the connection without an answer; with `reset`, abortively (TCP RST)."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
