"""Copying history from one store to another, either engine to either (``enterprise history
copy``, docs/history.md "Moving history between stores").

One code path for every pair of engines: the source is read and the destination written
through the store's own methods and its ``_query`` / ``_write`` helpers, with the queries both
engines run. What is copied, and how it stays idempotent:

* runs: every run id the destination does not hold, oldest first (ties in the source's
  insertion order, so the newest-first listings agree), from its stored report, its quality
  mapping and its ``created_at``, through ``run_writer`` (``save_run``'s body), which rebuilds the per-test rows as it
  does for a new run; a run without per-test rows (``detailed=False``) stays without them.
  ``BATCH_RUNS`` runs go in one destination transaction, so a killed copy leaves whole runs
  only and running it again goes on where it stopped. A run id already there is skipped, never
  replaced (unless ``replace``), also when another writer saved it meanwhile;
* telemetry events, experiment events and SPC baseline changes have no key: a row is copied
  unless the destination holds an equal row (each row of the destination answers for one of
  the source), so a second copy adds nothing and a partial one is completed;
* the hash chains (audit log, manual statuses) are copied row for row, hashes included, after
  the destination's rows, when those are the source's first rows (none at all included), so
  they verify there as they did in the source. A destination chain of its own cannot take the
  source's rows without relinking them: ``ChainsDiverged`` is raised before anything is
  copied, unless ``skip_diverged`` leaves such chains as they are.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import StoreError
from .location import StoreLocation
from .series import BASELINE_COLUMNS
from .sqlite import STATUS_CHAIN_MIGRATION_KEY, AuditRow, ControlStatusChange, HistoryStore

__all__ = ["BATCH_RUNS", "ChainsDiverged", "CopyCounts", "copy_history", "progress_text", "same_store"]

BATCH_RUNS = 100  # runs per destination transaction
BATCH_ROWS = 5_000  # event, baseline or chain rows per destination transaction

# The tables copied row for row without a key, and their columns (a CopyCounts field each).
_PLAIN_TABLES = (
    ("telemetry_events", "process, recorded_at, kind, passed, defect_type, severity, category, message"),
    ("experiment_events", "flag, variant, user_id, metric, value, recorded_at"),
    ("spc_baselines", BASELINE_COLUMNS),
)
# The hash chains: table (a CopyCounts field), row type, the store's method that reads it whole,
# and what a row is called.
_CHAINS = (
    ("control_statuses", ControlStatusChange, "control_status_log", "status"),
    ("audit_events", AuditRow, "audit_events", "event"),
)


class ChainsDiverged(StoreError):
    """A hash chain of the destination is not a beginning of the source's (nothing copied)."""


@dataclass
class CopyCounts:
    """What a copy copied (or, dry, would copy)."""

    runs: int = 0
    skipped: int = 0  # runs already in the destination, left as they are
    replaced: int = 0  # with ``replace``: runs already there, replaced by the source's
    telemetry_events: int = 0
    experiment_events: int = 0
    spc_baselines: int = 0
    control_statuses: int = 0
    audit_events: int = 0
    left: list[str] = field(default_factory=list)  # chains not copied, each said in a phrase

    def copied_anything(self) -> bool:
        return any((self.runs, self.telemetry_events, self.experiment_events, self.spc_baselines,
                    self.control_statuses, self.audit_events))  # fmt: skip

    def audit_record(self, source: str) -> dict[str, Any]:
        """The ``after`` of the copy's audit event."""
        counts = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "left"}
        return {"from": source, **counts, **({"not_copied": self.left} if self.left else {})}

    def summary(self) -> str:
        """``N runs (M skipped: already there), E events, ...`` for the final line."""
        runs = _count(self.runs, "run")
        if self.replaced:
            runs += f" ({self.replaced:,} replaced)"
        elif self.skipped:
            runs += f" ({self.skipped:,} skipped: already there)"
        return ", ".join([
            runs,
            _count(self.telemetry_events, "event"),
            _count(self.experiment_events, "experiment event"),
            _count(self.spc_baselines, "baseline change"),
            _count(self.control_statuses, "status", "statuses"),
            _count(self.audit_events, "audit event"),
        ])  # fmt: skip


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def same_store(one: StoreLocation, other: StoreLocation) -> bool:
    """Whether two locations name one store: the same file (through any link), or the same
    database on the same host and port. (Another spelling of a server's address is not seen
    through; copying a store into itself copies nothing anyway, as everything is there.)"""
    if one.path is not None and other.path is not None:
        if one.path.exists() and other.path.exists():
            return os.path.samefile(one.path, other.path)
        return one.path.resolve() == other.path.resolve()
    if one.url is not None and other.url is not None:
        return _database(one.url) == _database(other.url)
    return False


