"""Gunicorn settings for the dashboard (measurements: docs/performance.md).

Worker class gthread, 2 processes of 32 threads by default, because of what a request does:
- A page spends most of its time waiting for the platform (100-500 ms) and a few
  milliseconds of CPU rendering; a recording holds its connection for as long as someone
  listens. A waiting request or a stream should cost a thread (about 0.2 MB), not a process
  (about 80 MB): sync workers would need a process per listener.
- Python runs one thread of a process at a time, so one process per core turns the threads
  into throughput on the 2-core target. Four processes of 16 threads reached about 15 % more
  requests a second there, but a connection stays with the process that accepted it, and the
  busiest of four processes made some clients wait over three times as long as most (p99
  over 3 x p50), for 120 MB more memory. Two processes share the load more evenly.
- 2 x 32 = 64 requests or recordings in flight: 64 reviewers each waiting on the platform
  at once, or fewer with recordings open. The platform connection pool is sized to the
  threads (XUNA_API_POOL_SIZE defaults to GUNICORN_THREADS in dashboard/settings.py), and so
  is the database: each thread keeps one connection (docs/deploy.md).
- An async worker (gevent) would hold thousands of idle streams, at the price of patching the
  standard library under the database and Redis drivers; not needed at a team's scale.
"""

import os


def _count(name, default):
    """A positive whole number from the environment; a bad value stops start-up naming it."""
    raw = os.environ.get(name, "").strip() or default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1 (got {raw!r}).")
    return int(raw)


bind = f"{os.environ.get('HOST', '127.0.0.1')}:{_count('PORT', '8000')}"
worker_class = "gthread"
workers = _count("WEB_CONCURRENCY", "2")
# The same default as GUNICORN_THREADS in dashboard/settings.py, which sizes the pool from it.
threads = _count("GUNICORN_THREADS", "32")
# A long recording is not a stuck worker: with gthread this is the heartbeat of the worker
# process (its main thread), not a limit on one request.
timeout = 60
graceful_timeout = 20
# Idle keep-alive connections wait in the worker's poller, not in a thread.
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# Preloading shares the imported code between workers and fails fast on a bad setting.
preload_app = True
# No control socket: several instances on one host would fight over the default path.
control_socket_disable = True
