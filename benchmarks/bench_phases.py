"""Where the ``--enterprise-report`` overhead lands, phase by phase (no target; diagnostics).

The 5,000-test suite runs with the ``_phase_timer`` plugin (``-p _phase_timer``) under the
baseline and the enabled plugin, interleaved, ``BENCH_PHASE_ROUNDS`` rounds (default 5). The
table gives each phase's median for both and the difference, which adds up (up to noise) to
the overhead measured by bench_overhead.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import _harness as h
import _phase_timer

VARIANTS = ("baseline", "enterprise")
TABLE = "5,000-test suite, median seconds per phase (with -p _phase_timer)"


@pytest.fixture(scope="session")
def phase_runs(suite_5000: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, float]]]:
    work = tmp_path_factory.mktemp("phase-runs")
    marks_file = work / "marks.json"
    env = {"PYTHONPATH": str(Path(__file__).parent), "BENCH_PHASES_FILE": str(marks_file)}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    for number in range(h.env_int("BENCH_PHASE_ROUNDS", 5)):
        order = VARIANTS if number % 2 == 0 else VARIANTS[::-1]
        for name in order:
            marks_file.unlink(missing_ok=True)
            run = h.run_variant(h.VARIANTS[name], suite_5000, work, 5000, ("-p", "_phase_timer"), env)
            marks = json.loads(marks_file.read_text())
            results[name].append({"wall": run.wall_s, **_phase_timer.phases(marks, run.started, run.ended)})
    return results


@pytest.mark.benchmark(group="suite-5000 session finish (s), -p _phase_timer", timer=h.REPLAY)
@pytest.mark.parametrize("variant", VARIANTS)
def test_phases(benchmark, phase_runs, variant: str) -> None:
    runs = phase_runs[variant]
    h.replay(benchmark, [run["session finish (w/o summary)"] for run in runs])
    medians = {phase: h.median(run[phase] for run in runs) for phase in runs[0]}
    benchmark.extra_info.update({phase: round(value, 4) for phase, value in medians.items()})
    if variant != VARIANTS[-1]:
        return
    base = {phase: h.median(run[phase] for run in phase_runs["baseline"]) for phase in runs[0]}
    lines = h.RESULTS.setdefault(TABLE, [f"{'phase':<36} {'baseline':>9} {'enabled':>9} {'delta':>8}"])
    for phase, value in medians.items():
        lines.append(f"{phase:<36} {base[phase]:9.3f} {value:9.3f} {value - base[phase]:+8.3f}")
