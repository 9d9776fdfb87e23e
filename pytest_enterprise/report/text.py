"""Plain-text and Markdown renderings of a JSON report (``enterprise telemetry report``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .summary import pareto_rows, quality_rows, stage_rows


def render_text(report: Mapping[str, Any]) -> str:
    return _render(report, table_format="simple", heading=lambda text: f"{text}\n{'=' * len(text)}")


def render_markdown(report: Mapping[str, Any]) -> str:
    """GitHub-flavoured Markdown; fits ``$GITHUB_STEP_SUMMARY``."""
    return _render(report, table_format="github", heading=lambda text: f"## {text}")


def _render(report: Mapping[str, Any], *, table_format: str, heading: Any) -> str:
    from tabulate import tabulate

    def table(rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> str:
        return tabulate(rows, headers=headers, tablefmt=table_format, disable_numparse=True)

    quality = report.get("quality") or {}
    parts = [heading(_title(report)), _run_line(report)]
    parts.append(table(quality_rows(quality), ("metric", "value", "95% CI")))
    stages = stage_rows(quality)
    if stages:
        parts.append(table(stages, ("RTY stage", "first pass", "FPY")))
    pareto = pareto_rows(quality, top=10)
    if pareto:
        parts.append(table(pareto, ("defect category", "count", "share", "cumulative")))
    for gate in report.get("gates") or []:
        status = gate["status"].upper() if gate["status"] == "failed" else gate["status"]
        parts.append(f"Gate {gate.get('label', gate['metric'])}: {status} (actual {gate['actual']}, limit {gate['limit']}, {gate['source']})")
    if quality.get("opportunity_definition"):
        parts.append(f"Opportunities: {quality['opportunity_definition']}.")
    return "\n\n".join(part for part in parts if part) + "\n"


def _title(report: Mapping[str, Any]) -> str:
    run = report.get("run") or {}
    process = run.get("process") or report.get("process_name") or "pytest"
    return f"Six Sigma quality report: {process}"


def _run_line(report: Mapping[str, Any]) -> str:
    run = report.get("run")
    if not run:
        return ""
    facts = [f"run {run.get('id')}", f"finished {run.get('finished_at')}"]
    git = run.get("git") or {}
    if git.get("commit"):
        facts.append(f"commit {git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}")
    if run.get("interrupted"):
        facts.append("INTERRUPTED: partial results")
    facts.append(f"exit status {run.get('exit_status')}")
    return ", ".join(facts)
