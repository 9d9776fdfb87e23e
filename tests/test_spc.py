"""quality.spc: control limits, σ_z and run rules against published and hand-computed values."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_enterprise.quality.spc import (
    D2,
    D4,
    LANEY_P_CHART,
    P_CHART,
    RULES,
    ChartPoint,
    attribute_chart,
    find_signals,
    laney_p_chart,
    p_chart,
    xmr_chart,
)

# Montgomery, Introduction to Statistical Quality Control (6th ed.), Example 7.1: nonconforming
# orange-juice cans in 30 samples of n = 50. Published: p̄ = 0.2313, UCL = 0.4102,
# LCL = 0.0524; samples 15 and 23 plot above the UCL.
MONTGOMERY_7_1 = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9,
                  12, 7, 13, 9, 6]  # fmt: skip


def test_p_chart_matches_the_published_example() -> None:
    chart = p_chart(MONTGOMERY_7_1, [50] * 30)
    assert chart.kind == P_CHART
    assert round(chart.center, 4) == 0.2313
    assert {round(p.ucl, 4) for p in chart.points} == {0.4102}
    assert {round(p.lcl, 4) for p in chart.points} == {0.0524}
    beyond = [s.at + 1 for s in chart.signals if s.rule == "nelson-1"]
    assert beyond == [15, 23]


def test_p_chart_limits_vary_with_each_runs_units_and_are_clipped() -> None:
    chart = p_chart([1, 10, 3], [10, 1000, 40])
    p_bar = 14 / 1050
    for point, n in zip(chart.points, [10, 1000, 40]):
        spread = 3 * math.sqrt(p_bar * (1 - p_bar) / n)
        assert point.ucl == pytest.approx(p_bar + spread)
        assert point.lcl == max(0.0, p_bar - spread)
    assert chart.points[0].lcl == 0.0  # clipped: a fraction is never negative


def test_laney_sigma_z_and_limits_by_hand() -> None:
    defects, units = [10, 30, 12, 40], [1000, 1000, 1000, 1000]
    p_bar = 92 / 4000  # 0.023
    sigma = math.sqrt(p_bar * (1 - p_bar) / 1000)
    zs = [(d / 1000 - p_bar) / sigma for d in defects]
    sigma_z = (abs(zs[1] - zs[0]) + abs(zs[2] - zs[1]) + abs(zs[3] - zs[2])) / 3 / 1.128
    chart = laney_p_chart(defects, units)
    assert chart.kind == LANEY_P_CHART
    assert chart.sigma_z == pytest.approx(sigma_z)
    assert chart.points[0].ucl == pytest.approx(p_bar + 3 * sigma * sigma_z)
    assert chart.points[0].lcl == pytest.approx(max(0.0, p_bar - 3 * sigma * sigma_z))


def test_attribute_chart_chooses_laney_only_when_overdispersed() -> None:
    rng = random.Random(7)
    # Binomial runs of a stable process: the p chart is right.
    binomial = [sum(rng.random() < 0.01 for _ in range(2000)) for _ in range(25)]
    stable = attribute_chart(binomial, [2000] * 25)
    assert stable.kind == P_CHART and stable.dispersion_p_value >= 0.05
    # Each run's own rate wanders (a real suite: flaky tests, environments): overdispersed.
    rates = [rng.choice([0.002, 0.01, 0.03]) for _ in range(25)]
    wandering = [sum(rng.random() < rate for _ in range(2000)) for rate in rates]
    chart = attribute_chart(wandering, [2000] * 25)
    assert chart.kind == LANEY_P_CHART and chart.sigma_z > 1.5 and chart.dispersion_p_value < 0.05
    assert len(p_chart(wandering, [2000] * 25).signals) > len(chart.signals)


def test_xmr_by_hand() -> None:
    individuals, moving = xmr_chart([10.0, 12.0, 11.0, 15.0, 13.0], ["a", "b", "c", "d", "e"])
    mr_bar = (2 + 1 + 4 + 2) / 4
    assert individuals.center == pytest.approx(12.2)
    assert individuals.points[0].ucl == pytest.approx(12.2 + 3 * mr_bar / D2)
    assert individuals.points[0].lcl == pytest.approx(12.2 - 3 * mr_bar / D2)
    assert moving.center == pytest.approx(mr_bar)
    assert [p.label for p in moving.points] == ["b", "c", "d", "e"]
    assert [p.value for p in moving.points] == [2.0, 1.0, 4.0, 2.0]
    assert moving.points[0].ucl == pytest.approx(D4 * mr_bar) and moving.points[0].lcl == 0.0


def _series(zs: list[float]) -> list[ChartPoint]:
    return [ChartPoint(str(i), z, 0.0, -3.0, 3.0, 1.0) for i, z in enumerate(zs)]


def _fired(zs: list[float], rule: str) -> list[tuple[int, ...]]:
    return [s.points for s in find_signals(_series(zs), [rule])]


@pytest.mark.parametrize(
    ("rule", "fires", "quiet"),
    [
        ("nelson-1", [0, 0.5, 3.2, 0], [0, 2.9, -2.9, 0]),
        ("nelson-2", [0.1] * 9, [0.1] * 8 + [-0.1]),
        ("nelson-3", [-1, -0.5, 0, 0.2, 0.3, 1.0], [-1, -0.5, 0, 0.2, 0.2, 1.0]),
        ("nelson-4", [0.5, -0.5] * 7, [0.5, -0.5] * 6 + [0.5, 0.6]),
        ("we-2of3", [0, 2.1, 0.5, 2.2], [0, 2.1, 0.5, -2.2]),
        ("we-4of5", [1.1, 1.2, 0.2, 1.3, 1.4], [1.1, 1.2, 0.2, 1.3, -1.4]),
    ],
)
def test_each_rule_fires_on_its_pattern_and_not_on_a_near_miss(rule: str, fires: list[float], quiet: list[float]) -> None:
    assert _fired(fires, rule) != []
    assert _fired(quiet, rule) == []


def test_signals_name_their_rule_and_points() -> None:
    (signal,) = find_signals(_series([0, 2.1, 0.5, 2.2]), ["we-2of3"])
    assert signal.rule == "we-2of3" and signal.points == (1, 3) and signal.at == 3
    assert [s.points for s in find_signals(_series([0.1] * 10), ["nelson-2"])] == [tuple(range(9)), tuple(range(1, 10))]


# A stable 25-run history: 2,000 tests a run, 4 to 12 failures (a hand-picked, unremarkable
# binomial-looking sequence with no pattern any rule looks for).
STABLE = [8, 6, 9, 7, 10, 5, 8, 11, 7, 6, 9, 8, 4, 9, 7, 10, 6, 8, 12, 7, 9, 6, 8, 7, 9]


def test_a_stable_history_flags_nothing_and_one_shifted_run_flags_exactly_that_run() -> None:
    assert p_chart(STABLE, [2000] * 25).signals == []
    shifted = [*STABLE, 30]
    chart = attribute_chart(shifted, [2000] * 26)
    assert [(s.rule, s.at) for s in chart.signals] == [("nelson-1", 25)]


def test_bad_input_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least 2 runs"):
        p_chart([1], [10])
    with pytest.raises(ValueError, match="0 <= defects <= units"):
        p_chart([1, 11], [10, 10])
    with pytest.raises(ValueError, match="2 defect counts for 3"):
        p_chart([1, 2], [10, 10, 10])
    with pytest.raises(ValueError, match="unknown run rule 'nelson-9'"):
        find_signals(_series([0, 1]), ["nelson-9"])
    with pytest.raises(ValueError, match="finite"):
        xmr_chart([1.0, float("nan")])


def test_no_defects_anywhere_has_no_z_scores_and_no_signals() -> None:
    chart = attribute_chart([0, 0, 0], [100, 200, 300])
    assert chart.kind == P_CHART and chart.center == 0.0 and chart.sigma_z is None and chart.signals == []


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=2, max_size=30).flatmap(
    lambda units: st.tuples(st.just(units), st.tuples(*[st.integers(0, n) for n in units]))))
def test_limits_bracket_the_center_within_zero_and_one(runs) -> None:
    units, defects = runs
    for chart in (p_chart(list(defects), units), laney_p_chart(list(defects), units)):
        assert 0.0 <= chart.center <= 1.0
        for point in chart.points:
            assert 0.0 <= point.lcl <= point.center <= point.ucl <= 1.0
        assert all(s.rule in RULES and s.points == tuple(sorted(s.points)) for s in chart.signals)


def _zigzag(n: int) -> int:
    """Euler zigzag number E_n (alternating permutations of n, up-down), by the boustrophedon."""
    row = [1]
    for _ in range(n):
        new = [0]
        for value in reversed(row):
            new.append(new[-1] + value)
        row = new
    return row[-1]


def test_false_alarm_rates_follow_from_the_normal_model_and_show_in_simulation() -> None:
    from scipy.stats import norm

    from pytest_enterprise.quality.spc import RULE_FALSE_ALARM

    q2, q1 = norm.sf(2), norm.sf(1)
    exact = {
        "nelson-1": 2 * norm.sf(3),
        "nelson-2": 2 * 0.5**9,
        "nelson-3": 2 / math.factorial(6),
        "nelson-4": 2 * _zigzag(14) / math.factorial(14),
        "we-2of3": 2 * q2 * (1 - (1 - q2) ** 2),
        "we-4of5": 2 * q1 * (4 * q1**3 * (1 - q1) + q1**4),
    }
    assert _zigzag(14) == 199360981  # OEIS A000111
    for rule, rate in exact.items():
        assert RULE_FALSE_ALARM[rule] == pytest.approx(rate, abs=5e-5), rule
    rng = random.Random(2026)
    points = _series([rng.gauss(0, 1) for _ in range(100_000)])
    fired = {rule: 0 for rule in RULES}
    for signal in find_signals(points):
        fired[signal.rule] += 1
    for rule in RULES:
        assert fired[rule] / len(points) == pytest.approx(exact[rule], rel=0.2), rule


@settings(max_examples=300, deadline=None)
@given(dof=st.integers(1, 5000), scale=st.floats(0, 4, allow_nan=False))
def test_chi2_sf_matches_scipy(dof, scale):
    from scipy.stats import chi2

    from pytest_enterprise.quality.spc import chi2_sf

    x = scale * (dof + 10)
    expected = float(chi2.sf(x, dof))
    assert chi2_sf(x, dof) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_chi2_sf_published_critical_values():
    from pytest_enterprise.quality.spc import chi2_sf

    # χ² table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.4): upper 5 % points for 1, 10 and 100 dof.
    assert chi2_sf(3.841, 1) == pytest.approx(0.05, abs=1e-4)
    assert chi2_sf(18.307, 10) == pytest.approx(0.05, abs=1e-4)
    assert chi2_sf(124.342, 100) == pytest.approx(0.05, abs=1e-4)
    assert chi2_sf(0, 3) == 1.0
    with pytest.raises(ValueError):
        chi2_sf(1.0, 0)


def _reference_signals(points, rules):
    """The rules as their definitions read, a window per rule per point: the oracle for the
    one-pass engine."""
    zs = [p.z for p in points]

    def window(i, length):
        if i + 1 < length:
            return None
        part = zs[i + 1 - length : i + 1]
        return None if any(z is None for z in part) else part

    def steps(i, length):
        part = window(i, length)
        return [b - a for a, b in zip(part, part[1:])] if part else None

    def k_of_n(i, k, n, beyond):
        part = window(i, n)
        if not part or abs(part[-1]) <= beyond:
            return None
        side = 1 if part[-1] > 0 else -1
        hits = tuple(i + 1 - n + j for j, z in enumerate(part) if z * side > beyond)
        return hits if len(hits) >= k else None

    found = []
    for i, point in enumerate(points):
        for rule in RULES:
            if rule not in rules:
                continue
            hit = None
            if rule == "nelson-1":
                if (point.ucl is not None and point.value > point.ucl) or (point.lcl is not None and point.value < point.lcl):
                    hit = (i,)
            elif rule == "nelson-2":
                part = window(i, 9)
                if part and (all(z > 0 for z in part) or all(z < 0 for z in part)):
                    hit = tuple(range(i - 8, i + 1))
            elif rule == "nelson-3":
                part = steps(i, 6)
                if part and (all(s > 0 for s in part) or all(s < 0 for s in part)):
                    hit = tuple(range(i - 5, i + 1))
            elif rule == "nelson-4":
                part = steps(i, 14)
                if part and all(s != 0 for s in part) and all((a > 0) != (b > 0) for a, b in zip(part, part[1:])):
                    hit = tuple(range(i - 13, i + 1))
            elif rule == "we-2of3":
                hit = k_of_n(i, 2, 3, 2.0)
            else:
                hit = k_of_n(i, 4, 5, 1.0)
            if hit is not None:
                found.append((rule, hit))
    return found


@settings(max_examples=400, deadline=None)
@given(
    zs=st.lists(st.one_of(st.none(), st.sampled_from([0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5]),
                          st.floats(-4, 4)), max_size=60),
    rules=st.sets(st.sampled_from(RULES), min_size=1),
)
def test_the_one_pass_rule_engine_matches_the_rules_as_defined(zs, rules):
    points = [
        ChartPoint(str(i), 0.0 if z is None else z, 0.0, -3.0 if z is not None else 0.0,
                   3.0 if z is not None else 0.0, 1.0 if z is not None else 0.0)
        for i, z in enumerate(zs)
    ]
    assert [(s.rule, s.points) for s in find_signals(points, rules)] == _reference_signals(points, rules)
