"""Timing requests and summarising the timings: the tools every measurement shares.

Timings are taken from a client in this process, to the last byte of the answer as sent
(compressed bodies are not decompressed), interleaved with the baseline they are compared
to, so that both see the same moment of a shared, noisy machine.
"""

import math
import statistics
import time


class BenchError(RuntimeError):
    pass


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
