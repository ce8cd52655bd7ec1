"""The measurements P1-P8 (docs/performance.md). Each returns the rows of the results table.

Timings are taken from a client in this process, to the last byte of the answer as sent
(compressed bodies are not decompressed), interleaved with the baseline they are compared
to, so that both see the same moment of a shared, noisy machine.
"""

import contextlib
import html
import http.server
import json
import math
import re
import socket
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import requests

LIST_PATH = "/v1/convai/conversations"
CURSOR_RE = re.compile(r'id="load-more".*?cursor=([^"&]+)', re.DOTALL)
AUDIO_ID = "conv_bench_recording_50mb"
# 3,277 s of 8 kHz 16-bit mono plus the 44-byte header: 52,432,044 bytes, 50.0 MiB.
AUDIO_SECONDS = 3277
CHROMIUM = Path("/usr/bin/chromium")


class BenchError(RuntimeError):
    pass


@dataclass
class Row:
    id: str
    measurement: str
    baseline: str
    median: str
    p95: str
    target: str
    passed: bool | None  # None: a figure shown to explain another, with no target of its own


def percentile(values, share):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def p50(values):
    return statistics.median(values)


def p95(values):
    return percentile(values, 0.95)


def ms(value):
    return f"{value:.1f} ms"


def fetch(session, url, **kwargs):
    """(milliseconds to the last byte, response, body as sent); anything but a 200 is an error."""
    started = time.perf_counter()
    response = session.get(url, stream=True, timeout=60, allow_redirects=False, **kwargs)
    body = response.raw.read(decode_content=False)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}")
    return elapsed, response, body


def paired(first, second, runs, warmup=5):
    """Time two calls alternately `runs` times: ([ms of first], [ms of second])."""
    for _ in range(warmup):
        first()
        second()
    a, b = [], []
    for _ in range(runs):
        a.append(first())
        b.append(second())
    return a, b


# P1, P2 -------------------------------------------------------------------------------------


def list_timings(stack, dashboard, session, *, latency_ms, runs):
    stack.emulator.set_latency(latency_ms)
    page_size = 50

    def direct():
        return fetch(
            stack.emulator.http, stack.emulator.url + LIST_PATH, params={"page_size": page_size}
        )[0]

    def page():
        return fetch(session, dashboard.url + "/")[0]

    return paired(direct, page, runs)


def p1_list_at_100ms(stack, dashboard, session, runs=100):
    direct, page = list_timings(stack, dashboard, session, latency_ms=100, runs=runs)
    ratio50, ratio95 = p50(page) / p50(direct), p95(page) / p95(direct)
    rows = [
        Row(
            "P1",
            "list page, 50 rows, upstream 100 ms, not cached",
            f"direct list call: p50 {ms(p50(direct))}, p95 {ms(p95(direct))}",
            f"{ratio50:.3f} ({ms(p50(page))})",
            f"{ratio95:.3f} ({ms(p95(page))})",
            "p50 ≤ 1.10, p95 ≤ 1.15",
            ratio50 <= 1.10 and ratio95 <= 1.15,
        )
    ]
    return rows, p50(page)


def p2_list_overhead(stack, dashboard, session, runs=200):
    direct, page = list_timings(stack, dashboard, session, latency_ms=0, runs=runs)
    overhead = [b - a for a, b in zip(direct, page, strict=True)]
    return [
        Row(
            "P2",
            "list page overhead, upstream 0 ms",
            f"direct list call: p50 {ms(p50(direct))}",
            f"{ms(p50(overhead))} (ratio {p50(page) / p50(direct):.1f})",
            ms(p95(overhead)),
            "overhead p50 ≤ 15 ms",
            p50(overhead) <= 15,
        )
    ]


# P3 -------------------------------------------------------------------------------------------


def find_long_conversation(stack, turns=1000):
    """The id of a conversation with at least `turns` turns (the seeded data has one)."""
    cursor = None
    while True:
        params = {"page_size": 100, **({"cursor": cursor} if cursor else {})}
        body = stack.emulator.api(LIST_PATH, params=params).json()
        for item in body["conversations"]:
            if item.get("message_count", 0) >= turns:
                return item["conversation_id"]
        cursor = body.get("next_cursor")
        if not cursor:
            raise BenchError(f"The emulator has no conversation of {turns} turns.")


