"""Targets of quality over time (docs/spc.md, docs/flaky.md), on 1,000 stored runs × 2,000 tests:

* ``enterprise telemetry spc`` and ``telemetry flaky`` over the whole history: at most 1 s
  together (their analyses: every series' control charts, and flaky verdicts over all 1,000
  runs, not just the default window of 50);
* what a pytest run's finish adds for them: at most 20 ms, opening the store included (the
  SPC of its series and the flaky history of its failed tests).

The history is built once per session through the store's own ``save_run``: each run has
about 1 % failing tests, a few alternating (flaky) ones and now and then a rerun. Each stored
run's report is a small placeholder, as neither analysis reads reports.
"""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest

from pytest_enterprise.config import EnterpriseConfig
from pytest_enterprise.model import Attempt, GitInfo, OpportunityDefinition, Phase, RunInfo, RunRecord, TestResult
from pytest_enterprise.quality.metrics import analyze_run
from pytest_enterprise.store.sqlite import HistoryStore
from pytest_enterprise.trends import process_flaky, process_series, run_trends

import _harness as h

RUNS = h.env_int("BENCH_HISTORY_RUNS", 1_000)
TESTS = h.env_int("BENCH_HISTORY_TESTS", 2_000)
GROUP = f"history: {RUNS:,} runs x {TESTS:,} tests"
TABLE = f"quality over time at {RUNS:,} runs x {TESTS:,} tests (median)"
FLAKY = 5  # tests that fail in about every other run
CLI_LIMIT_S = 1.0
FINISH_LIMIT_MS = 20.0

_PASSED = [Phase("setup", "passed", 0.0001), Phase("call", "passed", 0.001), Phase("teardown", "passed", 0.0001)]


def _nodeid(index: int) -> str:
    return f"tests/test_module_{index // 100:03d}.py::test_case_{index % 100:04d}"


def _failed(nodeid: str, *after: str) -> TestResult:
    attempts = [Attempt(1, "failed", [Phase("call", "failed", 0.01)], category="failure", exception_type="AssertionError")]
    attempts += [Attempt(2 + i, outcome, list(_PASSED)) for i, outcome in enumerate(after)]
    return TestResult(nodeid, attempts)


def _record(number: int, rng: random.Random, passed: list[TestResult]) -> RunRecord:
    tests = list(passed)
    # ~1 % real failures: a block of 50 runs breaks its own 20 tests, which stay broken
    # through the block (a failure that comes and goes on one commit would be flakiness).
    broken = random.Random(number // 50).sample(range(FLAKY, TESTS), TESTS // 100)
    for index in broken:
        tests[index] = _failed(tests[index].nodeid)
    for index in range(FLAKY):
        if rng.random() < 0.5:
            tests[index] = _failed(tests[index].nodeid, "passed") if rng.random() < 0.2 else _failed(tests[index].nodeid)
    run = RunInfo(
        id=f"run-{number:05d}",
        started_at=f"2026-{1 + number // 28 // 24 % 12:02d}-{1 + number // 24 % 28:02d}T{number % 24:02d}:00:00Z",
        duration_s=60 + rng.random() * 5,
        git=GitInfo(commit=f"{number // 5:040x}", branch="main", dirty=False),  # blocks of 50 span whole commits
    )
    return RunRecord(run=run, tests=tests, opportunity_definition=OpportunityDefinition())


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "history.db"
    rng = random.Random(20261203)
    passed = [TestResult(_nodeid(i), [Attempt(1, "passed", list(_PASSED))]) for i in range(TESTS)]
    placeholder = zlib.compress(b'{"placeholder": true}')
    with HistoryStore(path) as store:
        for number in range(RUNS):
            record = _record(number, rng, passed)
            store.save_run(record, analyze_run(record).to_dict(), report_zlib=placeholder)
    return path


@pytest.fixture(scope="module")
def telemetry():
    return EnterpriseConfig().telemetry


@pytest.mark.benchmark(group=GROUP)
def test_spc_and_flaky_over_the_whole_history(benchmark, history: Path, telemetry) -> None:
    def analyse() -> tuple[int, int]:
        with HistoryStore(history) as store:
            series = process_series(store, "pytest", telemetry)
            flaky = process_flaky(store, "pytest", telemetry, runs=RUNS)
        return len(series[0].stage.runs), len(flaky.flaky)

    runs, flaky = benchmark.pedantic(analyse, rounds=5, warmup_rounds=1)
    assert runs == RUNS and flaky == FLAKY
    seconds = benchmark.stats.stats.median
    h.RESULTS.setdefault(TABLE, []).append(f"{'telemetry spc + flaky (all runs)':<44} {seconds * 1000:8.1f} ms")
    h.check("spc + flaky over the whole history", seconds, CLI_LIMIT_S, "s")


@pytest.mark.benchmark(group=GROUP)
def test_what_a_run_finish_adds(benchmark, history: Path, telemetry) -> None:
    rng = random.Random(7)
    passed = [TestResult(_nodeid(i), [Attempt(1, "passed", list(_PASSED))]) for i in range(TESTS)]
    record = _record(RUNS, rng, passed)
    for index in range(FLAKY):  # make sure the flaky tests fail in this run, so they are judged
        record.tests[index] = _failed(record.tests[index].nodeid)
    quality = analyze_run(record)

    def finish() -> int:
        with HistoryStore(history) as store:
            trends = run_trends(store, record, quality, telemetry)
        return len(trends.flaky_failures)

    assert benchmark.pedantic(finish, rounds=20, warmup_rounds=2) == FLAKY
    ms = benchmark.stats.stats.median * 1000
    h.RESULTS.setdefault(TABLE, []).append(f"{'run finish: SPC line + flaky labels':<44} {ms:8.1f} ms")
    h.check("history analysis at a run's finish", ms, FINISH_LIMIT_MS, "ms")
