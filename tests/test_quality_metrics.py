"""pytest_enterprise.quality.metrics: the math on counts, and the RunRecord mapping."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pytest_enterprise.model import (
    Attempt,
    OpportunityDefinition,
    Phase,
    RunInfo,
    RunRecord,
    Subtest,
    TestResult,
)
from pytest_enterprise.quality.metrics import (
    NO_DATA,
    QualityMetrics,
    analyze_run,
    compute_quality,
    yield_ci,
)
from pytest_enterprise.quality.sigma import sigma_level, z_long_term
from pytest_enterprise.report.json_report import build_report, record_from_report
from pytest_enterprise.report.summary import level_text, quality_rows, sigma_text

FAST = settings(max_examples=60, deadline=None)

REPORT_KEYS = [
    "units", "defects", "opportunities", "defects_beyond_opportunities", "dpu", "dpu_ci95",
    "dpmo", "dpmo_ci95", "fpy", "fpy_ci95", "final_yield", "final_yield_ci95", "rty",
    "sigma_level", "sigma_level_ci95", "sigma_lower_bound", "z_long_term",
    "z_long_term_lower_bound", "quality_level", "quality_level_threshold", "quality_level_basis",
    "next_quality_level", "stages", "pareto", "flaky", "skipped", "xfailed", "xpassed",
    "deselected", "opportunity_definition",
]  # fmt: skip
METRIC_KEYS = [
    "dpu", "dpu_ci95", "dpmo", "dpmo_ci95", "fpy", "fpy_ci95", "final_yield",
    "final_yield_ci95", "rty", "sigma_level", "sigma_level_ci95", "sigma_lower_bound",
    "z_long_term", "z_long_term_lower_bound", "quality_level_threshold", "quality_level_basis",
    "next_quality_level",
]  # fmt: skip


def _to_json(metrics: QualityMetrics) -> dict:
    # allow_nan=False: the report must never carry inf or NaN.
    return json.loads(json.dumps(metrics.to_dict(), allow_nan=False))


def _exact_ci(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return float(ci.low), float(ci.high)


def _one_sided_upper(k: int, n: int, confidence: float = 0.95) -> float:
    ci = stats.binomtest(k, n, alternative="less").proportion_ci(confidence, method="exact")
    return float(ci.high)


# --------------------------------------------------------------------------- import cost


def test_metrics_never_import_scipy() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
        from pytest_enterprise.quality import metrics, sigma

        def loaded():
            return sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy."))

        assert not loaded(), f"import loaded {loaded()}"
        phases = [Phase(w, "passed", 0.01) for w in ("setup", "call", "teardown")]
        tests = [
            TestResult(nodeid=f"t.py::t{i}", attempts=[Attempt(1, "passed", list(phases))])
            for i in range(50)
        ]
        record = RunRecord(run=RunInfo(id="r", started_at="2025-01-01T00:00:00Z"), tests=tests)
        result = metrics.analyze_run(record)
        json.dumps(result.to_dict(), allow_nan=False)
        assert result.quality_level_basis == "95% lower bound", result
        assert not loaded(), f"all-pass metrics loaded {loaded()}"
        # A mixed run needs the inverse incomplete beta and gamma functions: still no SciPy.
        tests[0].attempts[0].outcome = "failed"
        mixed = metrics.analyze_run(record)
        assert mixed.dpu_ci95[0] > 0 and 0 < mixed.fpy_ci95[0] < mixed.fpy_ci95[1] < 100, mixed
        sigma.proportion_ci(1, 3)
        sigma.poisson_rate_ci(3, 7.0)
        assert not loaded(), f"mixed metrics loaded {loaded()}"
        # The probe does see an import of SciPy.
        import scipy.special
        assert loaded()
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# --------------------------------------------------------------------------- compute_quality


def test_compute_quality_basic_numbers() -> None:
    m = compute_quality(
        units=10,
        defects=2,
        opportunities=20,
        first_pass=7,
        final_pass=8,
        stages=[("setup", 10, 10), ("call", 10, 8), ("teardown", 10, 9)],
        categories={"failure": 2},
        flaky=1,
        skipped=3,
        xfailed=1,
        xpassed=2,
        deselected=4,
        opportunity_definition="1 per test",
    )
    assert m.dpu == pytest.approx(0.2)
    assert m.dpmo == pytest.approx(100_000)
    assert m.fpy == pytest.approx(70.0)
    assert m.final_yield == pytest.approx(80.0)
    assert m.rty == pytest.approx(1.0 * 0.8 * 0.9 * 100)
    low, high = _exact_ci(2, 20)
    assert m.dpmo_ci95 == pytest.approx((low * 1e6, high * 1e6), rel=1e-7)
    assert m.fpy_ci95 == pytest.approx(tuple(100 * x for x in _exact_ci(7, 10)), rel=1e-7)
    assert m.final_yield_ci95 == pytest.approx(tuple(100 * x for x in _exact_ci(8, 10)), rel=1e-7)
    garwood = (stats.chi2.ppf(0.025, 4) / 2 / 10, stats.chi2.ppf(0.975, 6) / 2 / 10)
    assert m.dpu_ci95 == pytest.approx(garwood, rel=1e-9)
    assert m.sigma_level == pytest.approx(stats.norm.isf(0.1) + 1.5)
    assert m.z_long_term == pytest.approx(stats.norm.isf(0.1))
    assert m.sigma_level_ci95 == pytest.approx((sigma_level(high), sigma_level(low)))
    # What 2 defects in 20 opportunities demonstrate: the one-sided 95% bound.
    bound = _one_sided_upper(2, 20)
    assert m.sigma_lower_bound == pytest.approx(stats.norm.isf(bound) + 1.5, rel=1e-7)
    assert m.z_long_term_lower_bound == pytest.approx(stats.norm.isf(bound), rel=1e-7)
    assert (m.quality_level, m.quality_level_threshold) == ("Poor", None)
    assert m.quality_level_basis == "95% lower bound"
    assert m.defects_beyond_opportunities == 0
    assert (m.flaky, m.skipped, m.xfailed, m.xpassed, m.deselected) == (1, 3, 1, 2, 4)
    assert m.opportunity_definition == "1 per test"


def test_to_dict_has_exactly_the_report_keys() -> None:
    m = compute_quality(units=4, defects=1, opportunities=4, first_pass=3, final_pass=3,
                        stages=[("call", 4, 3)], categories={"failure": 1})  # fmt: skip
    data = _to_json(m)
    assert list(data) == REPORT_KEYS
    assert list(data["stages"][0]) == ["name", "units", "first_pass", "fpy", "fpy_ci95"]
    assert list(data["pareto"][0]) == ["category", "count", "percent", "cumulative_percent"]
    assert isinstance(data["dpmo_ci95"], list) and len(data["dpmo_ci95"]) == 2


def test_zero_units_is_no_data_not_zero_or_hundred() -> None:
    m = compute_quality(units=0, defects=0, opportunities=0, first_pass=0, final_pass=0,
                        stages=[("call", 0, 0)], skipped=5)  # fmt: skip
    data = _to_json(m)
    assert all(data[key] is None for key in METRIC_KEYS), data
    assert data["quality_level"] == NO_DATA
    assert data["stages"] == [
        {"name": "call", "units": 0, "first_pass": 0, "fpy": None, "fpy_ci95": None}
    ]
    assert data["skipped"] == 5 and data["pareto"] == []
    assert not m.has_data


def test_zero_defects_reports_a_lower_bound_never_infinity() -> None:
    m = compute_quality(units=1_000, defects=0, opportunities=1_000, first_pass=1_000,
                        final_pass=1_000, stages=[("call", 1_000, 1_000)])  # fmt: skip
    p_high = 1 - 0.025 ** (1 / 1_000)  # two-sided interval's upper end
    p_bound = 1 - 0.05 ** (1 / 1_000)  # one-sided 95% bound: what the sample demonstrates
    assert p_bound == pytest.approx(_one_sided_upper(0, 1_000), rel=1e-9)
    assert m.sigma_level is None and m.z_long_term is None
    assert m.dpmo == 0.0
    assert m.dpmo_ci95 == pytest.approx((0.0, p_high * 1e6), rel=1e-9)
    assert m.sigma_level_ci95 == (pytest.approx(stats.norm.isf(p_high) + 1.5, rel=1e-9), None)
    assert m.sigma_lower_bound == pytest.approx(stats.norm.isf(p_bound) + 1.5, rel=1e-9)
    assert m.z_long_term_lower_bound == pytest.approx(stats.norm.isf(p_bound), rel=1e-9)
    assert m.sigma_lower_bound == pytest.approx(4.25, abs=0.01)
    assert (m.quality_level, m.quality_level_threshold) == ("Good", 4.0)
    assert m.quality_level_basis == "95% lower bound"
    # Excellent (5σ, 233 DPMO) takes 12,877 clean units: ln(0.05) / ln(1 - 233e-6), rounded up.
    assert m.next_quality_level.to_dict() == {
        "name": "Excellent", "threshold": 5.0, "defects_allowed": 0,
        "opportunities_needed": 12_877, "units_needed": 12_877,
    }  # fmt: skip
    assert m.fpy == 100.0 and m.fpy_ci95[1] == 100.0
    _to_json(m)


def test_lower_bound_grows_with_evidence() -> None:
    # No silent cap: more defect-free opportunities earn a higher claim, without limit.
    bounds = [
        compute_quality(units=n, defects=0, opportunities=n, first_pass=n, final_pass=n)
        .sigma_lower_bound
        for n in (10, 1_000, 100_000, 10_000_000)
    ]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds)
    assert bounds[-1] > 6.0


def test_every_opportunity_defective_gives_null_sigma_and_poor() -> None:
    m = compute_quality(units=3, defects=3, opportunities=3, first_pass=0, final_pass=0)
    assert m.sigma_level is None and m.z_long_term is None
    assert m.sigma_lower_bound is None and m.z_long_term_lower_bound is None  # nothing shown
    assert m.dpmo == 1e6 and m.dpmo_ci95[1] == 1e6
    assert m.sigma_level_ci95[0] is None
    assert m.sigma_level_ci95[1] == pytest.approx(sigma_level(_exact_ci(3, 3)[0]))
    assert (m.quality_level, m.quality_level_threshold, m.quality_level_basis) == (
        "Poor", None, "95% lower bound",
    )  # fmt: skip
    following = m.next_quality_level
    assert (following.name, following.defects_allowed) == ("Fair", 3)
    assert _one_sided_upper(3, following.opportunities_needed) <= 66_807.2e-6
    assert _one_sided_upper(3, following.opportunities_needed - 1) > 66_807.2e-6
    _to_json(m)


def test_defects_beyond_opportunities_must_be_said_not_hidden() -> None:
    # Without defective_opportunities, more defects than opportunities cannot describe a process.
    with pytest.raises(ValueError, match="defective_opportunities"):
        compute_quality(units=2, defects=5, opportunities=4, first_pass=0, final_pass=0)
    m = compute_quality(units=2, defects=5, opportunities=4, first_pass=0, final_pass=0,
                        defective_opportunities=3)  # fmt: skip
    assert m.dpu == pytest.approx(2.5)  # a rate: counts every defect, may exceed 1
    assert m.dpmo == pytest.approx(750_000)  # defective opportunities only, never above 10⁶
    assert m.dpmo_ci95 == pytest.approx(tuple(x * 1e6 for x in _exact_ci(3, 4)))
    assert m.defects_beyond_opportunities == 2
    assert _to_json(m)["defects_beyond_opportunities"] == 2


def test_rty_skips_stages_nobody_entered() -> None:
    m = compute_quality(units=10, defects=1, opportunities=10, first_pass=9, final_pass=9,
                        stages=[("unit", 6, 5), ("integration", 0, 0), ("e2e", 4, 4)])  # fmt: skip
    assert m.rty == pytest.approx(5 / 6 * 100)
    assert [s.fpy for s in m.stages] == [pytest.approx(5 / 6 * 100), None, 100.0]


def test_rty_is_null_when_no_stage_has_data() -> None:
    m = compute_quality(units=2, defects=0, opportunities=2, first_pass=2, final_pass=2)
    assert m.rty is None and m.stages == []


def test_pareto_sorted_by_count_then_name() -> None:
    m = compute_quality(units=10, defects=10, opportunities=10, first_pass=0, final_pass=0,
                        categories={"error": 2, "failure: KeyError": 5, "crash": 2, "zero": 0,
                                    "failure: AssertionError": 1})  # fmt: skip
    pareto = [(e.category, e.count, e.percent, e.cumulative_percent) for e in m.pareto]
    assert pareto == [
        ("failure: KeyError", 5, pytest.approx(50.0), pytest.approx(50.0)),
        ("crash", 2, pytest.approx(20.0), pytest.approx(70.0)),
        ("error", 2, pytest.approx(20.0), pytest.approx(90.0)),
        ("failure: AssertionError", 1, pytest.approx(10.0), pytest.approx(100.0)),
    ]


def test_yield_ci_is_in_percent() -> None:
    low, high = yield_ci(7, 10)
    assert (low / 100, high / 100) == pytest.approx(_exact_ci(7, 10), rel=1e-7)
    assert yield_ci(10, 10)[1] == 100.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"units": -1},
        {"first_pass": 11},
        {"final_pass": 11},
        {"defects": -2},
        {"opportunities": 0},
        {"units": 2.0},
        {"stages": [("call", 3, 4)]},
        {"stages": [("call", -1, 0)]},
        {"thresholds": {"Good": math.nan}},
        {"defects": 11},  # more than the opportunities
        {"defects": 0},  # a unit failed without a defect
        {"final_pass": 10, "first_pass": 10},  # a defect in a run where every unit passed
        {"defective_opportunities": 2},  # more defective opportunities than defects
        {"defects": 3, "defective_opportunities": 0},  # fewer than the failed units
    ],
)
def test_compute_quality_rejects_inconsistent_counts(kwargs: dict) -> None:
    base = {"units": 10, "defects": 1, "opportunities": 10, "first_pass": 9, "final_pass": 9}
    with pytest.raises(ValueError):
        compute_quality(**{**base, **kwargs})


def test_bad_thresholds_fail_even_without_data() -> None:
    with pytest.raises(ValueError):
        compute_quality(units=0, defects=0, opportunities=0, first_pass=0, final_pass=0,
                        thresholds={"Good": math.inf})  # fmt: skip


# --------------------------------------------------------------------------- properties


@st.composite
def run_counts(draw: st.DrawFn) -> dict:
    units = draw(st.integers(0, 300))
    final_pass = draw(st.integers(0, units))
    first_pass = draw(st.integers(0, final_pass))  # every first-pass unit also passes finally
    opportunities = units + draw(st.integers(0, 3 * units))
    # Each unit that did not pass holds at least one defect, and only those units hold any.
    failed = units - final_pass
    defects = draw(st.integers(failed, max(failed, opportunities - final_pass))) if failed else 0
    stage_count = draw(st.integers(0, 4))
    stages = []
    for index in range(stage_count):
        entering = draw(st.integers(0, units))
        stages.append((f"stage{index}", entering, draw(st.integers(0, entering))))
    return {
        "units": units,
        "defects": defects,
        "opportunities": opportunities,
        "first_pass": first_pass,
        "final_pass": final_pass,
        "stages": stages,
        "categories": {"failure": defects},
    }


def _brackets(estimate: float | None, interval: tuple | None) -> bool:
    low, high = interval
    return low <= estimate <= high


@given(run_counts())
@FAST
def test_properties_of_computed_metrics(counts: dict) -> None:
    m = compute_quality(**counts)
    data = _to_json(m)
    shown = " ".join(" ".join(row) for row in quality_rows(data)) + sigma_text(data) + level_text(data)
    assert "∞" not in shown and "inf" not in shown.lower() and "nan" not in shown.lower()
    if counts["units"] == 0:
        assert m.quality_level == NO_DATA
        assert all(data[key] is None for key in METRIC_KEYS)
        return
    assert 0.0 <= m.dpmo <= 1e6
    assert 0.0 <= m.dpmo_ci95[0] <= m.dpmo_ci95[1] <= 1e6
    for estimate, interval in [
        (m.dpu, m.dpu_ci95),
        (m.dpmo, m.dpmo_ci95),
        (m.fpy, m.fpy_ci95),
        (m.final_yield, m.final_yield_ci95),
    ]:
        assert _brackets(estimate, interval)
    assert m.fpy <= m.final_yield
    assert 0.0 <= m.fpy_ci95[0] and m.final_yield_ci95[1] <= 100.0
    assert m.rty is None or 0.0 <= m.rty <= 100.0
    for stage in m.stages:
        assert stage.fpy is None or _brackets(stage.fpy, stage.fpy_ci95)
    sigma_low, sigma_high = m.sigma_level_ci95
    if m.defects == 0:
        assert m.sigma_level is None and sigma_high is None
        # One-sided 95% is tighter than the two-sided interval's end (97.5% one-sided).
        assert m.sigma_lower_bound > sigma_low
    elif m.sigma_level is not None:
        assert sigma_low is None or sigma_low <= m.sigma_level
        assert m.sigma_level <= sigma_high
        assert m.z_long_term == pytest.approx(m.sigma_level - 1.5)
        assert m.sigma_lower_bound <= m.sigma_level
    # Never nothing: with data, some sigma figure is finite.
    assert any(x is not None for x in (m.sigma_level, m.sigma_lower_bound, sigma_low, sigma_high))
    # The level is what the lower bound meets, and the next level is exactly out of reach.
    if m.sigma_lower_bound is not None and m.quality_level_threshold is not None:
        assert m.sigma_lower_bound >= m.quality_level_threshold
    following = m.next_quality_level
    if following is not None:
        assert m.sigma_lower_bound is None or m.sigma_lower_bound < following.threshold
        assert following.opportunities_needed > m.opportunities
        assert following.units_needed * m.opportunities >= following.opportunities_needed * m.units


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n),
                                                           st.integers(1, n))))  # fmt: skip
@FAST
def test_sigma_non_increasing_as_defects_grow(case: tuple[int, int, int]) -> None:
    opportunities, a, b = case
    fewer, more = sorted((a, b))

    def sigma_for(defects: int) -> tuple[float, float, float]:
        m = compute_quality(units=opportunities, defects=defects, opportunities=opportunities,
                            first_pass=opportunities - defects,
                            final_pass=opportunities - defects)  # fmt: skip
        point = -math.inf if m.sigma_level is None else m.sigma_level
        shown = -math.inf if m.sigma_lower_bound is None else m.sigma_lower_bound
        threshold = -math.inf if m.quality_level_threshold is None else m.quality_level_threshold
        return point, shown, threshold

    # The estimate, what is demonstrated, and so the level, all fall as defects grow.
    for better, worse in zip(sigma_for(fewer), sigma_for(more)):
        assert better >= worse


# --------------------------------------------------------------------------- analyze_run


def _phases(**outcomes: str) -> list[Phase]:
    return [Phase(when, outcome, 0.01) for when, outcome in outcomes.items()]


def _test(nodeid: str, *attempts: Attempt, **fields: object) -> TestResult:
    return TestResult(nodeid=nodeid, attempts=list(attempts), **fields)  # type: ignore[arg-type]


def _passed(number: int = 1, **extra: object) -> Attempt:
    phases = _phases(setup="passed", call="passed", teardown="passed")
    return Attempt(number, "passed", phases, **extra)  # type: ignore[arg-type]


def _failed(
    number: int = 1, exception_type: str | None = "AssertionError", **extra: object
) -> Attempt:
    phases = _phases(setup="passed", call="failed", teardown="passed")
    return Attempt(number, "failed", phases, category="failure", exception_type=exception_type,
                   **extra)  # type: ignore[arg-type]  # fmt: skip


def _record(tests: list[TestResult], **fields: object) -> RunRecord:
    run = RunInfo(id="run-1", started_at="2025-01-01T00:00:00Z", deselected=2)
    return RunRecord(run=run, tests=tests, **fields)  # type: ignore[arg-type]


def _every_outcome_record() -> RunRecord:
    return _record([
        _test("t.py::passed", _passed()),
        _test("t.py::failed", _failed()),
        _test("t.py::setup_error", Attempt(
            1, "error", _phases(setup="failed", teardown="passed"),
            category="error", exception_type="RuntimeError")),
        _test("t.py::teardown_error", Attempt(
            1, "error", _phases(setup="passed", call="passed", teardown="failed"),
            category="error", exception_type="OSError")),
        _test("t.py::skipped", Attempt(1, "skipped", _phases(setup="skipped", teardown="passed"))),
        _test("t.py::xfailed", Attempt(
            1, "xfailed", _phases(setup="passed", call="skipped", teardown="passed"))),
        _test("t.py::xpassed", Attempt(
            1, "xpassed", _phases(setup="passed", call="passed", teardown="passed"))),
        _test("t.py::strict_xpass", Attempt(
            1, "failed", _phases(setup="passed", call="failed", teardown="passed"),
            category="xpass-strict")),
        _test("t.py::crashed", Attempt(
            1, "crashed", _phases(setup="passed", crash="failed"), category="crash")),
        _test("t.py::flaky", _failed(1), _passed(2)),
    ])  # fmt: skip


def test_analyze_run_every_outcome_row() -> None:
    m = analyze_run(_every_outcome_record())
    # units: passed, failed, setup_error, teardown_error, xpassed, strict_xpass, crashed, flaky
    assert m.units == 8
    assert m.defects == 5  # failed, both errors, strict xpass, crash; flaky passed finally
    assert m.opportunities == 8
    assert m.fpy == pytest.approx(2 / 8 * 100)  # passed, xpassed
    assert m.final_yield == pytest.approx(3 / 8 * 100)  # ... and the flaky rerun
    assert m.dpu == pytest.approx(5 / 8)
    assert m.dpmo == pytest.approx(5 / 8 * 1e6)
    assert (m.flaky, m.skipped, m.xfailed, m.xpassed, m.deselected) == (1, 1, 1, 1, 2)
    stages = {s.name: (s.units, s.first_pass) for s in m.stages}
    # setup_error never reaches call; the crash replaces call and has no teardown.
    assert stages == {"setup": (8, 7), "call": (7, 3), "teardown": (7, 6)}
    assert m.rty == pytest.approx(7 / 8 * 3 / 7 * 6 / 7 * 100)
    assert [(e.category, e.count) for e in m.pareto] == [
        ("crash", 1),
        ("error: OSError", 1),
        ("error: RuntimeError", 1),
        ("failure: AssertionError", 1),
        ("xpass-strict", 1),
    ]
    assert m.pareto[-1].cumulative_percent == pytest.approx(100.0)
    assert m.opportunity_definition == OpportunityDefinition().describe()
    _to_json(m)


def test_analyze_run_survives_a_json_round_trip() -> None:
    record = _every_outcome_record()
    again = record_from_report(json.loads(json.dumps(build_report(record, {}, []))))
    assert analyze_run(again).to_dict() == analyze_run(record).to_dict()


def test_analyze_run_all_pass_uses_the_lower_bound() -> None:
    m = analyze_run(_record([_test(f"t.py::t{i}", _passed()) for i in range(30)]))
    assert m.defects == 0 and m.sigma_level is None
    assert m.sigma_lower_bound == pytest.approx(sigma_level(1 - 0.05 ** (1 / 30)))
    assert m.quality_level_basis == "95% lower bound"
    assert m.rty == 100.0 and m.pareto == []


def test_analyze_run_without_units_is_no_data() -> None:
    record = _record([
        _test("t.py::skip", Attempt(1, "skipped", _phases(setup="skipped"))),
        _test("t.py::xfail", Attempt(1, "xfailed", _phases(setup="passed", call="skipped"))),
    ])  # fmt: skip
    m = analyze_run(record)
    assert m.units == 0 and m.quality_level == NO_DATA
    assert m.fpy is None and m.rty is None and m.dpmo is None
    assert [(s.name, s.units, s.fpy) for s in m.stages] == [
        ("setup", 0, None), ("call", 0, None), ("teardown", 0, None),
    ]  # fmt: skip
    assert (m.skipped, m.xfailed, m.deselected) == (1, 1, 2)


def test_analyze_run_an_empty_record_is_no_data() -> None:
    m = analyze_run(_record([]))
    assert m.quality_level == NO_DATA and m.units == 0


def test_analyze_run_marker_stages_with_unstaged_remainder() -> None:
    record = _record(
        [
            _test("a", _passed(), stage="unit"),
            _test("b", _failed(), stage="unit"),
            _test("c", _passed(), stage="integration"),
            _test("d", _failed(1), _passed(2), stage="integration"),
            _test("e", _passed()),  # no stage marker
            _test("f", _failed(), stage="smoke"),  # a stage the config doesn't list
        ],
        stages=["unit", "integration", "e2e"],
    )
    m = analyze_run(record)
    assert [(s.name, s.units, s.first_pass, s.fpy) for s in m.stages] == [
        ("unit", 2, 1, 50.0),
        ("integration", 2, 1, 50.0),
        ("e2e", 0, 0, None),
        ("unstaged", 2, 1, 50.0),
    ]
    # e2e had no units, so it does not drag RTY to zero.
    assert m.rty == pytest.approx(12.5)


def test_analyze_run_marker_stages_without_remainder_has_no_unstaged() -> None:
    record = _record([_test("a", _passed(), stage="unit")], stages=["unit", "e2e"])
    assert [s.name for s in analyze_run(record).stages] == ["unit", "e2e"]


def _subtest_record(enabled: bool) -> RunRecord:
    return _record(
        [
            _test("t.py::two_of_three_fail", _failed(subtests=[
                Subtest("a", "failed"), Subtest("b", "passed"), Subtest("c", "failed")])),
            _test("t.py::clean", _passed(subtests=[Subtest("a", "passed"), Subtest("b", "passed")]),
                  opportunities=2),
            _test("t.py::fails_outside_subtests",
                  _failed(exception_type="KeyError", subtests=[Subtest("a", "passed")])),
            _test("t.py::no_subtests", _passed(), opportunities=5),
        ],
        opportunity_definition=OpportunityDefinition(subtests_as_opportunities=enabled),
    )  # fmt: skip


def test_analyze_run_subtests_as_opportunities() -> None:
    m = analyze_run(_subtest_record(enabled=True))
    assert m.units == 4
    assert m.opportunities == (1 + 3) + (2 + 2) + (1 + 1) + 5
    assert m.defects == 2 + 1
    assert m.dpmo == pytest.approx(3 / 15 * 1e6)
    assert m.dpu == pytest.approx(3 / 4)
    assert [(e.category, e.count) for e in m.pareto] == [
        ("failure: AssertionError", 2),
        ("failure: KeyError", 1),
    ]
    assert "each subtest adds one" in m.opportunity_definition


def test_analyze_run_subtests_ignored_when_not_enabled() -> None:
    m = analyze_run(_subtest_record(enabled=False))
    assert m.opportunities == 1 + 2 + 1 + 5
    assert m.defects == 2
    assert m.dpmo == pytest.approx(2 / 9 * 1e6)


def test_analyze_run_rejects_a_unit_without_opportunities() -> None:
    record = _record([_test("t.py::zero", _passed(), opportunities=0)])
    with pytest.raises(ValueError, match="t.py::zero"):
        analyze_run(record)


def test_analyze_run_defect_without_category_falls_back_to_outcome() -> None:
    record = _record([
        _test("a", Attempt(1, "crashed", _phases(crash="failed"))),
        _test("b", Attempt(1, "error", _phases(setup="failed"), exception_type="OSError")),
    ])  # fmt: skip
    assert [e.category for e in analyze_run(record).pareto] == ["crash", "error: OSError"]


def test_analyze_run_passes_thresholds_through() -> None:
    record = _record([_test(f"t{i}", _passed()) for i in range(30)])
    m = analyze_run(record, thresholds={"Bar": 2.0})
    assert (m.quality_level, m.quality_level_threshold) == ("Bar", 2.0)


def test_z_long_term_lower_bound_for_clean_runs() -> None:
    m = analyze_run(_record([_test(f"t{i}", _passed()) for i in range(30)]))
    assert m.z_long_term_lower_bound == pytest.approx(z_long_term(1 - 0.05 ** (1 / 30)))


def test_other_confidence_levels_are_labelled_honestly() -> None:
    m = compute_quality(units=50, defects=0, opportunities=50, first_pass=50, final_pass=50,
                        confidence=0.9)  # fmt: skip
    assert m.confidence == 0.9
    assert m.quality_level_basis == "90% lower bound"
    assert m.dpmo_ci95[1] == pytest.approx((1 - 0.05 ** (1 / 50)) * 1e6)
    assert "confidence" not in m.to_dict()


def test_worked_example_in_docs_matches() -> None:
    # docs/telemetry-math.md, section 8: keep the auditors' page honest.
    m = compute_quality(
        units=200, defects=3, opportunities=200, first_pass=195, final_pass=197,
        stages=[("setup", 200, 199), ("call", 199, 195), ("teardown", 199, 199)],
        categories={"failure: AssertionError": 2, "error: OSError": 1}, flaky=2,
    )  # fmt: skip
    assert round(m.dpu, 3) == 0.015 and [round(x, 4) for x in m.dpu_ci95] == [0.0031, 0.0438]
    assert m.dpmo == 15_000 and [round(x) for x in m.dpmo_ci95] == [3_104, 43_208]
    assert [round(x, 2) for x in m.fpy_ci95] == [94.26, 99.18]
    assert [round(x, 2) for x in m.final_yield_ci95] == [95.68, 99.69]
    assert round(m.rty, 1) == 97.5
    assert round(m.sigma_level, 2) == 3.67 and round(m.z_long_term, 2) == 2.17
    assert [round(x, 2) for x in m.sigma_level_ci95] == [3.21, 4.24]
    assert round(m.sigma_lower_bound, 2) == 3.27
    assert (m.quality_level, m.quality_level_threshold) == ("Fair", 3.0)
    assert (m.next_quality_level.name, m.next_quality_level.units_needed) == ("Good", 1_247)
    clean = compute_quality(units=200, defects=0, opportunities=200, first_pass=200,
                            final_pass=200)  # fmt: skip
    assert round(clean.dpmo_ci95[1]) == 18_275 and round(clean.sigma_level_ci95[0], 2) == 3.59
    assert round(clean.sigma_lower_bound, 2) == 3.67
    assert clean.quality_level == "Fair"
    assert (clean.next_quality_level.name, clean.next_quality_level.units_needed) == ("Good", 481)


def test_views_read_reports_of_older_versions() -> None:
    # Before issue 10 a run with defects had no sigma_lower_bound and was rated on the estimate.
    old = compute_quality(units=10, defects=2, opportunities=10, first_pass=8, final_pass=8)
    data = {**_to_json(old), "sigma_lower_bound": None, "quality_level_basis": "point estimate"}
    for key in ("next_quality_level", "defects_beyond_opportunities"):
        del data[key]
    rows = {name: value for name, value, _ in quality_rows(data)}
    assert rows["Sigma demonstrated"] == "not in this report (written by an older version)"
    assert rows["Quality level"] == "Poor, from the point estimate"
    assert "Next level" not in rows


# --- analyze_run's one pass equals the definition, test by test -----------------------------


def _reference_analysis(record: RunRecord) -> QualityMetrics:
    """analyze_run as the outcome model defines it: every per-test function, on every unit."""
    from collections import Counter

    from pytest_enterprise.model import COLLECTION
    from pytest_enterprise.quality.metrics import PHASE_STAGES, UNSTAGED, unit_defects, unit_opportunities

    subtests = record.opportunity_definition.subtests_as_opportunities
    units = [test for test in record.tests if test.is_unit]
    categories: Counter = Counter()
    for test in units:
        found = unit_defects(test, subtests)
        if found:
            final = test.attempts[-1]
            category = final.category or {"failed": "failure", "error": "error", "crashed": "crash"}[final.outcome]
            categories[f"{category}: {final.exception_type}" if final.exception_type else category] += found
    entering: Counter = Counter()
    passing: Counter = Counter()
    if record.stages is None:
        uncollected = sum(test.category == COLLECTION for test in units)
        for test in units:
            if test.category == COLLECTION:
                continue
            outcomes: dict = {}
            for phase in test.attempts[0].phases:
                stage = "call" if phase.when == "crash" else phase.when
                outcomes[stage] = outcomes.get(stage, True) and phase.outcome != "failed"
            for stage, passed in outcomes.items():
                entering[stage] += 1
                passing[stage] += passed
        stages = [(name, entering[name], passing[name]) for name in PHASE_STAGES]
        if uncollected:
            stages.insert(0, ("collect", len(units), len(units) - uncollected))
    else:
        for test in units:
            stage = test.stage if test.stage in record.stages else UNSTAGED
            entering[stage] += 1
            passing[stage] += test.first_pass
        stages = [(name, entering[name], passing[name]) for name in record.stages]
        if entering[UNSTAGED] and UNSTAGED not in record.stages:
            stages.append((UNSTAGED, entering[UNSTAGED], passing[UNSTAGED]))
    outcomes = Counter(test.outcome for test in record.tests)
    return compute_quality(
        units=len(units),
        defects=sum(unit_defects(test, subtests) for test in units),
        opportunities=sum(unit_opportunities(test, subtests) for test in units),
        first_pass=sum(test.first_pass for test in units),
        final_pass=sum(test.final_pass for test in units),
        stages=stages,
        categories=categories,
        flaky=sum(test.flaky for test in units),
        skipped=outcomes["skipped"],
        xfailed=outcomes["xfailed"],
        xpassed=outcomes["xpassed"],
        deselected=record.run.deselected,
        opportunity_definition=record.opportunity_definition.describe(),
    )


_PHASE_SHAPES = [
    [("setup", "passed"), ("call", "passed"), ("teardown", "passed")],
    [("setup", "passed"), ("call", "failed"), ("teardown", "passed")],
    [("setup", "failed")],
    [("setup", "skipped")],
    [("setup", "passed"), ("call", "skipped"), ("teardown", "passed")],
    [("setup", "passed"), ("call", "passed"), ("teardown", "failed")],
    [("crash", "failed")],
    [("collect", "failed")],
    [],
]


@st.composite
def _attempts(draw, number: int) -> Attempt:
    outcome = draw(st.sampled_from(["passed", "passed", "passed", "failed", "error", "crashed", "skipped",
                                    "xfailed", "xpassed"]))  # fmt: skip
    shape = draw(st.sampled_from(_PHASE_SHAPES))
    category = None
    if outcome in ("failed", "error", "crashed"):
        category = draw(st.sampled_from([None, "failure", "error", "crash", "collection", "xpass-strict"]))
    subtests = draw(st.lists(st.builds(Subtest, st.sampled_from(["a", "b"]), st.sampled_from(["passed", "failed"])),
                             max_size=3))  # fmt: skip
    return Attempt(number, outcome, [Phase(w, o, 0.1) for w, o in shape], category=category,
                   exception_type=draw(st.sampled_from([None, "ValueError"])), subtests=subtests)  # fmt: skip


@st.composite
def _records(draw) -> RunRecord:
    tests = []
    for index in range(draw(st.integers(0, 12))):
        count = draw(st.sampled_from([1, 1, 1, 2, 3, 0]))
        attempts = [draw(_attempts(n + 1)) for n in range(count)]
        tests.append(TestResult(f"t.py::test_{index}", attempts, opportunities=draw(st.sampled_from([1, 1, 2, 5])),
                                stage=draw(st.sampled_from([None, "unit", "integration", "other"]))))  # fmt: skip
    stages = draw(st.sampled_from([None, ["unit", "integration"], ["unit", UNSTAGED_NAME]]))
    definition = OpportunityDefinition(per_unit=1, subtests_as_opportunities=draw(st.booleans()))
    run = RunInfo(id="r", started_at="2025-01-01T00:00:00Z", finished_at=None, duration_s=None, exit_status=0,
                  deselected=draw(st.integers(0, 3)))  # fmt: skip
    return RunRecord(run=run, tests=tests, opportunity_definition=definition, stages=stages)


UNSTAGED_NAME = "unstaged"


@given(_records())
@FAST
def test_analyze_run_equals_the_per_test_definition(record: RunRecord) -> None:
    assert analyze_run(record).to_dict() == _reference_analysis(record).to_dict()