def _database(url: str) -> tuple[str, str, str]:
    """Host, port and database of a libpq URL (the query's parameters win, as in libpq)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL libpq takes either: connecting says what is wrong
        return url, "", ""
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or (parts.hostname or "")
    port = query.get("port") or str(port or 5432)
    database = query.get("dbname") or unquote(parts.path.lstrip("/")) or unquote(parts.username or "")
    return host.lower(), port, database


def progress_text(done: int, total: int) -> str:
    """The progress bar's line: ``copied 1,234/10,000 runs``."""
    return f"copied {done:,}/{total:,} runs"


def copy_history(
    source: HistoryStore,
    destination: HistoryStore,
    *,
    dry_run: bool = False,
    replace: bool = False,
    skip_diverged: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> CopyCounts:
    """Copy what ``destination`` lacks of ``source`` (see the module docstring); with
    ``dry_run`` only count it. ``progress(done, total)`` is told of the runs after each batch."""
    counts = CopyCounts()
    # First, so that diverged chains stop the copy before anything is written.
    chains = {chain[0]: _chain_plan(source, destination, chain, counts, skip_diverged) for chain in _CHAINS}
    run_ids = [run_id for (run_id,) in source._query(
        f"SELECT id FROM runs ORDER BY started_at, {source._INSERTION_ORDER}", (), "listing the runs to copy"
    )]  # fmt: skip
    there = {run_id for (run_id,) in destination._query("SELECT id FROM runs", (), "listing the runs already there")}
    wanted = [run_id for run_id in run_ids if replace or run_id not in there]
    counts.replaced = sum(1 for run_id in wanted if run_id in there)
    counts.skipped = len(run_ids) - len(wanted)
    for start in range(0, len(wanted), BATCH_RUNS):
        batch = wanted[start : start + BATCH_RUNS]
        if dry_run:
            counts.runs += len(batch)
        else:
            saved, there_meanwhile = _copy_runs(source, destination, batch, replace)
            counts.runs += saved
            counts.skipped += there_meanwhile
        if progress is not None:
            progress(start + len(batch), len(wanted))
    for table, columns in _PLAIN_TABLES:
        missing = _missing_rows(source, destination, table, columns)
        setattr(counts, table, len(missing))
        if not dry_run:
            for rows in _batches(missing, BATCH_ROWS):
                _append(destination, table, columns, rows)
    for table, kind, _, _ in _CHAINS:
        head, rows = chains[table] or (None, [])
        setattr(counts, table, len(rows))
        if rows and not dry_run:
            _append_chain(destination, table, kind, head, rows)
    if chains["control_statuses"] is not None and not dry_run:
        _copy_migration_note(source, destination)
    return counts


# -- runs ---------------------------------------------------------------------------------------


def _copy_runs(source: HistoryStore, destination: HistoryStore, run_ids: Sequence[str], replace: bool) -> tuple[int, int]:
    """Save the runs ``run_ids`` of ``source`` in ``destination``, all in one transaction;
    returns how many, and how many another writer saved there meanwhile (left as they are)."""
    from ..merge.runs import stored_copy
    from ..report.json_report import record_from_report

    rows = source._query(
        "SELECT id, quality_json, created_at, report_zlib, CASE WHEN EXISTS (SELECT 1 FROM run_tests WHERE run_id = runs.id)"
        " OR EXISTS (SELECT 1 FROM attempts WHERE run_id = runs.id) THEN 1 ELSE 0 END"
        f" FROM runs WHERE id IN ({', '.join('?' * len(run_ids))})",
        tuple(run_ids),
        "reading the runs to copy",
    )
    by_id = {row[0]: row for row in rows}
    bodies: list[tuple[str, Callable[[Any], None]]] = []
    for run_id in run_ids:
        if run_id not in by_id:
            continue  # purged from the source meanwhile
        _, quality_json, created_at, report_zlib, detailed = by_id[run_id]
        report_zlib = bytes(report_zlib)
        try:
            report = json.loads(zlib.decompress(report_zlib))
            record = record_from_report(report)
        except (ValueError, TypeError, KeyError, zlib.error) as exc:
            raise StoreError(
                f"history store {source.display}: run {run_id!r} cannot be read back ({exc}), so it cannot be"
                " copied; purge it or move the store aside"
            ) from None
        body = destination.run_writer(
            stored_copy(record, (report.get("merge") or {}).get("mode")),
            None if quality_json is None else json.loads(quality_json),
            detailed=bool(detailed),
            report_zlib=report_zlib,
            created_at=created_at,  # when the run was first stored, not when it was copied
        )
        bodies.append((run_id, body))
    saved = 0

    def write(conn: Any) -> None:
        nonlocal saved
        saved = 0
        for run_id, body in bodies:
            if not replace and conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                continue
            body(conn)
            saved += 1

    if bodies:
        destination._write(write, f"copying {len(bodies)} runs from {source.display}")
    return saved, len(bodies) - saved


# -- rows without a key ---------------------------------------------------------------------------


def _missing_rows(source: HistoryStore, destination: HistoryStore, table: str, columns: str) -> list[tuple[Any, ...]]:
    """The rows of ``table`` in ``source`` without an equal row in ``destination``, oldest
    first (an equal row there answers for one row here)."""
    sql = f"SELECT {columns} FROM {table} ORDER BY id"  # our names, never input
    there = Counter(_key(row) for row in destination._query(sql, (), f"reading {table}"))
    missing = []
    for row in source._query(sql, (), f"reading {table}"):
        key = _key(row)
        if there[key]:
            there[key] -= 1
        else:
            missing.append(row)
    return missing


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """``row`` as both engines store it: PostgreSQL text holds no NUL (U+FFFD instead), SQLite
    keeps no -0.0; NaN equals itself here, so that a row with one is found again."""
    return tuple(
        value.replace("\x00", "\ufffd") if isinstance(value, str)
        else ("NaN" if math.isnan(value) else value + 0.0) if isinstance(value, float)
        else value
        for value in row
    )  # fmt: skip


def _append(destination: HistoryStore, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * (columns.count(',') + 1))})"
    destination._write(lambda conn: conn.executemany(insert, rows), f"copying {table}")


