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
    rows = [
        ("Units", f"{quality['units']:,}", ""),
        ("Defects", f"{quality['defects']:,}", ""),
        ("Opportunities", f"{quality['opportunities']:,}", ""),
    ]
    beyond = quality.get("defects_beyond_opportunities")
    if beyond:
        rows.append(("Defects beyond opportunities", f"{beyond:,}", "in DPU, not in DPMO"))
    rows += [
        ("DPU", fixed_text(quality["dpu"], 4), interval_text(quality.get("dpu_ci95"), 4)),
        ("DPMO", fixed_text(quality["dpmo"], 0), interval_text(quality.get("dpmo_ci95"), 0)),
        ("First-pass yield", percent_text(quality["fpy"]), interval_text(quality.get("fpy_ci95"), 2, "%")),
        ("Final yield", percent_text(quality["final_yield"]), interval_text(quality.get("final_yield_ci95"), 2, "%")),
        ("RTY", percent_text(quality["rty"]), ""),
        ("Sigma level (estimate)", _sigma_estimate(quality), sigma_interval_text(quality.get("sigma_level_ci95"))),
        ("Sigma demonstrated", _demonstrated(quality), ""),
        ("Long-term Z (no shift)", _z_text(quality), ""),
        ("Quality level", _level_row(quality), ""),
    ]
    next_level = next_level_text(quality)
    if next_level:
        rows.append(("Next level", next_level, ""))
    return rows


def sigma_text(quality: Mapping[str, Any]) -> str:
    """One short sigma figure for a status line or a trend table: never ∞."""
    if quality.get("sigma_level") is not None:
        return f"{quality['sigma_level']:.2f} σ"
    if not quality.get("units"):
        return NO_DATA
    if not quality.get("defects") and quality.get("sigma_lower_bound") is not None:
        return f"≥ {quality['sigma_lower_bound']:.2f} σ"
    high = (quality.get("sigma_level_ci95") or [None, None])[1]
    return f"≤ {high:.2f} σ" if high is not None else NO_DATA


def level_text(quality: Mapping[str, Any]) -> str:
    """The quality level in one line, with the next level when there is one."""
    text = _level_row(quality)
    next_level = next_level_text(quality)
    return f"{text}; next: {next_level}" if next_level else text


def next_level_text(quality: Mapping[str, Any]) -> str:
    """What it takes to demonstrate the next level, e.g. "Fair (≥ 3 σ) needs 44 units without a defect"."""
    following = quality.get("next_quality_level")
    if not following or not quality.get("units"):
        return ""
    name = f"{following['name']} (≥ {following['threshold']:g} σ)"
    units = following.get("units_needed")
    if units is None:
        return f"{name} cannot be demonstrated by any finite number of units"
    allowed = following.get("defects_allowed") or 0
    if allowed:
        condition = f"with at most {allowed:,} defect{'s' if allowed != 1 else ''}"
    else:
        condition = "without a defect"
    return f"{name} needs {units:,} units {condition} (this run: {quality['units']:,})"


def _level_row(quality: Mapping[str, Any]) -> str:
    level = quality.get("quality_level") or NO_DATA
    if level == NO_DATA or not quality.get("units"):
        return NO_DATA
    threshold = quality.get("quality_level_threshold")
    named = f"{level} (≥ {threshold:g} σ)" if threshold is not None else level
    basis = quality.get("quality_level_basis")
    if basis == "point estimate":  # reports written before the level was always demonstrated
        return f"{named}, from the point estimate"
    confidence = (basis or "95% lower bound").split(" ", 1)[0]
    text = f"{named}, as demonstrated at {confidence}"
    if quality.get("next_quality_level") and not quality.get("defects"):
        # A clean run is limited by its size, not its defects: say so, so it never reads as a fault.
        text += f"; not yet demonstrable above {level} with {quality['units']:,} units"
    return text


def _sigma_estimate(quality: Mapping[str, Any]) -> str:
    if quality.get("sigma_level") is not None:
        return f"{quality['sigma_level']:.2f} σ"
    units = f"{quality['units']:,} unit{'s' if quality['units'] != 1 else ''}"
    if not quality.get("defects"):
        return f"none: 0 defects in {units}"
    return f"none: every one of {quality['opportunities']:,} opportunities defective"


def _demonstrated(quality: Mapping[str, Any]) -> str:
    bound = quality.get("sigma_lower_bound")
    confidence = (quality.get("quality_level_basis") or "95% lower bound").split(" ", 1)[0]
    if bound is not None:
        return f"≥ {bound:.2f} σ at {confidence} confidence"
    if quality.get("dpmo") == 1_000_000:
        return f"nothing at {confidence} confidence: every opportunity defective"
    return "not in this report (written by an older version)"


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
        (stage["name"], f"{stage['first_pass']:,}/{stage['units']:,}", percent_text(stage["fpy"]))
        for stage in quality.get("stages") or []
    ]


def _z_text(quality: Mapping[str, Any]) -> str:
    if quality.get("z_long_term") is not None:
        return f"{quality['z_long_term']:.2f}"
    bound = quality.get("z_long_term_lower_bound")
    if not quality.get("defects") and bound is not None:
        return f"≥ {bound:.2f}"
    return "none: every opportunity defective"


def fixed_text(value: float | None, digits: int) -> str:
    return NO_DATA if value is None else f"{value:,.{digits}f}"


def percent_text(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.2f}%"


def interval_text(bounds: Any, digits: int, unit: str = "") -> str:
    if not bounds or None in bounds:
        return ""
    low, high = bounds
    return f"[{low:,.{digits}f}, {high:,.{digits}f}]{unit}"


def sigma_interval_text(bounds: Any) -> str:
    """The two-sided interval; an open end (no defects, or all) is left out, never shown as ∞."""
    if not bounds:
        return ""
    low, high = bounds
    if low is not None and high is not None:
        return f"[{low:.2f}, {high:.2f}] σ"
    if high is not None:
        return f"≤ {high:.2f} σ"
    # No defects: the row below states the one-sided bound the level is judged on.
    return ""
