"""A fleet of CI runners saving their runs to one history store (not a benchmark itself;
``bench_store_fleet.py`` drives it).

* ``make_run`` builds one run as the plugin would store it: 2,000 tests by default, nearly all
  passing (packed into ``run_tests``), a share failing with a message and a traceback, a
  share failing once and passing on a rerun, a few skipped; the quality summary from
  ``analyze_run``; the report blob exactly as the plugin makes it (``reporting._stream_report``:
  the streamed JSON report, zlib level 1). It also says what the store must hold for the run
  (its packed tests and its attempt rows), counted from the generated tests, not by the store.
* ``run_fleet`` starts ``runners`` processes of this file (``python _fleet.py worker``). Each
  builds its runs first, says it is ready, and waits; when all are ready they are told to go
  at once (a line on stdin). Then each saves its runs back to back as the plugin's finish does:
  open the store (``open_store``), ``save_run``, ``purge(retention)``, close, timing each step
  with ``time.perf_counter`` (CLOCK_MONOTONIC on Linux: one clock for every process, so the
  wall time is the last end minus the first start). A runner is one process for all its runs
  (its imports, psycopg's included, happen before the start), but opens a new connection for
  each run, as separate pytest processes would. On PostgreSQL a thread of the parent samples
  ``pg_stat_activity`` meanwhile (peak connections), and the server's CPU time is read from
  /proc when the server runs on this machine.
* ``verify`` reads the store behind the API's back: every run there, complete (its packed
  count, its attempt rows, its report bytes), none missing, none extra.
* ``storage`` gives the size of each table (and of the whole database or file).

Run by hand: ``python benchmarks/_fleet.py fleet WHERE [runners] [runs] [tests]`` prints the
summary as JSON (WHERE: a SQLite path or a postgresql:// URL of an empty database).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# What a run looks like: the share of its tests that fail (final outcome failed), that fail
# once and pass on a rerun (pytest-rerunfailures), and that are skipped.
PROFILES: dict[str, dict[str, float]] = {
    # A healthy suite: ~1.5 % failing, 0.5 % rerun, 1 % skipped; 97 % passed at once (packed).
    "mostly-passing": {"failed": 0.015, "rerun": 0.005, "skipped": 0.01},
    # A bad day: a quarter failing, 5 % rerun, 2 % skipped; two thirds passed at once.
    "many-failures": {"failed": 0.25, "rerun": 0.05, "skipped": 0.02},
}

_AREAS = ("api", "billing", "core", "storage", "ui", "auth", "search", "jobs")
_TRACEBACK = """\
self = <tests.{area}.test_{module}.Test{cls} object at 0x7f3a{n:08x}>
client = <FlaskClient <Flask 'app'>>, payload = {{'id': {n}, 'name': 'item-{n}', 'tags': ['a', 'b']}}

    def test_{name}(self, client, payload):
        response = client.post("/{area}/items", json=payload)
>       assert response.status_code == 201, response.text
E       AssertionError: {{"error": "conflict", "detail": "item {n} exists"}}
E       assert {code} == 201
E        +  where {code} = <WrapperTestResponse streamed [{code} CONFLICT]>.status_code

