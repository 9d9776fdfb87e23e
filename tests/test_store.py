"""The SQLite history store: round-trips, schema safety, concurrency and retention."""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import pytest

from pytest_enterprise.errors import PermissionDeniedError, StoreError, UsageError
from pytest_enterprise.model import (
    Attempt,
    GitInfo,
    OpportunityDefinition,
    Phase,
    RunInfo,
    RunRecord,
    Subtest,
    TestResult,
)
from pytest_enterprise.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    HistoryStore,
    TelemetryEvent,
    format_timestamp,
    parse_timestamp,
)
from pytest_enterprise.store import open_store
from pytest_enterprise.store.sqlite import MIGRATIONS, ControlStatusChange

from postgres import raw_sql

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def fixed_clock() -> datetime:
    return NOW


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_record(run_id="run-1", started_at="2025-03-01T11:00:00Z", **run) -> RunRecord:
    """A run with every outcome of the outcome model, built by hand."""

    def attempt(number, outcome, *phases, **extra):
        return Attempt(number=number, outcome=outcome, phases=list(phases), **extra)

    ok = [Phase("setup", "passed", 0.001), Phase("teardown", "passed", 0.002)]
    tests = [
        TestResult("t.py::test_pass", [attempt(1, "passed", ok[0], Phase("call", "passed", 0.5))]),
        TestResult(
            "t.py::test_fail[1-a]",
            [
                attempt(
                    1, "failed", Phase("call", "failed", 0.25),
                    category="failure", exception_type="AssertionError", message="assert 1 == 2",
                )
            ],
            severity="critical",
            opportunities=3,
            markers={"compliance": ["soc2:CC6.1"]},
        ),
        TestResult(
            "t.py::test_setup_error",
            [attempt(1, "error", Phase("setup", "failed", 0.1), category="error",
                     exception_type="RuntimeError")],
            severity="high",
        ),
        TestResult(
            "t.py::test_crash",
            [attempt(1, "crashed", Phase("crash", "failed", 0.0), category="crash")],
            worker="gw1",
        ),
        TestResult("t.py::test_xpass", [attempt(1, "xpassed", Phase("call", "passed", 0.1))]),
        TestResult("t.py::test_skip", [attempt(1, "skipped", Phase("setup", "skipped", 0.0))],
                   severity="low"),
        TestResult("t.py::test_xfail", [attempt(1, "xfailed", Phase("call", "skipped", 0.1))]),
        TestResult(  # flaky: failed, passed on rerun
            "t.py::test_flaky",
            [
                attempt(1, "failed", Phase("call", "failed", 0.2), category="failure",
                        exception_type="TimeoutError"),
                attempt(2, "passed", Phase("call", "passed", 0.2)),
            ],
            stage="integration",
        ),
        TestResult(
            "t.py::test_subtests",
            [attempt(1, "failed", Phase("call", "failed", 0.3), category="failure",
                     subtests=[Subtest("i=0", "passed"), Subtest("i=1", "failed")])],
        ),
    ]  # fmt: skip
    info = dict(
        id=run_id,
        started_at=started_at,
        finished_at=started_at,
        duration_s=1.75,
        exit_status=1,
        args=["-q", "tests"],
        python="3.11.7",
        platform="linux",
        git=GitInfo(commit="abc123", branch="main", dirty=True),
        workers=2,
    )
    info.update(run)
    return RunRecord(
        run=RunInfo(**info),
        tests=tests,
        opportunity_definition=OpportunityDefinition(per_unit=1, subtests_as_opportunities=True),
        stages=["unit", "integration"],
    )


def attempts_in(record: RunRecord) -> int:
    return sum(len(t.attempts) for t in record.tests)


def raw_count(where, sql: str) -> int:
    return raw_sql(str(where), sql)[0][0]


@pytest.fixture
def path(tmp_path):
    return tmp_path / ".enterprise" / "history.db"


@pytest.fixture
def store(store_where):
    with open_store(store_where, clock=fixed_clock) as store:
        yield store


QUALITY = {
    "units": 7,
    "defects": 5,
    "opportunities": 10,
    "dpmo": {"value": 500000.0, "ci": [0.2, 0.8]},
    "sigma_level": 1.5,
    "fpy": 28.57,
    "final_yield": 42.86,
    "rty": "no data",
}


# --- round trip ------------------------------------------------------------------------------


