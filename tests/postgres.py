"""A real PostgreSQL server for the history store's tests, never a mock.

``.ci/run`` starts a throwaway cluster and exports its URL as ``ENTERPRISE_TEST_POSTGRES_URL``
(a superuser that needs no password over loopback; every other role needs one). Each test
gets a database of its own, dropped afterwards. Without a server the tests that need one
skip, saying how to get one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

ADMIN_URL = os.environ.get("ENTERPRISE_TEST_POSTGRES_URL")
NO_SERVER = "no PostgreSQL server: set ENTERPRISE_TEST_POSTGRES_URL (.ci/run starts one)"


def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server; dropped when the test is done."""
    if not ADMIN_URL:
        pytest.skip(NO_SERVER)
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    name = f"enterprise_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(ADMIN_URL)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ENGINES = ("sqlite", "postgresql")


def store_location(engine: str, tmp_path) -> Iterator[str]:
    """Where a test's store lives on ``engine``: a file under ``tmp_path`` or a fresh database."""
    if engine == "postgresql":
        yield from fresh_database()
    else:
        yield str(tmp_path / ".enterprise" / "history.db")


def raw_sql(where: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run ``sql`` (``?`` placeholders) on the store at ``where`` behind its back, committed:
    for counting rows the API does not show, and for tampering."""
    if where.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(where, autocommit=True) as connection:
            cursor = connection.execute(sql.replace("?", "%s"), params or None)
            return cursor.fetchall() if cursor.description else []
    import sqlite3

    connection = sqlite3.connect(where)
    try:
        with connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()