tests/{area}/test_{module}.py:{line}: AssertionError
"""


def _nodeid(index: int) -> tuple[str, str, str, str, str]:
    area = _AREAS[index // 250 % len(_AREAS)]
    module = f"{area}_{index // 50:03d}"
    cls = f"Case{index // 10 % 5}"
    name = f"behaviour_{index % 50:02d}"
    return f"tests/{area}/test_{module}.py::Test{cls}::test_{name}[variant-{index % 7}]", area, module, cls, name


@dataclass
class Expected:
    """What the store must hold for one run (counted from the generated tests)."""

    run_id: str
    packed: int  # tests that passed on their only attempt, default severity: one run_tests row
    attempts: int  # attempt rows of every other test
    report_md5: str
    report_bytes: int


def make_run(
    run_id: str,
    started: datetime,
    seed: int,
    tests: int = 2_000,
    profile: str = "mostly-passing",
    where: str = "",
) -> tuple[Any, dict[str, Any], bytes, Expected]:
    """One run: ``(record, quality, report_zlib, expected)`` (see the module docstring)."""
    from pytest_enterprise.model import Attempt, GitInfo, Phase, RunInfo, RunRecord, TestResult
    from pytest_enterprise.quality.metrics import analyze_run
    from pytest_enterprise.report.json_report import report_header
    from pytest_enterprise.reporting import _stream_report
    from pytest_enterprise.timeutil import format_timestamp

    rng = random.Random(seed)
    shares = PROFILES[profile]
    # Which tests fail: mostly the same ones for a while (a real breakage lasts), a few at random.
    broken_rng = random.Random(seed // 5)
    failing = set(broken_rng.sample(range(tests), int(tests * shares["failed"])))
    rerun = set(rng.sample(sorted(set(range(tests)) - failing), int(tests * shares["rerun"])))
    skipped = set(rng.sample(sorted(set(range(tests)) - failing - rerun), int(tests * shares["skipped"])))
    results = []
    clock = 0.0
    for index in range(tests):
        nodeid, area, module, cls, name = _nodeid(index)
        worker = f"gw{index % 2}"
        setup, call, teardown = (round(rng.uniform(lo, hi), 6) for lo, hi in ((5e-5, 2e-3), (1e-4, 0.2), (5e-5, 1e-3)))
        clock += setup + call + teardown

        def failed(number: int) -> Attempt:
            code = rng.choice((409, 500, 404))
            details = {"traceback": _TRACEBACK.format(area=area, module=module, cls=cls, name=name, n=rng.randrange(1 << 30),
                                                      code=code, line=20 + index % 300),
                       "stdout": f"POST /{area}/items -> {code}\n"}  # fmt: skip
            return Attempt(number, "failed", [Phase("setup", "passed", setup), Phase("call", "failed", call),
                                              Phase("teardown", "passed", teardown)],
                           category="failure", exception_type="AssertionError",
                           message=f"AssertionError: assert {code} == 201", details=details)  # fmt: skip

        passed = [Phase("setup", "passed", setup), Phase("call", "passed", call), Phase("teardown", "passed", teardown)]
        if index in failing:
            attempts = [failed(1)]
        elif index in rerun:
            attempts = [failed(1), Attempt(2, "passed", passed)]
        elif index in skipped:
            attempts = [Attempt(1, "skipped", [Phase("setup", "skipped", setup)], message="needs a GPU")]
        else:
            attempts = [Attempt(1, "passed", passed)]
        results.append(TestResult(nodeid, attempts, worker=worker))
    duration = clock / 2 + 5.0  # two xdist workers, plus collection
    finished = started + timedelta(seconds=duration)
    commit = hashlib.sha1(f"{seed // 3}".encode()).hexdigest()  # a new commit every few runs
    run = RunInfo(
        id=run_id, started_at=format_timestamp(started), finished_at=format_timestamp(finished), duration_s=duration,
        exit_status=1 if failing else 0, args=["-n", "2", "tests"], python="CPython 3.11.7",
        platform="Linux-6.1.0-x86_64-with-glibc2.36", git=GitInfo(commit=commit, branch="main", dirty=False),
        ci_job_url=f"https://ci.example.com/jobs/{seed}", workers=2,
    )  # fmt: skip
    record = RunRecord(run=run, tests=results)
    quality = analyze_run(record).to_dict()
    history = {"enabled": True, "path": where, "saved": True, "error": None}
    blob = _stream_report(report_header(record, quality, [], history), record, None, compress=True)
    assert blob is not None
    packed = sum(1 for t in results if len(t.attempts) == 1 and t.attempts[0].outcome == "passed")
    attempts = sum(len(t.attempts) for t in results) - packed
    return record, quality, blob, Expected(run_id, packed, attempts, hashlib.md5(blob).hexdigest(), len(blob))


# --------------------------------------------------------------------------------------------
# The runner process


def _worker(spec: dict[str, Any]) -> None:
    """One runner: build the runs, say ready, wait for go, save them; results to spec['out']."""
    now = datetime.now(timezone.utc)
    runner, ages = spec["runner"], spec.get("days_old") or [0.0]
    runs = []
    for number in range(spec["runs"]):
        run_id = f"{spec['prefix']}r{runner:02d}-{number:03d}"
        started = now - timedelta(days=ages[number % len(ages)], minutes=(spec["runs"] - number) * 3, seconds=runner)
        runs.append(make_run(run_id, started, spec["seed"] + runner * 1000 + number, spec["tests"], spec["profile"], spec["where"]))
    if engine_of(spec["where"]) == "postgresql":
        # Imported now, not in the first save: a real runner imports the driver once per run,
        # which ``bench_store_fleet`` measures on its own; here every save is alike.
        import pytest_enterprise.store.postgres  # noqa: F401
        import psycopg  # noqa: F401
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    go, cpu_go = time.perf_counter(), _cpu_seconds()
    saves: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    until = spec.get("until")  # a file: save the runs again and again (new ids) until it exists
    if until is None:
        for record, quality, blob, expected in runs:
            _save(spec, record, quality, blob, expected.run_id, saves, errors)
    else:
        cycle = 0
        while not os.path.exists(until):
            record, quality, blob, expected = runs[cycle % len(runs)]
            record.run.id = f"{expected.run_id}-{cycle}"
            _save(spec, record, quality, blob, record.run.id, saves, errors)
            cycle += 1
    done = time.perf_counter()
    result = {"runner": runner, "go": go, "done": done, "cpu_s": _cpu_seconds() - cpu_go, "saves": saves,
              "errors": errors, "expected": [vars(r[3]) for r in runs] if until is None else []}  # fmt: skip
    Path(spec["out"]).write_text(json.dumps(result))


def _save(spec: dict[str, Any], record: Any, quality: Any, blob: bytes, run_id: str,
          saves: list[dict[str, Any]], errors: list[dict[str, Any]]) -> None:  # fmt: skip
    """One run's save as the plugin's finish does it (open, save, purge, close), each step timed."""
    from pytest_enterprise.store import open_store

    t0 = time.perf_counter()
    try:
        store = open_store(spec["where"])
        try:
            store._writer()  # connect (and check the schema) now, to time it apart from the save
            t1 = time.perf_counter()
            store.save_run(record, quality, report_zlib=blob)
            t2 = time.perf_counter()
            if spec.get("retention") is not None:
                store.purge(spec["retention"])
            t3 = time.perf_counter()
        finally:
            store.close()
        t4 = time.perf_counter()
        saves.append({"run_id": run_id, "start": t0, "open": t1 - t0, "save": t2 - t1, "purge": t3 - t2,
                      "total": t4 - t0, "end": t4})  # fmt: skip
    except Exception as error:  # a lost run: counted, never hidden
        errors.append({"run_id": run_id, "error": f"{type(error).__name__}: {error}"})


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores; /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(url: str) -> float | None:
    """CPU seconds used so far by a PostgreSQL server on this machine: the postmaster's reaped
    children (every backend that has exited, ``cutime``/``cstime`` of /proc/PID/stat) plus its
    live processes. None when the server's files cannot be read from here."""
    try:
        folder = raw_rows(url, "SELECT setting FROM pg_settings WHERE name = 'data_directory'")[0][0]
        postmaster = int(Path(folder, "postmaster.pid").read_text().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:  # exited meanwhile
                continue
            fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is state
            pid, parent = int(stat.parent.name), int(fields[1])
            if pid == postmaster:
                total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
            elif parent == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / ticks
    except (OSError, IndexError, ValueError, TypeError):
        return None


def start_runners(specs: list[dict[str, Any]], env: dict[str, str] | None = None) -> list[subprocess.Popen]:
    """Start one worker process per spec; returns once every one is ready (runs built)."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH", "")]))
    procs = [
        subprocess.Popen([sys.executable, str(Path(__file__)), "worker", json.dumps(spec)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=environment)  # fmt: skip
        for spec in specs
    ]
    for proc in procs:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if line.strip() != "ready":
            stop(procs)
            raise RuntimeError(f"a runner failed to start (exit {proc.returncode})")
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    """Kill the runners still running and close every pipe (after a failure)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def go(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.stdin.write("go\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]


def finish(procs: list[subprocess.Popen], specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for proc, spec in zip(procs, specs):
        proc.communicate()  # closes its pipes, waits for it
        code = proc.returncode
        out = Path(spec["out"])
        if code != 0 or not out.exists():
            raise RuntimeError(f"runner {spec['runner']} exited {code} without results")
        results.append(json.loads(out.read_text()))
    return results


# --------------------------------------------------------------------------------------------
# Peak connections (PostgreSQL)


class ConnectionMonitor:
    """Samples the database's client connections every ``interval`` s from a thread, its own
    excluded (a backend whose client has just closed is listed until it has exited)."""

    def __init__(self, url: str, interval: float = 0.01) -> None:
        self.url, self.interval = url, interval
        self.peak = self.peak_active = self.peak_lock_waits = 0
        self.samples = 0
        self.waits: dict[str, int] = {}  # "type:event" -> backends seen waiting on it, summed over samples
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionMonitor:
        import psycopg

        self._conn = psycopg.connect(self.url, autocommit=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        query = (
            "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"  # not autovacuum
        )
        while not self._stop.is_set():
            rows = self._conn.execute(query).fetchall()
            active = sum(1 for state, _, _ in rows if state == "active")
            waiting = sum(1 for _, kind, _ in rows if kind == "Lock")
            self.peak, self.peak_active = max(self.peak, len(rows)), max(self.peak_active, active)
            self.peak_lock_waits = max(self.peak_lock_waits, waiting)
            for state, kind, event in rows:
                if state == "active" and kind is not None:
                    key = f"{kind}:{event}"
                    self.waits[key] = self.waits.get(key, 0) + 1
            self.samples += 1
            self._stop.wait(self.interval)


class Writer:
    """One runner saving runs back to back (new ids, the same few records) while the block
    runs; ``saves()`` gives each save's timing. Built and started on entering the block."""

    def __init__(self, where: str, folder: Path, tests: int = 2_000, runs: int = 10) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.stop = folder / "stop"
        self.spec = {"runner": 99, "runs": runs, "tests": tests, "profile": "mostly-passing", "where": where,
                     "seed": 7_000_000, "retention": None, "prefix": "writer-", "until": str(self.stop),
                     "out": str(folder / "writer.json")}  # fmt: skip
        self._result: dict[str, Any] = {}

    def __enter__(self) -> Writer:
        self.procs = start_runners([self.spec])
        go(self.procs)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.touch()
        try:
            self._result = finish(self.procs, [self.spec])[0]
        finally:
            stop(self.procs)

    def saves(self) -> list[dict[str, Any]]:
        return self._result["saves"]

    def errors(self) -> list[dict[str, Any]]:
        return self._result["errors"]


# --------------------------------------------------------------------------------------------
# The fleet


@dataclass
class FleetResult:
    engine: str
    runners: int
    runs_per_runner: int
    tests: int
    wall_s: float
    saved: int
    errors: list[dict[str, Any]]
    rows: dict[str, int]  # rows in each table afterwards (all inserted by the fleet)
    latency_ms: dict[str, dict[str, float]]  # step -> p50/p95/max
    peak_connections: int | None = None
    peak_active: int | None = None
    peak_lock_waits: int | None = None
    monitor_samples: int | None = None
    waits: dict[str, int] | None = None  # PostgreSQL wait events of active backends, summed over samples
    clients_cpu_s: float = 0.0  # CPU time of the runner processes while saving
    machine_busy_s: float = 0.0  # CPU time the whole machine was busy from go to the last runner's exit
    machine_window_s: float = 0.0  # ... and that time (utilisation: busy / (cores x window))
    server_cpu_s: float | None = None  # CPU time of the PostgreSQL server meanwhile (when on this machine)
    schema_s: float | None = None  # creating the schema in the empty store (before the fleet starts)
    verify: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_inserted(self) -> int:
        return sum(self.rows.values())

    @property
    def runs_per_s(self) -> float:
        return self.saved / self.wall_s

    @property
    def rows_per_s(self) -> float:
        return self.rows_inserted / self.wall_s

    def summary(self) -> dict[str, Any]:
        data = dict(vars(self))
        data.update(rows_inserted=self.rows_inserted, runs_per_s=self.runs_per_s, rows_per_s=self.rows_per_s,
                    tests_per_s=self.saved * self.tests / self.wall_s,
                    utilisation=self.machine_busy_s / (os.cpu_count() or 1) / self.machine_window_s)  # fmt: skip
        return data


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "max": ordered[-1] * 1000, "mean": statistics.fmean(ordered) * 1000}


def engine_of(where: str) -> str:
    return "postgresql" if where.startswith(("postgresql://", "postgres://")) else "sqlite"


def run_fleet(
    where: str, runners: int = 16, runs: int = 20, tests: int = 2_000, profile: str = "mostly-passing",
    retention: int | None = 30, seed: int = 1, prefix: str = "", days_old: tuple[float, ...] = (0.0,),
) -> FleetResult:  # fmt: skip
    """``runners`` processes, started together, each saving ``runs`` runs to ``where``.

    The store's schema is made first, by this process (a fleet's store exists before its
    runners start; how long making it took is ``schema_s``). ``days_old`` cycles over the runs
    of each runner: how old each run is (for a purge to find)."""
    engine = engine_of(where)
    schema_s = create_schema(where)
    with tempfile.TemporaryDirectory(prefix="fleet-") as folder:
        specs = [
            {"runner": r, "runs": runs, "tests": tests, "profile": profile, "where": where, "seed": seed * 100_000,
             "retention": retention, "prefix": prefix, "days_old": list(days_old),
             "out": str(Path(folder) / f"runner-{r}.json")}
            for r in range(runners)
        ]  # fmt: skip
        procs = start_runners(specs)
        server = server_cpu_seconds(where) if engine == "postgresql" else None
        busy, window = machine_busy_seconds(), time.perf_counter()
        monitor = ConnectionMonitor(where) if engine == "postgresql" else None
        try:
            if monitor is not None:
                monitor.__enter__()
            go(procs)
            results = finish(procs, specs)
            busy, window = machine_busy_seconds() - busy, time.perf_counter() - window
            if server is not None:
                after = server_cpu_seconds(where)
                server = None if after is None else after - server
        finally:
            if monitor is not None:
                monitor.__exit__()
            stop(procs)
    saves = [save for result in results for save in result["saves"]]
    errors = [error for result in results for error in result["errors"]]
    wall = max(result["done"] for result in results) - min(result["go"] for result in results)
    expected = [Expected(**e) for result in results for e in result["expected"]]
    verdict = verify(where, expected)
    return FleetResult(
        engine=engine, runners=runners, runs_per_runner=runs, tests=tests, wall_s=wall, saved=len(saves),
        errors=errors, rows=verdict.pop("rows"),
        latency_ms={step: percentiles([s[step] for s in saves]) for step in ("open", "save", "purge", "total")},
        peak_connections=monitor.peak if monitor else None, peak_active=monitor.peak_active if monitor else None,
        peak_lock_waits=monitor.peak_lock_waits if monitor else None, monitor_samples=monitor.samples if monitor else None,
        waits=dict(sorted(monitor.waits.items(), key=lambda item: -item[1])) if monitor else None,
        clients_cpu_s=sum(result["cpu_s"] for result in results), machine_busy_s=busy, machine_window_s=window,
        server_cpu_s=server, schema_s=schema_s, verify=verdict,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Checking what the store holds, and how big it is


def create_schema(where: str) -> float | None:
    """Make the store's schema in an empty store; seconds it took (None: it existed)."""
    from pytest_enterprise.store import open_store

    with open_store(where) as store:
        if store.exists():
            return None
        started = time.perf_counter()
        store._writer()
        return time.perf_counter() - started


def raw_rows(where: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """``sql`` (``?`` placeholders) on the store at ``where``, behind the store's back."""
    if engine_of(where) == "postgresql":
        import psycopg

        with psycopg.connect(where, autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    conn = sqlite3.connect(where)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def verify(where: str, expected: list[Expected]) -> dict[str, Any]:
    """Every expected run stored whole; nothing else stored. Returns counts and findings."""
    stored = {
        run_id: (packed, attempts, md5)
        for run_id, packed, attempts, md5 in (
            (run_id, packed, attempts, hashlib.md5(bytes(blob)).hexdigest())
            for run_id, packed, attempts, blob in raw_rows(
                where,
                "SELECT r.id, t.tests, (SELECT count(*) FROM attempts AS a WHERE a.run_id = r.id), r.report_zlib"
                " FROM runs AS r LEFT JOIN run_tests AS t ON t.run_id = r.id",
            )
        )
    }
    wanted = {e.run_id: e for e in expected}
    missing = sorted(wanted.keys() - stored.keys())
    extra = sorted(stored.keys() - wanted.keys())
    incomplete = sorted(
        run_id for run_id, (packed, attempts, md5) in stored.items() if run_id in wanted
        and (packed != wanted[run_id].packed or attempts != wanted[run_id].attempts or md5 != wanted[run_id].report_md5)
    )  # fmt: skip
    rows = {table: raw_rows(where, f"SELECT count(*) FROM {table}")[0][0] for table in ("runs", "run_tests", "attempts")}
    return {"expected_runs": len(wanted), "stored_runs": len(stored), "missing": missing, "extra": extra,
            "incomplete": incomplete, "rows": rows,
            "report_bytes_mean": statistics.fmean(e.report_bytes for e in expected) if expected else 0}  # fmt: skip


_TABLES = ("runs", "run_tests", "attempts")


def storage(where: str) -> dict[str, Any]:
    """Bytes on disk: per table (indexes and TOAST included) and in all."""
    if engine_of(where) == "postgresql":
        tables = {
            table: dict(zip(("total", "heap", "toast", "indexes"), raw_rows(
                where,
                "SELECT pg_total_relation_size(c.oid), pg_relation_size(c.oid),"
                " COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0), pg_indexes_size(c.oid)"
                " FROM pg_class AS c WHERE c.oid = ?::regclass", (table,))[0]))
            for table in _TABLES
        }  # fmt: skip
        database = raw_rows(where, "SELECT pg_database_size(current_database())")[0][0]
        all_tables = raw_rows(
            where,
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname = current_schema()",
        )[0][0]
        return {"tables": tables, "all_tables": int(all_tables), "database": database}
    conn = sqlite3.connect(where)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        tables: dict[str, dict[str, int]] = {}
        try:
            per_object = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
            index_of = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").fetchall())
            for table in _TABLES:
                heap = per_object.get(table, 0)
                indexes = sum(size for name, size in per_object.items() if index_of.get(name) == table)
                tables[table] = {"total": heap + indexes, "heap": heap, "toast": 0, "indexes": indexes}
        except sqlite3.OperationalError:  # SQLite built without dbstat
            pass
    finally:
        conn.close()
    return {"tables": tables, "all_tables": (pages - free) * page_size, "database": pages * page_size,
            "file": os.path.getsize(where)}  # fmt: skip


def vacuumed_size(where: str) -> int:
    """The SQLite file's size after VACUUM (of a copy, so the store stays as it is)."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "copy.db"
        conn = sqlite3.connect(where)
        try:
            conn.execute("VACUUM INTO ?", (str(copy),))
        finally:
            conn.close()
        return copy.stat().st_size


def main(argv: list[str]) -> None:
    if argv[0] == "worker":
        _worker(json.loads(argv[1]))
    elif argv[0] == "fleet":
        where = argv[1]
        defaults = [16, 20, 2_000]
        runners, runs, tests = [int(a) for a in argv[2:5]] + defaults[len(argv[2:5]) :]
        result = run_fleet(where, runners, runs, tests)
        print(json.dumps(result.summary(), indent=1, default=str))
    else:
        raise SystemExit(f"usage: {argv[0]}: worker SPEC | fleet WHERE [runners] [runs] [tests]")


if __name__ == "__main__":
    main(sys.argv[1:])
