"""The guide's Python API: SixSigmaTelemetry and EnterpriseAnalyzerIntegration."""

from __future__ import annotations

import contextlib
import io
import json
import math
import threading
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pytest_enterprise.cli.main import main
from pytest_enterprise.integration import EnterpriseAnalyzerIntegration
from pytest_enterprise.quality.sigma import sigma_level
from pytest_enterprise.quality.telemetry import UNRECORDED_DEFECT
from pytest_enterprise.report.summary import quality_rows
from pytest_enterprise.store.sqlite import HistoryStore, TelemetryEvent
from pytest_enterprise.telemetry import SixSigmaTelemetry, snapshot_from_events

# The user's guide, "Six Sigma Telemetry", verbatim but for the import root (src.enterprise ->
# pytest_enterprise) and the module path this package exposes the class at.
GUIDE_EXAMPLE = textwrap.dedent(
    """
    from pytest_enterprise.telemetry import SixSigmaTelemetry

    # Initialize telemetry for a process
    telemetry = SixSigmaTelemetry("code_quality_gates")

    # Record successful quality gate passes
    telemetry.record_unit_processed(passed=True)

    # Record defects when quality gates fail
    telemetry.record_defect("static_analysis_failure", 
                           severity="high",
                           category="code_quality")

    # Generate comprehensive metrics snapshot
    metrics = telemetry.generate_metrics_snapshot()
    print(f"Current Sigma Level: {metrics.sigma_level}")
    print(f"DPMO: {metrics.dpmo}")
    print(f"RTY: {metrics.rty}%")
    """
)


def test_guide_example_prints_one_consistent_process():
    # The lone defect is a failed gate run of its own, after the passing one: 2 units, 1 defect.
    # Before, it printed sigma None, DPMO 1,000,000 and RTY 100% for the same data.
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(GUIDE_EXAMPLE, "enterprise-module-guide.md", "exec"), namespace)
    assert printed.getvalue().splitlines() == [
        "Current Sigma Level: 1.5",  # Φ⁻¹(1 − 0.5) + 1.5
        "DPMO: 500000.0",
        "RTY: 50.0%",
    ]
    metrics = namespace["metrics"]
    assert (metrics.units, metrics.defects, metrics.fpy, metrics.final_yield) == (2, 1, 50.0, 50.0)
    assert metrics.dpu == 0.5 and metrics.defects_beyond_opportunities == 0
    assert metrics.pareto[0].category == "code_quality" and len(metrics.pareto) == 1
    # What two gate runs can show: little, and the report says how many would show more.
    assert metrics.sigma_lower_bound == pytest.approx(
        stats.norm.isf(stats.binomtest(1, 2, alternative="less").proportion_ci(0.95).high) + 1.5
    )
    assert metrics.quality_level == "Poor" and metrics.next_quality_level.name == "Fair"


def test_a_failed_unit_takes_the_defects_recorded_after_it():
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


def _run_threads(work) -> None:
    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_threads_lose_nothing():
    telemetry = SixSigmaTelemetry("threads")
    barrier = threading.Barrier(8)

    def work(index: int) -> None:
        barrier.wait()
        for number in range(10_000):
            telemetry.record_unit_processed(passed=(number + index) % 100 != 0)

    _run_threads(work)
    metrics = telemetry.generate_metrics_snapshot()
    assert metrics.units == 80_000
    assert metrics.fpy == pytest.approx(99.0)
    assert metrics.defects == 800  # each failed unit carries one, though none was recorded


def test_threads_lone_defects_are_units_of_their_own():
    # Every unit passes, so no unit is ever open: each defect is a failed unit, whatever the
    # interleaving.
    telemetry = SixSigmaTelemetry("threads")
    barrier = threading.Barrier(8)

    def work(index: int) -> None:
        barrier.wait()
        for number in range(10_000):
            telemetry.record_unit_processed(passed=True)
            if number % 1000 == 0:
                telemetry.record_defect("race")

    _run_threads(work)
    metrics = telemetry.generate_metrics_snapshot()
    assert (metrics.units, metrics.defects) == (80_080, 80)
    assert metrics.dpmo == pytest.approx(80 / 80_080 * 1e6)
    assert metrics.fpy == pytest.approx(80_000 / 80_080 * 100)


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
    assert (rebuilt.units, rebuilt.defects, rebuilt.fpy) == (2, 1, 50.0)
    assert _comparable(rebuilt) == _comparable(live)


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


# --------------------------------------------------------------------------- one process


def _comparable(snapshot) -> dict:
    data = snapshot.to_dict()
    data.pop("taken_at")
    return data


def test_failed_unit_without_a_recorded_defect_still_has_one():
    telemetry = SixSigmaTelemetry("gates")
    telemetry.record_unit_processed(passed=True)
    telemetry.record_unit_processed(passed=False)
    metrics = telemetry.generate_metrics_snapshot()
    assert (metrics.units, metrics.defects, metrics.dpmo, metrics.fpy) == (2, 1, 500_000, 50.0)
    assert [(entry.category, entry.count) for entry in metrics.pareto] == [(UNRECORDED_DEFECT, 1)]


