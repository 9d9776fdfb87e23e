"""Pure statistics of A/B experiments on feature-flag variants. See docs/experiments.md.

Everything here is a pure function of counts and summaries: no pytest, no I/O. SciPy is imported
inside the functions that need it, never at module level, because ``import scipy.stats`` costs
about a second and this module sits on import paths that must stay fast.

The suite runs with ``-W error``, so every degenerate case (zero variance, a rate of 0 or 1, no
data) is decided explicitly here before any NumPy or SciPy call could warn about it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from pytest_enterprise.errors import UsageError

__all__ = [
    "CORRECTIONS",
    "Comparison",
    "ExperimentData",
    "ExperimentReport",
    "MeanComparison",
    "MetricData",
    "MetricSnapshot",
    "ProportionComparison",
    "SampleRatioCheck",
    "SampleSizePlan",
    "VariantSummary",
    "adjust",
    "analyze_experiment",
    "benjamini_hochberg",
    "holm",
    "sample_ratio_mismatch",
    "sample_size_means",
    "sample_size_proportions",
    "summarize",
    "two_proportion_ztest",
    "welch_ttest",
]

CORRECTIONS = ("holm", "bh", "none")
METRIC_KINDS = ("conversion", "numeric")
SRM_THRESHOLD = 0.001
# The usual rule of thumb for when the normal approximation of a 2x2 table stops being trusted.
MIN_EXPECTED_CELL = 5
INSUFFICIENT = "insufficient data: "


# --------------------------------------------------------------------------- validation


def _count(name: str, value: Any, *, minimum: int = 0) -> int:
    # bool is an int subclass; True as a count is always a caller bug.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _non_negative(name: str, value: Any) -> float:
    number = _finite(name, value)
    if number < 0:
        raise UsageError(f"{name} must not be negative, got {value!r}")
    return number


def _open_unit(name: str, value: Any) -> float:
    """A probability-like parameter strictly between 0 and 1 (confidence, alpha, power, a rate)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
        raise UsageError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return float(value)


def _non_zero(name: str, value: Any) -> float:
    number = _finite(name, value)
    if number == 0.0:
        raise UsageError(f"{name} must not be 0: no sample size can detect an effect of 0")
    return number


def _successes(name: str, successes: Any, n_name: str, n: int) -> int:
    count = _count(name, successes)
    if count > n:
        raise UsageError(f"{name} must be at most {n_name} ({n}), got {count}")
    return count


def _p_values(p_values: Sequence[float]) -> list[float]:
    if isinstance(p_values, (str, bytes)) or not isinstance(p_values, Sequence):
        raise UsageError(f"p_values must be a sequence of numbers, got {p_values!r}")
    checked = []
    for index, p in enumerate(p_values):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise UsageError(f"p_values[{index}] must be a number between 0 and 1, got {p!r}")
        checked.append(float(p))
    return checked


# --------------------------------------------------------------------------- JSON helpers


