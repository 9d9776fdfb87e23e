"""pytest_enterprise.flags.experiment against SciPy and brute-force definitions as oracles."""

from __future__ import annotations

import itertools
import json
import math
import statistics
import subprocess
import sys
import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from pytest_enterprise.errors import EnterpriseError, UsageError
from pytest_enterprise.flags.experiment import (
    ExperimentData,
    MetricData,
    adjust,
    analyze_experiment,
    benjamini_hochberg,
    holm,
    sample_ratio_mismatch,
    sample_size_means,
    sample_size_proportions,
    summarize,
    two_proportion_ztest,
    welch_ttest,
)

FAST = settings(max_examples=30, deadline=None)
CLOSE = {"rel": 1e-9, "abs": 1e-12}


def test_usage_error_is_the_exit_code_2_error() -> None:
    assert issubclass(UsageError, EnterpriseError) and UsageError.exit_code == 2


# --------------------------------------------------------------------------- proportions


def test_worked_example() -> None:
    result = two_proportion_ztest(120, 1000, 150, 1000)
    assert round(result.z, 3) == 1.963
    assert round(result.p_value, 4) == 0.0496
    assert result.difference == pytest.approx(0.03)
    assert result.method == "z-test" and result.fisher_p is None
    assert result.p_value == result.z_test_p


@st.composite
def tables(draw):
    control_n = draw(st.integers(1, 5000))
    treatment_n = draw(st.integers(1, 5000))
    return draw(st.integers(0, control_n)), control_n, draw(st.integers(0, treatment_n)), treatment_n


def contingency(cs: int, cn: int, ts: int, tn: int) -> list[list[int]]:
    return [[ts, tn - ts], [cs, cn - cs]]


@FAST
@given(tables())
def test_z_test_is_pearson_chi_square_without_yates(counts) -> None:
    expected = stats.contingency.expected_freq(contingency(*counts))
    assume(expected.min() >= 5)
    chi2, p, _, _ = stats.chi2_contingency(contingency(*counts), correction=False)
    result = two_proportion_ztest(*counts)
    assert result.method == "z-test" and result.fisher_p is None
    assert result.z**2 == pytest.approx(chi2, **CLOSE)
    assert result.p_value == result.z_test_p == pytest.approx(p, **CLOSE)


@FAST
@given(tables(), st.floats(0.5, 0.999))
def test_wald_interval_of_the_difference(counts, confidence) -> None:
    cs, cn, ts, tn = counts
    control, treatment = cs / cn, ts / tn
    se = math.sqrt(control * (1 - control) / cn + treatment * (1 - treatment) / tn)
    assume(se > 0)  # norm.interval needs a positive scale; se = 0 is tested below
    low, high = stats.norm.interval(confidence, loc=treatment - control, scale=se)
    result = two_proportion_ztest(*counts, confidence=confidence)
    assert (result.ci_low, result.ci_high) == (pytest.approx(low, **CLOSE), pytest.approx(high, **CLOSE))


@pytest.mark.parametrize(
    "counts",
    [(4, 10, 5, 10), (1, 20, 6, 20), (0, 1000, 3, 1000), (2, 5, 0, 7), (0, 8, 8, 8), (3, 3, 0, 1)],
)
def test_fisher_exact_when_an_expected_cell_is_below_5(counts) -> None:
    assert stats.contingency.expected_freq(contingency(*counts)).min() < 5
    result = two_proportion_ztest(*counts)
    fisher = stats.fisher_exact(contingency(*counts)).pvalue
    assert result.method == "fisher-exact"
    assert result.p_value == result.fisher_p == pytest.approx(fisher, **CLOSE)


def test_an_expected_count_of_exactly_5_keeps_the_z_test() -> None:
    assert stats.contingency.expected_freq(contingency(5, 10, 5, 10)).min() == 5
    assert two_proportion_ztest(5, 10, 5, 10).method == "z-test"


