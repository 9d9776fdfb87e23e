"""Statistical process control over runs: control charts and run rules (DESIGN §3).

Pure functions over plain numbers (no pytest, no SQL); the store and the CLI feed them.

* ``p_chart``: the defect fraction per run with per-run limits p̄ ± 3·√(p̄(1−p̄)/nᵢ), as the
  number of units nᵢ varies from run to run.
* ``laney_p_chart``: Laney's p′ chart. Suites of thousands of tests are overdispersed (runs
  differ by more than binomial sampling explains), which puts most points of a p chart
  outside its limits. p′ widens each run's limits by σ_z, the spread of the runs' z-scores
  estimated from their moving ranges.
* ``attribute_chart``: the p chart, or p′ when a Pearson χ² dispersion test says the runs are
  overdispersed; it says which, with σ_z and the test's p-value.
* ``xmr_chart``: individuals and moving-range charts (DPMO, suite duration).
* ``find_signals``: Nelson rules 1–4 and the Western Electric 2-of-3 and 4-of-5 rules, on the
  points' z-scores against their own limits, so charts whose limits vary per point are judged
  alike.

Constants are the published ones for subgroups of two: d₂ = 1.128, D₄ = 3.267 (e.g.
Montgomery, *Introduction to Statistical Quality Control*, Appendix Table VI).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

#: Bias correction of the mean moving range of two consecutive points: σ ≈ MR̄ / d₂.
D2 = 1.128
#: Upper limit factor of a moving-range chart (subgroups of two): UCL = D₄·MR̄.
D4 = 3.267

P_CHART = "p"
LANEY_P_CHART = "laney-p'"
INDIVIDUALS = "individuals"
MOVING_RANGE = "moving-range"

#: Run rules, in the order they are checked. Each id names the rule in every signal.
RULES = ("nelson-1", "nelson-2", "nelson-3", "nelson-4", "we-2of3", "we-4of5")
RULE_DESCRIPTIONS = {
    "nelson-1": "one point beyond 3σ",
    "nelson-2": "nine points in a row on one side of the center line",
    "nelson-3": "six points in a row steadily rising or falling",
    "nelson-4": "fourteen points in a row alternating up and down",
    "we-2of3": "two of three points in a row beyond 2σ on the same side",
    "we-4of5": "four of five points in a row beyond 1σ on the same side",
}
#: The chance that each rule fires at a given point of an in-control process (independent
#: normal z-scores): its false-alarm rate. Derived in docs/spc.md; tests/test_spc.py checks
#: each by simulation.
RULE_FALSE_ALARM = {
    "nelson-1": 0.0027,  # 2·(1 − Φ(3))
    "nelson-2": 0.0039,  # 2·0.5⁹
    "nelson-3": 0.0028,  # 2/6!
    "nelson-4": 0.0046,  # 2·E₁₄/14! (E: Euler zigzag numbers)
    "we-2of3": 0.0020,  # 2·q·(1 − (1 − q)²), q = 1 − Φ(2)
    "we-4of5": 0.0045,  # 2·q·(4q³(1 − q) + q⁴), q = 1 − Φ(1)
}
#: Significance of the χ² dispersion test that chooses Laney's p′ over the p chart.
OVERDISPERSION_ALPHA = 0.05


@dataclass(frozen=True)
class ChartPoint:
    """One plotted point: its value, its center line and limits (None: no limit there)."""

    label: str  # e.g. the run id
    value: float
    center: float
    lcl: float | None
    ucl: float | None
    sigma: float  # the point's own σ (for p charts it depends on the run's units)

    @property
    def z(self) -> float | None:
        """Distance from the center line in the point's σ; None when σ is 0."""
        if self.sigma <= 0:
            return None
        return (self.value - self.center) / self.sigma


@dataclass(frozen=True)
class Signal:
    """A run rule that fired: the rule, and the indexes of the points that make it up."""

    rule: str
    points: tuple[int, ...]

    @property
    def at(self) -> int:
        """The point at which the rule fired (the last of its points)."""
        return self.points[-1]


