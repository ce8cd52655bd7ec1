"""Throwaway PostgreSQL databases for the index rows (I1-I5), on the server BENCH_POSTGRES_URL
names (by default the local one, as user postgres).

Each row gets a database of its own, `review_bench_<row>_<random>`, created empty, migrated by
the row's Stack and dropped when the run ends, also after a failure or Ctrl-C.
"""

import contextlib
import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.stack import StackError

SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PREFIX = "review_bench_"
# The index's tables, whose size I5 reports.
TABLES = (
    "conversations_indexedconversation",
    "conversations_indexedevaluation",
    "conversations_indexedvalue",
    "conversations_indexedturn",
)


def with_database(url, name):
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def server_missing():
    """Why the index rows cannot run here, or None when the server answers."""
    if urlsplit(SERVER).scheme not in {"postgres", "postgresql"}:
        return f"BENCH_POSTGRES_URL is not a postgres:// URL: {urlsplit(SERVER).scheme!r}"
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL cannot be reached at BENCH_POSTGRES_URL ({type(error).__name__})"
    return None


class Databases:
    """The databases one run creates; `drop_all` removes them."""

    def __init__(self):
        self.names = []

    def create(self, row):
        name = f"{PREFIX}{row.lower()}_{secrets.token_hex(3)}"
        try:
            with psycopg.connect(SERVER, autocommit=True) as connection:
                # The name is made here from a fixed prefix, a row id and hex digits.
                connection.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as error:
            raise StackError(f"Creating the database {name} failed: {error}") from None
        self.names.append(name)
        return with_database(SERVER, name)

    def drop_all(self):
        with psycopg.connect(SERVER, autocommit=True) as connection:
            for name in self.names:
                with contextlib.suppress(psycopg.Error):
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.names = []


def query(url, sql, params=()):
    """The first row of a query on one of these databases (counts, sizes)."""
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(sql, params).fetchone()


def indexed_count(url):
    """Conversations whose detail the index holds."""
    return query(url, f"SELECT count(*) FROM {TABLES[0]} WHERE detailed")[0]  # noqa: S608