def test_run_round_trips_exactly(store, store_where):
    record = make_record()
    store.save_run(record, QUALITY)

    assert store.load_run("run-1") == record
    assert store.latest_run() == record
    assert store.latest_run("pytest") == record
    assert store.latest_run("other") is None
    assert raw_count(store_where, "SELECT count(*) FROM attempts") == attempts_in(record) == 10

    (summary,) = store.recent_runs()
    assert (summary.id, summary.process, summary.workers) == ("run-1", "pytest", 2)
    assert summary.started_at == "2025-03-01T11:00:00.000000Z"
    assert (summary.git_commit, summary.git_branch, summary.git_dirty) == ("abc123", "main", True)
    assert summary.interrupted is False and summary.exit_status == 1
    assert (summary.units, summary.defects, summary.opportunities) == (7, 5, 10)
    assert summary.dpmo == 500000.0  # taken from {"value": ...}
    assert summary.rty is None  # "no data" stays NULL, never 0
    assert summary.quality == QUALITY
    assert summary.created_at == "2025-03-01T12:00:00.000000Z"  # the injected clock


def test_attempt_history_keeps_reruns(store):
    store.save_run(make_record("old", "2025-02-01T00:00:00Z"), None)
    store.save_run(make_record("new", "2025-02-02T00:00:00Z"), None)

    history = store.attempt_history("t.py::test_flaky")
    assert [(a.run_id, a.attempt, a.outcome) for a in history] == [
        ("new", 1, "failed"), ("new", 2, "passed"), ("old", 1, "failed"), ("old", 2, "passed"),
    ]  # fmt: skip
    assert history[0].exception_type == "TimeoutError"
    assert store.attempt_history("t.py::test_crash", limit=1)[0].worker == "gw1"
    assert store.attempt_history("t.py::test_fail[1-a]")[0].severity == "critical"


def test_resaving_a_run_replaces_it(store, store_where):
    store.save_run(make_record(), QUALITY)
    smaller = make_record()
    smaller.tests = smaller.tests[:2]
    store.save_run(smaller, None)

    assert len(store.recent_runs()) == 1
    assert store.load_run("run-1") == smaller
    assert store.recent_runs()[0].quality is None
    assert raw_count(store_where, "SELECT count(*) FROM attempts") == 2


def test_not_detailed_skips_attempt_rows_but_keeps_the_record(store, store_where):
    record = make_record()
    store.save_run(record, None, detailed=False)
    assert raw_count(store_where, "SELECT count(*) FROM attempts") == 0
    assert store.load_run("run-1") == record


def test_recent_runs_newest_first_per_process(store):
    for i in range(5):
        process = "nightly" if i % 2 else "pytest"
        store.save_run(make_record(f"r{i}", f"2025-02-0{i + 1}T00:00:00Z", process=process), None)
    assert [r.id for r in store.recent_runs()] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.id for r in store.recent_runs("nightly")] == ["r3", "r1"]
    assert [r.id for r in store.recent_runs(limit=2)] == ["r4", "r3"]
    assert store.latest_run("pytest").run.id == "r4"


def test_timestamps_in_other_offsets_sort_as_instants(store):
    # 10:30+02:00 is 08:30Z, before 09:00Z, though it sorts after it as text.
    store.save_run(make_record("a", "2025-02-01T10:30:00+02:00"), None)
    store.save_run(make_record("b", "2025-02-01T09:00:00Z"), None)
    assert [r.started_at for r in store.recent_runs()] == [
        "2025-02-01T09:00:00.000000Z", "2025-02-01T08:30:00.000000Z",
    ]  # fmt: skip
    assert store.load_run("a").run.started_at == "2025-02-01T10:30:00+02:00"  # record untouched


def test_load_run_of_unknown_id_names_it(store):
    store.save_run(make_record(), None)
    with pytest.raises(StoreError, match="no run with id 'nope'"):
        store.load_run("nope")


def test_bad_started_at_is_a_store_error(store):
    with pytest.raises(StoreError, match="run 'run-1'.*'yesterday' is not an RFC 3339"):
        store.save_run(make_record(started_at="yesterday"), None)


# --- pragmas and migrations ------------------------------------------------------------------


def test_wal_busy_timeout_and_foreign_keys_are_set(path):
    with HistoryStore(path, busy_timeout=1.5) as store:
        store.save_run(make_record(), None)
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1500
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # WAL, the application id and the schema version live in the file itself.
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
    finally:
        conn.close()


