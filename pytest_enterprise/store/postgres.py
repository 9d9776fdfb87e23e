"""The history store on PostgreSQL: one database shared by every CI runner of a team.

``PostgresHistoryStore`` runs the very queries of ``HistoryStore`` (store/sqlite.py); what
differs between the engines lives here:

* opening: ``postgres_connection`` connects, judges the database and creates the schema; a
  read of a database without the store's tables reads as empty and creates nothing, as a read
  of a missing SQLite file does;
* transactions: every write is one transaction in READ COMMITTED, the engine's default, so
  runners write their runs side by side instead of one at a time as on SQLite. The hash
  chains (audit log, manual statuses) are appended under a transaction-scoped advisory lock,
  so two writers never link to the same newest row. A transaction that meets a deadlock, a
  serialization failure or a unique-key race (two runners saving one run id) is run again;
  so is one whose connection was lost (a restarted server, a dropped network path), on a new
  connection, until the busy timeout has passed. A transaction either commits whole or not at
  all, so a killed runner leaves its run absent or complete;
* reads that must agree (``attempt_history``, ``tests_in_runs``) share one REPEATABLE READ
  snapshot;
* errors: every psycopg error becomes one line naming the store by its URL without the
  password (``StoreError`` exit 2, ``PermissionDeniedError`` exit 3).

PostgreSQL text cannot hold the NUL character, which SQLite text can: a NUL in stored text
(a node id, a message) is kept as U+FFFD, the replacement character, rather than losing the
run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

from ..errors import PermissionDeniedError, StoreError
from ..timeutil import utc_now
from .location import StoreLocation
from .postgres_connection import connect, driver, ensure_schema, translate_error
from .sqlite import HistoryStore

__all__ = ["PostgresHistoryStore"]

# Advisory lock keys of the hash chains (pg_advisory_xact_lock takes a bigint). The schema
# lock of postgres_connection uses "PyEn"; these differ from it and from each other.
_CHAIN_LOCKS = {"audit_events": int.from_bytes(b"PyEnAudt", "big"), "control_statuses": int.from_bytes(b"PyEnStat", "big")}
# SQLSTATEs after which running the same transaction again can succeed.
_RETRYABLE = frozenset({"40001", "40P01", "23505"})  # serialization failure, deadlock, unique violation
_PAUSE_S = 0.05
_MAX_PAUSE_S = 2.0
_PLACEHOLDER = re.compile(r"\?")


class PostgresHistoryStore(HistoryStore):
    """The history store in a PostgreSQL database (see the module docstring)."""

    _INSERTION_ORDER = "seq"
    _SAME_AS = "IS NOT DISTINCT FROM"
    _NO_INDEX = ""
    _SERIES_INDEX = ""

    def __init__(
        self,
        location: StoreLocation,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.location = location
        self.path = None  # type: ignore[assignment]
        self.display = location.display
        self.busy_timeout = busy_timeout
        self.clock = clock
        self._conn: _Connection | None = None  # type: ignore[assignment]
        self._checked = True  # PostgreSQL checks its own pages; there is no file to scan
        self._in_snapshot = False  # reads must then all come from one transaction

    def exists(self) -> bool:
        """Whether the database holds a store (connecting to find out; creates nothing)."""
        return self._reader() is not None

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    # -- opening ------------------------------------------------------------------------------

    def _reader(self) -> Any:
        if self._conn is None:
            self._open(create=False)
        return self._conn

    def _writer(self) -> Any:
        if self._conn is None:
            self._open(create=True)
        assert self._conn is not None
        return self._conn

    def _open(self, *, create: bool) -> None:
        raw = connect(self.location)
        try:
            raw.autocommit = True  # transactions are begun and ended explicitly, as on SQLite
            version = ensure_schema(raw, self.location, create=create)
        except BaseException:
            raw.close()
            raise
        if version == 0:  # an empty database, and only reading: nothing to read, nothing made
            raw.close()
            return
        self._conn = _Connection(raw)

    # -- transactions and queries -------------------------------------------------------------

    def _retrying(self, conn: Any, body: Callable[[Any], None], action: str) -> None:
        """Run ``body`` in one transaction, again on a retryable failure (see the module
        docstring), for at most the busy timeout in all."""
        psycopg = driver(self.location)

        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            pause = min(_PAUSE_S * 2 ** (attempt - 1), _MAX_PAUSE_S)
            if conn is None:  # the connection was lost: a new one, while time is left
                try:
                    conn = self._writer()
                except StoreError as error:
                    if time.monotonic() - started + pause <= self.busy_timeout:
                        time.sleep(pause)
                        continue
                    raise StoreError(
                        f"{error}, after the connection was lost while {action}; gave up after"
                        f" {time.monotonic() - started:.1f} s (busy timeout {self.busy_timeout:g} s)"
                    ) from None
            try:
                conn.execute("BEGIN")
                try:
                    body(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if not conn.closed:
                        with suppress(psycopg.Error):  # keep the original error
                            conn.execute("ROLLBACK")
                    raise
                return
            except psycopg.Error as error:
                lost = conn.broken
                retryable = lost or getattr(error, "sqlstate", None) in _RETRYABLE
                if not retryable or time.monotonic() - started + pause > self.busy_timeout:
                    raise self._translate(error, action, waited=time.monotonic() - started if lost else None) from None
                if lost:
                    self.close()
                    conn = None
                time.sleep(pause)

    def _write(self, body: Callable[[Any], None], action: str) -> None:
        self._retrying(self._writer(), body, action)

    def _query(self, sql: str, params: tuple[Any, ...], action: str) -> list[tuple[Any, ...]]:
        psycopg = driver(self.location)

        for last_try in (False, True):
            conn = self._reader()
            if conn is None:
                return []
            try:
                return conn.execute(sql, params).fetchall()
            except psycopg.Error as error:
                # A connection lost between statements (a restarted server): a read outside a
                # snapshot can simply be asked again, once, on a new connection.
                if last_try or not conn.broken or self._in_snapshot:
                    raise self._translate(error, action) from None
                self.close()
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def _snapshot(self, action: str) -> Iterator[None]:
        psycopg = driver(self.location)

        conn = self._reader()
        if conn is None or conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except psycopg.Error as error:
            raise self._translate(error, action) from None
        self._in_snapshot = True
        try:
            yield
        finally:
            self._in_snapshot = False
            if not conn.closed:
                with suppress(psycopg.Error):
                    conn.execute("COMMIT")

    # -- error translation --------------------------------------------------------------------

    def _translate(self, exc: Any, action: str, waited: float | None = None) -> Exception:  # type: ignore[override]
        error = translate_error(exc, self.location, action)
        if waited is not None and not isinstance(error, PermissionDeniedError):
            return StoreError(f"{error}; gave up after {waited:.1f} s of retrying (busy timeout {self.busy_timeout:g} s)")
        return error


class _Connection:
    """A psycopg connection that takes the store's queries as written for sqlite3: ``?``
    placeholders, ``execute`` returning a cursor, ``executemany``, ``in_transaction``."""

    __slots__ = ("raw", "_sql")

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self._sql: dict[str, str] = {}

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self.raw.execute(self._translated(sql), _params(params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Any:
        cursor = self.raw.cursor()
        cursor.executemany(self._translated(sql), (_params(row) for row in rows))
        return cursor

    def lock_chain(self, table: str) -> None:
        """Hold ``table``'s hash chain until this transaction ends (see ``sqlite._chained``)."""
        self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCKS[table],))

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    @property
    def closed(self) -> bool:
        return self.raw.closed

    @property
    def broken(self) -> bool:
        return self.raw.broken or self.raw.closed

    def close(self) -> None:
        with suppress(Exception):  # closing a broken connection cannot fail usefully
            self.raw.close()

    def _translated(self, sql: str) -> str:
        translated = self._sql.get(sql)
        if translated is None:
            translated = self._sql[sql] = _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))
        return translated


def _params(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value.replace("\x00", "\ufffd") if type(value) is str and "\x00" in value else value for value in values)
