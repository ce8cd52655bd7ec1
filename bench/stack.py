"""The system under test: the emulator and the dashboard under gunicorn, as real processes.

Everything lives in a temporary directory (a throwaway SQLite database, the server logs)
and is torn down by `Stack.close()`, which `python -m bench` calls even on Ctrl-C.
"""

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
LIST_PATH = "/v1/convai/conversations"  # the platform's list; a conversation is below it
PYTHON = sys.executable
USERNAME = "bench-reviewer"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class StackError(RuntimeError):
    pass


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, seconds=30, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"{process.args[2]} exited with {process.returncode} while starting")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2, allow_redirects=False).status_code < 500:
                return
        time.sleep(0.1)
    raise StackError(f"{url} did not answer within {seconds} s")


def stop(process, seconds=10):
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Emulator:
    """`python -m emulator` in a subprocess, driven through its /_emulator/ control API."""

    def __init__(self, tmp, *, conversations, options=(), name="emulator"):
        self.key = secrets.token_urlsafe(24)
        self.process = subprocess.Popen(
            [
                PYTHON,
                # `--api-key=...`: a generated key may start with a dash.
                *("-m", "emulator", "--port", "0", f"--api-key={self.key}"),
                *("--conversations", str(conversations), "--seed", "1", *options),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=(tmp / f"{name}.log").open("w"),
            text=True,
        )
        line = self.process.stdout.readline()
        url = next((word for word in line.split() if word.startswith("http")), None)
        if url is None:
            stop(self.process)
            raise StackError(f"The emulator did not start: {line.strip() or 'no output'}")
        self.url = url.rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])
        self.http = requests.Session()
        self.http.headers["xi-api-key"] = self.key

    def set_latency(self, ms):
        self._control("POST", "latency", {"ms": ms})

    def calls(self):
        return self._control("GET", "calls")["calls"]

    def clear_calls(self):
        self._control("DELETE", "calls")

    def concurrency(self):
        """Requests in flight, the most at once, and how many were refused with a 429."""
        return self._control("GET", "concurrency")

    def add_conversation(self, raw):
        return self._control("POST", "conversations", raw)["conversation_id"]

    def api(self, path, **kwargs):
        """A direct call to the platform API, as the baseline of the dashboard's timings."""
        return self.http.get(self.url + path, timeout=60, **kwargs)

    def _control(self, method, name, payload=None):
        response = requests.request(
            method, f"{self.url}/_emulator/{name}", json=payload, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def close(self):
        self.http.close()
        stop(self.process)


class Dashboard:
    """The dashboard under gunicorn with the project's gunicorn.conf.py."""

    def __init__(self, tmp, env, *, cache, name):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PORT": str(self.port), "XUNA_CACHE": "on" if cache else "off"}
        self.log_path = tmp / f"gunicorn-{name}.log"
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "dashboard.wsgi"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.url + "/login/", process=self.process)

    def pids(self):
        """The master and its workers."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [self.process.pid, *map(int, children.read_text().split())]

    def rss_bytes(self):
        """Resident memory of the master and every worker, summed."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(FileNotFoundError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def login(self, username, password):
        """A requests session logged in through the real login form."""
        session = requests.Session()
        form = session.get(self.url + "/login/", timeout=30)
        token = CSRF_RE.search(form.text)
        if token is None:
            raise StackError("The login page has no CSRF token.")
        answer = session.post(
            self.url + "/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token[1]},
            timeout=60,
            allow_redirects=False,
        )
        if answer.status_code != 302 or "sessionid" not in session.cookies:
            raise StackError(f"Logging in failed (HTTP {answer.status_code}).")
        return session

    def close(self):
        stop(self.process, seconds=25)


class Worker:
    """The index's worker as deployed (`manage.py run_huey`), and its resident memory."""

    def __init__(self, tmp, env, *, name):
        self.log_path = tmp / f"worker-{name}.log"
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "run_huey"],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def rss_bytes(self):
        """Resident memory of the worker (one process; its workers are threads)."""
        if self.process.poll() is not None:
            raise StackError(f"The worker exited with {self.process.returncode}")
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def close(self):
        stop(self.process, seconds=45)


class Stack:
    """A throwaway database with one reviewer, the emulator, and dashboards on demand.

    The database is a SQLite file in `tmp` unless `database_url` names another (the index
    rows' PostgreSQL database, bench/postgres.py); `emulator_options` go to its command line.
    """

    def __init__(self, tmp, *, conversations, database_url=None, emulator_options=(), name=""):
        self.tmp = Path(tmp)
        self.password = secrets.token_urlsafe(18)
        self.emulator = Emulator(
            self.tmp,
            conversations=conversations,
            options=emulator_options,
            name=f"emulator{name and '-' + name}",
        )
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "off",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url or f"sqlite:///{self.tmp / 'bench.sqlite3'}",
            # The worker's queue, when a row starts one, is this run's own.
            "HUEY_FILE": str(self.tmp / f"huey{name and '-' + name}.sqlite3"),
            "XUNA_API_BASE_URL": self.emulator.url,
            "XUNA_API_KEY": self.emulator.key,
            "XUNA_API_KEY_HEADER": "xi-api-key",
            "STATIC_MANIFEST": "on",
            "HOST": "127.0.0.1",
        }
        self.env.pop("XUNA_DEMO", None)
        # The index rows use PostgreSQL, the others no cache server: none from the environment.
        self.env.pop("REDIS_URL", None)
        self.manage("migrate", "--no-input", "--verbosity", "0")
        create_user = (
            "from django.contrib.auth.models import Group, User\n"
            "import os\n"
            "u = User.objects.create_user(os.environ['BENCH_USER'], "
            "password=os.environ['BENCH_PASSWORD'])\n"
            "u.groups.add(Group.objects.get(name='Reviewer'))\n"
        )
        self.manage("shell", "-c", create_user, BENCH_USER=USERNAME, BENCH_PASSWORD=self.password)
        self.dashboards = []
        self.workers = []

    def manage(self, *args, **extra_env):
        """`manage.py ARGS` against this stack's database and emulator; its standard output."""
        return self.run("manage.py", *args, **extra_env)

    def run(self, *args, **extra_env):
        """`python ARGS` with this stack's settings (a script or `-m module`); its output."""
        result = subprocess.run(
            [PYTHON, *args],
            cwd=ROOT,
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(f"{' '.join(args[:3])} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def dashboard(self, *, cache, name, **extra_env):
        dashboard = Dashboard(self.tmp, {**self.env, **extra_env}, cache=cache, name=name)
        self.dashboards.append(dashboard)
        return dashboard

    def worker(self, *, name, **extra_env):
        worker = Worker(self.tmp, {**self.env, **extra_env}, name=name)
        self.workers.append(worker)
        return worker

    def login(self, dashboard):
        return dashboard.login(USERNAME, self.password)

    def close(self):
        for process in (*self.workers, *self.dashboards):
            process.close()
        self.emulator.close()

    def describe(self):
        return json.dumps({"emulator": self.emulator.url})
