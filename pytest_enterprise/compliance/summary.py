"""Human-readable rows of a compliance result, shared by the terminal summary and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .result import ERROR, FAILED, NOT_REVIEWED, NOT_TESTED, STATES

FRAMEWORK_HEADERS = ("framework", "% compliant", "coverage", "overall status", "states")
CONTROL_HEADERS = ("framework", "control", "state", "title", "why")


def ratio_text(ratio: Mapping[str, Any]) -> str:
    """``80.00% (4/5)``, or ``no data (0/0)``: never a percentage without its counts."""
    value = ratio.get("value")
    shown = "no data" if value is None else f"{value:.2f}%"
    return f"{shown} ({ratio['numerator']}/{ratio['denominator']})"


def state_counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{counts[state]} {state}" for state in STATES if counts.get(state))


def framework_rows(result: Mapping[str, Any]) -> list[tuple[str, ...]]:
    return [
        (
            f"{framework['framework']} ({framework['name']})",
            ratio_text(framework["percent_compliant"]),
            ratio_text(framework["coverage"]),
            ratio_text(framework["overall_status"]),
            state_counts_text(framework["counts"]),
        )
        for framework in result["frameworks"]
    ]


def attention_rows(
    result: Mapping[str, Any], states: tuple[str, ...] = (FAILED, ERROR, NOT_REVIEWED), limit: int | None = 20
) -> list[tuple[str, ...]]:
    """Controls in ``states`` (the ones that need someone's attention), worst first."""
    order = {state: index for index, state in enumerate(states)}
    rows = [
        (framework["framework"], control["id"], control["state"], _short(control["title"]), control["reason"])
        for framework in result["frameworks"]
        for control in framework["controls"]
        if control["state"] in order
    ]
    rows.sort(key=lambda row: order[row[2]])
    return rows if limit is None else rows[:limit]


def control_rows(framework: Mapping[str, Any], *, include_untested: bool = True) -> list[tuple[str, ...]]:
    return [
        (control["id"], control["state"], _short(control["title"]), str(len(control["tests"])), control["reason"])
        for control in framework["controls"]
        if include_untested or control["state"] != NOT_TESTED
    ]


def labels(result: Mapping[str, Any]) -> list[str]:
    if not result["frameworks"]:
        return []
    first = result["frameworks"][0]
    return [first[name]["label"] for name in ("percent_compliant", "coverage", "overall_status")]


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
