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

import ctypes
import os
import signal
import sys


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

# prctl(2): the signal the kernel sends a process when its parent dies.
PR_SET_PDEATHSIG = 1


def post_fork(server, worker):
    """A worker dies with its master, so that a restarted instance can bind its port at once.

    gunicorn's workers notice a dead master only on their next loop (a second) and then finish
    their requests for up to graceful_timeout, keeping the listening socket open all along.
    After a master was killed with SIGKILL (a crash, the OOM killer) its port stayed taken for
    20 s, and a process manager that restarted it sooner got "Connection in use" until
    gunicorn gave up (issue 11). The kernel kills them with the master instead, which is what
    SIGKILL of the whole instance would have done. Linux only; elsewhere the old wait remains.

    Not `reuse_port`: in gunicorn 27 it gives each worker a listening socket of its own, so the
    kernel also deals new connections to the dying workers' sockets, which never accept them
    (9 of 40 failed in a trial), and it would replace the shared accept queue that the worker
    layout above was measured with.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        server.log.warning("Workers will outlive a killed master (prctl: %s)", ctypes.get_errno())
        return
    if os.getppid() != worker.ppid:
        os._exit(1)  # the master died before the kernel was told