def p3_long_conversation(stack, dashboard, session, conversation_id, runs=60):
    stack.emulator.set_latency(0)
    path = f"{LIST_PATH}/{conversation_id}"
    turns = len(stack.emulator.api(path).json()["transcript"])
    sizes = []

    def direct():
        return fetch(stack.emulator.http, stack.emulator.url + path)[0]

    def page():
        elapsed, response, body = fetch(
            session, f"{dashboard.url}/conversations/{conversation_id}/"
        )
        if response.headers.get("Content-Encoding") != "gzip":
            raise BenchError("The conversation page was not sent compressed.")
        sizes.append(len(body))
        return elapsed

    direct_ms, page_ms = paired(direct, page, runs)
    overhead = [b - a for a, b in zip(direct_ms, page_ms, strict=True)]
    size_kb = max(sizes) / 1024
    return [
        Row(
            "P3",
            f"conversation page, {turns}-turn transcript, upstream 0 ms",
            f"direct get: p50 {ms(p50(direct_ms))}",
            f"{ms(p50(overhead))} (ratio {p50(page_ms) / p50(direct_ms):.1f})",
            ms(p95(overhead)),
            "overhead p50 ≤ 60 ms",
            p50(overhead) <= 60,
        ),
        Row(
            "P3",
            "its HTML, gzipped as sent",
            "—",
            f"{size_kb:.1f} KB",
            "—",
            "≤ 120 KB",
            size_kb <= 120,
        ),
    ]


# P4 -------------------------------------------------------------------------------------------


def add_recording(stack):
    """A conversation whose recording is 50 MiB, started long ago (the end of the list)."""
    transcript = [
        {"speaker": "agent" if n % 2 == 0 else "user", "text": f"Turn {n}", "timestamp": n * 60}
        for n in range(AUDIO_SECONDS // 60)
    ]
    stack.emulator.add_conversation(
        {
            "conversation_id": AUDIO_ID,
            "agent_id": "agent_bench",
            "status": "done",
            "metadata": {"start_time": "2001-01-01T00:00:00Z", "duration": AUDIO_SECONDS},
            "audio": f"{stack.emulator.url}{LIST_PATH}/{AUDIO_ID}/audio",
            "transcript": transcript,
        }
    )
    size = int(
        stack.emulator.api(f"{LIST_PATH}/{AUDIO_ID}/audio", stream=True).headers["Content-Length"]
    )
    return size


def download(session, url, headers=None):
    """(bytes, seconds) of a whole download, read as fast as the socket allows."""
    started = time.perf_counter()
    response = session.get(url, stream=True, timeout=120, headers=headers)
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}")
    size = 0
    for chunk in response.raw.stream(1 << 20, decode_content=False):
        size += len(chunk)
    return size, time.perf_counter() - started


def first_byte(session, url, headers):
    """Milliseconds until the first byte of the body arrives; the rest is not read."""
    started = time.perf_counter()
    response = session.get(url, stream=True, timeout=60, headers=headers)
    if response.status_code != 206 or not response.raw.read(1):
        raise BenchError(f"GET {url} with {headers} answered {response.status_code}")
    elapsed = (time.perf_counter() - started) * 1000
    response.close()
    return elapsed


