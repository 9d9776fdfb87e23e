"""The JSON report's ``flags`` section: per flag and value, the outcomes of the tests that ran
with it; the evaluations the code under test made; and warnings a reviewer should act on.

Warnings, each ``{"flag", "kind", "message"}``:

* ``untested-variant``: a value of the flag that no test ran with and no evaluation returned;
* ``always-one-value``: the code asked for the flag and always got the same value;
* ``stale``: the flag is past its ``expires_at``;
* ``deprecated-in-use``: a deprecated flag was still evaluated;
* ``canary-tripped``: the canary guard, fed with the outcomes of the tests that ran the flag
  on (in node-id order, so ``-n 2`` judges as ``-n 0``), disabled the flag. The trip is
  recorded in the project's audit log; the flag file itself is not edited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..timeutil import parse_timestamp
from .manager import FlagManager
from .model import FeatureFlag, FlagStatus, FlagType

__all__ = ["flags_section"]

_PASSING = ("passed", "xpassed")
_FAILING = ("failed", "error", "crashed")


def flags_section(run: Any, record: Any, audit: Any) -> dict[str, Any]:
    """``run`` is the pytest run's ``FlagsRun``; ``audit`` receives canary trips (None: not
    recorded)."""
    now = parse_timestamp(record.run.started_at)
    flags: Mapping[str, FeatureFlag] = run.defined
    tests = sorted(
        (test for test in record.tests if test.markers and test.markers.get("flags")),
        key=lambda test: test.nodeid,
    )
    outcomes: dict[str, dict[str, dict[str, int]]] = {}
    for test in tests:
        for name, value in test.markers["flags"].items():
            counts = outcomes.setdefault(name, {}).setdefault(value, {"tests": 0})
            counts["tests"] += 1
            counts[test.outcome] = counts.get(test.outcome, 0) + 1
    evaluations = run.evaluation_counts()
    warnings: list[dict[str, str]] = []
    section_flags = {}
    for name in sorted(set(flags) | set(outcomes)):
        flag = flags.get(name)
        tested = outcomes.get(name, {})
        seen = evaluations.get(name)
        entry: dict[str, Any] = {"variants": {value: tested[value] for value in sorted(tested)}}
        if seen:
            entry["evaluations"] = seen
        if flag is not None:
            entry = {
                "status": flag.status.value,
                "strategy": flag.strategy.value,
                "type": flag.type.value,  # type: ignore[union-attr]
                "values": list(flag.variant_names),
                "owner": flag.owner,
                "expires_at": _text(flag.expires_at),
                **entry,
            }
            warnings += _warnings(flag, tested, seen, now)
        section_flags[name] = entry
    warnings += _canary_trips(flags, tests, audit, record.run.id)
    return {
        "flag_file": None if run.flag_file_path is None else str(run.flag_file_path),
        "environment": run.settings.environment,
        "flags": section_flags,
        "warnings": warnings,
    }


def _text(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _evaluated_values(flag: FeatureFlag, seen: Mapping[str, Any] | None) -> set[str]:
    if not seen:
        return set()
    values = {value for value, count in seen["values"].items() if count}
    if seen["on"] and flag.type is FlagType.BOOLEAN:
        values.add("on")
    if seen["calls"] > seen["on"]:  # an answer of off: for a variant flag, the control
        values.add(flag.off_value)
    return values


def _warnings(
    flag: FeatureFlag, tested: Mapping[str, Any], seen: Mapping[str, Any] | None, now: Any
) -> list[dict[str, str]]:
    name = flag.name
    found = []
    evaluated = _evaluated_values(flag, seen)
    if seen and seen["calls"] and len(evaluated) == 1 and not tested:
        (value,) = evaluated
        found.append(_warning(
            name, "always-one-value",
            f"flag {name!r} was evaluated {_times(seen['calls'])} and was always {value!r};"
            f" no test ran it as {', '.join(repr(v) for v in flag.variant_names if v != value)}",
        ))  # fmt: skip
    else:
        exercised = set(tested) | evaluated
        missing = [value for value in flag.variant_names if value not in exercised]
        if missing and not exercised:
            found.append(_warning(name, "untested-variant", f"no test exercised flag {name!r}"))
        elif missing:
            found.append(_warning(
                name, "untested-variant",
                f"no test ran flag {name!r} as {', '.join(repr(v) for v in missing)}",
            ))  # fmt: skip
    if flag.expires_at is not None and flag.expires_at <= now:
        found.append(_warning(
            name, "stale", f"flag {name!r} expired on {_text(flag.expires_at)}; remove it or extend it",
        ))  # fmt: skip
    if flag.status is FlagStatus.DEPRECATED and seen and seen["calls"]:
        found.append(_warning(
            name, "deprecated-in-use", f"deprecated flag {name!r} was still evaluated {_times(seen['calls'])}",
        ))  # fmt: skip
    return found


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _warning(flag: str, kind: str, message: str) -> dict[str, str]:
    return {"flag": flag, "kind": kind, "message": message}


def _canary_trips(
    flags: Mapping[str, FeatureFlag], tests: list[Any], audit: Any, run_id: str
) -> list[dict[str, str]]:
    guarded = [flag for flag in flags.values() if flag.canary is not None and flag.serving]
    found = []
    for flag in guarded:
        manager = FlagManager([flag] + _prerequisites_of(flag, flags), audit=audit)
        manager.trip_note = (
            f"pytest run {run_id}; the flag file is unchanged: apply it with"
            f" `enterprise flags disable {flag.name}`"
        )
        for test in tests:
            if test.markers["flags"].get(flag.name) != "on" or test.outcome not in _PASSING + _FAILING:
                continue
            if manager.record_outcome(flag.name, "on", test.outcome in _PASSING):
                reason = manager.trips[flag.name]
                found.append(_warning(flag.name, "canary-tripped", f"flag {flag.name!r} auto-disabled: {reason}"))
                break
    return found


def _prerequisites_of(flag: FeatureFlag, flags: Mapping[str, FeatureFlag]) -> list[FeatureFlag]:
    found: dict[str, FeatureFlag] = {}
    pending = [p.flag for p in flag.prerequisites]
    while pending:
        name = pending.pop()
        if name not in found and name in flags:
            found[name] = flags[name]
            pending += [p.flag for p in flags[name].prerequisites]
    return list(found.values())
