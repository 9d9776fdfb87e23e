"""Pure Six Sigma math: exact intervals, sigma levels and quality levels.

SciPy is never imported: ``import scipy.special`` alone costs 0.45-0.8 s (NumPy with it), more
than the plugin's whole overhead budget and than ``enterprise merge``'s. The normal quantile
comes from the standard library, every interval has a closed form in the common zero-defect and
all-pass cases, and the inverse incomplete beta and gamma functions of the others come from
``incomplete.py`` (checked against ``scipy.special`` by the tests). See docs/telemetry-math.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

from .incomplete import betaincinv, gammaincinv

__all__ = [
    "DEFAULT_QUALITY_THRESHOLDS",
    "POOR",
    "STANDARD_SHIFT",
    "QualityLevel",
    "defect_rate_at",
    "opportunities_to_demonstrate",
    "poisson_rate_ci",
    "proportion_ci",
    "proportion_upper_bound",
    "quality_level",
    "sigma_level",
    "upper_tail_quantile",
    "validate_thresholds",
    "z_long_term",
]

STANDARD_SHIFT = 1.5
DEFAULT_QUALITY_THRESHOLDS: Mapping[str, float] = {"Excellent": 5.0, "Good": 4.0, "Fair": 3.0}
POOR = "Poor"

_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class QualityLevel:
    """A named quality level and the sigma threshold it met (``None`` for ``Poor``)."""

    name: str
    threshold: float | None


def _check_count(name: str, value: int) -> None:
    # bool is an int subclass; True/False as a count is always a caller bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")


def _check_proportion(k: int, n: int) -> None:
    """k successes out of n > 0 trials, both ints."""
    _check_count("k", k)
    _check_count("n", n)
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if k < 0 or k > n:
        raise ValueError(f"k must be between 0 and n={n}, got {k}")


def _alpha(confidence: float) -> float:
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return 1.0 - confidence


def proportion_ci(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Clopper–Pearson (exact) interval for a binomial proportion k/n."""
    _check_proportion(k, n)
    half_alpha = _alpha(confidence) / 2
    # Closed forms at the edges keep SciPy unloaded for all-pass and zero-defect runs.
    # expm1/exp of log(α/2)/n avoid cancellation in 1 − (α/2)^(1/n) when n is large.
    if k == 0:
        return 0.0, -math.expm1(math.log(half_alpha) / n)
    if k == n:
        return math.exp(math.log(half_alpha) / n), 1.0
    low = float(betaincinv(k, n - k + 1, half_alpha))
    high = float(betaincinv(k + 1, n - k, 1.0 - half_alpha))
    return low, high


