"""`make run`: serve the dashboard, with the built-in emulator unless a real API key is set.

Also the worker (`manage.py run_huey`), which keeps the conversation index current
(conversations/tasks.py). One command, Ctrl-C stops every process.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
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


def start_emulator(env):
    """Start the emulator on a free port and return (process, base URL, key)."""
    key = secrets.token_urlsafe(24)
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "emulator",
            "--port",
            os.environ.get("EMULATOR_PORT", "8765"),
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
    env = {**os.environ}
    demo = not (os.environ.get("XUNA_API_KEY") or read_dotenv().get("XUNA_API_KEY"))
    processes = []
    if demo:
        emulator, url, key = start_emulator(env)
        processes.append(emulator)
        env.update(XUNA_API_BASE_URL=url, XUNA_API_KEY=key, XUNA_DEMO="on")
        print(f"Demo workspace: the built-in emulator serves the platform's API at {url}")
    else:
        print("XUNA_API_KEY is set: serving the real workspace, no emulator.")
    env.setdefault("STATIC_MANIFEST", "on")
    subprocess.run([PYTHON, "manage.py", "ensure_admin"], cwd=ROOT, env=env, check=True)
    if demo:
        # A scorecard, scores and a calibration round to look at; once, and never fatal.
        subprocess.run([PYTHON, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=False)
    print("Worker: keeps the conversation index current (manage.py run_huey)")
    processes.append(subprocess.Popen([PYTHON, "manage.py", "run_huey"], cwd=ROOT, env=env))
    port = env.setdefault("PORT", "8000")
    print(f"Dashboard: http://127.0.0.1:{port}  (Ctrl-C stops everything)", flush=True)
    processes.append(
        subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "dashboard.wsgi"],
            cwd=ROOT,
            env=env,
        )
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(p.poll() is None for p in processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                processes[-1].wait(timeout=1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
