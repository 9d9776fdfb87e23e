"""``enterprise compliance status | report | update | export | controls | log``.

Every command reads the project's latest stored run (of ``telemetry.process_name``) and rolls it
up with today's waivers, attestations and manual statuses, through the same code as the plugin.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import EXIT_GATE_FAILED, EXIT_OK
from .common import (
    add_config_option,
    add_store_option,
    emit,
    history_location,
    load_config,
    report_format,
    require,
)

REPORT_FORMATS = ("json", "markdown", "text")
EXPORT_FORMATS = ("json", "csv", "xlsx", "md", "oscal")
STATUSES = ("compliant", "non_compliant", "partially_compliant", "not_applicable", "not_assessed")


def add_parser(groups: Any) -> None:
    compliance = groups.add_parser("compliance", allow_abbrev=False, help="compliance evidence and the control matrix")
    commands = compliance.add_subparsers(dest="command", metavar="COMMAND", required=True)

    status = commands.add_parser("status", allow_abbrev=False, help="%% compliant, coverage and controls needing attention")
    _framework_option(status, "frameworks to show (repeatable; default: compliance.frameworks)")
    status.add_argument("--format", choices=("text", "json"), default="text")
    _common(status)
    status.set_defaults(handler=status_command)

    report = commands.add_parser("report", allow_abbrev=False, help="every control of a framework with its evidence")
    _framework_option(report, "frameworks to report (repeatable; default: compliance.frameworks)")
    report.add_argument("--output", metavar="FILE", help="write here (atomically) instead of stdout")
    report.add_argument("--format", choices=REPORT_FORMATS, help="default: from --output's suffix, else text")
    _common(report)
    report.set_defaults(handler=report_command)

    update = commands.add_parser("update", allow_abbrev=False, help="record a manual status for a control (audited)")
    update.add_argument("--control", required=True, help="control ID, e.g. CC6.1 or iso27001:A.5.15")
    update.add_argument("--status", required=True, help=f"one of {', '.join(STATUSES)}")
    update.add_argument("--notes", default="", help="why: shown in every report")
    update.add_argument("--evidence", metavar="FILE_OR_URL", help="evidence file (its SHA-256 is kept) or URL")
    update.add_argument("--expires", metavar="DATE", help="the status lapses after this date (YYYY-MM-DD)")
    update.add_argument("--actor", help="who records it (default: $ENTERPRISE_ACTOR, else the login name)")
    _common(update)
    update.set_defaults(handler=update_command)

    export = commands.add_parser("export", allow_abbrev=False, help="the matrix as JSON, CSV, XLSX, Markdown or OSCAL")
    export.add_argument("--output", metavar="FILE", required=True, help="file to write (atomically)")
    export.add_argument("--format", choices=EXPORT_FORMATS, help="default: from --output's suffix")
    _framework_option(export, "frameworks to export (repeatable; default: compliance.frameworks)")
    _common(export)
    export.set_defaults(handler=export_command)

    controls = commands.add_parser("controls", allow_abbrev=False, help="look control IDs up in a catalog")
    controls.add_argument("--framework", required=True, help="soc2-type2, iso27001, nist-csf, gdpr or a custom id")
    controls.add_argument("--search", metavar="TEXT", help="only IDs, titles or families containing TEXT")
    controls.add_argument("--all", action="store_true", help="also withdrawn and non-assessable entries")
    controls.add_argument("--format", choices=("text", "json"), default="text")
    add_config_option(controls)
    controls.set_defaults(handler=controls_command)

    log = commands.add_parser("log", allow_abbrev=False, help="the audit trail of manual statuses")
    log.add_argument("--control", help="only this control ID")
    log.add_argument("--format", choices=("text", "json"), default="text")
    _common(log)
    log.set_defaults(handler=log_command)


def _framework_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--framework", action="append", metavar="ID", help=text)


def _common(parser: argparse.ArgumentParser) -> None:
    add_store_option(parser)
    add_config_option(parser)


def _matrix(options: argparse.Namespace) -> Any:
    from ..compliance.matrix import ComplianceMatrix

    config = load_config(options)
    return ComplianceMatrix(Path.cwd(), config=config, store_path=history_location(options, config))


def _assess(options: argparse.Namespace) -> tuple[Any, Any]:
    matrix = _matrix(options)
    return matrix, matrix.assess(options.framework)


def _gates(matrix: Any, result: Any) -> list[Any]:
    from ..compliance.gates import compliance_gates

    return compliance_gates(matrix.config.compliance, result)


def status_command(options: argparse.Namespace, extra: list[str]) -> int:
    from tabulate import tabulate

    from ..compliance.summary import (
        FRAMEWORK_HEADERS,
        attention_rows,
        framework_rows,
        labels,
    )

    matrix, result = _assess(options)
    gates = _gates(matrix, result)
    data = result.to_dict()
    if options.format == "json":
        summary = {key: value for key, value in data.items() if key != "frameworks"}
        summary["frameworks"] = [
            {key: value for key, value in framework.items() if key != "controls"} for framework in data["frameworks"]
        ]
        summary["gates"] = [gate.to_dict() for gate in gates]
        print(json.dumps(summary, indent=2))
    else:
        print(_run_line(data))
        print(tabulate(framework_rows(data), headers=FRAMEWORK_HEADERS, disable_numparse=True))
        for label in labels(data):
            print(f"  {label}")
        attention = attention_rows(data, limit=None)
        if attention:
            print()
            print(tabulate(attention, headers=("framework", "control", "state", "title", "why"), disable_numparse=True))
        for gate in gates:
            print(gate.describe())
    return EXIT_GATE_FAILED if any(gate.failed for gate in gates) else EXIT_OK


def report_command(options: argparse.Namespace, extra: list[str]) -> int:
    fmt = report_format(options)
    matrix, result = _assess(options)
    gates = _gates(matrix, result)
    data = result.to_dict()
    if fmt == "json":
        from ..compliance.export import render_json

        text = render_json({**data, "gates": [gate.to_dict() for gate in gates]})
    elif fmt == "markdown":
        from ..compliance.export import render_markdown

        text = render_markdown(data)
    else:
        text = _text_report(data, gates)
    emit(text, options.output)
    return EXIT_GATE_FAILED if any(gate.failed for gate in gates) else EXIT_OK


def update_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..compliance.matrix import ComplianceStatus

    expires = None
    if options.expires:
        expires = _expiry(options.expires)
    matrix = _matrix(options)
    change = matrix.update_control_status(
        control_id=options.control,
        status=ComplianceStatus.coerce(options.status),
        evidence_path=options.evidence,
        notes=options.notes,
        expires=expires,
        actor=options.actor,
    )
    from ..compliance.catalog import framework_name

    before = change.previous_status or "none"
    print(
        f"{framework_name(change.framework)}:{change.control_id}: {before} -> {change.status}"
        f" (by {change.actor} at {change.recorded_at}) in {matrix.store_location.display}"
    )
    return EXIT_OK


def export_command(options: argparse.Namespace, extra: list[str]) -> int:
    from .. import __version__
    from ..compliance.export import export, format_from_suffix

    output = Path(options.output)
    fmt = options.format or format_from_suffix(output)
    _, result = _assess(options)
    path = export(result.to_dict(), output, fmt, tool_version=__version__)
    print(f"wrote {path} ({fmt})", file=sys.stderr)
    return EXIT_OK


def controls_command(options: argparse.Namespace, extra: list[str]) -> int:
    from tabulate import tabulate

    matrix = _matrix(options)
    catalog = matrix.context([options.framework]).scope[0].catalog
    entries = catalog.search(options.search) if options.search else list(catalog.controls.values())
    if not options.all:
        entries = [c for c in entries if c.status == "active" and c.assessable]
    if options.format == "json":
        print(json.dumps([
            {"id": c.id, "title": c.title, "family": c.family, "status": c.status,
             "replaced_by": list(c.replaced_by), "assessable": c.assessable} for c in entries
        ], indent=2))
        return EXIT_OK
    rows = [
        (c.id, c.family, c.title if c.status == "active" else f"withdrawn: use {', '.join(c.replaced_by)}")
        for c in entries
    ]
    print(f"{catalog.name} {catalog.version}: {len(rows)} entries")
    if rows:
        print(tabulate(rows, headers=("id", "family", "title"), disable_numparse=True, maxcolwidths=[None, 28, 70]))
    return EXIT_OK


def log_command(options: argparse.Namespace, extra: list[str]) -> int:
    """The manual status changes, with their hash chain checked as ``flags log`` checks the
    audit log: exit 1 when it is broken."""
    from tabulate import tabulate

    from ..audit import verify_chain
    from ..compliance.catalog import framework_name
    from ..store import open_store

    matrix = _matrix(options)
    framework = control_id = None
    if options.control:
        ref = matrix.context().resolver.resolve(options.control)
        framework, control_id = ref.framework, ref.control_id
    with open_store(matrix.store_location) as store:
        everything = store.control_status_log()  # the chain is checked whole, then filtered
        migrated = store.status_chain_migration()
    problems = verify_chain(everything, noun="change")
    changes = [
        c for c in everything
        if (framework is None or c.framework == framework) and (control_id is None or c.control_id == control_id)
    ]  # fmt: skip
    if options.format == "json":
        from dataclasses import asdict

        data = {
            "chain_intact": not problems,
            "problems": problems,
            "chained_at_migration": migrated,
            # Printed by its one name; the stored row (and its hash) keeps the catalog id.
            "changes": [{**asdict(change), "framework": framework_name(change.framework)} for change in changes],
        }
        print(json.dumps(data, indent=2))
        return EXIT_OK if not problems else EXIT_GATE_FAILED
    if not changes:
        print(f"no manual status recorded in {matrix.store_location.display}")
    else:
        rows = [
            (c.recorded_at, c.actor, f"{framework_name(c.framework)}:{c.control_id}", f"{c.previous_status or 'none'} -> {c.status}",
             c.notes, c.evidence or "")
            for c in changes
        ]
        print(tabulate(rows, headers=("when", "who", "control", "change", "notes", "evidence"), disable_numparse=True))
    if migrated:
        count = migrated["rows"]
        which = "change 1 was" if count == 1 else f"changes 1-{count} were"
        print(f"{which} chained when the store was upgraded ({migrated['chained_at']}), not when recorded")
    print("status chain: intact" if not problems else "status chain BROKEN: " + "; ".join(problems))
    return EXIT_OK if not problems else EXIT_GATE_FAILED


def _run_line(data: dict[str, Any]) -> str:
    run = data.get("run")
    if run is None:
        return "no run in the store yet: only waivers, attestations and manual statuses count"
    commit = f", commit {run['git_commit'][:12]}" if run.get("git_commit") else ""
    return f"run {run['id']} started {run['started_at']}{commit}"


def _text_report(data: dict[str, Any], gates: list[Any]) -> str:
    from tabulate import tabulate

    from ..compliance.summary import control_rows, ratio_text, state_counts_text

    parts = [_run_line(data)]
    for framework in data["frameworks"]:
        parts.append("")
        parts.append(f"{framework['framework']}: {framework['name']}")
        for name in ("percent_compliant", "coverage", "overall_status"):
            parts.append(f"  {ratio_text(framework[name])}  {framework[name]['label']}")
        parts.append(f"  states: {state_counts_text(framework['counts'])}")
        parts.append(
            tabulate(control_rows(framework), headers=("control", "state", "title", "tests", "why"), disable_numparse=True)
        )
    for gate in gates:
        parts.append(gate.describe())
    return "\n".join(parts) + "\n"


def _expiry(text: str) -> Any:
    from datetime import date, datetime, time, timezone

    try:
        day = date.fromisoformat(text)
    except ValueError:
        require(False, f"--expires: expected a date like 2027-01-31, got {text!r}")
    return datetime.combine(day, time.max, tzinfo=timezone.utc)
