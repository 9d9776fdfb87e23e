"""The history store at fleet scale, on PostgreSQL and on the SQLite file (docs/performance.md,
"History store at fleet scale"):

* **load**: 16 runner processes, started together, each saving 20 runs of 2,000 tests back to
  back (320 runs), as the plugin's finish does (open the store, ``save_run`` with the report
  blob the plugin makes, ``purge(30)``, close). Wall time, runs/s and rows/s (rows actually
  inserted: runs + run_tests + attempts), p50/p95/max latency of each step, peak connections
  (``pg_stat_activity``, sampled every 10 ms), CPU time per run, and afterwards: exactly 320 runs, every one
  complete (packed count, attempt rows and report bytes as written), none lost;
* **queries** on the loaded store: ``series_runs``, ``tests_in_runs`` over the newest 50 runs,
  ``attempt_history`` of a failing and of a passing test, and the ``telemetry spc`` +
  ``telemetry flaky`` analyses;
* **storage**: bytes per run and per test, per table, for a mostly-passing suite and one with
  many failures;
* **purge**: ``purge(30)`` deleting half of a store's runs (in batches of 200 runs per
  transaction), and the save latency of a writer saving meanwhile.

The workload (``_fleet.py``) runs once per engine: ``benchmark`` gets its measured durations
through ``_harness.replay``; every number is in ``extra_info`` and in the summary at the end.
PostgreSQL needs a server: ``ENTERPRISE_TEST_POSTGRES_URL`` (an admin URL, as for the tests);
each PostgreSQL benchmark makes a fresh database and drops it. Without a server they skip,
saying so in the summary. Knobs: ``BENCH_FLEET_RUNNERS`` (16), ``BENCH_FLEET_RUNS`` (20 per
runner), ``BENCH_FLEET_TESTS`` (2,000), ``BENCH_FLEET_STORAGE_RUNS`` (100),
``BENCH_FLEET_PURGE_RUNS`` (400 old + 400 new), ``BENCH_FLEET_QUERY_ROUNDS`` (20).

    python -m pytest benchmarks/bench_store_fleet.py -p no:xdist --benchmark-only -s
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

import _fleet as fleet
import _harness as h

RUNNERS = h.env_int("BENCH_FLEET_RUNNERS", 16)
RUNS = h.env_int("BENCH_FLEET_RUNS", 20)
TESTS = h.env_int("BENCH_FLEET_TESTS", 2_000)
STORAGE_RUNS = h.env_int("BENCH_FLEET_STORAGE_RUNS", 100)
PURGE_RUNS = h.env_int("BENCH_FLEET_PURGE_RUNS", 400)
QUERY_ROUNDS = h.env_int("BENCH_FLEET_QUERY_ROUNDS", 20)
STEP_RUNS = 40  # runs of test_where_a_postgresql_save_spends (CPU time is read in 10 ms ticks)
RETENTION_DAYS = 30

ADMIN_URL = os.environ.get("ENTERPRISE_TEST_POSTGRES_URL")
NO_SERVER = "no PostgreSQL server: set ENTERPRISE_TEST_POSTGRES_URL to an admin URL (.ci/run starts one)"
ENGINES = ("postgresql", "sqlite")
TABLE = f"history store at fleet scale: {RUNNERS} runners x {RUNS} runs x {TESTS:,} tests"


def _results(title: str = TABLE) -> list[str]:
    return h.RESULTS.setdefault(title, [])


def _server_settings(url: str) -> str:
    rows = fleet.raw_rows(url, "SELECT name, setting FROM pg_settings WHERE name IN"
                               " ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'server_version')")  # fmt: skip
    return ", ".join(f"{name}={value}" for name, value in sorted(rows))


@contextmanager
def _fresh_database() -> Iterator[str]:
    """A new, empty database on the server; dropped afterwards."""
    import psycopg

    name = f"enterprise_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _store(engine: str, folder: Path) -> Iterator[str]:
    """Where a benchmark's store lives: a fresh database, or a file under ``folder``."""
    if engine == "sqlite":
        yield str(folder / "history.db")
        return
    if not ADMIN_URL:
        if f"postgresql: SKIPPED, {NO_SERVER}" not in _results():
            _results().append(f"postgresql: SKIPPED, {NO_SERVER}")
        pytest.skip(NO_SERVER)
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    with _fresh_database() as url:
        yield url


