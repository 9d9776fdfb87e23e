"""The report sections beside the quality ones: compliance, feature flags, supply chain.

A part without a section the others have is named in the notes, never taken as empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import RunRecord
from .parts import Part


def merge_compliance(
    parts: list[Part], record: RunRecord, context: Callable[[list[str]], Any], manual: Callable[[Any], list[Any]],
    notes: list[str],
) -> dict[str, Any] | None:
    """Rolled up again from the merged tests, as the plugin rolls up a run, so a control's
    evidence is the union of its tests in every part. ``context(frameworks)`` makes the
    ``ComplianceContext`` of the frameworks the parts assessed; ``manual(context)`` gives the
    manual statuses kept in the history store."""
    sections = _present(parts, "compliance", "compliance was not assessed in that run", notes)
    if not sections:
        return None
    from ..compliance.context import run_facts  # only now: importing it costs a merge ~30 ms

    frameworks = list(dict.fromkeys(
        framework["framework"] for section in sections for framework in section.get("frameworks", [])
    ))  # fmt: skip
    compliance = context(frameworks)
    result = compliance.roll_up(record.tests, run=run_facts(record), manual=manual(compliance))
    return result.to_dict()


def merge_flags(parts: list[Part], notes: list[str]) -> dict[str, Any] | None:
    """Outcome counts and evaluations add up, per flag and value; warnings are the parts',
    less an untested-variant warning for a flag that some test now ran with every value."""
    sections = _present(parts, "flags", "feature flags were off in that run", notes)
    if not sections:
        return None
    for key in ("flag_file", "environment"):
        values = list(dict.fromkeys(str(section.get(key)) for section in sections))
        if len(values) > 1:
            notes.append(f"the parts' flags sections name different {key.replace('_', ' ')}s: {', '.join(values)}")
    flags: dict[str, dict[str, Any]] = {}
    for section in sections:
        for name, entry in section["flags"].items():
            merged = flags.setdefault(name, {key: value for key, value in entry.items() if key not in ("variants", "evaluations")})
            merged.setdefault("variants", {})
            for value, counts in entry["variants"].items():
                _add_counts(merged["variants"].setdefault(value, {}), counts)
            if "evaluations" in entry:
                seen = merged.setdefault("evaluations", {"calls": 0, "on": 0, "values": {}})
                seen["calls"] += entry["evaluations"]["calls"]
                seen["on"] += entry["evaluations"]["on"]
                _add_counts(seen["values"], entry["evaluations"]["values"])
    warnings: dict[tuple[str, str, str], dict[str, str]] = {}
    for section in sections:
        for warning in section["warnings"]:
            flag = flags.get(warning["flag"], {})
            if warning["kind"] == "untested-variant" and set(flag.get("values", ())) <= set(flag.get("variants", {})) and flag.get("values"):
                continue
            warnings.setdefault((warning["flag"], warning["kind"], warning["message"]), warning)
    return {
        "flag_file": sections[0]["flag_file"],
        "environment": sections[0]["environment"],
        "flags": {name: {**flags[name], "variants": dict(sorted(flags[name]["variants"].items()))} for name in sorted(flags)},
        "warnings": list(warnings.values()),
    }


def note_unmerged(parts: list[Part], notes: list[str]) -> None:
    """Sections that describe one run's own files and cannot be combined."""
    with_supply_chain = [part.path.name for part in parts if "supply_chain" in part.header]
    if with_supply_chain:
        notes.append(
            f"supply_chain sections are not merged (they describe each run's own SBOM and provenance files):"
            f" see {', '.join(with_supply_chain)}"
        )


def _present(parts: list[Part], key: str, why: str, notes: list[str]) -> list[dict[str, Any]]:
    sections = [part.header[key] for part in parts if part.header.get(key) is not None]
    if sections:
        for part in parts:
            if part.header.get(key) is None:
                notes.append(f"{part.path}: has no {key} section ({why}); its tests count only through what their own report records")
    return sections


def _add_counts(total: dict[str, int], counts: dict[str, int]) -> None:
    for key, count in counts.items():
        total[key] = total.get(key, 0) + count
