"""Why a flag gives a user what it gives: the answer of ``FlagManager`` plus the rule that
decided it, in the manager's order of precedence (``enterprise flags evaluate``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..timeutil import utc_now
from .bucketing import bucket
from .manager import FlagManager
from .model import FeatureFlag, RolloutStrategy

__all__ = ["explain"]


def explain(
    flag: FeatureFlag,
    flags: Mapping[str, FeatureFlag],
    user_id: Any,
    context: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``{"flag", "user", "enabled", "value", "reason"}`` for ``user_id`` at ``now``."""
    moment = now or utc_now()
    manager = FlagManager(flags.values(), clock=lambda: moment)
    enabled = manager.is_enabled(flag.name, user_id, context)
    value = manager.get_variant(flag.name, user_id, context)
    return {
        "flag": flag.name,
        "user": user_id,
        "enabled": enabled,
        "value": value,
        "reason": _reason(flag, manager, user_id, context, moment, enabled),
    }


def _reason(
    flag: FeatureFlag, manager: FlagManager, user_id: Any, context: Any, now: datetime, enabled: bool
) -> str:
    if not flag.serving:
        return "status disabled: the kill switch serves off to everyone"
    if flag.start_date and now < flag.start_date:
        return f"before start_date {flag.start_date.isoformat()}"
    if flag.end_date and now >= flag.end_date:
        return f"after end_date {flag.end_date.isoformat()}"
    for prerequisite in flag.prerequisites:
        if not manager.is_enabled(prerequisite.flag, user_id, context):
            return f"prerequisite {prerequisite.flag!r} is off for this user"
        if prerequisite.variants and manager.get_variant(prerequisite.flag, user_id, context) not in prerequisite.variants:
            return f"prerequisite {prerequisite.flag!r} serves another variant than {', '.join(prerequisite.variants)}"
    strategy = flag.strategy
    if strategy is RolloutStrategy.ALL_USERS:
        return f"status {flag.status.value}, strategy all_users"
    if strategy is RolloutStrategy.USER_LIST:
        return "listed user or group" if enabled else "neither the user nor their groups are listed"
    percentage = flag.rollout_percentage
    if strategy is RolloutStrategy.GRADUAL:
        assert flag.gradual is not None
        percentage = flag.gradual.percentage_at(now, flag.rollout_percentage)
    share = f"{percentage:.4g}% {strategy.value} rollout"
    if percentage >= 100:
        return f"{share}: everyone"
    if user_id is None:
        return f"{share}: without a user id nobody is bucketed in"
    user_bucket = bucket(str(user_id), flag.bucket_group or flag.name)
    relation = "<=" if user_bucket <= percentage else ">"
    return f"{share}: the user's bucket {user_bucket} {relation} {percentage:.4g}"
