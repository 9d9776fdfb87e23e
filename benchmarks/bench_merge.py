"""``enterprise merge`` of 8 shards of 10,000 tests each: wall time <= 1 s, peak RSS <= 200 MB.

The shard reports are made by the product's own report writer (``build_report``) from run
records shaped like a real run's (one test in 50 fails, one in 100 is skipped), so they are
byte for byte what the plugin writes. The merge runs as the user runs it, the ``enterprise``
command in a fresh process (``_harness.run_measured``: wall time and peak RSS from
``getrusage``), so the numbers include the interpreter's start and the imports. Knobs:
``BENCH_MERGE_SHARDS`` (8), ``BENCH_MERGE_TESTS`` (10,000 per shard), ``BENCH_MERGE_ROUNDS`` (3),
``BENCH_MERGE_REALISTIC`` (1: each test its own durations, to the microsecond, as real runs have
them; 0: a few repeated values).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

import _harness as h
from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
from pytest_enterprise.quality.metrics import analyze_run
from pytest_enterprise.report.json_report import build_report, dumps_report

SHARDS = h.env_int("BENCH_MERGE_SHARDS", 8)
TESTS = h.env_int("BENCH_MERGE_TESTS", 10_000)
ROUNDS = h.env_int("BENCH_MERGE_ROUNDS", 3)
# Durations as a real run has them (default), or the few repeated values of the first version
# of this benchmark (BENCH_MERGE_REALISTIC=0), on which the reader's cache of test texts hits
# nearly every test and so flatters it.
REALISTIC = h.env_int("BENCH_MERGE_REALISTIC", 1) == 1


def _test(number: int) -> TestResult:
    nodeid = f"tests/test_module_{number // 100:04d}.py::test_{number:06d}"
    if number % 100 == 0:
        return TestResult(nodeid, [Attempt(1, "skipped", [Phase("setup", "skipped", 0.0001)])])
    if number % 50 == 0:
        phases = [Phase("setup", "passed", 0.0001), Phase("call", "failed", 0.002), Phase("teardown", "passed", 0.0001)]
        return TestResult(nodeid, [Attempt(1, "failed", phases, category="failure", exception_type="AssertionError", message="assert 0")])
    if not REALISTIC:
        phases = [Phase("setup", "passed", 0.0001), Phase("call", "passed", 0.0003 + number % 7 * 1e-6),
                  Phase("teardown", "passed", 0.0001)]  # fmt: skip
        return TestResult(nodeid, [Attempt(1, "passed", phases)], worker=f"gw{number % 4}")
    # As a real run records them: three durations to the microsecond, nearly all distinct.
    rng = random.Random(number)
    setup, call, teardown = (round(rng.uniform(low, high), 6) for low, high in ((5e-5, 5e-4), (1e-4, 5e-2), (5e-5, 5e-4)))
    phases = [Phase("setup", "passed", setup), Phase("call", "passed", call), Phase("teardown", "passed", teardown)]
    return TestResult(nodeid, [Attempt(1, "passed", phases)], worker=f"gw{number % 4}")


def _shards(folder: Path) -> list[Path]:
    paths = []
    for shard in range(SHARDS):
        run = RunInfo(
            id=f"shard-{shard}", started_at=f"2026-01-01T00:00:{shard:02d}.000000Z", finished_at="2026-01-01T00:05:00.000000Z",
            duration_s=300 - shard, exit_status=1, python="CPython 3.11.7", platform="linux-x86_64", workers=4,
        )  # fmt: skip
        record = RunRecord(run, [_test(shard * TESTS + number) for number in range(TESTS)])
        path = folder / f"shard-{shard}.json"
        path.write_text(dumps_report(build_report(record, analyze_run(record).to_dict(), [], None)) + "\n")
        paths.append(path)
    return paths


@pytest.mark.benchmark(group="merge", timer=h.REPLAY)
def test_merge_eight_shards(benchmark, tmp_path: Path):
    shards = _shards(tmp_path)
    command = [sys.executable, "-m", "pytest_enterprise.cli.main", "merge", *map(str, shards), "--output", str(tmp_path / "merged.json")]
    runs = [h.run_measured(command, cwd=tmp_path, log=tmp_path / f"merge-{index}.log") for index in range(ROUNDS)]
    for measured in runs:
        assert measured.returncode == 0, measured.output
    h.replay(benchmark, [measured.wall_s for measured in runs])
    wall = h.median(measured.wall_s for measured in runs)
    rss_mb = max(measured.maxrss_kib for measured in runs) / 1024
    h.RESULTS.setdefault("merge", []).append(
        f"enterprise merge, {SHARDS} shards x {TESTS:,} tests ({'real' if REALISTIC else 'repeated'} durations):"
        f" median wall {wall:.2f} s, peak RSS {rss_mb:.0f} MB ({ROUNDS} rounds)"
    )
    h.check(f"merge {SHARDS}x{TESTS} wall time", wall, 1.0, "s")
    h.check(f"merge {SHARDS}x{TESTS} peak RSS", rss_mb, 200.0, "MB")
