"""P5: 64 reviewers at once on the list page, driven by `wrk` (docs/performance.md).

Each reviewer has their own session and connection; `bench/reviewers.lua` gives every wrk
thread one session cookie and counts the answers that are not a 200.
"""

import json
import subprocess
from pathlib import Path
from string import Template

from bench.report import Row
from bench.timing import BenchError, ms

WRK_SCRIPT = Path(__file__).with_name("reviewers.lua")


def wrk(url, cookies, seconds, tmp):
    script = Path(tmp) / WRK_SCRIPT.name
    cookie_list = ", ".join(json.dumps(cookie) for cookie in cookies)
    script.write_text(Template(WRK_SCRIPT.read_text()).substitute(cookies=cookie_list))
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


def p5_load(stack, dashboard, sessions, seconds=60, cpu_seconds=30):
    cookies = [f"sessionid={s.cookies['sessionid']}" for s in sessions]
    url = dashboard.url + "/"
    stack.emulator.set_latency(0)
    cpu = wrk(url, cookies, cpu_seconds, stack.tmp)
    stack.emulator.set_latency(200)
    loaded = wrk(url, cookies, seconds, stack.tmp)
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
