"""Feature flags: deterministic rollouts, A/B statistics, and pytest variant runs.

``model`` holds the validated flag values, ``bucketing`` the Unleash-compatible hashing,
``manager`` evaluation, changes and the canary guard, ``decorators`` the guide's helpers,
``flagfile`` the YAML/JSON file, ``experiment`` the statistics, and ``pytest_plugin`` the
marker and fixture. ``feature_flags`` is the guide's import path for all of it.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "FeatureFlag": "model",
    "FlagStatus": "model",
    "FlagType": "model",
    "RolloutStrategy": "model",
    "Variant": "model",
    "FlagManager": "manager",
    "UnknownFlagError": "manager",
    "UnknownFlagWarning": "manager",
    "FeatureDisabledError": "decorators",
    "InertFlagsMarkerWarning": "marker_warning",
    "conditional_execution": "decorators",
    "enterprise_feature": "decorators",
    "flag_manager": "feature_flags",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
