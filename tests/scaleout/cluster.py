"""The machinery of the scale-out test: a database, an emulator, two instances and workers.

`Cluster.start()` creates a fresh PostgreSQL database, migrates it with `manage.py`, starts
one emulator and two gunicorn instances (A and B) on their own ports; B reaches Redis
through a proxy a test can cut. `Cluster.start_worker()` adds a worker (`manage.py
run_huey`) on the same database, Redis and emulator. `Cluster.stop()` ends every process
group it started, drops the database and removes the dashboard's keys from Redis.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests

from tests.scaleout.proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
USERNAME = "scaleout-admin"
PASSWORD = secrets.token_urlsafe(16)
# Short runs, so that a job a killed worker held is taken over within about a minute and a
# half (its lock expires after tasks.LOCK_SECONDS, 16 s here; keep_chains looks once a minute)
# rather than within three minutes.
WORKER_SETTINGS = {"SYNC_RUN_SECONDS": "5", "XUNA_API_TIMEOUT": "2", "SYNC_INTERVAL_SECONDS": "1"}
# `manage.py run_huey`, which writes the stack of each of its threads to its log on SIGUSR1:
# how a test sees what a worker is doing at that moment. A Python handler, run by the main
# thread with the interpreter's lock held: faulthandler's dump of all threads reads them
# without it, and crashed the worker (SIGSEGV) while its pool's threads came and went.
RUN_WORKER = (
    "import runpy, signal, sys, traceback\n"
    "def dump(signum, frame):\n"
    "    for ident, stack in sys._current_frames().items():\n"
    "        lines = reversed(traceback.format_stack(stack))\n"
    "        sys.stderr.write(f'Thread {ident:#x} (most recent call first):\\n' + ''.join(lines))\n"
    "    sys.stderr.write('End of stacks\\n')\n"
    "    sys.stderr.flush()\n"
    "signal.signal(signal.SIGUSR1, dump)\n"
    "sys.argv = ['manage.py', 'run_huey']\n"
    "runpy.run_path('manage.py', run_name='__main__')\n"
)


def servers_missing():
    """Why the scale-out test cannot run here, or None when both servers answer."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if urlsplit(database_url).scheme not in {"postgres", "postgresql"}:
        return "DATABASE_URL does not point at PostgreSQL"
    if not redis_url:
        return "REDIS_URL is not set"
    return unreachable(database_url, redis_url)


