"""Target 4: ``SixSigmaTelemetry.record_unit_processed`` costs at most 1 µs per call.

Each round is a plain ``for`` loop of 10,000 calls through a bound method; the per-call time
is the round's time divided by 10,000, so the loop's own ~20 ns per iteration is counted in
(conservative). The benchmark rows are per round of 10,000 calls.
"""

from __future__ import annotations

import pytest

from pytest_enterprise.quality.telemetry import SixSigmaTelemetry

import _harness as h

CALLS = 10_000
LIMIT_US = 1.0
ROUNDS = 50


class _NullStore:
    """Anything with ``record_events`` is used as the store as is; flush is never called."""

    def record_events(self, process, events):  # pragma: no cover - not reached
        return 0


def _loop(call):
    def run() -> None:
        for _ in range(CALLS):
            call()

    return run


def _per_call_us(benchmark) -> float:
    return benchmark.stats.stats.median / CALLS * 1e6


@pytest.mark.benchmark(group="telemetry: 10,000 calls per round")
@pytest.mark.parametrize(
    "case", ["record_unit_processed()", "record_unit_processed(False)", "record_unit_processed() with store"]
)
def test_record_unit_processed(benchmark, case: str) -> None:
    telemetry = SixSigmaTelemetry("bench", store=_NullStore() if "store" in case else None)
    record = telemetry.record_unit_processed
    call = (lambda: record(False)) if "False" in case else record
    benchmark.pedantic(_loop(call), rounds=ROUNDS, warmup_rounds=3)
    per_call = _per_call_us(benchmark)
    benchmark.extra_info["us_per_call"] = round(per_call, 4)
    h.RESULTS.setdefault("SixSigmaTelemetry, median µs per call", []).append(f"{case:<38} {per_call:.3f} µs")
    h.check(f"SixSigmaTelemetry.{case}", per_call, LIMIT_US, "µs")


@pytest.mark.benchmark(group="telemetry: 10,000 calls per round")
def test_record_defect(benchmark) -> None:
    """No target; for comparison with record_unit_processed."""
    telemetry = SixSigmaTelemetry("bench")
    record = telemetry.record_defect
    benchmark.pedantic(_loop(lambda: record("timeout", severity="high")), rounds=ROUNDS, warmup_rounds=3)
    per_call = _per_call_us(benchmark)
    benchmark.extra_info["us_per_call"] = round(per_call, 4)
    h.RESULTS.setdefault("SixSigmaTelemetry, median µs per call", []).append(
        f"{'record_defect(...) (no target)':<38} {per_call:.3f} µs"
    )
