"""The guide's Python API: SixSigmaTelemetry and EnterpriseAnalyzerIntegration."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from pytest_enterprise.integration import EnterpriseAnalyzerIntegration
from pytest_enterprise.store.sqlite import HistoryStore
from pytest_enterprise.telemetry import SixSigmaTelemetry, snapshot_from_events


def test_guide_example():
    telemetry = SixSigmaTelemetry("code_quality_gates")
    for _ in range(99):
        telemetry.record_unit_processed(passed=True)
    telemetry.record_unit_processed(passed=False)
    telemetry.record_defect("static_analysis_failure", severity="high", category="code_quality")
    metrics = telemetry.generate_metrics_snapshot()
    assert metrics.process_name == "code_quality_gates"
    assert metrics.units == 100 and metrics.defects == 1
    assert metrics.dpmo == pytest.approx(10_000)
    assert metrics.rty == pytest.approx(99.0)  # percent
    assert metrics.sigma_level == pytest.approx(3.826, abs=1e-3)  # isf(0.01) + 1.5
    assert metrics.pareto[0].category == "code_quality"
    assert metrics.to_dict()["taken_at"].endswith("Z")


def test_importable_from_package_root():
    import pytest_enterprise

    assert pytest_enterprise.SixSigmaTelemetry is SixSigmaTelemetry


def test_empty_snapshot_is_no_data():
    metrics = SixSigmaTelemetry("idle").generate_metrics_snapshot()
    assert metrics.units == 0 and metrics.dpmo is None and metrics.quality_level == "no data"


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="process_name"):
        SixSigmaTelemetry("")
    with pytest.raises(ValueError, match="opportunities_per_unit"):
        SixSigmaTelemetry("p", opportunities_per_unit=0)
    with pytest.raises(ValueError, match="severity 'urgent'"):
        SixSigmaTelemetry("p").record_defect("x", severity="urgent")


def test_threads_lose_nothing():
    telemetry = SixSigmaTelemetry("threads")
    barrier = threading.Barrier(8)

    def work(index: int) -> None:
        barrier.wait()
        for number in range(10_000):
            telemetry.record_unit_processed(passed=(number + index) % 100 != 0)
            if number % 1000 == 0:
                telemetry.record_defect("race")

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    metrics = telemetry.generate_metrics_snapshot()
    assert metrics.units == 80_000
    assert metrics.fpy == pytest.approx(99.0)
    assert metrics.defects == 80


def test_persistence_flushes_to_store_and_rebuilds(tmp_path):
    path = tmp_path / "history.db"
    telemetry = SixSigmaTelemetry("gates", store=path)
    telemetry.record_unit_processed(passed=True)
    telemetry.record_unit_processed(passed=False)
    telemetry.record_defect("lint", "E501 line too long", severity="low", category="style")
    assert telemetry.flush() == 3
    assert telemetry.flush() == 0
    with HistoryStore(path) as store:
        events = store.events("gates")
        assert store.processes() == ["gates"]
    assert [event.kind for event in events] == ["unit", "unit", "defect"]
    assert events[2].message == "E501 line too long"
    rebuilt = snapshot_from_events("gates", events)
    live = telemetry.generate_metrics_snapshot()
    assert (rebuilt.units, rebuilt.defects, rebuilt.fpy) == (live.units, live.defects, live.fpy)


def test_without_store_flush_is_a_no_op():
    telemetry = SixSigmaTelemetry("memory-only")
    telemetry.record_unit_processed()
    assert telemetry.flush() == 0


@dataclass
class Violation:
    type: str
    message: str
    severity: str = "high"


@dataclass
class GateResult:
    passed: bool
    violations: list = field(default_factory=list)


class PolicyEngine:
    threshold = 3

    def evaluate(self, findings: int) -> GateResult:
        violations = [Violation("complexity", f"finding {n}") for n in range(findings)]
        return GateResult(passed=findings < self.threshold, violations=violations)

    def describe(self) -> str:
        return "engine"


def test_wrapped_policy_engine_records_units_and_defects():
    integration = EnterpriseAnalyzerIntegration()
    engine = PolicyEngine()
    wrapped = integration.wrap_policy_engine(engine)
    first = wrapped.evaluate(0)
    second = wrapped.evaluate(4)
    assert first == engine.evaluate(0) and second == engine.evaluate(4)  # results unchanged
    assert wrapped.describe() == "engine" and wrapped.threshold == 3  # pass-through
    metrics = integration.telemetry.generate_metrics_snapshot()
    assert (metrics.units, metrics.defects) == (2, 4)
    assert metrics.fpy == pytest.approx(50.0)
    assert metrics.pareto[0].category == "complexity"


def test_wrapped_engine_accepts_dict_violations():
    class DictEngine:
        def check(self):
            return GateResult(passed=False, violations=[{"rule": "R1", "severity": "LOW"}])

    integration = EnterpriseAnalyzerIntegration(process_name="dicts")
    integration.wrap_policy_engine(DictEngine()).check()
    metrics = integration.telemetry.generate_metrics_snapshot()
    assert (metrics.units, metrics.defects, metrics.pareto[0].category) == (1, 1, "R1")
