"""``enterprise telemetry spc | flaky | baseline freeze|reset``: quality over time."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import InputError
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

FORMATS = ("text", "json", "markdown")


def add_commands(commands: Any) -> None:
    spc = commands.add_parser("spc", allow_abbrev=False, help="control charts of a process across runs")
    _series_options(spc)
    _output_options(spc)
    spc.set_defaults(handler=spc_command)

    flaky = commands.add_parser("flaky", allow_abbrev=False, help="flaky tests, ranked by their evidence")
    _series_options(flaky)
    flaky.add_argument("--runs", type=int, metavar="N", help="newest runs read (default: telemetry.flaky_window)")
    _output_options(flaky)
    flaky.set_defaults(handler=flaky_command)

    baseline = commands.add_parser("baseline", allow_abbrev=False, help="freeze or reset a series' control limits")
    actions = baseline.add_subparsers(dest="action", metavar="ACTION", required=True)
    freeze = actions.add_parser("freeze", allow_abbrev=False, help="freeze the limits on the newest runs")
    _series_options(freeze)
    freeze.add_argument("--runs", type=int, metavar="N", help="runs to freeze on (default: telemetry.spc_baseline_runs)")
    freeze.add_argument("--reason", help="why, kept in the audit log")
    freeze.set_defaults(handler=baseline_command)
    reset = actions.add_parser("reset", allow_abbrev=False, help="start a new stage with trial limits")
    _series_options(reset)
    reset.add_argument("--reason", help="why, kept in the audit log")
    reset.set_defaults(handler=baseline_command)


def _series_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--process", help="process name (default: telemetry.process_name)")
    parser.add_argument("--branch", help='only this git branch ("" for runs without one)')
    parser.add_argument("--env", dest="environment", help='only this environment, e.g. a tox env ("" for none)')
    add_store_option(parser)
    add_config_option(parser)


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, help="default: from --output's suffix, else text")
    parser.add_argument("--output", metavar="FILE", help="write here (atomically) instead of stdout")


def spc_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..report.trends_text import render_spc
    from ..trends import process_series

    config = load_config(options)
    process = options.process or config.telemetry.process_name
    with open_store(options, config) as store:
        series = process_series(store, process, config.telemetry, same=series_filter(options))
        if not series:
            print(_no_runs(store, process, options))
            return 0
    output_format = report_format(options)
    if output_format == "json":
        data = {"process": process, "series": [{**s.to_dict(), "summary": s.summary()} for s in series]}
        text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    else:
        text = render_spc(process, series, markdown=output_format == "markdown")
    emit(text, options.output)
    return 0


def flaky_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..report.trends_text import flaky_json, render_flaky
    from ..trends import process_flaky

    config = load_config(options)
    process = options.process or config.telemetry.process_name
    require(options.runs is None or options.runs >= 2, "--runs must be at least 2")
    window = options.runs or config.telemetry.flaky_window
    with open_store(options, config) as store:
        analysis = process_flaky(store, process, config.telemetry, runs=window, same=series_filter(options))
        if not analysis.runs:
            print(_no_runs(store, process, options))
            return 0
    output_format = report_format(options)
    if output_format == "json":
        text = json.dumps(flaky_json(process, analysis, window), indent=2, allow_nan=False) + "\n"
    else:
        text = render_flaky(process, analysis, window, markdown=output_format == "markdown")
    emit(text, options.output)
    return 0


def baseline_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..audit import default_actor, make_event
    from ..store.series import BaselineRow
    from ..timeutil import format_timestamp, utc_now
    from ..trends import process_series

    config = load_config(options)
    telemetry = config.telemetry
    process = options.process or telemetry.process_name
    with open_store(options, config) as store:
        series = process_series(store, process, telemetry, same=series_filter(options))
        if not series:
            raise InputError(_no_runs(store, process, options))
        if len(series) > 1:
            names = "; ".join(state.label for state in series)
            raise InputError(f"process {process!r} has {len(series)} series ({names}): choose one with --branch and --env")
        (state,) = series
        run_ids: tuple[str, ...] = ()
        if options.action == "freeze":
            wanted = options.runs or telemetry.spc_baseline_runs
            least = min(telemetry.spc_min_runs, telemetry.spc_baseline_runs)
            require(wanted >= least, f"--runs must be at least telemetry.spc_min_runs ({least})")
            have = len(state.stage.runs)
            if have < wanted:
                raise InputError(
                    f"series {state.label} has {have} comparable runs in its stage {state.stage.number};"
                    f" {wanted - have} more needed to freeze on {wanted}"
                )
            run_ids = tuple(run.id for run in state.stage.runs[-wanted:])
        actor = default_actor()
        now = format_timestamp(utc_now())
        change = BaselineRow(process, state.branch, state.environment, options.action, run_ids, now, actor, options.reason)
        before = {"state": state.limits.state, "source": state.limits.source, "runs": list(state.limits.run_ids)}
        after = {"action": options.action, "runs": list(run_ids)}
        event = make_event("spc-baseline", f"{process}: {state.label}", options.action, before=before, after=after,
                           actor=actor, reason=options.reason)  # fmt: skip
        store.record_spc_baseline(change, event)
        if options.action == "freeze":
            first, last = run_ids[0], run_ids[-1]
            print(f"froze the control limits of series {state.label} on {len(run_ids)} runs ({first} … {last}); audited as {actor}")
        else:
            print(f"reset the control limits of series {state.label}: the next run starts stage"
                  f" {state.stage.number + 1} with trial limits; audited as {actor}")  # fmt: skip
    return 0


def _no_runs(store: Any, process: str, options: argparse.Namespace) -> str:
    others = [name for name in store.processes() if name != process]
    hint = f"; recorded processes: {', '.join(others)} (use --process)" if others else ""
    narrowed = " matching --branch/--env" if options.branch is not None or options.environment is not None else ""
    return f"no runs of process {process!r}{narrowed} in {store.display}{hint}"
