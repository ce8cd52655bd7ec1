"""Gunicorn settings for the dashboard (see docs/deploy.md).

Views spend nearly all their time waiting on the platform, and audio streams hold a
connection for minutes, so each worker process runs many threads (gthread): a waiting
request costs a thread, not a process. Two processes use both cores of a small machine and
keep serving if one is restarted.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# A long audio stream is not a stuck worker: the heartbeat runs on its own thread.
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# Preloading shares the imported code between workers and fails fast on a bad setting.
preload_app = True
# No control socket: several instances on one host would fight over the default path.
control_socket_disable = True
