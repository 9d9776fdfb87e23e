"""One schema for both engines: the PostgreSQL DDL (store/postgres_schema.py) against the
SQLite schema that store/sqlite.py's migrations build, both made on real databases. A new
SQLite migration without its PostgreSQL counterpart fails here."""

from __future__ import annotations

import sqlite3

import pytest

from postgres import fresh_database
from pytest_enterprise.store import postgres_schema
from pytest_enterprise.store.sqlite import HistoryStore, TelemetryEvent

# SQLite's declared type -> the PostgreSQL types it may become (postgres_schema.py says why).
TYPES = {
    "TEXT": {"text"},
    "REAL": {"double precision"},
    "INTEGER": {"integer", "bigint", "smallint"},
    "BLOB": {"bytea"},
}
POSTGRES_ONLY = {("runs", "seq")}  # stands in for SQLite's implicit rowid


@pytest.fixture
def database_url():
    yield from fresh_database()


def sqlite_schema(tmp_path) -> tuple[dict[str, dict[str, str]], set[tuple[str, str]]]:
    path = tmp_path / "history.db"
    with HistoryStore(path) as store:  # the first write creates the file at the newest version
        store.record_events("p", [TelemetryEvent(recorded_at="2026-01-01T00:00:00.000000Z", kind="unit", passed=True)])
    with sqlite3.connect(path) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {
            table: {name: declared.upper() for _, name, declared, *_ in connection.execute(f'PRAGMA table_info("{table}")')}
            for table in tables
        }
        indexes = set(connection.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
        ).fetchall())  # fmt: skip
    return columns, indexes


def postgres_schema_of(url: str) -> tuple[dict[str, dict[str, str]], set[tuple[str, str]]]:
    import psycopg

    with psycopg.connect(url) as connection:
        for statement in postgres_schema.DDL:
            connection.execute(statement)
        columns: dict[str, dict[str, str]] = {}
        for table, column, data_type in connection.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'"
        ):  # fmt: skip
            columns.setdefault(table, {})[column] = data_type
        indexes = set(connection.execute(
            "SELECT indexname, tablename FROM pg_indexes WHERE schemaname = 'public'"
            " AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"
        ).fetchall())  # fmt: skip
    return columns, indexes


def test_postgresql_has_sqlites_tables_columns_and_indexes(database_url, tmp_path):
    lite_columns, lite_indexes = sqlite_schema(tmp_path)
    pg_columns, pg_indexes = postgres_schema_of(database_url)
    assert set(pg_columns) == set(lite_columns)
    for table, columns in lite_columns.items():
        extra = {column for column in pg_columns[table] if (table, column) not in POSTGRES_ONLY}
        assert extra == set(columns), table
        for column, declared in columns.items():
            assert pg_columns[table][column] in TYPES[declared], (table, column, declared, pg_columns[table][column])
    assert pg_indexes == lite_indexes