def _batches(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# -- hash chains ----------------------------------------------------------------------------------


def _chain_plan(
    source: HistoryStore, destination: HistoryStore, chain: tuple[str, type, str, str], counts: CopyCounts, skip: bool
) -> tuple[str | None, list[Any]] | None:
    """The hash the destination's chain ends with and the source's rows after it, when the
    destination holds a beginning of the source's chain (all of it: no rows). Otherwise
    ``ChainsDiverged``, or with ``skip`` None, said in ``counts.left``."""
    table, _, reader, noun = chain
    theirs = getattr(source, reader)()
    ours = getattr(destination, reader)()
    for index, (mine, other) in enumerate(zip(ours, theirs), start=1):
        if mine.hash != other.hash:
            what = f"{table} (the destination's {noun} {index} of {mine.recorded_at} differs from the source's of {other.recorded_at})"
            if not skip:
                raise ChainsDiverged(
                    f"history copy: cannot copy {source.display} into {destination.display}: the hash chain of {what};"
                    " one chain cannot take another's rows without relinking them. Copy into an empty store, or"
                    " pass --skip-diverged-chains to copy everything else"
                )
            counts.left.append(what)
            return None
    return (ours[-1].hash if ours else None), theirs[len(ours) :]


def _append_chain(destination: HistoryStore, table: str, kind: type, head: str | None, rows: list[Any]) -> None:
    """Append ``rows`` to the chain in ``table`` as they are, hashes included (a broken link
    of the source stays broken), in batches; each checks under the chain's lock that the
    chain still ends where it ended, ``head`` and then the batch before."""
    names = [f.name for f in fields(kind)]
    insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    for batch in _batches(rows, BATCH_ROWS):

        def write(conn: Any, batch: list[Any] = batch, head: str | None = head) -> None:
            lock = getattr(conn, "lock_chain", None)  # PostgreSQL: writers append one at a time
            if lock is not None:
                lock(table)
            newest = conn.execute(f"SELECT hash FROM {table} ORDER BY id DESC LIMIT 1").fetchone()
            if (newest[0] if newest else None) != head:
                raise StoreError(
                    f"history store {destination.display}: {table} changed while copying into it; run the copy again"
                )
            conn.executemany(insert, [tuple(getattr(row, name) for name in names) for row in batch])

        destination._write(write, f"copying {table}")
        head = batch[-1].hash


def _copy_migration_note(source: HistoryStore, destination: HistoryStore) -> None:
    """The note that the source's first statuses were chained at an upgrade (schema v4) goes
    with them, so the destination's status log says it too."""
    note = source.status_chain_migration()
    if note is None:
        return
    value = json.dumps(note, separators=(",", ":"), ensure_ascii=False)

    def write(conn: Any) -> None:
        if conn.execute("SELECT 1 FROM store_meta WHERE key = ?", (STATUS_CHAIN_MIGRATION_KEY,)).fetchone() is None:
            conn.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)", (STATUS_CHAIN_MIGRATION_KEY, value))

    if destination.status_chain_migration() is None:
        destination._write(write, "copying the status chain's migration note")