def _cpu_line(result: fleet.FleetResult) -> str:
    per_run = 1000 / result.saved
    server = "" if result.server_cpu_s is None else f", server {result.server_cpu_s * per_run:.1f} ms"
    return (
        f"  {result.engine} CPU per run: runners {result.clients_cpu_s * per_run:.1f} ms{server}; machine busy"
        f" {result.machine_busy_s:.1f} s of {result.machine_window_s:.1f} s x {os.cpu_count()} cores"
        f" ({result.summary()['utilisation']:.0%}, other work included); load average"
        f" {result.load_average[0]:.1f} before, {result.load_average[1]:.1f} after"  # type: ignore[attr-defined]
    )


def _ms(values: dict[str, float]) -> str:
    return f"p50 {values['p50']:.0f} / p95 {values['p95']:.0f} / max {values['max']:.0f} ms"


# --------------------------------------------------------------------------------------------
# The load: 16 runners at once


@pytest.fixture(scope="module", params=ENGINES)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, fleet.FleetResult]]:
    """The fleet's store, loaded by the fleet (once per engine), and what the load measured."""
    with _store(request.param, tmp_path_factory.mktemp(f"fleet-{request.param}")) as where:
        load = [os.getloadavg()[0]]
        result = fleet.run_fleet(where, RUNNERS, RUNS, TESTS, retention=RETENTION_DAYS)
        load.append(os.getloadavg()[0])
        result.load_average = load  # type: ignore[attr-defined]
        yield where, result


@pytest.mark.benchmark(group="store fleet: load", timer=h.REPLAY)
def test_fleet_saves(benchmark, loaded: tuple[str, fleet.FleetResult]) -> None:
    where, result = loaded
    summary = result.summary()
    benchmark.extra_info.update(json.loads(json.dumps(summary, default=str)))
    h.replay(benchmark, [result.wall_s])
    lines = _results()
    engine = result.engine
    if engine == "postgresql":
        lines.append(f"postgresql server: {_server_settings(where)}")
    lines.append(
        f"{engine}: {result.saved} runs in {result.wall_s:.2f} s = {result.runs_per_s:.1f} runs/s,"
        f" {result.rows_per_s:,.0f} rows/s ({result.rows_inserted:,} rows: {result.rows}),"
        f" {summary['tests_per_s']:,.0f} tests/s; lost {len(result.errors) + len(result.verify['missing'])},"
        f" incomplete {len(result.verify['incomplete'])}"
    )
    for step in ("open", "save", "purge", "total"):
        lines.append(f"  {engine} {step:>5}: {_ms(result.latency_ms[step])}")
    lines.append(_cpu_line(result))
    if engine == "postgresql":
        lines.append(
            f"  {engine} connections: peak {result.peak_connections} (active {result.peak_active}, waiting on a lock"
            f" {result.peak_lock_waits}; {result.monitor_samples} samples); schema made in {result.schema_s * 1000:.0f} ms;"
            f" wait events (backend-samples): {result.waits}"
        )
    # Zero lost runs, every run complete, nothing else stored.
    assert result.errors == [], result.errors[:3]
    assert result.verify["missing"] == [] and result.verify["extra"] == [] and result.verify["incomplete"] == []
    assert result.verify["stored_runs"] == result.saved == RUNNERS * RUNS
    assert result.rows["runs"] == result.rows["run_tests"] == RUNNERS * RUNS
    if engine == "postgresql":
        # One connection per runner at a time, none leaked.
        assert result.peak_connections <= RUNNERS, f"{result.peak_connections} connections for {RUNNERS} runners"


