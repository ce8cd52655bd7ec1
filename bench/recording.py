"""P4: a 50 MiB recording through the dashboard against a direct download (docs/performance.md).

Four figures: throughput, the workers' memory during 16 concurrent streams, the first byte of a
seek near the end, and how soon the upstream connection closes after a listener hangs up.
"""

import math
import socket
import threading
import time
from pathlib import Path

import requests

from bench.report import Row
from bench.stack import LIST_PATH
from bench.timing import BenchError, ms, p50, p95, paired

AUDIO_ID = "conv_bench_recording_50mb"
# 3,277 s of 8 kHz 16-bit mono plus the 44-byte header: 52,432,044 bytes, 50.0 MiB.
AUDIO_SECONDS = 3277


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