@pytest.mark.parametrize("counts", [(0, 10, 0, 12), (10, 10, 12, 12)])
def test_no_variance_gives_nan_z_and_fisher_p_of_1(counts) -> None:
    result = two_proportion_ztest(*counts)
    assert math.isnan(result.z) and math.isnan(result.z_test_p)
    assert result.p_value == 1.0 and result.method == "fisher-exact"
    assert result.ci_low == result.ci_high == 0.0
    json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((1, 0, 1, 10), "control_n"),
        ((1, 10, 1, -3), "treatment_n"),
        ((11, 10, 1, 10), "control_successes"),
        ((1, 10, -1, 10), "treatment_successes"),
        ((1.5, 10, 1, 10), "control_successes"),
        ((True, 10, 1, 10), "control_successes"),
        ((1, 10, 1, "10"), "treatment_n"),
    ],
)
def test_proportion_input_errors_name_the_argument(args, named) -> None:
    with pytest.raises(UsageError, match=named):
        two_proportion_ztest(*args)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, math.nan])
def test_confidence_must_be_inside_0_1(confidence) -> None:
    with pytest.raises(UsageError, match="confidence"):
        two_proportion_ztest(1, 10, 2, 10, confidence=confidence)
    with pytest.raises(UsageError, match="confidence"):
        welch_ttest(0, 1, 5, 1, 1, 5, confidence=confidence)


# --------------------------------------------------------------------------- means


def welch_df(sd1: float, n1: int, sd2: float, n2: int) -> float:
    v1, v2 = sd1**2 / n1, sd2**2 / n2
    return (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))


summaries = st.tuples(st.floats(-1e3, 1e3), st.floats(0.01, 1e3), st.integers(2, 500))


@FAST
@given(summaries, summaries)
def test_welch_matches_scipy_from_stats(control, treatment) -> None:
    (cm, csd, cn), (tm, tsd, tn) = control, treatment
    expected = stats.ttest_ind_from_stats(tm, tsd, tn, cm, csd, cn, equal_var=False)
    result = welch_ttest(cm, csd, cn, tm, tsd, tn)
    assert result.t == pytest.approx(expected.statistic, **CLOSE)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-7, abs=1e-12)
    assert result.df == pytest.approx(welch_df(csd, cn, tsd, tn), rel=1e-9)
    assert result.method == "welch-t"


samples = st.lists(st.integers(-10_000, 10_000).map(lambda value: value / 100), min_size=2, max_size=40)


@FAST
@given(samples, samples, st.floats(0.5, 0.999))
def test_welch_matches_scipy_on_raw_data(control, treatment, confidence) -> None:
    assume(len(set(control)) > 1 or len(set(treatment)) > 1)  # both constant: tested below
    expected = scipy_welch(treatment, control)
    result = welch_ttest(*reorder(summarize(control)), *reorder(summarize(treatment)), confidence=confidence)
    assert result.t == pytest.approx(expected.statistic, rel=1e-8, abs=1e-10)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-7, abs=1e-12)
    assert result.df == pytest.approx(expected.df, rel=1e-8)
    se = result.difference / result.t if result.t else None
    interval = expected.confidence_interval(confidence)
    assert result.ci_low == pytest.approx(interval.low, rel=1e-8, abs=1e-9)
    assert result.ci_high == pytest.approx(interval.high, rel=1e-8, abs=1e-9)
    if se:
        low, high = stats.t.interval(confidence, expected.df, loc=result.difference, scale=se)
        assert (result.ci_low, result.ci_high) == (pytest.approx(low, rel=1e-8, abs=1e-9), pytest.approx(high, rel=1e-8, abs=1e-9))


def scipy_welch(a: list[float], b: list[float]):
    with warnings.catch_warnings():
        if len(set(a)) == 1 or len(set(b)) == 1:
            # SciPy takes an exactly constant sample for "nearly identical" data and warns.
            warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        return stats.ttest_ind(a, b, equal_var=False)


def reorder(summary: tuple[int, float, float]) -> tuple[float, float, int]:
    """summarize gives (n, mean, sd); welch_ttest takes mean, sd, n."""
    n, mean, sd = summary
    return mean, sd, n


@pytest.mark.parametrize(
    ("control_mean", "treatment_mean", "t", "p"),
    [(3.0, 3.0, 0.0, 1.0), (3.0, 4.0, math.inf, 0.0), (4.0, 3.0, -math.inf, 0.0)],
)
def test_welch_with_no_variance_on_either_side(control_mean, treatment_mean, t, p) -> None:
    result = welch_ttest(control_mean, 0.0, 5, treatment_mean, 0.0, 7)
    assert (result.t, result.p_value) == (t, p)
    assert math.isnan(result.df)
    assert result.ci_low == result.ci_high == result.difference
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["df"] is None


