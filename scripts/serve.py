"""`make run`: serve the dashboard, with the built-in emulator unless a real API key is set.

Also the worker (`manage.py run_huey`), which keeps the conversation index current
(conversations/tasks.py). One command, Ctrl-C stops every process.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def read_dotenv():
    values = {}
    env_file = ROOT / ".env"
    if env_file.exists():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.strip().startswith("#"):
                values[key.strip()] = value.strip().strip("'\"")
    return values


def port_setting(env, name, default):
    """The port a setting names (PORT, EMULATOR_PORT), or a stop that names the setting."""
    raw = str(env.get(name, "")).strip() or default
    if not raw.isdigit() or int(raw) > 65535:
        sys.exit(f"{name} must be a port number from 0 to 65535 (got {raw!r}).")
    return int(raw)


def check_port(env, name, default, host="127.0.0.1"):
    """Stop before starting anything when the port a setting names is taken, saying which
    setting moves it; 0 asks for any free port and is never taken."""
    port = port_setting(env, name, default)
    with socket.socket() as probe:
        # As a server binds it: a port left in TIME_WAIT by an earlier run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            sys.exit(
                f"Port {port} on {host} is taken (another program, or a `make run` still "
                f"running). Set {name} to a free port, e.g. `{name}={port + 1} make run`, or "
                "in .env."
            )
    return port


def wait_for_port(host, port, processes, seconds=30):
    """Wait until something listens on the port, while every process still runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and all(p.poll() is None for p in processes):
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return True
        time.sleep(0.2)
    return False


def start_emulator(env):
    """Start the emulator on a free port and return (process, base URL, key)."""
    key = secrets.token_urlsafe(24)
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "emulator",
            "--port",
            str(port_setting(env, "EMULATOR_PORT", "8765")),
            # In one word: a generated key that starts with a dash would read as an option.
            f"--api-key={key}",
            # A gentle flow of new calls, so that a newcomer sees them arrive and finish.
            "--arrivals-per-minute",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    url = next((word for word in line.split() if word.startswith("http")), None)
    if url is None:
        process.terminate()
        sys.exit(f"The emulator did not start: {line.strip() or 'no output'}")
    return process, url.rstrip("/"), key


def main():
    # .env holds settings too (dashboard/settings.py reads it); the real environment wins.
    env = {**read_dotenv(), **os.environ}
    demo = not env.get("XUNA_API_KEY")
    host = env.get("HOST", "127.0.0.1")
    port = check_port(env, "PORT", "8000", host)
    env["PORT"] = str(port)
    if demo:
        check_port(env, "EMULATOR_PORT", "8765")
    processes = []
    if demo:
        emulator, url, key = start_emulator(env)
        processes.append(emulator)
        env.update(XUNA_API_BASE_URL=url, XUNA_API_KEY=key, XUNA_DEMO="on")
        print(f"Demo workspace: the built-in emulator serves the platform's API at {url}")
    else:
        print("XUNA_API_KEY is set: serving the real workspace, no emulator.")
    env.setdefault("STATIC_MANIFEST", "on")
    admin = subprocess.run(
        [PYTHON, "manage.py", "ensure_admin"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if admin.returncode:
        stop(processes)
        sys.exit(f"Could not set up the administrator:\n{admin.stderr.strip()}")
    if demo:
        # A scorecard, scores and a calibration round to look at; once, and never fatal.
        subprocess.run([PYTHON, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=False)
    print("Worker: keeps the conversation index current (manage.py run_huey)")
    processes.append(subprocess.Popen([PYTHON, "manage.py", "run_huey"], cwd=ROOT, env=env))
    processes.append(
        subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "dashboard.wsgi"],
            cwd=ROOT,
            env=env,
        )
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if wait_for_port(host, port, processes):
            print(ready(host, port, admin.stdout, demo), flush=True)
        while all(p.poll() is None for p in processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                processes[-1].wait(timeout=1)
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)


def ready(host, port, admin, demo):
    """What a newcomer needs, printed last: where to go, and how to log in."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a comparison
    lines = [
        f"Conversation Review is ready: http://{shown}:{port}",
        *(line.strip() for line in admin.splitlines() if line.strip()),
        "Ctrl-C stops the dashboard, the worker" + (" and the emulator." if demo else "."),
        "PORT moves the dashboard"
        + (" and EMULATOR_PORT the emulator" if demo else "")
        + " (in the environment or .env).",
    ]
    rule = "=" * max(len(line) for line in lines)
    return "\n".join(["", rule, *lines, rule])


def stop(processes):
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