def proportion_upper_bound(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper confidence bound for a binomial proportion k/n.

    The largest defect rate the sample does not rule out at ``confidence``: the ``high`` end of
    ``scipy.stats.binomtest(k, n, alternative="less").proportion_ci(confidence)``. With k = 0 it
    is 1 − α^(1/n), whose large-n form −ln(α)/n ≈ 3/n at 95% is the rule of three.
    """
    _check_proportion(k, n)
    alpha = _alpha(confidence)
    if k == n:
        return 1.0
    if k == 0:
        return -math.expm1(math.log(alpha) / n)
    return float(betaincinv(k + 1, n - k, 1.0 - alpha))


def poisson_rate_ci(count: int, exposure: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson rate count/exposure, e.g. defects per unit."""
    _check_count("count", count)
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    if not (isinstance(exposure, (int, float)) and math.isfinite(exposure) and exposure > 0):
        raise ValueError(f"exposure must be positive and finite, got {exposure!r}")
    half_alpha = _alpha(confidence) / 2
    if count == 0:
        return 0.0, -math.log(half_alpha) / exposure
    low = float(gammaincinv(count, half_alpha)) / exposure
    high = float(gammaincinv(count + 1, 1.0 - half_alpha)) / exposure
    return low, high


def _check_probability(p: float) -> None:
    if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
        raise ValueError(f"defect probability must be between 0 and 1, got {p!r}")


def upper_tail_quantile(p: float) -> float:
    """Φ⁻¹(1 − p), i.e. ``scipy.stats.norm.isf(p)``; ±inf at p = 0 and p = 1.

    Computed as −Φ⁻¹(p): forming 1 − p first would round tiny defect rates away.
    """
    _check_probability(p)
    if p == 0.0:
        return math.inf
    if p == 1.0:
        return -math.inf
    return -_STANDARD_NORMAL.inv_cdf(p)


def sigma_level(p: float, shift: float = STANDARD_SHIFT) -> float:
    """Short-term sigma level for defect probability p (DPMO / 10⁶), 1.5σ shift by default.

    p = 0 gives ``math.inf`` and p = 1 ``-math.inf``; reports carry neither (see metrics.py).
    """
    return upper_tail_quantile(p) + shift


def z_long_term(p: float) -> float:
    """Long-term Z for defect probability p: the sigma level without the 1.5σ shift."""
    return upper_tail_quantile(p)


def defect_rate_at(sigma: float, shift: float = STANDARD_SHIFT) -> float:
    """The defect probability whose sigma level is ``sigma``: the inverse of ``sigma_level``."""
    if not isinstance(sigma, (int, float)) or not math.isfinite(sigma):
        raise ValueError(f"sigma must be a finite number, got {sigma!r}")
    return _STANDARD_NORMAL.cdf(shift - sigma)


def opportunities_to_demonstrate(
    threshold: float, defects: int = 0, confidence: float = 0.95
) -> int | None:
    """Smallest n such that ``defects`` defects in n opportunities demonstrate ``threshold`` σ.

    "Demonstrate" is the test the quality level uses: the sigma level of the one-sided upper
    bound ``proportion_upper_bound(defects, n, confidence)`` is at least ``threshold``. With no
    defects this is about ln(α)/ln(1 − p) for the threshold's defect rate p (the rule of three:
    about 3/p at 95%). ``None`` when no finite sample can do it (the threshold's defect rate
    underflows to 0, beyond about 39σ).
    """
    _check_count("defects", defects)
    if defects < 0:
        raise ValueError(f"defects must be non-negative, got {defects}")
    alpha = _alpha(confidence)
    rate = defect_rate_at(threshold)
    if rate <= 0.0:
        return None

    def demonstrates(n: int) -> bool:
        return sigma_level(proportion_upper_bound(defects, n, confidence)) >= threshold

    if defects == 0:
        # The closed form lands on the answer or next to it; the exact test settles rounding.
        n = 1 if rate >= 1.0 else max(1, math.ceil(math.log(alpha) / math.log1p(-rate)))
        while n > 1 and demonstrates(n - 1):
            n -= 1
        while not demonstrates(n):
            n += 1
        return n
    # The bound falls as n grows with the defects fixed: bracket by doubling, then bisect.
    low, high = defects, max(defects + 1, 2 * defects)
    while not demonstrates(high):
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        if demonstrates(middle):
            high = middle
        else:
            low = middle
    return high


def validate_thresholds(thresholds: Mapping[str, float]) -> list[tuple[str, float]]:
    """Check quality thresholds and return them highest first."""
    checked: list[tuple[str, float]] = []
    for name, value in thresholds.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"quality level names must be non-empty strings, got {name!r}")
        if name == POOR:
            raise ValueError(f"{POOR!r} is the level below every threshold; it takes no threshold")
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):
            raise ValueError(f"quality threshold {name!r} must be a finite number, got {value!r}")
        checked.append((name, float(value)))
    checked.sort(key=lambda item: item[1], reverse=True)
    return checked


def quality_level(
    sigma: float, thresholds: Mapping[str, float] = DEFAULT_QUALITY_THRESHOLDS
) -> QualityLevel:
    """The highest level whose threshold ``sigma`` meets (≥), else ``Poor``."""
    if not isinstance(sigma, (int, float)) or math.isnan(sigma):
        raise ValueError(f"sigma must be a number, got {sigma!r}")
    for name, threshold in validate_thresholds(thresholds):
        if sigma >= threshold:
            return QualityLevel(name, threshold)
    return QualityLevel(POOR, None)