def test_welch_with_one_constant_side_uses_the_other_sides_df() -> None:
    result = welch_ttest(3.0, 0.0, 5, 4.0, 2.0, 9)
    expected = stats.ttest_ind_from_stats(4.0, 2.0, 9, 3.0, 0.0, 5, equal_var=False)
    assert result.df == 8
    assert (result.t, result.p_value) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))


def test_welch_survives_extreme_scales() -> None:
    tiny = welch_ttest(1.0, 1e-200, 5, 2.0, 1e-300, 5)
    huge = welch_ttest(1.0, 1e200, 5, 2.0, 1e300, 5)
    assert tiny.df == pytest.approx(4) and tiny.p_value == 0.0
    assert huge.df == pytest.approx(4) and huge.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((0, 1, 1, 0, 1, 5), "control_n"),
        ((0, 1, 5, 0, 1, 1), "treatment_n"),
        ((0, -1, 5, 0, 1, 5), "control_sd"),
        ((math.nan, 1, 5, 0, 1, 5), "control_mean"),
        ((0, 1, 5, math.inf, 1, 5), "treatment_mean"),
        ((0, 1, 5, 0, 1, 5.0), "treatment_n"),
    ],
)
def test_welch_input_errors_name_the_argument(args, named) -> None:
    with pytest.raises(UsageError, match=named):
        welch_ttest(*args)


@FAST
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_summarize_matches_statistics(values) -> None:
    n, mean, sd = summarize(values)
    assert n == len(values)
    assert mean == pytest.approx(statistics.fmean(values), rel=1e-12, abs=1e-9)
    assert sd == (0.0 if n == 1 else pytest.approx(statistics.stdev(values), rel=1e-9, abs=1e-9))


@pytest.mark.parametrize(("values", "named"), [([], "values"), ([1.0, math.nan], r"values\[1\]"), ("12", "values")])
def test_summarize_rejects_bad_input(values, named) -> None:
    with pytest.raises(UsageError, match=named):
        summarize(values)


# --------------------------------------------------------------------------- sample ratio


@FAST
@given(st.lists(st.tuples(st.integers(0, 10_000), st.floats(0.1, 10)), min_size=2, max_size=5))
def test_sample_ratio_matches_scipy_chisquare(groups) -> None:
    observed = [count for count, _ in groups]
    weights = [weight for _, weight in groups]
    assume(sum(observed) > 0)
    expected = [sum(observed) * weight / sum(weights) for weight in weights]
    reference = stats.chisquare(observed, f_exp=expected)
    check = sample_ratio_mismatch(observed, weights)
    assert check.chi2 == pytest.approx(reference.statistic, rel=1e-9, abs=1e-9)
    assert check.p_value == pytest.approx(reference.pvalue, rel=1e-7, abs=1e-15)
    assert check.df == len(groups) - 1
    assert check.expected == pytest.approx(expected)
    assert check.mismatch is (check.p_value < 0.001)


def test_sample_ratio_mismatch_flags_a_lopsided_split() -> None:
    # 5000 vs 5300 is p ≈ 0.0031: suspicious, but not below the 0.001 default threshold.
    borderline = stats.chisquare([5000, 5300]).pvalue
    assert 0.001 < borderline < 0.01
    assert not sample_ratio_mismatch([5000, 5300], [50, 50]).mismatch
    assert sample_ratio_mismatch([5000, 5300], [50, 50], threshold=0.01).mismatch
    assert stats.chisquare([5000, 5400]).pvalue < 0.001
    assert sample_ratio_mismatch([5000, 5400], [50, 50]).mismatch
    assert stats.chisquare([5000, 5050]).pvalue > 0.001
    assert not sample_ratio_mismatch([5000, 5050], [50, 50]).mismatch


def test_sample_ratio_uses_the_weights() -> None:
    assert not sample_ratio_mismatch([9000, 1000], [0.9, 0.1]).mismatch
    assert sample_ratio_mismatch([5000, 5000], [0.9, 0.1]).mismatch
    # Only the ratio matters, even for weights whose sum overflows a float.
    assert sample_ratio_mismatch([9000, 1000], [9e307, 1e307]).expected == pytest.approx((9000, 1000))


