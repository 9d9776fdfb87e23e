"""Where the enabled plugin's time and memory go, in-process, for a 5,000-test run (no targets).

The subprocess benchmarks say *how much* ``--enterprise-report`` costs; these say *where*:
the per-report hook (``Recorder.record``, fed real ``pytest.TestReport`` objects), then the
main steps of the session-finish work in ``reporting.finish_run`` and the whole of it, and the
peak memory (tracemalloc) that finish_run allocates on top of the recorded results. The steps
call the product's own functions, so they follow its changes; finish_run is the reference.
"""

from __future__ import annotations

import inspect
import json
import shutil
import tracemalloc
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_enterprise import reporting
from pytest_enterprise.config import EnterpriseConfig
from pytest_enterprise.model import RunInfo, RunRecord
from pytest_enterprise.quality.metrics import analyze_run
from pytest_enterprise.recorder import Recorder
from pytest_enterprise.report import json_report
from pytest_enterprise.report.json_report import build_report
from pytest_enterprise.store.sqlite import HistoryStore

import _harness as h

TESTS = h.env_int("BENCH_FINISH_TESTS", 5_000)
GROUP = f"finish: {TESTS:,} tests"
TABLE = f"in-process cost of the enabled plugin at {TESTS:,} tests (median)"


def _reports(tests: int) -> list[pytest.TestReport]:
    reports = []
    for index in range(tests):
        nodeid = f"test_module_{index // 100:03d}.py::test_{index % 100:04d}"
        location = (nodeid.partition("::")[0], index % 100, nodeid.partition("::")[2])
        for when in ("setup", "call", "teardown"):
            reports.append(
                pytest.TestReport(nodeid, location, {}, "passed", None, when, duration=0.0001)
            )
    return reports


@pytest.fixture(scope="module")
def reports() -> list[pytest.TestReport]:
    return _reports(TESTS)


def _record(reports: list[pytest.TestReport]) -> RunRecord:
    recorder = Recorder()
    for report in reports:
        recorder.record(report)
    run = RunInfo(id="bench", started_at="2025-01-31T12:00:00.000000Z",
                  finished_at="2025-01-31T12:00:05.000000Z", duration_s=5.0, exit_status=0)  # fmt: skip
    return RunRecord(run=run, tests=recorder.results())


@pytest.fixture(scope="module")
def record(reports) -> RunRecord:
    return _record(reports)


@pytest.fixture(scope="module")
def quality(record) -> dict[str, Any]:
    return analyze_run(record).to_dict()


class _StubConfig:
    """What finish_run reads from pytest.Config: default options, no hook implementations."""

    def __init__(self, root: Path) -> None:
        self.rootpath = root
        self.invocation_params = SimpleNamespace(dir=root)
        self.hook = SimpleNamespace(
            pytest_enterprise_extend_report=lambda **kwargs: None,
            pytest_enterprise_run_finished=lambda **kwargs: None,
        )
        self._options = {"enterprise_output": "out", "enterprise_json": None, "enterprise_no_history": False,
                         "enterprise_dpmo_fail_above": None, "enterprise_rty_fail_under": None}  # fmt: skip

    def getoption(self, name: str) -> Any:
        return self._options[name]


def _row(benchmark, label: str, per: int = 1, unit: str = "ms") -> None:
    value = benchmark.stats.stats.median / per
    shown = value * (1e6 if unit == "µs" else 1e3)
    benchmark.extra_info[f"median_{'us' if unit == 'µs' else 'ms'}"] = round(shown, 3)
    h.RESULTS.setdefault(TABLE, []).append(f"{label:<52} {shown:9.2f} {unit}")


@pytest.mark.benchmark(group=GROUP)
def test_recorder_record(benchmark, reports) -> None:
    """The per-report hook: 3 reports per test."""

    def fresh():
        return (Recorder(),), {}

    def feed(recorder: Recorder) -> None:
        record = recorder.record
        for report in reports:
            record(report)

    benchmark.pedantic(feed, setup=fresh, rounds=15, warmup_rounds=1)
    _row(benchmark, f"Recorder.record, per report ({len(reports):,} reports)", per=len(reports), unit="µs")


@pytest.mark.benchmark(group=GROUP)
def test_analyze_run(benchmark, record) -> None:
    benchmark.pedantic(analyze_run, args=(record,), rounds=10, warmup_rounds=1)
    _row(benchmark, "analyze_run")