@pytest.mark.benchmark(group="store fleet: one runner", timer=h.REPLAY)
@pytest.mark.parametrize("engine", ENGINES)
def test_one_runner_alone(benchmark, engine: str, tmp_path: Path) -> None:
    """The same saves from one runner, nothing else writing: the latency without contention."""
    with _store(engine, tmp_path) as where:
        load = [os.getloadavg()[0]]
        result = fleet.run_fleet(where, 1, RUNS, TESTS, retention=RETENTION_DAYS)
        load.append(os.getloadavg()[0])
        result.load_average = load  # type: ignore[attr-defined]
    assert result.errors == [] and result.verify["missing"] == [] and result.verify["incomplete"] == []
    h.replay(benchmark, [result.wall_s])
    benchmark.extra_info.update(json.loads(json.dumps(result.summary(), default=str)))
    lines = _results(f"history store: one runner alone, {RUNS} runs x {TESTS:,} tests")
    lines.append(f"{engine}: {result.runs_per_s:.1f} runs/s; " + "; ".join(
        f"{step} {_ms(result.latency_ms[step])}" for step in ("open", "save", "purge", "total")))  # fmt: skip
    lines.append(_cpu_line(result))


_IMPORT_DRIVER = """
import time
import pytest, pytest_enterprise.plugin, pytest_enterprise.reporting, pytest_enterprise.store
started = time.perf_counter()
import pytest_enterprise.store.postgres, psycopg
print((time.perf_counter() - started) * 1000)
"""


@pytest.mark.benchmark(group="store fleet: one runner", timer=h.REPLAY)
def test_where_a_postgresql_save_spends(benchmark, tmp_path: Path) -> None:
    """One runner's saves step by step, wall and CPU time (the runner's, and the server's when it
    runs here), and what a pytest process pays once per run to import the driver."""
    import subprocess
    import sys
    from datetime import datetime, timezone

    from pytest_enterprise.store import open_store

    with _store("postgresql", tmp_path) as where:
        fleet.create_schema(where)
        now = datetime.now(timezone.utc)
        runs = [fleet.make_run(f"step-{n}", now, 500 + n, TESTS, where=where) for n in range(STEP_RUNS)]
        rows: dict[str, tuple[float, float, float | None]] = {}

        def measure(name: str, body) -> None:
            server, cpu, wall = fleet.server_cpu_seconds(where), time.process_time(), time.perf_counter()
            body()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            after = fleet.server_cpu_seconds(where)
            rows[name] = (wall / len(runs), cpu / len(runs), None if server is None or after is None else (after - server) / len(runs))

        def connect() -> None:
            import psycopg

            for _ in runs:
                psycopg.connect(where).close()

        def open_close() -> None:
            for _ in runs:
                with open_store(where) as store:
                    store._writer()

        def whole() -> None:
            for record, quality, blob, _ in runs:
                with open_store(where) as store:
                    store.save_run(record, quality, report_zlib=blob)
                    store.purge(RETENTION_DAYS)

        def warm() -> None:
            with open_store(where) as store:
                store._writer()
                for record, quality, blob, _ in runs:
                    record.run.id += "-again"
                    store.save_run(record, quality, report_zlib=blob)

        measure("connect + close (psycopg)", connect)
        measure("open (connect + schema check) + close", open_close)
        measure("open + save_run + purge + close", whole)
        measure("save_run alone, on an open connection", warm)
    imports = sorted(
        float(subprocess.run([sys.executable, "-c", _IMPORT_DRIVER], capture_output=True, text=True, check=True,
                             env=h.clean_env()).stdout)  # fmt: skip
        for _ in range(7)
    )
    h.replay(benchmark, [rows["open + save_run + purge + close"][0]])
    benchmark.extra_info.update({name: list(values) for name, values in rows.items()}, import_driver_ms=imports)
    lines = _results(f"history store: where a PostgreSQL run's save spends (one runner, {STEP_RUNS} runs, per run)")
    for name, (wall, cpu, server) in rows.items():
        server_text = "n/a (server not on this machine)" if server is None else f"{server * 1000:5.1f} ms"
        lines.append(f"{name:<40} wall {wall * 1000:5.1f} ms, runner CPU {cpu * 1000:5.1f} ms, server CPU {server_text}")
    lines.append(f"{'import psycopg + store.postgres':<40} {statistics.median(imports):5.1f} ms (median of 7 fresh processes"
                 f" that imported pytest and the plugin first; {imports[0]:.0f}-{imports[-1]:.0f} ms)")  # fmt: skip


# --------------------------------------------------------------------------------------------
# The analyses' queries on the loaded store