@dataclass(frozen=True)
class Chart:
    kind: str
    center: float
    points: list[ChartPoint]
    signals: list[Signal] = field(default_factory=list)
    sigma_z: float | None = None  # p and p′ charts: the spread of the runs' z-scores
    dispersion_p_value: float | None = None  # p and p′ charts: Pearson χ² test of overdispersion


# --------------------------------------------------------------------------- attribute charts


def p_chart(
    defects: Sequence[int], units: Sequence[int], labels: Sequence[str] | None = None,
    *, center: float | None = None, rules: Iterable[str] = RULES,
) -> Chart:  # fmt: skip
    """p chart of ``defects[i] / units[i]`` with limits p̄ ± 3·√(p̄(1−p̄)/nᵢ), clipped to [0, 1].

    p̄ is the pooled fraction of these runs, or ``center`` when limits are frozen on a baseline.
    """
    p_bar, sigmas = _binomial(defects, units, center)
    points = [
        _point(label, d / n, p_bar, 3 * s, low=0.0, high=1.0, sigma=s)
        for label, d, n, s in zip(_labels(labels, len(units)), defects, units, sigmas)
    ]
    sigma_z, p_value = _dispersion(points) if len(points) >= 2 else (None, None)
    return Chart(P_CHART, p_bar, points, find_signals(points, rules), sigma_z, p_value)


def laney_p_chart(
    defects: Sequence[int], units: Sequence[int], labels: Sequence[str] | None = None,
    *, center: float | None = None, sigma_z: float | None = None, rules: Iterable[str] = RULES,
) -> Chart:  # fmt: skip
    """Laney's p′ chart: limits p̄ ± 3·σ_z·√(p̄(1−p̄)/nᵢ), σ_z = mean moving range of the runs'
    z-scores / d₂ (Laney 2002, *Improved control charts for attributes*). ``center`` and
    ``sigma_z`` given: limits frozen on a baseline's p̄ and σ_z."""
    rules = tuple(rules)
    base = p_chart(defects, units, labels, center=center, rules=())  # its points; signals below
    if sigma_z is None:
        sigma_z = base.sigma_z
    if sigma_z is None:  # every run alike, or p̄ at 0 or 1: nothing to widen
        return Chart(LANEY_P_CHART, base.center, base.points, find_signals(base.points, rules), None,
                     base.dispersion_p_value)  # fmt: skip
    points = [
        _point(p.label, p.value, p.center, 3 * p.sigma * sigma_z, low=0.0, high=1.0, sigma=p.sigma * sigma_z)
        for p in base.points
    ]
    return Chart(LANEY_P_CHART, base.center, points, find_signals(points, rules), sigma_z, base.dispersion_p_value)


def attribute_chart(
    defects: Sequence[int], units: Sequence[int], labels: Sequence[str] | None = None,
    alpha: float = OVERDISPERSION_ALPHA, rules: Iterable[str] = RULES,
) -> Chart:  # fmt: skip
    """The p chart, or Laney's p′ when the runs are overdispersed: Pearson's statistic Σzᵢ²
    is above what χ² with k−1 degrees of freedom gives with probability ``alpha``."""
    if len(units) < 2:
        raise ValueError(f"a control chart needs at least 2 runs, got {len(units)}")
    rules = tuple(rules)
    base = p_chart(defects, units, labels, rules=())  # the test first, the signals of the chart chosen
    if base.dispersion_p_value is not None and base.dispersion_p_value < alpha:
        return laney_p_chart(defects, units, labels, rules=rules)
    return replace(base, signals=find_signals(base.points, rules))