@pytest.mark.parametrize(
    ("observed", "weights", "named"),
    [
        ([10], [1], "observed"),
        ([10, -1], [1, 1], r"observed\[1\]"),
        ([10, 10], [1], "weights"),
        ([10, 10], [1, 0], r"weights\[1\]"),
        ([10, 10], [1, math.inf], r"weights\[1\]"),
        ([0, 0], [1, 1], "observed"),
    ],
)
def test_sample_ratio_input_errors(observed, weights, named) -> None:
    with pytest.raises(UsageError, match=named):
        sample_ratio_mismatch(observed, weights)


# --------------------------------------------------------------------------- multiple comparisons


def holm_by_closed_testing(ps: list[float]) -> list[float]:
    """Holm is closed testing with Bonferroni: the worst |S|·min(p in S) over sets S holding i."""
    indices = range(len(ps))
    adjusted = []
    for i in indices:
        worst = 0.0
        for size in range(1, len(ps) + 1):
            for subset in itertools.combinations(indices, size):
                if i in subset:
                    worst = max(worst, min(1.0, size * min(ps[j] for j in subset)))
        adjusted.append(worst)
    return adjusted


def bh_by_definition(ps: list[float]) -> list[float]:
    """q_i = min over p_j >= p_i of m·p_j / rank_j, where rank_j counts the p-values <= p_j."""
    m = len(ps)
    rank = [sum(other <= p for other in ps) for p in ps]
    return [min(1.0, min(m * ps[j] / rank[j] for j in range(m) if ps[j] >= p)) for p in ps]


p_lists = st.lists(st.floats(0, 1), max_size=20)
small_p_lists = st.lists(st.sampled_from([0.0, 0.001, 0.01, 0.02, 0.04, 0.2, 0.5, 1.0]) | st.floats(0, 1), min_size=1, max_size=7)


@FAST
@given(small_p_lists)
def test_holm_is_closed_testing_with_bonferroni(ps) -> None:
    assert holm(ps) == pytest.approx(holm_by_closed_testing(ps), rel=1e-12)


@FAST
@given(small_p_lists)
def test_benjamini_hochberg_by_definition(ps) -> None:
    assert benjamini_hochberg(ps) == pytest.approx(bh_by_definition(ps), rel=1e-12)


@FAST
@given(p_lists.filter(bool))
def test_benjamini_hochberg_matches_scipy(ps) -> None:
    if not hasattr(stats, "false_discovery_control"):
        pytest.skip("scipy.stats.false_discovery_control needs SciPy >= 1.11")
    assert benjamini_hochberg(ps) == pytest.approx(list(stats.false_discovery_control(ps, method="bh")), rel=1e-12)


@FAST
@given(p_lists)
def test_adjusted_p_values_are_valid_and_keep_the_order(ps) -> None:
    holm_adjusted, bh_adjusted = holm(ps), benjamini_hochberg(ps)
    for adjusted in (holm_adjusted, bh_adjusted):
        assert all(raw <= value <= 1.0 for raw, value in zip(ps, adjusted))
        for i, j in itertools.permutations(range(len(ps)), 2):
            if ps[i] <= ps[j]:
                assert adjusted[i] <= adjusted[j]
    # Holm controls the family-wise error rate, so it is never less strict than BH.
    assert all(h >= b for h, b in zip(holm_adjusted, bh_adjusted))


def test_adjust_dispatches_and_rejects_unknown_methods() -> None:
    ps = [0.01, 0.04, 0.03]
    assert adjust(ps, "holm") == holm(ps)
    assert adjust(ps, "bh") == benjamini_hochberg(ps)
    assert adjust(ps, "none") == ps
    assert adjust([], "holm") == []
    with pytest.raises(UsageError, match="'holm', 'bh', 'none'"):
        adjust(ps, "bonferroni")
    with pytest.raises(UsageError, match=r"p_values\[1\]"):
        adjust([0.1, 1.5], "none")
    with pytest.raises(UsageError, match=r"p_values\[0\]"):
        holm([math.nan])


# --------------------------------------------------------------------------- sample size


