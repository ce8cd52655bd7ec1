"""The scale-out cluster, started once for the module; see cluster.py.

It needs DATABASE_URL (postgres://...) and REDIS_URL pointing at reachable servers, as
`.ci/run` sets them. Elsewhere the tests are skipped, and the end of the run says so in
capitals; under CI they fail instead, so a machine without the servers cannot pass.
"""

import os
import sys

import pytest

from tests.scaleout.cluster import Cluster, log_in, servers_missing, visitor

NOT_RUN = []


@pytest.fixture(scope="module")
def cluster():
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
    cluster = Cluster(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    try:
        cluster.start()
        cluster.on_a = log_in(cluster.a)
        cluster.on_b = visitor({"sessionid": cluster.on_a.cookies["sessionid"]})
        yield cluster
    finally:
        cluster.stop()


def pytest_terminal_summary(terminalreporter):
    for message in NOT_RUN:
        terminalreporter.write_sep("!", "SCALE-OUT TEST NOT RUN", red=True, bold=True)
        terminalreporter.write_line(message)
        print(message, file=sys.stderr)