def schema_of(path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        return [conn.execute("PRAGMA user_version").fetchone()[0], *rows]
    finally:
        conn.close()


def test_migrates_an_empty_file(path):
    path.parent.mkdir()
    path.touch()
    with HistoryStore(path) as store:
        assert store.recent_runs() == []  # reading does not initialise it...
        assert path.read_bytes() == b""
        store.save_run(make_record(), None)  # ...writing does
    version, *objects = schema_of(path)
    assert version == SCHEMA_VERSION
    tables = {name for kind, name, _ in objects if kind == "table"}
    assert {"runs", "attempts", "telemetry_events"} <= tables


def test_reopening_a_store_is_idempotent(path):
    with HistoryStore(path) as store:
        store.save_run(make_record("first"), None)
    before = schema_of(path)
    assert before[0] == SCHEMA_VERSION
    with HistoryStore(path) as store:
        store.save_run(make_record("second"), None)
        # Running the migration again inside a transaction changes nothing.
        store._retrying(store._conn, store._migrate, "migrating")
        assert {r.id for r in store.recent_runs()} == {"first", "second"}
    assert schema_of(path) == before


def test_a_new_migration_step_runs_once_and_atomically(path):
    with HistoryStore(path) as store:
        store.save_run(make_record(), None)
        conn = store._conn
        broken = (*MIGRATIONS, ("ALTER TABLE runs ADD COLUMN note TEXT", "SELECT no_such()"))
        with pytest.raises(StoreError):
            store._retrying(conn, lambda c: store._migrate(c, broken), "migrating")
        columns = [row[1] for row in conn.execute("PRAGMA table_info(runs)")]
        assert "note" not in columns  # the whole step rolled back
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

        newer = (*MIGRATIONS, ("ALTER TABLE runs ADD COLUMN note TEXT",))
        for _ in range(2):  # a second run must not fail with "duplicate column"
            store._retrying(conn, lambda c: store._migrate(c, newer), "migrating")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert [row[1] for row in conn.execute("PRAGMA table_info(runs)")].count("note") == 1


def test_a_v1_store_is_migrated_to_v2_keeping_its_runs(path):
    # A genuine v1 file: only the first migration step, as the previous release wrote it.
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    with conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    with HistoryStore(path) as store:
        store.save_run(make_record("old"), None)
        change = ControlStatusChange(
            "soc2", "CC6.1", "compliant", None, "MFA", None, None, None, "alice", "2026-11-26T10:00:00.000Z"
        )
        store.record_control_status(change)
        assert [r.id for r in store.recent_runs()] == ["old"]
        assert store.control_statuses()[0].status == "compliant"
    assert schema_of(path)[0] == SCHEMA_VERSION


def test_a_v2_store_is_migrated_to_v3_keeping_runs_and_statuses(path):
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    with conn:
        for step in MIGRATIONS[:2]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO control_statuses (framework, control_id, status, actor, recorded_at)"
            " VALUES ('soc2', 'CC6.1', 'compliant', 'alice', '2026-11-26T10:00:00.000000Z')"
        )
    conn.close()
    with HistoryStore(path) as store:
        store.save_run(make_record("after"), None)
        assert store.control_statuses()[0].status == "compliant"
        assert store.audit_events() == [] and store.experiment_events("f") == []
    assert schema_of(path)[0] == SCHEMA_VERSION == 7