def proportion_power(p1: float, p2: float, n: int, alpha: float) -> float:
    """Power of the two-sided pooled z-test at n per group (the far tail ignored, as in the formula)."""
    pooled = (p1 + p2) / 2
    z_alpha = stats.norm.isf(alpha / 2)
    null_sd = math.sqrt(2 * pooled * (1 - pooled))
    alternative_sd = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return stats.norm.cdf((abs(p2 - p1) * math.sqrt(n) - z_alpha * null_sd) / alternative_sd)


def mean_power(sd: float, delta: float, n: int, alpha: float) -> float:
    return stats.norm.cdf(abs(delta) / (sd * math.sqrt(2 / n)) - stats.norm.isf(alpha / 2))


alphas = st.sampled_from([0.01, 0.05, 0.1]) | st.floats(0.001, 0.2)
powers = st.sampled_from([0.8, 0.9]) | st.floats(0.5, 0.99)


@FAST
@given(st.floats(0.01, 0.9), st.floats(0.01, 0.99), alphas, powers)
def test_proportion_sample_size_is_the_smallest_with_enough_power(baseline, target, alpha, power) -> None:
    assume(abs(target - baseline) >= 0.005)
    n = sample_size_proportions(baseline, target - baseline, alpha=alpha, power=power)
    assert proportion_power(baseline, target, n, alpha) >= power - 1e-9
    if n > 2:
        assert proportion_power(baseline, target, n - 1, alpha) < power


@FAST
@given(st.floats(0.1, 100), st.floats(0.01, 50), alphas, powers)
def test_mean_sample_size_is_the_smallest_with_enough_power(sd, delta, alpha, power) -> None:
    n = sample_size_means(sd, delta, alpha=alpha, power=power)
    assert mean_power(sd, delta, n, alpha) >= power - 1e-9
    if n > 2:
        assert mean_power(sd, delta, n - 1, alpha) < power


def test_textbook_sample_sizes() -> None:
    # Normal approximation, alpha 0.05 two-sided, power 0.8: 2·(1.95996 + 0.84162)²/0.5² = 62.79.
    assert sample_size_means(1.0, 0.5) == 63
    assert sample_size_means(2.0, -1.0) == 63  # only |delta|/sd matters
    # 10% vs 15%: (1.95996·√(2·0.125·0.875) + 0.84162·√(0.09 + 0.1275))² / 0.05² = 685.6.
    assert sample_size_proportions(0.10, 0.05) == 686
    assert sample_size_proportions(0.10, 0.5, relative=True) == 686
    # A drop is as hard to detect as the mirrored rise.
    assert sample_size_proportions(0.15, -0.05) == 686


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: sample_size_proportions(0.0, 0.1), "baseline_rate"),
        (lambda: sample_size_proportions(1.0, -0.1), "baseline_rate"),
        (lambda: sample_size_proportions(0.5, 0.0), "minimum_detectable_effect"),
        (lambda: sample_size_proportions(0.9, 0.2), "minimum_detectable_effect"),
        (lambda: sample_size_proportions(0.5, 1.0, relative=True), "minimum_detectable_effect"),
        (lambda: sample_size_proportions(0.5, 0.1, alpha=0), "alpha"),
        (lambda: sample_size_proportions(0.5, 0.1, power=1), "power"),
        (lambda: sample_size_means(0.0, 1.0), "standard_deviation"),
        (lambda: sample_size_means(1.0, math.nan), "minimum_detectable_effect"),
        (lambda: sample_size_means(1.0, 0.5, alpha=1.2), "alpha"),
    ],
)
def test_sample_size_input_errors(call, named) -> None:
    with pytest.raises(UsageError, match=named):
        call()


# --------------------------------------------------------------------------- analyze_experiment


def experiment(exposures: dict[str, int], **overrides) -> ExperimentData:
    variants = tuple(exposures)
    signups = {"control": 120, "blue": 150, "green": 95}
    revenue = {"control": (800, 10.0, 3.0), "blue": (790, 10.4, 3.1), "green": (600, 9.9, 2.8)}
    metrics = (
        MetricData("signup", "conversion", successes={v: signups[v] for v in variants}),
        MetricData("revenue", "numeric", summaries={v: revenue[v] for v in variants}),
    )
    arguments = {"flag": "checkout", "variants": variants, "weights": tuple(1.0 for _ in variants), "exposures": exposures, "metrics": metrics}
    return ExperimentData(**{**arguments, **overrides})


