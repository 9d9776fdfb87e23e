"""``enterprise telemetry status | report | record``."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import SEVERITIES
from . import trend_commands
from .common import (
    add_config_option,
    add_store_option,
    emit,
    load_config,
    open_store,
    report_format,
    require,
    series_filter,
)

DEFAULT_RECORD_PROCESS = "quality_gates"
FORMATS = ("json", "text", "markdown", "html")


def add_parser(groups: Any) -> None:
    telemetry = groups.add_parser("telemetry", allow_abbrev=False, help="Six Sigma quality telemetry")
    commands = telemetry.add_subparsers(dest="command", metavar="COMMAND", required=True)

    status = commands.add_parser("status", allow_abbrev=False, help="latest run of a process and its trend")
    status.add_argument("--process", help="process name (default: telemetry.process_name)")
    status.add_argument("--limit", type=int, default=10, help="runs in the trend (default 10)")
    status.add_argument("--branch", help='only runs of this git branch ("" for runs without one)')
    status.add_argument("--env", dest="environment", help='only runs of this environment, e.g. a tox env ("" for none)')
    add_store_option(status)
    add_config_option(status)
    status.set_defaults(handler=status_command)

    report = commands.add_parser(
        "report", allow_abbrev=False, help="quality report (or HTML dashboard) of a stored run or a report file"
    )
    report.add_argument("--output", metavar="FILE", help="write here (atomically) instead of stdout")
    report.add_argument("--format", choices=FORMATS, help="default: from --output's suffix, else text")
    report.add_argument("--process", help="process name (default: telemetry.process_name)")
    report.add_argument("--run", metavar="ID", help="a stored run id (default: the latest)")
    report.add_argument("--input", metavar="REPORT", help="render an enterprise-report.json instead of the store")
    report.add_argument(
        "--key", action="append", default=[], metavar="PUB.pem",
        help="html: verify the report's provenance against this trusted public key (repeatable)",
    )  # fmt: skip
    add_store_option(report)
    add_config_option(report)
    report.set_defaults(handler=report_command)

    record = commands.add_parser("record", allow_abbrev=False, help="record a unit or a defect for a named process")
    record.add_argument("--process", default=DEFAULT_RECORD_PROCESS, help=f"default {DEFAULT_RECORD_PROCESS}")
    record.add_argument("--unit", action="store_true", help="record one processed unit (with --passed or --failed)")
    verdict = record.add_mutually_exclusive_group()
    verdict.add_argument("--passed", dest="verdict", action="store_const", const=True)
    verdict.add_argument("--failed", dest="verdict", action="store_const", const=False)
    record.add_argument("--defect", nargs="?", const="unspecified", metavar="TYPE", help="record one defect")
    record.add_argument("--severity", choices=SEVERITIES, help="defect severity (default medium)")
    record.add_argument("--category", help="defect category")
    record.add_argument("--message", help="free-text description of the defect")
    add_store_option(record)
    add_config_option(record)
    record.set_defaults(handler=record_command)

    trend_commands.add_commands(commands)


def status_command(options: argparse.Namespace, extra: list[str]) -> int:
    from tabulate import tabulate

    from ..report.summary import level_text, sigma_text

    config = load_config(options)
    process = options.process or config.telemetry.process_name
    require(options.limit >= 1, "--limit must be at least 1")
    same = series_filter(options)
    with open_store(options, config) as store:
        runs = store.recent_runs(process, limit=options.limit, same=same)
        if not runs and same:
            print(f"no runs of process {process!r} with {_described(same)} in {store.display}")
            return 0
        if not runs:
            events = store.events(process)
            if not events:
                others = [name for name in store.processes() if name != process]
                # `telemetry record` defaults to another process than `status`: point there.
                hint = f"; recorded processes: {', '.join(others)} (use --process)" if others else ""
                print(f"no data recorded for process {process!r} in {store.display}{hint}")
                return 0
            return _status_from_events(process, events, config)
    latest = runs[0]
    quality = latest.quality or {}
    print(
        f"process {process!r}: latest run {latest.id} finished {latest.finished_at}, "
        f"{latest.units} units, {latest.defects} defects, sigma {sigma_text(quality)}, "
        f"level {level_text(quality)}"
    )
    rows = [
        (
            run.started_at,
            run.environment or "",
            run.units,
            run.defects,
            _fmt(run.dpmo, ",.0f"),
            sigma_text(run.quality or {}),
            _fmt(run.fpy, ".2f"),
            _fmt(run.rty, ".2f"),
            run.exit_status,
        )
        for run in runs
    ]
    print(tabulate(rows, headers=("started", "env", "units", "defects", "DPMO", "sigma", "FPY %", "RTY %", "exit"), disable_numparse=True))
    print(_trend(runs))
    return 0


def _described(same: dict[str, str | None]) -> str:
    return " and ".join(f"{key} {value!r}" if value is not None else f"no {key}" for key, value in same.items())


def _status_from_events(process: str, events: list[Any], config: Any) -> int:
    from ..quality.telemetry import snapshot_from_events
    from ..report.summary import level_text, sigma_text

    snapshot = snapshot_from_events(process, events, thresholds=config.telemetry.quality_thresholds)
    quality = snapshot.to_dict()
    print(
        f"process {process!r}: {len(events)} recorded events since {events[0].recorded_at}: "
        f"{snapshot.units} units, {snapshot.defects} defects, sigma {sigma_text(quality)}, "
        f"level {level_text(quality)}"
    )
    return 0


def _trend(runs: list[Any]) -> str:
    """Latest DPMO against the median of the runs before it."""
    earlier = [run.dpmo for run in runs[1:] if run.dpmo is not None]
    latest = runs[0].dpmo
    if latest is None or not earlier:
        return "trend: not enough runs with data"
    median = statistics.median(earlier)
    if latest < median:
        word = "better"
    elif latest > median:
        word = "worse"
    else:
        word = "unchanged"
    return f"trend: DPMO {latest:,.0f} vs median {median:,.0f} of the {len(earlier)} runs before: {word}"


def report_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..report.text import render_markdown, render_text

    config = load_config(options)
    html_suffix = Path(options.output or "").suffix.lower() in (".html", ".htm")
    output_format = options.format or ("html" if html_suffix else report_format(options))
    if output_format == "html":
        return _dashboard(options, config)
    report = _load_input(Path(options.input)) if options.input else _report_from_store(options, config)
    if output_format == "json":
        text = json.dumps(report, indent=2, allow_nan=False) + "\n"
    elif output_format == "markdown":
        text = render_markdown(report)
    else:
        text = render_text(report)
    emit(text, options.output)
    return 0


def _dashboard(options: argparse.Namespace, config: Any) -> int:
    """The HTML dashboard of a report file (``--input``, a merged one too) or of a stored run,
    with its series' charts from the store when the store has them."""
    from ..report.html.render import render_dashboard, write_dashboard

    from ..report.loading import load_report

    folder = None  # where the report's supply-chain files are: beside a report file
    if options.input:
        # Checked against the report schema first: the page reads every part of it.
        report = load_report(Path(options.input)).data
        folder = Path(options.input).parent
    else:
        report = _stored_report(options, config)
    history = _history_of_report(options, config, report)
    keys = [Path(key) for key in options.key]
    if options.output is None:
        sys.stdout.write(render_dashboard(report, history, folder, trusted_keys=keys))
        return 0
    path = write_dashboard(options.output, report, history, folder, trusted_keys=keys)
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _stored_report(options: argparse.Namespace, config: Any) -> dict[str, Any]:
    """The JSON report of a stored run (``--run``, else the process's latest) exactly as the
    run wrote it: its compliance, flags and SPC sections and its failures' full text too."""
    process = options.process or config.telemetry.process_name
    with open_store(options, config) as store:
        if options.run:
            return store.load_report(options.run)
        latest = store.latest_run(process)
        if latest is None:
            raise InputError(f"no runs recorded for process {process!r} in {store.display}")
        return store.load_report(latest.run.id)


