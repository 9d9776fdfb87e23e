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
    run = getattr(outcome, "run", None)
    if run is not None:
        _render_evidence_gaps(write, run)
    trends = getattr(outcome, "trends", None)
    if trends is not None:
        _render_trends(write, trends, outcome.flaky_ignored)
    if outcome.compliance is not None:
        _render_compliance(write, terminalreporter, outcome.compliance)
    if getattr(outcome, "flags", None) is not None:
        _render_flags(write, terminalreporter, outcome.flags)
    if getattr(outcome, "supply_chain", None) is not None:
        _render_supply_chain(write, terminalreporter, outcome.supply_chain)
    for gate in outcome.gates:
        write(gate.describe(), red=gate.failed, bold=gate.failed, green=gate.status == "passed")
    for problem in outcome.problems:
        write(f"pytest-enterprise: {problem}", red=True, bold=True)
    if outcome.report_path is not None:
        write(f"enterprise report: {outcome.report_path}")
    if outcome.html_path is not None:
        write(f"enterprise dashboard: {outcome.html_path}")


def _render_evidence_gaps(write: Any, run: Any) -> None:
    """Collection errors and interruptions: what the numbers above do not cover."""
    from ..model import evidence_gaps

    gaps = evidence_gaps(run)
    if not gaps:
        return
    write("")
    errors = run.collection_errors
    if errors:
        noun = "collection error" if len(errors) == 1 else "collection errors"
        write(f"{len(errors)} {noun}: " + ", ".join(error["nodeid"] for error in errors)
              + f" — counted as {'a defect' if len(errors) == 1 else 'defects'}", red=True, bold=True)  # fmt: skip
    if run.interrupted:
        why = f" ({run.interrupt_reason})" if run.interrupt_reason else ""
        write(f"run interrupted{why}: recorded as interrupted, only the tests that ran are counted",
              red=True, bold=True)  # fmt: skip
    write("evidence incomplete: " + "; ".join(gaps), yellow=True)


_FLAKY_SHOWN = 10


def _render_trends(write: Any, trends: Any, ignored: int) -> None:
    """One SPC line; each failure of a test with a flaky history, labelled (still a defect)."""
    write("")
    signals = trends.new_signals
    write(trends.spc_line(), red=bool(signals), bold=bool(signals))
    if trends.outage:
        write(f"flaky: this run is an outage (most tests failed): its {trends.other_failures} failures"
              " are not judged against flaky history", yellow=True)  # fmt: skip
    from ..quality.flaky import history_label

    shown = trends.flaky_failures[:_FLAKY_SHOWN]
    for verdict in shown:
        write(f"known flaky: {verdict.nodeid} failed; its history: {history_label(verdict)}"
              " (counted as a defect)", yellow=True)  # fmt: skip
    hidden = len(trends.flaky_failures) - len(shown)
    if hidden:
        write(f"... and {hidden} more failures of known-flaky tests (see the report's flaky section)", yellow=True)
    if ignored:
        write(f"gates left out {ignored} known-flaky failure{'s' if ignored != 1 else ''} (telemetry.flaky_gate_exempt)",
              yellow=True)  # fmt: skip


def _render_compliance(write: Any, terminalreporter: Any, compliance: dict[str, Any]) -> None:
    from tabulate import tabulate

    from ..compliance.summary import (
        FRAMEWORK_HEADERS,
        attention_rows,
        framework_rows,
        labels,
    )

    terminalreporter.write_sep("-", "pytest-enterprise compliance")
    write(tabulate(framework_rows(compliance), headers=FRAMEWORK_HEADERS, disable_numparse=True))
    for label in labels(compliance):
        write(f"  {label}")
    # The same gaps apply to every framework: say it once, naming them.
    notes = dict.fromkeys(note for framework in compliance["frameworks"] for note in framework.get("notes", ()))
    for note in notes:
        write(f"{note}: passed and not_tested controls may be affected", yellow=True)
    attention = attention_rows(compliance, limit=10)
    if attention:
        write("")
        write(tabulate(attention, headers=("framework", "control", "state", "title", "why"), disable_numparse=True))
    if compliance.get("unscoped"):
        write(f"{len(compliance['unscoped'])} control references name frameworks not in scope (see the report)")


def _render_flags(write: Any, terminalreporter: Any, flags: dict[str, Any]) -> None:
    """Tests per flag value with their outcomes, then the warnings."""
    from tabulate import tabulate

    rows = []
    for name, entry in flags["flags"].items():
        for value, counts in entry["variants"].items():
            outcomes = ", ".join(f"{count} {outcome}" for outcome, count in counts.items() if outcome != "tests")
            rows.append((name, value, counts["tests"], outcomes))
    terminalreporter.write_sep("-", "pytest-enterprise flags")
    if rows:
        write(tabulate(rows, headers=("flag", "value", "tests", "outcomes"), disable_numparse=True))
    else:
        write(f"{len(flags['flags'])} flags; no test ran with @pytest.mark.flags")
    for warning in flags["warnings"]:
        write(f"warning: {warning['message']}", yellow=True)


def _render_supply_chain(write: Any, terminalreporter: Any, section: dict[str, Any]) -> None:
    terminalreporter.write_sep("-", "pytest-enterprise supply chain")
    if section["components"] is not None:
        write(f"inventory: {section['components']} components ({section['test_components']} test scope)"
              + (f", root {section['root']}" if section["root"] else ""))  # fmt: skip
    scan = section["vulnerabilities"]
    if scan is not None:
        found = ", ".join(f"{count} {level}" for level, count in scan["counts"].items() if count) or "none"
        write(f"vulnerabilities: {found} in {scan['scanned_packages']} packages, {scan['ignored']} ignored"
              f" (OSV database {scan['database_fingerprint'][:12]})")  # fmt: skip
    if section["slsa"] is not None:
        write(f"provenance: SLSA Build L{section['slsa']['achieved']} (asked for L{section['slsa']['requested']})")
    for role, name in section["files"].items():
        write(f"{role}: {name}")
    for note in section["notes"]:
        write(f"note: {note}", yellow=True)