def test_the_audit_log_is_hash_chained_and_tampering_shows(store_where):
    from pytest_enterprise.audit import make_event, verify_chain

    with open_store(store_where) as store:
        for action in ("create", "update", "disable"):
            store.record_audit_event(make_event("flag", "new_ui", action, before=None, after={"a": action}, actor="bob"))
        events = store.audit_events("flag", "new_ui")
        assert [e.action for e in events] == ["create", "update", "disable"]
        assert events[0].prev_hash is None and events[1].prev_hash == events[0].hash
        assert verify_chain(events) == []
        raw_sql(store_where, "UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
        problems = verify_chain(store.audit_events())
    assert len(problems) == 1 and "event 2" in problems[0] and "hash" in problems[0]


def test_the_audit_hash_is_sha256_of_the_previous_hash_and_the_fields_in_order():
    # Spelled out by hand, so a change to the shared hashing (now also used for the manual
    # statuses) cannot silently invalidate every existing audit log.
    from pytest_enterprise.audit import chain_hash
    from pytest_enterprise.store.sqlite import AuditRow

    event = AuditRow("2026-11-26T10:00:00.000000Z", "alice", "flag", "new_ui", "create", None, '{"a":1}', "why")
    text = '[null,"2026-11-26T10:00:00.000000Z","alice","flag","new_ui","create",null,"{\\"a\\":1}","why"]'
    assert chain_hash(None, event) == hashlib.sha256(text.encode()).hexdigest()


def status(status, at, control="CC6.1"):
    return ControlStatusChange("soc2", control, status, None, "", None, None, None, "bob", at)


def five_statuses(store) -> None:
    for number, state in enumerate(["non_compliant", "compliant", "partially_compliant", "compliant", "not_assessed"]):
        store.record_control_status(status(state, f"2026-11-26T1{number}:00:00.000000Z", f"CC6.{number + 1}"))


_ROW_COLUMNS = "framework, control_id, status, previous_status, notes, evidence, evidence_sha256, expires_at, actor, recorded_at, prev_hash, hash"

STATUS_TAMPERING = {
    # in-place edit of a middle row: its hash no longer matches
    "modify": ["UPDATE control_statuses SET status = 'compliant' WHERE id = 3"],
    # a forged row slipped in between two others (ids are free to pick below the next row)
    "insert": [
        "UPDATE control_statuses SET id = id * 10",
        f"INSERT INTO control_statuses (id, {_ROW_COLUMNS}) SELECT 25, {_ROW_COLUMNS} FROM control_statuses WHERE id = 20",
    ],
    "delete": ["DELETE FROM control_statuses WHERE id = 2"],
    "reorder": ["UPDATE control_statuses SET id = -2 WHERE id = 2", "UPDATE control_statuses SET id = 2 WHERE id = 3",
                "UPDATE control_statuses SET id = 3 WHERE id = -2"],
}  # fmt: skip


@pytest.mark.parametrize("tampering", sorted(STATUS_TAMPERING))
def test_manual_statuses_are_hash_chained_and_middle_tampering_shows(store_where, tampering):
    from pytest_enterprise.audit import verify_chain

    with open_store(store_where) as store:
        five_statuses(store)
        log = store.control_status_log()
        assert log[0].prev_hash is None and all(b.prev_hash == a.hash for a, b in zip(log, log[1:]))
        assert verify_chain(log, "change") == []
        for statement in STATUS_TAMPERING[tampering]:
            raw_sql(store_where, statement)
        problems = verify_chain(store.control_status_log(), "change")
    assert problems and all(p.startswith("change ") for p in problems)


def test_what_the_status_chain_cannot_show_truncation_and_a_full_rewrite(store_where):
    # Documented limits (docs/history.md): until checkpoints are signed, removing the newest
    # rows or recomputing every hash leaves a valid chain. This test pins that the docs are true.
    from pytest_enterprise.audit import chain_hash, verify_chain

    with open_store(store_where) as store:
        five_statuses(store)
        raw_sql(store_where, "DELETE FROM control_statuses WHERE id >= 4")
        assert verify_chain(store.control_status_log(), "change") == []
        raw_sql(store_where, "UPDATE control_statuses SET actor = 'mallory'")
        previous = None
        for row_id, change in zip((1, 2, 3), store.control_status_log()):
            digest = chain_hash(previous, change)
            raw_sql(store_where, "UPDATE control_statuses SET prev_hash = ?, hash = ? WHERE id = ?", (previous, digest, row_id))
            previous = digest
        assert verify_chain(store.control_status_log(), "change") == []


def make_v3_store(path, statuses: int) -> None:
    path.parent.mkdir(exist_ok=True)
    conn = sqlite3.connect(path)
    with conn:
        for step in MIGRATIONS[:3]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 3")
        for number in range(statuses):
            conn.execute(
                "INSERT INTO control_statuses (framework, control_id, status, actor, recorded_at)"
                " VALUES ('soc2', ?, 'compliant', 'alice', ?)",
                (f"CC1.{number + 1}", f"2026-11-2{number}T10:00:00.000000Z"),
            )
    conn.close()


def test_a_v3_store_is_migrated_to_v4_chaining_its_statuses_at_migration(path):
    from pytest_enterprise.audit import verify_chain

    make_v3_store(path, statuses=3)
    with HistoryStore(path) as store:
        store.record_control_status(status("compliant", "2026-11-27T10:00:00.000000Z"))
        log = store.control_status_log()
        assert len(log) == 4 and all(change.hash for change in log)
        assert verify_chain(log, "change") == []  # old rows chained, the new one follows them
        note = store.status_chain_migration()
    assert note["rows"] == 3 and parse_timestamp(note["chained_at"])
    assert schema_of(path)[0] == SCHEMA_VERSION == 7


def test_a_v3_store_without_statuses_records_no_migration_note(path):
    make_v3_store(path, statuses=0)
    with HistoryStore(path) as store:
        store.save_run(make_record(), None)
        assert store.status_chain_migration() is None


def test_manual_statuses_are_an_append_only_log(store_where):
    def change(status, at):
        return ControlStatusChange("soc2", "CC6.1", status, None, "", None, None, None, "bob", at)

    with open_store(store_where) as store:
        assert store.control_statuses() == []
        store.record_control_status(change("non_compliant", "2026-11-26T10:00:00.000Z"))
        second = store.record_control_status(change("compliant", "2026-11-26T11:00:00.000Z"))
        assert second.previous_status == "non_compliant"
        current = store.control_statuses()
        assert [(c.status, c.previous_status) for c in current] == [("compliant", "non_compliant")]
        log = store.control_status_log("soc2", "CC6.1")
        assert [c.status for c in log] == ["non_compliant", "compliant"]


# --- refusing files that are not ours --------------------------------------------------------


def assert_refused(path, match: str) -> None:
    """Every way in raises StoreError naming the file, and the file is not touched."""
    before = path.read_bytes()
    siblings = sorted(os.listdir(path.parent))
    for call in (
        lambda s: s.recent_runs(),
        lambda s: s.load_run("run-1"),
        lambda s: s.save_run(make_record(), None),
        lambda s: s.record_events("p", [TelemetryEvent("2025-01-01T00:00:00Z", "unit", True)]),
        lambda s: s.purge(30),
    ):
        with HistoryStore(path) as store, pytest.raises(StoreError, match=match) as info:
            call(store)
        message = str(info.value)
        assert str(path) in message and "\n" not in message
        assert "move it aside" in message or "upgrade" in message
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == siblings  # no -wal, -shm or -journal left behind


def test_garbage_file_is_refused_and_untouched(path):
    path.parent.mkdir()
    path.write_bytes(b"this is a text file, not a database\n" * 200)
    assert_refused(path, "not an SQLite database")


def make_foreign_db(path, application_id: int = 0, user_version: int = 0) -> None:
    path.parent.mkdir(exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
        conn.execute(f"PRAGMA application_id = {application_id}")
        conn.execute(f"PRAGMA user_version = {user_version}")
        conn.commit()
    finally:
        conn.close()


def test_database_of_another_application_is_refused(path):
    make_foreign_db(path, application_id=0x12345678)
    assert_refused(path, "another application.*0x12345678")


def test_database_without_application_id_but_with_tables_is_refused(path):
    make_foreign_db(path)
    assert_refused(path, "another application")


def test_newer_schema_version_is_refused(path):
    with HistoryStore(path) as store:
        store.save_run(make_record(), None)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    assert_refused(path, f"schema version {SCHEMA_VERSION + 1}, newer than")


def test_store_missing_a_table_is_refused(path):
    with HistoryStore(path) as store:
        store.save_run(make_record(), None)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE telemetry_events")
    conn.close()
    assert_refused(path, "damaged.*telemetry_events is missing")


def test_corrupt_store_is_refused_before_writing(path):
    with HistoryStore(path) as store:
        for i in range(3):
            store.save_run(make_record(f"r{i}"), None)
        root = store._conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'attempts_nodeid'"
        ).fetchone()[0]
        page_size = store._conn.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as handle:  # scribble over one b-tree page
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * 64)
    before = path.read_bytes()
    with HistoryStore(path) as store, pytest.raises(StoreError, match="is corrupt.*integrity"):
        store.save_run(make_record("r9"), None)
    assert path.read_bytes() == before


