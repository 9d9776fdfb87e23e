"""Human-readable rows of a quality summary, shared by the terminal, text and markdown views.

Views read the JSON report's ``quality`` dict, so the pytest run and ``enterprise telemetry
report`` print the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NO_DATA = "no data"


def quality_rows(quality: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, 95% interval) rows in the order a reader wants them."""
    if not quality.get("units"):
        return [("Units", "0", ""), ("All metrics", NO_DATA, "")]
    return [
        ("Units", f"{quality['units']:,}", ""),
        ("Defects", f"{quality['defects']:,}", ""),
        ("Opportunities", f"{quality['opportunities']:,}", ""),
        ("DPU", _fixed(quality["dpu"], 4), _interval(quality.get("dpu_ci95"), 4)),
        ("DPMO", _fixed(quality["dpmo"], 0), _interval(quality.get("dpmo_ci95"), 0)),
        ("First-pass yield", _percent(quality["fpy"]), _interval(quality.get("fpy_ci95"), 2, "%")),
        ("Final yield", _percent(quality["final_yield"]), _interval(quality.get("final_yield_ci95"), 2, "%")),
        ("RTY", _percent(quality["rty"]), ""),
        ("Sigma level", sigma_text(quality), _interval(quality.get("sigma_level_ci95"), 2, " σ")),
        ("Long-term Z (no shift)", _z_text(quality), ""),
        ("Quality level", level_text(quality), ""),
    ]


def sigma_text(quality: Mapping[str, Any]) -> str:
    if quality.get("sigma_lower_bound") is not None:
        return f"≥ {quality['sigma_lower_bound']:.2f} σ"
    if quality.get("sigma_level") is None:
        return NO_DATA
    return f"{quality['sigma_level']:.2f} σ"


def level_text(quality: Mapping[str, Any]) -> str:
    level = quality.get("quality_level") or NO_DATA
    threshold = quality.get("quality_level_threshold")
    if threshold is not None:
        level += f" (≥ {threshold:g} σ)"
    if quality.get("quality_level_basis") == "95% lower bound":
        level += ", from the 95% lower bound"
    return level


def pareto_rows(quality: Mapping[str, Any], top: int = 5) -> list[tuple[str, str, str, str]]:
    return [
        (
            entry["category"],
            f"{entry['count']:,}",
            f"{entry['percent']:.1f}%",
            f"{entry.get('cumulative_percent', entry['percent']):.1f}%",
        )
        for entry in (quality.get("pareto") or [])[:top]
    ]


def stage_rows(quality: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (stage["name"], f"{stage['first_pass']:,}/{stage['units']:,}", _percent(stage["fpy"]))
        for stage in quality.get("stages") or []
    ]


def _z_text(quality: Mapping[str, Any]) -> str:
    if quality.get("z_long_term") is not None:
        return f"{quality['z_long_term']:.2f}"
    bound = quality.get("z_long_term_lower_bound")
    return f"≥ {bound:.2f}" if bound is not None else NO_DATA


def _fixed(value: float | None, digits: int) -> str:
    return NO_DATA if value is None else f"{value:,.{digits}f}"


def _percent(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.2f}%"


def _interval(bounds: Any, digits: int, unit: str = "") -> str:
    if not bounds:
        return ""
    low, high = bounds
    low_text = "−∞" if low is None else f"{low:,.{digits}f}"
    high_text = "∞" if high is None else f"{high:,.{digits}f}"
    return f"[{low_text}, {high_text}]{unit}"