def _history_of_report(options: argparse.Namespace, config: Any, report: dict[str, Any]) -> dict[str, Any] | None:
    """The charts of the report's series up to its run, from the store: None when there is
    no store (never created here) or the report cannot be read back as a run."""
    from types import SimpleNamespace

    from ..report.json_report import record_from_report
    from ..trends import series_history

    try:
        record = record_from_report(report)
    except (KeyError, TypeError, ValueError):
        return None
    # The run's point as its report states it (what the store keeps for it), not recomputed.
    numbers = report.get("quality") or {}
    quality = SimpleNamespace(**{key: numbers.get(key) for key in ("units", "final_yield", "dpmo", "opportunity_definition")})
    with open_store(options, config) as store:
        if not store.exists():
            return None
        return series_history(store, record, quality, config.telemetry)


def _report_from_store(options: argparse.Namespace, config: Any) -> dict[str, Any]:
    from ..gates import configured_gates, evaluate
    from ..quality.metrics import analyze_run
    from ..report.json_report import build_report

    process = options.process or config.telemetry.process_name
    with open_store(options, config) as store:
        record = store.load_run(options.run) if options.run else store.latest_run(process)
        if record is None:
            events = store.events(process)
            if not events:
                raise InputError(f"no runs or events recorded for process {process!r} in {store.display}")
            from .. import __version__
            from ..quality.telemetry import snapshot_from_events
            from ..report.json_report import SCHEMA_VERSION, TOOL_NAME

            snapshot = snapshot_from_events(process, events, thresholds=config.telemetry.quality_thresholds)
            return {
                "schema_version": SCHEMA_VERSION,
                "tool": {"name": TOOL_NAME, "version": __version__},
                "process_name": process,
                "quality": snapshot.to_dict(),
            }
    # Recomputed from the stored record by the same analyzer the plugin ran, so the two agree.
    quality = analyze_run(record, thresholds=config.telemetry.quality_thresholds).to_dict()
    gates = evaluate(configured_gates(config.telemetry), quality)
    return build_report(record, quality, gates, history=None)