def test_two_variants_end_to_end() -> None:
    report = analyze_experiment(experiment({"control": 1000, "blue": 1010}))
    conversion, numeric = report.comparisons
    assert conversion.result == two_proportion_ztest(120, 1000, 150, 1010)
    assert numeric.result == welch_ttest(10.0, 3.0, 800, 10.4, 3.1, 790)
    raw = [conversion.result.p_value, numeric.result.p_value]
    assert [conversion.p_adjusted, numeric.p_adjusted] == holm(raw)
    assert [conversion.significant, numeric.significant] == [p < 0.05 for p in holm(raw)]
    assert not report.warnings and not report.sample_ratio.mismatch
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert list(data) == ["flag", "control", "variants", "comparisons", "correction", "alpha", "confidence", "sample_ratio", "sample_size", "warnings"]
    assert data["variants"][1]["metrics"]["signup"] == {"kind": "conversion", "successes": 150, "n": 1010, "rate": 150 / 1010}
    assert data["variants"][1]["metrics"]["revenue"] == {"kind": "numeric", "n": 790, "mean": 10.4, "sd": 3.1}
    assert data["comparisons"][0]["variant"] == "blue" and data["comparisons"][0]["control"] == "control"
    assert data["comparisons"][0]["p_adjusted"] == conversion.p_adjusted
    assert data["sample_ratio"]["observed"] == [1000, 1010]


@pytest.mark.parametrize("correction", ["holm", "bh", "none"])
def test_three_variants_correct_across_every_comparison(correction) -> None:
    report = analyze_experiment(experiment({"control": 1000, "blue": 1010, "green": 990}), correction=correction)
    assert [(c.metric, c.variant) for c in report.comparisons] == [
        ("signup", "blue"), ("signup", "green"), ("revenue", "blue"), ("revenue", "green"),
    ]  # fmt: skip
    raw = [c.result.p_value for c in report.comparisons]
    assert [c.p_adjusted for c in report.comparisons] == adjust(raw, correction)
    text = report.render_text()
    for name in ("control", "blue", "green", "signup", "revenue", correction):
        assert name in text


def test_insufficient_data_is_reported_not_computed() -> None:
    data = experiment(
        {"control": 1000, "blue": 0, "green": 990},
        metrics=(
            MetricData("signup", "conversion", successes={"control": 120, "green": 95}),
            MetricData("revenue", "numeric", summaries={"control": (800, 10.0, 3.0), "green": (1, 9.0, 0.0)}),
        ),
    )
    report = analyze_experiment(data)
    by_key = {(c.metric, c.variant): c for c in report.comparisons}
    assert by_key["signup", "blue"].insufficient_data.startswith("insufficient data: ")
    assert "'blue'" in by_key["signup", "blue"].insufficient_data
    assert "'blue' has 0" in by_key["revenue", "blue"].insufficient_data
    assert "'green' has 1" in by_key["revenue", "green"].insufficient_data
    tested = by_key["signup", "green"]
    assert tested.p_adjusted == tested.result.p_value  # the only test in the family
    dumped = report.to_dict()
    assert {"metric": "signup", "kind": "conversion", "variant": "blue", "control": "control", "insufficient_data": by_key["signup", "blue"].insufficient_data} in dumped["comparisons"]
    assert dumped["variants"][1]["metrics"] == {
        "signup": {"kind": "conversion", "successes": 0, "n": 0, "rate": None},
        "revenue": {"kind": "numeric", "n": 0, "mean": None, "sd": None},
    }
    json.dumps(dumped, allow_nan=False)
    assert "insufficient data" in report.render_text()


def test_no_exposures_at_all() -> None:
    report = analyze_experiment(experiment({"control": 0, "blue": 0}, metrics=()))
    assert report.sample_ratio is None and report.comparisons == ()
    assert report.warnings and "no exposures" in report.warnings[0]
    json.dumps(report.to_dict(), allow_nan=False)
    assert "blue" in report.render_text()