def worker_sockets_to(dashboard, port):
    """Inodes of the workers' established TCP connections to `port` (from /proc)."""
    inodes = set()
    for pid in dashboard.pids():
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            links = [link.readlink() for link in fd_dir.iterdir()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        inodes |= {str(link)[8:-1] for link in links if str(link).startswith("socket:[")}
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == "01" and fields[9] in inodes:
            established.add(fields[9])
    return established


def aborted_stream_closes_upstream(stack, dashboard, session, path):
    """Seconds from a client hanging up mid-recording to the worker closing its upstream."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    sock = socket.create_connection(("127.0.0.1", dashboard.port))
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{dashboard.port}\r\nCookie: {cookie}\r\n\r\n"
    sock.sendall(request.encode())
    received = 0
    while received < 1 << 20:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise BenchError("The recording ended before 1 MB.")
        received += len(chunk)
    streaming = worker_sockets_to(dashboard, stack.emulator.port)
    # Unread data in the receive buffer makes close() send a reset, as a browser tab does.
    sock.close()
    started = time.perf_counter()
    while time.perf_counter() - started < 5:
        if streaming - worker_sockets_to(dashboard, stack.emulator.port):
            return time.perf_counter() - started
        time.sleep(0.005)
    return math.inf


def p4_audio(stack, dashboard, session, runs=5):
    stack.emulator.set_latency(0)
    size = add_recording(stack)
    direct_url = f"{stack.emulator.url}{LIST_PATH}/{AUDIO_ID}/audio"
    page_path = f"/conversations/{AUDIO_ID}/audio"
    proxied_url = dashboard.url + page_path
    rows = []

    # Throughput, alternating direct and proxied downloads of the whole file.
    def rate(session_, url):
        received, seconds = download(session_, url)
        if received != size:
            raise BenchError(f"{url} sent {received} of {size} bytes")
        return received / seconds / 1e6

    direct_rate, proxied_rate = paired(
        lambda: rate(stack.emulator.http, direct_url),
        lambda: rate(session, proxied_url),
        runs,
        warmup=1,
    )
    share = p50(proxied_rate) / p50(direct_rate)
    rows.append(
        Row(
            "P4",
            f"recording of {size / 2**20:.1f} MiB through the dashboard: throughput",
            f"direct download: p50 {p50(direct_rate):.0f} MB/s",
            f"{share:.0%} ({p50(proxied_rate):.0f} MB/s)",
            f"{min(proxied_rate) / p50(direct_rate):.0%} (slowest)",
            "≥ 50 % of direct",
            share >= 0.5,
        )
    )

    # Memory: 16 concurrent streams of the whole file.
    before = dashboard.rss_bytes()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], dashboard.rss_bytes())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    errors = []

    def stream():
        try:
            with requests.Session() as own:
                own.cookies.update(session.cookies)
                if download(own, proxied_url)[0] != size:
                    errors.append("short")
        except (requests.RequestException, BenchError) as error:
            errors.append(str(error))

    streams = [threading.Thread(target=stream) for _ in range(16)]
    started = time.perf_counter()
    for thread in streams:
        thread.start()
    for thread in streams:
        thread.join()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    growth = (peak[0] - before) / 2**20
    rows.append(
        Row(
            "P4",
            f"16 concurrent streams ({16 * size / 2**30:.2f} GiB in {seconds:.1f} s): "
            "server RSS growth",
            f"RSS before: {before / 2**20:.0f} MiB",
            f"{growth:.1f} MiB",
            "—",
            "≤ 10 MB, no failed stream",
            growth * 2**20 <= 10e6 and not errors,
        )
    )

    # A seek near the end: time to the first byte of a Range read at 90 %.
    headers = {"Range": f"bytes={int(size * 0.9)}-"}
    direct_ms, proxied_ms = paired(
        lambda: first_byte(stack.emulator.http, direct_url, headers),
        lambda: first_byte(session, proxied_url, headers),
        30,
    )
    later = [b - a for a, b in zip(direct_ms, proxied_ms, strict=True)]
    rows.append(
        Row(
            "P4",
            "Range read at 90 %: first byte later than direct by",
            f"direct: p50 {ms(p50(direct_ms))}",
            ms(p50(later)),
            ms(p95(later)),
            "p50 ≤ 10 ms",
            p50(later) <= 10,
        )
    )

    # A listener who goes away: the upstream connection must not outlive them.
    closes = [
        aborted_stream_closes_upstream(stack, dashboard, session, page_path) for _ in range(runs)
    ]
    rows.append(
        Row(
            "P4",
            "client aborts mid-stream: upstream socket closed after",
            "—",
            ms(p50(closes) * 1000),
            f"{ms(max(closes) * 1000)} (max)",
            "≤ 1 s, every time",
            max(closes) <= 1,
        )
    )
    return rows


# P5 -------------------------------------------------------------------------------------------

WRK_SCRIPT = """-- One reviewer per connection, each with their own session (one wrk thread each).
local cookies = {%(cookies)s}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("cookie", cookies[#threads])
end
function init(args)
  wrk.headers["Cookie"] = cookie
  wrk.headers["Accept-Encoding"] = "gzip"
  bad = 0
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "not_200": %%d, "connect": %%d, ' ..
    '"read": %%d, "write": %%d, "timeout": %%d, "p50": %%d, "p99": %%d, "max": %%d}\\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk(url, cookies, seconds, tmp):
    script = Path(tmp) / "reviewers.lua"
    script.write_text(WRK_SCRIPT % {"cookies": ", ".join(json.dumps(cookie) for cookie in cookies)})
    clients = len(cookies)
    result = subprocess.run(
        [
            *("wrk", "-t", str(clients), "-c", str(clients), "-d", f"{seconds}s"),
            *("--timeout", "10s", "-s", str(script), url),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise BenchError(f"wrk failed: {result.stdout[-500:]} {result.stderr[-500:]}")
    figures = json.loads(line[7:])
    figures["rate"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = sum(figures[k] for k in ("not_200", "connect", "read", "write", "timeout"))
    return figures


def p5_load(stack, dashboard, sessions, tmp, seconds=60, cpu_seconds=30):
    cookies = [f"sessionid={s.cookies['sessionid']}" for s in sessions]
    url = dashboard.url + "/"
    stack.emulator.set_latency(0)
    cpu = wrk(url, cookies, cpu_seconds, tmp)
    stack.emulator.set_latency(200)
    loaded = wrk(url, cookies, seconds, tmp)
    stack.emulator.set_latency(0)
    ceiling = min(len(cookies) / 0.2, cpu["rate"])
    share = loaded["rate"] / ceiling
    spread = loaded["p99"] / loaded["p50"]
    clients = len(cookies)
    return [
        Row(
            "P5",
            f"{clients} logged-in clients, list, cache off, upstream 200 ms, {seconds} s: "
            "throughput",
            f"min({clients} ÷ 0.2 s = {clients / 0.2:.0f}/s, CPU limit at 0 ms "
            f"{cpu['rate']:.0f}/s) = {ceiling:.0f}/s",
            f"{share:.0%} ({loaded['rate']:.0f}/s)",
            "—",
            "≥ 70 %",
            share >= 0.7,
        ),
        Row(
            "P5",
            "the same run: errors (non-200, socket errors, timeouts)",
            f"{loaded['requests']} requests",
            str(loaded["errors"]),
            "—",
            "0",
            loaded["errors"] == 0 and cpu["errors"] == 0,
        ),
        Row(
            "P5",
            "the same run: latency spread p99 ÷ p50",
            "—",
            f"{spread:.2f} (p50 {ms(loaded['p50'] / 1000)})",
            f"p99 {ms(loaded['p99'] / 1000)}",
            "≤ 3",
            spread <= 3,
        ),
    ]


# P6 -------------------------------------------------------------------------------------------

TIMING_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource").map((r) => ({
    name: r.name, type: r.initiatorType, transfer: r.transferSize, encoded: r.encodedBodySize,
    decoded: r.decodedBodySize,
  }));
  return {
    transfer: nav.transferSize, encoded: nav.encodedBodySize, decoded: nav.decodedBodySize,
    responseEnd: nav.responseEnd, domContentLoaded: nav.domContentLoadedEventStart,
    resources,
  };
}"""


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


def first_loads(browser, url, cookies, runs, before="about:blank"):
    """Navigation and resource timings of `runs` loads, each with the browser's cache emptied.

    One browser context, so the browser is already running as a reviewer's would be; its HTTP
    cache (and with it every compiled script) is cleared before each load. Each load comes
    after `before`: from about:blank a page that sends Cross-Origin-Opener-Policy (as ours
    do) gets a new renderer process, as in a new tab; from a page of the same origin it keeps
    that page's process, as when a reviewer moves around the dashboard.
    """
    context = browser.new_context()
    context.add_cookies(cookies)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    loads = []
    for _ in range(runs):
        page.goto(before)
        cdp.send("Network.clearBrowserCache")
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            raise BenchError(f"Chromium could not load {url}.")
        loads.append(page.evaluate(TIMING_JS))
    context.close()
    return loads


def p6_first_load(dashboard, session, runs=15):
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise BenchError(f"{CHROMIUM} is missing (make bench installs it as root).")
    bare = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BarePage)
    threading.Thread(target=bare.serve_forever, daemon=True).start()
    cookies = [{"name": "sessionid", "value": session.cookies["sessionid"], "url": dashboard.url}]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            first_loads(browser, dashboard.url + "/", cookies, 2)  # Chromium's own warm-up
            url = f"http://127.0.0.1:{bare.server_address[1]}/"
            floor = [
                t["domContentLoaded"] - t["responseEnd"]
                for t in first_loads(browser, url, [], runs)
            ]
            loads = first_loads(browser, dashboard.url + "/", cookies, runs)
            within = first_loads(browser, dashboard.url + "/", cookies, runs, dashboard.url + "/")
        finally:
            browser.close()
            bare.shutdown()
    totals = [t["transfer"] + sum(r["transfer"] for r in t["resources"]) for t in loads]
    scripts = [sum(r["encoded"] for r in t["resources"] if r["type"] == "script") for t in loads]
    dcl = [t["domContentLoaded"] - t["responseEnd"] for t in loads]
    dcl_within = [t["domContentLoaded"] - t["responseEnd"] for t in within]
    requests_made = 1 + len(loads[0]["resources"])
    return [
        Row(
            "P6",
            f"first load of the list in Chromium, cache emptied ({requests_made} requests): "
            "bytes transferred",
            "—",
            f"{p50(totals) / 1024:.1f} KB",
            f"{p95(totals) / 1024:.1f} KB",
            "≤ 60 KB",
            p95(totals) <= 60 * 1024,
        ),
        Row(
            "P6",
            "our JS + htmx, as sent (gzipped)",
            "—",
            f"{p50(scripts) / 1024:.1f} KB",
            f"{p95(scripts) / 1024:.1f} KB",
            "≤ 25 KB",
            p95(scripts) <= 25 * 1024,
        ),
        Row(
            "P6",
            "DOMContentLoaded after the HTML response's end, in a new tab (a new renderer)",
            f"a bare page, also in a new renderer: p50 {ms(p50(floor))}",
            ms(p50(dcl)),
            ms(p95(dcl)),
            "p50 ≤ 50 ms",
            p50(dcl) <= 50,
        ),
        Row(
            "P6",
            "the same, from a page of the dashboard in the same tab (its renderer kept)",
            "— (for reading the row above)",
            ms(p50(dcl_within)),
            ms(p95(dcl_within)),
            "—",
            None,
        ),
    ]


# P7 -------------------------------------------------------------------------------------------


def p7_cached_list(stack, dashboard, session, uncached_p50, runs=200):
    stack.emulator.set_latency(100)
    # Fill the cache of the worker this session talks to, then of every worker (each has its
    # own memory cache): fresh connections are spread over them.
    fetch(session, dashboard.url + "/")
    for _ in range(16):
        with requests.Session() as fresh:
            fresh.cookies.update(session.cookies)
            fetch(fresh, dashboard.url + "/")
    stack.emulator.clear_calls()
    timings = [fetch(session, dashboard.url + "/")[0] for _ in range(runs)]
    calls = len(stack.emulator.calls())
    stack.emulator.set_latency(0)
    share = p50(timings) / uncached_p50
    return [
        Row(
            "P7",
            f"list page again within the cache lifetime ({runs} requests)",
            f"P1 uncached p50: {ms(uncached_p50)}",
            f"{share:.1%} ({ms(p50(timings))})",
            f"{p95(timings) / uncached_p50:.1%} ({ms(p95(timings))})",
            "p50 ≤ 10 %",
            share <= 0.10,
        ),
        Row(
            "P7",
            "upstream calls during those requests (emulator's call log)",
            "—",
            str(calls),
            "—",
            "0",
            calls == 0,
        ),
    ]


# P8 -------------------------------------------------------------------------------------------


def next_cursor(body):
    match = CURSOR_RE.search(body)
    if match is None:
        raise BenchError("The page has no 'Load more' link.")
    return unquote(html.unescape(match[1]))


def p8_load_more(stack, dashboard, session, pages=20, runs=40):
    stack.emulator.set_latency(0)
    htmx = {"HX-Request": "true"}
    page = session.get(dashboard.url + "/", timeout=30).text
    cursors = []
    for _ in range(pages):
        cursors.append(next_cursor(page))
        page = session.get(
            dashboard.url + "/", params={"cursor": cursors[-1]}, headers=htmx, timeout=30
        ).text

    def load(cursor):
        return fetch(session, dashboard.url + "/", params={"cursor": cursor}, headers=htmx)[0]

    first, last = paired(lambda: load(cursors[0]), lambda: load(cursors[-1]), runs)
    ratio = p50(last) / p50(first)
    return [
        Row(
            "P8",
            f"'Load more' #{pages} of a 10,000-conversation workspace",
            f"'Load more' #1: p50 {ms(p50(first))}",
            f"{ratio:.2f} ({ms(p50(last))})",
            f"{p95(last) / p95(first):.2f} ({ms(p95(last))})",
            "p50 ≤ 1.2× the first",
            ratio <= 1.2,
        )
    ]