def test_a_directory_in_place_of_the_file_is_refused(path):
    path.mkdir(parents=True)
    with HistoryStore(path) as store, pytest.raises(StoreError, match="is a directory"):
        store.recent_runs()


# --- permissions -----------------------------------------------------------------------------


def test_unwritable_directory_is_permission_denied(path, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "mkdir", denied)
    with HistoryStore(path) as store, pytest.raises(PermissionDeniedError) as info:
        store.save_run(make_record(), None)
    assert info.value.exit_code == 3 and str(path) in str(info.value)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_really_unwritable_directory_is_permission_denied(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with HistoryStore(locked / "history.db") as store, pytest.raises(PermissionDeniedError):
            store.save_run(make_record(), None)
    finally:
        locked.chmod(0o755)


def test_sqlite_cannot_open_in_unwritable_directory_is_permission_denied(path, monkeypatch):
    # As root, chmod cannot make a directory unwritable; simulate what SQLite reports then.
    import pytest_enterprise.store.sqlite as module

    def cannot_open(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(module.sqlite3, "connect", cannot_open)
    monkeypatch.setattr(module.os, "access", lambda *args: False)
    with HistoryStore(path) as store, pytest.raises(PermissionDeniedError, match="history.db"):
        store.save_run(make_record(), None)


# --- reading a store that does not exist -----------------------------------------------------


def test_reads_of_a_missing_store_create_nothing(tmp_path):
    path = tmp_path / ".enterprise" / "history.db"
    with HistoryStore(path) as store:
        assert store.recent_runs() == []
        assert store.latest_run() is None
        assert store.events("p") == []
        assert store.processes() == []
        assert store.attempt_history("t.py::test_pass") == []
        assert store.purge(30) == 0
        with pytest.raises(StoreError, match="no run with id 'run-1'"):
            store.load_run("run-1")
    assert os.listdir(tmp_path) == []


# --- locking and concurrency -----------------------------------------------------------------


def test_a_store_held_locked_gives_a_store_error_then_recovers(path):
    with HistoryStore(path, busy_timeout=0.05) as store:
        store.save_run(make_record("first"), None)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="locked by another process"):
                store.save_run(make_record("second"), None)
            other.execute("ROLLBACK")
        finally:
            other.close()
        store.save_run(make_record("second"), None)
        assert len(store.recent_runs()) == 2


def test_the_locked_message_says_how_long_it_waited_and_the_wait_is_the_busy_timeout(path):
    """Each retry used to wait the full busy timeout again: "more than 30 s" came after 92 s."""
    timeout = 0.4
    with HistoryStore(path, busy_timeout=timeout) as store:
        store.save_run(make_record("first"), None)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            with pytest.raises(StoreError, match="locked by another process") as raised:
                store.save_run(make_record("second"), None)
            elapsed = time.monotonic() - started
            other.execute("ROLLBACK")
        finally:
            other.close()
        said = float(re.search(r"gave up after ([0-9.]+) s \(busy timeout 0.4 s\)", str(raised.value)).group(1))
        assert timeout <= elapsed < 1.5 * timeout  # one busy timeout, not one per attempt
        assert abs(said - elapsed) < 0.1
        # the connection's timeout is whole again for the next write
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 400
        store.save_run(make_record("second"), None)


WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
    from pytest_enterprise.store import open_store

    where, writer, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    deadline = time.monotonic() + 30
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.001)  # start together, so that even creating the store races
    with open_store(where) as store:
        for n in range(25):
            tests = [
                TestResult(f"t.py::test_{k}", [
                    Attempt(a, "failed" if a < k % 3 else "passed", [Phase("call", "passed", 0.01)])
                    for a in range(1, k % 3 + 2)
                ])
                for k in range(20)
            ]
            run = RunInfo(id=f"w{writer}-{n}", started_at=f"2025-01-01T00:{n:02d}:0{writer}Z")
            store.save_run(RunRecord(run=run, tests=tests), None)
    """
)
ATTEMPTS_PER_RUN = sum(k % 3 + 1 for k in range(20))


def test_four_concurrent_writers_lose_nothing(store_where, tmp_path):
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, store_where, str(w), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    time.sleep(0.2)
    go.touch()
    for proc in writers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    with open_store(store_where) as store:
        runs = store.recent_runs(limit=1000)
        assert len(runs) == 100
        assert {r.id for r in runs} == {f"w{w}-{n}" for w in range(4) for n in range(25)}
    assert raw_count(store_where, "SELECT count(*) FROM attempts") == 100 * ATTEMPTS_PER_RUN


# --- retention -------------------------------------------------------------------------------


def test_purge_deletes_runs_attempts_and_events_older_than_retention(store_where):
    with open_store(store_where, clock=fixed_clock) as store:
        store.save_run(make_record("old", ts(NOW - timedelta(days=31))), None)
        store.save_run(make_record("edge", ts(NOW - timedelta(days=29, hours=23))), None)
        store.save_run(make_record("new", ts(NOW - timedelta(days=1))), None)
        store.record_events(
            "p",
            [
                TelemetryEvent(ts(NOW - timedelta(days=40)), "unit", True),
                TelemetryEvent(ts(NOW - timedelta(days=2)), "unit", False),
            ],
        )

        assert store.purge(30) == 2  # one run, one event; "now" comes from the clock
        assert {r.id for r in store.recent_runs()} == {"edge", "new"}
        assert len(store.events("p")) == 1
        assert raw_count(store_where, "SELECT count(*) FROM attempts WHERE run_id = 'old'") == 0
        assert raw_count(store_where, "SELECT count(*) FROM attempts") == 20

        # An explicit "now" overrides the clock; a run exactly at the cutoff is kept.
        assert store.purge(30, now=NOW + timedelta(days=29)) == 2  # "edge" and the event
        assert [r.id for r in store.recent_runs()] == ["new"]
        assert store.events("p") == []
        assert store.purge(30) == 0


def test_purge_rejects_negative_retention(store):
    with pytest.raises(UsageError, match="retention_days"):
        store.purge(-1)


# --- telemetry events ------------------------------------------------------------------------


def test_events_round_trip(store):
    events = [
        TelemetryEvent("2025-01-01T00:00:00Z", "unit", passed=True),
        TelemetryEvent("2025-01-01T00:00:01.5Z", "unit", passed=False),
        TelemetryEvent(
            "2025-01-01T01:00:02+02:00",  # 2024-12-31T23:00:02Z: first, though not as text
            "defect",
            defect_type="static_analysis_failure",
            severity="high",
            category="code_quality",
            message="unused import\nin two lines",
        ),
    ]
    assert store.record_events("quality_gates", events) == 3
    assert store.record_events("quality_gates", []) == 0
    store.record_events("other", [TelemetryEvent("2025-01-02T00:00:00Z", "unit", passed=True)])

    assert store.events("quality_gates") == [events[2], events[0], events[1]]  # time order
    assert events[2].recorded_at == "2024-12-31T23:00:02.000000Z"
    since = datetime(2025, 1, 1, 0, 0, 1, 500000, tzinfo=timezone.utc)
    assert store.events("quality_gates", since=since) == [events[1]]  # "since" is inclusive
    assert store.events("quality_gates", since=since + timedelta(microseconds=1)) == []
    assert store.events("nobody") == []


def test_processes_are_the_union_of_runs_and_events(store):
    store.save_run(make_record(process="nightly"), None)
    store.record_events("quality_gates", [TelemetryEvent("2025-01-01T00:00:00Z", "unit", True)])
    store.record_events("nightly", [TelemetryEvent("2025-01-01T00:00:00Z", "unit", True)])
    assert store.processes() == ["nightly", "quality_gates"]


def test_event_kind_and_time_are_validated():
    with pytest.raises(UsageError, match="'unit' or 'defect'"):
        TelemetryEvent("2025-01-01T00:00:00Z", "bogus")
    with pytest.raises(UsageError, match="RFC 3339"):
        TelemetryEvent("last tuesday", "unit")


def test_timestamps_are_rfc3339_utc_with_z():
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == (
        "2025-01-02T03:04:05.000000Z"
    )
    assert parse_timestamp("2025-01-02T05:04:05.25+02:00") == datetime(
        2025, 1, 2, 3, 4, 5, 250000, tzinfo=timezone.utc
    )
    assert parse_timestamp("2025-01-02T03:04:05Z") == parse_timestamp("2025-01-02 03:04:05")
    with pytest.raises(ValueError):
        parse_timestamp("2025-13")


# --- speed -----------------------------------------------------------------------------------


def test_saving_5000_tests_is_one_transaction_and_fast(path):
    record = make_record()
    template = record.tests[0]
    record.tests = [
        TestResult(f"tests/test_big.py::test_{i}", template.attempts, worker="gw0")
        for i in range(5000)
    ]
    statements: list[str] = []
    store = HistoryStore(path)
    store.save_run(make_record("warm-up"), None)  # open and create the store first
    store._conn.set_trace_callback(statements.append)
    started = time.perf_counter()
    store.save_run(record, None)
    elapsed = time.perf_counter() - started
    store._conn.set_trace_callback(None)
    store.close()

    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1
    assert raw_count(path, "SELECT count(*) FROM attempts WHERE run_id = 'run-1'") == 5000
    # The target is well under 0.5 s; the bound here leaves room for a loaded CI machine.
    assert elapsed < 2.0


def _rich_record():
    from pytest_enterprise.model import (
        Attempt,
        Phase,
        RunInfo,
        RunRecord,
        Subtest,
        TestResult,
    )

    return RunRecord(
        run=RunInfo(id="r", started_at="2026-01-01T00:00:00.000Z", args=["-x"], workers=2),
        tests=[
            TestResult(
                nodeid="t.py::a",
                attempts=[
                    Attempt(1, "failed", [Phase("call", "failed", 0.5)], "failure", "E", "m", [Subtest("[s]", "failed")]),
                    Attempt(2, "passed", [Phase("setup", "passed", 0.1)]),
                ],
                severity="high",
                opportunities=2,
                stage="unit",
                markers={"severity": "high"},
                worker="gw0",
            )
        ],
        stages=["unit"],
    )


def test_record_json_round_trip_through_the_report():
    import json

    from pytest_enterprise.report.json_report import build_report, record_from_report

    record = _rich_record()
    data = json.loads(json.dumps(build_report(record, {}, [], None)))
    assert data["tests"][0]["attempts"][0]["phases"] == [{"when": "call", "outcome": "failed", "duration": 0.5}]
    assert record_from_report(data) == record


def test_attempt_phases_are_compact_and_shared():
    from pytest_enterprise.model import Attempt, Phase

    first, second = Attempt(1, "passed"), Attempt(1, "passed")
    for attempt, duration in ((first, 0.1), (second, 0.2)):
        attempt.add_phase("setup", "passed", duration)
        attempt.add_phase("call", "passed", duration)
    assert first.phases == [Phase("setup", "passed", 0.1), Phase("call", "passed", 0.1)]
    assert first.phase_outcomes() is second.phase_outcomes()  # one shape object for both
    assert first == Attempt(1, "passed", [Phase("setup", "passed", 0.1), Phase("call", "passed", 0.1)])
    assert first.duration == 0.2


def test_record_rebuilds_from_its_report():
    """The store keeps the run's report; the record must come back from it unchanged."""
    from pytest_enterprise.model import GitInfo, OpportunityDefinition
    from pytest_enterprise.report.json_report import build_report, record_from_report

    record = _rich_record()
    record.run.git = GitInfo("abc", "main", True)
    record.run.deselected = 3
    record.opportunity_definition = OpportunityDefinition(per_unit=2, subtests_as_opportunities=True)
    assert record_from_report(build_report(record, {}, [], None)) == record


