"""The scale-out clusters, each started once for its module; see cluster.py.

They need DATABASE_URL (postgres://...) and REDIS_URL pointing at reachable servers, as
`.ci/run` sets them. Elsewhere the tests are skipped, and the end of the run says so in
capitals; under CI they fail instead, so a machine without the servers cannot pass.
"""

import contextlib
import os
import sys

import pytest

from tests.scaleout.cluster import Cluster, log_in, servers_missing, visitor

NOT_RUN = []
# Enough history that the backfill takes about half a minute: long enough to kill a worker in
# the middle of it, short enough for CI.
HISTORY = 2000
LATENCY_MS = 20


@pytest.fixture(scope="module")
def cluster():
    with running(Cluster(*servers())) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def index_cluster():
    """The cluster with a longer history and two workers that start indexing it at once."""
    options = ["--conversations", HISTORY, "--latency-ms", LATENCY_MS]
    with running(Cluster(*servers(), emulator_options=options)) as cluster:
        cluster.start_worker("worker-1")
        cluster.start_worker("worker-2")
        yield cluster


@contextlib.contextmanager
def running(cluster):
    """A started cluster with a session logged in on A (`on_a`) and the same on B (`on_b`)."""
    try:
        cluster.start()
        cluster.on_a = log_in(cluster.a)
        cluster.on_b = visitor({"sessionid": cluster.on_a.cookies["sessionid"]})
        yield cluster
    finally:
        cluster.stop()


def servers():
    """(DATABASE_URL, REDIS_URL), or the module is skipped (failed under CI) without them."""
    reason = servers_missing()
    if reason is not None:
        message = (
            f"SCALE-OUT TEST NOT RUN: {reason}. It needs DATABASE_URL=postgres://... and "
            "REDIS_URL=redis://... of reachable servers (.ci/run sets both)."
        )
        if os.environ.get("CI", "").lower() in {"1", "true", "yes", "on"}:
            pytest.fail(message)
        NOT_RUN.append(message)
        pytest.skip(message)
    return os.environ["DATABASE_URL"], os.environ["REDIS_URL"]


def pytest_terminal_summary(terminalreporter):
    for message in dict.fromkeys(NOT_RUN):
        terminalreporter.write_sep("!", "SCALE-OUT TEST NOT RUN", red=True, bold=True)
        terminalreporter.write_line(message)
        print(message, file=sys.stderr)