def test_sample_ratio_mismatch_warns_that_results_are_untrustworthy() -> None:
    data = experiment({"control": 5000, "blue": 5400}, metrics=())
    report = analyze_experiment(data)
    assert report.sample_ratio.mismatch
    assert report.warnings[0].startswith("results are not trustworthy: ")
    assert "WARNING: results are not trustworthy" in report.render_text()
    assert report.to_dict()["sample_ratio"]["variants"] == ["control", "blue"]


def test_sample_size_per_metric() -> None:
    report = analyze_experiment(experiment({"control": 1000, "blue": 1010}), minimum_detectable_effect=0.2)
    signup, revenue = report.sample_size
    assert signup.required_per_group == sample_size_proportions(0.12, 0.2)
    assert revenue.required_per_group == sample_size_means(3.0, 0.2)
    assert signup.reached == (("control", 1000, 1000 >= signup.required_per_group), ("blue", 1010, 1010 >= signup.required_per_group))
    assert [v["n"] for v in report.to_dict()["sample_size"][1]["variants"]] == [800, 790]
    assert "needed per group" in report.render_text()


def test_sample_size_explains_a_baseline_it_cannot_use() -> None:
    data = experiment(
        {"control": 100, "blue": 100},
        metrics=(
            MetricData("signup", "conversion", successes={"control": 0, "blue": 3}),
            MetricData("refund", "conversion", successes={"control": 100, "blue": 100}),
            MetricData("revenue", "numeric", summaries={"control": (50, 5.0, 0.0), "blue": (50, 5.0, 1.0)}),
            MetricData("upsell", "conversion", successes={"control": 95, "blue": 90}),
        ),
    )
    report = analyze_experiment(data, minimum_detectable_effect=0.1)
    reasons = [plan.insufficient_data for plan in report.sample_size]
    assert all(reason.startswith("insufficient data: ") for reason in reasons)
    assert "rate is 0" in reasons[0] and "rate is 1" in reasons[1]
    assert "standard deviation is 0" in reasons[2]
    assert "outside (0, 1)" in reasons[3]
    json.dumps(report.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"alpha": 0}, "alpha"),
        ({"confidence": 1}, "confidence"),
        ({"correction": "fdr"}, "correction"),
        ({"power": 2}, "power"),
        ({"minimum_detectable_effect": 0}, "minimum_detectable_effect"),
    ],
)
def test_analyze_option_errors(kwargs, named) -> None:
    with pytest.raises(UsageError, match=named):
        analyze_experiment(experiment({"control": 1000, "blue": 1000}), **kwargs)


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: ExperimentData("f", ("a",), (1,), {"a": 1}), "variants"),
        (lambda: ExperimentData("f", "ab", (1, 1), {}), "variants"),
        (lambda: ExperimentData("f", ("a", "a"), (1, 1), {}), "unique"),
        (lambda: ExperimentData("f", ("a", "b"), (1,), {}), "weights"),
        (lambda: ExperimentData("f", ("a", "b"), (1, -1), {}), r"weights\[1\]"),
        (lambda: ExperimentData("", ("a", "b"), (1, 1), {}), "flag"),
        (lambda: ExperimentData("f", ("a", "b"), (1, 1), {"c": 3}), "'c'"),
        (lambda: ExperimentData("f", ("a", "b"), (1, 1), {"a": -3}), r"exposures\['a'\]"),
        (lambda: ExperimentData("f", ("a", "b"), (1, 1), {"a": 3}, (MetricData("m", "conversion", {"a": 4}),)), r"successes\['a'\]"),
        (lambda: ExperimentData("f", ("a", "b"), (1, 1), {"a": 3}, (MetricData("m", "conversion", {"z": 1}),)), "'z'"),
        (lambda: MetricData("m", "ratio"), "kind"),
        (lambda: MetricData("m", "numeric", summaries={"a": (3, 1.0)}), r"summaries\['a'\]"),
        (lambda: MetricData("m", "numeric", summaries={"a": (3, 1.0, -1.0)}), "sd"),
        (lambda: MetricData("m", "numeric", successes={"a": 3}), "summaries"),
    ],
)
def test_experiment_data_errors(build, named) -> None:
    with pytest.raises(UsageError, match=named):
        build()


def test_importing_the_module_does_not_load_scipy() -> None:
    code = "import sys, pytest_enterprise.flags.experiment; print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'numpy', 'tabulate')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