def test_integrity_scan_runs_at_most_once_a_day(tmp_path, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from pytest_enterprise.model import RunInfo, RunRecord
    from pytest_enterprise.store import sqlite as store_module

    scans = []
    real_scan = store_module.HistoryStore._quick_check
    monkeypatch.setattr(
        store_module.HistoryStore, "_quick_check", lambda self, conn: scans.append(1) or real_scan(self, conn)
    )
    now = [datetime(2026, 11, 1, tzinfo=timezone.utc)]
    path = tmp_path / "h.db"

    def save(run_id: str) -> None:
        with store_module.HistoryStore(path, clock=lambda: now[0]) as store:
            store.save_run(RunRecord(run=RunInfo(id=run_id, started_at="2026-11-01T00:00:00Z")), None)

    save("created")  # a new store needs no scan
    save("first-write-to-existing")
    save("same-day")
    now[0] += timedelta(hours=25)
    save("next-day")
    assert len(scans) == 2


def test_record_is_stored_compressed(tmp_path):
    import sqlite3
    import zlib

    from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
    from pytest_enterprise.store.sqlite import HistoryStore

    tests = [
        TestResult(nodeid=f"t.py::test_{n}", attempts=[Attempt(1, "passed", [Phase("call", "passed", n / 1e6)])])
        for n in range(2000)
    ]
    record = RunRecord(run=RunInfo(id="r", started_at="2026-11-01T00:00:00Z"), tests=tests)
    with HistoryStore(tmp_path / "h.db") as store:
        store.save_run(record, None)
        assert store.load_run("r") == record
    connection = sqlite3.connect(tmp_path / "h.db")
    blob = connection.execute("SELECT report_zlib FROM runs").fetchone()[0]
    connection.close()
    assert len(blob) * 4 < len(zlib.decompress(blob))


def test_load_report_returns_the_stored_document(tmp_path):
    import zlib

    from pytest_enterprise.model import RunInfo, RunRecord
    from pytest_enterprise.store.sqlite import HistoryStore

    document = b'{"run":{"id":"r","started_at":"2026-11-01T00:00:00Z"},"tests":[],"custom":1}'
    with HistoryStore(tmp_path / "h.db") as store:
        store.save_run(RunRecord(run=RunInfo(id="r", started_at="2026-11-01T00:00:00Z")), None,
                       report_zlib=zlib.compress(document))
        assert store.load_report("r")["custom"] == 1
        assert store.load_run("r").run.id == "r"
        with pytest.raises(StoreError, match="no run with id 'missing'"):
            store.load_report("missing")


def test_purge_goes_in_batches_and_deletes_everything_past_retention(store_where, monkeypatch):
    from pytest_enterprise.store import sqlite as engine

    monkeypatch.setattr(engine, "PURGE_BATCH_RUNS", 2)
    monkeypatch.setattr(engine, "PURGE_BATCH_EVENTS", 3)
    with open_store(store_where, clock=fixed_clock) as store:
        for n in range(5):
            store.save_run(make_record(f"old{n}", ts(NOW - timedelta(days=40 + n))), None)
        store.save_run(make_record("new", ts(NOW - timedelta(days=1))), None)
        old_events = [TelemetryEvent(ts(NOW - timedelta(days=50, minutes=n)), "unit", True) for n in range(7)]
        store.record_events("p", [*old_events, TelemetryEvent(ts(NOW), "unit", True)])
        transactions = []
        write = store._write
        monkeypatch.setattr(store, "_write", lambda body, action: (transactions.append(action), write(body, action)))
        assert store.purge(30) == 5 + 7
        assert len(transactions) == 3  # runs 2+2+1 and events 3+3+1, side by side
        assert [r.id for r in store.recent_runs()] == ["new"] and len(store.events("p")) == 1
    assert raw_count(store_where, "SELECT count(*) FROM attempts") == 10
