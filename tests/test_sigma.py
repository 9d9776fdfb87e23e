"""pytest_enterprise.quality.sigma against the standard table and SciPy as an oracle."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pytest_enterprise.quality.sigma import (
    DEFAULT_QUALITY_THRESHOLDS,
    QualityLevel,
    defect_rate_at,
    opportunities_to_demonstrate,
    poisson_rate_ci,
    proportion_ci,
    proportion_upper_bound,
    quality_level,
    sigma_level,
    upper_tail_quantile,
    z_long_term,
)

# SciPy's binomtest finds the exact limits with brentq (xtol 2e-12), so agreement is to that
# absolute tolerance, not to machine precision.
CI_TOLERANCE = {"rel": 1e-7, "abs": 1e-11}
FAST = settings(max_examples=60, deadline=None)

# The textbook short-term sigma table (one-tailed, 1.5σ shift).
STANDARD_TABLE = [
    (3.4, 6.0),
    (233, 5.0),
    (6_210, 4.0),
    (66_807, 3.0),
    (308_538, 2.0),
    (691_462, 1.0),
]


@pytest.mark.parametrize(("dpmo", "expected"), STANDARD_TABLE)
def test_sigma_level_matches_standard_table(dpmo: float, expected: float) -> None:
    assert round(sigma_level(dpmo / 1e6), 2) == expected


@pytest.mark.parametrize(("dpmo", "expected"), STANDARD_TABLE)
def test_z_long_term_is_sigma_without_the_shift(dpmo: float, expected: float) -> None:
    p = dpmo / 1e6
    assert round(z_long_term(p), 2) == expected - 1.5
    assert z_long_term(p) == pytest.approx(sigma_level(p) - 1.5, abs=1e-12)


@pytest.mark.parametrize(
    ("p", "z"),
    [(0.5, 0.0), (0.158655253931457, 1.0), (0.0227501319481792, 2.0), (0.00134989803163009, 3.0)],
)
def test_z_long_term_golden_values(p: float, z: float) -> None:
    assert z_long_term(p) == pytest.approx(z, abs=1e-9)


@pytest.mark.parametrize(
    "p", [1e-300, 1e-20, 1e-12, 3.4e-6, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.99, 1 - 1e-12]
)
def test_sigma_level_agrees_with_scipy_isf(p: float) -> None:
    assert sigma_level(p) == pytest.approx(float(stats.norm.isf(p)) + 1.5, rel=1e-12, abs=1e-12)
    assert upper_tail_quantile(p) == pytest.approx(float(stats.norm.isf(p)), rel=1e-12, abs=1e-12)


def test_tiny_defect_rates_keep_their_precision() -> None:
    # inv_cdf(1 - p) would round 1 - 1e-20 to 1.0 and fail; the upper tail must not.
    assert sigma_level(1e-20) == pytest.approx(9.262340089798408 + 1.5, rel=1e-12)


def test_sigma_level_custom_shift() -> None:
    assert sigma_level(0.5, shift=0.0) == pytest.approx(0.0, abs=1e-15)
    assert sigma_level(0.5, shift=2.0) == pytest.approx(2.0)


def test_sigma_level_edges_are_infinite() -> None:
    assert sigma_level(0.0) == math.inf
    assert sigma_level(1.0) == -math.inf
    assert z_long_term(0.0) == math.inf
    assert z_long_term(1.0) == -math.inf


@pytest.mark.parametrize("p", [-1e-9, 1.0000001, math.nan, math.inf, "0.1", None])
def test_sigma_level_rejects_non_probabilities(p: object) -> None:
    with pytest.raises(ValueError, match="probability"):
        sigma_level(p)  # type: ignore[arg-type]


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
@FAST
def test_sigma_is_monotone_non_increasing_in_defect_rate(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert sigma_level(low) >= sigma_level(high)


# --------------------------------------------------------------------------- Clopper–Pearson


def _binomtest_ci(k: int, n: int, confidence: float) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def _grid() -> list[tuple[int, int]]:
    pairs = set()
    for n in (1, 2, 3, 5, 10, 37, 100, 1_000, 25_000):
        for k in (0, 1, 2, n // 3, n // 2, n - 2, n - 1, n):
            if 0 <= k <= n:
                pairs.add((k, n))
    return sorted(pairs)


@pytest.mark.parametrize(("k", "n"), _grid())
def test_proportion_ci_matches_scipy_binomtest(k: int, n: int) -> None:
    expected = _binomtest_ci(k, n, 0.95)
    assert proportion_ci(k, n) == pytest.approx(expected, **CI_TOLERANCE)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.99, 0.999])
@pytest.mark.parametrize(("k", "n"), [(0, 7), (3, 7), (7, 7), (0, 500), (12, 500), (500, 500)])
def test_proportion_ci_other_confidence_levels(k: int, n: int, confidence: float) -> None:
    expected = _binomtest_ci(k, n, confidence)
    assert proportion_ci(k, n, confidence) == pytest.approx(expected, **CI_TOLERANCE)


def test_proportion_ci_closed_forms() -> None:
    assert proportion_ci(0, 1) == pytest.approx((0.0, 0.975))
    assert proportion_ci(1, 1) == pytest.approx((0.025, 1.0))
    # The rule of three's exact cousin: the upper limit for 0 of n stays precise for huge n.
    assert proportion_ci(0, 10**9)[1] == pytest.approx(-math.log(0.025) / 10**9, rel=1e-8)


@pytest.mark.parametrize(
    ("k", "n", "error"),
    [(0, 0, ValueError), (1, 0, ValueError), (-1, 5, ValueError), (6, 5, ValueError),
     (0, -3, ValueError), (1.0, 5, TypeError), (True, 5, TypeError)],
)
def test_proportion_ci_rejects_bad_counts(k: object, n: object, error: type) -> None:
    with pytest.raises(error):
        proportion_ci(k, n)  # type: ignore[arg-type]


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5, math.nan])
def test_proportion_ci_rejects_bad_confidence(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        proportion_ci(1, 2, confidence)


@given(st.integers(1, 5_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
@FAST
def test_proportion_ci_brackets_the_estimate(pair: tuple[int, int]) -> None:
    k, n = pair
    low, high = proportion_ci(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0


@given(st.integers(1, 2_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
@FAST
def test_higher_confidence_gives_a_wider_interval(pair: tuple[int, int]) -> None:
    k, n = pair
    low90, high90 = proportion_ci(k, n, 0.90)
    low99, high99 = proportion_ci(k, n, 0.99)
    assert low99 <= low90 and high90 <= high99


# --------------------------------------------------------------------------- Poisson (Garwood)


def _garwood(count: int, exposure: float, confidence: float) -> tuple[float, float]:
    alpha = 1 - confidence
    low = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return low / exposure, high / exposure


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 17, 100, 2_500])
@pytest.mark.parametrize("exposure", [1, 3, 40.5, 10_000])
def test_poisson_rate_ci_matches_chi2_garwood(
    count: int, exposure: float, confidence: float
) -> None:
    expected = _garwood(count, exposure, confidence)
    assert poisson_rate_ci(count, exposure, confidence) == pytest.approx(expected, rel=1e-9)


def test_poisson_rate_ci_zero_count_closed_form() -> None:
    assert poisson_rate_ci(0, 1) == pytest.approx((0.0, 3.6888794541139363))
    assert poisson_rate_ci(0, 10)[1] == pytest.approx(-math.log(0.025) / 10)


def test_poisson_rate_can_exceed_one() -> None:
    # A unit with several opportunities can hold several defects: DPU is a rate, not a share.
    low, high = poisson_rate_ci(12, 4)
    assert low < 3.0 < high
    assert low > 1.0


@pytest.mark.parametrize(
    ("count", "exposure"), [(-1, 1.0), (1, 0.0), (1, -2.0), (1, math.inf), (1, math.nan)]
)
def test_poisson_rate_ci_rejects_bad_input(count: int, exposure: float) -> None:
    with pytest.raises(ValueError):
        poisson_rate_ci(count, exposure)


@given(st.integers(0, 10_000), st.floats(0.5, 1e6))
@FAST
def test_poisson_rate_ci_brackets_the_rate(count: int, exposure: float) -> None:
    low, high = poisson_rate_ci(count, exposure)
    assert 0.0 <= low <= count / exposure <= high


# --------------------------------------------------------------------------- quality levels


@pytest.mark.parametrize(
    ("sigma", "expected"),
    [
        (6.0, QualityLevel("Excellent", 5.0)),
        (5.0, QualityLevel("Excellent", 5.0)),
        (4.999, QualityLevel("Good", 4.0)),
        (4.0, QualityLevel("Good", 4.0)),
        (3.0, QualityLevel("Fair", 3.0)),
        (2.999, QualityLevel("Poor", None)),
        (-1.0, QualityLevel("Poor", None)),
        (math.inf, QualityLevel("Excellent", 5.0)),
        (-math.inf, QualityLevel("Poor", None)),
    ],
)
def test_quality_level_default_thresholds(sigma: float, expected: QualityLevel) -> None:
    assert quality_level(sigma) == expected


def test_quality_level_checks_highest_threshold_first_whatever_the_order() -> None:
    thresholds = {"Fair": 2.5, "World class": 6.0, "Good": 3.5}
    assert quality_level(6.2, thresholds) == QualityLevel("World class", 6.0)
    assert quality_level(4.0, thresholds) == QualityLevel("Good", 3.5)
    assert quality_level(2.6, thresholds) == QualityLevel("Fair", 2.5)
    assert quality_level(2.4, thresholds) == QualityLevel("Poor", None)


def test_quality_level_with_no_thresholds_is_poor() -> None:
    assert quality_level(9.0, {}) == QualityLevel("Poor", None)


@pytest.mark.parametrize(
    "thresholds",
    [
        {"Good": math.inf},
        {"Good": math.nan},
        {"Good": -math.inf},
        {"Good": "4"},
        {"Good": True},
        {"": 4.0},
        {"Poor": 1.0},
    ],
)
def test_quality_level_rejects_bad_thresholds(thresholds: dict) -> None:
    with pytest.raises(ValueError):
        quality_level(4.0, thresholds)


def test_quality_level_rejects_nan_sigma() -> None:
    with pytest.raises(ValueError):
        quality_level(math.nan)


def test_quality_level_is_frozen_and_defaults_are_the_design_values() -> None:
    level = quality_level(4.2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        level.name = "Excellent"  # type: ignore[misc]
    assert dict(DEFAULT_QUALITY_THRESHOLDS) == {"Excellent": 5.0, "Good": 4.0, "Fair": 3.0}


# --------------------------------------------------------------------------- demonstration


def _one_sided_upper(k: int, n: int, confidence: float = 0.95) -> float:
    ci = stats.binomtest(k, n, alternative="less").proportion_ci(confidence, method="exact")
    return float(ci.high)


@pytest.mark.parametrize(("k", "n"), _grid())
def test_proportion_upper_bound_matches_scipy_one_sided(k: int, n: int) -> None:
    assert proportion_upper_bound(k, n) == pytest.approx(_one_sided_upper(k, n), **CI_TOLERANCE)


def test_proportion_upper_bound_zero_defects_closed_form_and_rule_of_three() -> None:
    for n in (1, 7, 300, 10**6, 10**12):
        assert proportion_upper_bound(0, n) == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-12)
    # The rule of three: at 95%, -ln(0.05)/n = 2.9957/n, about 3/n, for large n.
    assert proportion_upper_bound(0, 10**6) * 10**6 == pytest.approx(-math.log(0.05), rel=1e-5)
    assert proportion_upper_bound(3, 3) == 1.0


@pytest.mark.parametrize(("dpmo", "sigma"), STANDARD_TABLE)
def test_defect_rate_at_inverts_the_standard_table(dpmo: float, sigma: float) -> None:
    assert defect_rate_at(sigma) * 1e6 == pytest.approx(dpmo, rel=2e-3)
    assert sigma_level(defect_rate_at(sigma)) == pytest.approx(sigma, abs=1e-9)


def _smallest_n_scipy(threshold: float, k: int) -> int:
    """Independent oracle: smallest n with P(X <= k | n, p) <= 5% at the threshold's rate."""
    p = float(stats.norm.sf(threshold - 1.5))
    low, high = k, 10 * k + 10
    while stats.binom.cdf(k, high, p) > 0.05:
        low, high = high, 2 * high
    while high - low > 1:  # P(X <= k) falls as n grows
        middle = (low + high) // 2
        low, high = (low, middle) if stats.binom.cdf(k, middle, p) <= 0.05 else (middle, high)
    return high