def _load_input(path: Path) -> dict[str, Any]:
    """A report file for the text views: a run report checked against the report schema,
    or a process snapshot (``telemetry report --format json`` of recorded events, no run)
    whose quality section is checked. A malformed file is one line, never a traceback."""
    from ..report.loading import read_json
    from ..report.validation import SchemaViolation, report_violation

    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("quality"), dict):
        raise InputError(f"{path}: not a pytest-enterprise report (no 'quality' object)")
    if "run" in data:
        violation = report_violation(data)
    else:
        try:
            violation = None
            _quality_check()(data["quality"])
        except SchemaViolation as found:
            found.path.insert(0, "quality")
            violation = found
        except RecursionError:
            violation = SchemaViolation("nested too deeply")
    if violation is not None:
        raise InputError(f"{path}: does not match the report schema at {violation}")
    return data


def _quality_check() -> Any:
    from ..report.json_report import load_schema
    from ..report.validation import compile_schema

    return compile_schema(load_schema()["properties"]["quality"])


def record_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..store.sqlite import TelemetryEvent
    from ..timeutil import rfc3339, utc_now

    require(options.unit != (options.defect is not None), "say exactly one of --unit or --defect")
    if options.unit:
        require(options.verdict is not None, "--unit needs --passed or --failed")
        require(
            options.severity is None and options.category is None and options.message is None,
            "--severity, --category and --message go with --defect",
        )
        event = TelemetryEvent(recorded_at=rfc3339(utc_now()), kind="unit", passed=options.verdict)
    else:
        require(options.verdict is None, "--passed and --failed go with --unit")
        event = TelemetryEvent(
            recorded_at=rfc3339(utc_now()),
            kind="defect",
            defect_type=options.defect,
            severity=options.severity or "medium",
            category=options.category,
            message=options.message,
        )
    config = load_config(options)
    with open_store(options, config) as store:
        store.record_events(options.process, [event])
        print(f"recorded {event.kind} for process {options.process!r} in {store.display}")
    return 0


def _fmt(value: float | None, spec: str) -> str:
    return "no data" if value is None else format(value, spec)
