"""The emulator's HTTP plumbing: the threaded server, reading requests, writing answers.

Everything about sockets lives here: keep-alive, Nagle's algorithm, streamed and trickled
bodies, hanging up (politely or with a reset), and ending every connection when the emulator
stops. What to answer is decided elsewhere: `Emulator.answer` for the API, `emulator/control.py`
for `/_emulator/...`.
"""

import contextlib
import socket
import socketserver
import struct
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from emulator import control
from emulator.responses import Hangup, Response, error_response, header_values
from emulator.routes import is_control

if TYPE_CHECKING:
    from emulator.server import Emulator

TRICKLE_INTERVAL = 1.0  # seconds between the bytes of a trickled body
MAX_REQUEST_BODY = 64 * 1024 * 1024


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, emulator: "Emulator"):
        self.emulator = emulator
        # Open connections are tracked so that stop() can end idle keep-alive ones too;
        # otherwise a pooled client could keep talking to a stopped emulator.
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so that clients can pool connections
    server_version = "XunaEmulator/1.0"
    # Headers and body go out in separate writes; with Nagle's algorithm the body would wait
    # for the client's delayed ACK (about 40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    server: Server

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
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        if is_control(parts.path):
            self._send(control.answer(emulator, self.command, parts.path, body))
            return
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        answer = emulator.answer(self.command, parts.path, query, self.headers)
        if isinstance(answer, Hangup):
            self._drop(reset=answer.reset)
        else:
            self._send(answer)

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

    def _send(self, response: Response) -> None:
        try:
            self._send_head(response)
            if self.command != "HEAD":
                self._send_body(response)
        except ConnectionError:
            self.close_connection = True  # the client hung up; nothing to tell anyone

    def _send_head(self, response: Response) -> None:
        body = response.body
        length = len(body) if isinstance(body, bytes) else response.length
        self.send_response(response.status)
        if response.content_type:
            for content_type in header_values(response.content_type):
                self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send_body(self, response: Response) -> None:
        chunks = (response.body,) if isinstance(response.body, bytes) else response.body
        trickle = response.trickle
        stopping = self.server.emulator.stopping
        first = True
        for chunk in chunks:
            pieces = (chunk[i : i + 1] for i in range(len(chunk))) if trickle else (chunk,)
            for piece in pieces:
                # Between pieces: a trickle waits, and a stopping emulator hangs up.
                waited = stopping.wait(TRICKLE_INTERVAL) if trickle and not first else False
                if waited or stopping.is_set():
                    self._drop()
                    return
                self.wfile.write(piece)
                first = False

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