def test_lone_defects_are_failed_units_of_their_own():
    # The guide's integration pattern: record_unit_processed on success, record_defect on error.
    telemetry = SixSigmaTelemetry("operations")
    telemetry.record_defect("operation_failure", "boom")
    telemetry.record_defect("operation_failure", "boom again")
    telemetry.record_unit_processed(passed=True)
    telemetry.record_defect("operation_failure", "after a success")
    metrics = telemetry.generate_metrics_snapshot()
    assert (metrics.units, metrics.defects, metrics.fpy, metrics.rty) == (4, 3, 25.0, 25.0)
    assert metrics.dpmo == pytest.approx(750_000)


def test_every_unit_failed_never_reads_as_no_data():
    telemetry = SixSigmaTelemetry("gates")
    telemetry.record_unit_processed(passed=False)
    telemetry.record_defect("lint")
    metrics = telemetry.generate_metrics_snapshot()
    assert (metrics.units, metrics.defects, metrics.dpmo) == (1, 1, 1e6)
    assert (metrics.fpy, metrics.final_yield, metrics.rty) == (0.0, 0.0, 0.0)
    assert metrics.sigma_level is None and metrics.sigma_lower_bound is None  # -inf: not JSON
    assert metrics.sigma_level_ci95[0] is None and metrics.sigma_level_ci95[1] is not None
    rows = dict((name, value) for name, value, _ in quality_rows(metrics.to_dict()))
    assert rows["Sigma level (estimate)"] == "none: every one of 1 opportunities defective"
    assert rows["Quality level"].startswith("Poor")


def test_defects_beyond_a_units_opportunities_are_reported_not_hidden():
    telemetry = SixSigmaTelemetry("gates", opportunities_per_unit=2)
    telemetry.record_unit_processed(passed=True)
    telemetry.record_unit_processed(passed=False)
    for rule in ("E501", "E302", "W291"):
        telemetry.record_defect(rule, category="style")
    metrics = telemetry.generate_metrics_snapshot()
    assert (metrics.units, metrics.opportunities, metrics.defects) == (2, 4, 3)
    assert metrics.dpu == 1.5  # every defect
    assert metrics.dpmo == pytest.approx(500_000)  # the failed unit's 2 opportunities of 4
    assert metrics.defects_beyond_opportunities == 1
    rows = {name: (value, note) for name, value, note in quality_rows(metrics.to_dict())}
    assert rows["Defects beyond opportunities"] == ("1", "in DPU, not in DPMO")


def test_wrapped_engine_that_passes_with_violations_records_one_failed_unit():
    class LenientEngine:
        def evaluate(self):
            return GateResult(passed=True, violations=[Violation("style", "a"), Violation("style", "b")])

    integration = EnterpriseAnalyzerIntegration(process_name="lenient")
    integration.wrap_policy_engine(LenientEngine()).evaluate()
    metrics = integration.telemetry.generate_metrics_snapshot()
    assert (metrics.units, metrics.defects, metrics.fpy) == (1, 2, 0.0)


Op = tuple


def _reference(ops: list[Op], per_unit: int) -> dict:
    """The documented rule, written out on a list of units, independently of ProcessTally."""
    units: list[list] = []  # [passed, recorded defects]
    open_unit = None
    for kind, value in ops:
        if kind == "unit":
            units.append([value, 0])
            open_unit = None if value else units[-1]
        elif open_unit is None:
            units.append([False, 1])  # a lone defect: a failed unit that does not stay open
        else:
            open_unit[1] += 1
    failed = [max(1, recorded) for passed, recorded in units if not passed]
    return {
        "units": len(units),
        "failed": len(failed),
        "defects": sum(failed),
        "defective_opportunities": sum(min(found, per_unit) for found in failed),
    }


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("unit"), st.booleans()),
        st.tuples(st.just("defect"), st.sampled_from(["lint", "types", "tests"])),
    ),
    max_size=40,
)


