"""Fixed and per-test cost of ``--enterprise-report`` beside ``--junitxml`` and pytest-reportlog.

A single suite size mixes two costs that scale differently: the fixed start-up and finish cost
(imports, configuration, store creation), which dominates small suites, and the per-test cost
(recording each report, one report entry and one stored row per test), which dominates large
ones. Here every variant runs on suites of several sizes (``BENCH_FIT_SIZES``, default
0, 2,000 and 10,000 trivial tests, 100 per file) and each variant's cost is fitted as

    cost(n) = fixed + n * per_test

by least squares. The cost is CPU time (user + sys, from ``getrusage``) by default: on a
shared machine wall time also counts the time the scheduler gives to other processes. All
(size, variant) runs are interleaved within a round, and the variant order rotates each round.

Reported per variant: the fixed cost and its excess over plain pytest, the per-test cost and
its ratio to plain pytest's (the target: ``--enterprise-report`` <= 1.05), the median of the
per-round ratios (each round is fitted on its own, so slow phases of the machine cancel), and
the largest residual of the fit (how straight the line is).

``BENCH_INSTRUCTIONS=1`` measures instructions instead, each run once under Valgrind's
cachegrind (deterministic, robust to a noisy machine, but about 40x slower; default sizes then
``BENCH_INSTRUCTION_SIZES`` = 0 and 2,000).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

import _harness as h

VARIANTS = ("baseline", "enterprise", "junitxml", "reportlog")
#: Variant -> the most its per-test cost may be, as a ratio of plain pytest's per-test cost.
TARGETS = {"enterprise": 1.05}
INSTRUCTIONS = os.environ.get("BENCH_INSTRUCTIONS", "") not in ("", "0")
TESTS_PER_FILE = 100


def _sizes() -> list[int]:
    default = "0,2000" if INSTRUCTIONS else "0,2000,10000"
    name = "BENCH_INSTRUCTION_SIZES" if INSTRUCTIONS else "BENCH_FIT_SIZES"
    sizes = sorted({int(part) for part in os.environ.get(name, default).split(",") if part.strip()})
    if len(sizes) < 2 or any(size % TESTS_PER_FILE for size in sizes):
        raise pytest.UsageError(f"{name}: at least two sizes, each a multiple of {TESTS_PER_FILE}")
    return sizes


def fit(points: list[tuple[int, float]]) -> tuple[float, float, float]:
    """Least-squares line through ``(n, cost)``: (fixed, per_test, largest |residual|)."""
    count = len(points)
    mean_n = sum(n for n, _ in points) / count
    mean_c = sum(c for _, c in points) / count
    spread = sum((n - mean_n) ** 2 for n, _ in points)
    slope = sum((n - mean_n) * (c - mean_c) for n, c in points) / spread
    intercept = mean_c - slope * mean_n
    residual = max(abs(c - (intercept + slope * n)) for n, c in points)
    return intercept, slope, residual


def _cost(measurement: h.Measurement) -> float:
    if INSTRUCTIONS:
        assert measurement.instructions is not None, measurement.output[-2000:]
        return float(measurement.instructions)
    return measurement.cpu_s


@pytest.fixture(scope="session")
def fit_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[int, list[h.Measurement]]]:
    """variant -> size -> one measurement per round."""
    if importlib.util.find_spec("pytest_reportlog") is None:
        pytest.skip("pytest-reportlog is not installed (it is in the bench extra)")
    sizes = _sizes()
    suites = {n: h.generate_suite(tmp_path_factory.mktemp(f"suite-{n}"), n // TESTS_PER_FILE, TESTS_PER_FILE)
              for n in sizes}  # fmt: skip
    work = tmp_path_factory.mktemp("fit-runs")
    variants = [h.VARIANTS[name] for name in VARIANTS]
    # Warm-up, not recorded: every variant once on the smallest suite (the plugins' .pyc files),
    # then each suite once (its rewritten .pyc files), and the page cache.
    for variant in variants:
        h.run_variant(variant, suites[sizes[0]], work, sizes[0])
    for n, suite in suites.items():
        h.run_variant(h.VARIANTS["baseline"], suite, work, n)
    h.INSTRUCTIONS["on"] = INSTRUCTIONS
    try:
        rounds = 1 if INSTRUCTIONS else h.env_int("BENCH_FIT_ROUNDS", 5)
        runs: dict[str, dict[int, list[h.Measurement]]] = {v.name: {n: [] for n in sizes} for v in variants}
        for number in range(rounds):
            for n, suite in suites.items():
                shift = (number + n // TESTS_PER_FILE) % len(variants)
                for variant in [*variants[shift:], *variants[:shift]]:
                    runs[variant.name][n].append(h.run_variant(variant, suite, work, n))
    finally:
        h.INSTRUCTIONS["on"] = False
    return runs


def _round_fits(runs: dict[int, list[h.Measurement]]) -> list[tuple[float, float, float]]:
    rounds = len(next(iter(runs.values())))
    return [fit([(n, _cost(by_round[r])) for n, by_round in runs.items()]) for r in range(rounds)]


@pytest.mark.benchmark(group="per-test cost (s per test, one fit per round)", timer=h.REPLAY)
@pytest.mark.parametrize("variant", VARIANTS)
def test_fixed_and_per_test(benchmark, fit_runs, variant: str) -> None:
    runs, base_runs = fit_runs[variant], fit_runs["baseline"]
    medians = [(n, h.median(_cost(m) for m in by_round)) for n, by_round in runs.items()]
    base_medians = [(n, h.median(_cost(m) for m in by_round)) for n, by_round in base_runs.items()]
    fixed, per_test, residual = fit(medians)
    base_fixed, base_per_test, _ = fit(base_medians)
    rounds = _round_fits(runs)
    paired = h.median(mine[1] / base[1] for mine, base in zip(rounds, _round_fits(base_runs), strict=True))
    # pytest-benchmark's table: each round's fitted per-test cost (CPU seconds; or instructions
    # scaled by 1e-9, so that its "s" column reads as giga-instructions).
    scale = 1e-9 if INSTRUCTIONS else 1.0
    h.replay(benchmark, [max(r[1] * scale, 0.0) for r in rounds])

    largest = max(runs)
    unit, per_unit = ("instructions", 1.0) if INSTRUCTIONS else ("CPU time", 1e3)
    info = {
        "description": h.VARIANTS[variant].description,
        "measure": "instructions (cachegrind)" if INSTRUCTIONS else "CPU seconds (user + sys)",
        "sizes": sorted(runs),
        "rounds": len(rounds),
        "fixed": fixed,
        "fixed_excess": fixed - base_fixed,
        "per_test": per_test,
        "per_test_ratio": round(per_test / base_per_test, 4),
        "paired_per_test_ratio": round(paired, 4),
        "per_test_round_range": [min(r[1] for r in rounds), max(r[1] for r in rounds)],
        "largest_residual": residual,
        "total_ratio_at_largest": round(dict(medians)[largest] / dict(base_medians)[largest], 4),
        "median_cost": {str(n): cost for n, cost in medians},
    }
    benchmark.extra_info.update(info)

    title = (f"fixed + per-test cost, {info['measure']}, sizes {', '.join(f'{n:,}' for n in sorted(runs))},"
             f" {len(rounds)} round(s)")  # fmt: skip
    if INSTRUCTIONS:
        header = (f"{'variant':<11} {'fixed Minstr':>12} {'+fixed':>8} {'per test':>9} {'ratio':>6}"
                  f" {'resid %':>7} {f'total ratio @{largest:,}':>19}")  # fmt: skip
        line = (f"{variant:<11} {fixed / 1e6:12.1f} {(fixed - base_fixed) / 1e6:+8.1f} {per_test:9.0f}"
                f" {info['per_test_ratio']:6.3f} {residual / dict(medians)[largest] * 100:7.2f}"
                f" {info['total_ratio_at_largest']:19.3f}")  # fmt: skip
    else:
        header = (f"{'variant':<11} {'fixed ms':>9} {'+fixed':>7} {'per test µs':>11} {'ratio':>6} {'paired':>6}"
                  f" {'round range µs':>15} {'resid ms':>8} {f'total ratio @{largest:,}':>19}")  # fmt: skip
        low, high = info["per_test_round_range"]
        line = (f"{variant:<11} {fixed * per_unit:9.1f} {(fixed - base_fixed) * per_unit:+7.1f}"
                f" {per_test * 1e6:11.2f} {info['per_test_ratio']:6.3f} {paired:6.3f}"
                f" {f'{low * 1e6:.1f}-{high * 1e6:.1f}':>15} {residual * per_unit:8.1f}"
                f" {info['total_ratio_at_largest']:19.3f}")  # fmt: skip
    h.RESULTS.setdefault(title, [header]).append(line)

    if variant in TARGETS:
        h.check(f"per-test cost ratio of {variant} vs plain pytest ({unit})", info["per_test_ratio"],
                TARGETS[variant], "x")  # fmt: skip
