"""The transport against a real server that writes the head and the body of an answer apart."""

import json
import socket
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conversations import client, transport

PAGE = {
    "conversations": [
        {
            "conversation_id": f"conv_{number:03d}",
            "agent_id": "agent_support",
            "agent_name": "Support",
            "status": "done",
            "call_successful": "success",
            "message_count": 12,
            "metadata": {
                "start_time": "2025-01-01T10:00:00Z",
                "duration": 61.5,
                "agent_id": "agent_support",
            },
        }
        for number in range(50)
    ],
    "next_cursor": "page_2",
    "has_more": True,
}
BODY = json.dumps(PAGE).encode()
# Linux never fires a delayed ACK sooner than 40 ms (TCP_DELACK_MIN).
DELAYED_ACK_SECONDS = 0.040


class TwoWriteHandler(BaseHTTPRequestHandler):
    """Like Python's http.server and some proxies: keep-alive, Nagle's algorithm on, and the
    head and the body of an answer in two writes."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = False

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.flush()
        self.wfile.write(BODY)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def two_write_server(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), TwoWriteHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.XUNA_API_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.XUNA_API_KEY = "transport-test-key"
    settings.XUNA_API_TIMEOUT = 3.0
    # Every call must reach the server, not a page cached by the call before.
    settings.XUNA_CACHE = False
    yield server
    transport.reset_session()  # closes the pooled keep-alive connection the handler waits on
    server.shutdown()
    server.server_close()
    thread.join(timeout=2)


def test_it_reads_the_whole_page_from_a_server_that_writes_head_and_body_apart(two_write_server):
    page = client.list_conversations(page_size=50)

    assert [item.id for item in page.items] == [f"conv_{number:03d}" for number in range(50)]
    assert page.problems == ()
    assert page.has_more is True


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux's delayed ACK")
def test_a_call_on_a_reused_connection_does_not_wait_for_a_delayed_ack(two_write_server):
    # The server holds the body until the head is acknowledged (Nagle), and on a reused
    # connection the kernel delays that ACK by at least 40 ms: a stalled call cannot be
    # faster than that, however fast the machine. The median of 20 calls is compared with
    # three quarters of it, so a few calls slowed by a busy machine cannot fail the test, and the
    # bound is the kernel's timer, not a benchmark. (The body is read in one recv with or
    # without the stall, so counting reads would not tell the two apart.)
    client.list_conversations(page_size=50)  # opens the connection; later calls reuse it
    seconds = []
    for _ in range(20):
        started = time.perf_counter()
        client.list_conversations(page_size=50)
        seconds.append(time.perf_counter() - started)

    assert statistics.median(seconds) < DELAYED_ACK_SECONDS * 0.75


# Settings: read at call time, with no defaults of the transport's own


def test_each_call_uses_the_settings_as_they_are_at_that_moment(settings):
    settings.XUNA_API_BASE_URL = "https://one.test/"
    settings.XUNA_API_POOL_SIZE = 7
    settings.XUNA_API_TIMEOUT = 4.5

    config = transport.read_config()

    assert (config.base_url, config.pool_size, config.timeout) == ("https://one.test", 7, 4.5)


@pytest.mark.parametrize(
    "name",
    [
        "XUNA_API_BASE_URL",
        "XUNA_API_KEY",
        "XUNA_API_KEY_HEADER",
        "XUNA_API_TIMEOUT",
        "XUNA_API_CONNECT_TIMEOUT",
        "XUNA_API_POOL_SIZE",
        "XUNA_API_MAX_RESPONSE_BYTES",
    ],
)
def test_a_setting_missing_from_settings_is_an_error_not_a_second_default(settings, name):
    # dashboard/settings.py is the one place each default is written (it said 32 connections
    # where the client's own default said 16).
    delattr(settings, name)

    with pytest.raises(AttributeError):
        transport.read_config()
