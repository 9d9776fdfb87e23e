"""Control charts and flaky verdicts as text and Markdown, for ``enterprise telemetry spc``
and ``enterprise telemetry flaky`` (their JSON is the analyses' own ``to_dict``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..quality import control

# Points of each chart shown as rows in text (JSON has them all).
SHOWN_POINTS = 12


def _fraction(value: float | None) -> str:
    return "—" if value is None else f"{value:.3%}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def _series_heading(state: control.SeriesControl) -> list[str]:
    stage = state.stage
    lines = [
        f"series {state.label}: stage {stage.number} ({stage.reason}), {len(stage.runs)} comparable runs",
        state.summary(),
    ]
    if stage.excluded:
        lines.append(f"left out: {len(stage.excluded)} runs (" + "; ".join(f"{run} {why}" for run, why in stage.excluded[:5])
                     + (", ..." if len(stage.excluded) > 5 else "") + ")")  # fmt: skip
    if state.limits.state != control.INSUFFICIENT:
        lines.append(f"limits: {state.limits.source}")
    return lines


def _chart_lines(name: str, chart: Any) -> list[str]:
    show = _fraction if name == control.DEFECT_FRACTION else _number
    head = f"{control.CHART_TITLES[name]} ({chart.kind} chart): center {show(chart.center)}"
    if chart.sigma_z is not None:
        head += f", σ_z {chart.sigma_z:.3f}"
    if chart.dispersion_p_value is not None:
        head += f", overdispersion test p = {chart.dispersion_p_value:.3g}"
    at_runs: dict[str, list[str]] = {}
    for signal in chart.signals:
        at_runs.setdefault(signal.rule, []).append(chart.points[signal.at].label)
    signals = [
        f"{rule} ({control.RULE_DESCRIPTIONS[rule]}) at run {runs[0]}" if len(runs) == 1
        else f"{rule} ({control.RULE_DESCRIPTIONS[rule]}) at {len(runs)} runs, the latest {runs[-1]}"
        for rule, runs in at_runs.items()
    ]  # fmt: skip
    return [head, "  signals: " + ("; ".join(signals) if signals else "none")]


def _point_rows(name: str, chart: Any, runs: dict[str, Any]) -> list[tuple[str, ...]]:
    show = _fraction if name == control.DEFECT_FRACTION else _number
    rules: dict[int, list[str]] = {}
    for signal in chart.signals:
        rules.setdefault(signal.at, []).append(signal.rule)
    start = max(0, len(chart.points) - SHOWN_POINTS)
    return [
        (point.label, runs[point.label].started_at, show(point.value), show(point.lcl), show(point.center),
         show(point.ucl), ", ".join(rules.get(index, [])))  # fmt: skip
        for index, point in enumerate(chart.points[start:], start)
    ]


POINT_HEADERS = ("run", "started", "value", "LCL", "center", "UCL", "rules")


def render_spc(process: str, series: list[control.SeriesControl], markdown: bool) -> str:
    from tabulate import tabulate

    table: Callable[[Any, Any], str] = lambda rows, headers: tabulate(  # noqa: E731
        rows, headers=headers, tablefmt="github" if markdown else "simple", disable_numparse=True
    )
    out = [f"# Control charts of {process}" if markdown else f"control charts of process {process!r}", ""]
    for state in series:
        heading = _series_heading(state)
        if markdown:
            out.extend([f"## {heading[0]}", "", *(f"- {line}" for line in heading[1:]), ""])
        else:
            out.extend([*heading, ""])
        for name, chart in state.charts.items():
            lines = _chart_lines(name, chart)
            if markdown:
                out.extend([f"### {lines[0]}", "", lines[1].strip(), ""])
            else:
                out.extend(lines)
            if name in control.RUN_CHARTS:
                shown = min(len(chart.points), SHOWN_POINTS)
                out.append(f"{'' if markdown else '  '}last {shown} of {len(chart.points)} points:")
                if markdown:
                    out.append("")
                out.append(table(_point_rows(name, chart, state.runs_by_id), POINT_HEADERS))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


FLAKY_HEADERS = ("test", "verdict", "runs", "failures", "reruns passed", "flip rate (95% CI)",
                 "first seen", "last seen", "passed and failed on", "rerun time (s)")  # fmt: skip


def render_flaky(process: str, analysis: Any, window: int, markdown: bool) -> str:
    from tabulate import tabulate

    rows = []
    for v in analysis.verdicts:
        flip = "—"
        if v.flip_rate is not None and v.flip_rate_ci95 is not None:
            flip = f"{v.flip_rate:.0%} ({v.flip_rate_ci95[0]:.0%}–{v.flip_rate_ci95[1]:.0%})"
        verdict = v.verdict if not v.runs_needed else f"{v.verdict} ({v.runs_needed} more runs)"
        rows.append((v.nodeid, verdict, v.runs, v.failures, v.reruns_passed, flip, v.first_seen or "—",
                     v.last_seen or "—", ", ".join(c[:12] for c in v.same_commit) or "—", f"{v.rerun_seconds:.2f}"))  # fmt: skip
    intro = (
        f"{analysis.runs} runs read (the newest, at most {window}) of process {process!r};"
        f" {len(analysis.outages)} outage runs left out"
        + (f" ({', '.join(analysis.outages[:5])}{', ...' if len(analysis.outages) > 5 else ''})" if analysis.outages else "")
    )
    out = [f"# Flaky tests of {process}" if markdown else f"flaky tests of process {process!r}", intro, ""]
    if not rows:
        out.append("no test failed or was rerun in these runs: nothing to judge")
    else:
        flaky = len(analysis.flaky)
        out.append(f"{flaky} flaky of {len(rows)} tests that failed or were rerun")
        out.append("")
        out.append(tabulate(rows, headers=FLAKY_HEADERS, tablefmt="github" if markdown else "simple", disable_numparse=True))
        labelled = [f"- {v.nodeid}: {'; '.join(v.evidence)}" for v in analysis.flaky]
        if labelled:
            out.extend(["", "evidence:" if not markdown else "**Evidence**", *labelled])
    return "\n".join(out).rstrip() + "\n"


def flaky_json(process: str, analysis: Any, window: int) -> dict[str, Any]:
    from ..quality.flaky import verdict_dict

    return {
        "process": process,
        "window": window,
        "runs": analysis.runs,
        "outage_runs": list(analysis.outages),
        "tests": [verdict_dict(v) for v in analysis.verdicts],
    }

