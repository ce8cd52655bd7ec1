"""Command line: `python -m emulator [--port 8765] [--fault list=503:2] ...`; Ctrl-C stops it."""

import argparse
import signal
import sys
import time

from emulator.faults import FAULT_KINDS, TEXT_OPTIONS
from emulator.routes import ENDPOINTS
from emulator.server import Emulator


def parse_fault(spec: str) -> dict:
    """`ENDPOINT=KIND[:times][,option=value...]`, e.g. `list=503:2` or `*=429,retry_after=5`."""
    head, *option_specs = spec.split(",")
    endpoint, sep, kind_spec = head.partition("=")
    kind, _, times = kind_spec.partition(":")
    if not sep or not endpoint or not kind:
        raise argparse.ArgumentTypeError(f"expected ENDPOINT=KIND[:times], got {spec!r}")
    fault = {"endpoint": endpoint.strip(), "kind": kind.strip()}
    try:
        fault["times"] = int(times) if times else None
        for option_spec in option_specs:
            name, _, value = option_spec.partition("=")
            fault[name.strip()] = value if name.strip() in TEXT_OPTIONS else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad number in fault {spec!r}") from None
    return fault


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Serve a stand-in of the Xuna conversations API.",
        epilog="At run time, without the key: /_emulator/calls, concurrency, faults, latency, "
        "reset, conversations (POST adds one; DELETE /_emulator/conversations/ID deletes one "
        "behind the dashboard's back). See docs/api.md.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default="emulator-key")
    parser.add_argument("--api-key-header", default="xi-api-key")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--conversations", type=int, default=240)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--jitter-ms", type=float, default=0)
    parser.add_argument(
        "--fault",
        type=parse_fault,
        action="append",
        default=[],
        metavar="ENDPOINT=KIND[:times]",
        help=f"endpoints: {', '.join(ENDPOINTS)} or *; kinds: {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument(
        "--arrivals-per-minute",
        type=float,
        default=0,
        metavar="RATE",
        help="start a new conversation every 60/RATE seconds (default 0: none); each is "
        "in-progress for its call's duration, then processing, then done or failed",
    )
    parser.add_argument(
        "--processing-seconds",
        type=float,
        default=20,
        metavar="SECONDS",
        help="how long a new conversation stays processing, without its analysis (default 20)",
    )
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=0,
        metavar="N",
        help="serve at most N API requests at once; one more gets 429 "
        "too_many_concurrent_requests with Retry-After: 1 (default 0: no limit)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = parser.parse_args(argv)

    try:
        emulator = Emulator(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            api_key_header=args.api_key_header,
            seed=args.seed,
            conversations=args.conversations,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            faults=args.fault,
            verbose=args.verbose,
            arrivals_per_minute=args.arrivals_per_minute,
            processing_seconds=args.processing_seconds,
            max_concurrent=args.max_concurrent,
        )
        emulator.start()
    except (ValueError, OSError) as error:
        parser.exit(2, f"emulator: {error}\n")

    # SIGTERM (docker stop, process managers) ends it the same way as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Xuna emulator listening on {emulator.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
