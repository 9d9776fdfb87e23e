"""The embedded history store: every run and every telemetry event, in one SQLite file.

Layout and guarantees (docs/history.md is the user-facing version):

* One row per run in ``runs`` (summary columns for fast listing, plus the run's JSON report,
  compressed, so a run reloads exactly); per run, its tests that passed once packed in one
  ``run_tests`` row (``packed_tests.py``) and one ``attempts`` row per attempt of every other
  test; and the events of the Python API / CLI in ``telemetry_events``.
* WAL journal mode, a busy timeout and ``BEGIN IMMEDIATE`` write transactions, so several
  pytest processes can write at once and lose nothing.
* Schema migrations keyed by ``PRAGMA user_version``; ``PRAGMA application_id`` marks the file
  as ours, so a foreign, newer or damaged file is refused and never modified.
* The file is opened lazily. Reads of a store that does not exist return empty results and
  create nothing; the first write creates the file and its parent directories.
* Every sqlite3 error is translated into ``StoreError`` (exit 2) or ``PermissionDeniedError``
  (exit 3) with one line naming the file and what to do.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import PermissionDeniedError, StoreError, UsageError
from ..model import RunRecord
from ..report.json_report import build_report, dumps_report, record_from_report
from ..timeutil import format_timestamp, parse_timestamp, utc_now
from ..utf8 import utf8_safe
from .packed_tests import PackedTests, find_packed, nodeid_hash, pack_tests, packed_present
from .series import (
    BASELINE_COLUMNS,
    SERIES_COLUMNS,
    BaselineRow,
    SeriesRun,
    TestInRun,
    TestsInRuns,
    baseline_row,
    series_runs_from_rows,
)

__all__ = [
    "APPLICATION_ID",
    "DEFAULT_HISTORY_PATH",
    "SCHEMA_VERSION",
    "AttemptRow",
    "AuditRow",
    "BaselineRow",
    "ControlStatusChange",
    "HistoryStore",
    "RunSummary",
    "SeriesRun",
    "TelemetryEvent",
    "TestInRun",
    "format_timestamp",
    "parse_timestamp",
    "utc_now",
]

DEFAULT_HISTORY_PATH = Path(".enterprise") / "history.db"

# "PyEn" as a big-endian 32-bit integer. Stored in the database header so that a file written
# by another application is recognised (and left alone) before we touch it.
APPLICATION_ID = int.from_bytes(b"PyEn", "big")

# Migration steps: MIGRATIONS[i] takes a database from user_version i to i + 1. Append new
# steps; never edit a released one, because existing stores have already run it.
MIGRATIONS: tuple[tuple[str | Callable[[sqlite3.Connection], None], ...], ...] = (
    # v1: the initial schema.
    (
        """
        CREATE TABLE runs (
            id            TEXT PRIMARY KEY,
            process       TEXT NOT NULL,
            started_at    TEXT NOT NULL,
            finished_at   TEXT,
            duration_s    REAL,
            exit_status   INTEGER,
            interrupted   INTEGER NOT NULL DEFAULT 0,
            workers       INTEGER NOT NULL DEFAULT 0,
            git_commit    TEXT,
            git_branch    TEXT,
            git_dirty     INTEGER,
            units         INTEGER,
            defects       INTEGER,
            opportunities INTEGER,
            dpmo          REAL,
            sigma_level   REAL,
            fpy           REAL,
            final_yield   REAL,
            rty           REAL,
            quality_json  TEXT,
            report_zlib   BLOB NOT NULL,  -- the run's JSON report, zlib-compressed
            created_at    TEXT NOT NULL
        )
        """,
        "CREATE INDEX runs_process_started_at ON runs (process, started_at)",
        # recent_runs() without a process and purge() both range over started_at alone.
        "CREATE INDEX runs_started_at ON runs (started_at)",
        """
        CREATE TABLE attempts (
            run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            nodeid         TEXT NOT NULL,
            attempt        INTEGER NOT NULL,
            outcome        TEXT NOT NULL,
            category       TEXT,
            exception_type TEXT,
            duration       REAL NOT NULL,
            severity       TEXT NOT NULL,
            worker         TEXT,
            PRIMARY KEY (run_id, nodeid, attempt)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX attempts_nodeid ON attempts (nodeid)",
        """
        CREATE TABLE telemetry_events (
            id          INTEGER PRIMARY KEY,
            process     TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('unit', 'defect')),
            passed      INTEGER CHECK (passed IN (0, 1)),
            defect_type TEXT,
            severity    TEXT,
            category    TEXT,
            message     TEXT
        )
        """,
        "CREATE INDEX telemetry_events_process_recorded_at"
        " ON telemetry_events (process, recorded_at)",
        # Small facts about the store itself, e.g. when its integrity was last checked.
        "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # v2: manual compliance statuses. Append-only: each row is one audited change (who, when,
    # what it was before); the newest row of a control is its current manual status.
    (
        """
        CREATE TABLE control_statuses (
            id              INTEGER PRIMARY KEY,
            framework       TEXT NOT NULL,
            control_id      TEXT NOT NULL,
            status          TEXT NOT NULL,
            previous_status TEXT,
            notes           TEXT NOT NULL DEFAULT '',
            evidence        TEXT,
            evidence_sha256 TEXT,
            expires_at      TEXT,
            actor           TEXT NOT NULL,
            recorded_at     TEXT NOT NULL
        )
        """,
        "CREATE INDEX control_statuses_control ON control_statuses (framework, control_id, id)",
    ),
    # v3: the audit log of changes (feature flags first) and the events of A/B experiments.
    # ``audit_events`` is append-only and hash-chained: each row's hash covers the previous
    # row's, so a row edited, inserted, deleted or moved before the newest one breaks the chain
    # (``audit.verify_chain``); truncation and a full rewrite do not (docs/history.md).
    (
        """
        CREATE TABLE audit_events (
            id          INTEGER PRIMARY KEY,
            recorded_at TEXT NOT NULL,
            actor       TEXT NOT NULL,
            kind        TEXT NOT NULL,
            subject     TEXT NOT NULL,
            action      TEXT NOT NULL,
            before_json TEXT,
            after_json  TEXT,
            reason      TEXT,
            prev_hash   TEXT,
            hash        TEXT NOT NULL
        )
        """,
        "CREATE INDEX audit_events_subject ON audit_events (kind, subject, id)",
        """
        CREATE TABLE experiment_events (
            id          INTEGER PRIMARY KEY,
            flag        TEXT NOT NULL,
            variant     TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            metric      TEXT NOT NULL,
            value       REAL,
            recorded_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX experiment_events_flag ON experiment_events (flag, metric, variant, user_id)",
    ),
    # v4: the manual statuses are hash-chained like the audit log, by the same function.
    # Rows that exist when a store is upgraded are chained now, at migration, not when they
    # were recorded: store_meta keeps how many and when (``status_chain_migration``).
    (
        "ALTER TABLE control_statuses ADD COLUMN prev_hash TEXT",
        "ALTER TABLE control_statuses ADD COLUMN hash TEXT",
        lambda conn: _chain_existing_statuses(conn),  # defined below, with the row types
    ),
    # v5: the tests that passed once are kept packed, one row per run (store/packed_tests.py);
    # the other tests keep their rows in ``attempts``. Runs stored before keep all their rows.
    (
        """
        CREATE TABLE run_tests (
            run_id       TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
            tests        INTEGER NOT NULL,
            nodeids_zlib BLOB NOT NULL,
            durations    BLOB NOT NULL,
            workers_zlib BLOB
        )
        """,
    ),
    # v6: the tox environment of each run, so history compares like with like. NULL outside
    # tox; runs stored before v6 read as NULL too, as whether they ran under tox is unknown.
    (
        "ALTER TABLE runs ADD COLUMN environment TEXT",
    ),
    # v7: what SPC needs to compare like with like. ``opportunity_definition`` (as the run's
    # quality object describes it) starts a new stage of a control chart when it changes;
    # runs stored before take it from their quality object. ``spc_baselines`` is append-only:
    # each row freezes a series' control limits on chosen runs, or resets them (audited too).
    (
        "ALTER TABLE runs ADD COLUMN opportunity_definition TEXT",
        "UPDATE runs SET opportunity_definition = json_extract(quality_json, '$.opportunity_definition')"
        " WHERE json_valid(quality_json)",
        """
        CREATE TABLE spc_baselines (
            id           INTEGER PRIMARY KEY,
            process      TEXT NOT NULL,
            branch       TEXT,
            environment  TEXT,
            action       TEXT NOT NULL CHECK (action IN ('freeze', 'reset')),
            run_ids_json TEXT,
            recorded_at  TEXT NOT NULL,
            actor        TEXT NOT NULL,
            reason       TEXT
        )
        """,
        "CREATE INDEX spc_baselines_series ON spc_baselines (process, id)",
        # Covers series_runs, so the charts read no run row: the rows hold each run's report,
        # and the columns after it (added by later versions) sit past its overflow pages.
        "CREATE INDEX runs_series ON runs (process, git_branch, environment, started_at, id, git_commit,"
        " git_dirty, units, final_yield, dpmo, duration_s, opportunity_definition, interrupted)",
        # packed_tests.PackedTests.nodeid_index; NULL in rows stored before.
        "ALTER TABLE run_tests ADD COLUMN nodeid_index BLOB",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# store_meta key: {"chained_at": timestamp, "rows": n} for the statuses chained by migration v4.
STATUS_CHAIN_MIGRATION_KEY = "status_chain_migration"

# Tables every store of a given version must have; a store of ours without them is damaged.
_V1_TABLES = frozenset({"runs", "attempts", "telemetry_events", "store_meta"})
_V2_TABLES = _V1_TABLES | {"control_statuses"}
_REQUIRED_TABLES = {
    1: _V1_TABLES,
    2: _V2_TABLES,
    3: _V2_TABLES | {"audit_events", "experiment_events"},
    4: _V2_TABLES | {"audit_events", "experiment_events"},
    5: _V2_TABLES | {"audit_events", "experiment_events", "run_tests"},
    6: _V2_TABLES | {"audit_events", "experiment_events", "run_tests"},
    7: _V2_TABLES | {"audit_events", "experiment_events", "run_tests", "spc_baselines"},
}

# A write that finds the database locked is tried this many times in all (with a short pause),
# all within one busy timeout, before giving up with a StoreError that says how long it waited.
# (SQLite gives up without waiting in a few lock states, e.g. a stale WAL snapshot.)
_WRITE_ATTEMPTS = 3
# The full integrity scan reads the whole file, so its cost grows with history; before writing
# it runs at most this often (and always before a migration).
INTEGRITY_CHECK_INTERVAL = timedelta(hours=24)
_LAST_CHECK_KEY = "last_integrity_check"
_RETRY_PAUSE_S = 0.05

_WHAT_TO_DO = "move it aside or set telemetry.history_path to another file"

_SQLITE_MAGIC = b"SQLite format 3\x00"

# Rows deleted per purge transaction (see purge).
PURGE_BATCH_RUNS = 200
PURGE_BATCH_EVENTS = 10_000

# Packed test rows read at a time by attempt_history (each holds a whole run's node ids).
_PACKED_PAGE = 16


# ---------------------------------------------------------------------------------------------
# Timestamps (timeutil): RFC 3339, UTC, "Z", always with microseconds so text order is time order.


def _canonical(text: str, what: str) -> str:
    try:
        return format_timestamp(parse_timestamp(text))
    except ValueError:
        raise UsageError(
            f"{what} must be an RFC 3339 timestamp such as 2025-01-31T12:00:00Z, got {text!r}"
        ) from None


# ---------------------------------------------------------------------------------------------
# Plain data handed out by the store.


@dataclass(frozen=True)
class TelemetryEvent:
    """One unit or defect recorded through the Python API or ``enterprise telemetry record``."""

    recorded_at: str
    kind: str  # "unit" or "defect"
    passed: bool | None = None
    defect_type: str | None = None
    severity: str | None = None
    category: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("unit", "defect"):
            raise UsageError(f"telemetry event kind must be 'unit' or 'defect', got {self.kind!r}")
        # Store one spelling of each instant, so events sort and filter by plain text compare
        # and an event read back equals the one written.
        object.__setattr__(
            self, "recorded_at", _canonical(self.recorded_at, "telemetry event recorded_at")
        )


@dataclass(frozen=True)
class RunSummary:
    """The summary columns of one stored run; ``HistoryStore.load_run`` gives the full record."""

    id: str
    process: str
    started_at: str
    finished_at: str | None
    duration_s: float | None
    exit_status: int | None
    interrupted: bool
    workers: int
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    units: int | None
    defects: int | None
    opportunities: int | None
    dpmo: float | None
    sigma_level: float | None
    fpy: float | None
    final_yield: float | None
    rty: float | None
    quality: dict[str, Any] | None
    created_at: str
    environment: str | None = None  # the tox environment ($TOX_ENV_NAME); None outside tox or before v6
    opportunity_definition: str | None = None  # how opportunities were counted (quality object)


@dataclass(frozen=True)
class AttemptRow:
    """One stored attempt of one test, with the run it belongs to (for flaky analysis)."""

    run_id: str
    process: str
    started_at: str
    nodeid: str
    attempt: int
    outcome: str
    category: str | None
    exception_type: str | None
    duration: float
    severity: str
    worker: str | None


@dataclass(frozen=True)
class ControlStatusChange:
    """One manual compliance status, as recorded by ``enterprise compliance update``."""

    framework: str  # catalog id, e.g. "soc2"
    control_id: str
    status: str  # compliant, non_compliant, partially_compliant, not_applicable, not_assessed
    previous_status: str | None
    notes: str
    evidence: str | None  # path or URL as given
    evidence_sha256: str | None
    expires_at: str | None  # RFC 3339, or None: no expiry
    actor: str
    recorded_at: str  # RFC 3339
    # The hash chain, as in ``AuditRow`` (see ``pytest_enterprise.audit``); set by the store.
    prev_hash: str | None = None
    hash: str = ""


def _where(**equal: Any) -> tuple[str, tuple[Any, ...]]:
    """A WHERE clause matching every column given a value (None: any), and its parameters.
    Column names come from our own keyword arguments, never from input."""
    chosen = {column: value for column, value in equal.items() if value is not None}
    if not chosen:
        return "", ()
    return "WHERE " + " AND ".join(f"{column} = ?" for column in chosen), tuple(chosen.values())


@dataclass(frozen=True)
class AuditRow:
    """One audited change: who did what to which subject, with the state before and after
    as JSON text, and the hash chain (see ``pytest_enterprise.audit``)."""

    recorded_at: str  # RFC 3339
    actor: str
    kind: str  # what the subject is, e.g. "flag"
    subject: str  # e.g. the flag's name
    action: str  # e.g. "create", "update", "auto-disable"
    before_json: str | None
    after_json: str | None
    reason: str | None
    prev_hash: str | None = None
    hash: str = ""


_AUDIT_NAMES = tuple(f.name for f in fields(AuditRow))
_AUDIT_COLUMNS = ", ".join(_AUDIT_NAMES)

# Columns in ``ControlStatusChange`` field order, so rows map onto it both ways.
_STATUS_NAMES = tuple(f.name for f in fields(ControlStatusChange))
_STATUS_COLUMNS = ", ".join(_STATUS_NAMES)

# Columns of ``runs`` in insert order; the summary is all of them except the record itself.
_RUN_COLUMNS = (
    "id", "process", "started_at", "finished_at", "duration_s", "exit_status", "interrupted",
    "workers", "git_commit", "git_branch", "git_dirty", "units", "defects", "opportunities",
    "dpmo", "sigma_level", "fpy", "final_yield", "rty", "quality_json", "report_zlib",
    "created_at", "environment", "opportunity_definition",
)  # fmt: skip
_SUMMARY_NAMES = tuple(c for c in _RUN_COLUMNS if c != "report_zlib")
# recent_runs(same=...): what a series is told apart by, and its column.
_SERIES_KEYS = {"branch": "git_branch", "environment": "environment"}
_SUMMARY_COLUMNS = ", ".join(_SUMMARY_NAMES)
_INSERT_RUN = (
    f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)})"
    f" VALUES ({', '.join(['?'] * len(_RUN_COLUMNS))})"
)

# Summary columns taken from the quality mapping the analyzers produce.
_QUALITY_COLUMNS = (
    "units", "defects", "opportunities", "dpmo", "sigma_level", "fpy", "final_yield", "rty",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The store.


class HistoryStore:
    """Run history and telemetry events in one SQLite file (see the module docstring).

    The queries are written once for both engines; ``postgres.PostgresHistoryStore``
    overrides opening, transactions and error translation, and these few spellings.
    """

    # Ties between runs started at the same instant go by insertion order: SQLite's rowid.
    _INSERTION_ORDER = "rowid"
    # Equality that matches NULL to NULL.
    _SAME_AS = "IS"
    # Unary plus keeps SQLite from using an index on the column it prefixes (tests_in_runs).
    _NO_INDEX = "+"
    # series_runs reads only the covering index. Left to itself SQLite may walk the
    # (process, started_at) index instead, and read each run's row for the columns stored
    # after its report, through the report's overflow pages: 10 ms instead of 0.6 ms for 320
    # runs with real-sized reports (benchmarks/bench_store_fleet.py).
    _SERIES_INDEX = " INDEXED BY runs_series"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.path = Path(path)  # None on PostgreSQL
        # How every message and output names the store (for PostgreSQL, the URL without its
        # password; see location.py).
        self.display = str(self.path)
        self.busy_timeout = busy_timeout
        self.clock = clock
        self._conn: sqlite3.Connection | None = None
        self._checked = False  # integrity checked since opening?

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display!r})"

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def exists(self) -> bool:
        """Whether there is a store to read: the file exists (for SQLite; a PostgreSQL
        database holding the store's tables for PostgreSQL). Creates nothing."""
        return self.path.exists()

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except sqlite3.Error as exc:  # pragma: no cover - close rarely fails
                raise self._translate(exc, "closing") from exc

    # -- writing ------------------------------------------------------------------------------

    def save_run(
        self,
        record: RunRecord,
        quality: Mapping[str, Any] | None,
        *,
        detailed: bool = True,
        report_zlib: bytes | None = None,
    ) -> None:
        """Store one run in one transaction; saving a run id again replaces the earlier copy.

        The run is kept as its JSON report, zlib-compressed: ``report_zlib`` is the exact
        document the run wrote, else one is built here. ``load_run`` rebuilds the record from
        it. ``detailed=False`` keeps the run row but skips the per-test rows (the packed
        single-pass tests and the attempts of the others), which only per-test history needs.
        """
        self._write(self.run_writer(record, quality, detailed=detailed, report_zlib=report_zlib), f"saving run {record.run.id}")

    def run_writer(
        self,
        record: RunRecord,
        quality: Mapping[str, Any] | None,
        *,
        detailed: bool = True,
        report_zlib: bytes | None = None,
        created_at: str | None = None,
    ) -> Callable[[sqlite3.Connection], None]:
        """The body of the transaction that stores one run, as ``save_run`` describes:
        ``save_run`` runs one; ``history copy`` runs a batch of them in one transaction, with
        each run's original ``created_at`` (default: the store's clock, now)."""
        if report_zlib is None:
            report = dumps_report(build_report(record, dict(quality or {}), [], None))
            report_zlib = zlib.compress(report.encode("utf-8"), 1)
        run = record.run
        started_at = self._record_timestamp(run.started_at, run.id, "started_at")
        finished_at = (
            self._record_timestamp(run.finished_at, run.id, "finished_at")
            if run.finished_at
            else None
        )
        git = run.git
        quality_values = [_quality_value(quality, key) for key in _QUALITY_COLUMNS]
        run_row = (
            run.id,
            run.process,
            started_at,
            finished_at,
            run.duration_s,
            run.exit_status,
            int(bool(run.interrupted)),
            run.workers,
            git.commit if git else None,
            git.branch if git else None,
            None if git is None or git.dirty is None else int(git.dirty),
            *quality_values,
            _dumps(dict(quality)) if quality is not None else None,
            report_zlib,
            created_at or format_timestamp(self.clock()),
            run.environment,
            _text_or_none((quality or {}).get("opportunity_definition")),
        )

        packed, others = pack_tests(record.tests) if detailed else (None, [])

        def write(conn: sqlite3.Connection) -> None:
            # Explicit delete, so ON DELETE CASCADE also drops the old test rows.
            conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))
            conn.execute(_INSERT_RUN, run_row)
            if not detailed:
                return
            if packed is not None:
                conn.execute(
                    "INSERT INTO run_tests (run_id, tests, nodeids_zlib, durations, workers_zlib, nodeid_index)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (run.id, packed.count, packed.nodeids_zlib, packed.durations, packed.workers_zlib,
                     packed.nodeid_index),
                )
            # A generator, built here so that a retried transaction starts it afresh.
            conn.executemany(
                "INSERT INTO attempts (run_id, nodeid, attempt, outcome, category,"
                " exception_type, duration, severity, worker)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (run.id, utf8_safe(test.nodeid), attempt.number, attempt.outcome, attempt.category,
                     attempt.exception_type, attempt.duration, test.severity, test.worker)
                    for test in others
                    for attempt in test.attempts
                ),  # fmt: skip
            )

        return write

    def record_events(self, process: str, events: Iterable[TelemetryEvent]) -> int:
        """Append telemetry events for ``process`` in one transaction; returns how many."""
        rows = [
            (
                process,
                event.recorded_at,
                event.kind,
                None if event.passed is None else int(event.passed),
                event.defect_type,
                event.severity,
                event.category,
                event.message,
            )
            for event in events
        ]
        if not rows:
            return 0

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO telemetry_events (process, recorded_at, kind, passed, defect_type,"
                " severity, category, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        self._write(write, f"recording telemetry events for {process}")
        return len(rows)

    def purge(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete runs (with their attempts) and events older than ``retention_days``.

        Returns the number of runs plus events deleted. ``now`` defaults to the store's clock.
        """
        if retention_days < 0:
            raise UsageError(f"retention_days must be 0 or more, got {retention_days}")
        cutoff = format_timestamp((now or self.clock()) - timedelta(days=retention_days))
        if self._reader() is None:
            return 0
        deleted = 0
        # In batches, each its own transaction: a fleet's store may hold millions of rows past
        # retention, and one transaction deleting them all would hold its locks (and, on
        # SQLite, every other writer) for as long. A run goes with all its test rows at once.
        # The usual purge at the end of a run deletes a few rows: one transaction.
        pending = [("runs", "started_at", PURGE_BATCH_RUNS), ("telemetry_events", "recorded_at", PURGE_BATCH_EVENTS)]
        while pending:
            counts: list[int] = []

            def write(conn: sqlite3.Connection) -> None:
                counts[:] = [
                    conn.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < ? LIMIT ?)",
                        (cutoff, batch),
                    ).rowcount
                    for table, column, batch in pending
                ]

            self._write(write, f"purging records older than {retention_days} days")
            deleted += sum(counts)
            pending = [entry for entry, count in zip(pending, counts) if count == entry[2]]
        return deleted

    def record_control_status(self, change: ControlStatusChange) -> ControlStatusChange:
        """Append a manual compliance status; returns it with ``previous_status`` and its
        place in the hash chain filled in."""
        result = change

        def write(conn: sqlite3.Connection) -> None:
            nonlocal result
            row = conn.execute(
                "SELECT status FROM control_statuses WHERE framework = ? AND control_id = ?"
                " ORDER BY id DESC LIMIT 1",
                (change.framework, change.control_id),
            ).fetchone()
            result = replace(change, previous_status=row[0] if row else None)
            result = _chained(conn, "control_statuses", result)
            conn.execute(
                f"INSERT INTO control_statuses ({_STATUS_COLUMNS})"
                f" VALUES ({', '.join('?' * len(_STATUS_NAMES))})",
                tuple(getattr(result, name) for name in _STATUS_NAMES),
            )

        self._write(write, f"recording the status of {change.framework}:{change.control_id}")
        return result

    def record_audit_event(self, event: AuditRow) -> AuditRow:
        """Append ``event`` to the hash-chained audit log; returns it with its hashes."""
        result = event

        def write(conn: sqlite3.Connection) -> None:
            nonlocal result
            result = _append_audit_event(conn, event)

        self._write(write, f"recording an audit event for {event.kind} {event.subject}")
        return result

    def audit_events(self, kind: str | None = None, subject: str | None = None) -> list[AuditRow]:
        """Audit events, oldest first, optionally of one kind and subject."""
        where, params = _where(kind=kind, subject=subject)
        rows = self._query(
            f"SELECT {_AUDIT_COLUMNS} FROM audit_events {where} ORDER BY id",
            params,
            "reading the audit log",
        )
        return [AuditRow(*row) for row in rows]

    def record_experiment_events(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Append A/B events ``(flag, variant, user_id, metric, value, recorded_at)``."""
        batch = list(rows)
        if batch:
            self._write(
                lambda conn: conn.executemany(
                    "INSERT INTO experiment_events (flag, variant, user_id, metric, value,"
                    " recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                    batch,
                ),
                "recording experiment events",
            )
        return len(batch)

    def experiment_events(self, flag: str) -> list[tuple[str, str, str, float | None]]:
        """``(variant, user_id, metric, value)`` of every event of ``flag``'s experiment."""
        return [
            (variant, user_id, metric, value)
            for variant, user_id, metric, value in self._query(
                "SELECT variant, user_id, metric, value FROM experiment_events WHERE flag = ?"
                " ORDER BY id",
                (flag,),
                f"reading the experiment events of {flag}",
            )
        ]

    def user_experiment_events(self, user_id: str) -> list[tuple[str, str, str, str, float | None, str]]:
        """``(flag, variant, user_id, metric, value, recorded_at)`` of every experiment event
        of one user, oldest first: what the store holds about them (``privacy export``)."""
        return self._query(
            "SELECT flag, variant, user_id, metric, value, recorded_at FROM experiment_events WHERE user_id = ?"
            " ORDER BY id",
            (user_id,),
            "reading a user's experiment events",
        )

    def erase_user(self, user_id: str, audit: Callable[[int], AuditRow]) -> tuple[int, AuditRow]:
        """Delete every experiment event of ``user_id`` and append the erasure's audit event,
        ``audit(rows deleted)``, in one transaction: the log never claims an erasure that did
        not happen, nor misses one that did. Returns the count and the chained event."""
        done: list[tuple[int, AuditRow]] = []

        def write(conn: sqlite3.Connection) -> None:
            erased = conn.execute("DELETE FROM experiment_events WHERE user_id = ?", (user_id,)).rowcount
            done[:] = [(erased, _append_audit_event(conn, audit(erased)))]

        self._write(write, "erasing a user's experiment events")
        return done[0]

    # -- reading ------------------------------------------------------------------------------

    def control_statuses(self) -> list[ControlStatusChange]:
        """The current manual status of each control: its newest change."""
        rows = self._query(
            f"SELECT {_STATUS_COLUMNS} FROM control_statuses WHERE id IN"
            " (SELECT MAX(id) FROM control_statuses GROUP BY framework, control_id)"
            " ORDER BY framework, control_id",
            (),
            "reading manual compliance statuses",
        )
        return [ControlStatusChange(*row) for row in rows]

    def control_status_log(self, framework: str | None = None, control_id: str | None = None) -> list[ControlStatusChange]:
        """Every manual status change, oldest first: the audit trail of manual evidence."""
        where, params = _where(framework=framework, control_id=control_id)
        rows = self._query(
            f"SELECT {_STATUS_COLUMNS} FROM control_statuses {where} ORDER BY id",
            params,
            "reading the manual status log",
        )
        return [ControlStatusChange(*row) for row in rows]

    def status_chain_migration(self) -> dict[str, Any] | None:
        """``{"chained_at": timestamp, "rows": n}`` when the first ``n`` manual statuses were
        chained by the upgrade to schema v4 rather than when they were recorded; else None."""
        rows = self._query(
            "SELECT value FROM store_meta WHERE key = ?",
            (STATUS_CHAIN_MIGRATION_KEY,),
            "reading the store's metadata",
        )
        return json.loads(rows[0][0]) if rows else None

    def recent_runs(
        self, process: str | None = None, limit: int = 20, *, same: Mapping[str, str | None] | None = None
    ) -> list[RunSummary]:
        """Summaries of the newest runs first, optionally of one process only; ``same`` maps
        ``branch`` and/or ``environment`` to the value a run must have (None: none)."""
        conditions, params = (["process = ?"], [process]) if process is not None else ([], [])
        for key, value in (same or {}).items():
            conditions.append(f"{_SERIES_KEYS[key]} {self._SAME_AS} ?")  # our column names, never input
            params.append(value)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._query(
            f"SELECT {_SUMMARY_COLUMNS} FROM runs {where}"
            f" ORDER BY started_at DESC, {self._INSERTION_ORDER} DESC LIMIT ?",
            (*params, limit),
            "listing runs",
        )
        return [_summary(row) for row in rows]

    def latest_run(self, process: str | None = None) -> RunRecord | None:
        where, params = ("WHERE process = ?", (process,)) if process is not None else ("", ())
        rows = self._query(
            f"SELECT id, report_zlib FROM runs {where}"
            f" ORDER BY started_at DESC, {self._INSERTION_ORDER} DESC LIMIT 1",
            params,
            "reading the latest run",
        )
        return self._record(*rows[0]) if rows else None

    def has_run(self, run_id: str) -> bool:
        """Whether a run with this id is stored (readable or not)."""
        return bool(self._query("SELECT 1 FROM runs WHERE id = ?", (run_id,), f"looking up run {run_id}"))

    def load_run(self, run_id: str) -> RunRecord:
        return self._record(run_id, self._report_blob(run_id))

    def load_report(self, run_id: str) -> dict[str, Any]:
        """The JSON report of a stored run, exactly as the run wrote it."""
        return self._report(run_id, self._report_blob(run_id))

    def events(self, process: str, since: datetime | None = None) -> list[TelemetryEvent]:
        """Events of ``process`` oldest first, optionally only those at or after ``since``."""
        sql = (
            "SELECT recorded_at, kind, passed, defect_type, severity, category, message"
            " FROM telemetry_events WHERE process = ?"
        )
        params: tuple[Any, ...] = (process,)
        if since is not None:
            sql += " AND recorded_at >= ?"
            params += (format_timestamp(since),)
        rows = self._query(sql + " ORDER BY recorded_at, id", params, "reading events")
        return [
            TelemetryEvent(
                recorded_at=recorded_at,
                kind=kind,
                passed=None if passed is None else bool(passed),
                defect_type=defect_type,
                severity=severity,
                category=category,
                message=message,
            )
            for recorded_at, kind, passed, defect_type, severity, category, message in rows
        ]

    def processes(self) -> list[str]:
        """Every process name with runs or events, sorted."""
        rows = self._query(
            "SELECT process FROM runs UNION SELECT process FROM telemetry_events ORDER BY 1",
            (),
            "listing processes",
        )
        return [process for (process,) in rows]

    def attempt_history(self, nodeid: str, limit: int = 50) -> list[AttemptRow]:
        """The stored attempts of one test, newest run first (input for flaky analysis).

        A run keeps a test either as ``attempts`` rows or, when it passed once, in the run's
        packed ``run_tests`` row (store/packed_tests.py); both are read and merged in run
        order, and a packed test comes back as the row it would have had.
        """
        nodeid = utf8_safe(nodeid)
        action = f"reading the history of {nodeid}"
        with self._snapshot(action):  # both tables as of one moment, whoever writes meanwhile
            # Each attempt with its run's place: newest first by started_at, then insertion order.
            rows = self._query(
                f"SELECT r.started_at, r.{self._INSERTION_ORDER}, a.run_id, r.process, r.started_at, a.nodeid,"
                " a.attempt, a.outcome, a.category, a.exception_type, a.duration, a.severity, a.worker"
                " FROM attempts AS a JOIN runs AS r ON r.id = a.run_id"
                f" WHERE a.nodeid = ? ORDER BY r.started_at DESC, r.{self._INSERTION_ORDER} DESC, a.attempt LIMIT ?",
                (nodeid, limit),
                action,
            )
            detailed = [((started, rowid), AttemptRow(*row)) for started, rowid, *row in rows]
            packed = self._packed_history(nodeid, limit, detailed, action)
        # A run keeps a test in one place only, so merging by run keeps each run's attempts in
        # order; sorted() is stable.
        merged = sorted([*detailed, *packed], key=lambda item: item[0], reverse=True)
        return [row for _, row in merged[:limit]]

    def _packed_history(
        self, nodeid: str, limit: int, detailed: list[tuple[tuple[str, int], AttemptRow]], action: str
    ) -> list[tuple[tuple[str, int], AttemptRow]]:
        """The packed attempts of ``nodeid``, newest run first. Packed rows cannot be searched
        in SQL, so they are read a page at a time, newest first, until ``limit`` attempts are
        known that are all newer than the next run."""
        found: list[tuple[tuple[str, int], AttemptRow]] = []
        offset = 0
        while True:
            page = self._query(
                f"SELECT r.started_at, r.{self._INSERTION_ORDER}, t.run_id, r.process, t.tests, t.nodeids_zlib,"
                " t.durations, t.workers_zlib FROM run_tests AS t JOIN runs AS r ON r.id = t.run_id"
                f" ORDER BY r.started_at DESC, r.{self._INSERTION_ORDER} DESC LIMIT ? OFFSET ?",
                (_PACKED_PAGE, offset),
                action,
            )
            for started, rowid, run_id, process, count, nodeids_zlib, durations, workers_zlib in page:
                newer = sum(1 for place, _ in detailed if place > (started, rowid))
                if len(found) + newer >= limit:
                    return found
                try:
                    attempt = find_packed(PackedTests(count, nodeids_zlib, durations, workers_zlib), nodeid)
                except (ValueError, zlib.error, UnicodeDecodeError) as exc:
                    raise self._unreadable(run_id, exc) from exc
                if attempt is not None:
                    found.append(((started, rowid), AttemptRow(run_id, process, started, **vars(attempt))))
            if len(page) < _PACKED_PAGE:
                return found
            offset += _PACKED_PAGE

    # -- history analyses (SPC, flaky tests): plain rows from store/series.py ------------------

    def series_runs(
        self,
        process: str,
        *,
        same: Mapping[str, str | None] | None = None,
        limit: int | None = None,
    ) -> list[SeriesRun]:
        """The runs of ``process`` oldest first; ``same`` maps ``branch`` and/or
        ``environment`` to the value a run must have (None: none), as for ``recent_runs``;
        with ``limit`` only the newest ones."""
        where, params = "WHERE process = ?", (process,)
        for key, value in (same or {}).items():
            where += f" AND {_SERIES_KEYS[key]} {self._SAME_AS} ?"  # our column names, never input
            params += (value,)
        # Ties in started_at go by id: ordering by rowid too would forgo the covering index.
        sql = f"SELECT {', '.join(SERIES_COLUMNS)} FROM runs{self._SERIES_INDEX} {where} ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        rows = self._query(sql, params, f"reading the runs of {process}")
        rows.reverse()
        return series_runs_from_rows(rows)

    def spc_baselines(self, process: str) -> list[BaselineRow]:
        """Every baseline change of ``process``'s series, oldest first."""
        rows = self._query(
            f"SELECT {BASELINE_COLUMNS} FROM spc_baselines WHERE process = ? ORDER BY id",
            (process,),
            f"reading the control-chart baselines of {process}",
        )
        return [baseline_row(row) for row in rows]

    def record_spc_baseline(self, change: BaselineRow, event: AuditRow) -> AuditRow:
        """Append a baseline change and its audit event, in one transaction."""
        result = event

        def write(conn: sqlite3.Connection) -> None:
            nonlocal result
            conn.execute(
                f"INSERT INTO spc_baselines ({BASELINE_COLUMNS}) VALUES ({', '.join('?' * 8)})",
                change.to_row(),
            )
            result = _append_audit_event(conn, event)

        self._write(write, f"recording a control-chart baseline of {change.process}")
        return result

    def tests_in_runs(self, run_ids: list[str], nodeids: Iterable[str] | None = None) -> TestsInRuns:
        """The attempts of tests in the given runs (see ``series.TestsInRuns``).

        With ``nodeids``, those tests; without, every test that failed or was rerun in one of
        the runs (a test that always passed at once has nothing to say about flakiness).
        """
        if not run_ids:
            return TestsInRuns()
        action = "reading test outcomes across runs"
        in_runs = f"run_id IN ({', '.join('?' * len(run_ids))})"
        with self._snapshot(action):
            if nodeids is None:
                wanted = {
                    nodeid
                    for (nodeid,) in self._query(
                        f"SELECT DISTINCT nodeid FROM attempts WHERE {in_runs}"
                        " AND (attempt > 1 OR outcome IN ('failed', 'error', 'crashed'))",
                        tuple(run_ids),
                        action,
                    )
                }
            else:
                wanted = {utf8_safe(nodeid) for nodeid in nodeids}
            if not wanted:
                return TestsInRuns()
            found: dict[str, dict[str, list[tuple[int, str, float]]]] = {}
            names = sorted(wanted)
            for start in range(0, len(names), 500):  # bounded statement size
                chunk = names[start : start + 500]
                # A few tests in a few runs: one probe per pair. Many: each test's rows through
                # the node id index, the runs checked as they come (``+`` keeps SQLite from
                # probing every pair, 2.5 times slower at 370 tests × 1,000 runs).
                runs_first = len(chunk) * len(run_ids) <= 20_000
                rows = self._query(
                    "SELECT run_id, nodeid, attempt, outcome, duration FROM attempts"
                    f" WHERE {in_runs if runs_first else self._NO_INDEX + in_runs}"
                    f" AND nodeid IN ({', '.join('?' * len(chunk))})",
                    (*run_ids, *chunk),
                    action,
                )
                for run_id, nodeid, attempt, outcome, duration in rows:
                    found.setdefault(nodeid, {}).setdefault(run_id, []).append((attempt, outcome, duration))
            # The node ids are read only from rows without an index (stored before it existed).
            packed = self._query(
                "SELECT run_id, tests, CASE WHEN nodeid_index IS NULL THEN nodeids_zlib END, nodeid_index"
                f" FROM run_tests WHERE {in_runs}",
                tuple(run_ids),
                action,
            )
        attempts: dict[str, list[TestInRun]] = {}
        for nodeid, runs in found.items():
            tests = attempts[nodeid] = []
            for run_id, rows_of_run in runs.items():
                rows_of_run.sort()
                rerun_seconds = sum(duration for _, _, duration in rows_of_run[:-1])
                tests.append(TestInRun(run_id, tuple(outcome for _, outcome, _ in rows_of_run), rerun_seconds))
        keys = {nodeid: nodeid_hash(nodeid) for nodeid in wanted}
        by_key = {key: nodeid for nodeid, key in keys.items()}
        not_packed: dict[str, set[str]] = {}
        seen_packed: set[str] = set()
        for run_id, count, nodeids_zlib, index in packed:
            try:
                present = packed_present(nodeids_zlib, count, keys, index, by_key)
            except (ValueError, zlib.error, UnicodeDecodeError) as exc:
                raise self._unreadable(run_id, exc) from exc
            seen_packed |= present
            for nodeid in wanted - present:  # few: the tests that failed or did not run there
                not_packed.setdefault(nodeid, set()).add(run_id)
        return TestsInRuns(
            attempts=attempts,
            packed_runs=tuple(run_id for run_id, *_ in packed),
            not_packed=not_packed,
            names=attempts.keys() | seen_packed,
        )

    # -- opening ------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection | None:
        """The connection for a read, or None when there is nothing to read yet.

        A missing or never-initialised file reads as empty and is left exactly as it is.
        """
        if self._conn is None:
            self._open(create=False)
        return self._conn

    def _writer(self) -> sqlite3.Connection:
        if self._conn is None:
            self._open(create=True)
        assert self._conn is not None
        if not self._checked:
            # Never write into a damaged file: writing can spread the damage. The scan reads
            # the whole file, so it runs once per INTEGRITY_CHECK_INTERVAL; reads skip it and
            # report corruption when they meet it.
            due = self._integrity_check_due(self._conn)
            self._checked = True
            if due:
                self._quick_check(self._conn)
                self._note_integrity_check()
        return self._conn

    def _integrity_check_due(self, conn: sqlite3.Connection) -> bool:
        try:
            row = conn.execute("SELECT value FROM store_meta WHERE key = ?", (_LAST_CHECK_KEY,)).fetchone()
        except sqlite3.Error as exc:
            raise self._translate(exc, "reading store metadata") from exc
        if row is None:
            return True
        try:
            return self.clock() - parse_timestamp(row[0]) >= INTEGRITY_CHECK_INTERVAL
        except ValueError:
            return True

    def _note_integrity_check(self) -> None:
        moment = format_timestamp(self.clock())

        def write(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)", (_LAST_CHECK_KEY, moment)
            )

        self._write(write, "noting the integrity check")

    def _open(self, *, create: bool) -> None:
        if self.path.is_dir():
            raise StoreError(f"history store {self.display} is a directory; {_WHAT_TO_DO}")
        if self.path.exists():
            # Refuse garbage, foreign and newer files from the header alone, before SQLite
            # opens them: opening can roll back a hot journal or checkpoint a WAL, which
            # would modify a file that is not ours.
            self._check_header()
        elif not create:
            return
        else:
            self._make_parent()

        conn = self._connect()
        try:
            version = self._inspect(conn)
            if version == 0 and not create:
                conn.close()  # an empty file: nothing to read, and reads never initialise
                return
            if 0 < version < SCHEMA_VERSION:
                self._quick_check(conn)  # about to write (migrate) into an existing store
            if version < SCHEMA_VERSION:
                self._retrying(conn, self._migrate, "creating or upgrading the store")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        # A store we just created or checked needs no integrity check before writing.
        self._checked = version < SCHEMA_VERSION

    def _make_parent(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._os_error(exc, f"creating the directory {self.path.parent}") from exc

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise self._translate(exc, "opening") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            # In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last run,
            # which is an acceptable price for not syncing on every commit.
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc, "opening") from exc
        return conn

    def _check_header(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(100)
        except OSError as exc:
            raise self._os_error(exc, "reading") from exc
        if not header:
            return  # a zero-byte file is an empty SQLite database
        if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
            raise StoreError(
                f"history store {self.display} is not an SQLite database (file is not a database);"
                f" {_WHAT_TO_DO}"
            )
        user_version = int.from_bytes(header[60:64], "big", signed=True)
        application_id = int.from_bytes(header[68:72], "big", signed=True)
        self._judge(application_id, user_version, has_tables=None)

    def _inspect(self, conn: sqlite3.Connection, known: int = SCHEMA_VERSION) -> int:
        """Return the schema version of an acceptable database (0 = empty), else refuse it.

        Reads only. Runs again inside the migration transaction, where it is authoritative.
        """
        # One read transaction, so the three answers come from the same snapshot: read one
        # by one, a store created meanwhile by another process looks half-made (and foreign).
        own_transaction = not conn.in_transaction
        try:
            if own_transaction:
                conn.execute("BEGIN")
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            user_version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master"
                    " WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }
            if own_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if own_transaction and conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise self._translate(exc, "opening") from exc
        self._judge(application_id, user_version, has_tables=bool(tables), known=known)
        missing = _REQUIRED_TABLES.get(user_version, frozenset()) - tables
        if application_id == APPLICATION_ID and missing:
            raise StoreError(
                f"history store {self.display} is damaged: schema version {user_version} but table"
                f" {', '.join(sorted(missing))} is missing; {_WHAT_TO_DO}"
            )
        return user_version

    def _judge(
        self,
        application_id: int,
        user_version: int,
        *,
        has_tables: bool | None,
        known: int = SCHEMA_VERSION,
    ) -> None:
        """Refuse a database that is not ours or is newer than this code."""
        if application_id not in (0, APPLICATION_ID):
            raise StoreError(
                f"history store {self.display} belongs to another application"
                f" (application_id {application_id:#x}, expected {APPLICATION_ID:#x});"
                f" {_WHAT_TO_DO}"
            )
        if application_id == 0 and (user_version != 0 or has_tables):
            found = "tables" if has_tables else f"user_version {user_version}"
            raise StoreError(
                f"history store {self.display} is an SQLite database of another application"
                f" (it has {found} but no pytest-enterprise application_id); {_WHAT_TO_DO}"
            )
        if application_id == APPLICATION_ID and user_version > known:
            raise StoreError(
                f"history store {self.display} has schema version {user_version}, newer than"
                f" this pytest-enterprise supports ({known}); upgrade pytest-enterprise"
                f" or set telemetry.history_path to another file"
            )
        if application_id == APPLICATION_ID and user_version <= 0:
            raise StoreError(
                f"history store {self.display} is damaged (schema version {user_version});"
                f" {_WHAT_TO_DO}"
            )

    def _quick_check(self, conn: sqlite3.Connection) -> None:
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(1)")]
        except sqlite3.Error as exc:
            raise self._translate(exc, "checking") from exc
        if problems != ["ok"]:
            # The report is multi-line ("*** in database main ***", then one line per page);
            # the user gets one line, the first finding.
            lines = [ln for p in problems for ln in str(p).splitlines() if not ln.startswith("***")]
            raise self._corrupt(f"integrity check: {lines[0] if lines else 'failed'}")

    def _migrate(
        self, conn: sqlite3.Connection, migrations: tuple[tuple[Any, ...], ...] = MIGRATIONS
    ) -> None:
        """Bring the schema up to date. Idempotent: runs inside the caller's transaction,
        re-reads the version there, and applies only the missing steps."""
        version = self._inspect(conn, known=len(migrations))
        for step in migrations[version:]:
            for statement in step:
                if callable(statement):  # what SQL cannot do, such as hashing rows
                    statement(conn)
                else:
                    conn.execute(statement)
        if version < len(migrations):
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {len(migrations)}")

    # -- transactions and queries -------------------------------------------------------------

    def _write(self, body: Callable[[sqlite3.Connection], None], action: str) -> None:
        self._retrying(self._writer(), body, action)

    def _retrying(
        self,
        conn: sqlite3.Connection,
        body: Callable[[sqlite3.Connection], None],
        action: str,
    ) -> None:
        """Run ``body`` in one BEGIN IMMEDIATE transaction, retrying while the file is locked.

        BEGIN IMMEDIATE takes the write lock up front, so the busy timeout applies to it and
        a transaction never fails half-way because another writer got in first.
        """
        started = time.monotonic()
        shortened = False
        try:
            for attempt in range(1, _WRITE_ATTEMPTS + 1):
                try:
                    # WAL is a property of the file; this is a no-op once set. It cannot change
                    # inside a transaction, hence here.
                    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        body(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            with suppress(sqlite3.Error):  # keep the original error
                                conn.execute("ROLLBACK")
                        raise
                    return
                except sqlite3.OperationalError as exc:
                    if not _is_locked(exc):
                        raise self._translate(exc, action) from exc
                    # Retries share one busy timeout: the whole write waits at most that long,
                    # so the message below tells the truth about the wait.
                    pause = _RETRY_PAUSE_S * attempt
                    remaining = self.busy_timeout - (time.monotonic() - started) - pause
                    if attempt == _WRITE_ATTEMPTS or remaining <= 0:
                        raise self._locked(action, time.monotonic() - started) from exc
                    time.sleep(pause)
                    self._set_busy_timeout(conn, remaining)
                    shortened = True
                except sqlite3.Error as exc:
                    raise self._translate(exc, action) from exc
        finally:
            if shortened:  # the next write gets the full timeout again
                with suppress(sqlite3.Error):
                    self._set_busy_timeout(conn, self.busy_timeout)

    def _set_busy_timeout(self, conn: sqlite3.Connection, seconds: float) -> None:
        conn.execute(f"PRAGMA busy_timeout = {max(1, int(seconds * 1000))}")

    def _query(self, sql: str, params: tuple[Any, ...], action: str) -> list[tuple[Any, ...]]:
        conn = self._reader()
        if conn is None:
            return []
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._translate(exc, action) from exc

    @contextmanager
    def _snapshot(self, action: str) -> Iterator[None]:
        """Reads inside the block see one state of the store (a read transaction)."""
        conn = self._reader()
        if conn is None or conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise self._translate(exc, action) from exc
        try:
            yield
        finally:
            with suppress(sqlite3.Error):
                conn.execute("COMMIT")

    def _report_blob(self, run_id: str) -> bytes:
        rows = self._query(
            "SELECT report_zlib FROM runs WHERE id = ?", (run_id,), f"reading run {run_id}"
        )
        if not rows:
            raise StoreError(
                f"history store {self.display} has no run with id {run_id!r};"
                " list the stored runs to find its id"
            )
        return rows[0][0]

    def _unreadable(self, run_id: str, exc: Exception) -> StoreError:
        return StoreError(
            f"history store {self.display}: run {run_id!r} cannot be read back ({exc});"
            " purge it or move the store aside"
        )

    def _report(self, run_id: str, report_zlib: bytes) -> dict[str, Any]:
        try:
            return json.loads(zlib.decompress(report_zlib))
        except (ValueError, zlib.error) as exc:
            raise self._unreadable(run_id, exc) from exc

    def _record(self, run_id: str, report_zlib: bytes) -> RunRecord:
        report = self._report(run_id, report_zlib)
        try:
            return record_from_report(report)
        except (ValueError, TypeError, KeyError) as exc:
            raise self._unreadable(run_id, exc) from exc

    def _record_timestamp(self, text: str, run_id: str, field: str) -> str:
        try:
            return format_timestamp(parse_timestamp(text))
        except ValueError:
            raise StoreError(
                f"cannot save run {run_id!r} to {self.display}: its {field} {text!r} is not an"
                " RFC 3339 timestamp"
            ) from None

    # -- error translation --------------------------------------------------------------------

    def _corrupt(self, detail: str) -> StoreError:
        return StoreError(
            f"history store {self.display} is corrupt ({detail}); {_WHAT_TO_DO}"
            f" (`sqlite3 {self.display} .recover` may salvage its data)"
        )

    def _translate(self, exc: sqlite3.Error, action: str) -> Exception:
        """Map an sqlite3 error to the user-facing error that says what to do."""
        message = str(exc)
        name = getattr(exc, "sqlite_errorname", "")  # Python 3.11+
        if "file is not a database" in message or name == "SQLITE_NOTADB":
            return StoreError(
                f"history store {self.display} is not an SQLite database (file is not a database);"
                f" {_WHAT_TO_DO}"
            )
        if "malformed" in message or name.startswith("SQLITE_CORRUPT"):
            return self._corrupt(message)
        if _is_locked(exc):
            return self._locked(action, None)
        readonly = "readonly" in message or name.startswith("SQLITE_READONLY")
        cannot_open = "unable to open" in message or name.startswith("SQLITE_CANTOPEN")
        if readonly or (cannot_open and self._unwritable()):
            return PermissionDeniedError(
                f"history store {self.display} cannot be written while {action} (permission"
                " denied); make the file and its directory writable or set"
                " telemetry.history_path"
            )
        if isinstance(exc, sqlite3.IntegrityError):
            return StoreError(f"history store {self.display}: {message} while {action}")
        return StoreError(f"history store {self.display}: {message} while {action}; {_WHAT_TO_DO}")

    def _locked(self, action: str, waited: float | None) -> StoreError:
        """The store stayed locked: say how long we actually waited when we measured it."""
        if waited is None:
            how_long = f"waited up to the busy timeout of {self.busy_timeout:g} s"
        else:
            how_long = f"gave up after {waited:.1f} s (busy timeout {self.busy_timeout:g} s)"
        return StoreError(
            f"history store {self.display} stayed locked by another process while {action}:"
            f" {how_long}; retry, or raise the busy timeout"
        )

    def _os_error(self, exc: OSError, action: str) -> Exception:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return PermissionDeniedError(
                f"history store {self.display}: permission denied while {action};"
                " fix the permissions of the file and its directory or set"
                " telemetry.history_path"
            )
        from ..files import os_problem

        if isinstance(exc, FileExistsError):  # mkdir -p met a file where a folder should be
            exc = NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        return StoreError(
            f"history store {self.display}: {os_problem(self.path, exc)} while {action}; {_WHAT_TO_DO}"
        )

    def _unwritable(self) -> bool:
        directory = self.path.parent
        if self.path.exists() and not os.access(self.path, os.W_OK):
            return True
        # WAL needs to create -wal and -shm files next to the database.
        return directory.exists() and not os.access(directory, os.W_OK)


# ---------------------------------------------------------------------------------------------
# Helpers.


def _chained(conn: sqlite3.Connection, table: str, row: Any) -> Any:
    """``row`` (an ``AuditRow`` or ``ControlStatusChange``) linked after the newest row of
    ``table``: one code path for both chains. Runs inside the write transaction that inserts
    it, so no other writer can slip in between. ``table`` is ours, never input."""
    from ..audit import chain_hash

    # SQLite's write transactions are serial already (BEGIN IMMEDIATE); PostgreSQL's are not,
    # so its connection locks the chain until the transaction ends.
    lock = getattr(conn, "lock_chain", None)
    if lock is not None:
        lock(table)
    newest = conn.execute(f"SELECT hash FROM {table} ORDER BY id DESC LIMIT 1").fetchone()
    previous = newest[0] if newest else None
    return replace(row, prev_hash=previous, hash=chain_hash(previous, row))


def _append_audit_event(conn: sqlite3.Connection, event: AuditRow) -> AuditRow:
    """Insert ``event`` after the newest audit row, inside the caller's write transaction."""
    chained = _chained(conn, "audit_events", event)
    conn.execute(
        f"INSERT INTO audit_events ({_AUDIT_COLUMNS}) VALUES ({', '.join('?' * len(_AUDIT_NAMES))})",
        tuple(getattr(chained, name) for name in _AUDIT_NAMES),
    )
    return chained


def _chain_existing_statuses(conn: sqlite3.Connection) -> None:
    """Migration v4: chain the statuses already stored, oldest first, and note that it was
    done now (an auditor must know these links were made at upgrade, not at creation)."""
    names = [name for name in _STATUS_NAMES if name not in ("prev_hash", "hash")]
    rows = conn.execute(f"SELECT id, {', '.join(names)} FROM control_statuses ORDER BY id").fetchall()
    if not rows:
        return
    from ..audit import chain_hash

    previous = None
    for row_id, *values in rows:
        digest = chain_hash(previous, ControlStatusChange(*values))
        conn.execute(
            "UPDATE control_statuses SET prev_hash = ?, hash = ? WHERE id = ?",
            (previous, digest, row_id),
        )
        previous = digest
    note = {"chained_at": format_timestamp(utc_now()), "rows": len(rows)}
    conn.execute(
        "INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)",
        (STATUS_CHAIN_MIGRATION_KEY, _dumps(note)),
    )


def _is_locked(exc: sqlite3.Error) -> bool:
    message = str(exc)
    return "database is locked" in message or "database table is locked" in message


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _quality_value(quality: Mapping[str, Any] | None, key: str) -> float | int | None:
    """A summary number from the quality mapping: a plain number or ``{"value": number}``."""
    if quality is None:
        return None
    value = quality.get(key)
    if isinstance(value, Mapping):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # "no data" and anything non-numeric stay NULL
    return value


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _summary(row: tuple[Any, ...]) -> RunSummary:
    data = dict(zip(_SUMMARY_NAMES, row))
    # SQLite has no booleans (0/1) and no mappings (JSON text).
    data["interrupted"] = bool(data["interrupted"])
    data["git_dirty"] = None if data["git_dirty"] is None else bool(data["git_dirty"])
    quality_json = data.pop("quality_json")
    data["quality"] = None if quality_json is None else json.loads(quality_json)
    return RunSummary(**data)
