"""Targets 1 and 2: wall-time overhead on a generated 5,000-test trivial suite.

Every variant runs ``python -m pytest -q -p no:cacheprovider -p no:benchmark <flags>`` in a
fresh process on the same suite (50 files x 100 trivial tests). The variants are interleaved
round-robin, with the order rotated every round, and the ratios are taken against the plain
baseline (``-p no:enterprise``) measured in the same session. All installed plugins stay
loaded in every variant; only the flags differ.

pytest-benchmark shows one row per variant; its rounds are the wall times of the subprocess
runs (replayed through ``_harness.REPLAY``), so its min/median/max are real run times.
"""

from __future__ import annotations

import pytest

import _harness as h

#: Variant -> the most its median wall time may be, as a ratio of the baseline's.
TARGETS = {"disabled": 1.01, "enterprise": 1.05, "enterprise-no-history": 1.05}
TABLE = "5,000-test suite, median of interleaved rounds (ratios vs baseline)"
MIB = 1024


@pytest.mark.benchmark(group="suite-5000 wall time (s)", timer=h.REPLAY)
@pytest.mark.parametrize("variant", list(h.VARIANTS))
def test_suite_5000(benchmark, overhead_matrix, variant: str) -> None:
    runs = overhead_matrix[variant]
    h.replay(benchmark, [m.wall_s for m in runs])

    wall = h.median(m.wall_s for m in runs)
    cpu = h.median(m.cpu_s for m in runs)
    rss = h.median(m.maxrss_kib for m in runs)
    base_rss = h.median(m.maxrss_kib for m in overhead_matrix["baseline"])
    info = {
        "description": h.VARIANTS[variant].description,
        "rounds": len(runs),
        "median_wall_s": round(wall, 4),
        "wall_ratio": round(h.ratio_of_medians(overhead_matrix, variant), 4),
        "paired_wall_ratio": round(h.paired_ratio(overhead_matrix, variant), 4),
        "min_wall_ratio": round(min(m.wall_s for m in runs) / min(m.wall_s for m in overhead_matrix["baseline"]), 4),
        "median_cpu_s": round(cpu, 4),
        "cpu_ratio": round(h.ratio_of_medians(overhead_matrix, variant, attribute="cpu_s"), 4),
        "median_peak_rss_mib": round(rss / MIB, 1),
        "peak_rss_delta_mib": round((rss - base_rss) / MIB, 1),
        "wall_s": [round(m.wall_s, 4) for m in runs],
    }
    benchmark.extra_info.update(info)

    lines = h.RESULTS.setdefault(TABLE, [
        f"{'variant':<22} {'wall s':>7} {'ratio':>6} {'paired':>6} {'min':>6} {'cpu s':>7} {'ratio':>6}"
        f" {'RSS MiB':>8} {'dRSS':>6}",
    ])  # fmt: skip
    lines.append(
        f"{variant:<22} {wall:7.3f} {info['wall_ratio']:6.3f} {info['paired_wall_ratio']:6.3f} {info['min_wall_ratio']:6.3f}"
        f" {cpu:7.3f} {info['cpu_ratio']:6.3f} {rss / MIB:8.1f} {info['peak_rss_delta_mib']:+6.1f}"
    )

    if variant in TARGETS:
        h.check(f"wall-time ratio of {variant} vs baseline, 5,000 tests", info["wall_ratio"],
                TARGETS[variant], "x")  # fmt: skip
