"""The end-of-run summary in pytest's terminal."""

from __future__ import annotations

from typing import Any

from .summary import pareto_rows, quality_rows


def render_summary(terminalreporter: Any, outcome: Any) -> None:
    from tabulate import tabulate

    write = terminalreporter.write_line
    quality = outcome.quality.to_dict()
    terminalreporter.write_sep("=", "pytest-enterprise quality")
    write(tabulate(quality_rows(quality), headers=("metric", "value", "95% CI"), disable_numparse=True))
    pareto = pareto_rows(quality)
    if pareto:
        write("")
        write(tabulate(pareto, headers=("top defects", "count", "share", "cumulative"), disable_numparse=True))
    for gate in outcome.gates:
        write(gate.describe(), red=gate.failed, bold=gate.failed, green=gate.status == "passed")
    for problem in outcome.problems:
        write(f"pytest-enterprise: {problem}", red=True, bold=True)
    if outcome.report_path is not None:
        write(f"enterprise report: {outcome.report_path}")
