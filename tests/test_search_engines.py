"""Search gives the same answers on PostgreSQL and SQLite: tests/test_search.py, run again on
the database this run does not use (CI runs on PostgreSQL, a developer's machine on SQLite).

The other run is a process of its own, since Django holds one configuration a process.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("SEARCH_OTHER_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


def other_database(tmp_path):
    """The URL of a database of the other engine; None when no PostgreSQL answers here."""
    if connection.vendor == "postgresql":
        return f"sqlite:///{tmp_path / 'search.sqlite3'}"
    try:
        psycopg.connect(POSTGRES, connect_timeout=2).close()
    except psycopg.Error:
        return None
    return POSTGRES.rsplit("/", 1)[0] + f"/search_{uuid.uuid4().hex[:8]}"


@pytest.mark.django_db
def test_the_search_tests_pass_on_the_other_database_too(tmp_path):
    url = other_database(tmp_path)
    if url is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI has PostgreSQL: the search tests must run on it")
        pytest.skip("no PostgreSQL here to compare SQLite's answers with")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_search.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "--create-db",
            "-x",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