def _binomial(
    defects: Sequence[int], units: Sequence[int], center: float | None
) -> tuple[float, list[float]]:
    if len(defects) != len(units):
        raise ValueError(f"{len(defects)} defect counts for {len(units)} unit counts")
    if center is None and len(units) < 2:
        raise ValueError(f"a control chart needs at least 2 runs, got {len(units)}")
    if center is not None and not 0 <= center <= 1:
        raise ValueError(f"a p chart's center must be a fraction in [0, 1], got {center}")
    for d, n in zip(defects, units):
        if n <= 0 or d < 0 or d > n:
            raise ValueError(f"a run needs 0 <= defects <= units and units > 0, got {d} of {n}")
    p_bar = sum(defects) / sum(units) if center is None else center
    return p_bar, [math.sqrt(p_bar * (1 - p_bar) / n) for n in units]


def _dispersion(points: Sequence[ChartPoint]) -> tuple[float | None, float | None]:
    """σ_z (mean moving range of the z-scores / d₂) and the p-value of Pearson's χ² test of
    overdispersion; (None, None) when the z-scores are undefined (p̄ = 0 or 1)."""
    zs = [p.z for p in points]
    if any(z is None for z in zs):
        return None, None
    ranges = [abs(b - a) for a, b in zip(zs, zs[1:])]  # type: ignore[operator]
    sigma_z = sum(ranges) / len(ranges) / D2
    statistic = sum(z * z for z in zs)  # type: ignore[operator]
    return sigma_z, chi2_sf(statistic, len(zs) - 1)


def chi2_sf(x: float, dof: int) -> float:
    """P(χ²_dof > x): the regularized upper incomplete gamma function Q(dof/2, x/2), from
    ``quality/incomplete.py`` rather than SciPy, because a chart is drawn at the end of every
    run with history and importing ``scipy.special`` would cost ~0.45 s of it. tests/test_spc.py
    checks it against ``scipy.stats.chi2.sf`` and a published table."""
    if dof < 1:
        raise ValueError(f"a χ² distribution needs at least 1 degree of freedom, got {dof}")
    if x <= 0:
        return 1.0
    from .incomplete import gammaincc

    return gammaincc(dof / 2.0, x / 2.0)


# --------------------------------------------------------------------------- XmR charts