@given(OPERATIONS, st.integers(1, 3))
@settings(max_examples=80, deadline=None)
def test_any_sequence_describes_one_consistent_process(ops: list[Op], per_unit: int) -> None:
    telemetry = SixSigmaTelemetry("property", opportunities_per_unit=per_unit)
    for kind, value in ops:
        if kind == "unit":
            telemetry.record_unit_processed(passed=value)
        else:
            telemetry.record_defect(value, category=value)
    m = telemetry.generate_metrics_snapshot()
    expected = _reference(ops, per_unit)
    units, failed = expected["units"], expected["failed"]
    assert (m.units, m.defects) == (units, expected["defects"])
    assert m.opportunities == units * per_unit
    assert m.defects_beyond_opportunities == expected["defects"] - expected["defective_opportunities"]
    assert sum(entry.count for entry in m.pareto) == m.defects
    data = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    text = "\n".join(" ".join(row) for row in quality_rows(data))
    assert "∞" not in text and "inf" not in text.lower() and "nan" not in text.lower()
    if units == 0:
        assert m.quality_level == "no data" and m.dpmo is None and m.sigma_lower_bound is None
        return
    p = m.dpmo / 1e6
    # The yields are one number here: a recorded unit passes first time or not at all.
    assert m.fpy == m.final_yield == m.rty == pytest.approx(100 * (1 - failed / units))
    # Each failed unit holds between 1 and per_unit defective opportunities.
    assert failed / (units * per_unit) - 1e-12 <= p <= failed / units + 1e-12
    assert m.fpy <= 100 * (1 - p) + 1e-9
    if per_unit == 1:
        assert p == pytest.approx(1 - m.fpy / 100)
    assert m.dpu >= p * per_unit - 1e-12
    assert (m.defects == 0) == (m.dpmo == 0) == (m.fpy == 100.0)
    if m.dpmo == 1e6:
        assert m.fpy == m.rty == 0.0
    # Sigma: a function of DPMO where finite; where not, a bound stands in, never nothing.
    if 0 < m.dpmo < 1e6:
        assert m.sigma_level == pytest.approx(sigma_level(p))
        assert m.sigma_lower_bound <= m.sigma_level
    else:
        assert m.sigma_level is None
        assert m.sigma_lower_bound is not None or m.sigma_level_ci95[1] is not None
    assert (m.sigma_lower_bound is None) == (m.dpmo == 1e6)
    assert m.quality_level != "no data" and m.quality_level_basis == "95% lower bound"
    # A replay of what was stored gives the same snapshot.
    events = [
        TelemetryEvent("2026-01-01T00:00:00Z", "unit", passed=value)
        if kind == "unit"
        else TelemetryEvent("2026-01-01T00:00:00Z", "defect", defect_type=value, severity="medium", category=value)
        for kind, value in ops
    ]
    replayed = snapshot_from_events("property", events, opportunities_per_unit=per_unit)
    assert _comparable(replayed) == _comparable(m)


@given(OPERATIONS)
@settings(max_examples=40, deadline=None)
def test_one_more_defect_never_raises_the_demonstrated_sigma(ops: list[Op]) -> None:
    # A defect on the open failed unit adds nothing with one opportunity per unit; a lone one
    # adds a failed unit. Either way the demonstrated sigma (and so the level) cannot rise.
    telemetry = SixSigmaTelemetry("monotone")
    for kind, value in ops:
        if kind == "unit":
            telemetry.record_unit_processed(passed=value)
        else:
            telemetry.record_defect(value)
    before = telemetry.generate_metrics_snapshot()
    telemetry.record_defect("one more")
    after = telemetry.generate_metrics_snapshot()
    below = -math.inf
    assert (after.sigma_lower_bound or below) <= (before.sigma_lower_bound or math.inf)


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("ENTERPRISE_CONFIG", "ENTERPRISE_ENV"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_guide_cli_commands_agree_with_the_python_api(project: Path, capsys):
    # The guide's order: a defect, then a passed unit. Two gate runs, one of them failed.
    assert main(["telemetry", "record", "--defect"]) == 0
    assert main(["telemetry", "record", "--unit", "--passed"]) == 0
    capsys.readouterr()
    assert main(["telemetry", "status", "--process", "quality_gates"]) == 0
    status = capsys.readouterr().out
    assert "2 units, 1 defects, sigma 1.50 σ" in status
    assert "∞" not in status and "no data" not in status
    assert main(["telemetry", "report", "--process", "quality_gates", "--format", "json"]) == 0
    quality = json.loads(capsys.readouterr().out)["quality"]
    assert (quality["dpmo"], quality["fpy"], quality["rty"], quality["sigma_level"]) == (
        500_000.0, 50.0, 50.0, 1.5,
    )  # fmt: skip
    assert main(["telemetry", "report", "--process", "quality_gates", "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert "∞" not in text and "Sigma level (estimate)  1.50 σ" in text


def test_cli_failed_unit_then_its_defect_is_one_unit(project: Path, capsys):
    assert main(["telemetry", "record", "--unit", "--failed"]) == 0
    assert main(["telemetry", "record", "--defect", "lint"]) == 0
    capsys.readouterr()
    assert main(["telemetry", "status", "--process", "quality_gates"]) == 0
    status = capsys.readouterr().out
    assert "1 units, 1 defects, sigma ≤ " in status and "∞" not in status


def test_status_of_another_process_names_the_recorded_ones(project: Path, capsys):
    assert main(["telemetry", "record", "--unit", "--passed"]) == 0
    capsys.readouterr()
    assert main(["telemetry", "status"]) == 0  # the default process is telemetry.process_name
    assert "recorded processes: quality_gates (use --process)" in capsys.readouterr().out
