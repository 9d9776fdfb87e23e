"""The test server itself: reachable, a database per test, and password checks for ordinary
roles (what the store's bad-credentials tests rely on)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from postgres import ADMIN_URL, fresh_database


@pytest.fixture
def database_url():
    yield from fresh_database()


def test_each_test_gets_an_empty_database(database_url):
    import psycopg

    with psycopg.connect(database_url) as connection:
        version = connection.execute("SHOW server_version_num").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()[0]
    assert int(version) >= 120000 and tables == 0


def test_an_ordinary_role_needs_its_password(database_url):
    import psycopg

    role = f"enterprise_test_{uuid.uuid4().hex[:12]}"  # roles are the server's, not a database's
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'right-one'")
    host = urlsplit(database_url)
    try:
        url = f"postgresql://{role}:right-one@{host.hostname}:{host.port}{host.path}"
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT current_user").fetchone()[0] == role
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(url.replace("right-one", "wrong-one"))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}")
