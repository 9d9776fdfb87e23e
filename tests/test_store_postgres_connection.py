"""Opening a history store on a real PostgreSQL server: the schema made once, even by runners
starting together; and every way it can go wrong is one line naming the store without its
password, with its exit code, and leaves the database as it was."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import urlsplit

import pytest

from postgres import ADMIN_URL, fresh_database
from pytest_enterprise.errors import EXIT_PERMISSION, EXIT_USAGE, EnterpriseError, PermissionDeniedError, StoreError
from pytest_enterprise.store.location import parse_location
from pytest_enterprise.store.postgres_connection import connect, ensure_schema
from pytest_enterprise.store.sqlite import SCHEMA_VERSION


@pytest.fixture
def database_url():
    yield from fresh_database()


def open_store(url: str) -> int:
    location = parse_location(url, None)  # type: ignore[arg-type]
    with connect(location) as connection:
        return ensure_schema(connection, location)


def tables(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as connection:
        return {name for (name,) in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}  # fmt: skip


def one_line(error: EnterpriseError, secret: str | None = None) -> str:
    message = str(error)
    assert "\n" not in message and message.startswith("history store postgresql://")
    assert secret is None or secret not in message
    return message


def role_url(database_url: str, password: str, *, create: bool = False) -> str:
    """A new login role with ``password`` (CREATE on the schema when asked), as a URL."""
    import psycopg

    role = f"enterprise_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    with psycopg.connect(database_url, autocommit=True) as owner:
        owner.execute(f"GRANT USAGE {', CREATE' if create else ''} ON SCHEMA public TO {role}")
    parts = urlsplit(database_url)
    return f"postgresql://{role}:{password}@{parts.hostname}:{parts.port}{parts.path}"


def test_an_empty_database_gets_the_schema_once(database_url):
    assert open_store(database_url) == SCHEMA_VERSION
    made = tables(database_url)
    assert {"runs", "attempts", "audit_events", "store_meta", "spc_baselines"} <= made
    assert open_store(database_url) == SCHEMA_VERSION and tables(database_url) == made


def test_runners_starting_together_make_the_schema_once(database_url):
    results, errors = [], []

    def runner():
        try:
            results.append(open_store(database_url))
        except Exception as error:  # collected: a thread's exception would be lost
            errors.append(error)

    threads = [threading.Thread(target=runner) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [SCHEMA_VERSION] * 8


def test_wrong_credentials_are_one_line_without_the_password(database_url):
    url = role_url(database_url, "right-one")
    with pytest.raises(StoreError) as raised:
        open_store(url.replace("right-one", "wrong-one"))
    message = one_line(raised.value, "wrong-one")
    assert ":***@" in message and "password authentication failed" in message
    assert raised.value.exit_code == EXIT_USAGE


def test_an_unreachable_server_is_one_line(database_url):
    with pytest.raises(StoreError) as raised:
        open_store("postgresql://nobody:s3cret@127.0.0.1:1/history")
    assert "127.0.0.1:1" in one_line(raised.value, "s3cret")


def test_no_permission_to_create_the_tables_is_exit_3(database_url):
    url = role_url(database_url, "right-one")  # USAGE only: PostgreSQL 15 gives PUBLIC no CREATE
    with pytest.raises(PermissionDeniedError) as raised:
        open_store(url)
    assert "permission denied" in one_line(raised.value, "right-one")
    assert raised.value.exit_code == EXIT_PERMISSION
    assert tables(database_url) == set()
    allowed = role_url(database_url, "other-one", create=True)
    assert open_store(allowed) == SCHEMA_VERSION


def test_another_applications_tables_are_left_alone(database_url):
    import psycopg

    with psycopg.connect(database_url) as connection:
        connection.execute("CREATE TABLE invoices (id INT)")
    with pytest.raises(StoreError) as raised:
        open_store(database_url)
    assert "another application (invoices)" in one_line(raised.value)
    assert tables(database_url) == {"invoices"}


def test_a_newer_schema_is_refused_untouched(database_url):
    import psycopg

    open_store(database_url)
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE store_meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError) as raised:
        open_store(database_url)
    assert f"schema version {SCHEMA_VERSION + 1}, newer" in one_line(raised.value)
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION + 1)