def _timed(call, rounds: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        value = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, value


@pytest.mark.benchmark(group="store fleet: queries", timer=h.REPLAY)
def test_history_queries_at_fleet_size(benchmark, loaded: tuple[str, fleet.FleetResult]) -> None:
    from pytest_enterprise.config import EnterpriseConfig
    from pytest_enterprise.store import open_store
    from pytest_enterprise.trends import process_flaky, process_series

    where, result = loaded
    telemetry = EnterpriseConfig().telemetry
    # The test that failed most often (attempt rows) and one that always passed (packed rows only).
    counts = fleet.raw_rows(where, "SELECT nodeid, count(*) FROM attempts GROUP BY nodeid ORDER BY 2 DESC, 1")
    failing = counts[0][0]
    in_attempts = {nodeid for nodeid, _ in counts}
    # (a test every run passed at once, else the one with fewest attempt rows: mostly packed)
    passing = next((n for n in (fleet._nodeid(i)[0] for i in range(TESTS)) if n not in in_attempts), counts[-1][0])
    timings: dict[str, float] = {}
    with open_store(where) as store:
        started = time.perf_counter()
        runs = store.series_runs("pytest")
        timings["first series_runs (opens the store)"] = (time.perf_counter() - started) * 1000
        assert len(runs) == result.saved
        newest = [run.id for run in runs[-50:]]
        timings["series_runs (all runs)"], _ = _timed(lambda: store.series_runs("pytest"), QUERY_ROUNDS)
        timings["tests_in_runs (newest 50 runs)"], found = _timed(lambda: store.tests_in_runs(newest), QUERY_ROUNDS)
        timings["attempt_history (a failing test)"], failing_rows = _timed(lambda: store.attempt_history(failing), QUERY_ROUNDS)
        timings["attempt_history (a passing test)"], passing_rows = _timed(lambda: store.attempt_history(passing), QUERY_ROUNDS)
        timings["telemetry spc + flaky (50 runs)"], _ = _timed(
            lambda: (process_series(store, "pytest", telemetry), process_flaky(store, "pytest", telemetry)), QUERY_ROUNDS // 4 or 1
        )  # fmt: skip
    assert 0 < len(failing_rows) <= 50 and len(passing_rows) == min(50, result.saved) and found.attempts
    assert passing in in_attempts or all(row.outcome == "passed" for row in passing_rows)
    h.replay(benchmark, [sum(value for key, value in timings.items() if not key.startswith(("first", "telemetry"))) / 1000])
    benchmark.extra_info.update(timings, tests_in_runs_names=len(found.names), failing=failing, passing=passing)
    lines = _results()
    lines.append(
        f"{result.engine} queries on {result.saved} runs (median of {QUERY_ROUNDS}, one open connection; "
        f"tests_in_runs found {len(found.attempts)} tests with attempt rows):"
    )
    for name, ms in timings.items():
        lines.append(f"  {result.engine} {name:<40} {ms:8.1f} ms")


# --------------------------------------------------------------------------------------------
# Storage per run and per test


@pytest.mark.benchmark(group="store fleet: storage", timer=h.REPLAY)
@pytest.mark.parametrize("profile", list(fleet.PROFILES))
@pytest.mark.parametrize("engine", ENGINES)
def test_storage_per_run(benchmark, engine: str, profile: str, tmp_path: Path) -> None:
    with _store(engine, tmp_path) as where:
        fleet.create_schema(where)
        empty = fleet.storage(where)
        runners = 2  # builds the runs on both cores; saves go one after the other enough
        result = fleet.run_fleet(where, runners, STORAGE_RUNS // runners, TESTS, profile=profile, retention=None)
        assert result.errors == [] and result.verify["missing"] == [] and result.verify["incomplete"] == []
        full = fleet.storage(where)
        vacuumed = fleet.vacuumed_size(where) if engine == "sqlite" else None
        runs = result.saved
    h.replay(benchmark, [result.wall_s])
    per_table = {
        table: (full["tables"][table]["total"] - empty["tables"].get(table, {}).get("total", 0)) / runs
        for table in full["tables"]
    } if full["tables"] else {}  # fmt: skip
    grown = full["database"] - empty["database"]
    info = {"runs": runs, "tests_per_run": TESTS, "rows": result.rows, "bytes_per_run": grown / runs,
            "bytes_per_test": grown / runs / TESTS, "tables_bytes_per_run": per_table,
            "report_bytes_per_run": result.verify.get("report_bytes_mean"), "empty": empty, "full": full}  # fmt: skip
    if vacuumed is not None:
        info["vacuumed_bytes_per_run"] = (vacuumed - empty["database"]) / runs
    benchmark.extra_info.update(json.loads(json.dumps(info, default=str)))
    attempts = result.rows["attempts"] / runs
    tables = ", ".join(f"{table} {size / 1024:.1f}" for table, size in per_table.items())
    _results(f"history store: storage per run ({TESTS:,} tests, {STORAGE_RUNS} runs)").append(
        f"{engine:<10} {profile:<14} {grown / runs / 1024:7.1f} KiB/run {grown / runs / TESTS:6.1f} B/test"
        + (f" (after VACUUM {info['vacuumed_bytes_per_run'] / 1024:.1f} KiB/run)" if vacuumed is not None else "")
        + f"; {attempts:.0f} attempt rows/run; KiB/run by table (indexes, TOAST incl.): {tables}"
    )


# --------------------------------------------------------------------------------------------
# Purge, with a writer saving meanwhile


@pytest.mark.benchmark(group="store fleet: purge", timer=h.REPLAY)
@pytest.mark.parametrize("engine", ENGINES)
def test_purge_half_while_a_runner_saves(benchmark, engine: str, tmp_path: Path) -> None:
    from pytest_enterprise.store import open_store
    from pytest_enterprise.store.sqlite import PURGE_BATCH_RUNS

    with _store(engine, tmp_path) as where:
        # Half the runs 45 days old, half of today; built on both cores, saved without purging.
        loaded = fleet.run_fleet(where, 2, PURGE_RUNS, TESTS, retention=None, days_old=(45.0, 0.0), prefix="old-")
        assert loaded.errors == [] and loaded.verify["incomplete"] == []
        before = fleet.raw_rows(where, "SELECT count(*) FROM runs")[0][0]
        writer = fleet.Writer(where, tmp_path / "writer", TESTS)
        with writer:
            time.sleep(1.0)  # the writer's latency before the purge
            with open_store(where) as store:
                started = time.perf_counter()
                deleted = store.purge(RETENTION_DAYS)
                ended = time.perf_counter()
            time.sleep(1.0)  # ... and after
        saves = writer.saves()
        after = fleet.raw_rows(where, "SELECT count(*) FROM runs")[0][0]
    assert deleted == PURGE_RUNS  # every old run, none of the writer's
    assert after == before - deleted + len(saves) and not writer.errors()
    during = [s["total"] for s in saves if s["end"] > started and s["start"] < ended]
    outside = [s["total"] for s in saves if s["end"] <= started or s["start"] >= ended]
    purge_s = ended - started
    h.replay(benchmark, [purge_s])
    info = {"deleted_runs": deleted, "runs_before": before, "batches": -(-deleted // PURGE_BATCH_RUNS),
            "purge_s": purge_s, "runs_per_s": deleted / purge_s, "writer_saves": len(saves),
            "writer_saves_during": len(during), "writer_max_ms_during": max(during, default=0) * 1000,
            "writer_median_ms_outside": statistics.median(outside) * 1000 if outside else None,
            "writer_max_ms_outside": max(outside, default=0) * 1000}  # fmt: skip
    benchmark.extra_info.update(info)
    _results(f"history store: purge of {PURGE_RUNS} of {2 * PURGE_RUNS} runs ({TESTS:,} tests each)").append(
        f"{engine:<10} purge {purge_s:6.2f} s ({deleted / purge_s:,.0f} runs/s, {info['batches']} batches of"
        f" <= {PURGE_BATCH_RUNS}); a runner saving meanwhile: {len(during)} saves during, max {info['writer_max_ms_during']:.0f} ms"
        f" (outside: median {info['writer_median_ms_outside'] or 0:.0f} ms, max {info['writer_max_ms_outside']:.0f} ms)"
    )