def xmr_chart(
    values: Sequence[float], labels: Sequence[str] | None = None,
    *, center: float | None = None, mr_bar: float | None = None, rules: Iterable[str] = RULES,
) -> tuple[Chart, Chart]:  # fmt: skip
    """Individuals chart (x̄ ± 3·MR̄/d₂) and moving-range chart (0 to D₄·MR̄) of ``values``.

    x̄ and MR̄ are those of these values, or ``center`` and ``mr_bar`` when the limits are
    frozen on a baseline. The moving-range chart has one point fewer: its first point is the
    range between the first two values, labelled as the second.
    """
    if (center is None or mr_bar is None) and len(values) < 2:
        raise ValueError(f"an XmR chart needs at least 2 values, got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("an XmR chart needs finite values")
    names = _labels(labels, len(values))
    mean = sum(values) / len(values) if center is None else center
    ranges = [abs(b - a) for a, b in zip(values, values[1:])]
    if mr_bar is None:
        mr_bar = sum(ranges) / len(ranges)
    sigma = mr_bar / D2
    individuals = [_point(name, v, mean, 3 * sigma, sigma=sigma) for name, v in zip(names, values)]
    mr_sigma = (D4 - 1) * mr_bar / 3  # so that center + 3σ is D₄·MR̄
    moving = [
        ChartPoint(name, r, mr_bar, 0.0, D4 * mr_bar, mr_sigma) for name, r in zip(names[1:], ranges)
    ]
    rules = tuple(rules)
    return (
        Chart(INDIVIDUALS, mean, individuals, find_signals(individuals, rules)),
        # A moving range is not normal and its points overlap: only rule 1 applies to it.
        Chart(MOVING_RANGE, mr_bar, moving, find_signals(moving, [r for r in rules if r == "nelson-1"])),
    )


def _point(label: str, value: float, center: float, spread: float, *, sigma: float,
           low: float | None = None, high: float | None = None) -> ChartPoint:  # fmt: skip
    lcl = center - spread
    ucl = center + spread
    if low is not None and lcl < low:
        lcl = low
    if high is not None and ucl > high:
        ucl = high
    return ChartPoint(label, value, center, lcl, ucl, sigma)


def _labels(labels: Sequence[str] | None, count: int) -> list[str]:
    if labels is None:
        return [str(index + 1) for index in range(count)]
    if len(labels) != count:
        raise ValueError(f"{len(labels)} labels for {count} points")
    return list(labels)


# --------------------------------------------------------------------------- run rules


def find_signals(points: Sequence[ChartPoint], rules: Iterable[str] = RULES) -> list[Signal]:
    """Every firing of ``rules`` over the points, in point order, then rule order.

    Rules read each point's z-score against its own center and σ, so a chart whose limits
    vary per point (a p chart) is judged like one with fixed limits. Rule 1 uses the drawn
    limits (a limit clipped at 0 or 1 still counts where it is drawn). A point without a σ
    (σ = 0) breaks every pattern it would be part of. A pattern that goes on fires once,
    where it completes, and again each point it continues (as most SPC software does).

    One pass: the pattern rules keep the length of the run that ends at each point (points
    on one side, steps in one direction, alternating steps), so a chart of a thousand runs
    costs a thousand steps, not a window per rule per point.
    """
    wanted = set(rules)
    unknown = wanted - set(RULES)
    if unknown:
        raise ValueError(f"unknown run rule {min(unknown)!r}; known: {', '.join(RULES)}")
    beyond, one_side, trend, alternating, two_of_three, four_of_five = (rule in wanted for rule in RULES)
    zs = [p.z for p in points]
    signals: list[Signal] = []
    side_run = trend_run = alternating_run = 0
    last_sign = last_step = 0
    previous: float | None = None
    for i, z in enumerate(zs):
        # The lengths of the runs that end here; a missing z-score ends each of them.
        if z is None:
            sign = step = 0
        else:
            sign = (z > 0) - (z < 0)
            step = 0 if previous is None else (z > previous) - (z < previous)
        side_run = side_run + 1 if sign and sign == last_sign else (1 if sign else 0)
        trend_run = trend_run + 1 if step and step == last_step else (1 if step else 0)
        alternating_run = alternating_run + 1 if step and step == -last_step else (1 if step else 0)
        last_sign, last_step, previous = sign, step, z
        if beyond:
            point = points[i]
            if (point.ucl is not None and point.value > point.ucl) or (point.lcl is not None and point.value < point.lcl):
                signals.append(Signal("nelson-1", (i,)))
        if one_side and side_run >= 9:
            signals.append(Signal("nelson-2", tuple(range(i - 8, i + 1))))
        if trend and trend_run >= 5:  # six points: five steps
            signals.append(Signal("nelson-3", tuple(range(i - 5, i + 1))))
        if alternating and alternating_run >= 13:  # fourteen points: thirteen steps
            signals.append(Signal("nelson-4", tuple(range(i - 13, i + 1))))
        if z is not None and abs(z) > 1.0:
            if two_of_three:
                found = _k_of_n(zs, i, 2, 3, 2.0)
                if found:
                    signals.append(Signal("we-2of3", found))
            if four_of_five:
                found = _k_of_n(zs, i, 4, 5, 1.0)
                if found:
                    signals.append(Signal("we-4of5", found))
    return signals


def _k_of_n(zs: Sequence[float | None], i: int, k: int, n: int, limit: float) -> tuple[int, ...] | None:
    """At least ``k`` of the ``n`` points ending at ``i`` beyond ``limit`` σ on the side of
    point ``i``, which must be one of them; every point of the window needs a z-score."""
    last = zs[i]
    if i + 1 < n or last is None or abs(last) <= limit:
        return None
    window = zs[i + 1 - n : i + 1]
    if any(z is None for z in window):
        return None
    side = 1 if last > 0 else -1
    hits = tuple(i + 1 - n + j for j, z in enumerate(window) if z * side > limit)  # type: ignore[operator]
    return hits if len(hits) >= k else None