def _serialise(record: RunRecord, quality: dict[str, Any]) -> str:
    """The report's JSON text, made the way finish_run makes it (streamed per test when the
    product streams, else one dict and one dumps)."""
    chunks, header = getattr(json_report, "report_chunks", None), getattr(json_report, "report_header", None)
    if chunks is not None and header is not None:
        return "".join(chunks(header(record, quality, [], None), record.tests))
    report = build_report(record, quality, [], None)
    dumps = getattr(json_report, "dumps_report", None)
    return dumps(report) if dumps else json.dumps(report, separators=(",", ":"), allow_nan=False)


def _save(path: Path, record: RunRecord, quality: dict[str, Any], report_text: str) -> None:
    """What finish_run does with the history store: save the run (with the report text in the
    form this version of the store takes), then purge (30 days)."""
    with HistoryStore(path) as store:
        parameters = inspect.signature(store.save_run).parameters
        if "report_zlib" in parameters:
            store.save_run(record, quality, detailed=True, report_zlib=zlib.compress(report_text.encode(), 1))
        elif "report_json" in parameters:
            store.save_run(record, quality, detailed=True, report_json=report_text)
        else:
            store.save_run(record, quality, detailed=True)
        store.purge(30)


@pytest.mark.benchmark(group=GROUP)
def test_serialise_report(benchmark, record, quality) -> None:
    text = benchmark.pedantic(_serialise, args=(record, quality), rounds=10, warmup_rounds=1)
    benchmark.extra_info["report_bytes"] = len(text)
    _row(benchmark, f"JSON report text, built + serialised ({len(text) / 1e6:.1f} MB)")


@pytest.mark.benchmark(group=GROUP)
def test_save_history_fresh_store(benchmark, record, quality, tmp_path: Path) -> None:
    counter = iter(range(1_000_000))
    report_text = _serialise(record, quality)

    def fresh():
        return (tmp_path / f"history-{next(counter)}.db", record, quality, report_text), {}

    benchmark.pedantic(_save, setup=fresh, rounds=8, warmup_rounds=1)
    _row(benchmark, "HistoryStore.save_run + purge (fresh store)")


@pytest.mark.benchmark(group=GROUP)
def test_finish_run(benchmark, reports, tmp_path: Path) -> None:
    """All of session finish: environment, analysis, gates, history (fresh store), report."""
    settings = EnterpriseConfig.load(None, rootdir=tmp_path, env={})
    config = _StubConfig(tmp_path)

    def fresh():
        shutil.rmtree(tmp_path / ".enterprise", ignore_errors=True)
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        return (config, settings, _record(reports)), {}

    benchmark.pedantic(reporting.finish_run, setup=fresh, rounds=6, warmup_rounds=1)
    assert (tmp_path / "out" / "enterprise-report.json").is_file()
    _row(benchmark, "reporting.finish_run, all of it")


def _traced_peak(step) -> tuple[int, int]:
    """(bytes still allocated after ``step``, peak bytes allocated during it)."""
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()


@pytest.mark.benchmark(group=f"finish memory: {TESTS:,} tests")
def test_finish_memory(benchmark, reports, record, quality, tmp_path: Path) -> None:
    """Python heap retained by the recorded results, and the extra peaks at session finish."""
    settings = EnterpriseConfig.load(None, rootdir=tmp_path, env={})
    config = _StubConfig(tmp_path)
    measured: dict[str, tuple[int, int]] = {}

    def measure() -> None:
        holder: list[RunRecord] = []
        measured["record"] = _traced_peak(lambda: holder.append(_record(reports)))
        fresh = holder.pop()
        measured["finish_run"] = _traced_peak(lambda: reporting.finish_run(config, settings, fresh))
        measured["report"] = _traced_peak(lambda: _serialise(record, quality))
        report_text = _serialise(record, quality)
        measured["history"] = _traced_peak(
            lambda: _save(tmp_path / "history.db", record, quality, report_text)
        )

    benchmark.pedantic(measure, rounds=1)
    retained = measured["record"][0]
    benchmark.extra_info.update({f"{name}_bytes": list(value) for name, value in measured.items()})
    mib = 2**20
    h.RESULTS.setdefault(TABLE, []).extend([
        f"{'recorded results, retained (tracemalloc)':<52} {retained / mib:9.2f} MiB"
        f" ({retained / TESTS:,.0f} B per test)",
        f"{'finish_run, peak on top of them (tracemalloc)':<52} {measured['finish_run'][1] / mib:9.2f} MiB"
        f" ({measured['finish_run'][1] / TESTS:,.0f} B per test)",
        f"{'  JSON report text (as one string), peak':<52} {measured['report'][1] / mib:9.2f} MiB",
        f"{'  history save (report given), peak':<52} {measured['history'][1] / mib:9.2f} MiB",
    ])  # fmt: skip
