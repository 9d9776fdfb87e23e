"""Opening a history store on PostgreSQL: connect, judge the database, create the schema
(``postgres.PostgresHistoryStore`` runs the store's queries on it).

Every failure is one ``EnterpriseError`` line that names the store by its display URL (never
its password) and says what to do:

* cannot connect (unknown host, refused, timed out) or wrong credentials: ``StoreError``,
  exit 2;
* no permission to create the tables, or to read them: ``PermissionDeniedError``, exit 3;
* another application's tables in the database, or a schema newer than this code:
  ``StoreError``, exit 2, and nothing in the database is touched.

The schema is created under a transaction-scoped advisory lock, so that runners starting
together create it once.
"""

from __future__ import annotations

import re
from typing import Any

from .. import __version__
from ..errors import PermissionDeniedError, StoreError
from .location import POSTGRESQL, StoreLocation
from .postgres_schema import APPLICATION_KEY, BASE_VERSION, DDL, MIGRATIONS, VERSION_KEY

__all__ = ["APPLICATION", "connect", "driver", "ensure_schema", "translate_error"]

# store_meta[APPLICATION_KEY]: what marks a database as a pytest-enterprise history store.
APPLICATION = "pytest-enterprise history"
# pg_advisory_xact_lock key for creating and migrating the schema ("PyEn" as SQLite's id).
_SCHEMA_LOCK = int.from_bytes(b"PyEn", "big")
CONNECT_TIMEOUT_S = 10
_WHERE = re.compile(r'^(?:connection failed: )?(?:connection to server (?:at|on) "[^"]*"(?:, port \d+)? failed: )?')


def driver(location: StoreLocation) -> Any:
    """The psycopg module, or one line saying how to install it (it is an optional extra)."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            f"history store {location.display}: PostgreSQL needs psycopg; pip install 'pytest-enterprise[postgres]'"
        ) from None
    return psycopg


def connect(location: StoreLocation) -> Any:
    """A psycopg connection to the store at ``location`` (autocommit off)."""
    if location.engine != POSTGRESQL or location.url is None:
        raise ValueError(f"not a PostgreSQL location: {location.display}")
    psycopg = driver(location)
    try:
        return psycopg.connect(
            location.url, connect_timeout=CONNECT_TIMEOUT_S, application_name=f"pytest-enterprise {__version__}"
        )
    except psycopg.Error as error:
        raise translate_error(error, location, "connecting") from None


def ensure_schema(
    connection: Any,
    location: StoreLocation,
    *,
    create: bool = True,
    migrations: tuple[tuple[str, ...], ...] = MIGRATIONS,
) -> int:
    """The store's schema version, after creating the schema in an empty database (0 for an
    empty one when ``create`` is false: reads make nothing) or migrating an older one.
    Refuses, and leaves alone, a database holding other tables, or a newer schema."""
    import psycopg

    latest = BASE_VERSION + len(migrations)
    if _current(connection, latest):
        return latest
    try:
        with connection.transaction():
            # Runners starting together: the first creates or migrates, the others wait here
            # and then find the schema made.
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            tables = {name for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )}  # fmt: skip
            if not tables:
                if not create:
                    return 0
                for statement in DDL:
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO store_meta (key, value) VALUES (%s, %s), (%s, %s)",
                    (APPLICATION_KEY, APPLICATION, VERSION_KEY, str(BASE_VERSION)),
                )
                version = BASE_VERSION
            else:
                version = _judge(connection, location, tables, latest)
            if version < latest:  # as on SQLite, reading an older store upgrades it too
                for step in migrations[version - BASE_VERSION :]:
                    for statement in step:
                        connection.execute(statement)
                connection.execute("UPDATE store_meta SET value = %s WHERE key = %s", (str(latest), VERSION_KEY))
                version = latest
            return version
    except psycopg.Error as error:
        raise translate_error(error, location, "preparing the database") from None


def _current(connection: Any, latest: int) -> bool:
    """Whether the database already holds our store at ``latest``: one query, no lock. Every
    run opens the store, and at fleet scale the schema lock below was most of the time runners
    spent waiting for each other (benchmarks/bench_store_fleet.py). Anything else (no store
    yet, another application's tables, an older or newer schema) goes the locked way."""
    import psycopg

    try:
        with connection.transaction():  # an error (no store_meta table) rolls back only this
            rows = dict(connection.execute(
                "SELECT key, value FROM store_meta WHERE key IN (%s, %s)", (APPLICATION_KEY, VERSION_KEY)
            ))  # fmt: skip
    except psycopg.Error:
        return False
    return rows.get(APPLICATION_KEY) == APPLICATION and rows.get(VERSION_KEY) == str(latest)


def _judge(connection: Any, location: StoreLocation, tables: set[str], latest: int) -> int:
    rows: dict[str, str] = {}
    if "store_meta" in tables:
        rows = dict(connection.execute("SELECT key, value FROM store_meta WHERE key IN (%s, %s)", (APPLICATION_KEY, VERSION_KEY)))
    if rows.get(APPLICATION_KEY) != APPLICATION:
        raise StoreError(
            f"history store {location.display} holds tables of another application ({', '.join(sorted(tables)[:3])}"
            f"{', …' if len(tables) > 3 else ''}); use an empty database or schema for the history"
        )  # fmt: skip
    try:
        version = int(rows.get(VERSION_KEY, ""))
    except ValueError:
        raise StoreError(f"history store {location.display} is damaged (no schema version in store_meta)") from None
    if version > latest:
        raise StoreError(
            f"history store {location.display} has schema version {version}, newer than this pytest-enterprise"
            f" supports ({latest}); upgrade pytest-enterprise on this runner"
        )  # fmt: skip
    if version < BASE_VERSION:
        raise StoreError(f"history store {location.display} is damaged (schema version {version})")
    return version


def translate_error(error: Any, location: StoreLocation, action: str) -> Exception:
    """One line naming the store (display URL) for a psycopg error met while ``action``."""
    import psycopg.errors as errors

    text = str(error).strip()
    first = (text.splitlines() or [type(error).__name__])[-1 if "FATAL" in text else 0]
    # libpq says where it connected; the store's display URL already does.
    reason = _WHERE.sub("", first.split("FATAL:", 1)[-1].split("ERROR:", 1)[-1].strip()) or type(error).__name__
    if location.url and location.url in reason:  # a driver message never should, but be sure
        reason = reason.replace(location.url, location.display)
    if isinstance(error, errors.InsufficientPrivilege):
        return PermissionDeniedError(f"history store {location.display}: permission denied while {action} ({reason});"
                                     " grant the role CREATE and USAGE on the schema (and rights on the store's"
                                     " tables), or use a database it owns")  # fmt: skip
    return StoreError(f"history store {location.display}: {reason} while {action}")