@pytest.mark.parametrize(
    ("threshold", "defects", "expected"),
    [
        # 0 defects: ceil(ln 0.05 / ln(1 - p)); the rule of three (3/p) gives 45, 483, 12,896.
        (3.0, 0, 44),
        (4.0, 0, 481),
        (5.0, 0, 12_877),
        (3.0, 3, 114),
        (4.0, 3, 1_247),
        (5.0, 3, 33_329),  # docs/telemetry-math.md, section 5's table
    ],
)
def test_opportunities_to_demonstrate_golden_values(threshold: float, defects: int, expected: int) -> None:
    assert opportunities_to_demonstrate(threshold, defects) == expected
    assert _smallest_n_scipy(threshold, defects) == expected


def test_zero_defect_demonstration_is_ln_alpha_over_ln_one_minus_p() -> None:
    for threshold in (2.0, 3.0, 4.0, 5.0, 6.0):
        p = float(stats.norm.sf(threshold - 1.5))
        n = opportunities_to_demonstrate(threshold)
        assert n == math.ceil(math.log(0.05) / math.log1p(-p))
        if p < 0.1:  # the rule of three (3/p) is the small-p form of the same bound
            assert n == pytest.approx(3 / p, rel=0.03)
        # Exactly the boundary: n clean opportunities demonstrate it, n - 1 do not.
        assert _one_sided_upper(0, n) <= p < _one_sided_upper(0, n - 1)


