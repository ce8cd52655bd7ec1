"""Another host: a small HTTP(S) server that records every request it receives.

It stands for a host that is not the configured API origin (a redirect target, a CDN serving
recordings, an attacker): the tests check what, if anything, the dashboard sent it.
"""

import ssl
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emulator.audio import wav_header

# One second of silence at the emulator's format: a recording any player accepts.
SILENCE = bytes(8000 * 2)
WAV = wav_header(len(SILENCE) // 2) + SILENCE


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]


class Trap:
    """`with Trap() as trap:` serves on a free port; `trap.received` lists what came in."""

    def __init__(self, *, host="127.0.0.1", certificate=None):
        self.host = host
        self.certificate = certificate
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = None

    def __enter__(self):
        trap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with trap._lock:
                    trap.received.append(Received(self.command, self.path, dict(self.headers)))
                if self.path.endswith(".wav"):
                    body, content_type = WAV, "audio/wav"
                else:
                    body, content_type = b'{"conversation_id": "conv_trap"}', "application/json"
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_DELETE = do_POST = do_GET

            def log_message(self, format, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.certificate:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.certificate)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self):
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://{self.host}:{self._server.server_address[1]}"


def self_signed_certificate(directory):
    """(key and certificate in one PEM file, the certificate alone) for `localhost`."""
    path, certificate = directory / "localhost.pem", directory / "localhost.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(path),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    path.write_text(path.read_text() + certificate.read_text())
    return path, certificate
