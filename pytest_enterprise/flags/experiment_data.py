"""From recorded A/B events to the per-variant summaries the statistics need.

Per user, not per event: a user counts once as exposed in each variant they were seen in, a
conversion metric counts the exposed users who converted at least once, and a numeric metric
takes each user's mean value (only users who reported it are in its sample). A user seen in
two variants (the flag's weights changed mid-experiment, say) is counted in both and reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ..errors import UsageError
from .experiment import ExperimentData, MetricData, summarize
from .manager import EXPOSURE
from .model import FeatureFlag, FlagType, RolloutStrategy

__all__ = ["experiment_data", "expected_weights"]


def expected_weights(flag: FeatureFlag) -> tuple[float, ...] | None:
    """The split the experiment should show, in ``experiment_arms`` order; None when the
    flag's targeting gives no fixed split (a user list, a ramp, prerequisites)."""
    if flag.type is FlagType.VARIANT:
        weights = tuple(float(variant.weight) for variant in flag.variants)
    elif flag.prerequisites or flag.strategy not in (RolloutStrategy.PERCENTAGE, RolloutStrategy.CANARY):
        return None
    else:
        weights = (100.0 - flag.rollout_percentage, flag.rollout_percentage)
    return weights if all(weight > 0 for weight in weights) else None


def experiment_arms(flag: FeatureFlag) -> tuple[str, ...]:
    """Variant names, control first: ``off`` then ``on`` for a boolean flag."""
    return ("off", "on") if flag.type is FlagType.BOOLEAN else flag.variant_names


def experiment_data(flag: FeatureFlag, events: Iterable[tuple[str, str, str, float | None]]) -> ExperimentData:
    """``events`` are ``(variant, user_id, metric, value)``, as the manager records them."""
    arms = experiment_arms(flag)
    exposed: dict[str, set[str]] = {arm: set() for arm in arms}
    converted: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    numeric: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    kinds: dict[str, str] = {}
    for variant, user, metric, value in events:
        exposed.setdefault(variant, set()).add(user)
        if metric == EXPOSURE:
            continue
        kind = "conversion" if value is None else "numeric"
        if kinds.setdefault(metric, kind) != kind:
            raise UsageError(
                f"flag {flag.name!r}: metric {metric!r} has both conversions (no value) and"
                " numeric values; track them under two metric names"
            )
        if value is None:
            converted[metric][variant].add(user)
        else:
            numeric[metric][variant][user].append(value)
    unknown = sorted(set(exposed) - set(arms))
    if unknown:
        raise UsageError(
            f"flag {flag.name!r}: recorded events name variants {', '.join(map(repr, unknown))}"
            f" that the flag no longer has ({', '.join(arms)})"
        )
    metrics = []
    for metric in sorted(kinds):
        if kinds[metric] == "conversion":
            successes = {arm: len(converted[metric][arm]) for arm in arms}
            metrics.append(MetricData(name=metric, kind="conversion", successes=successes))
        else:
            summaries = {}
            for arm in arms:
                per_user = [sum(values) / len(values) for values in numeric[metric][arm].values()]
                summaries[arm] = summarize(per_user) if per_user else (0, 0.0, 0.0)
            metrics.append(MetricData(name=metric, kind="numeric", summaries=summaries))
    return ExperimentData(
        flag=flag.name,
        variants=arms,
        weights=expected_weights(flag),  # type: ignore[arg-type]
        exposures={arm: len(exposed[arm]) for arm in arms},
        metrics=tuple(metrics),
        notes=_notes(events),
    )


def _notes(events: list[tuple[str, str, str, Any]]) -> tuple[str, ...]:
    seen: dict[str, set[str]] = defaultdict(set)
    for variant, user, _metric, _value in events:
        seen[user].add(variant)
    crossed = sum(1 for variants in seen.values() if len(variants) > 1)
    if not crossed:
        return ()
    return (
        f"{crossed} users were recorded in more than one variant (did the weights or the"
        " rollout change during the experiment?); they count in each",
    )