@given(st.floats(1.0, 6.0), st.integers(0, 40))
@FAST
def test_opportunities_to_demonstrate_is_the_boundary(threshold: float, defects: int) -> None:
    n = opportunities_to_demonstrate(threshold, defects)
    assert n > defects
    assert quality_level(sigma_level(proportion_upper_bound(defects, n)), {"L": threshold}).name == "L"
    if n - 1 > defects:
        assert sigma_level(proportion_upper_bound(defects, n - 1)) < threshold


def test_opportunities_to_demonstrate_edges() -> None:
    assert opportunities_to_demonstrate(40.0) is None  # the rate underflows: no sample can
    assert opportunities_to_demonstrate(-10.0) == 1  # below any sample's worst bound
    with pytest.raises(ValueError):
        opportunities_to_demonstrate(math.inf)
    with pytest.raises(ValueError):
        opportunities_to_demonstrate(3.0, -1)


# --------------------------------------------------------------------------- incomplete beta/gamma


def _incomplete_cases() -> list[tuple[int, int]]:
    pairs = set()
    for n in (1, 2, 3, 10, 100, 1_000, 25_000, 79_200, 10**6, 10**7):
        for k in (1, 2, n // 100, n // 50, n // 3, n // 2, n - 1):
            if 1 <= k < n:
                pairs.add((k, n))
    return sorted(pairs)


@pytest.mark.parametrize(("k", "n"), _incomplete_cases())
def test_incomplete_inverses_match_scipy_special(k: int, n: int) -> None:
    from scipy import special

    from pytest_enterprise.quality.incomplete import betaincinv, gammaincinv

    for y in (0.0005, 0.025, 0.05, 0.5, 0.95, 0.975, 0.9995):
        for a, b in ((k, n - k + 1), (k + 1, n - k)):
            assert betaincinv(a, b, y) == pytest.approx(float(special.betaincinv(a, b, y)), rel=1e-9, abs=1e-300)
        assert gammaincinv(k, y) == pytest.approx(float(special.gammaincinv(k, y)), rel=1e-9)


@given(
    st.floats(0.05, 2_000.0) | st.integers(1, 200_000).map(float),
    st.floats(0.05, 2_000.0) | st.integers(1, 200_000).map(float),
    st.floats(1e-6, 1 - 1e-6),
)
@FAST
def test_incomplete_inverses_match_scipy_anywhere(a: float, b: float, y: float) -> None:
    from scipy import special

    from pytest_enterprise.quality.incomplete import betaincinv, gammaincinv

    assert betaincinv(a, b, y) == pytest.approx(float(special.betaincinv(a, b, y)), rel=1e-8, abs=1e-300)
    assert gammaincinv(a, y) == pytest.approx(float(special.gammaincinv(a, y)), rel=1e-8)


def test_incomplete_inverses_edges_and_bad_arguments() -> None:
    from pytest_enterprise.quality.incomplete import betaincinv, gammaincinv

    assert (betaincinv(3, 4, 0.0), betaincinv(3, 4, 1.0)) == (0.0, 1.0)
    assert (gammaincinv(3, 0.0), gammaincinv(3, 1.0)) == (0.0, math.inf)
    for bad in ((0, 1, 0.5), (1, -1, 0.5), (1, 1, 1.5), (1, 1, math.nan)):
        with pytest.raises(ValueError):
            betaincinv(*bad)
    with pytest.raises(ValueError):
        gammaincinv(0, 0.5)