def unreachable(database_url, redis_url):
    try:
        psycopg.connect(maintenance_url(database_url), connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL cannot be reached ({type(exc).__name__})"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis cannot be reached ({type(exc).__name__})"
    return None


def with_database(url, name):
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def maintenance_url(url):
    """The server's `postgres` database: the one in DATABASE_URL may not exist yet."""
    return with_database(url, "postgres")


# The cluster ----------------------------------------------------------------------------------


class Cluster:
    """The processes, database and proxy of one run; stop() undoes all of it."""

    def __init__(self, database_url, redis_url, *, emulator_options=()):
        self.server_url = database_url
        self.redis_url = redis_url
        self.database = f"review_scaleout_{secrets.token_hex(4)}"
        self.database_url = with_database(database_url, self.database)
        self.processes = {}
        self.logs = {}
        self.log_dir = tempfile.TemporaryDirectory(prefix="scaleout-")
        self.redis_proxy = None
        self.emulator_url = None
        self.options = [str(option) for option in emulator_options]
        self.api_key = secrets.token_urlsafe(16)
        self.secret_key = secrets.token_urlsafe(50)

    # Start

    def start(self):
        self.clear_dashboard_keys()
        self.create_database()
        self.manage("migrate", "--no-input")
        self.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import Group, User\n"
            f"u = User.objects.create_user({USERNAME!r}, password={PASSWORD!r})\n"
            "u.groups.add(Group.objects.get(name='Admin'))",
        )
        self.emulator_url = self.start_emulator()
        target = urlsplit(self.redis_url)
        self.redis_proxy = TcpProxy(target.hostname, target.port or 6379).start()
        via_proxy = urlunsplit(target._replace(netloc=f"127.0.0.1:{self.redis_proxy.port}"))
        self.a = self.start_instance("a", self.redis_url)
        self.b = self.start_instance("b", via_proxy)
        return self

    def create_database(self):
        with psycopg.connect(maintenance_url(self.server_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def env(self, **extra):
        """A clean environment: nothing from the developer's XUNA_* or .env settings decides."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("XUNA_", "DJANGO_", "GUNICORN_", "SYNC_", "INDEX_", "HUEY_"))
            and key
            not in {"DATABASE_URL", "REDIS_URL", "HTTPS", "DEBUG", "WEB_CONCURRENCY", "LOG_LEVEL"}
        }
        env.update(
            SECRET_KEY=self.secret_key,
            DEBUG="off",
            HTTPS="off",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            XUNA_API_BASE_URL=self.emulator_url or "http://127.0.0.1:9",
            XUNA_API_KEY=self.api_key,
        )
        env.update(extra)
        return env

    def manage(self, *args):
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stderr}"

    def spawn(self, name, args, env, **kwargs):
        """Start a process in its own process group, so stop() ends it and its children."""
        self.logs[name] = Path(self.log_dir.name) / f"{name}.log"
        log = self.logs[name].open("w")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stderr=log,
            start_new_session=True,
            text=True,
            **{"stdout": log, **kwargs},
        )
        log.close()
        self.processes[name] = process
        return process

    def start_emulator(self):
        process = self.spawn(
            "emulator",
            # `--api-key=...` in one word: a generated key may start with a dash.
            [PYTHON, "-m", "emulator", "--port", "0", f"--api-key={self.api_key}", *self.options],
            self.env(),
            stdout=subprocess.PIPE,
        )
        line = process.stdout.readline()
        url = next((word for word in line.split() if word.startswith("http")), None)
        if not url:
            process.wait(timeout=5)
            raise AssertionError(
                f"the emulator did not start (exit status {process.returncode}): {line!r}\n"
                + self.log("emulator")[-3000:]
            )
        return url.rstrip("/")

    def start_instance(self, name, redis_url, *, port=None, **env):
        """Start gunicorn as `name` (on a free port unless given); returns its base URL."""
        port = port or free_port()
        self.spawn(
            name,
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "dashboard.wsgi"],
            self.env(
                HOST="127.0.0.1",
                PORT=str(port),
                REDIS_URL=redis_url,
                WEB_CONCURRENCY="2",
                GUNICORN_THREADS="4",
                **env,
            ),
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise AssertionError(f"instance {name} exited:\n{self.log(name)}")
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    return base
            # A timeout too: a socket that another process holds open but no longer serves.
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        raise AssertionError(f"instance {name} did not start:\n{self.log(name)}")

    def start_worker(self, name):
        """Start a worker as `name`; its jobs start at once (tasks.start_chains)."""
        return self.spawn(name, [PYTHON, "-c", RUN_WORKER], self.env(**WORKER_SETTINGS))

    def stacks(self, name):
        """The stack of each thread of the worker `name` at this moment, as text."""
        log = self.logs[name]
        start = log.stat().st_size
        self.processes[name].send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 15
        while "End of stacks" not in _read_from(log, start):
            if time.monotonic() > deadline:
                state = self.processes[name].poll()
                raise AssertionError(
                    f"{name} wrote no stacks (exit status {state}); its log ends:\n"
                    + self.log(name)[-3000:]
                )
            time.sleep(0.02)
        return _read_from(log, start)

    def kill(self, name):
        """SIGKILL the process `name` and its group, as the OOM killer or a lost machine would."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def log(self, name):
        return self.logs[name].read_text(errors="replace")

    def kill_master(self, name):
        """SIGKILL the gunicorn master of `name` alone, as a crash or the OOM killer would.

        Its workers are left to themselves; stop() still ends whatever is left of its group.
        """
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    # Stop

    def stop(self):
        """End every process group, cut the proxy, drop the database, clear the dashboard's keys."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()
        if self.redis_proxy is not None:
            self.redis_proxy.stop()
        self.drop_database()
        self.clear_dashboard_keys()
        self.log_dir.cleanup()

    def drop_database(self):
        with psycopg.connect(maintenance_url(self.server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def clear_dashboard_keys(self):
        """Remove the dashboard's keys (its cache, the worker's queue and locks), so no earlier
        run's cached data, queued task or lock acts in this one."""
        client = redis.Redis.from_url(self.redis_url)
        keys = [key for match in ("review:*", "huey.*") for key in client.scan_iter(match)]
        if keys:
            client.delete(*keys)

    def still_running(self, grace=10):
        """The names of the process groups that still have a member after `grace` seconds."""
        deadline = time.monotonic() + grace
        while True:
            alive = [name for name, process in self.processes.items() if _group_alive(process)]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.1)

    def database_exists(self):
        with psycopg.connect(maintenance_url(self.server_url)) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.database]
            ).fetchone()
        return found is not None


def _group_alive(process):
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _read_from(path, offset):
    with path.open(errors="replace") as file:
        file.seek(offset)
        return file.read()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_in(base):
    """A requests session logged in through the real login form."""
    session = requests.Session()
    session.get(f"{base}/login/", timeout=10).raise_for_status()
    response = session.post(
        f"{base}/login/",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return session


def visitor(cookies):
    """Another browser that carries the given cookies."""
    session = requests.Session()
    for name, value in cookies.items():
        session.cookies.set(name, value)
    return session
