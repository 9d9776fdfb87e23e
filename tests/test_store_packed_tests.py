"""The history store keeps a run's single-pass tests packed in one row (store/packed_tests.py).

What must hold: nothing is lost. ``attempt_history`` gives back, for any test, exactly the rows
that one ``attempts`` row per attempt gave before (the oracle below computes them from the
records), whichever way each run kept the test, and an old store's rows still read.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_enterprise.errors import StoreError
from pytest_enterprise.model import DEFAULT_SEVERITY, Attempt, Phase, RunInfo, RunRecord, TestResult
from pytest_enterprise.store import APPLICATION_ID, HistoryStore, open_store
from pytest_enterprise.store.packed_tests import pack_tests
from pytest_enterprise.store.sqlite import MIGRATIONS
from pytest_enterprise.utf8 import utf8_safe

from postgres import raw_sql


def passed_once(nodeid: str, durations=(0.001, 0.25, 0.002), worker=None, severity=DEFAULT_SEVERITY) -> TestResult:
    phases = [Phase(when, "passed", d) for when, d in zip(("setup", "call", "teardown"), durations)]
    return TestResult(nodeid, [Attempt(1, "passed", phases)], worker=worker, severity=severity)


def failed_then_passed(nodeid: str) -> TestResult:
    return TestResult(nodeid, [
        Attempt(1, "failed", [Phase("setup", "passed", 0.001), Phase("call", "failed", 0.5)],
                category="failure", exception_type="AssertionError"),
        Attempt(2, "passed", [Phase("setup", "passed", 0.001), Phase("call", "passed", 0.4),
                              Phase("teardown", "passed", 0.001)]),
    ])  # fmt: skip


def record(run_id: str, started_at: str, tests: list[TestResult]) -> RunRecord:
    info = RunInfo(id=run_id, started_at=started_at, finished_at=started_at, duration_s=1.0, exit_status=0)
    return RunRecord(run=info, tests=tests)


def expected_history(saved: list[RunRecord], nodeid: str, limit: int) -> list[tuple]:
    """What one ``attempts`` row per attempt gave: newest run first, then attempt number."""
    rows = []
    for order, run_record in enumerate(saved):
        run = run_record.run
        for test in run_record.tests:
            if utf8_safe(test.nodeid) != utf8_safe(nodeid):
                continue
            for attempt in test.attempts:
                key = (run.started_at, order)
                rows.append((key, attempt.number, (
                    run.id, "pytest", run.started_at, utf8_safe(test.nodeid), attempt.number, attempt.outcome,
                    attempt.category, attempt.exception_type, attempt.duration, test.severity, test.worker,
                )))  # fmt: skip
    rows.sort(key=lambda row: row[1])
    rows.sort(key=lambda row: row[0], reverse=True)
    return [row[2] for row in rows[:limit]]


def history(store: HistoryStore, nodeid: str, limit: int = 50) -> list[tuple]:
    return [
        (a.run_id, a.process, a.started_at, a.nodeid, a.attempt, a.outcome, a.category, a.exception_type,
         a.duration, a.severity, a.worker)
        for a in store.attempt_history(nodeid, limit)
    ]  # fmt: skip


def table_counts(where) -> tuple[int, int]:
    """(attempt rows, packed tests) in the store at ``where``, read behind its back."""
    return (raw_sql(str(where), "SELECT COUNT(*) FROM attempts")[0][0],
            raw_sql(str(where), "SELECT COALESCE(SUM(tests), 0) FROM run_tests")[0][0])  # fmt: skip


def test_single_pass_tests_are_packed_and_read_back_exactly(store_where):
    tests = [passed_once(f"t.py::test_{n}", (0.1 * n, 1 / 3, 1e-6), worker=f"gw{n % 2}") for n in range(5)]
    tests.append(failed_then_passed("t.py::test_flaky"))
    tests.append(passed_once("t.py::test_critical", severity="critical"))
    runs = [record("run-1", "2025-03-01T10:00:00.000000Z", tests)]
    with open_store(store_where) as store:
        store.save_run(runs[0], None)
        for test in tests:
            assert history(store, test.nodeid) == expected_history(runs, test.nodeid, 50)
        assert history(store, "t.py::test_3")[0][8] == tests[3].attempts[0].duration  # the same float
        assert history(store, "t.py::test_3")[0][10] == "gw1"
        assert history(store, "t.py::test_missing") == []
    # Five packed tests; the rerun (2 attempts) and the critical test keep their rows.
    assert table_counts(store_where) == (3, 5)


def test_a_store_without_workers_packs_none(tmp_path):
    packed, others = pack_tests([passed_once("t.py::test_a"), passed_once("t.py::test_b")])
    assert packed is not None and packed.count == 2 and packed.workers_zlib is None and others == []
    assert pack_tests([failed_then_passed("t.py::test_f")])[0] is None


def test_history_merges_runs_that_kept_a_test_either_way_and_honours_the_limit(store_where):
    runs = [
        record("r1", "2025-03-01T10:00:00.000000Z", [passed_once("t.py::test_x")]),
        record("r2", "2025-03-02T10:00:00.000000Z", [failed_then_passed("t.py::test_x")]),
        record("r3", "2025-03-03T10:00:00.000000Z", [passed_once("t.py::test_x", worker="gw3")]),
        record("r4", "2025-03-03T10:00:00.000000Z", [passed_once("t.py::test_y")]),  # same time
        record("r5", "2025-03-02T10:00:00.000000Z", [passed_once("t.py::test_x")]),  # saved late, older
    ]
    with open_store(store_where) as store:
        for run in runs:
            store.save_run(run, None)
        for limit in (1, 2, 3, 4, 5, 50):
            assert history(store, "t.py::test_x", limit) == expected_history(runs, "t.py::test_x", limit)
        assert [row[0] for row in history(store, "t.py::test_x")] == ["r3", "r5", "r2", "r2", "r1"]


def test_resaving_a_run_replaces_its_packed_row(store_where):
    with open_store(store_where) as store:
        store.save_run(record("r1", "2025-03-01T10:00:00.000000Z", [passed_once("t.py::a"), passed_once("t.py::b")]), None)
        store.save_run(record("r1", "2025-03-01T10:00:00.000000Z", [passed_once("t.py::a")]), None)
        assert history(store, "t.py::b") == []
        assert len(history(store, "t.py::a")) == 1
    assert table_counts(store_where) == (0, 1)


def test_purge_drops_packed_rows_with_their_runs(store_where):
    with open_store(store_where) as store:
        store.save_run(record("old", "2020-01-01T00:00:00.000000Z", [passed_once("t.py::a")]), None)
        store.save_run(record("new", "2099-01-01T00:00:00.000000Z", [passed_once("t.py::a")]), None)
        assert store.purge(30) == 1
        assert [row[0] for row in history(store, "t.py::a")] == ["new"]
    assert table_counts(store_where) == (0, 1)


def test_detailed_false_stores_no_test_rows(store_where):
    with open_store(store_where) as store:
        store.save_run(record("r1", "2025-03-01T10:00:00.000000Z", [passed_once("t.py::a"), failed_then_passed("t.py::f")]),
                       None, detailed=False)  # fmt: skip
        assert history(store, "t.py::a") == [] and history(store, "t.py::f") == []
    assert table_counts(store_where) == (0, 0)


def test_odd_node_ids_are_kept_and_found(store_where):
    odd = ["t.py::test[a\nb]", "caf\udce9.py::test_x", "t.py::test[\u00e9\u4e2d]", "t.py::test[\ud800]"]
    runs = [record("r1", "2025-03-01T10:00:00.000000Z", [passed_once(nodeid) for nodeid in odd])]
    with open_store(store_where) as store:
        store.save_run(runs[0], None)
        for nodeid in odd:
            assert history(store, nodeid) == expected_history(runs, nodeid, 50) != []
        # A made-safe id finds the same test (as for attempts rows).
        assert len(history(store, "caf\\xe9.py::test_x")) == 1
    assert pack_tests(runs[0].tests)[0].count == 3  # the id with a newline keeps its own row


def test_a_v4_store_keeps_its_attempt_rows_and_packs_new_runs(tmp_path):
    path = tmp_path / "h.db"
    conn = sqlite3.connect(path)
    with conn:
        for step in MIGRATIONS[:4]:
            for statement in step:
                if callable(statement):
                    statement(conn)
                else:
                    conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 4")
        conn.execute(
            "INSERT INTO runs (id, process, started_at, report_zlib, created_at)"
            " VALUES ('old', 'pytest', '2025-03-01T10:00:00.000000Z', x'00', '2025-03-01T10:00:00.000000Z')"
        )
        conn.execute(
            "INSERT INTO attempts (run_id, nodeid, attempt, outcome, duration, severity)"
            " VALUES ('old', 't.py::a', 1, 'passed', 0.5, 'medium')"
        )
    conn.close()
    with HistoryStore(path) as store:
        store.save_run(record("new", "2025-03-02T10:00:00.000000Z", [passed_once("t.py::a")]), None)
        assert [(row[0], row[5], row[8]) for row in history(store, "t.py::a")] == [
            ("new", "passed", passed_once("t.py::a").attempts[0].duration), ("old", "passed", 0.5),
        ]  # fmt: skip
    assert table_counts(path) == (1, 1)


def test_a_damaged_packed_row_is_a_clear_store_error(store_where):
    with open_store(store_where) as store:
        store.save_run(record("r1", "2025-03-01T10:00:00.000000Z", [passed_once("t.py::a")]), None)
    raw_sql(store_where, "UPDATE run_tests SET durations = ?", (b"\x00\x11",))
    with open_store(store_where) as store, pytest.raises(StoreError, match="run 'r1' cannot be read back"):
        store.attempt_history("t.py::a")


NODEIDS = ["t.py::test_a", "t.py::test_b[1]", "u.py::C::test_c", "caf\udce9.py::t", "t.py::test[x\ny]"]


@st.composite
def a_test(draw, nodeid: str) -> TestResult:
    if draw(st.booleans()):
        durations = tuple(draw(st.floats(0, 10, allow_nan=False)) for _ in range(3))
        worker = draw(st.sampled_from([None, "gw0", "gw1"]))
        severity = draw(st.sampled_from([DEFAULT_SEVERITY, DEFAULT_SEVERITY, "high"]))
        return passed_once(nodeid, durations, worker, severity)
    if draw(st.booleans()):
        return failed_then_passed(nodeid)
    outcome = draw(st.sampled_from(["failed", "skipped", "passed"]))
    phase = Phase("call", "failed" if outcome == "failed" else outcome, draw(st.floats(0, 1)))
    return TestResult(nodeid, [Attempt(1, outcome, [phase])], worker=draw(st.sampled_from([None, "gw2"])))


@st.composite
def runs(draw) -> list[RunRecord]:
    made = []
    for number in range(draw(st.integers(1, 4))):
        chosen = draw(st.lists(st.sampled_from(NODEIDS), unique=True, max_size=len(NODEIDS)))
        day = draw(st.integers(1, 3))  # ties and out-of-order saves happen
        made.append(record(f"run-{number}", f"2025-03-0{day}T10:00:00.000000Z", [draw(a_test(n)) for n in chosen]))
    return made


@settings(max_examples=40, deadline=None)
@given(saved=runs(), limit=st.sampled_from([1, 2, 3, 50]))
def test_history_equals_one_row_per_attempt(saved, limit):
    with tempfile.TemporaryDirectory() as folder, HistoryStore(Path(folder) / "h.db") as store:
        for run in saved:
            store.save_run(run, None)
        for nodeid in NODEIDS:
            assert history(store, nodeid, limit) == expected_history(saved, nodeid, limit)


def test_history_pages_through_many_runs(store_where):
    """More runs than one page of packed rows, the test packed in some and failing in others."""
    runs = []
    for number in range(40):
        test = failed_then_passed("t.py::test_x") if number % 3 == 0 else passed_once("t.py::test_x")
        others = [passed_once(f"t.py::test_{n}") for n in range(number % 5)]
        runs.append(record(f"r{number:02d}", f"2025-03-{1 + number % 28:02d}T10:00:00.000000Z", [*others, test]))
    with open_store(store_where) as store:
        for run in runs:
            store.save_run(run, None)
        for limit in (1, 15, 16, 17, 33, 50, 100):
            assert history(store, "t.py::test_x", limit) == expected_history(runs, "t.py::test_x", limit)
        assert history(store, "t.py::test_3", 100) == expected_history(runs, "t.py::test_3", 100) != []


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.text(st.characters(blacklist_characters="\n"), min_size=1, max_size=30), min_size=1, max_size=40, unique=True),
    others=st.lists(st.text(min_size=1, max_size=30), max_size=10),
    pick=st.integers(0, 40),
)
def test_the_hash_index_answers_as_the_node_ids_do(names, others, pick):
    from pytest_enterprise.store.packed_tests import nodeid_hash, packed_present

    packed, _ = pack_tests([passed_once(name) for name in names])
    wanted = {utf8_safe(n) for n in [*names[:pick], *others]}
    keys = {nodeid: nodeid_hash(nodeid) for nodeid in wanted}
    by_index = packed_present(None, packed.count, keys, packed.nodeid_index)
    by_names = packed_present(packed.nodeids_zlib, packed.count, keys)
    assert sorted(by_index) == sorted(by_names) == sorted(w for w in wanted if w in {utf8_safe(n) for n in names})


def test_a_node_id_with_a_lone_surrogate_is_found_by_its_safe_form():
    from pytest_enterprise.store.packed_tests import nodeid_hash, packed_present

    packed, _ = pack_tests([passed_once("test_\udcff.py::test_a"), passed_once("t.py::b")])
    safe = utf8_safe("test_\udcff.py::test_a")
    assert nodeid_hash("test_\udcff.py::test_a") == nodeid_hash(safe)
    assert packed_present(None, packed.count, {safe: nodeid_hash(safe)}, packed.nodeid_index) == {safe}
