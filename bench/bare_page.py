"""A bare page over HTTP: P6's floor, what a page with nothing in it costs Chromium to load."""

import contextlib
import http.server
import threading

BARE_PAGE = b"<!doctype html><html lang=en><title>bare</title><p>A page with nothing in it.</p>"


class _BarePage(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        # Django's default, which the dashboard sends: it gives the page a renderer process of
        # its own, started cold, as the list gets. Without it the floor would be a warm one's.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Content-Length", str(len(BARE_PAGE)))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # Chromium may hang up first
            self.wfile.write(BARE_PAGE)

    def log_message(self, *args):
        pass


def start():
    """The bare page's server, answering from a daemon thread; `shutdown()` stops it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BarePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def url(server):
    return f"http://127.0.0.1:{server.server_address[1]}/"
