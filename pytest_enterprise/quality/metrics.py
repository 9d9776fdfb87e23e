"""Quality metrics for one run: DPU, DPMO, yields, RTY, sigma, Pareto.

``compute_quality`` is the pure math on counts; ``analyze_run`` maps a ``RunRecord`` to those
counts. Yields and percents are percent (0–100); DPMO is per million; sigma is in σ. Floats keep
full precision here; views round. Every formula is explained in docs/telemetry-math.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from pytest_enterprise.model import COLLECTION, Attempt, RunRecord, TestResult
from pytest_enterprise.quality.sigma import (
    DEFAULT_QUALITY_THRESHOLDS,
    QualityLevel,
    opportunities_to_demonstrate,
    poisson_rate_ci,
    proportion_ci,
    proportion_upper_bound,
    quality_level,
    sigma_level,
    validate_thresholds,
    z_long_term,
)

__all__ = [
    "BASIS_LOWER_BOUND",
    "BASIS_POINT_ESTIMATE",
    "NO_DATA",
    "NextLevel",
    "PHASE_STAGES",
    "UNSTAGED",
    "ParetoEntry",
    "QualityMetrics",
    "StageYield",
    "analyze_counted",
    "analyze_run",
    "compute_quality",
    "unit_defects",
    "unit_opportunities",
    "yield_ci",
]

NO_DATA = "no data"
# Reports written before the level was always judged on the lower bound may still say this.
BASIS_POINT_ESTIMATE = "point estimate"
BASIS_LOWER_BOUND = "95% lower bound"
PHASE_STAGES = ("setup", "call", "teardown")
COLLECT_STAGE = "collect"  # a stage only in runs where a module failed to collect
UNSTAGED = "unstaged"
PER_MILLION = 1_000_000
PERCENT = 100.0

# A dead xdist worker is reported in place of the call phase.
_PHASE_ALIASES = {"crash": "call"}
# Used when the recorder left a defect without a category; mirrors the outcome model.
_FALLBACK_CATEGORY = {"failed": "failure", "error": "error", "crashed": "crash"}

Interval = tuple[float, float]
OptionalInterval = tuple[float | None, float | None]


@dataclass
class StageYield:
    """First-pass yield of one stage (a phase, or a marker stage such as ``integration``)."""

    name: str
    units: int
    first_pass: int
    fpy: float | None
    fpy_ci95: Interval | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "units": self.units,
            "first_pass": self.first_pass,
            "fpy": self.fpy,
            "fpy_ci95": _as_list(self.fpy_ci95),
        }


@dataclass
class ParetoEntry:
    category: str
    count: int
    percent: float
    cumulative_percent: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "count": self.count,
            "percent": self.percent,
            "cumulative_percent": self.cumulative_percent,
        }


@dataclass(frozen=True)
class NextLevel:
    """The next quality level above the demonstrated one, and the sample that would show it.

    ``opportunities_needed`` is the smallest number of opportunities that, holding no more than
    ``defects_allowed`` defective ones (this run's count), demonstrates ``threshold`` at the
    report's confidence; ``units_needed`` converts it at this run's opportunities per unit. Both
    are ``None`` when no finite sample can demonstrate the threshold.
    """

    name: str
    threshold: float
    defects_allowed: int
    opportunities_needed: int | None
    units_needed: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "defects_allowed": self.defects_allowed,
            "opportunities_needed": self.opportunities_needed,
            "units_needed": self.units_needed,
        }


@dataclass
class QualityMetrics:
    """The quality result of one run; ``to_dict()`` is the JSON report's ``quality`` object.

    Every ``None`` means "no data" or "not a finite number" and serialises as JSON null; no field
    ever holds ±inf or NaN. ``confidence`` is the level the ``*_ci95`` intervals and the one-sided
    lower bounds were computed at (0.95 unless a caller asked otherwise) and is not part of the
    report object.
    """

    units: int
    defects: int
    opportunities: int
    dpu: float | None
    dpu_ci95: Interval | None
    dpmo: float | None
    dpmo_ci95: Interval | None
    fpy: float | None
    fpy_ci95: Interval | None
    final_yield: float | None
    final_yield_ci95: Interval | None
    rty: float | None
    sigma_level: float | None
    sigma_level_ci95: OptionalInterval | None
    sigma_lower_bound: float | None
    z_long_term: float | None
    z_long_term_lower_bound: float | None
    quality_level: str
    quality_level_threshold: float | None
    quality_level_basis: str | None
    next_quality_level: NextLevel | None = None
    defects_beyond_opportunities: int = 0
    stages: list[StageYield] = field(default_factory=list)
    pareto: list[ParetoEntry] = field(default_factory=list)
    flaky: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    deselected: int = 0
    opportunity_definition: str = ""
    confidence: float = 0.95

    @property
    def has_data(self) -> bool:
        return self.units > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "defects": self.defects,
            "opportunities": self.opportunities,
            "defects_beyond_opportunities": self.defects_beyond_opportunities,
            "dpu": self.dpu,
            "dpu_ci95": _as_list(self.dpu_ci95),
            "dpmo": self.dpmo,
            "dpmo_ci95": _as_list(self.dpmo_ci95),
            "fpy": self.fpy,
            "fpy_ci95": _as_list(self.fpy_ci95),
            "final_yield": self.final_yield,
            "final_yield_ci95": _as_list(self.final_yield_ci95),
            "rty": self.rty,
            "sigma_level": self.sigma_level,
            "sigma_level_ci95": _as_list(self.sigma_level_ci95),
            "sigma_lower_bound": self.sigma_lower_bound,
            "z_long_term": self.z_long_term,
            "z_long_term_lower_bound": self.z_long_term_lower_bound,
            "quality_level": self.quality_level,
            "quality_level_threshold": self.quality_level_threshold,
            "quality_level_basis": self.quality_level_basis,
            "next_quality_level": (
                None if self.next_quality_level is None else self.next_quality_level.to_dict()
            ),
            "stages": [stage.to_dict() for stage in self.stages],
            "pareto": [entry.to_dict() for entry in self.pareto],
            "flaky": self.flaky,
            "skipped": self.skipped,
            "xfailed": self.xfailed,
            "xpassed": self.xpassed,
            "deselected": self.deselected,
            "opportunity_definition": self.opportunity_definition,
        }


def _as_list(interval: tuple[Any, Any] | None) -> list[Any] | None:
    return None if interval is None else [interval[0], interval[1]]


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- pure math


def yield_ci(passes: int, units: int, confidence: float = 0.95) -> Interval:
    """Clopper–Pearson interval for a yield, in percent."""
    low, high = proportion_ci(passes, units, confidence)
    return low * PERCENT, high * PERCENT


def _check_non_negative(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def _stage_yield(name: str, entering: int, passes: int, confidence: float) -> StageYield:
    _check_non_negative(**{f"stage {name!r} units": entering, f"stage {name!r} passes": passes})
    if passes > entering:
        raise ValueError(f"stage {name!r}: {passes} first-pass units out of {entering} entering")
    if entering == 0:
        return StageYield(name, 0, 0, None, None)
    return StageYield(
        name, entering, passes, passes / entering * PERCENT, yield_ci(passes, entering, confidence)
    )


def _rolled_throughput_yield(stages: Iterable[StageYield]) -> float | None:
    # A stage nobody entered has no yield; multiplying by it would invent a 0% or 100%.
    measured = [stage.first_pass / stage.units for stage in stages if stage.units]
    if not measured:
        return None
    return math.prod(measured) * PERCENT


def _pareto(categories: Mapping[str, int]) -> list[ParetoEntry]:
    counted = sorted(
        ((name, count) for name, count in categories.items() if count > 0),
        key=lambda item: (-item[1], item[0]),
    )
    total = sum(count for _, count in counted)
    entries: list[ParetoEntry] = []
    running = 0
    for name, count in counted:
        running += count
        entries.append(
            ParetoEntry(name, count, count / total * PERCENT, running / total * PERCENT)
        )
    return entries


@dataclass(frozen=True)
class _SigmaSummary:
    level: float | None
    ci: OptionalInterval
    lower_bound: float  # -inf when every opportunity is defective
    z: float | None
    z_lower_bound: float


def _summarise_sigma(
    defective: int, opportunities: int, p_ci: Interval, confidence: float
) -> _SigmaSummary:
    p_low, p_high = p_ci
    # Higher DPMO means lower sigma, so the interval's ends swap.
    ci = (_finite_or_none(sigma_level(p_high)), _finite_or_none(sigma_level(p_low)))
    # What the sample demonstrates: the one-sided bound, which the quality level is judged on.
    p_bound = proportion_upper_bound(defective, opportunities, confidence)
    lower, z_lower = sigma_level(p_bound), z_long_term(p_bound)
    if defective == 0:
        # The point estimate would be +inf: there is none, only what the sample demonstrates.
        return _SigmaSummary(None, ci, lower, None, z_lower)
    p = defective / opportunities
    # p == 1 (every opportunity a defect) gives -inf, which JSON cannot carry: null.
    return _SigmaSummary(
        _finite_or_none(sigma_level(p)), ci, lower, _finite_or_none(z_long_term(p)), z_lower
    )


def _lower_bound_basis(confidence: float) -> str:
    # "95% lower bound" (BASIS_LOWER_BOUND) at the default confidence.
    return f"{confidence * 100:g}% lower bound"


def _next_level(
    level: QualityLevel,
    thresholds: Mapping[str, float],
    *,
    defective: int,
    units: int,
    opportunities: int,
    confidence: float,
) -> NextLevel | None:
    """The lowest level above ``level``, with the sample size that would demonstrate it."""
    above = [
        (name, threshold)
        for name, threshold in validate_thresholds(thresholds)
        if level.threshold is None or threshold > level.threshold
    ]
    if not above:
        return None
    name, threshold = above[-1]  # highest first, so the last is the next one up
    needed = opportunities_to_demonstrate(threshold, defective, confidence)
    # At this run's opportunities per unit, rounded up so the units hold enough opportunities.
    units_needed = None if needed is None else -(-needed * units // opportunities)
    return NextLevel(name, threshold, defective, needed, units_needed)


def _no_data(
    stages: list[StageYield], pareto: list[ParetoEntry], **extra: Any
) -> QualityMetrics:
    return QualityMetrics(
        units=0,
        defects=0,
        opportunities=0,
        dpu=None,
        dpu_ci95=None,
        dpmo=None,
        dpmo_ci95=None,
        fpy=None,
        fpy_ci95=None,
        final_yield=None,
        final_yield_ci95=None,
        rty=None,
        sigma_level=None,
        sigma_level_ci95=None,
        sigma_lower_bound=None,
        z_long_term=None,
        z_long_term_lower_bound=None,
        quality_level=NO_DATA,
        quality_level_threshold=None,
        quality_level_basis=None,
        stages=stages,
        pareto=pareto,
        **extra,
    )


def compute_quality(
    *,
    units: int,
    defects: int,
    opportunities: int,
    first_pass: int,
    final_pass: int,
    stages: Sequence[tuple[str, int, int]] = (),
    categories: Mapping[str, int] | None = None,
    thresholds: Mapping[str, float] = DEFAULT_QUALITY_THRESHOLDS,
    confidence: float = 0.95,
    flaky: int = 0,
    skipped: int = 0,
    xfailed: int = 0,
    xpassed: int = 0,
    deselected: int = 0,
    opportunity_definition: str = "",
    defective_opportunities: int | None = None,
) -> QualityMetrics:
    """Quality metrics from counts that describe one process.

    ``opportunities`` is the total over all units. ``defective_opportunities`` is how many of
    them hold a defect; it defaults to ``defects`` (one defect per defective opportunity). A
    caller whose units can carry more defects than opportunities passes it explicitly: DPU and
    the Pareto count every defect, DPMO only defective opportunities, and the difference is
    reported as ``defects_beyond_opportunities``. ``stages`` holds ``(name, units entering,
    first-pass passes)``; ``categories`` maps a Pareto label to its defect count.

    Counts that cannot describe one process are refused with ``ValueError``: a unit that does
    not finally pass carries at least one defect, and a defect belongs to a unit that does not.
    """
    _check_non_negative(
        units=units,
        defects=defects,
        opportunities=opportunities,
        first_pass=first_pass,
        final_pass=final_pass,
        flaky=flaky,
        skipped=skipped,
        xfailed=xfailed,
        xpassed=xpassed,
        deselected=deselected,
    )
    if first_pass > units or final_pass > units:
        raise ValueError(
            f"first_pass ({first_pass}) and final_pass ({final_pass}) cannot exceed units ({units})"
        )
    if units > 0 and opportunities == 0:
        raise ValueError(f"{units} units with zero opportunities: each unit has at least one")
    if defective_opportunities is None:
        defective_opportunities = defects
    _check_non_negative(defective_opportunities=defective_opportunities)
    if defective_opportunities > min(defects, opportunities):
        raise ValueError(
            f"{defective_opportunities} defective opportunities out of {opportunities} with "
            f"{defects} defects: a defective opportunity is an opportunity holding a defect"
            + ("; pass defective_opportunities" if defects > opportunities else "")
        )
    failed_units = units - final_pass
    if defective_opportunities < failed_units:
        raise ValueError(
            f"{failed_units} units did not pass but only {defective_opportunities} defective "
            "opportunities were counted: each such unit has at least one"
        )
    if defects and not failed_units:
        raise ValueError(f"{defects} defects but every unit passed: a defect fails its unit")
    validate_thresholds(thresholds)  # fail on bad config even when there is no data
    stage_yields = [_stage_yield(name, n, k, confidence) for name, n, k in stages]
    pareto = _pareto(categories or {})
    extra: dict[str, Any] = {
        "flaky": flaky,
        "skipped": skipped,
        "xfailed": xfailed,
        "xpassed": xpassed,
        "deselected": deselected,
        "opportunity_definition": opportunity_definition,
        "confidence": confidence,
    }
    if units == 0:
        return _no_data(stage_yields, pareto, **extra)

    # DPMO counts defective opportunities, so it cannot pass 10⁶ (DPU, a rate, can pass 1).
    p_ci = proportion_ci(defective_opportunities, opportunities, confidence)
    sigma = _summarise_sigma(defective_opportunities, opportunities, p_ci, confidence)
    # Judged on what the sample demonstrates, never on the point estimate: the level then only
    # falls as defects are added, and a small clean run says "not yet shown", not "excellent".
    level = quality_level(sigma.lower_bound, thresholds)
    next_level = _next_level(
        level,
        thresholds,
        defective=defective_opportunities,
        units=units,
        opportunities=opportunities,
        confidence=confidence,
    )

    return QualityMetrics(
        units=units,
        defects=defects,
        opportunities=opportunities,
        dpu=defects / units,
        dpu_ci95=poisson_rate_ci(defects, units, confidence),
        dpmo=defective_opportunities / opportunities * PER_MILLION,
        dpmo_ci95=(p_ci[0] * PER_MILLION, p_ci[1] * PER_MILLION),
        fpy=first_pass / units * PERCENT,
        fpy_ci95=yield_ci(first_pass, units, confidence),
        final_yield=final_pass / units * PERCENT,
        final_yield_ci95=yield_ci(final_pass, units, confidence),
        rty=_rolled_throughput_yield(stage_yields),
        sigma_level=sigma.level,
        sigma_level_ci95=sigma.ci,
        sigma_lower_bound=_finite_or_none(sigma.lower_bound),
        z_long_term=sigma.z,
        z_long_term_lower_bound=_finite_or_none(sigma.z_lower_bound),
        quality_level=level.name,
        quality_level_threshold=level.threshold,
        quality_level_basis=_lower_bound_basis(confidence),
        next_quality_level=next_level,
        defects_beyond_opportunities=defects - defective_opportunities,
        stages=stage_yields,
        pareto=pareto,
        **extra,
    )


# --------------------------------------------------------------------------- RunRecord mapping


def _final_attempt(test: TestResult) -> Attempt:
    return test.attempts[-1]


def unit_opportunities(test: TestResult, subtests_as_opportunities: bool) -> int:
    """Opportunities of one unit: its own count, plus its final attempt's subtests if enabled."""
    own = test.opportunities
    if isinstance(own, bool) or not isinstance(own, int) or own < 1:
        raise ValueError(
            f"{test.nodeid}: opportunities must be an int >= 1, got {own!r}; "
            "validate @pytest.mark.opportunities(n) before recording"
        )
    if subtests_as_opportunities and test.attempts:
        return own + len(_final_attempt(test).subtests)
    return own


def unit_defects(test: TestResult, subtests_as_opportunities: bool) -> int:
    """Defects one unit contributes, judged on its final attempt."""
    if test.final_pass:
        return 0
    found = 1
    if subtests_as_opportunities:
        found = max(1, _final_attempt(test).failed_subtests)
    return min(found, unit_opportunities(test, subtests_as_opportunities))


def _defect_label(attempt: Attempt) -> str:
    category = attempt.category or _FALLBACK_CATEGORY.get(attempt.outcome, attempt.outcome)
    return f"{category}: {attempt.exception_type}" if attempt.exception_type else category


def _phase_stage_counts(
    shapes: Iterable[tuple[tuple[tuple[str, str], ...], int]], units: int, uncollected: int
) -> list[tuple[str, int, int]]:
    """Stage yields by pytest phase, from the first attempts' phase shapes and how many units
    had each (almost every unit of a run has one of a handful of shapes)."""
    entering: Counter[str] = Counter()
    passing: Counter[str] = Counter()
    for shape, count in shapes:
        outcomes: dict[str, bool] = {}
        for when, outcome in shape:
            stage = _PHASE_ALIASES.get(when, when)
            passed = outcome != "failed"
            outcomes[stage] = outcomes.get(stage, True) and passed
        for stage, passed in outcomes.items():
            entering[stage] += count
            passing[stage] += count if passed else 0
    counts = [(name, entering[name], passing[name]) for name in PHASE_STAGES]
    if uncollected:
        # Every unit went through collection; only the collectors that failed did not pass it,
        # so RTY falls with FPY. Listed only when it happened, as collection rarely fails.
        counts.insert(0, (COLLECT_STAGE, units, units - uncollected))
    return counts


def _marker_stage_counts(
    entering: Counter[str], passing: Counter[str], stage_names: Sequence[str]
) -> list[tuple[str, int, int]]:
    counts = [(name, entering[name], passing[name]) for name in stage_names]
    if entering[UNSTAGED] and UNSTAGED not in stage_names:
        counts.append((UNSTAGED, entering[UNSTAGED], passing[UNSTAGED]))
    return counts


def analyze_run(
    record: RunRecord, *, thresholds: Mapping[str, float] = DEFAULT_QUALITY_THRESHOLDS
) -> QualityMetrics:
    """Quality metrics for one run record, following the outcome model in DESIGN §2."""
    return analyze_counted(record, zip(record.tests, repeat(1)), thresholds=thresholds)


def analyze_counted(
    record: RunRecord,
    counted: Iterable[tuple[TestResult, int]],
    *,
    thresholds: Mapping[str, float] = DEFAULT_QUALITY_THRESHOLDS,
) -> QualityMetrics:
    """``analyze_run`` of a record whose tests are ``counted``: each ``(test, n)`` stands for
    ``n`` tests that may differ from ``test`` in their nodeids and durations only; the rest of
    ``record`` (run, stages, opportunity counting) is read as ``analyze_run`` reads it.

    What a test adds depends on nothing else (not its nodeid, not its durations), so ``n``
    tests add ``n`` times what one adds: a shards merge (``report.fast_read.PackedTests``)
    counts its 80,000 tests per template without building them. Keep it so: a metric that
    reads a test's nodeid or durations must not go through here.

    One pass over the tests. A unit that passed on its only attempt, the common case, takes a
    short path that adds what ``is_unit``, ``first_pass``, ``final_pass``, ``unit_defects`` and
    ``unit_opportunities`` would give it; every other test goes through them.
    """
    subtests = record.opportunity_definition.subtests_as_opportunities
    by_phase = record.stages is None
    known_stages = frozenset(record.stages or ())
    categories: Counter[str] = Counter()
    final_outcomes: Counter[str] = Counter()
    units = defects = opportunities = first_pass = final_pass = flaky = passed_at_once = 0
    uncollected = 0
    # id(shape) -> [shape, units]: shapes are shared objects (model._SHAPES), so counting them
    # by identity avoids hashing a tuple per test; equal shapes in two entries still add up.
    shapes: dict[int, list[Any]] = {}
    entering: Counter[str] = Counter()
    passing: Counter[str] = Counter()
    for test, count in counted:
        attempts = test.attempts
        own = test.opportunities
        if (
            len(attempts) == 1
            and attempts[0].outcome == "passed"
            and type(own) is int
            and own >= 1
            and not (subtests and attempts[0].subtests)
        ):
            passed_at_once += count
            opportunities += own * count
            unit_first_pass = True
        else:
            final_outcomes[test.outcome] += count
            if not test.is_unit:
                continue
            units += count
            found = unit_defects(test, subtests)
            if found:
                defects += found * count
                categories[_defect_label(_final_attempt(test))] += found * count
            opportunities += unit_opportunities(test, subtests) * count
            unit_first_pass = test.first_pass
            first_pass += unit_first_pass * count
            final_pass += test.final_pass * count
            flaky += test.flaky * count
            if by_phase and test.category == COLLECTION:
                uncollected += count  # its tests never reached setup
                continue
        if by_phase:
            shape = attempts[0].phase_outcomes()
            entry = shapes.get(id(shape))
            if entry is None:
                shapes[id(shape)] = [shape, count]
            else:
                entry[1] += count
        else:
            stage = test.stage if test.stage in known_stages else UNSTAGED
            entering[stage] += count
            passing[stage] += unit_first_pass * count
    units += passed_at_once
    final_outcomes["passed"] += passed_at_once
    if by_phase:
        stages = _phase_stage_counts(shapes.values(), units, uncollected)
    else:
        stages = _marker_stage_counts(entering, passing, record.stages)
    return compute_quality(
        units=units,
        defects=defects,
        opportunities=opportunities,
        first_pass=first_pass + passed_at_once,
        final_pass=final_pass + passed_at_once,
        stages=stages,
        categories=categories,
        thresholds=thresholds,
        flaky=flaky,
        skipped=final_outcomes["skipped"],
        xfailed=final_outcomes["xfailed"],
        xpassed=final_outcomes["xpassed"],
        deselected=record.run.deselected,
        opportunity_definition=record.opportunity_definition.describe(),
    )