def _plain(value: Any) -> Any:
    """JSON-ready: plain floats, lists for tuples, and null for NaN or ±inf (JSON has neither)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value


def _fields_dict(instance: Any) -> dict[str, Any]:
    return {spec.name: _plain(getattr(instance, spec.name)) for spec in fields(instance)}


# --------------------------------------------------------------------------- normal helpers


def _two_sided_normal_p(z: float) -> float:
    if math.isnan(z):
        return math.nan
    from scipy import stats

    # sf rather than 1 - cdf keeps precision for large |z|.
    return float(min(1.0, 2.0 * stats.norm.sf(abs(z))))


def _normal_quantile_upper(tail: float) -> float:
    """z such that P(Z > z) = tail."""
    from scipy import stats

    return float(stats.norm.isf(tail))


# --------------------------------------------------------------------------- proportions


@dataclass(frozen=True)
class ProportionComparison:
    """Treatment against control on a conversion metric (successes out of n per side)."""

    control_successes: int
    control_n: int
    treatment_successes: int
    treatment_n: int
    control_rate: float
    treatment_rate: float
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    method: str
    z_test_p: float
    fisher_p: float | None

    def to_dict(self) -> dict[str, Any]:
        return _fields_dict(self)


def _is_sparse(control_successes: int, control_n: int, treatment_successes: int, treatment_n: int) -> bool:
    """Whether any expected cell (row total · column total / N) of the 2x2 table is below 5."""
    total = control_n + treatment_n
    successes = control_successes + treatment_successes
    columns = (successes, total - successes)
    # Compared in integers, so a cell expected at exactly 5 can never round to just below it.
    return any(row * column < MIN_EXPECTED_CELL * total for row in (control_n, treatment_n) for column in columns)


def _pooled_z(control_successes: int, control_n: int, treatment_successes: int, treatment_n: int) -> float:
    """The pooled two-proportion z; NaN when both sides are all-0 or all-1 (no variance to test)."""
    pooled = (control_successes + treatment_successes) / (control_n + treatment_n)
    variance = pooled * (1.0 - pooled) * (1.0 / control_n + 1.0 / treatment_n)
    if variance <= 0.0:
        return math.nan
    difference = treatment_successes / treatment_n - control_successes / control_n
    return difference / math.sqrt(variance)


def _fisher_p(control_successes: int, control_n: int, treatment_successes: int, treatment_n: int) -> float:
    from scipy import stats

    table = [[treatment_successes, treatment_n - treatment_successes], [control_successes, control_n - control_successes]]
    return float(stats.fisher_exact(table, alternative="two-sided").pvalue)


def two_proportion_ztest(
    control_successes: int,
    control_n: int,
    treatment_successes: int,
    treatment_n: int,
    *,
    confidence: float = 0.95,
) -> ProportionComparison:
    """Two-sided test of equal conversion rates; Fisher's exact test when the table is sparse.

    The z statistic uses the pooled standard error (it is the square root of Pearson's chi-square
    on the 2x2 table, without Yates' correction); the interval of the difference uses the
    unpooled (Wald) standard error, because under the alternative the rates differ.
    """
    control_n = _count("control_n", control_n, minimum=1)
    treatment_n = _count("treatment_n", treatment_n, minimum=1)
    control_successes = _successes("control_successes", control_successes, "control_n", control_n)
    treatment_successes = _successes("treatment_successes", treatment_successes, "treatment_n", treatment_n)
    confidence = _open_unit("confidence", confidence)
    counts = (control_successes, control_n, treatment_successes, treatment_n)

    control_rate = control_successes / control_n
    treatment_rate = treatment_successes / treatment_n
    difference = treatment_rate - control_rate
    wald_variance = control_rate * (1 - control_rate) / control_n + treatment_rate * (1 - treatment_rate) / treatment_n
    wald_se = math.sqrt(wald_variance)
    margin = _normal_quantile_upper((1 - confidence) / 2) * wald_se

    z = _pooled_z(*counts)
    z_test_p = _two_sided_normal_p(z)
    sparse = _is_sparse(*counts)
    fisher_p = _fisher_p(*counts) if sparse else None
    return ProportionComparison(
        control_successes=control_successes,
        control_n=control_n,
        treatment_successes=treatment_successes,
        treatment_n=treatment_n,
        control_rate=control_rate,
        treatment_rate=treatment_rate,
        difference=difference,
        ci_low=difference - margin,
        ci_high=difference + margin,
        z=z,
        p_value=fisher_p if fisher_p is not None else z_test_p,
        method="fisher-exact" if sparse else "z-test",
        z_test_p=z_test_p,
        fisher_p=fisher_p,
    )


# --------------------------------------------------------------------------- means


@dataclass(frozen=True)
class MeanComparison:
    """Treatment against control on a numeric metric, by Welch's unequal-variance t-test."""

    control_n: int
    control_mean: float
    control_sd: float
    treatment_n: int
    treatment_mean: float
    treatment_sd: float
    difference: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p_value: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return _fields_dict(self)


def _welch_df(control_part: float, treatment_part: float, standard_error: float, control_n: int, treatment_n: int) -> float:
    # Written with shares of the variance (each in [0, 1]) so tiny or huge variances neither
    # underflow to 0/0 nor overflow, which the textbook form (v1 + v2)² / (...) can.
    control_share = (control_part / standard_error) ** 2
    treatment_share = (treatment_part / standard_error) ** 2
    return 1.0 / (control_share**2 / (control_n - 1) + treatment_share**2 / (treatment_n - 1))


def welch_ttest(
    control_mean: float,
    control_sd: float,
    control_n: int,
    treatment_mean: float,
    treatment_sd: float,
    treatment_n: int,
    *,
    confidence: float = 0.95,
) -> MeanComparison:
    """Two-sided Welch t-test of equal means from summary statistics, with the Welch–Satterthwaite df.

    When both standard deviations are 0 the data carry no noise: equal means give t = 0, p = 1,
    different means give t = ±inf, p = 0; df is NaN (undefined) and the interval is the point.
    """
    control_mean = _finite("control_mean", control_mean)
    control_sd = _non_negative("control_sd", control_sd)
    control_n = _count("control_n", control_n, minimum=2)
    treatment_mean = _finite("treatment_mean", treatment_mean)
    treatment_sd = _non_negative("treatment_sd", treatment_sd)
    treatment_n = _count("treatment_n", treatment_n, minimum=2)
    confidence = _open_unit("confidence", confidence)

    difference = treatment_mean - control_mean
    if not math.isfinite(difference):
        raise UsageError(f"treatment_mean - control_mean overflows: {treatment_mean!r} - {control_mean!r}")
    control_part = control_sd / math.sqrt(control_n)
    treatment_part = treatment_sd / math.sqrt(treatment_n)
    standard_error = math.hypot(control_part, treatment_part)
    summary = {
        "control_n": control_n, "control_mean": control_mean, "control_sd": control_sd,
        "treatment_n": treatment_n, "treatment_mean": treatment_mean, "treatment_sd": treatment_sd,
        "difference": difference, "method": "welch-t",
    }  # fmt: skip
    if standard_error == 0.0:
        t = 0.0 if difference == 0.0 else math.copysign(math.inf, difference)
        p_value = 1.0 if difference == 0.0 else 0.0
        return MeanComparison(**summary, ci_low=difference, ci_high=difference, t=t, df=math.nan, p_value=p_value)

    from scipy import stats

    df = _welch_df(control_part, treatment_part, standard_error, control_n, treatment_n)
    t = difference / standard_error
    p_value = float(min(1.0, 2.0 * stats.t.sf(abs(t), df)))
    margin = float(stats.t.isf((1 - confidence) / 2, df)) * standard_error
    return MeanComparison(**summary, ci_low=difference - margin, ci_high=difference + margin, t=t, df=df, p_value=p_value)


def summarize(values: Sequence[float]) -> tuple[int, float, float]:
    """(n, mean, sample standard deviation with ddof=1); the sd of a single value is 0.0."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise UsageError(f"values must be a sequence of numbers, got {values!r}")
    numbers_ = [_finite(f"values[{index}]", value) for index, value in enumerate(values)]
    if not numbers_:
        raise UsageError("values must not be empty: a summary needs at least one value")
    n = len(numbers_)
    try:
        mean = math.fsum(numbers_) / n
    except OverflowError:
        raise UsageError("values are too large to sum in floating point") from None
    if n == 1:
        return 1, mean, 0.0
    # Two passes (deviations from the mean) avoid the cancellation of sum(x²) - n·mean².
    squares = math.fsum((value - mean) * (value - mean) for value in numbers_)
    return n, mean, math.sqrt(squares / (n - 1))


# --------------------------------------------------------------------------- sample ratio


@dataclass(frozen=True)
class SampleRatioCheck:
    """Pearson's chi-square goodness of fit of the observed allocation against the weights."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    df: int
    p_value: float
    mismatch: bool
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return _fields_dict(self)


def _weights(weights: Sequence[float], size: int) -> list[float]:
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise UsageError(f"weights must be a sequence of numbers, got {weights!r}")
    if len(weights) != size:
        raise UsageError(f"weights must have one entry per group ({size}), got {len(weights)}")
    checked = [_finite(f"weights[{index}]", weight) for index, weight in enumerate(weights)]
    for index, weight in enumerate(checked):
        if weight <= 0:
            raise UsageError(f"weights[{index}] must be positive, got {weights[index]!r}")
    return checked


def _shares(weights: Sequence[float]) -> list[float]:
    """Weights as fractions of their total; scaled by the largest first so huge weights cannot overflow."""
    largest = max(weights)
    scaled = [weight / largest for weight in weights]
    total = math.fsum(scaled)
    return [weight / total for weight in scaled]


def sample_ratio_mismatch(
    observed: Sequence[int], weights: Sequence[float], *, threshold: float = SRM_THRESHOLD
) -> SampleRatioCheck:
    """Whether the observed counts per group are implausible under the intended weights."""
    if isinstance(observed, (str, bytes)) or not isinstance(observed, Sequence):
        raise UsageError(f"observed must be a sequence of counts, got {observed!r}")
    counts = [_count(f"observed[{index}]", count) for index, count in enumerate(observed)]
    if len(counts) < 2:
        raise UsageError(f"observed must have at least 2 groups, got {len(counts)}")
    checked_weights = _weights(weights, len(counts))
    threshold = _open_unit("threshold", threshold)
    total = sum(counts)
    if total == 0:
        raise UsageError("observed counts sum to 0: there is no allocation to check")

    expected = [total * share for share in _shares(checked_weights)]
    chi2 = math.fsum((count - mean) ** 2 / mean for count, mean in zip(counts, expected))
    df = len(counts) - 1
    from scipy import stats

    p_value = float(stats.chi2.sf(chi2, df))
    return SampleRatioCheck(
        observed=tuple(counts), expected=tuple(expected), chi2=chi2, df=df,
        p_value=p_value, mismatch=p_value < threshold, threshold=threshold,
    )  # fmt: skip


# --------------------------------------------------------------------------- multiple comparisons


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values, in input order.

    The k-th smallest p (k from 1) is multiplied by m - k + 1; a running maximum keeps the
    adjusted values in the same order as the raw ones, and they are capped at 1.
    """
    ps = _p_values(p_values)
    m = len(ps)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=ps.__getitem__)):
        running = max(running, min(1.0, (m - rank) * ps[index]))
        adjusted[index] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjusted p-values (q-values), in input order.

    The k-th smallest p becomes min over j >= k of p_(j)·m/j, capped at 1.
    """
    ps = _p_values(p_values)
    m = len(ps)
    adjusted = [0.0] * m
    running = 1.0
    for position, index in enumerate(sorted(range(m), key=ps.__getitem__, reverse=True)):
        rank = m - position
        # m / rank first: a factor >= 1 can only round the product up, never below the raw p.
        running = min(running, ps[index] * (m / rank))
        adjusted[index] = running
    return adjusted


def adjust(p_values: Sequence[float], method: str) -> list[float]:
    """Adjust p-values for multiple comparisons: ``"holm"``, ``"bh"`` or ``"none"``."""
    _correction(method)
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    return _p_values(p_values)


def _correction(method: Any) -> str:
    if method not in CORRECTIONS:
        choices = ", ".join(repr(choice) for choice in CORRECTIONS)
        raise UsageError(f"correction method must be one of {choices}, got {method!r}")
    return method


# --------------------------------------------------------------------------- sample size


def _per_group(exact: float) -> int:
    # Round away float noise first (an exact 63 computed as 63.000000000001 must stay 63), then
    # up; a comparison needs at least two users per group, whatever the formula says.
    return max(2, math.ceil(round(exact, 9)))


def sample_size_proportions(
    baseline_rate: float,
    minimum_detectable_effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    relative: bool = False,
) -> int:
    """Users per group (equal allocation) for the two-sided two-proportion z-test.

    ``minimum_detectable_effect`` is an absolute difference in rate, or with ``relative=True`` a
    fraction of the baseline (0.1 = a 10% lift).
    """
    p1 = _open_unit("baseline_rate", baseline_rate)
    effect = _non_zero("minimum_detectable_effect", minimum_detectable_effect)
    alpha = _open_unit("alpha", alpha)
    power = _open_unit("power", power)
    delta = effect * p1 if relative else effect
    p2 = p1 + delta
    if not 0.0 < p2 < 1.0:
        raise UsageError(
            f"minimum_detectable_effect {effect!r} moves baseline_rate {p1!r} to {p2!r}, outside (0, 1)"
        )
    pooled = (p1 + p2) / 2
    z_alpha = _normal_quantile_upper(alpha / 2)
    z_beta = _normal_quantile_upper(1 - power)
    spread = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return _per_group(spread * spread / (delta * delta))


def sample_size_means(
    standard_deviation: float,
    minimum_detectable_effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Users per group (equal allocation) for a two-sided comparison of means (normal approximation)."""
    sd = _finite("standard_deviation", standard_deviation)
    if sd <= 0:
        raise UsageError(f"standard_deviation must be positive, got {standard_deviation!r}")
    delta = _non_zero("minimum_detectable_effect", minimum_detectable_effect)
    alpha = _open_unit("alpha", alpha)
    power = _open_unit("power", power)
    z_sum = _normal_quantile_upper(alpha / 2) + _normal_quantile_upper(1 - power)
    return _per_group(2 * z_sum * z_sum * (sd / delta) ** 2)


# --------------------------------------------------------------------------- experiment input


def _name(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _mapping(what: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise UsageError(f"{what} must be a mapping of variant name to value, got {value!r}")
    return value


def _as_tuple(what: str, value: Any) -> tuple:
    # A lone string is iterable too, and would silently become a tuple of its characters.
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, tuple, list)):
        raise UsageError(f"{what} must be a list or tuple, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class MetricData:
    """One metric's raw numbers per variant.

    A conversion metric counts exposed users who converted; a variant missing from
    ``successes`` had no conversions (0). A numeric metric carries ``(n, mean, sd)`` over the
    users who reported it; a variant missing from ``summaries`` reported nothing (n = 0).
    """

    name: str
    kind: str
    successes: Mapping[str, int] = field(default_factory=dict)
    summaries: Mapping[str, tuple[int, float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _name("metric name", self.name)
        if self.kind not in METRIC_KINDS:
            raise UsageError(f"metric {self.name!r}: kind must be 'conversion' or 'numeric', got {self.kind!r}")
        successes = _mapping(f"metric {self.name!r}: successes", self.successes)
        summaries = _mapping(f"metric {self.name!r}: summaries", self.summaries)
        if self.kind == "conversion" and summaries:
            raise UsageError(f"metric {self.name!r}: a conversion metric takes successes, not summaries")
        if self.kind == "numeric" and successes:
            raise UsageError(f"metric {self.name!r}: a numeric metric takes summaries, not successes")
        checked_successes = {
            variant: _count(f"metric {self.name!r}: successes[{variant!r}]", count) for variant, count in successes.items()
        }
        checked_summaries = {variant: self._summary(variant, summary) for variant, summary in summaries.items()}
        object.__setattr__(self, "successes", checked_successes)
        object.__setattr__(self, "summaries", checked_summaries)

    def _summary(self, variant: str, summary: Any) -> tuple[int, float, float]:
        where = f"metric {self.name!r}: summaries[{variant!r}]"
        if isinstance(summary, (str, bytes)) or not isinstance(summary, Sequence) or len(summary) != 3:
            raise UsageError(f"{where} must be (n, mean, sd), got {summary!r}")
        n = _count(f"{where} n", summary[0])
        if n == 0:
            return 0, math.nan, math.nan
        return n, _finite(f"{where} mean", summary[1]), _non_negative(f"{where} sd", summary[2])


@dataclass(frozen=True)
class ExperimentData:
    """An experiment's allocation and outcomes; the first variant is the control.

    A variant missing from ``exposures`` had no exposed users (0).
    """

    flag: str
    variants: tuple[str, ...]
    weights: tuple[float, ...] | None  # None: targeting gives no fixed split (no SRM check)
    exposures: Mapping[str, int]
    metrics: tuple[MetricData, ...] = ()
    notes: tuple[str, ...] = ()  # warnings from collecting the data, carried into the report

    def __post_init__(self) -> None:
        _name("flag", self.flag)
        variants = _as_tuple("variants", self.variants)
        if len(variants) < 2:
            raise UsageError(f"variants must name a control and at least one other variant, got {variants!r}")
        for variant in variants:
            _name("variant name", variant)
        duplicates = sorted({variant for variant in variants if variants.count(variant) > 1})
        if duplicates:
            raise UsageError(f"variants must be unique, got {', '.join(map(repr, duplicates))} more than once")
        weights = None if self.weights is None else tuple(_weights(_as_tuple("weights", self.weights), len(variants)))
        exposures = _mapping("exposures", self.exposures)
        self._only_known_variants("exposures", exposures, variants)
        checked_exposures = {variant: _count(f"exposures[{variant!r}]", exposures.get(variant, 0)) for variant in variants}
        metrics = _as_tuple("metrics", self.metrics)
        for metric in metrics:
            if not isinstance(metric, MetricData):
                raise UsageError(f"metrics must be MetricData, got {metric!r}")
            self._only_known_variants(f"metric {metric.name!r}", {**metric.successes, **metric.summaries}, variants)
            for variant, count in metric.successes.items():
                where = f"metric {metric.name!r}: successes[{variant!r}]"
                _successes(where, count, f"exposures[{variant!r}]", checked_exposures[variant])
        names = [metric.name for metric in metrics]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UsageError(f"metric names must be unique, got {', '.join(map(repr, repeated))} more than once")
        object.__setattr__(self, "variants", variants)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "exposures", checked_exposures)
        object.__setattr__(self, "metrics", metrics)

    @staticmethod
    def _only_known_variants(what: str, mapping: Mapping, variants: tuple[str, ...]) -> None:
        unknown = [key for key in mapping if key not in variants]
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise UsageError(f"{what} names unknown variants {names}; variants are {', '.join(map(repr, variants))}")

    @property
    def control(self) -> str:
        return self.variants[0]


# --------------------------------------------------------------------------- experiment report


@dataclass(frozen=True)
class MetricSnapshot:
    """One variant's value of one metric: a rate (conversion) or n/mean/sd (numeric)."""

    metric: str
    kind: str
    n: int
    successes: int | None = None
    rate: float | None = None
    mean: float | None = None
    sd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "conversion":
            return _plain({"kind": self.kind, "successes": self.successes, "n": self.n, "rate": self.rate})
        return _plain({"kind": self.kind, "n": self.n, "mean": self.mean, "sd": self.sd})


@dataclass(frozen=True)
class VariantSummary:
    """A variant's allocation (weight as given, shares as fractions) and its metric values."""

    name: str
    exposures: int
    weight: float
    expected_share: float
    observed_share: float | None
    metrics: tuple[MetricSnapshot, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "exposures": self.exposures,
            "weight": _plain(self.weight),
            "expected_share": _plain(self.expected_share),
            "observed_share": _plain(self.observed_share),
            "metrics": {snapshot.metric: snapshot.to_dict() for snapshot in self.metrics},
        }


@dataclass(frozen=True)
class Comparison:
    """One variant against the control on one metric, or the reason it could not be tested."""

    metric: str
    kind: str
    variant: str
    control: str
    result: ProportionComparison | MeanComparison | None = None
    p_adjusted: float | None = None
    significant: bool | None = None
    insufficient_data: str | None = None

    def to_dict(self) -> dict[str, Any]:
        head = {"metric": self.metric, "kind": self.kind, "variant": self.variant, "control": self.control}
        if self.result is None:
            return {**head, "insufficient_data": self.insufficient_data}
        return {**head, **self.result.to_dict(), "p_adjusted": _plain(self.p_adjusted), "significant": self.significant}


@dataclass(frozen=True)
class SampleSizePlan:
    """Users per group needed to detect the minimum effect on one metric, and who has them."""

    metric: str
    kind: str
    minimum_detectable_effect: float
    alpha: float
    power: float
    baseline_rate: float | None = None
    standard_deviation: float | None = None
    required_per_group: int | None = None
    reached: tuple[tuple[str, int, bool], ...] = ()
    insufficient_data: str | None = None

    def to_dict(self) -> dict[str, Any]:
        effect = _plain(self.minimum_detectable_effect)
        head = {"metric": self.metric, "kind": self.kind, "minimum_detectable_effect": effect}
        if self.required_per_group is None:
            return {**head, "insufficient_data": self.insufficient_data}
        return {
            **head,
            "alpha": _plain(self.alpha),
            "power": _plain(self.power),
            "baseline_rate": _plain(self.baseline_rate),
            "standard_deviation": _plain(self.standard_deviation),
            "required_per_group": self.required_per_group,
            "variants": [{"name": name, "n": n, "reached": reached} for name, n, reached in self.reached],
        }


@dataclass(frozen=True)
class ExperimentReport:
    """Everything ``analyze_experiment`` found; ``sample_ratio`` is None when nothing was exposed."""

    flag: str
    control: str
    variants: tuple[VariantSummary, ...]
    comparisons: tuple[Comparison, ...]
    correction: str
    alpha: float
    confidence: float
    sample_ratio: SampleRatioCheck | None
    sample_size: tuple[SampleSizePlan, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``json.dumps(..., allow_nan=False)`` works): NaN and ±inf become null."""
        sample_ratio = None
        if self.sample_ratio is not None:
            sample_ratio = {"variants": [variant.name for variant in self.variants], **self.sample_ratio.to_dict()}
        return {
            "flag": self.flag,
            "control": self.control,
            "variants": [variant.to_dict() for variant in self.variants],
            "comparisons": [comparison.to_dict() for comparison in self.comparisons],
            "correction": self.correction,
            "alpha": _plain(self.alpha),
            "confidence": _plain(self.confidence),
            "sample_ratio": sample_ratio,
            "sample_size": [plan.to_dict() for plan in self.sample_size],
            "warnings": list(self.warnings),
        }

    def render_text(self) -> str:
        from tabulate import tabulate

        def table(rows: list[list[str]], headers: list[str]) -> str:
            return tabulate(rows, headers=headers, disable_numparse=True)

        parts = [f"Experiment {self.flag!r} (control: {self.control})"]
        parts.extend(f"WARNING: {warning}" for warning in self.warnings)
        parts.append(table(*_variant_table(self)))
        tested = [comparison for comparison in self.comparisons if comparison.result is not None]
        if tested:
            parts.append(table(*_comparison_table(self, tested)))
        untested = [comparison for comparison in self.comparisons if comparison.result is None]
        if untested:
            parts.append("\n".join(f"{c.metric}, {c.variant} vs {c.control}: {c.insufficient_data}" for c in untested))
        parts.append(_sample_ratio_line(self.sample_ratio))
        if self.sample_size:
            parts.append(table(*_sample_size_table(self)))
        return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- text rendering


def _number(value: float | None, spec: str = ".4g") -> str:
    if value is None or not math.isfinite(value):
        return "n/a" if value is None or math.isnan(value) else ("+inf" if value > 0 else "-inf")
    return format(value, spec)


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.2f}%"


def _snapshot_text(snapshot: MetricSnapshot) -> str:
    if snapshot.kind == "conversion":
        return f"{_percent(snapshot.rate)} ({snapshot.successes}/{snapshot.n})"
    if snapshot.n == 0:
        return "no values"
    return f"{_number(snapshot.mean)} ± {_number(snapshot.sd)} (n={snapshot.n})"


def _variant_table(report: ExperimentReport) -> tuple[list[list[str]], list[str]]:
    metric_names = [snapshot.metric for snapshot in report.variants[0].metrics]
    headers = ["variant", "allocation", "exposures", *metric_names]
    rows = [
        [variant.name, _percent(variant.expected_share), str(variant.exposures), *map(_snapshot_text, variant.metrics)]
        for variant in report.variants
    ]
    return rows, headers


def _comparison_row(comparison: Comparison) -> list[str]:
    head = [comparison.metric, f"{comparison.variant} vs {comparison.control}"]
    result = comparison.result
    if isinstance(result, ProportionComparison):
        difference = f"{100 * result.difference:+.2f} pp"
        interval = f"[{100 * result.ci_low:+.2f}, {100 * result.ci_high:+.2f}] pp"
    else:
        difference = _number(result.difference, "+.4g")
        interval = f"[{_number(result.ci_low, '+.4g')}, {_number(result.ci_high, '+.4g')}]"
    significant = "yes" if comparison.significant else "no"
    p_values = [_number(result.p_value, ".3g"), result.method, _number(comparison.p_adjusted, ".3g")]
    return [*head, difference, interval, *p_values, significant]


def _comparison_table(report: ExperimentReport, tested: list[Comparison]) -> tuple[list[list[str]], list[str]]:
    level = f"{100 * report.confidence:g}% CI"
    adjusted = f"p ({report.correction})"
    headers = ["metric", "comparison", "difference", level, "p", "test", adjusted, f"significant at {report.alpha:g}"]
    return [_comparison_row(comparison) for comparison in tested], headers


def _sample_ratio_line(check: SampleRatioCheck | None) -> str:
    if check is None:
        return "Sample ratio: not checked (no exposures)."
    verdict = "MISMATCH" if check.mismatch else "no mismatch"
    return (
        f"Sample ratio: chi2 = {check.chi2:.3g}, df = {check.df}, p = {check.p_value:.3g}: "
        f"{verdict} (threshold {check.threshold:g})."
    )


def _sample_size_table(report: ExperimentReport) -> tuple[list[list[str]], list[str]]:
    names = [variant.name for variant in report.variants]
    headers = ["metric", "MDE", "needed per group", *names]
    rows = []
    for plan in report.sample_size:
        if plan.required_per_group is None:
            reason = plan.insufficient_data or ""
            rows.append([plan.metric, _number(plan.minimum_detectable_effect), reason, *[""] * len(names)])
            continue
        progress = [f"{n} ({'reached' if reached else 'not yet'})" for _, n, reached in plan.reached]
        rows.append([plan.metric, _number(plan.minimum_detectable_effect), str(plan.required_per_group), *progress])
    return rows, headers


# --------------------------------------------------------------------------- analysis


def _snapshot(metric: MetricData, variant: str, exposures: int) -> MetricSnapshot:
    if metric.kind == "conversion":
        successes = metric.successes.get(variant, 0)
        rate = successes / exposures if exposures else None
        return MetricSnapshot(metric.name, metric.kind, n=exposures, successes=successes, rate=rate)
    n, mean, sd = metric.summaries.get(variant, (0, math.nan, math.nan))
    if n == 0:
        return MetricSnapshot(metric.name, metric.kind, n=0)
    return MetricSnapshot(metric.name, metric.kind, n=n, mean=mean, sd=sd)


def _variant_summaries(data: ExperimentData) -> tuple[VariantSummary, ...]:
    weights = data.weights or (None,) * len(data.variants)
    shares = _shares(data.weights) if data.weights is not None else weights
    total_exposures = sum(data.exposures.values())
    return tuple(
        VariantSummary(
            name=variant,
            exposures=data.exposures[variant],
            weight=weight,
            expected_share=share,
            observed_share=data.exposures[variant] / total_exposures if total_exposures else None,
            metrics=tuple(_snapshot(metric, variant, data.exposures[variant]) for metric in data.metrics),
        )
        for variant, weight, share in zip(data.variants, weights, shares)
    )


def _conversion_gap(control: MetricSnapshot, treatment: MetricSnapshot, names: tuple[str, str]) -> str | None:
    empty = [name for name, snapshot in zip(names, (control, treatment)) if snapshot.n == 0]
    if empty:
        return f"{INSUFFICIENT}{' and '.join(map(repr, empty))} had no exposures"
    return None


def _numeric_gap(control: MetricSnapshot, treatment: MetricSnapshot, names: tuple[str, str]) -> str | None:
    short = [f"{name!r} has {snapshot.n}" for name, snapshot in zip(names, (control, treatment)) if snapshot.n < 2]
    if short:
        return f"{INSUFFICIENT}{' and '.join(short)} value(s); Welch's t-test needs at least 2 per variant"
    return None


def _compare(
    metric: MetricData, control: MetricSnapshot, treatment: MetricSnapshot, names: tuple[str, str], confidence: float
) -> Comparison:
    control_name, variant_name = names
    base = {"metric": metric.name, "kind": metric.kind, "variant": variant_name, "control": control_name}
    if metric.kind == "conversion":
        gap = _conversion_gap(control, treatment, names)
        if gap:
            return Comparison(**base, insufficient_data=gap)
        result = two_proportion_ztest(
            control.successes, control.n, treatment.successes, treatment.n, confidence=confidence
        )
        return Comparison(**base, result=result)
    gap = _numeric_gap(control, treatment, names)
    if gap:
        return Comparison(**base, insufficient_data=gap)
    result = welch_ttest(
        control.mean, control.sd, control.n, treatment.mean, treatment.sd, treatment.n, confidence=confidence
    )
    return Comparison(**base, result=result)


def _with_adjusted(comparisons: list[Comparison], correction: str, alpha: float) -> tuple[Comparison, ...]:
    # The family is every comparison actually tested: an untestable one has no p to adjust.
    tested = [index for index, comparison in enumerate(comparisons) if comparison.result is not None]
    adjusted = adjust([comparisons[index].result.p_value for index in tested], correction)
    final = list(comparisons)
    for index, p_adjusted in zip(tested, adjusted):
        comparison = comparisons[index]
        final[index] = Comparison(
            metric=comparison.metric, kind=comparison.kind, variant=comparison.variant, control=comparison.control,
            result=comparison.result, p_adjusted=p_adjusted, significant=p_adjusted < alpha,
        )  # fmt: skip
    return tuple(final)


def _required_for_conversion(control: MetricSnapshot, effect: float, alpha: float, power: float) -> int:
    if control.rate is None:
        raise UsageError("the control had no exposures, so there is no baseline rate")
    if control.rate in (0.0, 1.0):
        raise UsageError(
            f"the control's rate is {control.rate:g}; the sample-size formula needs a baseline strictly between 0 and 1"
        )
    return sample_size_proportions(control.rate, effect, alpha=alpha, power=power)


def _required_for_numeric(control: MetricSnapshot, effect: float, alpha: float, power: float) -> int:
    if control.n < 2 or not control.sd:
        known = "unknown" if control.n < 2 else "0"
        raise UsageError(f"the control's standard deviation is {known}; the sample-size formula needs a positive one")
    return sample_size_means(control.sd, effect, alpha=alpha, power=power)


def _sample_size_plan(
    metric: MetricData, variants: tuple[VariantSummary, ...], index: int, effect: float, alpha: float, power: float
) -> SampleSizePlan:
    control = variants[0].metrics[index]
    base = {"metric": metric.name, "kind": metric.kind, "minimum_detectable_effect": effect, "alpha": alpha, "power": power}
    try:
        if metric.kind == "conversion":
            required = _required_for_conversion(control, effect, alpha, power)
            baseline = {"baseline_rate": control.rate}
        else:
            required = _required_for_numeric(control, effect, alpha, power)
            baseline = {"standard_deviation": control.sd}
    except UsageError as reason:
        # One metric's unusable baseline must not sink the whole report: say why, per metric.
        return SampleSizePlan(**base, insufficient_data=f"{INSUFFICIENT}{reason}")
    reached = tuple(
        (variant.name, variant.metrics[index].n, variant.metrics[index].n >= required) for variant in variants
    )
    return SampleSizePlan(**base, **baseline, required_per_group=required, reached=reached)


def _srm_warning(check: SampleRatioCheck, data: ExperimentData) -> str:
    observed = ", ".join(f"{variant} {count}" for variant, count in zip(data.variants, check.observed))
    expected = ", ".join(f"{variant} {count:.1f}" for variant, count in zip(data.variants, check.expected))
    return (
        f"results are not trustworthy: sample ratio mismatch (chi-square p = {check.p_value:.3g} < {check.threshold:g}); "
        f"exposures {observed} differ from the {expected} the weights imply. "
        "Find the cause in assignment or exposure logging before reading any comparison."
    )


def analyze_experiment(
    data: ExperimentData,
    *,
    alpha: float = 0.05,
    confidence: float = 0.95,
    correction: str = "holm",
    minimum_detectable_effect: float | None = None,
    power: float = 0.8,
) -> ExperimentReport:
    """Compare every variant with the control on every metric, corrected across all comparisons.

    ``minimum_detectable_effect`` is in each metric's own unit: an absolute difference in rate
    for conversion metrics, an absolute difference in mean for numeric ones.
    """
    if not isinstance(data, ExperimentData):
        raise UsageError(f"data must be ExperimentData, got {type(data).__name__}")
    alpha = _open_unit("alpha", alpha)
    confidence = _open_unit("confidence", confidence)
    correction = _correction(correction)
    power = _open_unit("power", power)
    if minimum_detectable_effect is not None:
        minimum_detectable_effect = _non_zero("minimum_detectable_effect", minimum_detectable_effect)

    variants = _variant_summaries(data)
    control = variants[0]
    comparisons = [
        _compare(metric, control.metrics[index], variant.metrics[index], (control.name, variant.name), confidence)
        for index, metric in enumerate(data.metrics)
        for variant in variants[1:]
    ]
    warnings: list[str] = []
    sample_ratio = None
    if sum(data.exposures.values()) == 0:
        warnings.append("no exposures were recorded: there is nothing to analyse yet")
    elif data.weights is None:
        warnings.append(
            "no sample-ratio check: the flag's targeting gives no fixed split to compare against"
        )
    else:
        sample_ratio = sample_ratio_mismatch([data.exposures[name] for name in data.variants], data.weights)
        if sample_ratio.mismatch:
            warnings.append(_srm_warning(sample_ratio, data))
    warnings.extend(data.notes)
    sample_size: tuple[SampleSizePlan, ...] = ()
    if minimum_detectable_effect is not None:
        sample_size = tuple(
            _sample_size_plan(metric, variants, index, minimum_detectable_effect, alpha, power)
            for index, metric in enumerate(data.metrics)
        )
    return ExperimentReport(
        flag=data.flag,
        control=control.name,
        variants=variants,
        comparisons=_with_adjusted(comparisons, correction, alpha),
        correction=correction,
        alpha=alpha,
        confidence=confidence,
        sample_ratio=sample_ratio,
        sample_size=sample_size,
        warnings=tuple(warnings),
    )
